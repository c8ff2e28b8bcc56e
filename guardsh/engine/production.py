"""Production awareness: does a simple command act on a production environment, and which one?

The same ``kubectl apply`` is routine against a dev cluster and a risk against production.
For the programs that act on a named environment (aws, kubectl/oc, helm, terraform/terragrunt/
tofu, gcloud/gsutil, az, ssh) this module finds that environment the way the program itself
would (its options, then its environment variables, then the files it reads) and checks the
name against the ``production`` settings of the config.  In a production context a command
that changes state is escalated one step: reversible -> destructive (ask), destructive ->
catastrophic; read-only stays read-only.  ``terraform apply`` (already destructive: it is the
deploy step) stays destructive so that it still asks, and the approver makes the human type the
name of the context (the verdict note ``production: NAME``).

Only the programs named in ``PROGRAMS`` (and commands run through ``ssh HOST``) do any work
here; files are read only when the Context allows it, and the kubeconfig is cached by mtime.
"""
from __future__ import annotations

import os

from guardsh.engine.globs import any_match
from guardsh.engine.model import Command, Match, Risk

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardsh.engine.context import Context
    from guardsh.engine.view import View

RULE_ID = "production-context"
NOTE = "production: "

KUBE = frozenset({"kubectl", "oc", "helm"})
TERRAFORM = frozenset({"terraform", "terragrunt", "tofu"})
PROGRAMS = frozenset({"aws", "gcloud", "gsutil", "az"}) | KUBE | TERRAFORM | {"ssh"}

DEFAULT_PATTERNS = ("prod", "production", "prd", "live")
DEFAULT_EXCLUDE = ("*preprod*", "*nonprod*", "*pre-prod*", "*non-prod*")
DEFAULT_KUBE_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")

# Rules that are destructive because they carry out a deploy, not because they lose data:
# in production they stay destructive (ask, and the human types the context's name) instead of
# becoming catastrophic (deny), so that a production deploy can still be approved.
ROUTINE_CHANGE = frozenset({"terraform-apply"})

# Subcommands that only change local files (credentials, caches, plans, kubeconfig) even when
# the context is production: never escalated.
LOCAL_ONLY: dict[str, frozenset[str]] = {
    "terraform": frozenset({"init", "fmt", "validate", "plan", "workspace", "providers", "version", "get",
                            "graph", "output", "show", "console", "login", "logout", "metadata", "modules"}),
    "kubectl": frozenset({"config", "completion", "kustomize", "plugin", "version", "explain", "diff"}),
    "helm": frozenset({"repo", "search", "template", "lint", "package", "show", "inspect", "pull", "fetch",
                       "dependency", "dep", "plugin", "env", "version", "completion", "registry", "create",
                       "verify", "diff"}),
    "aws": frozenset({"configure", "sso", "sts", "help"}),
    "gcloud": frozenset({"config", "auth", "components", "info", "help", "version", "topic", "init"}),
    "az": frozenset({"login", "logout", "account", "configure", "extension", "version", "bicep", "cloud",
                     "upgrade", "find", "interactive", "config"}),
}
LOCAL_ONLY["tofu"] = LOCAL_ONLY["terragrunt"] = LOCAL_ONLY["terraform"]
LOCAL_ONLY["oc"] = LOCAL_ONLY["kubectl"] | {"login", "logout", "project", "projects", "whoami"}

UNRULED = frozenset({"gcloud", "gsutil", "az", "helm"})  # programs whose packs may be missing or partial
READ_VERBS = ("list", "list-*", "ls", "describe", "describe-*", "get", "get-*", "show", "show-*", "status",
              "history", "info", "read", "tail", "logs", "exists", "check", "search", "explain", "version", "whoami")
_CONTEXT_OPTIONS = frozenset({"--profile", "--context", "--kube-context", "--kubeconfig", "-n", "--namespace",
                              "--project", "--subscription", "-g", "--resource-group"})
def _name_words(name: str) -> list[str]:
    """Words of a name: split at camelCase, at anything but letters and digits, and between
    letters and digits (``prodEu-2`` -> prod, eu, 2).  Written out: ``re`` costs ~6 ms to import."""
    words: list[str] = []
    cur = ""
    prev = ""
    for ch in name:
        kind = "l" if ch.islower() else "u" if ch.isupper() else "d" if ch.isdigit() else ""
        if not kind or ch not in _ALNUM:
            if cur:
                words.append(cur)
            cur, prev = "", ""
            continue
        if cur and ((prev == "l" and kind == "u") or (prev in "lu" and kind == "d") or (prev == "d" and kind in "lu")):
            words.append(cur)
            cur = ""
        cur += ch.lower()
        prev = kind
    if cur:
        words.append(cur)
    return words


