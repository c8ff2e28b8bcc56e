"""Where a command runs: cwd, home, workspace, environment, guardsh's own paths; and the class of
every path a command names (root, critical, workspace, regenerable, temp, unresolved...)."""
from __future__ import annotations

import os

from guardsh import paths
from guardsh.procs import birth_time
from guardsh.engine.config import Config
from guardsh.engine.globs import any_match
from guardsh.engine.model import Word

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping

SYSTEM_DIRS = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/var",
               "/opt", "/srv", "/root", "/sys", "/proc", "/snap", "/dev")
SECRET_DIRS = (".ssh", ".aws", ".kube", ".gnupg", ".config/gcloud", ".azure", ".netrc", ".git-credentials",
               ".password-store", ".docker/config.json", ".terraform.d/credentials.tfrc.json")
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
HARMLESS_DEVICES = ("/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/random",
                    "/dev/urandom", "/dev/fd", "/dev/shm", "/dev/full")
CRITICAL_DIRS = ("/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/var",
                 "/var/lib", "/opt", "/srv", "/root", "/home", "/sys", "/proc", "/dev", "/snap", "/usr/local",
                 "/usr/bin", "/usr/lib", "/usr/sbin", "/usr/share", "/var/log", "/etc/ssh")
UNRESOLVED = frozenset({"unresolved"})
OWN = frozenset({"own"})
BIRTH_SLACK = 0.010  # seconds: the coarse clock of file times (one jiffy at HZ >= 100)
PROTECTED = frozenset({"root", "critical", "home", "secrets", "git-dir", "guardsh", "device"})


def find_workspace(cwd: str, home: str, roots: tuple[str, ...] = ()) -> str | None:
    """The git root above ``cwd``, else a configured root holding it, else ``cwd`` itself
    (never ``/`` or the home directory: those are not a project)."""
    path = cwd
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return path if path not in ("/", home) else None
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for root in roots:
        root = os.path.normpath(os.path.expanduser(root))
        if cwd == root or cwd.startswith(root.rstrip("/") + "/"):
            return root
    return cwd if cwd not in ("/", home) else None


def _under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


_PREFIXES: dict[tuple[str, ...], tuple[str, ...]] = {}  # directories -> each with its trailing "/"


def _under_any(path: str, dirs: tuple[str, ...]) -> bool:
    """``any(_under(path, d) for d in dirs)``, as one ``startswith`` of the directories' prefixes."""
    if type(dirs) is not tuple:
        return any(_under(path, d) for d in dirs)
    prefixes = _PREFIXES.get(dirs)
    if prefixes is None:
        if len(_PREFIXES) >= 256:
            _PREFIXES.clear()
        prefixes = _PREFIXES[dirs] = tuple(d.rstrip("/") + "/" for d in dirs)
    return path in dirs or path.startswith(prefixes)


