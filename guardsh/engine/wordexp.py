"""Bash's word expansions, with the values the engine knows: brace expansion, tilde, parameters
(``$x``, ``${x:-default}``, ``${x%/}``, ``${x:1:3}``, ``"${a[@]}"``...), arithmetic on known
integers, quote removal, and the field splitting of unquoted expansions.

A value the engine does not know (``UNKNOWN``, a command substitution) stays in the word as its
source text and marks it ``dynamic``: the rules see an unresolved word, as before.  Unquoted
pattern characters (and those an unquoted expansion brings in) mark the word ``glob``.
"""
from __future__ import annotations

from guardsh.engine.globs import gmatch
from guardsh.engine.lex import _ansi_c, _closes_bracket, name_end
from guardsh.engine.model import Word
from guardsh.engine.scan import LexError, _skip_backtick, _unescape_backtick, find_close, find_subs
from guardsh.engine.state import UNKNOWN, GlobValue

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from guardsh.engine.state import State

MAX_BRACE_WORDS = 256
MAX_VALUE = 64 * 1024
SPECIAL_CHARS = "$~{`"


def needs_expansion(raw: str) -> bool:
    """Could expansion change this word beyond the lexer's quote removal?"""
    return "$" in raw or "~" in raw or "{" in raw or "`" in raw  # SPECIAL_CHARS, written out


def expand_word(raw: str, state: State, assignment: bool = False,
                known_output: Callable[[str], str | None] | None = None) -> list[Word]:
    """The words bash makes of one word (none, one or several)."""
    pieces = [raw]
    if not assignment and "{" in raw:
        braced = brace_expand(raw)
        if braced is not None:
            pieces = braced
    words: list[Word] = []
    for piece in pieces:
        exp = _Expander(piece, state, assignment, known_output)
        try:
            exp.run()
        except (LexError, IndexError, ValueError):
            return [Word(raw, dynamic=True, subs=tuple(_subs_or_whole(raw)))]
        words.extend(exp.words())
    return words


def expand_text(raw: str, state: State, known_output: Callable[[str], str | None] | None = None) -> Word:
    """One word without splitting or globbing (an assignment's value, a redirection's target)."""
    exp = _Expander(raw, state, True, known_output)
    try:
        exp.run()
    except (LexError, IndexError, ValueError):
        return Word(raw, dynamic=True, subs=tuple(_subs_or_whole(raw)))
    return exp.single()


def expand_heredoc(body: str, state: State) -> tuple[str, bool, list[str]]:
    """An unquoted here-document's body after parameter expansion: (text, dynamic, substitutions)."""
    exp = _Expander(body, state, True, None, heredoc=True)
    try:
        exp.run()
    except (LexError, IndexError, ValueError):
        return body, True, _subs_or_whole(body)
    word = exp.single()
    return word.value, word.dynamic, list(word.subs)


def _subs_or_whole(raw: str) -> list[str]:
    try:
        return find_subs(raw)
    except LexError:
        return [raw]


# --- brace expansion -------------------------------------------------------------------------

def brace_expand(raw: str) -> list[str] | None:
    """``{a,b}`` and ``{1..3}`` as bash expands them (quoted braces stay); None if there is none
    or the result would exceed MAX_BRACE_WORDS."""
    out: list[str] = []
    if not _brace(raw, out):
        return None
    return out if len(out) > 1 or out != [raw] else None


def _brace(raw: str, out: list[str]) -> bool:
    found = _find_brace(raw)
    if found is None:
        out.append(raw)
        return len(out) <= MAX_BRACE_WORDS
    start, end, alternatives = found
    prefix, suffix = raw[:start], raw[end:]
    for alt in alternatives:
        if not _brace(prefix + alt + suffix, out):
            return False
    return True