_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _account_ids(text: str) -> list[str]:
    """12-digit runs standing alone (AWS account ids)."""
    found: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isdigit():
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j - i == 12:
                found.append(text[i:j])
            i = j
        else:
            i += 1
    return found


class Production:
    """A production context: its name, what kind of context it is, where guardsh found it."""

    __slots__ = ("name", "kind", "source", "cap")

    def __init__(self, name: str, kind: str, source: str, cap: Risk = Risk.CATASTROPHIC) -> None:
        self.name = name
        self.kind = kind
        self.source = source
        self.cap = cap  # the highest risk this context escalates to

    def describe(self) -> str:
        return f"{self.kind} {self.name} (from {self.source})"


class Settings:
    """The ``production`` key of the config, with defaults filled in."""

    __slots__ = ("patterns", "exclude", "aws_accounts", "ssh_hosts", "kube_namespaces")

    def __init__(self, data: dict[str, object] | None = None) -> None:
        data = data or {}
        self.patterns = tuple(str(p).lower() for p in data.get("patterns", DEFAULT_PATTERNS))  # type: ignore[attr-defined]
        self.exclude = tuple(str(p).lower() for p in data.get("exclude", DEFAULT_EXCLUDE))  # type: ignore[attr-defined]
        self.aws_accounts = frozenset(_account(a) for a in data.get("aws_accounts", ()))  # type: ignore[attr-defined]
        self.ssh_hosts = tuple(str(h) for h in data.get("ssh_hosts", ()))  # type: ignore[attr-defined]
        self.kube_namespaces = tuple(str(n) for n in data.get("kube_namespaces", DEFAULT_KUBE_NAMESPACES))  # type: ignore[attr-defined]

    def is_production(self, name: str) -> bool:
        """A name is production when it, or one of its words (split at - _ . / : @, at digits
        and at camelCase), matches a pattern, and neither it nor it with - _ . removed matches
        an exclusion."""
        if not name:
            return False
        low = name.lower()
        squeezed = low.replace("-", "").replace("_", "").replace(".", "")
        if any_match(self.exclude, low) or any_match(self.exclude, squeezed):
            return False
        if any_match(self.patterns, low):
            return True
        words = _name_words(name)
        return any(w and any_match(self.patterns, w) for w in words)


def _account(value: object) -> str:
    text = str(value).strip()
    return text.zfill(12) if text.isdigit() else text


def settings(ctx: Context) -> Settings:
    cached = getattr(ctx, "_production_settings", None)
    if cached is None:
        cached = Settings(getattr(ctx.config, "production", None))
        ctx._production_settings = cached  # type: ignore[attr-defined]
    return cached


def wanted(cmd: Command) -> bool:
    """Cheap test: could this command have a production context at all?"""
    return cmd.program in PROGRAMS or (bool(cmd.via) and any(v.startswith("ssh ") for v in cmd.via))


def escalate(cmd: Command, view: View, ctx: Context, risk: Risk, matches: list[Match],
             cwd: str | None = None) -> tuple[Risk, Match | None, str | None]:
    """The risk of ``cmd`` once its context is known, the ``production-context`` match that
    explains an escalation, and the verdict note (``production: NAME ...``).  ``cwd``: where
    the command runs when an earlier ``cd`` in the same text moved it (default ``ctx.cwd``)."""
    if risk == Risk.READ_ONLY or view.help:
        return risk, None, None
    prog = cmd.program
    if prog == "ssh" and _ssh_remote(cmd):
        return risk, None, None  # the remote command is classified (and escalated) by itself
    if _local_only(prog, cmd, view) and (risk == Risk.REVERSIBLE or prog not in TERRAFORM):
        return risk, None, None  # (terraform's workspace delete, init -force-copy touch remote state)
    if not matches and prog in UNRULED and _reads(view):
        return risk, None, None  # no rule knows it (yet) and its verb reads: not a change
    prod = find(cmd, view, ctx, cwd or ctx.cwd)
    if prod is None:
        return risk, None, None
    if risk == Risk.REVERSIBLE:
        new = Risk.DESTRUCTIVE
    elif risk == Risk.DESTRUCTIVE:
        worst = [m for m in matches if m.risk == Risk.DESTRUCTIVE]
        routine = bool(worst) and all(m.rule in ROUTINE_CHANGE or _routine_stack(m, view) for m in worst)
        new = Risk.DESTRUCTIVE if routine else Risk.CATASTROPHIC
    else:
        new = risk
    new = max(risk, min(new, prod.cap))
    if new == risk and not (risk == Risk.DESTRUCTIVE and prod.cap > risk):
        return risk, None, None  # capped: nothing to add
    why = ("a production deploy: it still asks, and approving it means typing the context's name"
           if new == risk == Risk.DESTRUCTIVE else
           "changes to production are escalated one step (reversible -> destructive, "
           "destructive -> catastrophic)")
    match = Match(RULE_ID, Risk(new), f"This acts on production: {prod.describe()}; {why}.",
                  "run it against a staging context first, or ask the user to run it", cmd.text or " ".join(cmd.argv))
    note = f"{NOTE}{prod.name} ({prod.kind}, from {prod.source})"
    return Risk(new), match, note


