"""Who may do what: roles on chronicles, the caller, and the one rule that checks them.

REST routes and hub methods both declare a ``Need`` and ask ``authorize`` about it, so the
two transports cannot drift apart.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from app.errors import ForbiddenError


class Role(StrEnum):
    """Roles on one chronicle; each includes the ones before it."""

    READ = "read"  # read, replay, query, subscribe
    WRITE = "write"  # + publish, create streams
    ADMIN = "admin"  # + manage the chronicle, its streams and its grants

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: "Role") -> bool:
        return self.rank >= other.rank


_RANKS = {Role.READ: 1, Role.WRITE: 2, Role.ADMIN: 3}


class Level(StrEnum):
    """What a Need asks for beyond a role on a named chronicle."""

    AUTHENTICATED = "authenticated"  # any principal; results are filtered to what it may read
    CHRONICLE = "chronicle"  # a role on the chronicle the request names
    SERVER_ADMIN = "server_admin"  # manages principals and keys, sees server internals


@dataclass(frozen=True, slots=True)
class Need:
    """What one operation requires. For CHRONICLE, ``role`` on the named chronicle; when
    the chronicle is optional and absent (the global log), AUTHENTICATED with filtering."""

    level: Level
    role: Role | None = None

    def __str__(self) -> str:
        return f"{self.role} on the chronicle" if self.role else self.level.value


AUTHENTICATED = Need(Level.AUTHENTICATED)
SERVER_ADMIN = Need(Level.SERVER_ADMIN)
READ = Need(Level.CHRONICLE, Role.READ)
WRITE = Need(Level.CHRONICLE, Role.WRITE)
ADMIN = Need(Level.CHRONICLE, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated principal and its grants, as resolved for one request or session."""

    principal: str
    principal_id: int | None  # None: auth is off and the caller is anonymous
    server_admin: bool
    grants: dict[str, Role] = field(default_factory=dict)
    """Chronicle name -> role."""
    readable_ids: frozenset[int] = frozenset()
    """Ids of the chronicles it may read, for filtering the global log in SQL."""

    def role_on(self, chronicle: str) -> Role | None:
        return Role.ADMIN if self.server_admin else self.grants.get(chronicle)

    def may_read(self, chronicle: str) -> bool:
        return self.role_on(chronicle) is not None

    @property
    def reads_everything(self) -> bool:
        return self.server_admin

    @property
    def chronicle_filter(self) -> frozenset[int] | None:
        """Ids of the chronicles a listing or the global log may show; None: all."""
        return None if self.reads_everything else self.readable_ids


ANONYMOUS_ADMIN = Caller(principal="anonymous", principal_id=None, server_admin=True)
"""The caller of every request while auth is off."""


def authorize(caller: Caller, need: Need, chronicle: str | None) -> None:
    """Raise ForbiddenError unless ``caller`` may do what ``need`` asks on ``chronicle``.

    A principal without any role on a chronicle is told the same as one with too small a
    role: whether a chronicle exists is itself only visible to those who may read it.
    """
    if caller.server_admin or need.level is Level.AUTHENTICATED:
        return
    if need.level is Level.SERVER_ADMIN:
        raise ForbiddenError(
            f"{caller.principal} is not a server admin; this needs a server admin's key",
            principal=caller.principal,
            needs="server_admin",
        )
    assert need.role is not None
    if chronicle is None:  # an optional scope left out: the caller sees a filtered result
        return
    held = caller.grants.get(chronicle)
    if held is None or not held.includes(need.role):
        raise ForbiddenError(
            f"{caller.principal} needs the {need.role} role on chronicle {chronicle!r} "
            f"(has {held or 'none'}); ask an admin of the chronicle for a grant",
            principal=caller.principal,
            chronicle=chronicle,
            needs=need.role.value,
            has=held.value if held else None,
        )