def _find_brace(raw: str) -> tuple[int, int, list[str]] | None:
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = raw.find("'", i + 1)
            if j < 0:
                return None
            i = j + 1
            continue
        if c == '"':
            i = _skip_double_raw(raw, i + 1)
            continue
        if c == "$" and i + 1 < n and raw[i + 1] in "({":
            try:
                i = find_close(raw, i + 2, "(" if raw[i + 1] == "(" else "{", ")" if raw[i + 1] == "(" else "}")
            except LexError:
                return None
            continue
        if c == "`":
            try:
                i = _skip_backtick(raw, i + 1)
            except LexError:
                return None
            continue
        if c == "{":
            end, alternatives = _brace_body(raw, i)
            if alternatives is not None:
                return i, end, alternatives
        i += 1
    return None


def _skip_double_raw(raw: str, i: int) -> int:
    n = len(raw)
    while i < n:
        if raw[i] == "\\":
            i += 2
        elif raw[i] == '"':
            return i + 1
        else:
            i += 1
    return n


def _brace_body(raw: str, open_at: int) -> tuple[int, list[str] | None]:
    """(index past the closing brace, the alternatives) for a brace at ``open_at``."""
    depth = 0
    parts: list[str] = []
    cur_start = open_at + 1
    i, n = open_at, len(raw)
    while i < n:
        c = raw[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = raw.find("'", i + 1)
            if j < 0:
                return n, None
            i = j + 1
            continue
        if c == '"':
            i = _skip_double_raw(raw, i + 1)
            continue
        if c == "$" and i + 1 < n and raw[i + 1] in "({":
            try:
                i = find_close(raw, i + 2, "(" if raw[i + 1] == "(" else "{", ")" if raw[i + 1] == "(" else "}")
            except LexError:
                return n, None
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                parts.append(raw[cur_start:i])
                if len(parts) > 1:
                    return i + 1, parts
                seq = _sequence(parts[0])
                return i + 1, seq
        elif c == "," and depth == 1:
            parts.append(raw[cur_start:i])
            cur_start = i + 1
        i += 1
    return n, None


def _sequence(body: str) -> list[str] | None:
    """``1..5``, ``a..e``, ``01..10..2``; None when it is not a sequence."""
    bits = body.split("..")
    if len(bits) not in (2, 3):
        return None
    a, b = bits[0], bits[1]
    step = 1
    if len(bits) == 3:
        try:
            step = abs(int(bits[2])) or 1
        except ValueError:
            return None
    try:
        x, y = int(a), int(b)
    except ValueError:
        if len(a) == 1 and len(b) == 1 and a.isalpha() and b.isalpha():
            lo, hi = ord(a), ord(b)
            rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
            if len(rng) > MAX_BRACE_WORDS:
                return None
            return [chr(k) for k in rng]
        return None
    rng = range(x, y + 1, step) if x <= y else range(x, y - 1, -step)
    if len(rng) > MAX_BRACE_WORDS:
        return None
    width = max(len(a), len(b)) if (a.lstrip("-").startswith("0") and len(a.lstrip("-")) > 1) or (
        b.lstrip("-").startswith("0") and len(b.lstrip("-")) > 1) else 0
    return [str(k).zfill(width) if width else str(k) for k in rng]


# --- the expander ------------------------------------------------------------------------------

class _Expander:
    """Expands one word (after brace expansion) into fields."""

    def __init__(self, text: str, state: State, assignment: bool,
                 known_output: Callable[[str], str | None] | None, heredoc: bool = False) -> None:
        self.text = text
        self.state = state
        self.assignment = assignment
        self.heredoc = heredoc
        self.known_output = known_output
        self.fields: list[tuple[str, bool, bool]] = []  # (value, glob, dynamic)
        self.cur: list[str] = []
        self.cur_glob = False
        self.cur_dynamic = False
        self.cur_exists = False  # a quoted empty string still makes a field
        self.dynamic = False
        self.subs: list[str] = []
        self.tilde = False

    # --- building fields

    def lit(self, text: str, quoted: bool) -> None:
        if not text:
            if quoted:
                self.cur_exists = True
            return
        self.cur.append(text)
        self.cur_exists = True
        if not quoted and not self.assignment and not self.state.noglob:
            if "*" in text or "?" in text or ("[" in text and "]" in text):
                self.cur_glob = True

    def value(self, value: str, quoted: bool) -> None:
        """A known expansion's value: split and globbed when unquoted."""
        if isinstance(value, GlobValue):
            self.cur_glob = True
        if quoted or self.assignment:
            self.cur.append(value)
            self.cur_exists = True
            return
        ifs = self.state.get("IFS")
        if ifs is UNKNOWN:
            self.unknown(value, quoted)
            return
        if ifs is None:
            ifs = " \t\n"
        if not ifs:
            self.lit(value, False)
            return
        white = "".join(c for c in ifs if c in " \t\n")
        if any(c not in " \t\n" for c in ifs):
            if any(c in value for c in ifs if c not in " \t\n"):
                self.unknown(value, quoted)  # non-blank IFS characters: guardsh does not split those
                return
        if not white:
            self.lit(value, False)
            return
        parts = _split(value, white)
        if not parts:
            if value and self.cur:
                self.end_field()
            return
        if value[0] in white and (self.cur or self.cur_exists):
            self.end_field()
        for k, part in enumerate(parts):
            if k:
                self.end_field()
            self.lit(part, False)
        if value[-1] in white:
            self.end_field()

    def unknown(self, source: str, quoted: bool) -> None:
        self.cur.append(source)
        self.cur_exists = True
        self.cur_dynamic = True
        self.dynamic = True

    def end_field(self) -> None:
        if self.cur or self.cur_exists:
            self.fields.append(("".join(self.cur), self.cur_glob, self.cur_dynamic))
        self.cur = []
        self.cur_glob = False
        self.cur_dynamic = False
        self.cur_exists = False

    def words(self) -> list[Word]:
        self.end_field()
        subs = tuple(self.subs)
        return [Word(v, dynamic=d, glob=g, subs=subs, tilde=self.tilde) for v, g, d in self.fields]

    def single(self) -> Word:
        self.end_field()
        value = " ".join(v for v, _g, _d in self.fields)
        glob = any(g for _v, g, _d in self.fields)
        return Word(value, dynamic=self.dynamic, glob=glob, subs=tuple(self.subs), tilde=self.tilde)

    # --- reading

    def run(self) -> None:
        text = self.text
        i, n = 0, len(text)
        if not self.heredoc:
            i = self.tilde_at(0)
        while i < n:
            c = text[i]
            if self.heredoc:
                if c == "\\" and i + 1 < n and text[i + 1] in "$`\\\n":
                    if text[i + 1] != "\n":
                        self.lit(text[i + 1], True)
                    i += 2
                elif c == "$":
                    i = self.dollar(i, True)
                elif c == "`":
                    i = self.backtick(i, True)
                else:
                    j = i + 1
                    while j < n and text[j] not in "\\$`":
                        j += 1
                    self.lit(text[i:j], True)
                    i = j
                continue
            if c == "\\":
                if i + 1 < n:
                    if text[i + 1] != "\n":
                        self.lit(text[i + 1], True)
                    i += 2
                else:
                    self.lit("\\", True)
                    i += 1
            elif c == "'":
                j = text.find("'", i + 1)
                if j < 0:
                    raise LexError("unterminated single quote")
                self.lit(text[i + 1 : j], True)
                i = j + 1
            elif c == '"':
                i = self.double(i + 1)
            elif c == "$":
                i = self.dollar(i, False)
            elif c == "`":
                i = self.backtick(i, False)
            elif c in "@!+*?" and i + 1 < n and text[i + 1] == "(":
                end = find_close(text, i + 2)
                self.lit(text[i:end], False)
                self.cur_glob = True
                i = end
            elif c == "[" and not _closes_bracket(text, i):
                self.lit("[", True)
                i += 1
            elif self.assignment and c == ":" and i + 1 < n and text[i + 1] == "~":
                self.lit(":", True)
                i = self.tilde_at(i + 1)
            elif self.assignment and c == "=" and not self.cur and i + 1 < n and text[i + 1] == "~":
                self.lit("=", True)
                i = self.tilde_at(i + 1)
            else:
                j = i + 1
                while j < n and text[j] not in "\\'\"$`@!+*?[:=":
                    j += 1
                self.lit(text[i:j], False)
                i = j
        if self.heredoc:
            self.cur_exists = True

    def tilde_at(self, i: int) -> int:
        """A tilde prefix at ``i`` (unquoted, up to the first slash)."""
        text = self.text
        if not text.startswith("~", i):
            return i
        j = i + 1
        stop = "/:" if self.assignment else "/"
        while j < len(text) and text[j] not in stop:
            if text[j] in "'\"\\$`":
                return i  # a quoted or expanded tilde prefix is not expanded
            j += 1
        prefix = text[i + 1 : j]
        value: Any = None
        if prefix == "":
            value = self.state.get("HOME")
        elif prefix == "+":
            value = self.state.get("PWD")
        elif prefix == "-":
            value = self.state.get("OLDPWD")
        else:
            return i  # ~user (another user's home), ~+N: left as written, resolved later
        if not isinstance(value, str):
            return i
        self.tilde = True
        self.cur.append(value)
        self.cur_exists = True
        return j

    def double(self, i: int) -> int:
        text = self.text
        n = len(text)
        self.cur_exists = True
        while i < n:
            c = text[i]
            if c == '"':
                return i + 1
            if c == "\\" and i + 1 < n:
                e = text[i + 1]
                if e in '$`"\\':
                    self.lit(e, True)
                elif e != "\n":
                    self.lit("\\" + e, True)
                i += 2
            elif c == "$":
                i = self.dollar(i, True)
            elif c == "`":
                i = self.backtick(i, True)
            else:
                j = i + 1
                while j < n and text[j] not in '"\\$`':
                    j += 1
                self.lit(text[i:j], True)
                i = j
        raise LexError("unterminated double quote")

    def backtick(self, i: int, quoted: bool) -> int:
        end = _skip_backtick(self.text, i + 1)
        inner = _unescape_backtick(self.text[i + 1 : end - 1])
        self.substitution(inner, self.text[i:end], quoted)
        return end

    def substitution(self, inner: str, source: str, quoted: bool) -> None:
        self.subs.append(inner)
        known = self.known_output(inner) if self.known_output is not None else None
        if known is not None:
            self.value(known, quoted)
        else:
            self.unknown(source, quoted)

    def dollar(self, i: int, quoted: bool) -> int:
        text = self.text
        nxt = text[i + 1 : i + 2]
        if text.startswith("$((", i):
            try:
                end = find_close(text, i + 2)
            except LexError:
                end = -1
            if end > 0 and text[end - 2 : end] == "))":
                expr = text[i + 3 : end - 2]
                self.subs.extend(_subs_or_whole(expr) if ("$(" in expr or "`" in expr) else ())
                result = arith_value(expr, self.state)
                if result is None:
                    self.unknown(text[i:end], quoted)
                else:
                    self.value(str(result), quoted)
                return end
        if nxt == "(":
            end = find_close(text, i + 2)
            self.substitution(text[i + 2 : end - 1], text[i:end], quoted)
            return end
        if nxt == "{":
            end = find_close(text, i + 2, "{", "}")
            self.braced(text[i + 2 : end - 1], text[i:end], quoted)
            return end
        if nxt == "'" and not quoted:
            value, end = _ansi_c(text, i + 2)
            self.lit(value, True)
            return end
        if nxt == '"' and not quoted:
            return self.double(i + 2)
        end = name_end(text, i + 1)
        if end > 0:
            name = text[i + 1 : end]
            if name in ("@", "*"):
                self.positional_all(name, quoted, text[i:end])
            else:
                self.simple_param(name, text[i:end], quoted)
            return end
        self.lit("$", True)
        return i + 1

    def simple_param(self, name: str, source: str, quoted: bool) -> None:
        value = self.state.get(name)
        if value is UNKNOWN:
            self.unknown(source, quoted)
        elif value is None:
            if quoted:
                self.cur_exists = True
        else:
            self.value(value, quoted)

    def positional_all(self, name: str, quoted: bool, source: str, values: Any = None) -> None:
        """``"$@"`` (one field per value), ``"$*"`` (joined), unquoted (each split)."""
        if values is None:
            values = self.state.get_array("@")
        if values is UNKNOWN:
            self.unknown(source, quoted)
            return
        if not values:
            return
        if quoted and name == "@":
            for k, v in enumerate(values):
                if k:
                    self.end_field()
                self.cur.append(v)
                self.cur_exists = True
                if isinstance(v, GlobValue):
                    self.cur_glob = True
            return
        if quoted:
            self.value(" ".join(values), True)
            return
        for k, v in enumerate(values):
            if k:
                self.end_field()
            self.value(v, False)

    def braced(self, inner: str, source: str, quoted: bool) -> None:
        """``${...}``: a parameter with an operator."""
        state = self.state
        if inner.startswith("#") and len(inner) > 1:
            name, sub, rest = _param_name(inner[1:])
            if rest or not name:
                self.unknown(source, quoted)
                return
            if sub in ("@", "*"):
                arr = state.get_array(name)
                if isinstance(arr, list):
                    self.value(str(len(arr)), quoted)
                elif arr is None:
                    self.value("0", quoted)
                else:
                    self.unknown(source, quoted)
                return
            value = self._param(name, sub)
            if isinstance(value, str):
                self.value(str(len(value)), quoted)
            elif value is None:
                self.value("0", quoted)
            else:
                self.unknown(source, quoted)
            return
        if inner.startswith("!"):
            name, sub, rest = _param_name(inner[1:])
            if name and not sub and not rest:
                target = state.get(name)
                if isinstance(target, str) and _is_name(target):
                    self.simple_param(target, source, quoted)
                    return
            self.unknown(source, quoted)
            self.subs.extend(_subs_or_whole(inner) if "$(" in inner or "`" in inner else ())
            return
        name, sub, rest = _param_name(inner)
        if not name:
            self.note_subs(inner)
            self.unknown(source, quoted)
            return
        if sub is not None:
            self.note_subs(sub)
        if sub in ("@", "*") and not rest:
            values = state.get_array(name)
            if values is None:
                values = []
            self.positional_all(sub, quoted, source, values)
            return
        value = self._param(name, sub)
        if not rest:
            self._emit(value, source, quoted)
            return
        self._operator(name, sub, value, rest, source, quoted)

    def _param(self, name: str, sub: str | None) -> Any:
        state = self.state
        if sub is None:
            return state.get(name)
        arr = state.arrays.get(name) if name in state.arrays else None
        if arr is None:
            if name in state.vars or name.isdigit():
                return state.get(name) if sub in ("0", "") else None
            return UNKNOWN if state.get(name) is UNKNOWN else None
        if arr is UNKNOWN:
            return UNKNOWN
        if isinstance(arr, dict):
            return arr.get(sub)
        try:
            k = int(sub)
        except ValueError:
            return UNKNOWN
        return arr[k] if -len(arr) <= k < len(arr) else None

    def _emit(self, value: Any, source: str, quoted: bool) -> None:
        if value is UNKNOWN:
            self.unknown(source, quoted)
        elif value is None:
            if quoted:
                self.cur_exists = True
        else:
            self.value(value, quoted)

    def _operator(self, name: str, sub: str | None, value: Any, rest: str, source: str, quoted: bool) -> None:
        op = rest[:2] if rest[:2] in (":-", ":=", ":+", ":?", "##", "%%", "//", "/#", "/%", "^^", ",,") else rest[:1]
        operand = rest[len(op):]
        if op in (":-", "-", ":=", "=", ":+", "+", ":?", "?"):
            unset_or_empty = value is None or (op.startswith(":") and value == "")
            if value is UNKNOWN:
                self.note_subs(operand)  # the operand's substitutions may run
                self.cur_dynamic = self.dynamic = True
                self.cur.append(source)
                return
            use_operand = unset_or_empty if op in (":-", "-", ":=", "=", ":?", "?") else not unset_or_empty
            if op in (":?", "?"):
                self._emit(value, source, quoted)  # unset: bash stops with an error; nothing more runs
                return
            if use_operand:
                word = self.operand(operand)
                if op in (":=", "=") and sub is None:
                    self.state.set(name, word.value if not word.dynamic else UNKNOWN)
                if word.dynamic:
                    self.unknown(word.value, quoted)
                else:
                    self.value(word.value, quoted)
            elif op in (":+", "+"):
                if quoted:
                    self.cur_exists = True
            else:
                self.value(value, quoted)
            return
        if value is UNKNOWN:
            self.note_subs(operand)
            self.unknown(source, quoted)
            return
        if value is None:
            value = ""
        if op in ("#", "##", "%", "%%"):
            pattern = self.operand(operand)
            if pattern.dynamic:
                self.unknown(source, quoted)
                return
            self.value(_remove(value, pattern.value, op), quoted)
            return
        if op in ("/", "//", "/#", "/%"):
            pat, _sep, rep = _split_unescaped(operand, "/")
            pattern, replacement = self.operand(pat), self.operand(rep)
            if pattern.dynamic or replacement.dynamic:
                self.unknown(source, quoted)
                return
            self.value(_replace(value, pattern.value, replacement.value, op), quoted)
            return
        if op == ":":
            result = _substring(value, operand, self.state)
            if result is None:
                self.unknown(source, quoted)
            else:
                self.value(result, quoted)
            return
        if op in ("^^", ",,", "^", ","):
            if operand:
                self.unknown(source, quoted)
                return
            if op == "^^":
                self.value(value.upper(), quoted)
            elif op == ",,":
                self.value(value.lower(), quoted)
            elif op == "^":
                self.value(value[:1].upper() + value[1:], quoted)
            else:
                self.value(value[:1].lower() + value[1:], quoted)
            return
        self.unknown(source, quoted)  # ${x@Q}, ${x@P} and other transformations

    def operand(self, text: str) -> Word:
        exp = _Expander(text, self.state, True, self.known_output)
        exp.run()
        word = exp.single()
        self.subs.extend(word.subs)
        if word.dynamic:
            self.dynamic = True
        return word

    def note_subs(self, text: str) -> None:
        if "$(" in text or "`" in text:
            self.subs.extend(_subs_or_whole(text))


def _param_name(inner: str) -> tuple[str, str | None, str]:
    """(name, subscript or None, the rest) of a ``${...}`` body."""
    if not inner:
        return "", None, ""
    if inner[0] in "@*#?$!-" or inner[0].isdigit():
        j = 1
        if inner[0].isdigit():
            while j < len(inner) and inner[j].isdigit():
                j += 1
        name = inner[:j]
    else:
        j = name_end(inner, 0)
        if j <= 0:
            return "", None, inner
        name = inner[:j]
    sub: str | None = None
    if j < len(inner) and inner[j] == "[":
        k = inner.find("]", j)
        if k < 0:
            return "", None, inner
        sub = inner[j + 1 : k]
        j = k + 1
    return name, sub, inner[j:]


def _is_name(text: str) -> bool:
    return name_end(text, 0) == len(text) and bool(text) and not text[0].isdigit()


def _split(value: str, white: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    for c in value:
        if c in white:
            if cur:
                parts.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        parts.append("".join(cur))
    return parts


def _split_unescaped(text: str, sep: str) -> tuple[str, str, str]:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == sep:
            return text[:i], sep, text[i + 1 :]
        i += 1
    return text, "", ""


def _remove(value: str, pattern: str, op: str) -> str:
    n = len(value)
    if op == "#":
        for k in range(n + 1):
            if gmatch(pattern, value[:k]):
                return value[k:]
    elif op == "##":
        for k in range(n, -1, -1):
            if gmatch(pattern, value[:k]):
                return value[k:]
    elif op == "%":
        for k in range(n, -1, -1):
            if gmatch(pattern, value[k:]):
                return value[:k]
    else:
        for k in range(n + 1):
            if gmatch(pattern, value[k:]):
                return value[:k]
    return value


def _replace(value: str, pattern: str, replacement: str, op: str) -> str:
    if not pattern:
        return value
    n = len(value)
    if op == "/#":
        for k in range(n, -1, -1):
            if gmatch(pattern, value[:k]):
                return replacement + value[k:]
        return value
    if op == "/%":
        for k in range(n + 1):
            if gmatch(pattern, value[k:]):
                return value[:k] + replacement
        return value
    out: list[str] = []
    i = 0
    replaced = False
    while i < n:
        if replaced and op == "/":
            out.append(value[i:])
            break
        for k in range(n, i, -1):  # the longest match at i
            if gmatch(pattern, value[i:k]):
                out.append(replacement)
                i = k
                replaced = True
                break
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _substring(value: str, operand: str, state: State) -> str | None:
    off_text, _sep, len_text = operand.partition(":")
    off = arith_value(off_text, state)
    if off is None:
        return None
    n = len(value)
    if off < 0:
        off = max(0, n + off)
    if not _sep:
        return value[off:]
    length = arith_value(len_text, state)
    if length is None:
        return None
    if length < 0:
        end = n + length
        return value[off:end] if end >= off else None
    return value[off : off + length]


# --- arithmetic on known integers -------------------------------------------------------------

def arith_value(expr: str, state: State) -> int | None:
    """The value of an arithmetic expression over integer literals and known integer variables
    (+ - * / % and parentheses); None for anything else."""
    toks = _arith_tokens(expr, state)
    if toks is None:
        return None
    pos = [0]
    try:
        value = _sum(toks, pos)
    except (ValueError, ZeroDivisionError, IndexError):
        return None
    return value if pos[0] == len(toks) else None


def _arith_tokens(expr: str, state: State) -> list[Any] | None:
    toks: list[Any] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in " \t\n":
            i += 1
        elif c.isdigit():
            j = i
            while j < n and expr[j].isalnum():
                j += 1
            literal = expr[i:j]
            try:
                if literal[:2].lower() == "0x":
                    toks.append(int(literal, 16))
                elif len(literal) > 1 and literal[0] == "0":
                    toks.append(int(literal, 8))
                else:
                    toks.append(int(literal, 10))
            except ValueError:
                return None
            i = j
        elif c == "$" or c.isalpha() or c == "_":
            j = i + 1 if c == "$" else i
            k = name_end(expr, j)
            if k <= j:
                return None
            value = state.get(expr[j:k])
            if not isinstance(value, str):
                if value is None:
                    value = "0"
                else:
                    return None
            try:
                toks.append(int(value.strip() or "0", 10))
            except ValueError:
                return None
            i = k
        elif c in "+-*/%()":
            toks.append(c)
            i += 1
        else:
            return None
    return toks


def _sum(toks: list[Any], pos: list[int]) -> int:
    value = _product(toks, pos)
    while pos[0] < len(toks) and toks[pos[0]] in ("+", "-"):
        op = toks[pos[0]]
        pos[0] += 1
        rhs = _product(toks, pos)
        value = value + rhs if op == "+" else value - rhs
    return value


def _product(toks: list[Any], pos: list[int]) -> int:
    value = _unary(toks, pos)
    while pos[0] < len(toks) and toks[pos[0]] in ("*", "/", "%"):
        op = toks[pos[0]]
        pos[0] += 1
        rhs = _unary(toks, pos)
        if op == "*":
            value *= rhs
        elif op == "/":
            value = int(value / rhs)
        else:
            value = value - rhs * int(value / rhs)
    return value


def _unary(toks: list[Any], pos: list[int]) -> int:
    tok = toks[pos[0]]
    if tok == "-":
        pos[0] += 1
        return -_unary(toks, pos)
    if tok == "+":
        pos[0] += 1
        return _unary(toks, pos)
    if tok == "(":
        pos[0] += 1
        value = _sum(toks, pos)
        if toks[pos[0]] != ")":
            raise ValueError("unbalanced")
        pos[0] += 1
        return value
    if isinstance(tok, int):
        pos[0] += 1
        return tok
    raise ValueError(f"unexpected {tok!r}")
