"""The authorization rule shared by REST and the hub, and the credential primitives."""

import pytest

from app.domain import credentials
from app.domain.access import (
    ADMIN,
    ANONYMOUS_ADMIN,
    AUTHENTICATED,
    READ,
    SERVER_ADMIN,
    WRITE,
    Caller,
    Role,
    authorize,
)
from app.errors import ForbiddenError, UnauthenticatedError

READER = Caller("ann", 1, server_admin=False, grants={"sensors": Role.READ})
WRITER = Caller("bob", 2, server_admin=False, grants={"sensors": Role.WRITE})
OWNER = Caller("cy", 3, server_admin=False, grants={"sensors": Role.ADMIN})
STRANGER = Caller("dee", 4, server_admin=False)


@pytest.mark.parametrize(
    ("caller", "allowed"),
    [
        (READER, {"read"}),
        (WRITER, {"read", "write"}),
        (OWNER, {"read", "write", "admin"}),
        (STRANGER, set()),
    ],
)
def test_each_role_includes_the_ones_below_it_and_nothing_above(
    caller: Caller, allowed: set[str]
) -> None:
    for need in (READ, WRITE, ADMIN):
        assert need.role is not None
        if need.role.value in allowed:
            authorize(caller, need, "sensors")
        else:
            with pytest.raises(ForbiddenError) as refused:
                authorize(caller, need, "sensors")
            assert refused.value.status == 403
            assert refused.value.details["needs"] == need.role.value


def test_a_grant_on_one_chronicle_gives_nothing_on_another() -> None:
    with pytest.raises(ForbiddenError) as refused:
        authorize(OWNER, READ, "billing")
    assert refused.value.details == {
        "principal": "cy",
        "chronicle": "billing",
        "needs": "read",
        "has": None,
    }
    assert "ask an admin" in refused.value.detail


def test_only_server_admins_pass_server_admin_needs() -> None:
    with pytest.raises(ForbiddenError):
        authorize(OWNER, SERVER_ADMIN, None)
    admin = Caller("root", 5, server_admin=True)
    authorize(admin, SERVER_ADMIN, None)
    authorize(admin, ADMIN, "any-chronicle-at-all")
    assert admin.role_on("billing") is Role.ADMIN


def test_authenticated_needs_and_an_absent_optional_chronicle_pass_for_anyone() -> None:
    authorize(STRANGER, AUTHENTICATED, None)
    # The global log with no chronicle named: allowed, and filtered to readable_ids.
    authorize(STRANGER, READ, None)
    assert not STRANGER.reads_everything and STRANGER.readable_ids == frozenset()


def test_the_anonymous_caller_of_auth_off_may_do_everything() -> None:
    for need in (AUTHENTICATED, READ, WRITE, ADMIN, SERVER_ADMIN):
        authorize(ANONYMOUS_ADMIN, need, "sensors")


def test_a_new_key_parses_back_and_only_its_own_secret_matches() -> None:
    key = credentials.new_key()
    parsed = credentials.parse_key(key.token)
    assert parsed == (key.key_id, key.secret)
    assert credentials.key_matches(key.secret, key.digest)
    other = credentials.new_key()
    assert not credentials.key_matches(other.secret, key.digest)
    assert key.secret not in repr(key.digest)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "chr_",
        "Bearer chr_0011223344556677_x",
        "chr_00112233445566_" + "a" * 43,
        "chr_0011223344556677_" + "a" * 42,
        "xyz_0011223344556677_" + "a" * 43,
    ],
)
def test_malformed_keys_do_not_parse(token: str) -> None:
    assert credentials.parse_key(token) is None


def test_passwords_are_stored_as_argon2id_and_verified() -> None:
    stored = credentials.hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert credentials.password_matches("correct horse battery staple", stored)
    assert not credentials.password_matches("Correct horse battery staple", stored)
    assert not credentials.password_matches("anything", "not a hash")
    assert not credentials.password_matches("anything", credentials.dummy_password_hash())


def test_unauthenticated_answers_carry_a_www_authenticate_challenge() -> None:
    error = UnauthenticatedError("send a key")
    assert error.status == 401
    assert error.headers()["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer chr_x", credentials.KeyCredentials("chr_x")),
        ("bearer   chr_x ", credentials.KeyCredentials("chr_x")),
        ("Basic YW5uOnMzY3I6ZXQ=", credentials.PasswordCredentials("ann", "s3cr:et")),
    ],
)
def test_authorization_headers_parse_into_credentials(
    header: str, expected: credentials.Credentials
) -> None:
    assert credentials.parse_authorization(header) == expected


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Token abc", "Basic", "Basic !!!", "Basic Og==", "Basic YW5u"],
)
def test_malformed_authorization_headers_are_unauthenticated(header: str) -> None:
    with pytest.raises(UnauthenticatedError):
        credentials.parse_authorization(header)


def test_a_password_never_shows_in_the_credentials_repr() -> None:
    assert "s3cret" not in repr(credentials.PasswordCredentials("ann", "s3cret"))
