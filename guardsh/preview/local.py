"""Local previews computed by guardsh itself: what a deletion would take (counts, size, the largest
paths, git state) and what a force push would drop from the remote branch.  The git commands
these run are classified like every preview command (``check``)."""
from __future__ import annotations

import os
import stat
import time
from typing import Any, Mapping

from guardsh.preview.run import Check, Output, run
from guardsh.preview.show import bound, section

MAX_ENTRIES = 200_000  # entries walked before the counts say "at least"
MAX_REPOS = 5


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def paths_sections(paths: list[str], recursive: bool, cwd: str, env: Mapping[str, str], check: Check,
                   deadline: float) -> list[dict[str, Any]]:
    """Counts, total size, the largest files, and tracked files with uncommitted changes."""
    files = dirs = total = 0
    largest: list[tuple[int, str]] = []
    missing: list[str] = []
    walked = 0
    stopped = ""
    absolute = []
    for p in paths:
        full = os.path.normpath(os.path.join(cwd, p))
        try:
            st = os.lstat(full)
        except OSError:
            missing.append(p)
            continue
        absolute.append(full)
        stack = [(full, st)]
        while stack:
            path, st = stack.pop()
            walked += 1
            if walked > MAX_ENTRIES or time.monotonic() > deadline:
                stopped = "at least (stopped counting)"
                stack.clear()
                break
            if stat.S_ISDIR(st.st_mode):
                dirs += 1
                if not recursive:
                    continue
                try:
                    with os.scandir(path) as it:
                        for entry in it:
                            try:
                                stack.append((entry.path, entry.stat(follow_symlinks=False)))
                            except OSError:
                                continue
                except OSError:
                    continue
            else:
                files += 1
                total += st.st_size
                largest.append((st.st_size, path))
                if len(largest) > 50:
                    largest = sorted(largest, reverse=True)[:5]
    largest = sorted(largest, reverse=True)[:5]
    summary = (f"{stopped + ' ' if stopped else ''}{files} file{'s' if files != 1 else ''}, "
               f"{dirs} director{'ies' if dirs != 1 else 'y'}, {human_size(total)}")
    lines = [f"{human_size(size):>10}  {os.path.relpath(path, cwd)}" for size, path in largest]
    if missing:
        lines.append(f"not there: {', '.join(missing[:10])}" + (" …" if len(missing) > 10 else ""))
    sections = [{"label": "would remove", "command": "(counted by guardsh)", "status": "ok", "summary": summary,
                 "lines": bound(lines), "exit": 0}]
    sections += git_state(absolute, cwd, env, check, deadline)
    return sections


def git_state(paths: list[str], cwd: str, env: Mapping[str, str], check: Check, deadline: float) -> list[dict[str, Any]]:
    """For each git work tree the paths are in: the tracked files among them with uncommitted changes."""
    by_top: dict[str, list[str]] = {}
    tops: dict[str, str | None] = {}
    for p in paths:
        parent = p if os.path.isdir(p) and not os.path.islink(p) else os.path.dirname(p)
        if parent not in tops:
            out = run(["git", "-C", parent, "rev-parse", "--show-toplevel"], cwd, env, check, deadline)
            tops[parent] = out.stdout.strip() if out.status == "ok" else None
        top = tops[parent]
        if top and len(by_top) < MAX_REPOS or top in by_top:
            by_top.setdefault(top, []).append(os.path.relpath(p, top))  # type: ignore[arg-type]
    sections = []
    for top, rel in by_top.items():
        out = run(["git", "-C", top, "status", "--porcelain=v1", "--untracked-files=all", "--", *rel], cwd, env,
                  check, deadline)
        if out.status != "ok":
            sections.append(section(f"git state in {top}", out, "lines"))
            continue
        changed = [line for line in out.stdout.splitlines() if line and not line.startswith("??")]
        untracked = [line[3:] for line in out.stdout.splitlines() if line.startswith("??")]
        tracked = run(["git", "-C", top, "ls-files", "--", *rel], cwd, env, check, deadline)
        n_tracked = len(tracked.stdout.splitlines()) if tracked.status == "ok" else 0
        summary = (f"{n_tracked} tracked file{'s' if n_tracked != 1 else ''} (committed versions stay in git); "
                   f"{len(changed)} with uncommitted changes (lost); {len(untracked)} untracked (lost)")
        lines = [f"uncommitted: {line[3:]}" for line in changed] + [f"untracked: {u}" for u in untracked]
        sections.append({"label": f"git ({top})", "command": f"git -C {top} status --porcelain -- …",
                         "status": "ok", "summary": summary, "lines": bound(lines), "exit": 0})
    return sections


def push_force_sections(args: list[str], flags: list[str], prefix: list[str], cwd: str, env: Mapping[str, str], check: Check,
                        deadline: float) -> list[dict[str, Any]]:
    """The commits each pushed remote branch holds that the pushed commit does not: they leave it."""
    git = ["git", *prefix]
    positional = [a for a in args if not a.startswith("-")]
    if positional:
        remote, refspecs = positional[0], positional[1:]
    else:
        out = run([*git, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{push}"], cwd, env, check, deadline)
        remote, _, branch = out.stdout.strip().partition("/")
        if out.status != "ok" or not branch:
            return [section("push target", out, "lines") if out.status != "ok" else
                    _note("push target", "the current branch has no push target: nothing to compare")]
        refspecs = [f"HEAD:{branch}"]
    if not refspecs:
        out = run([*git, "rev-parse", "--abbrev-ref", "HEAD"], cwd, env, check, deadline)
        refspecs = [out.stdout.strip() or "HEAD"]
    if "--delete" in flags or "-d" in flags:
        refspecs = [":" + r.partition(":")[2 if ":" in r else 0] for r in refspecs]
    sections = []
    fetch = run([*git, "fetch", "--dry-run", remote], cwd, env, check, deadline)
    moved = _lines(fetch.stderr + fetch.stdout)
    if fetch.status == "ok" and moved:
        sections.append({"label": "the remote moved since the last fetch", "command": "git fetch --dry-run " + remote,
                         "status": "ok", "summary": f"{len(moved)} line(s): the comparison below is against a stale ref",
                         "lines": bound(moved), "exit": 0})
    elif fetch.status != "ok":
        sec = section("git fetch --dry-run", fetch, "lines")
        sec["summary"] = "could not check the remote (" + sec["summary"] + "); comparing with the last fetched state"
        sections.append(sec)
    for spec in refspecs[:8]:
        src, colon, dst = spec.lstrip("+").partition(":")
        dst = (dst if colon else src).removeprefix("refs/heads/")
        tracking = f"{remote}/{dst}"
        exists = run([*git, "rev-parse", "--verify", "--quiet", f"refs/remotes/{tracking}"], cwd, env, check, deadline)
        if exists.status != "ok":
            sections.append(_note(f"{tracking}", f"no remote-tracking ref {tracking}: guardsh cannot tell what the "
                                  "remote branch holds (it may be new)"))
            continue
        keep = ["--not", src or "HEAD"] if src else []
        label = f"commits {tracking} would lose" if src else f"{tracking} would be deleted with its commits"
        out = run([*git, "log", "--oneline", "--max-count=50", f"refs/remotes/{tracking}", *keep, "--"], cwd, env,
                  check, deadline)
        sections.append(section(label, out, "commits"))
    return sections


def _note(label: str, text: str) -> dict[str, Any]:
    return {"label": label, "command": "(guardsh)", "status": "ok", "summary": text, "lines": [], "exit": 0}


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


__all__ = ["Output", "human_size", "paths_sections", "push_force_sections"]
