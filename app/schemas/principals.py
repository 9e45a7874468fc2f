"""Wire models for principals, API keys, grants and the caller's own identity."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.domain.access import Caller, Role
from app.domain.names import PRINCIPAL_NAME_PATTERN
from app.domain.principals import ApiKeyInfo, Grant, Principal

# argon2 hashes any length, but a megabyte password would only be a way to burn CPU.
Password = Field(default=None, min_length=8, max_length=1024, description="At least 8 characters")


class PrincipalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=PRINCIPAL_NAME_PATTERN, examples=["ingest-service"])
    password: str | None = Password
    """For HTTP Basic (people); services usually use API keys only."""
    server_admin: bool = False


class PrincipalPatch(BaseModel):
    """A field left out stays as it is; ``password: null`` removes the password."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Password
    server_admin: bool | None = None


class PrincipalOut(BaseModel):
    name: str
    server_admin: bool
    has_password: bool
    created_at: datetime

    @classmethod
    def of(cls, principal: Principal) -> "PrincipalOut":
        return cls(
            name=principal.name,
            server_admin=principal.server_admin,
            has_password=principal.has_password,
            created_at=principal.created_at,
        )


class PrincipalPage(BaseModel):
    items: list[PrincipalOut]
    next: str | None = Field(description="`after` for the next page; null at the end")


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=200, examples=["ingest on host-7"])


class KeyOut(BaseModel):
    """A key as listed: never its secret."""

    key_id: str
    principal: str
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKeyInfo) -> "KeyOut":
        return cls(
            key_id=key.key_id,
            principal=key.principal,
            label=key.label,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class KeyCreated(KeyOut):
    key: str = Field(
        description="The whole key, shown this once: only its hash is stored. "
        "Send it as `Authorization: Bearer <key>`."
    )


class KeyList(BaseModel):
    items: list[KeyOut]


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Field(description="read < write < admin; each includes the ones before")


class GrantOut(BaseModel):
    principal: str
    chronicle: str
    role: Role

    @classmethod
    def of(cls, grant: Grant) -> "GrantOut":
        return cls(principal=grant.principal, chronicle=grant.chronicle, role=grant.role)


class GrantList(BaseModel):
    items: list[GrantOut]


class WhoAmI(BaseModel):
    """The caller as the server sees it."""

    principal: str
    server_admin: bool
    grants: dict[str, Role] = Field(description="Chronicle name -> role")
    auth_enabled: bool

    @classmethod
    def of(cls, caller: Caller, auth_enabled: bool) -> "WhoAmI":
        return cls(
            principal=caller.principal,
            server_admin=caller.server_admin,
            grants=caller.grants,
            auth_enabled=auth_enabled,
        )