def _reads(view: View) -> bool:
    """A read verb among the first positionals (``gcloud compute instances list``, ``az vm show``,
    ``helm status web``), for programs the rules do not cover, which default to reversible."""
    return any(any_match(READ_VERBS, w.value) for w in view.positionals[:4] if not w.dynamic)


def _routine_stack(m: Match, view: View) -> bool:
    pos = view.positionals
    return m.rule == "terragrunt-run-all-change" and len(pos) > 1 and pos[1].value == "apply"


def _local_only(prog: str, cmd: Command, view: View) -> bool:
    pos = [w.value for w in view.positionals]
    if not view.options:  # no option table: drop the values of the options this module reads
        values = [w.value for w in cmd.words[1:]]
        skip = {values[i + 1] for i, w in enumerate(values[:-1]) if w in _CONTEXT_OPTIONS}
        pos = [p for p in pos if p not in skip]
    if prog == "terragrunt" and pos and pos[0] in ("run-all", "run"):
        pos = pos[1:]
    local = LOCAL_ONLY.get(prog)
    if local and pos and pos[0] in local:
        return True
    if prog == "aws" and len(pos) >= 2:
        if pos[0] == "eks" and pos[1] == "update-kubeconfig":
            return True
        if pos[0] == "s3" and pos[1] in ("cp", "sync") and len(pos) >= 4:
            return pos[2].startswith("s3://") and not pos[-1].startswith("s3://")  # a download
    if prog == "gcloud" and len(pos) >= 3 and pos[:3] == ["container", "clusters", "get-credentials"]:
        return True
    if prog == "az" and len(pos) >= 2 and pos[:2] == ["aks", "get-credentials"]:
        return True
    if prog == "gsutil" and len(pos) >= 3 and pos[0] in ("cp", "rsync"):
        return pos[1].startswith("gs://") and not pos[-1].startswith("gs://")
    return False


# --- finding the context -----------------------------------------------------------------------

def find(cmd: Command, view: View, ctx: Context, cwd: str | None = None) -> Production | None:
    """The production context ``cmd`` acts on, or None (not production, or not known)."""
    conf = settings(ctx)
    for via in reversed(cmd.via):
        if via.startswith("ssh "):
            host = via[4:].rsplit("@", 1)[-1]
            if conf.ssh_hosts and any_match(conf.ssh_hosts, host):
                return Production(host, "ssh host", f"ssh {via[4:]}")
    prog = cmd.program
    finder = _FINDERS.get(prog)
    if finder is None:
        return None
    for prod in finder(cmd, view, ctx, conf, cwd or ctx.cwd):
        if prod is not None:
            return prod
    return None


def _option(cmd: Command, view: View, *names: str) -> tuple[str, str] | None:
    """The last value of one of the options ``names``: from the program's option table, else
    read off the words (``--project prod``, ``--project=prod``) for programs without one."""
    for name, value in reversed(view.options):
        if name in names:
            return name, value
    return _words_option([w.value for w in cmd.words[1:]], names)


def _words_option(words: list[str], names: tuple[str, ...]) -> tuple[str, str] | None:
    found = None
    i = 0
    while i < len(words):
        w = words[i]
        if w == "--":
            break
        name, eq, value = w.partition("=")
        if name in names:
            if eq:
                found = (name, value)
            elif i + 1 < len(words):
                found = (name, words[i + 1])
                i += 1
        i += 1
    return found


