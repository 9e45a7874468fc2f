"""Principals, API keys and grants in PostgreSQL; the first server admin.

Secrets never come back out of here: a key is stored as its digest, a password as its
argon2 hash, and listings carry neither.
"""

from dataclasses import dataclass

import asyncpg

from app.domain.access import Caller, Role
from app.domain.catalog import Page
from app.domain.credentials import NewKey, key_digest, new_key, parse_key
from app.domain.principals import BOOTSTRAP_ADMIN, ApiKeyInfo, Grant, Principal
from app.errors import (
    ChronicleNotFoundError,
    GrantNotFoundError,
    InvalidInputError,
    KeyNotFoundError,
    LastServerAdminError,
    PrincipalExistsError,
    PrincipalNotFoundError,
)

# Serializes the first-start check with the creation of the first admin, so two server
# processes starting at once create one admin, not two.
_BOOTSTRAP_LOCK = 0x636872_61646D  # "chr" "adm"

_PRINCIPAL = "name, server_admin, password_hash IS NOT NULL AS has_password, created_at"
_KEY = "k.id, p.name AS principal, k.label, k.created_at, k.revoked_at"


def _principal(row: asyncpg.Record) -> Principal:
    return Principal(
        name=row["name"],
        server_admin=row["server_admin"],
        has_password=row["has_password"],
        created_at=row["created_at"],
    )


