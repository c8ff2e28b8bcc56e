"""Blast radius (issue 15): before a human approves, run the tools' own read-only previews.

The engine derives the plans (:mod:`guardsh.engine.preview`); this stage runs them in the
requester's directory and environment, each classified read-only first, within one deadline
(``preview_timeout``), with bounded output.  :func:`compute` returns plain data that the
approval request carries to the console, the audit trail records, and ``guardsh check
--preview`` prints (:func:`guardsh.preview.show.render`).
"""
from __future__ import annotations

import os
import time
from typing import Any, Mapping

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.model import Verdict
from guardsh.engine.preview import plan_previews, read_only_reason
from guardsh.engine.previewspec import load_specs
from guardsh.engine.ruleset import RuleSet
from guardsh.engine.yamlfile import RuleError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardsh.preview.run import Check
# run, local and show (subprocess, selectors, glob...) are imported when the plans run, in the
# waiter's preview thread: deriving the plans, on the request's path, needs only the engine.

DEFAULT_TIMEOUT = 10.0


class Prepared:
    """The plans for one verdict (derived at once, purely), ready to run (:meth:`run`)."""

    def __init__(self, verdict: Verdict, rules: RuleSet, config: Config, env: Mapping[str, str] | None = None,
                 cwd: str | None = None, spec_dirs: list[str] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self.config = config
        self.problem: str | None = None
        self.plans: list[dict[str, Any]] = []
        cwd = cwd or os.getcwd()
        self.classifier = Classifier(rules, config)
        self.home = self.env.get("HOME")
        ctx = Context(cwd, config, env=self.env, home=self.home)
        self.contexts: dict[str, Context] = {cwd: ctx}
        try:
            specs = load_specs(spec_dirs)
        except RuleError as e:
            self.problem = "the preview specs failed to load: " + "; ".join(e.problems[:3])
            return
        self.plans = plan_previews(verdict, self.classifier, specs, ctx)

    @property
    def wanted(self) -> bool:
        return bool(self.plans or self.problem)

    def check(self, argv: list[str], where: str) -> str | None:
        if where not in self.contexts:
            self.contexts[where] = Context(where, self.config, env=self.env, home=self.home)
        return read_only_reason(self.classifier, argv, self.contexts[where])

    def run(self) -> dict[str, Any]:
        """``{"items": [...], "elapsed_ms": N}``, or ``{"problem": ...}``; within ``preview_timeout``."""
        started = time.monotonic()
        if self.problem:
            return {"problem": self.problem, "items": []}
        deadline = started + float(getattr(self.config, "preview_timeout", DEFAULT_TIMEOUT))
        items = [run_plan(plan, self.env, self.check, deadline) for plan in self.plans]
        return {"items": items, "elapsed_ms": round((time.monotonic() - started) * 1000)}


def compute(verdict: Verdict, rules: RuleSet, config: Config, env: Mapping[str, str] | None = None,
            cwd: str | None = None, spec_dirs: list[str] | None = None) -> dict[str, Any]:
    """The preview of a verdict (see :meth:`Prepared.run`)."""
    return Prepared(verdict, rules, config, env, cwd, spec_dirs).run()


def run_plan(plan: dict[str, Any], env: Mapping[str, str], check: Check, deadline: float) -> dict[str, Any]:
    from guardsh.preview.local import paths_sections, push_force_sections
    from guardsh.preview.run import expand_globs, run
    from guardsh.preview.show import section

    item: dict[str, Any] = {"command": plan["command"], "what": plan["what"], "spec": plan["spec"],
                            "cwd": plan["cwd"], "problem": plan["problem"], "notes": list(plan["notes"]),
                            "sections": []}
    cwd = plan["cwd"]
    for step in plan["steps"]:
        argv = expand_globs(step["argv"], step["globs"], cwd)
        if step["kind"] == "local" and step["name"] == "paths":
            recursive = bool({"-r", "-R", "--recursive"} & set(step["flags"]))
            item["sections"] += paths_sections(argv, recursive, cwd, env, check, deadline)
        elif step["kind"] == "local":
            item["sections"] += push_force_sections(argv, step["flags"], step["prefix"], cwd, env, check, deadline)
        elif step["show"] == "paths":  # a search whose output is the paths (find ... -print)
            out = run(argv, cwd, env, check, deadline)
            if out.status != "ok":
                item["sections"].append(section(step["label"], out, "lines"))
                continue
            found = [line for line in out.stdout.splitlines() if line]
            secs = paths_sections(found, False, cwd, env, check, deadline)
            secs[0]["command"] = " ".join(argv)
            item["sections"] += secs
        else:
            out = run(argv, cwd, env, check, deadline)
            item["sections"].append(section(step["label"], out, step["show"]))
    bad = [s for s in item["sections"] if s["status"] != "ok"]
    item["status"] = "problem" if item["problem"] else ("failed" if bad else "ok")
    return item
