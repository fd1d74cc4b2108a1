"""Webhook target validation: http(s) only, and (unless allowed) no loopback, private, link-local or
otherwise non-global addresses, checked by resolving the host, at creation and again before each delivery."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    """A webhook URL that must not be called; the message says why."""


def check_url(url: str, *, allow_private: bool) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(f"only http and https URLs are allowed, not {parts.scheme or 'a relative URL'!r}")
    host = parts.hostname
    if not host:
        raise UnsafeURL("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("credentials in the URL are not allowed; authenticate with the signature instead")
    if allow_private:
        return
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"cannot resolve {host!r}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise UnsafeURL(
                f"{host!r} resolves to {address}, a loopback, private, link-local or reserved address "
                "(set WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true to allow it)"
            )
