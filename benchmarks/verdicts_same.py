#!/usr/bin/env python3
"""Do two versions of guardsh give byte-identical verdicts?  The check behind every speed-up.

What is compared, one line per text, in a fixed order:

1. in process, in the examples' synthetic context (cwd /home/user/project, no file read): every
   command of the shared corpus, of ``tests/corpus/*.yaml`` and every example of every rule
   (``hit`` and ``miss``, and the runner / env-loader / fallback examples).  Each line holds the
   ``check --json`` object and more than it: the notes, the texts classified and every simple
   command found (words with their flags, assignments, redirections, via, stdin, cwd, created,
   as_found), so that a change in what the walk finds shows even where the verdict hides it;
2. ``guardsh audit --format jsonl`` over the shared corpus, with the default workers and with
   ``-j 1``, run in an empty temporary directory with a temporary HOME (the JSON holds no time
   and no pid; that directory's path, which rules may quote, is shown as ``$TMP``).

Usage (from the repository root):

    .venv/bin/python benchmarks/verdicts_same.py                  # this tree against main
    .venv/bin/python benchmarks/verdicts_same.py --against c466c01
    .venv/bin/python benchmarks/verdicts_same.py --save ref.jsonl  # record this tree's output
    .venv/bin/python benchmarks/verdicts_same.py --compare ref.jsonl

``--against REF`` extracts REF with ``git archive`` into a temporary directory and dumps its
verdicts with its own code and its own rules (so compare trees whose rules.d are the same: a
rule change changes verdicts on purpose).  Exit 0 when identical, 1 with the first differences.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# ../shared/corpus from the repository root; ../../shared from a worktree in /work/wt/<room>
SHARED_CORPUS = next((p / "shared" / "corpus" / "commands.txt" for p in (REPO.parent, REPO.parent.parent)
               if (p / "shared" / "corpus" / "commands.txt").exists()), REPO.parent / "shared" / "corpus" / "commands.txt")


def _word(w) -> list[object]:  # type: ignore[no-untyped-def]
    return [w.value, w.dynamic, w.glob, list(w.subs), w.tilde]


def _command(c) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "words": [_word(w) for w in c.words],
        "assignments": [[name, _word(w)] for name, w in c.assignments],
        "redirects": [[r.op, r.fd, None if r.target is None else _word(r.target), r.heredoc, r.heredoc_quoted]
                      for r in c.redirects],
        "text": c.text, "via": list(c.via), "stdin": c.stdin, "stdin_from": c.stdin_from,
        "args_from_stdin": c.args_from_stdin, "cwd": c.cwd, "created": sorted(c.created), "as_found": c.as_found,
    }


def texts(tree: Path) -> list[tuple[str, str]]:
    """(origin, text) for every text classified in process, in a fixed order."""
    import yaml

    from guardsh.engine.rules import load_rules, rule_dirs

    out: list[tuple[str, str]] = []
    if SHARED_CORPUS.exists():
        for i, line in enumerate(SHARED_CORPUS.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if line.strip():
                out.append((f"corpus:{i}", line))
    for path in sorted((tree / "tests" / "corpus").glob("*.yaml")):
        for i, entry in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            if isinstance(entry, dict) and isinstance(entry.get("command"), str):
                out.append((f"{path.name}:{i}", entry["command"]))
    rules = load_rules([rule_dirs()[0]], use_cache=False)
    for rule in rules.rules:
        for kind in ("hit", "miss"):
            for text in rule[kind]:
                out.append((f"rule {rule['id']} {kind}", text))
    for entry in rules.other_examples:
        for kind in ("hit", "miss"):
            for text in entry[kind]:
                out.append((f"{entry['what']} {kind}", text))
    return out


def dump(tree: Path, out_path: Path) -> None:
    """Write this tree's lines to ``out_path`` (run with ``tree`` first on sys.path)."""
    from guardsh.engine.classify import Classifier
    from guardsh.engine.config import Config
    from guardsh.engine.examples import example_context
    from guardsh.engine.rules import load_rules, rule_dirs

    rules = load_rules([rule_dirs()[0]], use_cache=False)
    classifier = Classifier(rules, Config())
    lines: list[str] = []
    for origin, text in texts(tree):
        try:
            v = classifier.classify(text, example_context(classifier.config))
            record: dict[str, object] = {"origin": origin, **v.to_json(), "notes": list(v.notes),
                                         "texts": list(v.texts), "commands": [_command(c) for c in v.commands]}
        except Exception as e:  # noqa: BLE001 - a crash is an output too
            record = {"origin": origin, "command": text, "raised": f"{type(e).__name__}: {e}"}
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    if SHARED_CORPUS.exists():
        with tempfile.TemporaryDirectory(prefix="guardsh-same-") as tmp_s:
            tmp = Path(tmp_s)
            (tmp / "home").mkdir()
            (tmp / "work").mkdir()
            env = {k: v for k, v in os.environ.items() if k not in ("BASH_ENV", "ENV", "GUARDSH_NESTED", "NO_COLOR")}
            env.update(HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "home" / ".cache"),
                       XDG_STATE_HOME=str(tmp / "home" / ".state"), XDG_CONFIG_HOME=str(tmp / "home" / ".config"),
                       PYTHONPATH=str(tree), GUARDSH_NO_PROGRESS="1")
            for label, jobs in (("audit default", []), ("audit -j 1", ["-j", "1"])):
                done = subprocess.run([sys.executable, "-m", "guardsh", "audit", "--format", "jsonl",
                                       "--input-format", "plain", *jobs, str(SHARED_CORPUS)],
                                      env=env, cwd=tmp / "work", capture_output=True)
                if done.returncode not in (0, 1, 3):
                    sys.exit(f"verdicts_same.py: guardsh audit failed ({done.returncode}):\n{done.stderr.decode()}")
                # HOME and the cwd are in a fresh temporary directory: shown as $TMP
                for line in done.stdout.decode("utf-8", "backslashreplace").replace(tmp_s, "$TMP").splitlines():
                    lines.append(f"{label}\t{line}")
    out_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def dump_tree(tree: Path, out_path: Path) -> None:
    """Dump ``tree``'s verdicts in a fresh interpreter that imports guardsh from ``tree``."""
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--dump", str(out_path), "--tree", str(tree)],
                   check=True)


