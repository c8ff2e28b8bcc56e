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


def jsonl_line(result: Result, entry: Entry) -> str:
    """The public ``audit --format jsonl`` line: ``check --json``'s fields + source and line."""
    return (f"{result[0][:-1]}, \"source\": {json.dumps(entry.source, ensure_ascii=False)}, "
            f"\"line\": {entry.line}}}\n")


def _tune_gc() -> None:
    # The classifier makes ~10 cyclic objects per command: collect rarely (bounded memory,
    # about 10-15% faster than the default thresholds).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


_ENGINE: DryRun | None = None


def _work(batch: list[tuple[str, str | None]]) -> list[Result]:
    assert _ENGINE is not None
    return _ENGINE.classify_batch(batch)


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
    """Batches to a pool of forked workers, at most a few per worker in flight (the input is
    read as results are written, so memory stays flat on any input size).  Commands already
    classified are answered here, not sent again."""
    import multiprocessing
    from collections import deque

    global _ENGINE
    _ENGINE = engine  # inherited by the forked workers with the loaded rules
    cache = engine._cache
    pool = multiprocessing.get_context("fork").Pool(jobs)
    inflight: deque[tuple[list[Entry], list[Result | None], multiprocessing.pool.AsyncResult[list[Result]] | None]]
    inflight = deque()

    def finish() -> Iterator[tuple[Entry, Result]]:
        batch, known, pending = inflight.popleft()
        fresh = iter(pending.get() if pending is not None else ())
        for entry, result in zip(batch, known):
            if result is None:
                result = next(fresh)
                if len(cache) >= CACHE_MAX:
                    cache.clear()
                cache[(entry.command, entry.cwd or engine.cwd)] = result
            yield entry, result

    try:
        for batch in _batches(entries):
            known = [cache.get((e.command, e.cwd or engine.cwd)) for e in batch]
            todo = [(e.command, e.cwd) for e, r in zip(batch, known) if r is None]
            inflight.append((batch, known, pool.apply_async(_work, (todo,)) if todo else None))
            if len(inflight) >= 3 * jobs:
                yield from finish()
        while inflight:
            yield from finish()
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        _ENGINE = None
