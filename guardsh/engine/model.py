"""The values that flow through the pipeline: words, commands, matches, verdicts.

Risk and Decision are ordered ints, so ``max()`` is the policy: the strictest wins.
These are plain slotted classes rather than dataclasses and enums on purpose: guardsh runs
before every command an agent issues, and importing ``dataclasses`` and ``enum`` costs more
than the whole classification (see benchmarks/README.md).  Treat every instance as frozen.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Level(int):
    """An ordered level with a label; subclasses fill LABELS."""

    __slots__ = ()
    LABELS: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.LABELS[self]

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.label.upper().replace('-', '_')}"

    __str__ = __repr__

    @classmethod
    def parse(cls, text: object) -> _Level:
        if isinstance(text, str) and text in cls.LABELS:
            return cls(cls.LABELS.index(text))
        raise ValueError(f"unknown {cls.__name__.lower()} {text!r} (use {', '.join(cls.LABELS)})")


class Risk(_Level):
    __slots__ = ()
    LABELS = ("read-only", "reversible", "destructive", "catastrophic")
    READ_ONLY: Risk
    REVERSIBLE: Risk
    DESTRUCTIVE: Risk
    CATASTROPHIC: Risk


class Decision(_Level):
    __slots__ = ()
    LABELS = ("allow", "ask", "deny")
    ALLOW: Decision
    ASK: Decision
    DENY: Decision


Risk.READ_ONLY, Risk.REVERSIBLE, Risk.DESTRUCTIVE, Risk.CATASTROPHIC = (Risk(i) for i in range(4))
Decision.ALLOW, Decision.ASK, Decision.DENY = (Decision(i) for i in range(3))


_set = object.__setattr__


class _Value:
    """Slotted value object: keyword/positional init, equality and repr by fields."""

    __slots__: tuple[str, ...] = ()
    _defaults: tuple[object, ...] = ()

    def __init__(self, *args: object, **kwargs: object) -> None:
        fields = self.__slots__
        required = len(fields) - len(self._defaults)
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(fields)} arguments")
        for i, name in enumerate(fields):
            if i < len(args):
                value = args[i]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif i >= required:
                value = self._defaults[i - required]
            else:
                raise TypeError(f"{type(self).__name__} is missing {name!r}")
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(kwargs))!r}")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in self.__slots__
        )

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in self.__slots__))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__)
        return f"{type(self).__name__}({inner})"


class Word(_Value):
    """One shell word after quote removal.

    ``value`` keeps expansions as their source text (``$HOME/x``); ``dynamic`` says the word
    holds an expansion whose value is unknown before bash runs; ``glob`` says it holds an
    unquoted pattern; ``subs`` are the command texts of ``$( )``, backticks and ``<( )`` in it.
    """

    __slots__ = ("value", "dynamic", "glob", "subs", "tilde")
    _defaults = (False, False, (), False)

    def __init__(self, value: str, dynamic: bool = False, glob: bool = False, subs: tuple[str, ...] = (),
                 tilde: bool = False) -> None:  # written out: the generic one is the hottest code in guardsh
        _set(self, "value", value)
        _set(self, "dynamic", dynamic)
        _set(self, "glob", glob)
        _set(self, "subs", subs)
        _set(self, "tilde", tilde)

    value: str
    dynamic: bool
    glob: bool
    subs: tuple[str, ...]
    tilde: bool


class Redirect(_Value):
    """A redirection: ``op`` is '>', '>>', '<', '<<', '<<<', '>&', '&>', '>|'...

    ``target`` is None for here-documents and fd duplications; ``heredoc`` holds the body of a
    here-document or here-string.
    """

    __slots__ = ("op", "fd", "target", "heredoc", "heredoc_quoted")
    _defaults = (None, False)
    op: str
    fd: int | None
    target: Word | None
    heredoc: str | None
    heredoc_quoted: bool

    @property
    def writes(self) -> bool:
        return self.target is not None and self.op in (">", ">>", ">|", "&>", "&>>", "<>", ">&")


class _Derived(_Value):
    """A slot for a value derived from the fields (not a field: not compared, shown or replaced)."""

    __slots__ = ("program",)


class Command(_Derived):
    """One simple command, normalised.

    ``via`` lists the wrappers it was found inside, outermost first (``sudo``, ``bash -c``,
    ``$( )``...); ``stdin`` is 'pipe' when a pipeline feeds it and ``stdin_from`` names the
    program feeding it; ``args_from_stdin`` is set for commands run by xargs/parallel, whose
    real arguments arrive only at run time.  ``cwd`` is the directory the command runs in, when
    the engine knows it (None: unknown, for instance after a ``cd`` to a computed directory);
    ``created`` are the absolute paths that the command text itself may have created before this
    point (touch, mkdir, ``>``, mktemp...): deleting one of them, if it did not exist before,
    loses nothing.  ``as_found`` is true while nothing earlier in the command may have changed the
    disk (only commands known not to write files ran before): what is on disk now is what this
    command will find, so what git can restore from the disk is known.
    """

    __slots__ = ("words", "assignments", "redirects", "text", "via", "stdin", "stdin_from", "args_from_stdin",
                 "cwd", "created", "as_found")
    _defaults = ((), (), "", (), None, None, False, None, frozenset(), False)

    def __init__(self, words: tuple[Word, ...], assignments: tuple[tuple[str, Word], ...] = (),
                 redirects: tuple[Redirect, ...] = (), text: str = "", via: tuple[str, ...] = (),
                 stdin: str | None = None, stdin_from: str | None = None, args_from_stdin: bool = False,
                 cwd: str | None = None, created: frozenset[str] = frozenset(), as_found: bool = False) -> None:
        _set(self, "words", words)
        _set(self, "assignments", assignments)
        _set(self, "redirects", redirects)
        _set(self, "text", text)
        _set(self, "via", via)
        _set(self, "stdin", stdin)
        _set(self, "stdin_from", stdin_from)
        _set(self, "args_from_stdin", args_from_stdin)
        _set(self, "cwd", cwd)
        _set(self, "created", created)
        _set(self, "as_found", as_found)
        # ``program``: the program's basename, the way rules name it (``/usr/bin/rm`` -> ``rm``);
        # read for every rule and every wrapper, so worked out once
        if not words:
            _set(self, "program", "")
        else:
            name = words[0].value
            _set(self, "program", name.rsplit("/", 1)[-1] if "/" in name.rstrip("/") else name)

    words: tuple[Word, ...]
    assignments: tuple[tuple[str, Word], ...]
    redirects: tuple[Redirect, ...]
    text: str
    via: tuple[str, ...]
    stdin: str | None
    stdin_from: str | None
    args_from_stdin: bool
    cwd: str | None
    created: frozenset[str]
    as_found: bool
    program: str  # derived from words (see __init__): basename of the program, the way rules name it

    @property
    def argv(self) -> tuple[str, ...]:
        return tuple(w.value for w in self.words)


    def replace(self, **changes: Any) -> Command:
        if not changes.keys() <= _COMMAND_FIELDS:
            raise TypeError(f"Command has no field {next(k for k in changes if k not in _COMMAND_FIELDS)!r}")
        get = changes.get
        return Command(get("words", self.words), get("assignments", self.assignments),
                       get("redirects", self.redirects), get("text", self.text), get("via", self.via),
                       get("stdin", self.stdin), get("stdin_from", self.stdin_from),
                       get("args_from_stdin", self.args_from_stdin), get("cwd", self.cwd),
                       get("created", self.created), get("as_found", self.as_found))


_COMMAND_FIELDS = frozenset(Command.__slots__)


class Match(_Value):
    __slots__ = ("rule", "risk", "reason", "suggest", "at")

    def __init__(self, rule: str, risk: Risk, reason: str, suggest: str | None, at: str) -> None:
        _set(self, "rule", rule)  # written out, as Word's: one per rule matched
        _set(self, "risk", risk)
        _set(self, "reason", reason)
        _set(self, "suggest", suggest)
        _set(self, "at", at)

    rule: str
    risk: Risk
    reason: str
    suggest: str | None
    at: str  # the part of the command the rule matched

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "risk": self.risk.label,
            "reason": self.reason,
            "suggest": self.suggest,
            "at": self.at,
        }


class Verdict(_Value):
    """The outcome for one command text: ``to_json`` is the public ``check --json`` shape."""

    __slots__ = ("command", "decision", "risk", "matches", "parse", "commands", "notes", "texts")
    _defaults = ((), (), ())

    def __init__(self, command: str, decision: Decision, risk: Risk, matches: tuple[Match, ...], parse: str,
                 commands: tuple[Command, ...] = (), notes: tuple[str, ...] = (), texts: tuple[str, ...] = ()) -> None:
        _set(self, "command", command)
        _set(self, "decision", decision)
        _set(self, "risk", risk)
        _set(self, "matches", matches)
        _set(self, "parse", parse)
        _set(self, "commands", commands)
        _set(self, "notes", notes)
        _set(self, "texts", texts)
    command: str
    decision: Decision
    risk: Risk
    matches: tuple[Match, ...]
    parse: str  # 'full' | 'fallback' | 'opaque'
    commands: tuple[Command, ...]
    notes: tuple[str, ...]
    texts: tuple[str, ...]  # every shell text classified (the command, bash -c strings, scripts)

    def to_json(self) -> dict[str, object]:
        return {
            "command": self.command,
            "decision": self.decision.label,
            "risk": self.risk.label,
            "matches": [m.to_json() for m in self.matches],
            "parse": self.parse,
        }