class Context:
    """Where a command runs: cwd, home, workspace, environment, guardsh's own paths."""

    def __init__(
        self,
        cwd: str,
        config: Config | None = None,
        env: Mapping[str, str] | None = None,
        home: str | None = None,
        workspace: str | None | bool = True,
        read_files: bool = True,
        stdin_is_tty: bool = True,
    ) -> None:
        self.config = config or Config()
        self.env = dict(os.environ if env is None else env)
        self.cwd = os.path.normpath(cwd)
        self.home = os.path.normpath(home or self.env.get("HOME") or os.path.expanduser("~"))
        if workspace is True:
            self.workspace = find_workspace(self.cwd, self.home, self.config.workspace_roots)
        else:
            self.workspace = workspace or None
        self.read_files = read_files
        self.stdin_is_tty = stdin_is_tty
        tmp = self.env.get("TMPDIR")
        self.temp_dirs = TEMP_DIRS + ((os.path.normpath(tmp),) if tmp and tmp.startswith("/") else ())
        self._own: tuple[str, tuple[str, ...]] | None = None  # (~/.cache, guardsh's own dirs), when first needed
        self.protected_extra = tuple(os.path.normpath(os.path.expanduser(p)) for p in self.config.protected_paths)
        self._classes: dict[tuple[str, str], frozenset[str]] = {}
        self._recoverable: dict[str, bool] = {}
        self._indexes: dict[str, object] = {}  # work-tree root -> gitindex.Index or None
        self._workspaces: dict[str, str | None] = {self.cwd: self.workspace}
        # guardsh -c: the environment is exactly the one bash gets, so a variable it lacks is unset
        self.env_complete = False
        # judging a command that is already running (a tool shim judging its shell's text): the
        # time it started; a file born since then did not exist before it (see ``owned``)
        self.started_at: float | None = None

    def own_dirs(self) -> tuple[str, tuple[str, ...]]:
        """The user's cache root and every directory of guardsh's own (config, state, cache...)."""
        if self._own is None:
            env_here = {**self.env, "HOME": self.home}
            self._own = (paths.user_cache_root(env_here), paths.own_dirs(env_here, self.config.audit_log))
        return self._own

    def workspace_for(self, cwd: str) -> str | None:
        """The workspace of a command that runs in ``cwd`` (after a ``cd``): the git root above
        it, else a configured root holding it, else the starting workspace if ``cwd`` is in it."""
        if cwd in self._workspaces:
            return self._workspaces[cwd]
        found: str | None = None
        if self.read_files:
            path = cwd
            while True:
                if os.path.exists(os.path.join(path, ".git")):
                    found = path if path not in ("/", self.home) else None
                    break
                parent = os.path.dirname(path)
                if parent == path:
                    break
                path = parent
        if found is None:
            for root in self.config.workspace_roots:
                root = os.path.normpath(os.path.expanduser(root))
                if _under(cwd, root):
                    found = root
                    break
        if found is None and self.workspace is not None and _under(cwd, self.workspace):
            found = self.workspace
        self._workspaces[cwd] = found
        return found

    # --- paths ------------------------------------------------------------------------

    def resolve(self, word: Word, cwd: str) -> str | None:
        """Absolute path a word names, or None when it depends on run-time values."""
        value = word.value
        if word.dynamic:
            for name in ("HOME", "PWD", "TMPDIR", "USER"):
                for form in ("${" + name + "}", "$" + name):
                    if form in value and name in self.env:
                        value = value.replace(form, self.env[name] if name != "PWD" else cwd)
            if "$" in value or "`" in value:
                return None
        if value.startswith("~"):
            head, sep, rest = value.partition("/")
            if head == "~":
                value = self.home + (sep + rest if sep else "")
            else:
                return None  # ~user: another user's home
        if word.glob:
            cut = min((value.find(c) for c in "*?[{" if c in value), default=len(value))
            base, _, _ = value[:cut].rpartition("/")
            component = value[len(base) + 1 if base or value.startswith("/") else 0:].split("/", 1)[0]
            if value.startswith("/") and not base:
                base = "/"
            whole = component in ("*", ".*", "*/", "{*,.*}", ".[!.]*") or component.startswith("*") and "/" not in component and component.strip("*") == ""
            joined = os.path.join(cwd, base or ".")
            value = joined if whole else os.path.join(joined, "_")
        return os.path.normpath(os.path.join(cwd, value))

    def path_classes(self, word: Word, cwd: str | None, created: frozenset[str] = frozenset()) -> frozenset[str]:
        """The classes of the path ``word`` names for a command running in ``cwd`` (None: unknown,
        so a relative path is unresolved); ``own`` when the command itself created it earlier and
        it did not exist before.  (``recoverable`` is asked for through ``path_in``: a workspace path
        git can restore every byte of, while the disk is still as the command found it.)"""
        if cwd is None:
            if not word.value.startswith(("/", "~")):
                return UNRESOLVED
            cwd = "/"
        key = (cwd, word.value if not word.glob else "\0" + word.value)
        cached = self._classes.get(key)
        if cached is None:
            path = self.resolve(word, cwd)
            cached = self._classify_path(path, cwd) if path is not None else self._unresolved(word, cwd)
            self._classes[key] = cached
        if created and "unresolved" not in cached and not word.glob:
            path = self.resolve(word, cwd)
            if path is not None and self.owned(path, created):
                return cached | OWN
        return cached

    def path_in(self, want: frozenset[str], word: Word, cwd: str | None, created: frozenset[str] = frozenset(),
                as_found: bool = False) -> bool:
        """Whether the path has one of the classes ``want``; ``recoverable`` is looked up on disk
        only when asked for and no cheaper class answers."""
        classes = self.path_classes(word, cwd, created)
        if classes & want:
            return True
        if "recoverable" not in want or not as_found or not self.read_files or word.glob or cwd is None:
            return False
        if "workspace" not in classes or "protected" in classes:
            return False
        path = self.resolve(word, cwd)
        return path is not None and not any(_under(c, path) for c in created) and self.recoverable(path)

    def forget_disk(self) -> None:
        """Drop what was read off the disk for an earlier command (a context may serve many)."""
        if self._recoverable or self._indexes:
            self._recoverable.clear()
            self._indexes.clear()

    def recoverable(self, path: str) -> bool:
        """A work-tree path whose content git's index holds: ``git restore`` gives it back."""
        hit = self._recoverable.get(path)
        if hit is None:
            from guardsh.engine import gitindex  # imported only when a destruction is judged

            found = gitindex.work_tree_of(path)
            index = None
            if found is not None:
                root, gitdir = found
                if root not in self._indexes:
                    self._indexes[root] = gitindex.load_index(root, gitdir)
                index = self._indexes[root]
            hit = self._recoverable[path] = index is not None and gitindex.recoverable(index, path)
        return hit

    def owned(self, path: str, created: frozenset[str]) -> bool:
        """Created by the command itself (it, or a directory holding it), and not there before."""
        hit = path in created or any(_under(path, c) for c in created)
        if not hit:
            return False
        if not (self.read_files and os.path.lexists(path)):
            return True
        if self.started_at is None:
            return False
        born = birth_time(path)
        # file times come from the kernel's coarse clock (a jiffy, up to 10 ms, behind the
        # true time): a file the command made can look born a little before it started
        return born is not None and born >= self.started_at - BIRTH_SLACK

    def _unresolved(self, word: Word, cwd: str) -> frozenset[str]:
        classes = {"unresolved"}
        prefix = word.value.split("$", 1)[0].split("`", 1)[0]
        if "/" in prefix:
            static = prefix.rsplit("/", 1)[0] or "/"
            base = self._classify_path(os.path.normpath(os.path.join(cwd, os.path.expanduser(static))), cwd)
            classes |= {c for c in base if c not in ("workspace-root",)}
            if static == "/" or prefix == "/":
                classes |= {"root", "protected"}
        return frozenset(classes)

    def _classify_path(self, path: str, cwd: str | None = None) -> frozenset[str]:
        classes: set[str] = set()
        home = self.home
        ws = self.workspace if cwd is None or cwd == self.cwd else self.workspace_for(cwd)
        if path == "/":
            classes.add("root")
        if path in CRITICAL_DIRS or path == home:
            classes.add("critical")
        owned = _under(path, home) or (ws is not None and _under(path, ws))
        if not owned and _under_any(path, self.temp_dirs):
            classes.add("temp")  # a workspace or home that lives under /tmp is not scratch space
        elif path.startswith("/dev/") and not _under_any(path, HARMLESS_DEVICES):
            classes.add("device")
        cache_dir, guardsh_dirs = self.own_dirs()
        if _under_any(path, guardsh_dirs):
            classes.add("guardsh")
        elif _under(path, cache_dir) and path != cache_dir:
            classes.add("cache")  # ~/.cache/pip, ~/.cache/go-build: regenerable by definition
        if path == home:
            classes.add("home")
        elif _under(path, home):
            rel = path[len(home) + 1:]
            if _under_any(rel, SECRET_DIRS):  # (no entry ends with "/")
                classes.add("secrets")
        elif "temp" not in classes and (path == "/home" or _under_any(path, SYSTEM_DIRS)):
            if not _under_any(path, HARMLESS_DEVICES):
                classes.add("system")
        if "/.git/" in path + "/":
            classes.add("git-dir")
            if path.endswith("/.git"):
                classes.add("critical")
        rel_home = path[len(home) + 1:] if _under(path, home) and path != home else ""
        if rel_home in SECRET_DIRS:
            classes.add("critical")
        if _under_any(path, self.protected_extra):
            classes.add("system")
        if ws is not None and _under(path, ws):
            classes.add("workspace")
            if path == ws:
                classes.add("workspace-root")
            else:
                parts = path[len(ws) + 1:].split("/")
                if any(any_match(self.config.regenerable, p) for p in parts):
                    classes.add("regenerable")
        elif "temp" not in classes and not _under_any(path, HARMLESS_DEVICES):
            classes.add("outside-workspace")
        if classes & PROTECTED:
            classes.add("protected")
        return frozenset(classes)
