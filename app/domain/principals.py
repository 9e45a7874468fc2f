"""Principals, their API keys and their grants, as the domain sees them (no secrets here)."""

from dataclasses import dataclass
from datetime import datetime

from app.domain.access import Role

BOOTSTRAP_ADMIN = "admin"
"""The server admin created on first start."""


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    server_admin: bool
    has_password: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A key as listed: its public id and label, never its secret."""

    key_id: str
    principal: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Grant:
    principal: str
    chronicle: str
    role: Role
