#!/usr/bin/env python3
"""Classification alone, in-process: commands per second over a corpus.

The rules are loaded once (the packaged rules, compiled and their examples checked, no cache),
then ``Classifier.classify`` runs over every command of the corpus, each in a fresh example
context (cwd /home/user/project, no file read; the config is made once), as ``guardsh -c``
makes one context per command.
One untimed warm-up pass, then the best of three timed passes.

Two more passes, not timed for the headline figure:
- a split pass that times the lexer, the grammar and the walk (state, expansion, unwrapping)
  inside each classification; rule matching is what is left of ``classify``;
- a cProfile pass whose top functions go to ``benchmarks/last_profile.txt``.

Corpus: ``../shared/corpus/commands.txt`` (from the repo root) when present, else
``benchmarks/corpus.txt``; or ``--corpus FILE``.  One command per line; a file whose first line
is ``# format: lines+heredocs`` may also hold here-documents (the body continues to its
delimiter) and ``#`` comment lines.

    .venv/bin/python benchmarks/classify_throughput.py
    .venv/bin/python benchmarks/classify_throughput.py --corpus benchmarks/corpus.txt --json
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as _dt
import io
import json
import os
import platform
import pstats
import re
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# ../shared/corpus from the repository root; ../../shared from a worktree in /work/wt/<room>
SHARED_CORPUS = next((p / "shared" / "corpus" / "commands.txt" for p in (REPO.parent, REPO.parent.parent)
               if (p / "shared" / "corpus" / "commands.txt").exists()), REPO.parent / "shared" / "corpus" / "commands.txt")
OWN_CORPUS = HERE / "corpus.txt"
PROFILE_OUT = HERE / "last_profile.txt"
HEREDOC_FORMAT = "# format: lines+heredocs"
HEREDOC_OPEN = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import guardsh.engine.classify as classify_module  # noqa: E402
import guardsh.engine.tree as tree_module  # noqa: E402
import guardsh.engine.walk as walk_module  # noqa: E402
from guardsh.engine.classify import Classifier  # noqa: E402
from guardsh.engine.config import Config  # noqa: E402
from guardsh.engine.examples import example_context  # noqa: E402
from guardsh.engine.rules import RuleError, load_rules, rule_dirs  # noqa: E402


def read_corpus(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines or lines[0].strip() != HEREDOC_FORMAT:
        return [line for line in lines if line.strip()]
    commands: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        block = [line]
        for m in HEREDOC_OPEN.finditer(line.replace("<<<", "   ")):
            delimiter = m.group(2)
            while i < len(lines):
                block.append(lines[i])
                i += 1
                if lines[i - 1].strip() == delimiter:
                    break
        commands.append("\n".join(block))
    return commands


def classify_all(classifier: Classifier, corpus: list[str]) -> tuple[float, float, Counter[str], Counter[str], list[str]]:
    """One pass: (wall seconds, CPU seconds, parse modes, decisions, errors)."""
    modes: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    errors: list[str] = []
    t0, c0 = time.perf_counter(), time.process_time()
    for text in corpus:
        try:
            verdict = classifier.classify(text, example_context(classifier.config))
        except Exception as e:  # must not happen: counted and reported
            errors.append(f"{text!r}: {type(e).__name__}: {e}")
            continue
        modes[verdict.parse] += 1
        decisions[verdict.decision.label] += 1
    return time.perf_counter() - t0, time.process_time() - c0, modes, decisions, errors


def split_pass(classifier: Classifier, corpus: list[str]) -> dict[str, object]:
    """Time the stages inside classify by wrapping the names the engine calls: the lexer, the
    grammar, and the walk (state, expansion and unwrapping, lexer and grammar included); rule
    matching is what is left of ``classify`` (it includes building the verdict)."""
    clock = time.perf_counter
    acc = {"lex": 0.0, "grammar": 0.0, "walk": 0.0, "depth": 0}
    real_tokenize, real_grammar, real_walk = walk_module.tokenize, tree_module.parse_tokens, classify_module.walk_script

    def timed(name, real):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = clock()
            try:
                return real(*args, **kwargs)
            finally:
                acc[name] += clock() - t
        return run

    context_s = classify_s = 0.0
    per_mode: dict[str, list[float]] = {}
    slowest: list[tuple[float, str, str]] = []
    walk_module.tokenize = timed("lex", real_tokenize)
    tree_module.parse_tokens = timed("grammar", real_grammar)
    classify_module.walk_script = timed("walk", real_walk)
    try:
        for text in corpus:
            t0 = clock()
            ctx = example_context(classifier.config)
            t1 = clock()
            try:
                verdict = classifier.classify(text, ctx)
                mode = verdict.parse
            except Exception:
                mode = "raised"
            t2 = clock()
            context_s += t1 - t0
            classify_s += t2 - t1
            per_mode.setdefault(mode, []).append(t2 - t0)
            slowest.append((t2 - t0, mode, text))
    finally:
        walk_module.tokenize, tree_module.parse_tokens, classify_module.walk_script = (
            real_tokenize, real_grammar, real_walk)
    total = context_s + classify_s
    parts = {
        "context": context_s,
        "lex": acc["lex"],
        "grammar": acc["grammar"],
        "walk (state, expansion, unwrap)": acc["walk"] - acc["lex"] - acc["grammar"],
        "match": classify_s - acc["walk"],
    }
    # The slowest, timed again (best of 5) so that a garbage collection does not make the list.
    slowest.sort(reverse=True)
    retimed = []
    for _s, mode, text in slowest[:40]:
        best = float("inf")
        for _ in range(5):
            t0 = clock()
            try:
                classifier.classify(text, example_context(classifier.config))
            except Exception:
                pass
            best = min(best, clock() - t0)
        retimed.append((best, mode, text))
    retimed.sort(reverse=True)
    return {
        "total_s": total,
        "parts_s": parts,
        "parts_pct": {k: 100 * v / total for k, v in parts.items()},
        "by_mode": {
            m: {"count": len(v), "mean_us": 1e6 * sum(v) / len(v), "time_pct": 100 * sum(v) / total}
            for m, v in sorted(per_mode.items())
        },
        "slowest": [{"us": round(1e6 * s), "parse": m, "command": t[:160]} for s, m, t in retimed[:5]],
    }


def profile_pass(classifier: Classifier, corpus: list[str], out: Path | None, top: int = 15) -> list[dict[str, object]]:
    """cProfile one pass; write the top functions (cumulative and own time) to ``out``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for text in corpus:
        try:
            classifier.classify(text, example_context(classifier.config))
        except Exception:
            pass
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    if out is not None:
        buf = io.StringIO()
        stats.stream = buf  # type: ignore[attr-defined]
        buf.write(f"cProfile of one classify pass over {len(corpus)} commands ({total:.2f} s profiled)\n\n")
        buf.write(f"== top {top} by cumulative time ==\n")
        stats.sort_stats("cumulative").print_stats(top)
        buf.write(f"== top {top} by own time (tottime) ==\n")
        stats.sort_stats("tottime").print_stats(top)
        text = buf.getvalue().replace(str(REPO) + "/", "").replace(str(Path(sys.prefix)) + "/", "")
        out.write_text(text)
    rows = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename.replace(str(REPO) + "/", "")
        if "site-packages/" in where:
            where = where.split("site-packages/", 1)[1]
        rows.append({"function": f"{where}:{line}({name})", "calls": ncalls,
                     "own_pct": 100 * tottime / total, "cum_pct": 100 * cumtime / total})
    rows.sort(key=lambda r: -float(r["own_pct"]))  # type: ignore[arg-type]
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, help="one command per line (default: the shared corpus, else benchmarks/corpus.txt)")
    ap.add_argument("--passes", type=int, default=3, help="timed passes; the best counts (default 3)")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    ap.add_argument("--profile-out", type=Path, default=PROFILE_OUT, help=f"default {PROFILE_OUT.relative_to(REPO)}")
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    opts = ap.parse_args(argv)

    path = opts.corpus or (SHARED_CORPUS if SHARED_CORPUS.exists() else OWN_CORPUS)
    corpus = read_corpus(path)
    if not corpus:
        sys.exit(f"classify_throughput.py: {path} holds no commands")

    t0 = time.perf_counter()
    try:
        rules = load_rules([rule_dirs()[0]], use_cache=False)
    except RuleError as e:
        sys.exit("classify_throughput.py: the rules do not load:\n  " + "\n  ".join(e.problems[:20]))
    load_s = time.perf_counter() - t0
    classifier = Classifier(rules, Config())

    load_before = os.getloadavg()[0]
    warm_s, _cpu, modes, decisions, errors = classify_all(classifier, corpus)  # warm-up
    passes, cpu_passes = [], []
    for _ in range(opts.passes):
        seconds, cpu, _m, _d, _e = classify_all(classifier, corpus)
        passes.append(seconds)
        cpu_passes.append(cpu)
    best = min(passes)
    best_cpu = min(cpu_passes)
    load_after = os.getloadavg()[0]
    split = split_pass(classifier, corpus)
    hot = [] if opts.no_profile else profile_pass(classifier, corpus, opts.profile_out)

    resolved = path.resolve()
    if resolved.is_relative_to(REPO):
        shown = str(resolved.relative_to(REPO))
    elif resolved.is_relative_to(REPO.parent):
        shown = "../" + str(resolved.relative_to(REPO.parent))
    else:
        shown = str(path)
    result = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "corpus": shown,
        "commands": len(corpus),
        "rules": len(rules.rules),
        "rules_load_s": load_s,
        "warmup_s": warm_s,
        "passes_s": passes,
        "cpu_passes_s": cpu_passes,
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "commands_per_s": len(corpus) / best,
        "commands_per_cpu_s": len(corpus) / best_cpu,
        "mean_us": 1e6 * best / len(corpus),
        "parse_modes": {m: modes.get(m, 0) for m in ("full", "fallback", "opaque")},
        "decisions": dict(decisions),
        "raised": len(errors),
        "errors": errors[:20],
        "split": split,
        "hot_spots": hot,
        "profile_file": None if opts.no_profile else str(opts.profile_out),
    }
    if opts.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 1 if errors else 0

    n = len(corpus)
    print(f"classification throughput, {result['date']}: Python {result['python']}, {result['cpus']} CPUs, {result['machine']}")
    print(f"corpus: {shown} ({n} commands); {result['rules']} rules loaded in {load_s:.2f} s (compiled, examples checked)")
    print()
    print("| corpus | commands | best of %d | commands/s | per CPU second | mean per command | full | fallback | opaque | raised |"
          % opts.passes)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    pm = result["parse_modes"]
    print(f"| {path.name} | {n} | {best:.2f} s | **{n / best:,.0f}** | {n / best_cpu:,.0f} | {1e6 * best / n:.0f} µs | "
          f"{pm['full']} ({100 * pm['full'] / n:.1f}%) | {pm['fallback']} ({100 * pm['fallback'] / n:.1f}%) | "
          f"{pm['opaque']} ({100 * pm['opaque'] / n:.1f}%) | {len(errors)} |")
    print()
    print(f"passes: warm-up {warm_s:.2f} s, timed {', '.join(f'{p:.2f} s' for p in passes)} "
          f"(CPU time {', '.join(f'{p:.2f} s' for p in cpu_passes)}); "
          f"load average {load_before:.1f} -> {load_after:.1f}")
    print(f"decisions: {', '.join(f'{k} {v}' for k, v in sorted(decisions.items()))}")
    print()
    parts = split["parts_pct"]  # type: ignore[index]
    print(f"time split (separate pass, {split['total_s']:.2f} s with timers): "  # type: ignore[index]
          + ", ".join(f"{k} {v:.0f}%" for k, v in parts.items()))  # type: ignore[union-attr]
    print()
    print("| parse mode | commands | mean per command | share of time |")
    print("|---|---:|---:|---:|")
    for m, row in split["by_mode"].items():  # type: ignore[index, union-attr]
        print(f"| {m} | {row['count']} | {row['mean_us']:.0f} µs | {row['time_pct']:.0f}% |")
    print()
    print("slowest commands (best of 5):")
    print()
    for s in split["slowest"]:  # type: ignore[index, union-attr]
        print(f"- {s['us']} µs [{s['parse']}] `{s['command'][:100]}`")
    if hot:
        print()
        print(f"hot spots by own time (cProfile, full list in {opts.profile_out}):")
        print()
        print("| function | calls | own % | cumulative % |")
        print("|---|---:|---:|---:|")
        for r in hot:
            print(f"| `{r['function']}` | {r['calls']} | {r['own_pct']:.1f} | {r['cum_pct']:.1f} |")
    if errors:
        print()
        print(f"RAISED ({len(errors)}):")
        for e in errors[:20]:
            print("  " + e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
