"""The one error model: domain errors with stable codes, shared by REST and WebSocket."""

from typing import Any


class ChronicleError(Exception):
    """Base of every error a client may see. ``code`` is stable and machine-readable."""

    code = "chronicle_error"
    title = "Chronicle error"
    status = 400

    def __init__(self, detail: str, **details: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.details = details

    def headers(self) -> dict[str, str]:
        """HTTP headers the REST answer carries besides the problem body."""
        return {}


class InvalidInputError(ChronicleError):
    code = "invalid_input"
    title = "Invalid input"
    status = 422


class InvalidEventTypeError(InvalidInputError):
    code = "invalid_event_type"
    title = "Invalid event type"


class InvalidRangeError(InvalidInputError):
    code = "invalid_range"
    title = "Invalid range"


class InvalidPatternError(InvalidInputError):
    code = "invalid_pattern"
    title = "Invalid type pattern"


class InvalidCloudEventError(InvalidInputError):
    code = "invalid_cloudevent"
    title = "Invalid CloudEvent"


class MalformedJsonError(ChronicleError):
    code = "malformed_json"
    title = "Malformed JSON"
    status = 400


class MalformedPreconditionError(ChronicleError):
    code = "malformed_precondition"
    title = "Malformed precondition header"
    status = 400


class ConflictingPreconditionsError(InvalidInputError):
    code = "conflicting_preconditions"
    title = "Conflicting preconditions"


class TooLargeError(ChronicleError):
    code = "too_large"
    title = "Payload too large"
    status = 413


class EventTooLargeError(TooLargeError):
    code = "event_too_large"
    title = "Event too large"


class BatchTooLargeError(TooLargeError):
    code = "batch_too_large"
    title = "Too many events in one publish"


class UnauthenticatedError(ChronicleError):
    """No credentials, or credentials that do not identify anyone (a revoked key, say)."""

    code = "unauthenticated"
    title = "Authentication required"
    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="chronicle", Basic realm="chronicle"'}


class ForbiddenError(ChronicleError):
    """Authenticated, but the principal lacks the role this needs."""

    code = "forbidden"
    title = "Forbidden"
    status = 403


class TooManyError(ChronicleError):
    """A per-connection or per-principal limit is reached; close something and retry."""

    code = "too_many"
    title = "Too many open at once"
    status = 429


class NotFoundError(ChronicleError):
    code = "not_found"
    title = "Not found"
    status = 404


class ChronicleNotFoundError(NotFoundError):
    code = "chronicle_not_found"
    title = "Chronicle not found"


class StreamNotFoundError(NotFoundError):
    code = "stream_not_found"
    title = "Stream not found"


class EventNotFoundError(NotFoundError):
    code = "event_not_found"
    title = "Event not found"


class PrincipalNotFoundError(NotFoundError):
    code = "principal_not_found"
    title = "Principal not found"


class KeyNotFoundError(NotFoundError):
    code = "key_not_found"
    title = "API key not found"


class GrantNotFoundError(NotFoundError):
    code = "grant_not_found"
    title = "Grant not found"


class SubscriptionNotFoundError(NotFoundError):
    code = "subscription_not_found"
    title = "Persistent subscription not found"


class StreamDeletedError(ChronicleError):
    """The stream was hard-deleted (tombstoned): its name can never be used again."""

    code = "stream_deleted"
    title = "Stream deleted"
    status = 410


class ConflictError(ChronicleError):
    code = "conflict"
    title = "Conflict"
    status = 409


class ChronicleExistsError(ConflictError):
    code = "chronicle_exists"
    title = "Chronicle already exists"


class PrincipalExistsError(ConflictError):
    code = "principal_exists"
    title = "Principal already exists"


class LastServerAdminError(ConflictError):
    """Removing this would leave nobody able to manage principals and keys."""

    code = "last_server_admin"
    title = "Last server admin"


class SelfLockoutError(ConflictError):
    """The request would take away the credentials or rights it is made with."""

    code = "self_lockout"
    title = "Would lock the caller out"


class SubscriptionExistsError(ConflictError):
    code = "subscription_exists"
    title = "Persistent subscription already exists"


class WrongExpectedVersionError(ConflictError):
    code = "wrong_expected_version"
    title = "Wrong expected version"

    def __init__(self, chronicle: str, stream: str, expected: str | int, actual: int | None):
        shown = "no stream" if actual is None else str(actual)
        super().__init__(
            f"stream {chronicle}/{stream}: expected version {expected}, actual {shown}",
            chronicle=chronicle,
            stream=stream,
            expected=expected,
            actual=actual,
        )
        self.actual = actual


class PreconditionFailedError(WrongExpectedVersionError):
    """The HTTP form of a wrong expected version: it came from If-Match or If-None-Match."""

    status = 412

    @classmethod
    def of(cls, error: WrongExpectedVersionError) -> "PreconditionFailedError":
        return cls(**error.details)


class EventIdReusedError(ConflictError):
    code = "event_id_reused"
    title = "Event id reused for different content"


class UnavailableError(ChronicleError):
    code = "unavailable"
    title = "Service unavailable"
    status = 503


def error_body(error: ChronicleError) -> dict[str, Any]:
    """The transport-neutral shape of an error: code, message, details."""
    return {"code": error.code, "message": error.detail, "details": error.details}
