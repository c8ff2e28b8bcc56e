"""``guardsh rules list`` and ``guardsh rules test [DIR...]``."""
from __future__ import annotations

import argparse
import sys

from guardsh.engine.examples import check_examples
from guardsh.engine.rules import RuleError, RuleSet, build, load_rules, rule_dirs, rule_files


def main(args: list[str]) -> int:
    p = argparse.ArgumentParser(prog="guardsh rules", description="Show or check the rule files.")
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="list every rule: id, risk, file")
    t = sub.add_parser("test", help="validate rule files and run every rule's examples")
    t.add_argument("dirs", nargs="*", help="rule directories or files (default: the ones guardsh loads)")
    opts = p.parse_args(args)
    if opts.action == "list":
        try:
            rules = load_rules()
        except RuleError as e:
            sys.stderr.write(f"{e}\n")
            return 1
        for r in sorted(rules.rules, key=lambda r: (r["file"], r["line"])):
            sys.stdout.write(f"{r['id']:<44} {('read-only', 'reversible', 'destructive', 'catastrophic')[r['risk']]:<13} {r['file']}:{r['line']}\n")
        return 0
    return test(opts.dirs)


def test(paths: list[str]) -> int:
    """Validate and run examples.  Given directories are checked together with the packaged rules."""
    files: list[str] = []
    targets = paths or rule_dirs()
    for path in targets:
        files.extend([path] if path.endswith((".yaml", ".yml")) else rule_files([path]))
    if paths:
        packaged = rule_files([rule_dirs()[0]])
        files = packaged + [f for f in files if f not in packaged]
    try:
        data = build(files)
    except RuleError as e:
        sys.stdout.write("\n".join(e.problems) + f"\n{len(e.problems)} problem(s)\n")
        return 1
    rules = RuleSet(data, files)
    failures = check_examples(rules)
    examples = sum(len(r["hit"]) + len(r["miss"]) for r in rules.rules)
    examples += sum(len(e["hit"]) + len(e["miss"]) for e in rules.other_examples)  # runners, env loaders, fallback
    for f in failures:
        sys.stdout.write(f + "\n")
    sys.stdout.write(f"{len(rules.rules)} rules, {examples} examples, {len(failures)} failed ({len(files)} files)\n")
    if not paths:
        failures += test_previews(rules)
    return 1 if failures else 0


def test_previews(rules: RuleSet) -> list[str]:
    """The preview specs (previews.d): valid, and each example derives its read-only preview."""
    from guardsh.engine.classify import Classifier
    from guardsh.engine.config import Config
    from guardsh.engine.examples import example_context
    from guardsh.engine.preview import check_spec_examples
    from guardsh.engine.previewspec import load_specs

    try:
        specs = load_specs(use_cache=False)
    except RuleError as e:
        sys.stdout.write("\n".join(e.problems) + f"\n{len(e.problems)} problem(s) in the preview specs\n")
        return e.problems
    failures = check_spec_examples(specs, Classifier(rules, Config()), example_context())
    for f in failures:
        sys.stdout.write(f + "\n")
    examples = sum(len(s["examples"]) for s in specs)
    sys.stdout.write(f"{len(specs)} previews, {examples} examples, {len(failures)} failed\n")
    return failures