def _var(cmd: Command, ctx: Context, name: str) -> tuple[str, str] | None:
    """A variable's value for the command: its own assignment, else the environment."""
    for n, w in reversed(cmd.assignments):
        if n == name:
            return (w.value, f"{name}=") if not w.dynamic else None
    value = ctx.env.get(name)
    return (value, f"${name}") if value else None


def _named(conf: Settings, name: str | None, kind: str, source: str) -> Production | None:
    return Production(name, kind, source) if name and conf.is_production(name) else None


def _aws(cmd: Command, view: View, ctx: Context, conf: Settings, cwd: str):  # type: ignore[no-untyped-def]
    opt = _option(cmd, view, "--profile")
    if opt is not None:
        profile, source = opt[1], "--profile"
    else:
        found = _var(cmd, ctx, "AWS_PROFILE") or _var(cmd, ctx, "AWS_DEFAULT_PROFILE")
        profile, source = found if found else ("", "")
    yield _named(conf, profile, "AWS profile", source)
    if conf.aws_accounts:
        for w in cmd.words[1:]:
            for acct in _account_ids(w.value):
                if acct in conf.aws_accounts:
                    yield Production(acct, "AWS account", "the command line")
        if ctx.read_files:
            acct = _aws_profile_account(ctx, profile or "default")
            if acct in conf.aws_accounts:
                yield Production(acct, "AWS account", f"profile {profile or 'default'} in ~/.aws/config")


def _aws_profile_account(ctx: Context, profile: str) -> str | None:
    path = ctx.env.get("AWS_CONFIG_FILE") or os.path.join(ctx.home, ".aws", "config")
    text = _read(path)
    if not text:
        return None
    header = "[default]" if profile == "default" else f"[profile {profile}]"
    inside = False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            inside = line == header
        elif inside and "=" in line:
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if key == "sso_account_id" or key == "role_arn":
                found = _account_ids(value)
                if found:
                    return found[0]
    return None


def _kube(cmd: Command, view: View, ctx: Context, conf: Settings, cwd: str):  # type: ignore[no-untyped-def]
    prog = cmd.program
    opt = _option(cmd, view, "--kube-context" if prog == "helm" else "--context")
    if opt is not None:
        yield _named(conf, opt[1], "kube context", opt[0])
    if opt is None:
        yield from _kubeconfig(cmd, view, ctx, conf, cwd)
    ns = _option(cmd, view, "-n", "--namespace")
    if ns is not None and any_match(conf.kube_namespaces, ns[1]):
        # a system namespace is not a production cluster: changes in it ask, but a destructive
        # command there (deleting a kube-system pod, which is recreated) stays destructive
        yield Production(ns[1], "kube namespace", ns[0], Risk.DESTRUCTIVE)


def _kubeconfig(cmd: Command, view: View, ctx: Context, conf: Settings, cwd: str):  # type: ignore[no-untyped-def]
    kopt = _option(cmd, view, "--kubeconfig")
    if kopt is not None:
        files, source = [kopt[1]], "--kubeconfig"
    else:
        var = _var(cmd, ctx, "KUBECONFIG")
        if var is not None:
            files, source = [f for f in var[0].split(":") if f], var[1]
        else:
            files, source = [os.path.join(ctx.home, ".kube", "config")], "~/.kube/config"
    for f in files:
        base = os.path.basename(f)
        stem = base.rsplit(".", 1)[0] if base not in ("config",) else ""
        if stem and conf.is_production(stem):
            yield Production(stem, "kubeconfig", f"{source} {f}")
    if ctx.read_files:
        for f in files:
            path = os.path.join(ctx.home, f[2:]) if f.startswith("~/") else os.path.join(cwd, f)
            current = current_context(path)
            if current:
                yield _named(conf, current, "kube context", f"current-context in {f}")
                break


_KUBE_CACHE: dict[str, tuple[int, int, str | None]] = {}


