"""``guardsh snapshots`` and ``guardsh undo [ID] [--dry-run]``."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from guardsh.engine.config import ConfigError, load_config
from guardsh.engine.context import find_workspace
from guardsh.undo.store import MB, SnapshotError, Store


def _workspace() -> str | None:
    cwd = os.getcwd()
    config = None
    try:
        config = load_config()
    except ConfigError:
        pass
    return find_workspace(cwd, os.environ.get("HOME") or os.path.expanduser("~"),
                          config.workspace_roots if config else ())


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _in_workspace(m: dict[str, object], ws: str | None) -> bool:
    return ws is not None and m.get("workspace") == ws


def snapshots_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="guardsh snapshots",
                                     description="List the snapshots guardsh took before destructive commands.")
    parser.add_argument("--all", action="store_true", help="every workspace, not only the current one")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    store = Store()
    ws = _workspace()
    now = time.time()
    shown = [m for m in store.manifests() if args.all or _in_workspace(m, ws)]
    for m in reversed(shown):
        paths = [p for p in m.get("paths", ()) if isinstance(p, dict) and p.get("type") != "absent"]  # type: ignore[union-attr]
        if args.json:
            sys.stdout.write(json.dumps({"id": m["id"], "time": m.get("iso"), "kind": m.get("kind"),
                                         "command": m.get("command"), "cwd": m.get("cwd"),
                                         "workspace": m.get("workspace"), "paths": len(paths),
                                         "git": len(m.get("git", ()) or ()), "bytes": m.get("bytes")}) + "\n")  # type: ignore[arg-type]
            continue
        size = int(m.get("bytes", 0) or 0)  # type: ignore[call-overload]
        git = " +git" if m.get("git") else ""
        kind = " (before an undo)" if m.get("kind") == "restore" else ""
        sys.stdout.write(f"{m['id']}  {_age(now - float(m.get('time', now))):>4} ago  {len(paths):>5} paths{git}  "  # type: ignore[arg-type]
                         f"{size / MB:7.1f} MB  {m.get('command')}{kind}\n")
    if not shown and not args.json:
        where = "anywhere" if args.all else f"in {ws or os.getcwd()} (--all: every workspace)"
        sys.stdout.write(f"no snapshots {where}\n")
    return 0


def undo_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="guardsh undo",
                                     description="Put back what a command destroyed (default: the newest snapshot "
                                                 "of the current workspace).")
    parser.add_argument("id", nargs="?", help="the snapshot (see guardsh snapshots)")
    parser.add_argument("--dry-run", "-n", action="store_true", help="show what would be put back; change nothing")
    args = parser.parse_args(argv)
    store = Store()
    sid = args.id
    if sid is None:
        ws = _workspace()
        mine = [m for m in store.manifests() if _in_workspace(m, ws)]
        if not mine:
            sys.stderr.write(f"guardsh undo: no snapshots of the workspace {ws or os.getcwd()} "
                             "(guardsh snapshots --all lists every one; name one: guardsh undo ID)\n")
            return 2
        sid = str(mine[-1]["id"])
    from guardsh.undo.restore import restore
    from guardsh.undo.snapshot import Limits

    try:
        config = load_config()
    except ConfigError as e:
        sys.stderr.write(f"guardsh undo: {e}\n")
        return 2
    try:
        manifest = store.load(sid)
        result = restore(sid, args.dry_run, store, Limits(config.undo))
    except SnapshotError as e:
        sys.stderr.write(f"guardsh undo: {e}\n")
        return 2 if "no snapshot" in str(e) else 1
    verb = "would put back" if args.dry_run else "put back"
    out = sys.stdout
    out.write(f"snapshot {sid} ({manifest.get('iso')}, before: {manifest.get('command')})\n")
    if result.saved_as:
        out.write(f"what was there first is saved as snapshot {result.saved_as} (guardsh undo {result.saved_as})\n")
    for line in result.git:
        out.write(f"  {verb} {line}\n")
    for line in result.restored:
        out.write(f"  {verb} {line}\n")
    if result.unchanged:
        out.write(f"  {len(result.unchanged)} path(s) already as saved (checked by sha256)\n")
    for line in result.manual:
        out.write(f"  to do yourself: {line}\n")
    for line in result.failed:
        sys.stderr.write(f"guardsh undo: FAILED {line}\n")
    if not (result.git or result.restored or result.failed):
        out.write("  nothing to put back: everything is as it was saved\n")
    return 1 if result.failed else 0
