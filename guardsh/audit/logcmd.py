"""``guardsh log``: read the audit trail.

    guardsh log [--since WHEN] [--decision D] [--risk R] [--rule ID] [--outcome O] [--session S]
                [-n N | --all] [--json] [--file PATH]      recent records, readably
    guardsh log verify [--file PATH]                        check the hash chain (exit 1 if broken)
    guardsh log stats [--since WHEN] [--file PATH]          totals, top rules, top programs
    guardsh log path                                        where the log is

WHEN is a duration back from now (``30m``, ``2h``, ``7d``, ``1w``) or a date/time
(``2026-05-01``, ``2026-05-01T14:00``, local time unless it names a zone).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from guardsh.audit import trail
from guardsh.audit.verify import verify
from guardsh.engine.model import Decision, Risk

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

    Record = dict[str, object]

EXIT_PROBLEM = 1
EXIT_ERROR = 2
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
RISK_COLOURS = {"read-only": "32", "reversible": "36", "destructive": "33", "catastrophic": "1;31"}


class LogError(Exception):
    """A user-facing problem: bad option value, unreadable log."""


def main(args: list[str]) -> int:
    sub = args[0] if args and args[0] in ("verify", "stats", "path", "show") else "show"
    rest = args[1:] if args and args[0] == sub else args
    try:
        if sub == "verify":
            return cmd_verify(rest)
        if sub == "stats":
            return cmd_stats(rest)
        if sub == "path":
            return cmd_path(rest)
        return cmd_show(rest)
    except LogError as e:
        sys.stderr.write(f"guardsh log: {e}\n")
        return EXIT_ERROR
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"guardsh log{prog}", description=description)
    p.add_argument("--file", default=None, help="the audit log to read (default: the configured one)")
    return p


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default=None, help="only records newer than WHEN (30m, 2h, 7d, 2026-05-01...)")
    p.add_argument("--decision", choices=Decision.LABELS, default=None)
    p.add_argument("--risk", default=None, help="a risk, or RISK+ for that risk or worse (destructive+)")
    p.add_argument("--rule", default=None, help="records where this rule matched (globs allowed)")
    p.add_argument("--outcome", choices=("exec", "refused", "error"), default=None)
    p.add_argument("--session", default=None)


def log_file(given: str | None) -> str:
    if given:
        return given
    from guardsh.engine.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError:
        config = None
    return trail.log_path(config)


# --- show ---------------------------------------------------------------------------------

def cmd_show(args: list[str]) -> int:
    p = _parser("", "Show recent audit records, newest last.  Also: 'guardsh log verify' checks the hash "
                    "chain, 'guardsh log stats' summarises, 'guardsh log path' prints where the log is.")
    _filters(p)
    p.add_argument("-n", "--lines", type=int, default=20, help="how many records (default 20)")
    p.add_argument("--all", action="store_true", help="every matching record")
    p.add_argument("--json", action="store_true", help="print the records as they are stored")
    opts = p.parse_args(args)
    path = log_file(opts.file)
    keep = _matcher(opts)
    limit = None if opts.all else max(0, opts.lines)
    from collections import deque

    shown: deque[tuple[bytes, Record]] = deque(maxlen=limit)
    for raw, record in _records(path):
        if keep(record):
            shown.append((raw, record))
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    out = sys.stdout
    for raw, record in shown:
        if opts.json:
            out.write(raw.decode("utf-8", "replace").rstrip("\n") + "\n")
        else:
            out.write(format_record(record, colour))
    if not shown and not opts.json:
        sys.stderr.write(f"guardsh log: no matching records in {path}\n")
    return 0


def format_record(r: Record, colour: bool = False) -> str:
    when = _local(r.get("time"))
    decision = str(r.get("decision") or "?")
    risk = str(r.get("risk") or "?")
    outcome = str(r.get("outcome") or "?")
    label = f"{decision:<5} {risk:<12}"
    if colour and risk in RISK_COLOURS:
        label = f"\033[{RISK_COLOURS[risk]}m{label}\033[0m"
    command = " ".join(str(r.get("command") or "").split())
    if len(command) > 160:
        command = command[:159] + "…"
    line = f"{when}  {label} {outcome:<8} {r.get('cwd') or '?'}  $ {command}"
    extra = []
    if r.get("rules"):
        extra.append("rules: " + ", ".join(str(x) for x in r["rules"]))  # type: ignore[attr-defined]
    if r.get("agent"):
        extra.append(f"agent: {r['agent']}")
    if r.get("approval"):
        extra.append(f"approval: {r['approval']}" + (f" by {r['approver']}" if r.get("approver") else ""))
    if r.get("snapshot"):
        extra.append(f"saved first: guardsh undo {r['snapshot']}")
    if r.get("error"):
        extra.append(f"error: {r['error']}")
    preview = r.get("preview")  # what the approver was shown (issue 15): its first lines
    shown = "".join(f"\n    | {p}" for p in preview[:6]) if isinstance(preview, list) else ""
    return line + ("\n    " + "; ".join(extra) if extra else "") + shown + "\n"


def _local(value: object) -> str:
    t = parse_iso(value) if isinstance(value, str) else None
    if t is None:
        return str(value)[:19].ljust(19)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _records(path: str) -> Iterator[tuple[bytes, Record]]:
    if not os.path.exists(path):
        raise LogError(f"no audit log at {path} (nothing has been recorded yet, or 'audit_log:' points elsewhere)")
    try:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                try:
                    record = json.loads(raw)
                except ValueError:
                    sys.stderr.write(f"guardsh log: {path}:{number}: not a valid record (run: guardsh log verify)\n")
                    continue
                if isinstance(record, dict):
                    yield raw, record
    except OSError as e:
        raise LogError(f"cannot read {path}: {e.strerror or e}") from None


def _matcher(opts: argparse.Namespace):  # type: ignore[no-untyped-def]
    since = parse_since(opts.since) if getattr(opts, "since", None) else None
    risks: tuple[str, ...] | None = None
    if getattr(opts, "risk", None):
        name = opts.risk.rstrip("+")
        if name not in Risk.LABELS:
            raise LogError(f"--risk: unknown risk {name!r} (use {', '.join(Risk.LABELS)}, optionally with +)")
        at = Risk.LABELS.index(name)
        risks = Risk.LABELS[at:] if opts.risk.endswith("+") else (name,)
    rule = getattr(opts, "rule", None)

    def keep(r: Record) -> bool:
        if since is not None:
            stamp = r.get("time")
            t = parse_iso(stamp) if isinstance(stamp, str) else None
            if t is None or t < since:
                return False
        if getattr(opts, "decision", None) and r.get("decision") != opts.decision:
            return False
        if risks is not None and r.get("risk") not in risks:
            return False
        if getattr(opts, "outcome", None) and r.get("outcome") != opts.outcome:
            return False
        if getattr(opts, "session", None) and r.get("session") != opts.session:
            return False
        if rule:
            from guardsh.engine.globs import gmatch

            rules = r.get("rules")
            if not isinstance(rules, list) or not any(isinstance(x, str) and gmatch(rule, x) for x in rules):
                return False
        return True

    return keep


def parse_iso(text: str) -> float | None:
    """Epoch seconds of an ISO date/time; naive times are local."""
    from datetime import datetime

    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.timestamp()


def parse_since(text: str, now: float | None = None) -> float:
    now = time.time() if now is None else now
    value = text.strip()
    if value[:-1].replace(".", "", 1).isdigit() and value[-1:] in UNITS:
        return now - float(value[:-1]) * UNITS[value[-1]]
    t = parse_iso(value)
    if t is None:
        raise LogError(f"--since: cannot read {text!r} (use 30m, 2h, 7d, 1w, or a date like 2026-05-01 or 2026-05-01T14:00)")
    return t


# --- verify -------------------------------------------------------------------------------

def cmd_verify(args: list[str]) -> int:
    p = _parser(" verify", "Check the audit log's hash chain: edits, removals, reordering, truncation.")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing when the chain is intact")
    opts = p.parse_args(args)
    path = log_file(opts.file)
    if not os.path.exists(path):
        raise LogError(f"no audit log at {path}")
    try:
        result = verify(path)
    except OSError as e:
        raise LogError(f"cannot read {path}: {e.strerror or e}") from None
    if result.ok:
        if not opts.quiet:
            span = f"records {result.first_seq}–{result.last_seq}" if result.records else "no records"
            sys.stdout.write(f"{path}: intact: {result.records:,} records ({span}), chain and end verified\n")
        return 0
    for line, message in result.problems[:200]:
        where = f"{path}:{line}" if line is not None else path
        sys.stdout.write(f"{where}: {message}\n")
    if len(result.problems) > 200:
        sys.stdout.write(f"... and {len(result.problems) - 200} more problems\n")
    n = len(result.problems)
    sys.stdout.write(f"{path}: NOT intact: {n} problem{'s' if n != 1 else ''} in {result.records:,} records\n")
    return EXIT_PROBLEM


# --- stats ----------------------------------------------------------------------------------

def cmd_stats(args: list[str]) -> int:
    p = _parser(" stats", "Summarise the audit log.")
    _filters(p)
    opts = p.parse_args(args)
    path = log_file(opts.file)
    keep = _matcher(opts)
    counts: dict[str, dict[str, int]] = {k: {} for k in ("decision", "risk", "outcome", "agent", "rules",
                                                          "programs", "session")}
    total = 0
    first = last = None
    for _raw, r in _records(path):
        if not keep(r):
            continue
        total += 1
        stamp = r.get("time")
        if isinstance(stamp, str):
            first = first or stamp
            last = stamp
        for key in ("decision", "risk", "outcome", "session"):
            _bump(counts[key], str(r.get(key) or "unknown"))
        _bump(counts["agent"], str(r.get("agent") or "unknown"))
        rules = r.get("rules")
        for rule in rules if isinstance(rules, list) else ():
            _bump(counts["rules"], str(rule))
        program = first_program(str(r.get("command") or ""))
        if program:
            _bump(counts["programs"], program)
    out = sys.stdout
    out.write(f"{path}: {total:,} record{'s' if total != 1 else ''}")
    out.write(f" from {_local(first)} to {_local(last)}\n" if first else "\n")
    if not total:
        return 0
    out.write("  decision  " + _row(counts["decision"], Decision.LABELS) + "\n")
    out.write("  risk      " + _row(counts["risk"], Risk.LABELS) + "\n")
    out.write("  outcome   " + _row(counts["outcome"], ("exec", "refused", "error")) + "\n")
    out.write("  agents    " + _top(counts["agent"]) + "\n")
    out.write(f"  sessions  {len(counts['session']):,}\n")
    out.write("  top rules     " + (_top(counts["rules"]) or "none matched") + "\n")
    out.write("  top programs  " + (_top(counts["programs"]) or "none") + "\n")
    return 0


def _bump(table: dict[str, int], key: str) -> None:
    table[key] = table.get(key, 0) + 1


def _row(table: dict[str, int], order: tuple[str, ...]) -> str:
    keys = list(order) + sorted(k for k in table if k not in order)
    return "   ".join(f"{k} {table.get(k, 0):,}" for k in keys if k in table or k in order)


def _top(table: dict[str, int], n: int = 10) -> str:
    ranked = sorted(table.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{k} {v:,}" for k, v in ranked)


def first_program(command: str) -> str:
    """The first program a command line names (after VAR=value assignments), by basename."""
    for word in command.split():
        if "=" in word.split("/", 1)[0] and not word.startswith(("=", "-")):
            continue
        return word.rsplit("/", 1)[-1].strip("'\"();&|") or ""
    return ""


# --- path ----------------------------------------------------------------------------------

def cmd_path(args: list[str]) -> int:
    p = _parser(" path", "Print where the audit log is.")
    opts = p.parse_args(args)
    sys.stdout.write(log_file(opts.file) + "\n")
    return 0
