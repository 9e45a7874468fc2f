"""``chronicle principal|key|grant|keygen``: manage access straight in the database.

These work with the server running or not (the embedded PostgreSQL is shared), and need
no key: whoever can reach the database owns the store anyway. So they are also the way
back in when the admin key is lost.
"""

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Annotated, TypeVar

import asyncpg
import typer

from app.config import Settings
from app.domain.access import Role
from app.domain.credentials import hash_password, new_key
from app.errors import ChronicleError
from app.logs import configure_logging
from app.storage import migrations, principals
from app.storage.embedded import with_database
from app.storage.principals import PrincipalChange

T = TypeVar("T")

principal_cli = typer.Typer(help="Users and services that hold keys and roles.")
key_cli = typer.Typer(help="API keys of a principal.")
grant_cli = typer.Typer(help="Roles of principals on chronicles.")


def _run(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run ``work`` on the configured (or embedded) database; a ChronicleError is printed
    as the API would say it, and exits 1."""
    settings = Settings()
    configure_logging("warning", settings.log_json)
    with ExitStack() as stack:
        settings = with_database(settings, stack)
        migrations.upgrade(settings.database_dsn())

        async def go() -> T:
            async with asyncpg.create_pool(settings.database_dsn(), min_size=1, max_size=1) as pool:
                return await work(pool)

        try:
            return asyncio.run(go())
        except ChronicleError as error:
            typer.echo(f"error: {error.detail} ({error.code})", err=True)
            raise typer.Exit(1) from None


def _password(prompt: bool) -> str | None:
    if not prompt:
        return None
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            typer.echo("error: the passwords differ", err=True)
            raise typer.Exit(1)
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        typer.echo("error: a password has at least 8 characters", err=True)
        raise typer.Exit(1)
    return password


PasswordOption = Annotated[
    bool, typer.Option("--password", help="Ask for a password (or read one line from stdin)")
]


@principal_cli.command("create")
def create_principal(
    name: str,
    password: PasswordOption = False,
    server_admin: Annotated[bool, typer.Option(help="May manage principals and keys")] = False,
) -> None:
    """Create a principal."""
    secret = _password(password)
    hashed = None if secret is None else hash_password(secret)
    created = _run(lambda pool: principals.create_principal(pool, name, hashed, server_admin))
    typer.echo(f"created {created.name}" + (" (server admin)" if created.server_admin else ""))


@principal_cli.command("list")
def list_principals() -> None:
    """Every principal, with whether it is a server admin and has a password."""

    async def all_(pool: asyncpg.Pool) -> list[principals.Principal]:
        found, after = [], None
        while True:
            page = await principals.list_principals(pool, after, 1000)
            found += page.items
            if page.next is None:
                return found
            after = page.next

    for p in _run(all_):
        flags = [
            f for f, on in (("server admin", p.server_admin), ("password", p.has_password)) if on
        ]
        typer.echo(f"{p.name}\t{', '.join(flags)}")


@principal_cli.command("password")
def set_password(name: str) -> None:
    """Set a principal's password (asked for, or one line from stdin)."""
    hashed = hash_password(_password(True) or "")
    _run(
        lambda pool: principals.update_principal(pool, name, PrincipalChange(password_hash=hashed))
    )
    typer.echo(f"password of {name} set")


@principal_cli.command("delete")
def delete_principal(name: str) -> None:
    """Delete a principal with its keys and grants."""
    _run(lambda pool: principals.delete_principal(pool, name))
    typer.echo(f"deleted {name}")


@key_cli.command("create")
def create_key(
    principal: str, label: Annotated[str, typer.Option(help="What the key is for")] = ""
) -> None:
    """Make a key; it is printed once (only its hash is stored)."""
    info, token = _run(lambda pool: principals.create_key(pool, principal, label))
    typer.echo(f"key {info.key_id} for {principal} (shown once; send as 'Authorization: Bearer'):")
    typer.echo(token)


@key_cli.command("list")
def list_keys(principal: str) -> None:
    """A principal's keys: id, created, revoked, label. Never the secrets."""
    for k in _run(lambda pool: principals.list_keys(pool, principal)):
        revoked = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        typer.echo(f"{k.key_id}\t{k.created_at:%Y-%m-%d %H:%M}\t{revoked}\t{k.label}")


@key_cli.command("revoke")
def revoke_key(principal: str, key_id: str) -> None:
    """Revoke a key (running servers stop accepting it within CHRONICLE_AUTH_CACHE_SECONDS)."""
    _run(lambda pool: principals.revoke_key(pool, principal, key_id))
    typer.echo(f"revoked {key_id}")


@grant_cli.command("set")
def set_grant(chronicle: str, principal: str, role: Role) -> None:
    """Give PRINCIPAL ROLE (read, write or admin) on CHRONICLE."""
    _run(lambda pool: principals.set_grant(pool, chronicle, principal, role))
    typer.echo(f"{principal} has {role} on {chronicle}")


@grant_cli.command("list")
def list_grants(chronicle: str) -> None:
    """Who holds which role on CHRONICLE."""
    for g in _run(lambda pool: principals.list_grants(pool, chronicle)):
        typer.echo(f"{g.principal}\t{g.role}")


@grant_cli.command("delete")
def delete_grant(chronicle: str, principal: str) -> None:
    """Take PRINCIPAL's role on CHRONICLE away."""
    _run(lambda pool: principals.delete_grant(pool, chronicle, principal))
    typer.echo(f"{principal} has no role on {chronicle} now")


def keygen() -> None:
    """Print a new random API key, e.g. for CHRONICLE_ADMIN_KEY (touches no database)."""
    typer.echo(new_key().token)


def register(cli: typer.Typer) -> None:
    cli.add_typer(principal_cli, name="principal")
    cli.add_typer(key_cli, name="key")
    cli.add_typer(grant_cli, name="grant")
    cli.command("keygen")(keygen)
