"""A background writer: rows are written in order, beside whatever else the program does.

Nothing that shows a conversation may wait on the disk. The writer takes write
requests without awaiting them (``conversation``, ``message``, ``stream``,
``finish``), runs them in order in one background task, and never raises into
the caller. A request returns a ``RowRef`` at once; its ``id`` is set when the
row exists, so later requests can name it as their parent before it is written.

A streaming answer is a ``SnapshotSource`` (the engine's accumulator): the
writer inserts its row as ``streaming``, then writes its latest snapshot at
most once per ``flush_interval`` (longer when a write is slow: the interval is
at least four times the last write's duration) and the final one when
``finish`` is called. Snapshots replace each other, so a writer that falls
behind writes the newest and skips the rest.

Failures never lose what was already stored:

* a locked database or a full disk is transient: the writer reports it once
  (``on_problem``), keeps every pending request, retries with backoff and
  reports ``on_recovered`` when a write succeeds again;
* any other storage failure (read-only file, damaged database) is permanent:
  it is reported once and the writer stops writing, dropping what is pending;
* a row whose conversation or parent vanished (deleted from another window)
  is dropped alone.

``wait(ref)`` and ``drain()`` let a caller that must know (a headless run
before it sends the prompt, or at exit) wait for the disk.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ikigai.storage.errors import (
    DatabaseBusyError,
    DiskFullError,
    NotFoundError,
    StorageError,
)
from ikigai.storage.models import MessageKind, MessageStatus

if TYPE_CHECKING:  # the snapshot types are needed without a database (``--no-store``)
    from ikigai.storage.repository import Database

FLUSH_INTERVAL = 0.25
"""Seconds between two writes of a streaming row."""

LOCK_WAIT_MS = 250
"""How long one write waits for another process's lock before it counts as failed.

Patience lives in the writer's retries, not in SQLite's busy wait: a write
blocked inside SQLite would hold every request queued behind it, so each
attempt gives up soon, the failure is reported, and the writer tries again."""

RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Seconds to wait before retrying after a transient failure (the last repeats)."""


class RowRef:
    """A row the writer was asked to create: ``id`` once it exists, ``dropped`` if never."""

    __slots__ = ("_settled", "dropped", "id")

    def __init__(self, row_id: int | None = None) -> None:
        self.id = row_id
        self.dropped = False
        self._settled: asyncio.Event | None = None

    @property
    def settled(self) -> bool:
        """Whether the row was written or given up on."""
        return self.id is not None or self.dropped

    def _event(self) -> asyncio.Event:
        if self._settled is None:
            self._settled = asyncio.Event()
            if self.settled:
                self._settled.set()
        return self._settled

    def _settle(self, row_id: int | None) -> None:
        if row_id is None:
            self.dropped = True
        else:
            self.id = row_id
        if self._settled is not None:
            self._settled.set()

    def __repr__(self) -> str:
        return f"RowRef(id={self.id}, dropped={self.dropped})"


