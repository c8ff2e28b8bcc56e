"""Classify many commands offline, fast: the engine behind ``guardsh audit``.

Each command gets exactly the verdict ``guardsh check --json --cwd CWD`` gives it (the same
classifier, config and rules); what is added is throughput:

- identical (command, cwd) pairs are classified once (histories repeat ``ls`` and
  ``git status`` thousands of times);
- large inputs are split into batches classified by worker processes forked after the rules
  are loaded (one per core), with results kept in input order;
- the cyclic garbage collector runs rarely (classification allocates many small objects
  and few cycles; see ``_tune_gc``).

A result is a plain tuple, cheap to send between processes:
``(json, decision, risk, rule_ids, programs, parse)`` where ``json`` is the ``check --json``
object as text.
"""
from __future__ import annotations

import gc
import json
import os
from collections import deque

from guardsh.audit.inputs import Entry, Skipped
from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.ruleset import RuleSet

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterable, Iterator

    Result = tuple[str, int, int, tuple[str, ...], tuple[str, ...], str]

BATCH = 128  # commands per task sent to a worker
PARALLEL_MIN = 1500  # fewer commands than this: forking workers costs more than it saves
CACHE_MAX = 100_000


class DryRun:
    """A classifier with per-cwd contexts and a cache of results."""

    def __init__(self, rules: RuleSet, config: Config | None = None, cwd: str | None = None) -> None:
        self.config = config or Config()
        self.classifier = Classifier(rules, self.config)
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self._contexts: dict[str, Context] = {}
        self._cache: dict[tuple[str, str], Result] = {}

    def context(self, cwd: str | None) -> Context:
        key = cwd or self.cwd
        ctx = self._contexts.get(key)
        if ctx is None:
            if len(self._contexts) > 1000:
                self._contexts.clear()
            ctx = self._contexts[key] = Context(key, self.config)
        return ctx

    def classify(self, command: str, cwd: str | None = None) -> Result:
        key = (command, cwd or self.cwd)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        verdict = self.classifier.classify(command, self.context(cwd))
        result: Result = (
            json.dumps(verdict.to_json(), ensure_ascii=False),
            int(verdict.decision),
            int(verdict.risk),
            tuple(dict.fromkeys(m.rule for m in verdict.matches)),
            tuple(dict.fromkeys(c.program for c in verdict.commands if c.program)),
            verdict.parse,
        )
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[key] = result
        return result

    def classify_batch(self, batch: list[tuple[str, str | None]]) -> list[Result]:
        return [self.classify(command, cwd) for command, cwd in batch]


_SOURCES: dict[str, str] = {}  # an input's name -> its JSON string (one per input, not per line)


def jsonl_line(result: Result, entry: Entry) -> str:
    """The public ``audit --format jsonl`` line: ``check --json``'s fields + source and line."""
    source = _SOURCES.get(entry.source)
    if source is None:
        if len(_SOURCES) >= 1000:
            _SOURCES.clear()
        source = _SOURCES[entry.source] = json.dumps(entry.source, ensure_ascii=False)
    return f"{result[0][:-1]}, \"source\": {source}, \"line\": {entry.line}}}\n"


def _tune_gc() -> None:
    # The classifier makes ~10 cyclic objects per command: collect rarely (bounded memory,
    # about 10-15% faster than the default thresholds).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def run(
    engine: DryRun,
    items: Iterable[Entry | Skipped],
    jobs: int | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
) -> Iterator[tuple[Entry, Result]]:
    """(entry, result) for every entry, in input order; Skipped items go to ``on_skip``."""
    entries = _entries(items, on_skip)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    _tune_gc()
    head: list[Entry] = []
    for entry in entries:
        head.append(entry)
        if len(head) >= PARALLEL_MIN:
            break
    if jobs == 1 or len(head) < PARALLEL_MIN:
        for entry in _chain(head, entries):
            yield entry, engine.classify(entry.command, entry.cwd)
        return
    yield from _run_parallel(engine, _chain(head, entries), jobs)


def default_jobs() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _entries(items: Iterable[Entry | Skipped], on_skip: Callable[[Skipped], None] | None) -> Iterator[Entry]:
    for item in items:
        if isinstance(item, Entry):
            yield item
        elif on_skip is not None:
            on_skip(item)


def _chain(head: list[Entry], rest: Iterator[Entry]) -> Iterator[Entry]:
    yield from head
    yield from rest