def current_context(path: str) -> str | None:
    """``current-context:`` of a kubeconfig file, read with a line scanner, cached by mtime."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    cached = _KUBE_CACHE.get(path)
    if cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
        return cached[2]
    value = None
    text = _read(path, 4 * 1024 * 1024)
    for line in (text or "").splitlines():
        if line.startswith("current-context:"):
            value = line[len("current-context:"):].split(" #", 1)[0].strip().strip("'\"") or None
            break
    _KUBE_CACHE[path] = (st.st_mtime_ns, st.st_size, value)
    return value


def _terraform(cmd: Command, view: View, ctx: Context, conf: Settings, cwd: str):  # type: ignore[no-untyped-def]
    opt = _option(cmd, view, "-chdir", "--chdir", "--working-dir", "--terragrunt-working-dir")
    chdir = opt[1] if opt is not None else ""
    directory = os.path.normpath(os.path.join(cwd, chdir))
    var = _var(cmd, ctx, "TF_WORKSPACE")
    if var is not None:
        yield _named(conf, var[0], "terraform workspace", var[1])
    elif ctx.read_files:
        selected = (_read(os.path.join(directory, ".terraform", "environment"), 4096) or "").strip()
        yield _named(conf, selected, "terraform workspace", f"{os.path.join(chdir or '.', '.terraform/environment')}")
    ws = ctx.workspace
    if ws and (directory == ws or directory.startswith(ws.rstrip("/") + "/")):
        parts = directory[len(ws):].strip("/").split("/")
    else:
        parts = directory.strip("/").split("/")[-3:]
    for part in reversed([p for p in parts if p]):
        if conf.is_production(part):
            yield Production(part, "terraform directory", f"-chdir={chdir}" if chdir else f"the directory {directory}")
            return


def _gcloud(cmd: Command, view: View, ctx: Context, conf: Settings, cwd: str):  # type: ignore[no-untyped-def]
    opt = _option(cmd, view, "--project", "-p") if cmd.program == "gsutil" else _option(cmd, view, "--project")
    if opt is not None:
        yield _named(conf, opt[1], "gcloud project", opt[0])
        return
    for name in ("CLOUDSDK_CORE_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        var = _var(cmd, ctx, name)
        if var is not None:
            yield _named(conf, var[0], "gcloud project", var[1])
            return
    if ctx.read_files:
        config_dir = _var(cmd, ctx, "CLOUDSDK_CONFIG")
        base = config_dir[0] if config_dir else os.path.join(ctx.home, ".config", "gcloud")
        var = _var(cmd, ctx, "CLOUDSDK_ACTIVE_CONFIG_NAME")
        active = var[0] if var else (_read(os.path.join(base, "active_config"), 4096) or "").strip() or "default"
        project = _ini_value(_read(os.path.join(base, "configurations", f"config_{active}")), "core", "project")
        yield _named(conf, project, "gcloud project", f"gcloud configuration {active}")


def _ini_value(text: str | None, section: str, key: str) -> str | None:
    inside = False
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("["):
            inside = line == f"[{section}]"
        elif inside and "=" in line:
            k, _, v = line.partition("=")
            if k.strip() == key:
                return v.strip() or None
    return None


def _az(cmd: Command, view: View, ctx: Context, conf: Settings, cwd: str):  # type: ignore[no-untyped-def]
    opt = _option(cmd, view, "--subscription")
    if opt is not None:
        yield _named(conf, opt[1], "Azure subscription", opt[0])
    grp = _option(cmd, view, "-g", "--resource-group")
    if grp is not None:
        yield _named(conf, grp[1], "Azure resource group", grp[0])


def _ssh(cmd: Command, view: View, ctx: Context, conf: Settings, cwd: str):  # type: ignore[no-untyped-def]
    host = _ssh_host(cmd)
    if host and conf.ssh_hosts and any_match(conf.ssh_hosts, host.rsplit("@", 1)[-1]):
        yield Production(host.rsplit("@", 1)[-1], "ssh host", "ssh")


def _ssh_host(cmd: Command) -> str | None:
    from guardsh.engine.expansion import skip_options
    from guardsh.engine.remote import SSH_VALUE_OPTIONS

    i = skip_options(cmd.words, 1, SSH_VALUE_OPTIONS)
    return cmd.words[i].value if i < len(cmd.words) else None


def _ssh_remote(cmd: Command) -> bool:
    from guardsh.engine.expansion import skip_options
    from guardsh.engine.remote import SSH_VALUE_OPTIONS

    i = skip_options(cmd.words, 1, SSH_VALUE_OPTIONS)
    return i + 1 < len(cmd.words)


_FINDERS = {"aws": _aws, "kubectl": _kube, "oc": _kube, "helm": _kube, "terraform": _terraform,
            "terragrunt": _terraform, "tofu": _terraform, "gcloud": _gcloud, "gsutil": _gcloud, "az": _az,
            "ssh": _ssh}


def _read(path: str, limit: int = 1024 * 1024) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return None


__all__ = ["PROGRAMS", "RULE_ID", "Production", "Settings", "current_context", "escalate", "find", "wanted"]
