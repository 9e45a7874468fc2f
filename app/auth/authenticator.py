"""Turns credentials into a Caller, and decides with fresh grants before it refuses.

REST and the hub both come here, so a key works, or fails, the same way on both.

Verified credentials are cached for ``auth_cache_seconds``: a key check is one database
round trip and a password check an argon2 hash (tens of milliseconds of CPU), neither of
which belongs on every publish. Only successes are cached. A refusal (403) is always
re-decided on grants read fresh from the database, so a grant made a moment ago, on this
process or another, works at once; a revocation reaches this process's cache at once and
other processes' within the cache time.
"""

import asyncio
import hashlib
import secrets
import time

import asyncpg
import structlog

from app.config import Settings
from app.domain.access import ANONYMOUS_ADMIN, Caller, Need, authorize
from app.domain.credentials import (
    Credentials,
    KeyCredentials,
    PasswordCredentials,
    dummy_password_hash,
    key_matches,
    parse_authorization,
    parse_key,
    password_matches,
)
from app.errors import ForbiddenError, UnauthenticatedError
from app.storage import principals

log = structlog.get_logger(__name__)

_CACHE_LIMIT = 10_000
# argon2 takes ~64 MiB and a core per check: bound how many run at once, off the loop.
_PASSWORD_CHECKS = 2


class Authenticator:
    """One per process, created in the lifespan."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.enabled = settings.auth_enabled
        self.ttl = settings.auth_cache_seconds
        self._cache: dict[bytes, tuple[float, Caller]] = {}
        # Cache keys are digests salted per process: the cache never holds a usable secret.
        self._salt = secrets.token_bytes(16)
        self._password_checks = asyncio.Semaphore(_PASSWORD_CHECKS)

    async def authenticate_header(self, header: str | None) -> Caller:
        """The caller an ``Authorization`` header identifies; UnauthenticatedError if none."""
        if not self.enabled:
            return ANONYMOUS_ADMIN
        if header is None:
            raise UnauthenticatedError(
                "this needs credentials: send 'Authorization: Bearer <API key>' (the key "
                "`chronicle serve` printed on first start, or one from POST "
                "/principals/{name}/keys) or HTTP Basic with a username and password"
            )
        return await self.authenticate(parse_authorization(header))

    async def authenticate(self, credentials: Credentials) -> Caller:
        if not self.enabled:
            return ANONYMOUS_ADMIN
        cache_key = self._cache_key(credentials)
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        match credentials:
            case KeyCredentials(token):
                principal_id = await self._check_key(token)
            case PasswordCredentials(username, password):
                principal_id = await self._check_password(username, password)
        caller = await principals.load_caller(self.pool, principal_id)
        if caller is None:  # deleted between the check and the load
            raise UnauthenticatedError("these credentials belong to no principal any more")
        self._remember(cache_key, caller)
        return caller

    async def authorize(self, caller: Caller, need: Need, chronicle: str | None) -> Caller:
        """``caller`` if it may do what ``need`` asks on ``chronicle``; before refusing,
        ask again with its grants as they are now. Returns the caller decided with."""
        try:
            authorize(caller, need, chronicle)
            return caller
        except ForbiddenError:
            if caller.principal_id is None:
                raise
        fresh = await self.refreshed(caller)
        authorize(fresh, need, chronicle)
        return fresh

    async def refreshed(self, caller: Caller) -> Caller:
        """``caller`` with its grants as they are now in the database."""
        if caller.principal_id is None:
            return caller
        fresh = await principals.load_caller(self.pool, caller.principal_id)
        if fresh is None:
            raise UnauthenticatedError("this principal was deleted")
        self._refresh(caller, fresh)
        return fresh

    def forget(self) -> None:
        """Drop every cached caller: principals, keys or grants changed in this process."""
        self._cache.clear()

    # checks

    async def _check_key(self, token: str) -> int:
        parsed = parse_key(token)
        if parsed is None:
            raise UnauthenticatedError(
                "the bearer token is not a Chronicle API key (chr_<16 hex>_<43 characters>)"
            )
        key_id, secret = parsed
        stored = await principals.find_key(self.pool, key_id)
        if stored is None or not key_matches(secret, stored.digest):
            log.info("auth_failed", key_id=key_id, reason="unknown key")
            raise UnauthenticatedError(f"API key {key_id} is not valid: check it was copied whole")
        if stored.revoked:
            log.info("auth_failed", key_id=key_id, reason="revoked")
            raise UnauthenticatedError(f"API key {key_id} was revoked: ask an admin for a new one")
        return stored.principal_id

    async def _check_password(self, username: str, password: str) -> int:
        found = await principals.find_password(self.pool, username)
        # An unknown user costs one argon2 check too, so timing does not tell who exists.
        stored = found[1] if found else dummy_password_hash()
        async with self._password_checks:
            matches = await asyncio.to_thread(password_matches, password, stored)
        if found is None or not matches:
            log.info("auth_failed", principal=username, reason="bad username or password")
            raise UnauthenticatedError("wrong username or password")
        return found[0]

    # cache

    def _cache_key(self, credentials: Credentials) -> bytes:
        material = (
            credentials.token
            if isinstance(credentials, KeyCredentials)
            else f"{credentials.username}\0{credentials.password}"
        )
        return hashlib.sha256(self._salt + material.encode()).digest()

    def _remember(self, cache_key: bytes, caller: Caller) -> None:
        if self.ttl <= 0:
            return
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[cache_key] = (time.monotonic() + self.ttl, caller)

    def _refresh(self, stale: Caller, fresh: Caller) -> None:
        for cache_key, (expires, caller) in list(self._cache.items()):
            if caller.principal_id == stale.principal_id:
                self._cache[cache_key] = (expires, fresh)
