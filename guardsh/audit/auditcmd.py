"""``guardsh audit``: what would guardsh have done with every command in these logs?

    guardsh audit [--input-format F] [--format table|jsonl|csv|summary] [--fail-on LEVEL]
                  [--cwd DIR] [--jobs N] [--all] FILE...|-

Nothing is run.  Each command is classified exactly as ``guardsh check --json --cwd CWD``
would (CWD from the log when it records one, else ``--cwd``, else the current directory).

``--format jsonl`` (the default when stdout is not a terminal) is a public interface: one
object per command, in input order, with the fields of ``guardsh check --json`` followed by
``source`` (the file, ``-`` for stdin) and ``line`` (1-based, where the command starts).

Exit status: 0; 1 when ``--fail-on`` was reached; 3 when malformed lines were skipped (each
is reported on stderr with file and line); 2 when an input, the rules or the config could not
be read (2 wins over 1, 1 over 3).
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time

from guardsh.audit.dryrun import DryRun, jsonl_line, run
from guardsh.audit.inputs import FORMATS, Entry, InputError, Skipped, open_source, read_input
from guardsh.engine.config import ConfigError, load_config
from guardsh.engine.model import Decision, Risk
from guardsh.engine.rules import RuleError, load_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Callable, Iterator

    from guardsh.audit.dryrun import Result
    from guardsh.audit.inputs import Source

EXIT_FAIL_ON = 1
EXIT_ERROR = 2
EXIT_SKIPPED = 3
OUTPUTS = ("table", "jsonl", "csv", "summary")
MAX_SKIP_MESSAGES = 50
ALLOW_ROWS = 10  # distinct commands listed per allowed group in the table, unless --all
RISK_COLOURS = ("32", "36", "33", "1;31")  # read-only green, reversible cyan, destructive yellow, catastrophic red
TOP = 10


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="guardsh audit",
        description="Classify every command in shell histories, agent transcripts or command logs "
                    "without running anything: what would guardsh have done?",
        epilog="input formats: plain (one command per line), bash (~/.bash_history), zsh (~/.zsh_history), "
               "fish (fish_history), jsonl (objects with 'command' and optional 'cwd'), claude (Claude Code "
               "session transcripts), codex (Codex session rollouts), guardsh (guardsh's own audit log). "
               "--format jsonl prints one object per command, in input order: the fields of "
               "'guardsh check --json' plus 'source' and 'line'. "
               "exit status: 0; 1 when --fail-on was reached; 3 when malformed lines were skipped; "
               "2 when an input, the rules or the config could not be read.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="inputs to read ('-' for stdin)")
    p.add_argument("--input-format", "-i", default="auto", choices=("auto",) + FORMATS, metavar="F",
                   help=f"how to read the inputs: {', '.join(FORMATS)} (default: detected per file)")
    p.add_argument("--format", "-f", dest="output", choices=OUTPUTS, default=None, metavar="F",
                   help="output: table (default on a terminal), jsonl (default otherwise), csv, summary")
    p.add_argument("--fail-on", metavar="LEVEL", default=None,
                   help="exit 1 when any command reaches LEVEL: a decision (ask, deny) or a risk "
                        "(reversible, destructive, catastrophic)")
    p.add_argument("--cwd", default=None, metavar="DIR", help="classify commands with no recorded cwd as if run in DIR")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N", help="worker processes (default: one per core)")
    p.add_argument("--all", action="store_true", help="table: list every allowed command, not the first few")
    return p


def parse_level(text: str) -> tuple[str, int]:
    if text in Decision.LABELS:
        return "decision", Decision.LABELS.index(text)
    if text in Risk.LABELS:
        return "risk", Risk.LABELS.index(text)
    raise ValueError(f"--fail-on: unknown level {text!r} (use a decision: {', '.join(Decision.LABELS)}; "
                     f"or a risk: {', '.join(Risk.LABELS)})")


def main(args: list[str]) -> int:
    parser = build_parser()
    opts = parser.parse_args(args)
    fail_on = None
    if opts.fail_on:
        try:
            fail_on = parse_level(opts.fail_on)
        except ValueError as e:
            parser.error(str(e))
    if opts.files.count("-") > 1:
        parser.error("stdin ('-') can be read only once")
    if opts.cwd and not os.path.isabs(opts.cwd):
        opts.cwd = os.path.abspath(opts.cwd)
    try:
        config = load_config()
        rules = load_rules()
    except (RuleError, ConfigError) as e:
        sys.stderr.write(f"guardsh audit: {e}\n")
        return EXIT_ERROR
    output = opts.output or ("table" if sys.stdout.isatty() else "jsonl")
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", errors="backslashreplace", newline="\n",
                           line_buffering=False, write_through=False)
    colour = output == "table" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    audit = Audit(DryRun(rules, config, opts.cwd), output, out, colour, opts.all, fail_on)
    try:
        status = audit.run(opts.files, opts.input_format, opts.jobs)
        out.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except KeyboardInterrupt:
        audit.progress.clear()
        raise
    finally:
        try:
            out.detach()
        except (ValueError, BrokenPipeError):
            pass
    return status


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class Audit:
    """One run: read the inputs, classify, write the chosen output, keep the totals."""

    def __init__(self, engine: DryRun, output: str, out: IO[str], colour: bool, show_all: bool,
                 fail_on: tuple[str, int] | None) -> None:
        self.engine = engine
        self.output = output
        self.out = out
        self.colour = colour
        self.fail_on = fail_on
        self.failed = False
        self.skipped = 0
        self.errors = 0
        self.sources: list[str] = []
        self.summary = Summary()
        self.table = Table(show_all) if output == "table" else None
        self.progress = Progress()

    def run(self, files: list[str], input_format: str, jobs: int | None) -> int:
        sink = self._csv_writer() if self.output == "csv" else self._jsonl if self.output == "jsonl" else self._collect
        failing = self._failing
        for entry, result in run(self.engine, self._items(files, input_format), jobs, self._skip):
            self.summary.add(result)
            if failing(result):
                self.failed = True
            sink(entry, result)
            self.progress.tick()
        self.progress.clear()
        if self.table is not None:
            self.table.write(self.out, self.colour)
        if self.output in ("table", "summary"):
            self.summary.write(self.out, self.sources, self.skipped, self.colour)
        if self.skipped > MAX_SKIP_MESSAGES:
            sys.stderr.write(f"guardsh audit: {self.skipped} malformed lines skipped in all "
                             f"({self.skipped - MAX_SKIP_MESSAGES} not shown)\n")
        if self.errors:
            return EXIT_ERROR
        if self.failed:
            return EXIT_FAIL_ON
        return EXIT_SKIPPED if self.skipped else 0

    def _items(self, files: list[str], input_format: str) -> Iterator[Entry | Skipped]:
        for path in files:
            try:
                src = open_source(path)
            except InputError as e:
                self.errors += 1
                self._message(f"guardsh audit: {e}")
                continue
            self.sources.append(src.name)
            self.progress.start(src, len(self.sources), len(files))
            try:
                yield from read_input(path, input_format, src)
            except InputError as e:
                self.errors += 1
                self._message(f"guardsh audit: {e}")

    def _skip(self, item: Skipped) -> None:
        self.skipped += 1
        if self.skipped <= MAX_SKIP_MESSAGES:
            self._message(f"guardsh audit: {item.source}:{item.line}: skipped: {item.reason}")

    def _message(self, text: str) -> None:
        self.progress.clear()
        sys.stderr.write(text + "\n")

    def _failing(self, result: Result) -> bool:
        if self.fail_on is None:
            return False
        kind, level = self.fail_on
        return (result[1] if kind == "decision" else result[2]) >= level

    # --- outputs --------------------------------------------------------------------------

    def _jsonl(self, entry: Entry, result: Result) -> None:
        self.out.write(jsonl_line(result, entry))

    def _csv_writer(self) -> Callable[[Entry, Result], None]:
        import csv

        writer = csv.writer(self.out, lineterminator="\n")
        writer.writerow(["source", "line", "decision", "risk", "parse", "rules", "command"])

        def write(entry: Entry, result: Result) -> None:
            writer.writerow([entry.source, entry.line, Decision.LABELS[result[1]], Risk.LABELS[result[2]],
                             result[5], " ".join(result[3]), entry.command])

        return write

    def _collect(self, entry: Entry, result: Result) -> None:
        if self.table is not None:
            self.table.add(entry, result)


class Summary:
    """Counts per decision, risk and parse mode; top rules and programs."""

    def __init__(self) -> None:
        self.total = 0
        self.decisions = [0] * len(Decision.LABELS)
        self.risks = [0] * len(Risk.LABELS)
        self.parses: dict[str, int] = {}
        self.rules: dict[str, int] = {}
        self.programs: dict[str, int] = {}

    def add(self, result: Result) -> None:
        self.total += 1
        self.decisions[result[1]] += 1
        self.risks[result[2]] += 1
        self.parses[result[5]] = self.parses.get(result[5], 0) + 1
        for rule in result[3]:
            self.rules[rule] = self.rules.get(rule, 0) + 1
        for program in result[4]:
            self.programs[program] = self.programs.get(program, 0) + 1

    def write(self, out: IO[str], sources: list[str], skipped: int, colour: bool) -> None:
        inputs = f"{len(sources)} input{'s' if len(sources) != 1 else ''}"
        skip = f", {skipped:,} malformed line{'s' if skipped != 1 else ''} skipped" if skipped else ""
        out.write(f"Summary: {self.total:,} command{'s' if self.total != 1 else ''} from {inputs}{skip}\n")
        out.write("  decision  " + "   ".join(f"{label} {n:,}" for label, n in zip(Decision.LABELS, self.decisions)) + "\n")
        risks = [paint(f"{label} {n:,}", RISK_COLOURS[i], colour) for i, (label, n) in
                 enumerate(zip(Risk.LABELS, self.risks))]
        out.write("  risk      " + "   ".join(risks) + "\n")
        out.write("  parse     " + "   ".join(f"{mode} {self.parses.get(mode, 0):,}"
                                              for mode in ("full", "fallback", "opaque")) + "\n")
        out.write("  top rules     " + (_top(self.rules) or "none matched") + "\n")
        out.write("  top programs  " + (_top(self.programs) or "none") + "\n")


def _top(counts: dict[str, int]) -> str:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return ", ".join(f"{name} {n:,}" for name, n in ranked)


class Row:
    __slots__ = ("count", "where", "rules")

    def __init__(self, where: str, rules: tuple[str, ...]) -> None:
        self.count = 1
        self.where = where  # the first "source:line"
        self.rules = rules


class Table:
    """Commands grouped by decision and risk, strictest first; repeats collapsed."""

    def __init__(self, show_all: bool) -> None:
        self.show_all = show_all
        self.groups: dict[tuple[int, int], dict[str, Row]] = {}  # (decision, risk) -> command -> row
        self.hidden: dict[tuple[int, int], set[str]] = {}  # allowed commands not listed
        self.counts: dict[tuple[int, int], int] = {}

    def add(self, entry: Entry, result: Result) -> None:
        key = (result[1], result[2])
        self.counts[key] = self.counts.get(key, 0) + 1
        rows = self.groups.setdefault(key, {})
        row = rows.get(entry.command)
        if row is not None:
            row.count += 1
        elif self.show_all or key[0] != Decision.ALLOW or len(rows) < ALLOW_ROWS:
            rows[entry.command] = Row(f"{entry.source}:{entry.line}", result[3])
        else:
            self.hidden.setdefault(key, set()).add(entry.command)

    def write(self, out: IO[str], colour: bool) -> None:
        width = _width()
        for key in sorted(self.groups, reverse=True):
            decision, risk = key
            rows = self.groups[key]
            hidden = len(self.hidden.get(key, ()))
            distinct = len(rows) + hidden
            total = self.counts[key]
            title = f"{Decision.LABELS[decision].upper()} · {Risk.LABELS[risk]}"
            extra = f", {distinct:,} distinct" if distinct != total else ""
            out.write(paint(title, RISK_COLOURS[risk], colour, bold=True) +
                      f"  ({total:,} command{'s' if total != 1 else ''}{extra})\n")
            for command, row in rows.items():
                times = f"×{row.count} " if row.count != 1 else ""
                tail = f"  [{', '.join(row.rules)}]" if row.rules else ""
                room = max(20, width - len(row.where) - len(tail) - len(times) - 6)
                out.write(f"  {times}{_short(command, room)}  {paint(row.where, '2', colour)}{tail}\n")
            if hidden:
                out.write(f"  … and {hidden:,} more distinct commands (--all lists them)\n")
            out.write("\n")


def paint(text: str, code: str, colour: bool, bold: bool = False) -> str:
    if not colour:
        return text
    if bold and not code.startswith("1;"):
        code = "1;" + code
    return f"\033[{code}m{text}\033[0m"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _width() -> int:
    try:
        return max(60, min(os.get_terminal_size(1).columns, 200))
    except OSError:
        return 120


class Progress:
    """A progress line on stderr for large inputs, when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty() and not os.environ.get("GUARDSH_NO_PROGRESS")
        self.count = 0
        self.started = time.monotonic()
        self.next = self.started + 0.5
        self.source: Source | None = None
        self.label = ""
        self.shown = False

    def start(self, source: Source, index: int, total: int) -> None:
        self.source = source
        self.label = f" {source.name} ({index}/{total})" if total > 1 else f" {source.name}"

    def tick(self) -> None:
        self.count += 1
        if not self.enabled or self.count & 255:
            return
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + 0.2
        rate = self.count / max(now - self.started, 1e-6)
        pct = ""
        src = self.source
        if src is not None and src.size:
            pct = f" {min(100, 100 * src.done // src.size):3d}%"
        sys.stderr.write(f"\r\033[Kguardsh audit:{pct}{self.label}: {self.count:,} commands ({rate:,.0f}/s)")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


__all__ = ["main", "parse_level"]
