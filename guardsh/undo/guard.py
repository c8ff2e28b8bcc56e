"""The policy of issue 14, for the faces: save first, and let a saved destruction through.

``protect`` looks at a verdict before it is acted on.  When the command destroys local files or
git state that a snapshot can hold:

- an ``ask`` whose every destructive part is such a destruction inside the workspace (see
  ``undoplan.lowerable``) is lowered to reversible, *once the snapshot is on disk*; if the
  snapshot fails it stays ``ask`` (the command does not run unattended);
- an ``allow`` is saved too, best effort (what it destroys inside the workspace);
- an ``ask`` that stays ``ask`` is saved by ``after_approval`` once a human approved it.
"""
from __future__ import annotations

import os
import sys

from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.model import Decision, Risk, Verdict
from guardsh.engine.undoplan import FileTarget, GitTarget, Plan, lowerable, plan
from guardsh.undo.errors import TooLarge


class Protection:
    """What ``protect`` did: the verdict to act on, the snapshot taken (if any), and for an ``ask``
    that stays one, the plan to save after approval."""

    def __init__(self, verdict: Verdict, snapshot: str | None = None, pending: Plan | None = None,
                 ctx: Context | None = None) -> None:
        self.verdict = verdict
        self.snapshot = snapshot
        self.pending = pending
        self.ctx = ctx


def line(sid: str) -> str:
    return (f"guardsh: saved what this command destroys as snapshot {sid}; "
            f"to take it back: guardsh undo {sid}\n")


def _inside(found: Plan, ctx: Context) -> tuple[list[FileTarget], list[GitTarget]]:
    """The targets inside a workspace and not regenerable (for saves that lower nothing)."""
    files = []
    for p in found.commands:
        cwd = p.command.cwd or ctx.cwd
        ws = ctx.workspace_for(cwd)
        for f in p.files:
            classes = ctx._classify_path(f.path, cwd)
            if ws and "workspace" in classes and "regenerable" not in classes and "git-dir" not in classes \
                    and os.path.lexists(f.path):
                files.append(f)
    gits = [g for g in found.git if ctx.workspace_for(g.repo)]
    return files, gits


def _take(files: list[FileTarget], gits: list[GitTarget], verdict: Verdict, ctx: Context,
          config: Config) -> str:
    from guardsh.undo.snapshot import Limits, take  # only when there is something to save

    def regenerable(path: str) -> bool:  # deleting it is routine (the rules allow it): no need to keep it
        return "regenerable" in ctx._classify_path(path, ctx.cwd)

    manifest = take(files, gits, verdict.command, ctx.cwd, ctx.workspace, Limits(config.undo), skip=regenerable)
    return str(manifest["id"])


def protect(verdict: Verdict, config: Config, cwd: str | None = None) -> Protection:
    settings = config.undo
    if not settings.get("enabled", True) or verdict.decision == Decision.DENY:
        return Protection(verdict)
    ctx = Context(cwd or os.getcwd(), config)
    found = plan(verdict, ctx.home)
    if found.empty:
        return Protection(verdict)
    if verdict.decision == Decision.ASK:
        why_not = lowerable(verdict, found, ctx, bool(settings.get("lower", True)),
                            bool(settings.get("lower_outside_workspace", False)))
        if why_not is not None:
            return Protection(verdict, pending=found, ctx=ctx)
        try:
            sid = _take(list(found.files), list(found.git), verdict, ctx, config)
        except TooLarge as e:
            sys.stderr.write(f"guardsh: not saved first: {e}; so it needs approval as usual\n")
            return Protection(verdict, pending=found, ctx=ctx)
        except Exception as e:  # SnapshotError, OSError, or a fault of guardsh's own: it asks either way
            sys.stderr.write(f"guardsh: the snapshot before this command failed ({e}); "
                             "it does not run unattended, so it needs approval\n")
            return Protection(verdict, pending=found, ctx=ctx)
        unknown = any(n.startswith("unknown program: ") for n in verdict.notes)
        lowered = Verdict(verdict.command, config.decide(Risk.REVERSIBLE, verdict.parse == "opaque", unknown),
                          Risk.REVERSIBLE, verdict.matches, verdict.parse, verdict.commands,
                          verdict.notes + (f"saved first as snapshot {sid} (guardsh undo {sid})",), verdict.texts)
        sys.stderr.write(line(sid))
        return Protection(lowered, sid, ctx=ctx)
    # allowed anyway: its files are saved without a word on stderr (what runs is transparent), the audit
    # record has the id; git state is not (what git lets through unasked, its reflog keeps, and a dozen git
    # processes on every checkout would cost more than the command)
    return Protection(verdict, _save_quietly(found, verdict, ctx, config, quiet=True, git=False), ctx=ctx)


def after_approval(protection: Protection, config: Config) -> str | None:
    """An approved command that was not lowered: save what it destroys before it runs."""
    if protection.pending is None or protection.ctx is None:
        return None
    return _save_quietly(protection.pending, protection.verdict, protection.ctx, config)


def _save_quietly(found: Plan, verdict: Verdict, ctx: Context, config: Config, quiet: bool = False,
                  git: bool = True) -> str | None:
    files, gits = _inside(found, ctx)
    if not git:
        gits = []
    if not files and not gits:
        return None
    try:
        sid = _take(files, gits, verdict, ctx, config)
    except TooLarge:
        return None  # a routine deletion of something big: it runs as it always did
    except Exception as e:  # a command allowed anyway is not stopped by a failed save
        if not quiet:
            sys.stderr.write(f"guardsh: warning: could not save what this command destroys first ({e})\n")
        return None
    if not quiet:
        sys.stderr.write(line(sid))
    return sid
