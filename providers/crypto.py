"""API keys at rest: Fernet (AES-128-CBC + HMAC-SHA256) under keys derived from settings.

`PROVIDER_KEY_SECRETS` (default: SECRET_KEY, then SECRET_KEY_FALLBACKS) lists secrets; each becomes a
Fernet key through HKDF-SHA256, so a secret of any length works and the derived key is used for nothing
else. The first secret encrypts; every one decrypts (MultiFernet), which is what makes rotation possible
without downtime: put a new secret first, run `manage.py rotate_provider_keys`, then drop the old one.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Binds the derived key to this use: the same SECRET_KEY signs sessions through Django's own derivations.
_INFO = b"agent-playground provider api keys v1"


class KeyUnreadable(ValueError):
    """A stored key none of the configured secrets decrypts (a secret was dropped before rotating)."""


def secrets() -> list[str]:
    configured = list(settings.PROVIDER_KEY_SECRETS)
    fallbacks = [f if isinstance(f, str) else f.decode() for f in settings.SECRET_KEY_FALLBACKS]
    return configured or [settings.SECRET_KEY, *fallbacks]


def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _multi() -> MultiFernet:
    # Derived per call: tests and operators change the setting; HKDF costs microseconds.
    return MultiFernet([_fernet(s) for s in secrets()])


def encrypt(plain: str) -> str:
    return _multi().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _multi().decrypt(token.encode()).decode()
    except InvalidToken:
        raise KeyUnreadable(
            "the stored API key cannot be decrypted with PROVIDER_KEY_SECRETS; restore the secret it was "
            "encrypted with, or enter the key again"
        ) from None


def rotate(token: str) -> str:
    """The same key encrypted under the first secret (KeyUnreadable if no secret decrypts it)."""
    try:
        return _multi().rotate(token.encode()).decode()
    except InvalidToken:
        raise KeyUnreadable("the stored API key cannot be decrypted with PROVIDER_KEY_SECRETS") from None
