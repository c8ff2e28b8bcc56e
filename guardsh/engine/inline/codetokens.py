"""A small tokenizer for interpreter code (python, perl, ruby, js, php), and the literal values of arguments."""
from __future__ import annotations

import os

from guardsh.engine.model import Word

# --- a small tokenizer for code -------------------------------------------------------------

# Code tokens are (kind, value, dynamic, start, end); kinds: n name, s string, x shell command
# (backticks, qx, %x), g glob (perl <*.log>), w word list (qw), p punctuation, v variable, d number.


def code_tokens(code: str, lang: str) -> list[tuple[str, str, bool, int, int]]:
    toks: list[tuple[str, str, bool, int, int]] = []
    n = len(code)
    i = 0
    hash_comment = lang in ("python", "ruby", "perl", "php")
    slash_comment = lang in ("js", "php")
    while i < n:
        c = code[i]
        if c in " \t\r\n\f":
            i += 1
            continue
        if c == "#" and hash_comment and not (lang == "perl" and i and code[i - 1] == "$"):
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if lang == "lua" and code.startswith("--", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if c == "/" and slash_comment and code.startswith("//", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if c == "/" and code.startswith("/*", i) and slash_comment:
            end = code.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c.isalpha() or c == "_" or (c == "$" and lang == "js"):
            j = i + 1
            while j < n and (code[j].isalnum() or code[j] == "_" or (code[j] == "$" and lang == "js")):
                j += 1
            word = code[i:j]
            # string prefixes (python f"", r""), perl/ruby quote operators
            if lang == "python" and j < n and code[j] in "'\"" and word.lower() in ("r", "b", "f", "u", "rb", "br",
                                                                                       "fr", "rf"):
                tok, i = _string(code, j, lang, "f" in word.lower())
                toks.append(tok)
                continue
            if lang in ("perl", "ruby") and j < n and word in ("q", "qq", "qw", "qx", "m", "s", "tr", "y", "qr") \
                    and code[j] in "/{([<|!#,'\"" and not (lang == "ruby"):
                tok, i = _quote_op(code, word, j)
                if tok is not None:
                    toks.append(tok)
                continue
            toks.append(("n", word, False, i, j))
            i = j
            continue
        if c in "'\"":
            tok, i = _string(code, i, lang, lang in ("ruby", "perl", "php") and c == '"')
            toks.append(tok)
            continue
        if c == "`" and lang in ("js", "ruby", "perl", "php"):
            tok, i = _string(code, i, lang, True)
            kind = "s" if lang == "js" else "x"
            toks.append((kind,) + tok[1:])
            continue
        if lang == "ruby" and c == "%" and i + 2 < n and code[i + 1] in "xwqQ" and code[i + 2] in "({[<|!/":
            tok, i = _quote_op(code, {"x": "qx", "w": "qw", "q": "q", "Q": "qq"}[code[i + 1]], i + 2)
            if tok is not None:
                toks.append(tok)
            continue
        if lang == "perl" and c == "<" and i + 1 < n:
            end = code.find(">", i + 1)
            inner = code[i + 1:end] if end > 0 else ""
            if end > 0 and inner and "\n" not in inner and any(ch in inner for ch in "*?[") and " " not in inner.strip():
                toks.append(("g", inner, "$" in inner, i, end + 1))
                i = end + 1
                continue
        if c in "$@" and lang in ("perl", "php", "ruby"):
            j = i + 1
            while j < n and (code[j].isalnum() or code[j] in "_:"):
                j += 1
            toks.append(("v", code[i:j], True, i, j))
            i = max(j, i + 1)
            continue
        if c.isdigit():
            j = i + 1
            while j < n and (code[j].isalnum() or code[j] in "._"):
                j += 1
            toks.append(("d", code[i:j], False, i, j))
            i = j
            continue
        two = code[i:i + 2]
        if two in ("::", "->", "=>", "==", "=~", "!=", "&&", "||"):
            toks.append(("p", "." if two in ("::", "->") else two, False, i, i + 2))
            i += 2
            continue
        toks.append(("p", c, False, i, i + 1))
        i += 1
    return toks


def _string(code: str, i: int, lang: str, interpolates: bool) -> tuple[tuple[str, str, bool, int, int], int]:
    """A quoted string at ``code[i]``: its value, and whether it interpolates run-time values."""
    n = len(code)
    q = code[i]
    triple = lang == "python" and code.startswith(q * 3, i)
    close = q * 3 if triple else q
    j = i + len(close)
    buf: list[str] = []
    dynamic = False
    raw = q == "'" and lang in ("perl", "ruby", "php")
    while j < n:
        if code.startswith(close, j):
            break
        d = code[j]
        if d == "\\" and j + 1 < n:
            nxt = code[j + 1]
            if raw and nxt not in ("\\", q):
                buf.append(d)
                j += 1
                continue
            buf.append({"n": "\n", "t": "\t"}.get(nxt, nxt) if not raw else nxt)
            j += 2
            continue
        if interpolates:
            if lang == "python" and d == "{":
                if code.startswith("{{", j):
                    buf.append("{")
                    j += 2
                    continue
                end = code.find("}", j)
                end = n if end < 0 else end
                buf.append("$" + ident(code[j + 1:end]))
                dynamic = True
                j = end + 1
                continue
            if lang in ("js",) and q == "`" and code.startswith("${", j):
                end = code.find("}", j)
                end = n if end < 0 else end
                buf.append("$" + ident(code[j + 2:end]))
                dynamic = True
                j = end + 1
                continue
            if lang == "ruby" and code.startswith("#{", j):
                end = code.find("}", j)
                end = n if end < 0 else end
                buf.append("$" + ident(code[j + 2:end]))
                dynamic = True
                j = end + 1
                continue
            if lang in ("perl", "php") and d in "$@" and j + 1 < n and (code[j + 1].isalpha() or code[j + 1] in "_{"):
                dynamic = True
        if d == "}" and lang == "python" and interpolates and code.startswith("}}", j):
            buf.append("}")
            j += 2
            continue
        buf.append(d)
        j += 1
    end = min(n, j + len(close))
    return ("s", "".join(buf), dynamic, i, end), end


def ident(expr: str) -> str:
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in expr.strip())
    return out.strip("_") or "expr"


def _quote_op(code: str, op: str, j: int) -> tuple[tuple[str, str, bool, int, int] | None, int]:
    """Perl q// qq// qw// qx// m// s/// tr/// (and ruby %x() %w()): strings, commands, or regexes to skip."""
    n = len(code)
    pairs = {"(": ")", "{": "}", "[": "]", "<": ">"}
    parts = 2 if op in ("s", "tr", "y") else 1
    start = j
    values = []
    for _ in range(parts):
        if j >= n:
            break
        opening = code[j]
        closing = pairs.get(opening, opening)
        k = j + 1
        depth = 1
        while k < n:
            if code[k] == "\\":
                k += 2
                continue
            if opening != closing and code[k] == opening:
                depth += 1
            elif code[k] == closing:
                depth -= 1
                if depth == 0:
                    break
            k += 1
        values.append(code[j + 1:k])
        j = k + 1
        if parts == 2 and opening != closing:
            while j < n and code[j] in " \t":
                j += 1
        elif parts == 2:
            j -= 1  # s/a/b/: the middle delimiter is shared
    while j < n and code[j].isalpha():
        j += 1  # regex modifiers
    if op in ("m", "s", "tr", "y", "qr"):
        return None, j
    value = values[0] if values else ""
    kind = "x" if op == "qx" else ("w" if op == "qw" else "s")
    return (kind, value, op in ("qq", "qx") and "$" in value, start, j), j


def call_args(toks: list[tuple[str, str, bool, int, int]], k: int) -> tuple[list[list[tuple[str, str, bool, int, int]]], int]:
    """Arguments of a call whose ``(`` is at ``k``: token lists split on top-level commas."""
    args: list[list[tuple[str, str, bool, int, int]]] = [[]]
    depth = 0
    j = k
    while j < len(toks):
        tok = toks[j]
        v = tok[1] if tok[0] == "p" else None
        if v in ("(", "[", "{"):
            depth += 1
            if depth == 1:
                j += 1
                continue
        elif v in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                break
        elif v == "," and depth == 1:
            args.append([])
            j += 1
            continue
        args[-1].append(tok)
        j += 1
    return [a for a in args if a], j


def bare_args(toks: list[tuple[str, str, bool, int, int]], k: int, code: str, lang: str
               ) -> tuple[list[list[tuple[str, str, bool, int, int]]], int]:
    """Arguments of a call without parentheses (perl ``unlink glob "*.log"``, ruby ``system "ls"``)."""
    args: list[list[tuple[str, str, bool, int, int]]] = [[]]
    depth = 0
    j = k
    line_end = code.find("\n", toks[k - 1][4]) if k else -1
    while j < len(toks):
        tok = toks[j]
        if lang == "ruby" and line_end >= 0 and tok[3] > line_end:
            break
        v = tok[1] if tok[0] == "p" else None
        if depth == 0 and (v in (";", "}", ")") or (tok[0] == "n" and v is None and tok[1] in (
                "if", "unless", "or", "and", "foreach", "for", "while", "until", "do"))):
            break
        if v in ("(", "[", "{"):
            depth += 1
        elif v in (")", "]", "}"):
            depth -= 1
        if v == "," and depth == 0:
            args.append([])
        else:
            args[-1].append(tok)
        j += 1
    return [a for a in args if a], j


JOINS = frozenset({"join", "resolve", "expand_path", "Path", "PurePath", "Pathname", "realpath", "abspath"})


def literal_value(arg: list[tuple[str, str, bool, int, int]]) -> Word | list[Word]:
    """A literal argument as a Word (a list literal as a list); anything else as a dynamic Word."""
    if len(arg) == 1:
        kind, value, dynamic = arg[0][:3]
        if kind in ("s", "x"):
            return Word(value, dynamic)
        if kind == "g":
            return Word(value, dynamic, glob=True)
        if kind == "w":
            return [Word(v) for v in value.split()]
    if len(arg) >= 2 and arg[0][1] in ("[", "(") and arg[-1][1] in ("]", ")") and arg[0][0] == "p":
        inner = arg[1:-1]
        items: list[Word] = []
        cur: list[tuple[str, str, bool, int, int]] = []
        for tok in inner + [("p", ",", False, 0, 0)]:
            if tok[1] == "," and tok[0] == "p":
                if cur:
                    v = literal_value(cur)
                    items.extend(v if isinstance(v, list) else [v])
                cur = []
            else:
                cur.append(tok)
        return items
    names = [t[1] for t in arg if t[0] == "n"]
    if len(arg) >= 2 and arg[0][0] == "n" and arg[0][1] == "glob":  # perl glob "*.log", glob("*.log")
        rest = [t for t in arg[1:] if t[0] != "p"]
        if len(rest) == 1 and rest[0][0] == "s":
            return Word(rest[0][1], rest[0][2], glob=True)
    if names and names[-1] in ("glob",) and arg[-1][1] == ")":  # glob.glob("x"), Dir.glob("x")
        strs = [t for t in arg if t[0] == "s"]
        if len(strs) == 1:
            return Word(strs[0][1], strs[0][2], glob=True)
    if names and any(n in JOINS for n in names) and arg[-1][1] == ")":
        strs = [t for t in arg if t[0] == "s"]
        others = [t for t in arg if t[0] not in ("s", "p") and t[1] not in JOINS and t[1] not in (
            "os", "path", "pathlib", "File", "new", "require", "fs", "__dirname", "Path")]
        if strs and not others:
            return Word(os.path.join(*[t[1] for t in strs]), any(t[2] for t in strs))
    text = "".join(t[1] if t[0] != "s" else repr(t[1]) for t in arg)
    return Word("$" + ident(text)[:60], True)


# What each call does: name -> (qualifiers it needs, or None for any/bare, action).
# Actions: rm, rm-r, rm-opt (recursive if asked), rmdir, rmdir-opt, shell, argv, argv-list, eval.
