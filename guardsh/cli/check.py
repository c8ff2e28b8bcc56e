"""``guardsh check``: classify a command without running it."""
from __future__ import annotations

import argparse
import json
import os
import sys

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config, ConfigError, load_config
from guardsh.engine.context import Context
from guardsh.engine.report import human_check
from guardsh.engine.rules import RuleError, load_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardsh.engine.model import Verdict


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="guardsh check", description="Classify a shell command without running it.")
    p.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    p.add_argument("--cwd", default=None, help="classify as if run in DIR (default: the current directory)")
    p.add_argument("--preview", action="store_true",
                   help="also run the read-only preview an approver would see (what the command would do)")
    p.add_argument("command", nargs="+", help="the command text (put it after --)")
    return p


def main(args: list[str]) -> int:
    opts = build_parser().parse_args(args)
    text = " ".join(opts.command) if len(opts.command) > 1 else opts.command[0]
    try:
        config = load_config()
        rules = load_rules()
    except (RuleError, ConfigError) as e:
        sys.stderr.write(f"guardsh check: {e}\n")
        return 2
    cwd = os.path.abspath(opts.cwd) if opts.cwd else os.getcwd()
    verdict = Classifier(rules, config).classify(text, Context(cwd, config))
    preview = None
    if opts.preview:
        from guardsh.preview import compute

        preview = compute(verdict, rules, config, cwd=cwd)
    if opts.json:
        out = verdict.to_json()
        if preview is not None:
            out["preview"] = preview  # only with --preview: the default shape stays as it is
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(human_check(verdict))
        saved = _saved_first(verdict, config, cwd)
        if saved:
            sys.stdout.write(saved)
        if preview is not None:
            from guardsh.preview.show import render

            sys.stdout.write("\n".join(render(preview)) + "\n")
    return 0


def _saved_first(verdict: Verdict, config: Config, cwd: str) -> str:
    """What undo would do about an ``ask`` when the command really runs (issue 14): the decision
    above is the rules'; ``guardsh -c`` saves a lowerable destruction first and lets it run."""
    from guardsh.engine.model import Decision
    from guardsh.engine.undoplan import lowerable, plan

    settings = config.undo
    if verdict.decision != Decision.ASK or not settings.get("enabled", True):
        return ""
    ctx = Context(cwd, config)
    found = plan(verdict, ctx.home)
    if found.empty or lowerable(verdict, found, ctx, bool(settings.get("lower", True)),
                                bool(settings.get("lower_outside_workspace", False))) is not None:
        return ""
    return ("undo:     when it runs, guardsh saves what it destroys first and lets it through as reversible;\n"
            "          guardsh undo takes it back\n")