def _key(row: asyncpg.Record) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row["id"],
        principal=row["principal"],
        label=row["label"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def principal_not_found(name: str) -> PrincipalNotFoundError:
    return PrincipalNotFoundError(f"principal {name!r} does not exist", principal=name)


async def _principal_id(conn: asyncpg.Pool | asyncpg.Connection, name: str) -> int:
    found: int | None = await conn.fetchval("SELECT id FROM principals WHERE name = $1", name)
    if found is None:
        raise principal_not_found(name)
    return found


# principals


async def create_principal(
    pool: asyncpg.Pool, name: str, password_hash: str | None, server_admin: bool
) -> Principal:
    """PrincipalExistsError when the name is taken."""
    row = await pool.fetchrow(
        "INSERT INTO principals (name, password_hash, server_admin) VALUES ($1, $2, $3) "
        f"ON CONFLICT (name) DO NOTHING RETURNING {_PRINCIPAL}",
        name,
        password_hash,
        server_admin,
    )
    if row is None:
        raise PrincipalExistsError(f"principal {name!r} already exists", principal=name)
    return _principal(row)


async def get_principal(pool: asyncpg.Pool, name: str) -> Principal:
    row = await pool.fetchrow(f"SELECT {_PRINCIPAL} FROM principals WHERE name = $1", name)
    if row is None:
        raise principal_not_found(name)
    return _principal(row)


async def list_principals(pool: asyncpg.Pool, after: str | None, limit: int) -> Page[Principal]:
    rows = await pool.fetch(
        f"SELECT {_PRINCIPAL} FROM principals WHERE $1::text IS NULL OR name > $1 "
        "ORDER BY name LIMIT $2",
        after,
        limit + 1,
    )
    items = [_principal(r) for r in rows[:limit]]
    return Page(items=items, next=items[-1].name if len(rows) > limit else None)


@dataclass(frozen=True, slots=True)
class PrincipalChange:
    """What an update sets; None leaves a field as it is. ``clear_password`` removes it."""

    password_hash: str | None = None
    clear_password: bool = False
    server_admin: bool | None = None


async def update_principal(pool: asyncpg.Pool, name: str, change: PrincipalChange) -> Principal:
    async with pool.acquire() as conn, conn.transaction():
        if change.server_admin is False:
            await _keep_one_server_admin(conn, name)
        row = await conn.fetchrow(
            "UPDATE principals SET "
            "password_hash = CASE WHEN $2 THEN NULL ELSE coalesce($3, password_hash) END, "
            "server_admin = coalesce($4, server_admin) "
            f"WHERE name = $1 RETURNING {_PRINCIPAL}",
            name,
            change.clear_password,
            change.password_hash,
            change.server_admin,
        )
    if row is None:
        raise principal_not_found(name)
    return _principal(row)


async def delete_principal(pool: asyncpg.Pool, name: str) -> None:
    """Delete a principal with its keys and grants."""
    async with pool.acquire() as conn, conn.transaction():
        await _keep_one_server_admin(conn, name)
        deleted = await conn.fetchval("DELETE FROM principals WHERE name = $1 RETURNING id", name)
    if deleted is None:
        raise principal_not_found(name)


async def _keep_one_server_admin(conn: asyncpg.Connection, name: str) -> None:
    """Refuse to demote or delete ``name`` if it is the last server admin."""
    # Locks every server admin row, so two concurrent demotions cannot both pass.
    admins = await conn.fetch("SELECT name FROM principals WHERE server_admin FOR UPDATE")
    if [r["name"] for r in admins] == [name]:
        raise LastServerAdminError(
            f"{name!r} is the last server admin; make another principal a server admin first",
            principal=name,
        )


# keys


async def create_key(pool: asyncpg.Pool, principal: str, label: str) -> tuple[ApiKeyInfo, str]:
    """A new key for ``principal``: its listing and the whole key, to be shown once."""
    key = new_key()
    async with pool.acquire() as conn:
        info = await _store_key(conn, await _principal_id(conn, principal), key, label)
    return info, key.token


async def _store_key(
    conn: asyncpg.Connection, principal_id: int, key: NewKey, label: str
) -> ApiKeyInfo:
    row = await conn.fetchrow(
        "WITH k AS (INSERT INTO api_keys (id, principal_id, digest, label) "
        "VALUES ($1, $2, $3, $4) RETURNING *) "
        f"SELECT {_KEY} FROM k JOIN principals p ON p.id = k.principal_id",
        key.key_id,
        principal_id,
        key.digest,
        label,
    )
    return _key(row)


async def list_keys(pool: asyncpg.Pool, principal: str) -> list[ApiKeyInfo]:
    async with pool.acquire() as conn:
        principal_id = await _principal_id(conn, principal)
        rows = await conn.fetch(
            f"SELECT {_KEY} FROM api_keys k JOIN principals p ON p.id = k.principal_id "
            "WHERE k.principal_id = $1 ORDER BY k.created_at, k.id",
            principal_id,
        )
    return [_key(r) for r in rows]


async def revoke_key(pool: asyncpg.Pool, principal: str, key_id: str) -> ApiKeyInfo:
    """Mark the key revoked (kept for the record; revoking twice changes nothing)."""
    row = await pool.fetchrow(
        "WITH k AS (UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now()) "
        "FROM principals p WHERE p.id = k.principal_id AND p.name = $1 AND k.id = $2 "
        "RETURNING k.*) "
        f"SELECT {_KEY} FROM k JOIN principals p ON p.id = k.principal_id",
        principal,
        key_id,
    )
    if row is None:
        raise KeyNotFoundError(
            f"principal {principal!r} has no key {key_id!r}", principal=principal, key_id=key_id
        )
    return _key(row)


# grants


async def set_grant(pool: asyncpg.Pool, chronicle: str, principal: str, role: Role) -> Grant:
    """Give ``principal`` ``role`` on ``chronicle``, replacing any role it had there."""
    async with pool.acquire() as conn:
        principal_id = await _principal_id(conn, principal)
        done = await conn.fetchval(
            "INSERT INTO grants (principal_id, chronicle_id, role) "
            "SELECT $1, id, $3 FROM chronicles WHERE name = $2 "
            "ON CONFLICT (principal_id, chronicle_id) DO UPDATE SET role = excluded.role "
            "RETURNING true",
            principal_id,
            chronicle,
            role.value,
        )
    if done is None:
        raise ChronicleNotFoundError(f"chronicle {chronicle!r} does not exist", chronicle=chronicle)
    return Grant(principal=principal, chronicle=chronicle, role=role)


async def delete_grant(pool: asyncpg.Pool, chronicle: str, principal: str) -> None:
    deleted = await pool.fetchval(
        "DELETE FROM grants g USING principals p, chronicles c "
        "WHERE g.principal_id = p.id AND g.chronicle_id = c.id AND p.name = $1 AND c.name = $2 "
        "RETURNING true",
        principal,
        chronicle,
    )
    if deleted is None:
        raise GrantNotFoundError(
            f"principal {principal!r} has no grant on chronicle {chronicle!r}",
            principal=principal,
            chronicle=chronicle,
        )


async def list_grants(pool: asyncpg.Pool, chronicle: str) -> list[Grant]:
    rows = await pool.fetch(
        "SELECT p.name AS principal, g.role FROM chronicles c "
        "JOIN grants g ON g.chronicle_id = c.id JOIN principals p ON p.id = g.principal_id "
        "WHERE c.name = $1 ORDER BY p.name",
        chronicle,
    )
    if not rows and not await pool.fetchval("SELECT 1 FROM chronicles WHERE name = $1", chronicle):
        raise ChronicleNotFoundError(f"chronicle {chronicle!r} does not exist", chronicle=chronicle)
    return [Grant(r["principal"], chronicle, Role(r["role"])) for r in rows]


# authentication


@dataclass(frozen=True, slots=True)
class StoredKey:
    principal_id: int
    digest: bytes
    revoked: bool


async def find_key(pool: asyncpg.Pool, key_id: str) -> StoredKey | None:
    row = await pool.fetchrow(
        "SELECT principal_id, digest, revoked_at IS NOT NULL AS revoked FROM api_keys "
        "WHERE id = $1",
        key_id,
    )
    if row is None:
        return None
    return StoredKey(row["principal_id"], bytes(row["digest"]), row["revoked"])


async def find_password(pool: asyncpg.Pool, name: str) -> tuple[int, str] | None:
    """(principal id, argon2 hash) of a principal that has a password."""
    row = await pool.fetchrow(
        "SELECT id, password_hash FROM principals WHERE name = $1 AND password_hash IS NOT NULL",
        name,
    )
    return None if row is None else (row["id"], row["password_hash"])


async def load_caller(pool: asyncpg.Pool, principal_id: int) -> Caller | None:
    """The principal with its grants as they are now; None if it was deleted meanwhile."""
    rows = await pool.fetch(
        "SELECT p.name, p.server_admin, c.id AS chronicle_id, c.name AS chronicle, g.role "
        "FROM principals p LEFT JOIN grants g ON g.principal_id = p.id "
        "LEFT JOIN chronicles c ON c.id = g.chronicle_id WHERE p.id = $1",
        principal_id,
    )
    if not rows:
        return None
    held = [r for r in rows if r["chronicle"] is not None]
    return Caller(
        principal=rows[0]["name"],
        principal_id=principal_id,
        server_admin=rows[0]["server_admin"],
        grants={r["chronicle"]: Role(r["role"]) for r in held},
        readable_ids=frozenset(r["chronicle_id"] for r in held),
    )


# first start


async def ensure_admin(pool: asyncpg.Pool, configured_key: str | None) -> str | None:
    """Make sure someone can manage the server; returns a generated key to show once.

    With ``configured_key`` (CHRONICLE_ADMIN_KEY), that key is stored for the server admin
    ``admin`` unless a key with its id exists already (a revoked one stays revoked).
    Without it, the first start of an empty store creates ``admin`` with a new key.
    """
    parsed = None
    if configured_key is not None:
        parsed = parse_key(configured_key)
        if parsed is None:
            raise InvalidInputError(
                "CHRONICLE_ADMIN_KEY is not a Chronicle key (chr_<16 hex>_<43 characters>); "
                "make one with `chronicle keygen`"
            )
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _BOOTSTRAP_LOCK)
        if parsed is not None:
            key_id, secret = parsed
            if await conn.fetchval("SELECT 1 FROM api_keys WHERE id = $1", key_id):
                return None
            key = NewKey(key_id=key_id, secret=secret, digest=key_digest(secret))
            await _store_key(conn, await _admin_id(conn), key, "CHRONICLE_ADMIN_KEY")
            return None
        if await conn.fetchval("SELECT 1 FROM principals LIMIT 1"):
            return None
        key = new_key()
        await _store_key(conn, await _admin_id(conn), key, "first start")
        return key.token


async def _admin_id(conn: asyncpg.Connection) -> int:
    found: int = await conn.fetchval(
        "INSERT INTO principals (name, server_admin) VALUES ($1, true) "
        "ON CONFLICT (name) DO UPDATE SET server_admin = true RETURNING id",
        BOOTSTRAP_ADMIN,
    )
    return found
