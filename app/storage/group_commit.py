"""Group commit: concurrent appends share one transaction, one lock hold and one commit."""

import asyncio
from dataclasses import dataclass, field

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

from app.domain.events import AppendResult, NewEvent
from app.domain.expected_version import ExpectedVersion
from app.errors import ChronicleError, UnavailableError, WrongExpectedVersionError
from app.storage.appender import append_existing, append_locked, take_append_lock

log = structlog.get_logger(__name__)

BATCH_SIZE = Histogram(
    "chronicle_append_batch_size",
    "Appends committed together in one transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
FALLBACKS = Counter(
    "chronicle_append_batch_retries",
    "Batches rolled back and redone a savepoint per append after a database error",
)


@dataclass(slots=True)
class _Pending:
    chronicle: str
    stream: str
    events: list[NewEvent]
    expected: ExpectedVersion
    check_duplicates: bool
    done: asyncio.Future[AppendResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommitter:
    """Queues appends and lets one flusher commit whatever has gathered, together.

    Positions must be drawn in commit order, so appends hold one lock until commit and
    commit one transaction at a time; the cost of a commit is shared by the batch.
    An append to an existing stream with server-made ids is one statement that writes
    nothing when its expected version fails; any other append runs in its own savepoint.
    Either way one that fails (wrong expected version, a reused id) is undone alone and its
    caller gets its error; the others commit. A database error in a one-statement append
    aborts the transaction, so the batch is redone with a savepoint for every append.
    The queue is bounded, so producers wait rather than grow memory without limit.
    """

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 256, max_pending: int = 4096):
        self._pool = pool
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=max_pending)
        self._flusher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._run(), name="chronicle-group-commit")

    async def stop(self) -> None:
        """Stop after failing whatever is still queued (callers see 503, nothing is lost)."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.done.done():
                pending.done.set_exception(UnavailableError("the server is shutting down"))

    async def append(
        self,
        chronicle: str,
        stream: str,
        events: list[NewEvent],
        expected: ExpectedVersion,
        *,
        check_duplicates: bool = True,
    ) -> AppendResult:
        """Same contract as storage.appender.append, committed with whatever else is queued."""
        if self._flusher is None or self._flusher.done():
            raise UnavailableError("the appender is not running")
        pending = _Pending(chronicle, stream, events, expected, check_duplicates)
        await self._queue.put(pending)
        return await pending.done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._flush(batch)
            except asyncio.CancelledError:
                _fail(batch, UnavailableError("the server is shutting down"))
                raise

    async def _flush(self, batch: list[_Pending]) -> None:
        try:
            async with self._pool.acquire() as conn:
                try:
                    outcomes = await self._commit(conn, batch, fast=True)
                except _FastPathAborted as aborted:
                    # A one-statement append hit a database error, which aborted the whole
                    # transaction (rolled back now): do the batch again, a savepoint per
                    # append, so that only the offending append fails.
                    FALLBACKS.inc()
                    log.info("group_commit_retry", size=len(batch), error=repr(aborted.error))
                    outcomes = await self._commit(conn, batch, fast=False)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            # The commit did not happen: none of the batch is written.
            log.warning("group_commit_failed", size=len(batch), error=repr(error))
            _fail(batch, error)
            return
        BATCH_SIZE.observe(len(batch))
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.done.done():  # the caller went away; its events are committed
                continue
            if isinstance(outcome, BaseException):
                pending.done.set_exception(outcome)
            else:
                pending.done.set_result(outcome)

    async def _commit(
        self, conn: asyncpg.Connection, batch: list[_Pending], *, fast: bool
    ) -> list[AppendResult | BaseException]:
        """Run and commit ``batch`` in one transaction; each append's result or error.

        With ``fast``, appends to existing streams with server-made ids take one statement
        and no savepoint; raises _FastPathAborted (after rolling back) if one of those
        statements fails in the database, since that aborts the transaction.
        """
        outcomes: list[AppendResult | BaseException] = []
        async with conn.transaction():
            await take_append_lock(conn)
            for pending in batch:
                if fast and not pending.check_duplicates and pending.events:
                    try:
                        result = await append_existing(
                            conn,
                            pending.chronicle,
                            pending.stream,
                            pending.events,
                            pending.expected,
                        )
                    except WrongExpectedVersionError as error:
                        outcomes.append(error)
                        continue
                    except asyncpg.PostgresError as error:
                        raise _FastPathAborted(error) from error
                    if result is not None:
                        outcomes.append(result)
                        continue
                    # No such stream: create it (or fail) on the savepoint path.
                try:
                    async with conn.transaction():  # a savepoint per append
                        outcomes.append(
                            await append_locked(
                                conn,
                                pending.chronicle,
                                pending.stream,
                                pending.events,
                                pending.expected,
                                pending.check_duplicates,
                            )
                        )
                except (ChronicleError, asyncpg.PostgresError) as error:
                    outcomes.append(error)
        return outcomes


class _FastPathAborted(Exception):
    def __init__(self, error: asyncpg.PostgresError) -> None:
        super().__init__(repr(error))
        self.error = error


def _fail(batch: list[_Pending], error: BaseException) -> None:
    for pending in batch:
        if not pending.done.done():
            pending.done.set_exception(error)
