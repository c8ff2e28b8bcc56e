"""The agent's command inside a wrapper: what a refusal's headline and an approval request quote.

Agents do not send their command to the shell as it is: Claude Code sends ``source SNAPSHOT &&
... && eval 'CMD' < /dev/null && pwd -P >| CWDFILE``, Gemini CLI ``shopt ...; _bgpids_file=...;
( trap ... EXIT; CMD ); __code=$?; exit $__code``.  guardsh classifies the whole text (the
plumbing is code too), but a refusal that quotes the plumbing tells the agent and the human
nothing.  ``agent_command`` narrows the text to the code that holds every command a deciding rule
matched, going only *through* carriers of code: a subshell or group, an ``eval`` or ``sh -c`` of a
literal string, and the one part of an and-or list (or one statement of a list) that holds them
all.  Where the matches are in more than one statement, it quotes those statements, first to last.
Nothing here knows an agent by name: the shapes are the shell's own.
"""
from __future__ import annotations

from guardsh.engine import tree as T
from guardsh.engine.lex import tokenize
from guardsh.engine.model import Verdict

SHELLS = ("bash", "sh", "dash", "zsh")
MAX_DEPTH = 8


def agent_command(verdict: Verdict) -> str:
    """The part of ``verdict.command`` that is the agent's own command (the whole text if unsure)."""
    text = verdict.command
    deciding = [m.at for m in verdict.matches if m.risk == verdict.risk] or [m.at for m in verdict.matches]
    targets = [_norm(t) for t in deciding if t and t.strip()]
    if not targets:
        return text
    try:
        return narrow(text, targets) or text
    except Exception:  # a text guardsh cannot parse: quote it whole
        return text


def narrow(text: str, targets: list[str], depth: int = 0) -> str | None:
    if depth > MAX_DEPTH:
        return None
    node: T.Node = T.parse_tokens(tokenize(text))
    while True:
        if isinstance(node, T.Sequence):
            hits = [i for i in node.items if _holds(text, i, targets)]
            if not hits:
                return None
            if len(hits) == 1 and _carrier(hits[0], text):
                node = hits[0]
                continue
            return text[hits[0].start:hits[-1].end].strip()
        if isinstance(node, T.AndOr):
            parts = [node.first] + [p for _, p in node.rest]
            hits = [p for p in parts if _holds(text, p, targets)]
            if len(hits) == 1 and _carrier(hits[0], text):
                node = hits[0]
                continue
            return _src(text, node)
        if isinstance(node, (T.Subshell, T.Group)):
            node = node.body
            continue
        if isinstance(node, T.Simple):
            code = _code_of(node)
            if code is not None:
                inner = narrow(code, targets, depth + 1)
                if inner:
                    return inner
            return _src(text, node)
        return _src(text, node)


def _carrier(node: T.Node, text: str) -> bool:
    """Code that carries other code: descending into it leaves only wrapping behind."""
    if isinstance(node, (T.Subshell, T.Group, T.AndOr)):
        return True
    return isinstance(node, T.Simple) and _code_of(node) is not None


def _code_of(node: T.Simple) -> str | None:
    """The literal code an ``eval 'CODE'`` or ``bash -c 'CODE'`` runs (None: not one, or not literal)."""
    words = [t for t in node.tokens if t.kind == "word"]
    values = []
    for t in words:
        if t.word is None or t.word.dynamic:
            return None
        values.append(t.word.value)
    while values and values[0] in ("builtin", "command", "exec"):
        values = values[1:]
    if not values:
        return None
    if values[0] == "eval" and len(values) > 1:
        return " ".join(values[1:])
    name = values[0].rsplit("/", 1)[-1]
    if name in SHELLS:
        for k, v in enumerate(values[1:-1], 1):
            if v.startswith("-") and not v.startswith("--") and "c" in v:
                return values[k + 1]
    return None


def _holds(text: str, node: T.Node, targets: list[str]) -> bool:
    src = _norm(_src(text, node))
    if any(t in src for t in targets):
        return True
    if isinstance(node, T.Simple) or isinstance(node, (T.AndOr, T.Sequence, T.Subshell, T.Group)):
        # an eval'd string holds its commands quoted: look at the code it carries
        for simple in T.simple_commands(node):
            code = _code_of(simple)
            if code is not None and any(t in _norm(code) for t in targets):
                return True
    return False


def _src(text: str, node: T.Node) -> str:
    return text[node.start:node.end].strip()


def _norm(text: str) -> str:
    return " ".join(text.split())
