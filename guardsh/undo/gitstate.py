"""git state a command would lose, saved where ``git gc`` cannot take it, and put back.

Every commit, tree or tag a snapshot needs is pointed at by a ref under
``refs/guardsh/snapshots/ID/`` in the repository itself (refs keep objects alive through gc and
prune).  Saved: the value of every ref (and where HEAD points), a stash-like commit of the
worktree and index (``git stash create``) and the index tree, the files a ``git clean`` would
remove and the tracked files a reset or checkout would overwrite (as ordinary file entries of the
snapshot), the stash list, and for a force push the remote's old tips as the local
remote-tracking refs know them.
"""
from __future__ import annotations

import os

from guardsh.engine.undoplan import FileTarget, GitTarget
from guardsh.undo.errors import SnapshotError

NAMESPACE = "refs/guardsh/snapshots/"
# git >= 2.36 can fsync refs as well as objects: the snapshot must be on disk before the command runs
GIT = ("git", "-c", "core.fsync=committed,reference", "-c", "core.quotePath=false")


def git(repo: str, *args: str, check: bool = True, input: bytes | None = None) -> str:
    import subprocess  # only where there is git state to save

    try:
        out = subprocess.run(GIT + ("-C", repo) + args, input=input, capture_output=True, timeout=120,
                             env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SnapshotError(f"git {' '.join(args)} in {repo}: {e}") from None
    if check and out.returncode != 0:
        err = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SnapshotError(f"git {' '.join(args)} in {repo} failed: {err[-1] if err else out.returncode}")
    return out.stdout.decode("utf-8", "surrogateescape")


def all_refs(repo: str) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(objectname) %(refname)")
    refs = {}
    for line in out.splitlines():
        sha, _, name = line.partition(" ")
        if not name.startswith(NAMESPACE):
            refs[name] = sha
    return refs


def head(repo: str) -> dict[str, str | None]:
    symbolic = git(repo, "symbolic-ref", "-q", "HEAD", check=False).strip() or None
    sha = git(repo, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).strip() or None
    return {"symbolic": symbolic, "sha": sha}


def _restore_refs(target: GitTarget, refs: dict[str, str], head_state: dict[str, str | None]) -> list[str]:
    if target.refs == "HEAD":
        return [head_state["symbolic"] or "HEAD"]
    if target.refs == "all":
        return sorted(r for r in refs if r.startswith(("refs/heads/", "refs/tags/")))
    if target.refs == "names":
        out = []
        for name in target.ref_names:
            if name == "HEAD":
                out.append(head_state["symbolic"] or "HEAD")
            elif name.startswith("refs/"):
                out.append(name)
            else:
                out.append(next((p + name for p in ("refs/", "refs/heads/", "refs/tags/") if p + name in refs),
                                "refs/heads/" + name))
        return out
    return []


def _unquote(path: str) -> str:
    if len(path) >= 2 and path[0] == '"' and path[-1] == '"':
        import codecs

        return codecs.escape_decode(path[1:-1].encode("utf-8", "surrogateescape"))[0].decode(  # type: ignore[attr-defined]
            "utf-8", "surrogateescape")
    return path


def capture(target: GitTarget) -> tuple[dict[str, object], list[FileTarget], list[str]]:
    """(the manifest entry, files to save as well, shas to keep alive) for one git target."""
    lines = git(target.repo, "rev-parse", "--absolute-git-dir", "--show-toplevel").splitlines()
    gitdir = lines[0]
    top = lines[1] if len(lines) > 1 else gitdir  # a bare repository has no worktree
    refs = all_refs(target.repo)
    head_state = head(target.repo)
    entry: dict[str, object] = {"repo": top, "gitdir": gitdir, "cwd": target.repo, "sub": target.sub,
                                "head": head_state, "refs": refs,
                                "restore_refs": _restore_refs(target, refs, head_state)}
    keep = [sha for sha in refs.values()]
    files: list[FileTarget] = []
    if target.worktree and top != gitdir:
        stash = git(top, "stash", "create").strip() or None
        index_tree = git(top, "write-tree", check=False).strip() or None
        changed = git(top, "diff", "--name-only", "-z", "HEAD", check=False) if head_state["sha"] else \
            git(top, "ls-files", "-z")
        modified = sorted({os.path.join(top, p) for p in changed.split("\0") if p})
        entry["worktree"] = {"stash": stash, "index_tree": index_tree, "files": modified}
        keep += [s for s in (stash, index_tree) if s]
        files += [FileTarget(p, False) for p in modified]
        if target.commit:  # untracked (or ignored) files that the commit's tree would overwrite
            theirs = set(git(top, "ls-tree", "-r", "-z", "--name-only", target.commit, check=False).split("\0"))
            untracked = git(top, "ls-files", "-z", "--others").split("\0")
            files += [FileTarget(os.path.join(top, p), False) for p in untracked if p and p in theirs]
    if target.clean_args is not None:
        out = git(target.repo, "clean", "-n", *target.clean_args)
        removed = []
        for line in out.splitlines():
            if line.startswith("Would remove "):
                rel = _unquote(line[len("Would remove "):])
                removed.append(os.path.normpath(os.path.join(target.repo, rel)))
        entry["clean"] = removed
        files += [FileTarget(p, True) for p in removed]
    if target.stash:
        out = git(target.repo, "stash", "list", "--format=%H%x1f%gs", check=False)
        stashes = [dict(zip(("sha", "message"), line.split("\x1f", 1))) for line in out.splitlines() if line]
        entry["stash"] = stashes
        keep += [s["sha"] for s in stashes]
    if target.linked:  # the worktree's administrative directory in the main repository goes too
        admin = git(target.linked, "rev-parse", "--absolute-git-dir", check=False).strip()
        if admin and os.path.isdir(admin) and admin != gitdir:
            entry["linked"] = {"path": target.linked, "admin": admin}
            files.append(FileTarget(admin, True))
    if target.push is not None:
        entry["push"] = _push_state(target, refs, head_state)
    return entry, files, keep


def _push_state(target: GitTarget, refs: dict[str, str], head_state: dict[str, str | None]) -> dict[str, object]:
    names = [n for n in target.push or () if n]
    remotes = set(git(target.repo, "remote").split())
    branch = (head_state["symbolic"] or "").removeprefix("refs/heads/")
    if names and (names[0] in remotes or "/" in names[0] or ":" in names[0].lstrip("+") and names[0] not in refs):
        remote, specs = names[0], names[1:]
    else:
        remote = git(target.repo, "config", f"branch.{branch}.remote", check=False).strip() or "origin"
        specs = names
    if remote in remotes:
        url = git(target.repo, "remote", "get-url", remote, check=False).strip()
        name = remote
    else:
        url, name = remote, None
    dsts = []
    for spec in specs or [branch]:
        spec = spec.lstrip("+")
        src, _, dst = spec.partition(":")
        dst = dst or src
        if dst == "HEAD":
            dst = branch
        dsts.append(dst.removeprefix("refs/heads/"))
    tips: dict[str, str | None] = {}
    for dst in dsts:
        tips[dst] = refs.get(f"refs/remotes/{name}/{dst}") if name else None
    return {"remote": remote, "url": url, "tips": tips}


def keep_alive(repo: str, sid: str, shas: list[str]) -> None:
    """Point refs/guardsh/snapshots/ID/N at each sha, so gc keeps what the snapshot needs."""
    lines = "".join(f"update {NAMESPACE}{sid}/{i} {sha}\n" for i, sha in enumerate(dict.fromkeys(shas)))
    if lines:
        git(repo, "update-ref", "--stdin", input=lines.encode())


def drop_refs(entry: object, sid: str) -> None:
    if not isinstance(entry, dict) or not os.path.isdir(str(entry.get("gitdir", ""))):
        return
    repo = str(entry.get("gitdir"))
    try:
        out = git(repo, "for-each-ref", "--format=%(refname)", f"{NAMESPACE}{sid}/")
        lines = "".join(f"delete {r}\n" for r in out.split())
        if lines:
            git(repo, "update-ref", "--stdin", input=lines.encode())
    except SnapshotError:
        pass


# --- putting it back ---------------------------------------------------------------------------

def restore_refs(entry: dict[str, object], report: list[str], dry_run: bool) -> bool:
    """Put the saved refs (and HEAD) back; True when HEAD's commit changed (the worktree follows)."""
    repo = str(entry["gitdir"])
    saved: dict[str, str] = entry.get("refs", {})  # type: ignore[assignment]
    now = all_refs(repo)
    head_now = head(repo)
    saved_head: dict[str, str | None] = entry.get("head", {})  # type: ignore[assignment]
    commands = []
    for ref in entry.get("restore_refs", ()):  # type: ignore[union-attr]
        if ref == "HEAD":
            want = saved_head.get("sha")
            if want and head_now["sha"] != want:
                commands.append(("HEAD", want, head_now["sha"]))
            continue
        want = saved.get(ref)
        have = now.get(ref)
        if want != have:
            commands.append((ref, want, have))
    for ref, want, have in commands:
        report.append(f"ref {ref}: {(have or 'absent')[:12]} -> {(want or 'absent')[:12]}")
        if dry_run:
            continue
        if want is None:
            git(repo, "update-ref", "-d", ref)
        elif ref == "HEAD":
            git(repo, "update-ref", "--no-deref", "HEAD", want)
        else:
            git(repo, "update-ref", "-m", "guardsh undo", ref, want)
    symbolic = saved_head.get("symbolic")
    if symbolic and head_now["symbolic"] != symbolic and symbolic in (saved or {}):
        report.append(f"HEAD -> {symbolic}")
        if not dry_run:
            git(repo, "symbolic-ref", "HEAD", symbolic)
    return bool(saved_head.get("sha")) and head_now["sha"] != saved_head.get("sha")


def restore_worktree(entry: dict[str, object], head_moved: bool, report: list[str], dry_run: bool) -> None:
    """The worktree at the saved HEAD (the saved files are written after this), the index as it was."""
    wt = entry.get("worktree")
    if not isinstance(wt, dict):
        return
    top = str(entry["repo"])
    if head_moved:
        report.append(f"worktree of {top}: checked out {str(entry['head']['sha'])[:12]}")  # type: ignore[index]
        if not dry_run:
            git(top, "reset", "-q", "--hard")
    if wt.get("index_tree"):
        report.append(f"index of {top}: {str(wt['index_tree'])[:12]}")
        if not dry_run:
            git(top, "read-tree", str(wt["index_tree"]))


def restore_stash(entry: dict[str, object], report: list[str], dry_run: bool) -> None:
    saved = entry.get("stash")
    if not isinstance(saved, list):
        return
    present = set(git(str(entry["repo"]), "stash", "list", "--format=%H", check=False).split())
    for item in reversed(saved):  # oldest first, so the newest ends up as stash@{0}
        if item["sha"] in present:
            continue
        report.append(f"stash {item['sha'][:12]}: {item.get('message', '')}")
        if not dry_run:
            git(str(entry["repo"]), "stash", "store", "-m", item.get("message", "guardsh undo"), item["sha"])


def is_local_url(url: str) -> bool:
    if url.startswith("file://"):
        return True
    if "://" in url:
        return False
    head = url.split("/", 1)[0]
    return not (":" in head and not head.startswith("."))  # host:path is ssh


def restore_push(entry: dict[str, object], report: list[str], dry_run: bool) -> list[str]:
    """Push the old tips back to a remote on this machine; for others, the command to run."""
    push = entry.get("push")
    if not isinstance(push, dict):
        return []
    repo = str(entry["repo"])
    url = str(push["url"])
    todo = []
    for dst, sha in push["tips"].items():
        if sha is None:
            todo.append(f":refs/heads/{dst}")
        else:
            todo.append(f"+{sha}:refs/heads/{dst}")
    if not todo:
        return []
    if not is_local_url(url):
        return [f"git -C {repo} push {push['remote']} " + " ".join(todo) +
                "   (the remote is on another machine: guardsh does not push for you)"]
    for spec in todo:
        report.append(f"remote {url}: {spec}")
    if not dry_run:
        git(repo, "push", "-q", "--no-verify", str(push["remote"]), *todo)
    return []
