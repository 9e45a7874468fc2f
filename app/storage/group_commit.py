"""Group commit: concurrent appends share one statement, one lock hold and one commit."""

import asyncio
from dataclasses import dataclass, field

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

from app.domain.events import AppendResult, NewEvent
from app.domain.expected_version import ExpectedVersion
from app.errors import ChronicleError, UnavailableError, WrongExpectedVersionError
from app.storage.appender import append_locked, take_append_lock
from app.storage.batch_append import BatchAppend, Outcome, append_batch

log = structlog.get_logger(__name__)

BATCH_SIZE = Histogram(
    "chronicle_append_batch_size",
    "Appends committed together in one transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
FALLBACKS = Counter(
    "chronicle_append_batch_retries",
    "Batches whose one statement the database refused, redone a savepoint per append",
)

# A batch stops growing at this many events (but always takes one append whole).
MAX_BATCH_EVENTS = 10_000


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

    Positions must be drawn in commit order, so a batch holds the append lock until it
    commits; the cost of the commit is shared by the batch. A batch is first one statement
    (storage/batch_append.py) that checks and writes every append to an existing stream in
    queue order, each with its own outcome: appends to the same stream in one batch are
    checked one after the other, so a hot stream's appends are batched, not collided. What
    that statement leaves (new or deleted streams, possible idempotent repeats) then runs in
    one transaction with a savepoint per append, in queue order. Either way an append that
    fails (wrong expected version, a reused id) fails alone and its caller gets its error;
    the others commit. If the database refuses the statement (a reused id, a refused value)
    it wrote nothing, and the whole batch is redone on the savepoint path.
    The queue is bounded, so producers wait rather than grow memory without limit.

    ``ordered=False`` drops the append lock from the one-statement path. Positions may then
    become visible out of order: it exists only for the benchmark that prices the lock and
    nothing in the service sets it.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        max_batch: int = 256,
        max_pending: int = 4096,
        *,
        ordered: bool = True,
    ):
        self._pool = pool
        self._max_batch = max_batch
        self._ordered = ordered
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
            first = await self._queue.get()
            batch = [first]
            size = len(first.events)
            while (
                len(batch) < self._max_batch and size < MAX_BATCH_EVENTS and not self._queue.empty()
            ):
                pending = self._queue.get_nowait()
                batch.append(pending)
                size += len(pending.events)
            try:
                await self._flush(batch)
            except asyncio.CancelledError:
                _fail(batch, UnavailableError("the server is shutting down"))
                raise

    async def _flush(self, batch: list[_Pending]) -> None:
        BATCH_SIZE.observe(len(batch))
        try:
            async with self._pool.acquire() as conn:
                rest = await self._one_statement(conn, batch)
                if rest:
                    outcomes = await _savepoint_per_append(conn, rest)
                    for pending, outcome in zip(rest, outcomes, strict=True):
                        _settle(pending, outcome)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            # The commit did not happen: what was not settled yet is not written.
            log.warning("group_commit_failed", size=len(batch), error=repr(error))
            _fail(batch, error)

    async def _one_statement(
        self, conn: asyncpg.Connection, batch: list[_Pending]
    ) -> list[_Pending]:
        """Commit what the one statement can decide and settle those callers at once;
        return the appends left for the savepoint path, in queue order."""
        appends = [
            BatchAppend(p.chronicle, p.stream, p.events, p.expected, p.check_duplicates)
            for p in batch
        ]
        try:
            outcomes = await append_batch(conn, appends, ordered=self._ordered)
        except asyncpg.PostgresError as error:
            # Nothing was written: redo every append alone, so only the offender fails.
            FALLBACKS.inc()
            log.info("group_commit_retry", size=len(batch), error=repr(error))
            return batch
        rest: list[_Pending] = []
        for pending, outcome in zip(batch, outcomes, strict=True):
            if outcome.outcome is Outcome.WRITTEN:
                assert outcome.result is not None
                _settle(pending, outcome.result)
            elif outcome.outcome is Outcome.WRONG_VERSION:
                shown = pending.expected
                _settle(
                    pending,
                    WrongExpectedVersionError(
                        pending.chronicle,
                        pending.stream,
                        shown if isinstance(shown, int) else shown.value,
                        outcome.actual,
                    ),
                )
            else:
                rest.append(pending)
        return rest


async def _savepoint_per_append(
    conn: asyncpg.Connection, batch: list[_Pending]
) -> list[AppendResult | BaseException]:
    """Run and commit ``batch`` in one transaction, a savepoint per append; each append's
    result or error."""
    outcomes: list[AppendResult | BaseException] = []
    async with conn.transaction():
        await take_append_lock(conn)
        for pending in batch:
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


def _settle(pending: _Pending, outcome: AppendResult | BaseException) -> None:
    if pending.done.done():  # the caller went away; what it wrote is committed
        return
    if isinstance(outcome, BaseException):
        pending.done.set_exception(outcome)
    else:
        pending.done.set_result(outcome)


def _fail(batch: list[_Pending], error: BaseException) -> None:
    for pending in batch:
        if not pending.done.done():
            pending.done.set_exception(error)
