"""Configuration: the policy (risk -> decision), the real bash, workspace and path settings.

Read from ``/etc/guardsh/config.yaml`` then ``~/.config/guardsh/config.yaml`` (the user file
overrides the system one unless the system file says ``locked: true``).  With no config file
nothing is parsed: the defaults below apply.  A parsed config is cached like the rules.
"""
from __future__ import annotations

import marshal
import os

from guardsh import paths
from guardsh.engine import caches
from guardsh.engine.model import Decision, Risk

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KEYS = ("profile", "decisions", "bash", "workspace_roots", "regenerable", "protected_paths",
        "trusted_sources", "disabled_rules", "locked", "audit_log",
        # the approver (guardsh approver, issue 3)
        "approval_timeout", "approval_mode", "grant_validity", "session_grant_validity",
        "catastrophic_two_approvers", "circuit_breaker", "denial_memory", "approver_socket", "approver_uid",
        # production awareness (guardsh/engine/production.py, issue 6)
        "production",
        # snapshots before destruction and guardsh undo (guardsh/undo, issue 14)
        "undo",
        # blast-radius previews shown to the approver (guardsh/preview/, issue 15)
        "preview_timeout")
APPROVAL_MODES = ("auto", "wait", "deferred")
DEFAULT_CIRCUIT_BREAKER = {"max": 10, "window": 300}
PROFILES = ("default", "strict")
# undo: save what a command destroys first; lower a destructive command to reversible once saved
# (inside the workspace; outside it too with lower_outside_workspace); size caps; retention.
DEFAULT_UNDO = {"enabled": True, "lower": True, "lower_outside_workspace": False,
                "max_snapshot_mb": 512, "max_total_mb": 4096, "max_age_days": 7}
DEFAULT_DECISIONS = {"read-only": "allow", "reversible": "allow", "destructive": "ask", "catastrophic": "deny"}
DEFAULT_REGENERABLE = (
    "node_modules", "dist", "build", "target", "__pycache__", ".venv", "venv", ".cache",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox", "coverage", "htmlcov",
    ".next", ".nuxt", ".parcel-cache", ".turbo", ".gradle", ".eggs", "*.egg-info", ".sass-cache",
    ".terraform", "*.pyc", "*.pyo", "*.o", "*.class", ".coverage", "out",
)


class ConfigError(Exception):
    """The config file is invalid; the message names the file and key."""


class Config:
    __slots__ = ("profile", "decisions", "bash", "workspace_roots", "regenerable", "protected_paths",
                 "trusted_sources", "disabled_rules", "files", "audit_log",
                 "approval_timeout", "approval_mode", "grant_validity", "session_grant_validity",
                 "catastrophic_two_approvers", "breaker_max", "breaker_window", "denial_memory",
                 "approver_socket", "approver_uid", "production", "undo", "preview_timeout")

    def __init__(self, data: dict[str, Any] | None = None, files: tuple[str, ...] = ()) -> None:
        data = data or {}
        self.files = files
        self.profile: str = data.get("profile", "default")
        decisions = dict(DEFAULT_DECISIONS)
        decisions.update(data.get("decisions", {}))
        self.decisions = tuple(Decision.parse(decisions[r]) for r in Risk.LABELS)
        self.bash: str | None = data.get("bash")
        self.workspace_roots: tuple[str, ...] = tuple(data.get("workspace_roots", ()))
        self.regenerable = frozenset(DEFAULT_REGENERABLE) | frozenset(data.get("regenerable", ()))
        self.protected_paths: tuple[str, ...] = tuple(data.get("protected_paths", ()))
        self.trusted_sources: tuple[str, ...] = tuple(data.get("trusted_sources", ()))
        self.disabled_rules = frozenset(data.get("disabled_rules", ()))
        self.audit_log: str | None = data.get("audit_log")  # None: $XDG_STATE_HOME/guardsh/audit.jsonl
        # approver: seconds a command waits for a decision; wait | deferred | auto (deferred
        # for agents that kill slow commands); how long a deferred approval and an "allow for
        # the session" grant stay valid; whether catastrophic commands may be approved by two
        # people on two consoles; the circuit breaker; how long a denial is remembered.
        self.approval_timeout: float = data.get("approval_timeout", 300)
        self.approval_mode: str = data.get("approval_mode", "auto")
        self.grant_validity: float = data.get("grant_validity", 900)
        self.session_grant_validity: float = data.get("session_grant_validity", 4 * 3600)
        self.catastrophic_two_approvers: bool = data.get("catastrophic_two_approvers", False)
        breaker = dict(DEFAULT_CIRCUIT_BREAKER)
        breaker.update(data.get("circuit_breaker", {}))
        self.breaker_max: int = breaker["max"]
        self.breaker_window: float = breaker["window"]
        self.denial_memory: float = data.get("denial_memory", 600)
        # separate-user mode: the agent's request socket and the uid of the human's console
        self.approver_socket: str | None = data.get("approver_socket")
        self.approver_uid: int | None = data.get("approver_uid")
        # production contexts: name patterns, exclusions, AWS accounts, ssh hosts, kube namespaces
        # (defaults in guardsh/engine/production.py; None: all defaults)
        self.production: dict[str, Any] | None = data.get("production")
        undo = dict(DEFAULT_UNDO)
        undo.update(data.get("undo", {}))
        self.undo: dict[str, Any] = undo
        # seconds all previews of one request may take together; 0 turns previews off
        self.preview_timeout: float = data.get("preview_timeout", 10)

    @property
    def strict(self) -> bool:
        return self.profile == "strict"

    def decide(self, risk: Risk, opaque: bool = False, unknown: bool = False) -> Decision:
        """Risk -> decision.  What cannot be analysed, and unknown programs under the strict
        profile, are at least ``ask`` whatever the table says."""
        decision = self.decisions[risk]
        if opaque or (unknown and self.strict):
            decision = max(decision, Decision.ASK)
        return Decision(decision)