def compare(mine: Path, theirs: Path, label_mine: str, label_theirs: str) -> int:
    a = mine.read_text(encoding="utf-8").splitlines()
    b = theirs.read_text(encoding="utf-8").splitlines()
    digest_a = hashlib.sha256(mine.read_bytes()).hexdigest()[:16]
    digest_b = hashlib.sha256(theirs.read_bytes()).hexdigest()[:16]
    print(f"{label_mine}: {len(a)} lines, sha256 {digest_a}")
    print(f"{label_theirs}: {len(b)} lines, sha256 {digest_b}")
    if a == b:
        print("identical")
        return 0
    shown = 0
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            print(f"line {i + 1} differs:\n  {label_theirs}: {y[:600]}\n  {label_mine}: {x[:600]}")
            shown += 1
            if shown >= 10:
                break
    if len(a) != len(b):
        print(f"line counts differ: {len(a)} vs {len(b)}")
    print(f"DIFFERENT ({sum(x != y for x, y in zip(a, b))} lines differ)")
    return 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", default="main", metavar="REF", help="git ref to compare with (default main)")
    ap.add_argument("--save", type=Path, metavar="FILE", help="write this tree's output to FILE and stop")
    ap.add_argument("--compare", type=Path, metavar="FILE", help="compare with FILE (from --save) instead of a ref")
    ap.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--tree", type=Path, default=REPO, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.dump is not None:
        sys.path.insert(0, str(opts.tree.resolve()))
        dump(opts.tree.resolve(), opts.dump)
        return 0
    if opts.save is not None:
        dump_tree(REPO, opts.save)
        print(f"wrote {opts.save}")
        return 0
    with tempfile.TemporaryDirectory(prefix="guardsh-same-") as tmp_s:
        tmp = Path(tmp_s)
        mine = tmp / "mine.jsonl"
        dump_tree(REPO, mine)
        if opts.compare is not None:
            return compare(mine, opts.compare, "this tree", str(opts.compare))
        ref = tmp / "ref"
        ref.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", opts.against], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(ref)], input=archive.stdout, check=True)
        theirs = tmp / "theirs.jsonl"
        dump_tree(ref, theirs)
        return compare(mine, theirs, "this tree", opts.against)


if __name__ == "__main__":
    sys.exit(main())
