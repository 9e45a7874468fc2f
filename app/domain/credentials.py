"""Secrets: API keys (random, stored as a SHA-256 digest) and passwords (argon2id).

A key is ``chr_<id>_<secret>``: the id finds the row without scanning, the secret is
compared by digest in constant time. Keys carry 256 bits of randomness, so a fast digest
is enough; passwords are chosen by people, so they get a memory-hard KDF.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import UnauthenticatedError

KEY_PREFIX = "chr"
_KEY = re.compile(r"^chr_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")

_passwords = PasswordHasher()


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret: str
    digest: bytes

    @property
    def token(self) -> str:
        """The whole key, shown to its owner once."""
        return f"{KEY_PREFIX}_{self.key_id}_{self.secret}"


def new_key() -> NewKey:
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id=secrets.token_hex(8), secret=secret, digest=key_digest(secret))


def key_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_key(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = _KEY.match(token)
    return (match.group(1), match.group(2)) if match else None


def key_matches(secret: str, digest: bytes) -> bool:
    return hmac.compare_digest(key_digest(secret), digest)


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def password_matches(password: str, stored: str) -> bool:
    try:
        return _passwords.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_password_hash() -> str:
    """Verifying against this when the user does not exist costs as much as a real check,
    so response time does not tell which usernames exist."""
    return _passwords.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class KeyCredentials:
    token: str


@dataclass(frozen=True, slots=True)
class PasswordCredentials:
    username: str
    password: str = field(repr=False)


Credentials = KeyCredentials | PasswordCredentials


def parse_authorization(header: str) -> Credentials:
    """An ``Authorization`` header's credentials: ``Bearer <key>`` or ``Basic <base64>``.

    Raises UnauthenticatedError, saying what is wrong, for anything else.
    """
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return KeyCredentials(value)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise UnauthenticatedError(
                "the Basic credentials are not base64 of 'username:password'"
            ) from None
        username, colon, password = decoded.partition(":")
        if not colon or not username:
            raise UnauthenticatedError("the Basic credentials are not 'username:password'")
        return PasswordCredentials(username, password)
    raise UnauthenticatedError(
        "the Authorization header is neither 'Bearer <API key>' nor 'Basic <credentials>'"
    )
