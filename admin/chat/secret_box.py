"""The chat platforms' secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256).

The Zalo OA secret key and the Meta app secret must be read back to check a
webhook's signature, so they cannot be hashed as passwords and device tokens
are; they are encrypted with a key derived (HKDF-SHA256) from the admin's
``SECRET_KEY``. A database copy or backup alone does not reveal them. Changing
``SECRET_KEY`` makes them unreadable: the webhooks then refuse (401) until a
manager types the secrets again on the location's Chat page.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"porchlight chat webhook secrets v1"


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret_key: str, plain: str) -> str:
    return _fernet(secret_key).encrypt(plain.encode()).decode("ascii")


def open_sealed(secret_key: str, sealed: str | None) -> str | None:
    """The plain secret, or None when there is none or it cannot be read (key changed)."""
    if not sealed:
        return None
    try:
        return _fernet(secret_key).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None