@dataclass(frozen=True, slots=True)
class ToolCallRow:
    """A completed tool call of a streaming answer, stored as its own ``tool_call`` row."""

    arguments: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a streaming row holds at one moment."""

    content: str
    data: Mapping[str, Any]
    status: MessageStatus
    tool_calls: Sequence[ToolCallRow] = ()


class SnapshotSource(Protocol):
    """Something that streams into one row: ``version`` changes whenever it does."""

    @property
    def version(self) -> int: ...

    def snapshot(self) -> Snapshot: ...


Target = RowRef | int | None


def _target_id(target: Target) -> int | None:
    """The row id of ``target``; raises ``_Unresolved`` when its row was never written."""
    if target is None or isinstance(target, int):
        return target
    if target.id is None:
        raise _Unresolved
    return target.id


def _required(target: Target) -> int:
    row_id = _target_id(target)
    if row_id is None:
        raise _Unresolved
    return row_id


class _Unresolved(Exception):
    """A request names a row that was never written (so it cannot be written either)."""


@dataclass(slots=True)
class _Stream:
    ref: RowRef
    source: SnapshotSource
    conversation_id: int = 0
    written_version: int = -1
    written_calls: int = 0
    next_write: float = 0.0
    interval: float = FLUSH_INTERVAL
    final: bool = False

    @property
    def dirty(self) -> bool:
        return self.written_version != self.source.version


@dataclass(slots=True)
class _Request:
    """One queued write; ``run`` settles ``ref`` itself (and returns nothing)."""

    ref: RowRef
    run: Callable[[], Awaitable[None]]
    stream: _Stream | None = None
    creates_row: bool = True
    tried_impatiently: bool = False


@dataclass(slots=True)
class WriterState:
    """What the writer has met so far, for a status line or an exit status."""

    problem: StorageError | None = None
    """The failure being retried now (``None`` while writes succeed)."""
    failed: bool = False
    """A permanent failure stopped the writer."""
    dropped_rows: int = 0
    """Rows given up on (never written)."""
    problems: list[str] = field(default_factory=list)
    """Every failure reported, in order."""


class StorageWriter:
    """Writes conversation rows in order in a background task; never blocks its callers."""

    def __init__(
        self,
        db: Database,
        *,
        on_problem: Callable[[StorageError], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
        flush_interval: float = FLUSH_INTERVAL,
        lock_wait_ms: int = LOCK_WAIT_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self._lock_wait_ms = lock_wait_ms
        self.state = WriterState()
        self._on_problem = on_problem
        self._on_recovered = on_recovered
        self._interval = flush_interval
        self._clock = clock
        self._queue: collections.deque[_Request] = collections.deque()
        self._live: list[_Stream] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._trouble = asyncio.Event()
        self._impatient = 0
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    # -- requests (never awaited) -----------------------------------------------------------

    def conversation(
        self, title: str | None = None, data: Mapping[str, Any] | None = None
    ) -> RowRef:
        """Create a conversation; the ref's ``id`` becomes the conversation id."""
        ref = RowRef()

        async def run() -> None:
            ref._settle(await self.db.create_conversation(title, data))

        self._enqueue(_Request(ref, run))
        return ref

    def message(
        self,
        conversation: Target,
        kind: MessageKind,
        content: str = "",
        *,
        data: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        status: MessageStatus = "complete",
        parent: Target = None,
    ) -> RowRef:
        """Store a finished message (a prompt, a tool result, a mark...).

        ``data`` may be a function, called when the row is written: a row that
        names another row's id (a rewind names its mark) gets it once it exists.
        """
        ref = RowRef()

        async def run() -> None:
            ref._settle(
                await self.db.add_message(
                    _required(conversation),
                    kind,
                    content,
                    data=data() if callable(data) else data,
                    status=status,
                    parent_id=_target_id(parent),
                )
            )

        self._enqueue(_Request(ref, run))
        return ref

    def update(
        self,
        target: RowRef,
        *,
        content: str | None = None,
        data: Mapping[str, Any] | None = None,
        status: MessageStatus | None = None,
    ) -> None:
        """Change a stored row, in order with the other requests."""

        async def run() -> None:
            await self.db.update_message(
                _required(target), content=content, data=data, status=status
            )

        self._enqueue(_Request(RowRef(), run, creates_row=False))

    def set_leaf(self, conversation: Target, leaf: Target) -> None:
        """Remember ``leaf`` as where the user is in ``conversation`` (a switch of branch),
        in order with the other requests."""

        async def run() -> None:
            await self.db.set_leaf(_required(conversation), _required(leaf))

        self._enqueue(_Request(RowRef(), run, creates_row=False))

    def stream(
        self, conversation: Target, source: SnapshotSource, *, parent: Target = None
    ) -> RowRef:
        """Store ``source`` as a ``streaming`` row now and keep it up to date until ``finish``."""
        ref = RowRef()
        stream = _Stream(ref, source, interval=self._interval)

        async def run() -> None:
            version = source.version
            snapshot = source.snapshot()
            conversation_id = _required(conversation)
            async with self.db.transaction():
                row_id = await self.db.add_message(
                    conversation_id,
                    "assistant",
                    snapshot.content,
                    data=snapshot.data,
                    status="streaming",
                    parent_id=_target_id(parent),
                )
                written_calls = await self._tool_calls(conversation_id, row_id, snapshot, 0)
            # Only once the transaction committed: a failed commit wrote none of it.
            stream.written_calls = written_calls
            stream.conversation_id = conversation_id
            stream.written_version = version
            stream.next_write = self._clock() + stream.interval
            self._live.append(stream)
            ref._settle(row_id)

        self._enqueue(_Request(ref, run, stream=stream))
        return ref

    def finish(self, ref: RowRef) -> None:
        """Write ``ref``'s final snapshot (its source has ended), in order with other requests."""
        stream = next((s for s in self._streams() if s.ref is ref and not s.final), None)
        if stream is None:
            return
        stream.final = True

        async def run() -> None:
            if stream in self._live:
                await self._write_snapshot(stream)
                self._live.remove(stream)

        self._enqueue(_Request(RowRef(), run, creates_row=False))

    def _streams(self) -> list[_Stream]:
        return [*self._live, *(r.stream for r in self._queue if r.stream is not None)]

    def _enqueue(self, request: _Request) -> None:
        if self.state.failed:
            self._drop(request)
            return
        self._queue.append(request)
        self._start()
        self._idle.clear()
        self._wake.set()

    # -- waiting ------------------------------------------------------------------------------

    async def wait(
        self,
        ref: RowRef,
        *,
        stop_on_problem: bool = False,
        impatient: bool = False,
        patient_with_locks: bool = False,
    ) -> bool:
        """Wait until ``ref`` is written (True) or given up on (False).

        With ``stop_on_problem`` the wait also ends (False) as soon as a write
        fails, even one the writer will retry; ``patient_with_locks`` keeps
        waiting through another process's lock (any other problem, a full disk
        say, still ends it). ``impatient`` makes the writes queued up to ``ref``
        not wait for a lock at all on their first try (the writer retries them
        later): a caller that must not be held up learns in milliseconds that
        the database is locked. Bound the wait with ``asyncio.timeout`` when the
        caller cannot wait for the disk.
        """
        if ref.settled:
            return ref.id is not None
        if impatient:
            self._impatient += 1
            self._wake.set()
        try:
            while not ref.settled:
                if not stop_on_problem:
                    await ref._event().wait()
                    break
                await self._wait_or_trouble(ref)
                problem = self.state.problem
                if ref.settled or not (
                    patient_with_locks and isinstance(problem, DatabaseBusyError)
                ):
                    break
                # Locked: the writer keeps trying; look again shortly.
                await asyncio.sleep(0.1)
            return ref.id is not None
        finally:
            if impatient:
                self._impatient -= 1

    async def _wait_or_trouble(self, ref: RowRef) -> bool:
        waits = [
            asyncio.ensure_future(ref._event().wait()),
            asyncio.ensure_future(self._trouble.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return ref.id is not None

    async def drain(self) -> bool:
        """Wait until every request so far is written and no stream has unwritten changes.

        Returns False when something was given up on. Bound it with ``asyncio.timeout``.
        """
        while self._busy():
            self._start()
            self._idle.clear()
            self._wake.set()
            await self._idle.wait()
        return self.state.dropped_rows == 0

    @property
    def pending(self) -> int:
        """Requests not written yet."""
        return len(self._queue)

    async def close(self, grace: float | None = None) -> bool:
        """Finish every stream, write what is pending for at most ``grace`` seconds, then stop.

        Returns True when everything was saved; what could not be written is dropped.
        """
        self._closing = True
        for stream in list(self._live):
            self.finish(stream.ref)
        try:
            async with asyncio.timeout(grace):
                saved = await self.drain()
        except TimeoutError:
            saved = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._queue:
            self._drop(self._queue.popleft())
        return saved and self.state.dropped_rows == 0

    # -- the background task ------------------------------------------------------------------

    def _busy(self) -> bool:
        return bool(self._queue) or any(s.dirty for s in self._live)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="storage-writer")

    async def _run(self) -> None:
        failures = 0
        while True:
            if not self._busy():
                self._idle.set()
                # Live streams change without telling the writer: look again soon.
                await self._pause(self._interval if self._live else None)
                continue
            self._idle.clear()
            try:
                did_work = await self._step()
            except (DatabaseBusyError, DiskFullError) as exc:
                failures += 1
                self._report(exc)
                await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1])
                continue
            except StorageError as exc:
                self._fail(exc)
                continue
            except Exception as exc:  # a bug must not pass silently or stop the conversation
                self._fail(
                    StorageError(f"storage failed unexpectedly: {type(exc).__name__}: {exc}")
                )
                continue
            if failures:
                failures = 0
                self._recovered()
            if not did_work:
                await self._pause(self._until_due())

    async def _pause(self, delay: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    def _until_due(self) -> float:
        due = [s.next_write for s in self._live if s.dirty]
        return max(0.0, min(due) - self._clock()) if due else self._interval

    async def _step(self) -> bool:
        """Run the next request, or write the streams that are due; False if nothing was due."""
        if self._queue:
            request = self._queue[0]
            wait_ms = self._lock_wait_ms
            if self._impatient and not request.tried_impatiently:
                request.tried_impatiently = True
                wait_ms = 0
            try:
                async with self.db.waiting_for_locks(wait_ms):
                    await request.run()
            except (_Unresolved, NotFoundError) as exc:
                if isinstance(exc, NotFoundError):
                    self._tell(exc)
                self._drop(request)
            self._queue.popleft()
            return True
        now = self._clock()
        due = [s for s in self._live if s.dirty and (self._closing or s.next_write <= now)]
        for stream in due:
            try:
                async with self.db.waiting_for_locks(self._lock_wait_ms):
                    await self._write_snapshot(stream)
            except NotFoundError as exc:  # deleted elsewhere: stop following it
                self._tell(exc)
                self._live.remove(stream)
        return bool(due)

    async def _write_snapshot(self, stream: _Stream) -> None:
        row_id = stream.ref.id
        if row_id is None:
            return
        version = stream.source.version
        snapshot = stream.source.snapshot()
        started = self._clock()
        async with self.db.transaction():
            await self.db.update_stream(
                row_id,
                stream.conversation_id,
                content=snapshot.content,
                data=snapshot.data,
                status=snapshot.status if stream.final else "streaming",
            )
            written_calls = await self._tool_calls(
                stream.conversation_id, row_id, snapshot, stream.written_calls
            )
        # Only once the transaction committed: a failed commit wrote none of it.
        stream.written_calls = written_calls
        stream.written_version = version
        # A slow disk (or a huge answer) is written less often, never more than a quarter
        # of the time.
        stream.interval = max(self._interval, 4 * (self._clock() - started))
        stream.next_write = self._clock() + stream.interval

    async def _tool_calls(
        self, conversation: int, answer_id: int, snapshot: Snapshot, written: int
    ) -> int:
        for call in snapshot.tool_calls[written:]:
            await self.db.add_message(
                conversation, "tool_call", call.arguments, data=call.data, parent_id=answer_id
            )
        return max(written, len(snapshot.tool_calls))

    # -- failures -----------------------------------------------------------------------------

    def _report(self, exc: StorageError) -> None:
        """Tell the user once per episode (a new kind of failure is a new episode)."""
        previous = self.state.problem
        self.state.problem = exc
        self._trouble.set()
        if previous is None or type(previous) is not type(exc):
            self.state.problems.append(str(exc))
            if self._on_problem is not None:
                self._on_problem(exc)

    def _tell(self, exc: StorageError) -> None:
        """Report a failure that concerns one row only (it is dropped; writing goes on)."""
        self.state.problems.append(str(exc))
        if self._on_problem is not None:
            self._on_problem(exc)

    def _recovered(self) -> None:
        if self.state.problem is not None and not self.state.failed:
            self.state.problem = None
            self._trouble.clear()
            if self._on_recovered is not None:
                self._on_recovered()

    def _fail(self, exc: StorageError) -> None:
        self.state.failed = True
        self.state.problem = None
        self._report(exc)
        while self._queue:
            self._drop(self._queue.popleft())
        self._live.clear()

    def _drop(self, request: _Request) -> None:
        if not request.ref.settled:
            request.ref._settle(None)
            if request.creates_row:
                self.state.dropped_rows += 1
        if request.stream is not None and request.stream in self._live:
            self._live.remove(request.stream)