def _batches(entries: Iterator[Entry]) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_parallel(engine: DryRun, entries: Iterator[Entry], jobs: int) -> Iterator[tuple[Entry, Result]]:
    """Batches to worker processes forked after the rules are loaded, at most a few per worker in
    flight (the input is read as results are written, so memory stays flat on any input size).
    Commands already classified are answered here, not sent again.

    Each worker reads batches from a pipe and writes their results (pickled, length-prefixed) to
    another, in the order it got them; this process gives each new batch to the worker with the
    fewest in flight and takes the results in input order.  Its writes never block (the task
    pipes are non-blocking on this side; what a pipe does not take yet waits in a buffer), so a
    worker blocked on writing a large result cannot deadlock with it.  (Not multiprocessing: its
    import, threads and queues cost more CPU than the whole split should.)"""
    cache = engine._cache
    workers: list[_Worker] = []
    finished = False
    try:
        for _ in range(jobs):
            workers.append(_Worker(engine, workers))
        pending: deque[tuple[list[Entry], list[Result | None], _Worker | None]] = deque()

        def finish() -> Iterator[tuple[Entry, Result]]:
            batch, known, worker = pending.popleft()
            fresh: Iterator[Result] = iter(())
            if worker is not None:
                while not worker.results:
                    _pump(workers, block=True)
                fresh = iter(worker.results.popleft())
                worker.inflight -= 1
            for entry, result in zip(batch, known):
                if result is None:
                    result = next(fresh)
                    if len(cache) >= CACHE_MAX:
                        cache.clear()
                    cache[(entry.command, entry.cwd or engine.cwd)] = result
                yield entry, result

        for batch in _batches(entries):
            known = [cache.get((e.command, e.cwd or engine.cwd)) for e in batch]
            todo = [(e.command, e.cwd) for e, r in zip(batch, known) if r is None]
            worker = None
            if todo:
                worker = min(workers, key=_inflight)
                worker.send(todo)
                _pump(workers, block=False)
            pending.append((batch, known, worker))
            if len(pending) >= 3 * jobs:
                yield from finish()
        while pending:
            yield from finish()
        finished = True
    finally:
        for worker in workers:
            worker.stop(kill=not finished)


def _inflight(worker: _Worker) -> int:
    return worker.inflight


_HEAD = 9  # a frame: its kind (0 results, 1 a worker's error), its length (8 bytes), then the pickle


class _Worker:
    """A forked worker process, and this side of its two pipes."""

    def __init__(self, engine: DryRun, others: list[_Worker]) -> None:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            status = 1
            try:
                os.close(task_w)
                os.close(result_r)
                for other in others:  # inherited ends of the workers forked before
                    os.close(other.task_fd)
                    os.close(other.result_fd)
                _serve(engine, task_r, result_w)
                status = 0
            finally:
                os._exit(status)  # no atexit handlers, no flush of this process's buffered output
        os.close(task_r)
        os.close(result_w)
        os.set_blocking(task_w, False)
        self.pid = pid
        self.task_fd = task_w
        self.result_fd = result_r
        self.inflight = 0  # batches sent whose results were not taken yet
        self.out = bytearray()  # frames the task pipe has not taken yet
        self.inbuf = bytearray()
        self.results: deque[list[Result]] = deque()  # received, not taken yet
        self.open = True

    def send(self, todo: list[tuple[str, str | None]]) -> None:
        import pickle  # (here and below: only a worker split needs pickle)

        data = pickle.dumps(todo, pickle.HIGHEST_PROTOCOL)
        self.out += b"\0" + len(data).to_bytes(8, "little") + data
        self.inflight += 1

    def awaited(self) -> int:
        return self.inflight - len(self.results)

    def write(self) -> None:
        try:
            n = os.write(self.task_fd, self.out[: 1 << 20])
        except BlockingIOError:
            return
        del self.out[:n]

    def read(self) -> None:
        chunk = os.read(self.result_fd, 1 << 20)
        if not chunk:
            raise RuntimeError(f"guardsh audit: worker process {self.pid} ended unexpectedly")
        buf = self.inbuf
        buf += chunk
        while len(buf) >= _HEAD:
            size = int.from_bytes(buf[1:_HEAD], "little")
            if len(buf) < _HEAD + size:
                break
            import pickle

            kind, value = buf[0], pickle.loads(buf[_HEAD : _HEAD + size])
            del buf[: _HEAD + size]
            if kind != 0:
                raise RuntimeError(f"guardsh audit: worker process {self.pid} failed: {value}")
            self.results.append(value)

    def stop(self, kill: bool) -> None:
        if not self.open:
            return
        self.open = False
        os.close(self.task_fd)  # (a worker that reads the end of its input exits)
        os.close(self.result_fd)
        if kill:
            import signal

            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _pump(workers: list[_Worker], block: bool) -> None:
    """Write what the task pipes take and read what the workers wrote; with ``block``, return
    only once something was read."""
    import select

    poller = select.poll()
    by_fd: dict[int, _Worker] = {}
    for w in workers:
        if w.awaited():
            poller.register(w.result_fd, select.POLLIN)
            by_fd[w.result_fd] = w
        if w.out:
            poller.register(w.task_fd, select.POLLOUT)
            by_fd[w.task_fd] = w
    if not by_fd:
        return
    while True:
        got = False
        for fd, _event in poller.poll(None if block else 0):
            w = by_fd[fd]
            if fd == w.task_fd:
                w.write()
                if not w.out:
                    poller.unregister(fd)
            else:
                w.read()
                got = True
        if got or not block:
            return


def _serve(engine: DryRun, task_fd: int, result_fd: int) -> None:
    """A worker's loop: a batch in, its results out, until its input ends."""
    import pickle

    tasks = os.fdopen(task_fd, "rb", buffering=1 << 16)
    while True:
        head = tasks.read(_HEAD)
        if len(head) < _HEAD:
            return
        batch = pickle.loads(tasks.read(int.from_bytes(head[1:], "little")))
        try:
            kind, value = 0, engine.classify_batch(batch)
        except Exception as e:  # noqa: BLE001 - reported by the parent, with the worker's pid
            kind, value = 1, f"{type(e).__name__}: {e}"
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        view = memoryview(bytes([kind]) + len(data).to_bytes(8, "little") + data)
        while view:
            view = view[os.write(result_fd, view):]
        if kind:
            return
