"""Webhook target validation: http(s) only, and (unless allowed) no loopback, private, link-local or
otherwise non-global addresses, checked by resolving the host, at creation and again before each delivery.

A delivery then connects to the very address that was checked (`Target`), with the URL's own host in
the Host header and, for https, as the name the certificate must carry: a second DNS lookup by the
HTTP client could answer differently (DNS rebinding) and reach an address that was never checked.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """A webhook URL that must not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where to send a checked webhook URL: the URL with its host replaced by the checked address."""

    url: str
    host_header: str
    tls_hostname: str | None  # https: the name the server's certificate is verified against


def check_url(url: str, *, allow_private: bool, setting: str = "WEBHOOK_ALLOW_PRIVATE_ADDRESSES") -> None:
    """Refuse a URL that must not be a webhook (creation time; a delivery calls `resolve_target`).
    Model providers check their URLs here too; `setting` is the one the refusal tells to set."""
    parts, port = _parse(url)
    if not allow_private:
        _addresses(parts, port, allow_private=False, setting=setting)


def url_problem(url: str, *, allow_private: bool, setting: str = "WEBHOOK_ALLOW_PRIVATE_ADDRESSES") -> str | None:
    """Why `url` must not be called, or None: not http(s), no host, credentials in it, and (unless
    `allow_private`, which also skips the DNS lookup) a loopback, private or reserved address."""
    try:
        check_url(url, allow_private=allow_private, setting=setting)
    except UnsafeURL as exc:
        return str(exc)
    return None


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Check a URL again and pin the address it is called at: one lookup, no second one."""
    parts, port = _parse(url)
    return _target(parts, _addresses(parts, port, allow_private=allow_private)[0], port)


def _parse(url: str) -> tuple[SplitResult, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(f"only http and https URLs are allowed, not {parts.scheme or 'a relative URL'!r}")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("credentials in the URL (user@host) are not allowed")
    return parts, port or (443 if parts.scheme == "https" else 80)


def _addresses(
    parts: SplitResult, port: int, *, allow_private: bool, setting: str = "WEBHOOK_ALLOW_PRIVATE_ADDRESSES"
) -> list[IPAddress]:
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"cannot resolve {host!r}: {exc}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not allow_private and (not address.is_global or address.is_multicast):
            raise UnsafeURL(
                f"{host!r} resolves to {address}, a loopback, private, link-local or reserved address "
                f"(set {setting}=true to allow it)"
            )
        addresses.append(address)
    if not addresses:
        raise UnsafeURL(f"cannot resolve {host!r}: no address")
    return addresses


def _target(parts: SplitResult, address: IPAddress, port: int) -> Target:
    literal = f"[{address}]" if address.version == 6 else str(address)
    url = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path, parts.query, ""))
    host_header = parts.netloc.rpartition("@")[2]  # host[:port] as written (no credentials: refused above)
    return Target(url, host_header, parts.hostname if parts.scheme == "https" else None)
