"""Group commit: concurrent appends share one statement, one lock hold and one commit."""

import asyncio
from collections import deque
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
# Seconds stop() lets the batches in flight finish before cancelling them.
STOP_GRACE = 5.0


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
    """Queues appends and lets two flushers commit whatever has gathered, together.

    Positions must be drawn in commit order, so a batch holds the append lock until it
    commits; the cost of the commit is shared by the batch. A second flusher keeps the next
    batch waiting on the lock inside PostgreSQL while one commits, instead of a round trip
    behind it; a stream is in at most one batch in flight, so its appends keep their order.
    A batch is first one statement (storage/batch_append.py) that checks and writes every
    append to an existing stream in queue order, each with its own outcome: appends to the
    same stream in one batch are checked one after the other, so a hot stream's appends are
    batched, not collided. What that statement leaves (new or deleted streams, possible
    idempotent repeats) then runs in one transaction with a savepoint per append, in queue
    order. Either way an append that fails (wrong expected version, a reused id) fails alone
    and its caller gets its error; the others commit. If the database refuses the statement
    (a reused id, a refused value) it wrote nothing, and the whole batch is redone on the
    savepoint path.
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
        flushers: int = 2,
        ordered: bool = True,
    ):
        self._pool = pool
        self._max_batch = max_batch
        # At most half the pool, so that readers always find connections.
        self._flusher_count = max(1, min(flushers, pool.get_max_size() // 2))
        self._ordered = ordered
        self._pending: deque[_Pending] = deque()
        self._space = asyncio.Semaphore(max_pending)
        self._changed = asyncio.Event()
        # Streams with an append in a batch in flight: their next appends wait for it.
        self._busy: set[tuple[str, str]] = set()
        self._flushers: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._flushers = [
            asyncio.create_task(self._run(), name=f"chronicle-group-commit-{n}")
            for n in range(self._flusher_count)
        ]

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop: fail whatever is still queued (callers see 503, nothing of theirs is
        written), let the batches in flight commit and answer for up to ``grace`` seconds,
        then cancel what is left."""
        self._stopping = True
        _fail(list(self._pending), UnavailableError("the server is shutting down"))
        self._pending.clear()
        self._changed.set()
        if self._flushers:
            _, unfinished = await asyncio.wait(self._flushers, timeout=grace)
            for flusher in unfinished:
                flusher.cancel()
            await asyncio.gather(*self._flushers, return_exceptions=True)
        self._flushers = []

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
        if self._stopping or not self._flushers or any(f.done() for f in self._flushers):
            raise UnavailableError("the appender is not running")
        await self._space.acquire()  # released when a flusher takes it
        pending = _Pending(chronicle, stream, events, expected, check_duplicates)
        self._pending.append(pending)
        self._changed.set()
        return await pending.done

    def _take(self) -> list[_Pending]:
        """The next batch, in queue order, of appends whose streams no batch in flight has.

        An append to a busy stream stays queued, and so do the later ones to that stream:
        one stream's appends commit in the order they were queued, whichever flusher takes
        them, and never in two batches at once (so a batch's checks see every earlier one).
        """
        batch: list[_Pending] = []
        kept: deque[_Pending] = deque()
        taken: set[tuple[str, str]] = set()
        size = 0
        while self._pending:
            pending = self._pending.popleft()
            key = (pending.chronicle, pending.stream)
            full = len(batch) >= self._max_batch or size >= MAX_BATCH_EVENTS
            if full or (key in self._busy and key not in taken):
                kept.append(pending)
                if full:
                    kept.extend(self._pending)
                    self._pending.clear()
                continue
            batch.append(pending)
            taken.add(key)
            size += len(pending.events)
            self._space.release()
        self._pending = kept
        self._busy |= taken
        return batch

    async def _run(self) -> None:
        # Each flusher keeps one connection while there is work: a pool round trip per
        # batch (and asyncpg's reset on release) cost as much as the statement under load.
        conn: asyncpg.Connection | None = None
        try:
            while True:
                batch = self._take()
                if not batch:
                    if conn is not None:  # idle: give it back for readers
                        await self._pool.release(conn)
                        conn = None
                        continue  # appends may have come while it was released
                    if self._stopping:
                        return
                    self._changed.clear()
                    await self._changed.wait()
                    continue
                try:
                    if conn is None:
                        conn = await self._pool.acquire()
                    await self._flush(conn, batch)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    # The commit did not happen: what was not settled yet is not written.
                    log.warning("group_commit_failed", size=len(batch), error=repr(error))
                    _fail(batch, error)
                    if conn is not None:
                        await self._pool.release(conn)  # the pool drops it if it is broken
                        conn = None
                except asyncio.CancelledError:
                    _fail(batch, UnavailableError("the server is shutting down"))
                    raise
                finally:
                    self._busy -= {(p.chronicle, p.stream) for p in batch}
                    self._changed.set()
        finally:
            if conn is not None:
                await self._pool.release(conn)

    async def _flush(self, conn: asyncpg.Connection, batch: list[_Pending]) -> None:
        BATCH_SIZE.observe(len(batch))
        rest = await self._one_statement(conn, batch)
        if rest:
            outcomes = await _savepoint_per_append(conn, rest)
            for pending, outcome in zip(rest, outcomes, strict=True):
                _settle(pending, outcome)

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