def config_files(home: str | None = None) -> list[str]:
    """The system config, then the user's (``$XDG_CONFIG_HOME/guardsh/config.yaml``)."""
    return paths.config_files(None if home is None else {**os.environ, "HOME": home})


def validate(path: str, doc: Any) -> dict[str, Any]:
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: the config must be a mapping of settings")
    for key, value in doc.items():
        line = getattr(doc, "key_lines", {}).get(key) or getattr(value, "line", 0) or getattr(doc, "line", 0)
        where = f"{path}:{line}" if line else path
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})")
        if key == "profile" and value not in PROFILES:
            raise ConfigError(f"{where}: key 'profile' must be one of {', '.join(PROFILES)}")
        if key == "decisions":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: key 'decisions' must map risks to allow/ask/deny")
            for risk, decision in value.items():
                if risk not in Risk.LABELS:
                    raise ConfigError(f"{where}: decisions: unknown risk {risk!r} (use {', '.join(Risk.LABELS)})")
                if decision not in Decision.LABELS:
                    raise ConfigError(f"{where}: decisions.{risk}: {decision!r} is not allow, ask or deny")
        if key == "bash" and not (isinstance(value, str) and value.startswith("/")):
            raise ConfigError(f"{where}: key 'bash' must be an absolute path to the real bash")
        if key in ("workspace_roots", "regenerable", "protected_paths", "trusted_sources", "disabled_rules"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: key {key!r} must be a list of strings")
        if key == "locked" and not isinstance(value, bool):
            raise ConfigError(f"{where}: key 'locked' must be true or false")
        if key == "audit_log" and not (isinstance(value, str) and value.startswith(("/", "~/"))
                                       and not value.endswith("/")):
            raise ConfigError(f"{where}: key 'audit_log' must be the path of a file, absolute or under ~/ "
                              "(for example ~/.local/state/guardsh/audit.jsonl)")
        _validate_approver_key(where, key, value)
        if key == "production":
            _validate_production(where, value)
        if key == "undo":
            _validate_undo(where, value)
    return {str(k): _plain(v) for k, v in doc.items()}


def _validate_approver_key(where: str, key: str, value: Any) -> None:
    def seconds(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0

    if key == "approval_timeout" and not (seconds(value) and value > 0):
        raise ConfigError(f"{where}: key 'approval_timeout' must be a number of seconds above 0")
    if key in ("grant_validity", "session_grant_validity") and not (seconds(value) and value > 0):
        raise ConfigError(f"{where}: key {key!r} must be a number of seconds above 0")
    if key == "denial_memory" and not seconds(value):
        raise ConfigError(f"{where}: key 'denial_memory' must be a number of seconds (0 turns it off)")
    if key == "approval_mode" and value not in APPROVAL_MODES:
        raise ConfigError(f"{where}: key 'approval_mode' must be one of {', '.join(APPROVAL_MODES)}")
    if key == "catastrophic_two_approvers" and not isinstance(value, bool):
        raise ConfigError(f"{where}: key 'catastrophic_two_approvers' must be true or false")
    if key == "circuit_breaker":
        if not isinstance(value, dict) or set(value) - {"max", "window"}:
            raise ConfigError(f"{where}: key 'circuit_breaker' must be a mapping with 'max' and 'window'")
        n = value.get("max", 0)
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 0):
            raise ConfigError(f"{where}: circuit_breaker.max must be a whole number (0 turns it off)")
        if not (seconds(value.get("window", 1)) and value.get("window", 1) > 0):
            raise ConfigError(f"{where}: circuit_breaker.window must be a number of seconds above 0")
    if key == "approver_socket" and not (isinstance(value, str) and value.startswith("/")):
        raise ConfigError(f"{where}: key 'approver_socket' must be an absolute path")
    if key == "preview_timeout" and not seconds(value):
        raise ConfigError(f"{where}: key 'preview_timeout' must be a number of seconds (0 turns previews off)")
    if key == "approver_uid" and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        raise ConfigError(f"{where}: key 'approver_uid' must be a numeric uid")


def _validate_undo(where: str, value: Any) -> None:
    if not isinstance(value, dict) or set(value) - set(DEFAULT_UNDO):
        raise ConfigError(f"{where}: key 'undo' must be a mapping with keys {', '.join(DEFAULT_UNDO)}")
    for sub, v in value.items():
        if isinstance(DEFAULT_UNDO[sub], bool):
            if not isinstance(v, bool):
                raise ConfigError(f"{where}: undo.{sub} must be true or false")
        elif not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
            raise ConfigError(f"{where}: undo.{sub} must be a number above 0")


PRODUCTION_KEYS = ("patterns", "exclude", "aws_accounts", "ssh_hosts", "kube_namespaces")


def _validate_production(where: str, value: Any) -> None:
    if not isinstance(value, dict) or set(value) - set(PRODUCTION_KEYS):
        raise ConfigError(f"{where}: key 'production' must be a mapping with keys {', '.join(PRODUCTION_KEYS)}")
    for sub, items in value.items():
        ok = isinstance(items, list) and all(
            isinstance(v, str) or (sub == "aws_accounts" and isinstance(v, int) and not isinstance(v, bool))
            for v in items)
        if not ok:
            raise ConfigError(f"{where}: production.{sub} must be a list of strings")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def load_config(files: list[str] | None = None, home: str | None = None) -> Config:
    files = files if files is not None else config_files(home)
    present = [f for f in files if os.path.exists(f)]
    if not present:
        return Config()
    sig = []
    for f in present:
        st = os.stat(f)
        sig.append((f, st.st_size, st.st_mtime_ns))
    cache = _cache_path()
    try:
        with open(cache, "rb") as fh:
            cached = marshal.load(fh)
        if isinstance(cached, dict) and cached.get("sig") == sig:
            return Config(cached["data"], tuple(present))
    except (OSError, EOFError, ValueError, TypeError):
        pass
    from guardsh.engine.yamlfile import RuleError, read_yaml

    merged: dict[str, Any] = {}
    for f in present:
        try:
            doc = validate(f, read_yaml(f))
        except RuleError as e:
            raise ConfigError("\n".join(e.problems)) from None
        if merged.get("locked"):
            break
        merged.update(doc)
    try:
        config = Config(merged, tuple(present))
    except ValueError as e:
        raise ConfigError(f"{present[-1]}: {e}") from None
    try:
        caches.offer(cache, marshal.dumps({"sig": sig, "data": merged}))
    except ValueError:  # a value marshal cannot write: no cache, only a slower next load
        pass
    return config


def _cache_path() -> str:
    return paths.config_cache()
