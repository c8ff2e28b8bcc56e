"""Interpreter code (``python -c``, ``perl -e``, ``node -e``...): the destructive calls in it become
the shell commands they amount to (``shutil.rmtree("data")`` -> ``rm -r data``)."""
from __future__ import annotations

from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.inline.calls import CALLS
from guardsh.engine.inline.codetokens import bare_args, call_args, code_tokens, literal_value
from guardsh.engine.inline.common import emit, opaque, shell_text, stdin_source
from guardsh.engine.model import Command, Word
from guardsh.engine.state import UNKNOWN


def interpreter(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """python/perl/ruby/node/php: the inline code they are given, scanned for destructive calls."""
    out.commands.append(cmd)
    prog = cmd.program
    lang = _lang(prog)
    codes, script, stdin_program = _inline_code(cmd, lang)
    for code, label, dynamic in codes:
        if dynamic and code.startswith("$") and " " not in code.strip():
            opaque(cmd, f"{prog} runs code held in a variable or built at run time ({code})", out)
            continue
        scan_code(cmd, code, lang, label, out, reader, depth, dynamic)
    if script is not None and script.value != "-":
        # A script this same command wrote: its content is known, so it is what runs. (A script
        # already on disk is the project's own code, judged by the interpreter's rules as before.)
        written = reader.written(script.value)
        if isinstance(written, str):
            scan_code(cmd, written, lang, f"{prog} {script.value}", out, reader, depth, False)
        elif written is UNKNOWN:
            opaque(cmd, f"{prog} runs {script.value}, which this command wrote with content guardsh cannot see", out)
    if codes or not stdin_program:
        return
    src = stdin_source(cmd)
    if src is None:
        return
    kind, value = src
    if kind == "text":
        body, dynamic = value  # type: ignore[misc]
        scan_code(cmd, body, lang, f"{prog} <<", out, reader, depth, dynamic)
    elif kind == "pipe":
        source = f" from {value}" if value else ""
        opaque(cmd, f"{prog} runs a program read from a pipe{source}: guardsh cannot see it", out)


def _lang(prog: str) -> str:
    if prog.startswith("python") or prog.startswith("pypy"):
        return "python"
    if prog in ("node", "nodejs", "deno", "bun"):
        return "js"
    return prog if prog in ("perl", "ruby", "php") else "python"


def _inline_code(cmd: Command, lang: str) -> tuple[list[tuple[str, str, bool]], Word | None, bool]:
    """(code pieces, script word, reads the program from stdin)."""
    words = cmd.words
    prog = cmd.program
    codes: list[tuple[str, str, bool]] = []
    i, n = 1, len(words)
    if lang == "python":
        while i < n:
            w = words[i].value
            if w == "--" or not w.startswith("-") or w == "-":
                break
            i += 1
            if w.startswith("--"):
                if w in ("--check-hash-based-pycs",) and i < n:
                    i += 1
                continue
            for j in range(1, len(w)):
                c = w[j]
                if c in "cmWX":
                    value = w[j + 1:] or (words[i].value if i < n else "")
                    dyn = words[i - 1].dynamic if w[j + 1:] else (words[i].dynamic if i < n else False)
                    if not w[j + 1:]:
                        i += 1
                    if c == "c":
                        return [(value, f"{prog} -c", dyn)], None, False
                    if c == "m":
                        return [], None, False
                    break
        if i < n and words[i].value == "--":
            i += 1
        script = words[i] if i < n else None
        return [], script, script is None or script.value == "-"
    if lang == "js":
        if prog == "deno":
            if n > 2 and words[1].value == "eval":
                return [(words[-1].value, "deno eval", words[-1].dynamic)], None, False
            return [], None, False
        while i < n:
            w = words[i].value
            if not w.startswith("-") or w == "-":
                break
            i += 1
            name, eq, val = w.partition("=")
            if name in ("-e", "--eval", "-p", "--print"):
                if eq:
                    codes.append((val, f"{prog} {name}", words[i - 1].dynamic))
                elif i < n:
                    codes.append((words[i].value, f"{prog} {name}", words[i].dynamic))
                    i += 1
            elif name in ("-c", "--check", "-v", "--version", "-h", "--help"):
                return [], None, False
            elif name in ("-r", "--require", "--import", "--loader", "--experimental-loader", "--input-type",
                          "--env-file", "--conditions", "-C", "--title") and not eq:
                i += 1
        if codes:
            return codes, None, False
        script = words[i] if i < n else None
        return [], script, script is None or script.value == "-"
    # perl, ruby, php
    code_flags = {"perl": "eE", "ruby": "e", "php": "rBRE"}[lang]
    attached = {"perl": "iIlMmx0dDCF", "ruby": "iIrCEKFTWx0", "php": "dcfzt"}[lang]
    next_value = {"perl": "", "ruby": "IrCE", "php": "dcfzt"}[lang]
    script_word: Word | None = None
    while i < n:
        w = words[i].value
        if w == "--":
            i += 1
            break
        if not w.startswith("-") or w == "-":
            break
        i += 1
        if w.startswith("--"):
            continue
        for j in range(1, len(w)):
            c = w[j]
            if c in code_flags:
                if w[j + 1:]:
                    codes.append((w[j + 1:], f"{prog} -{c}", words[i - 1].dynamic))
                elif i < n:
                    codes.append((words[i].value, f"{prog} -{c}", words[i].dynamic))
                    i += 1
                break
            if c in attached:
                if not w[j + 1:] and c in next_value and i < n:
                    if lang == "php" and c == "f":
                        script_word = words[i]
                    i += 1
                break
    if codes:
        return [("\n".join(c for c, _, _ in codes), codes[0][1], any(d for _, _, d in codes))], None, False
    script = script_word or (words[i] if i < n else None)
    return [], script, script is None or script.value == "-"


def source_of(toks: list[tuple[str, str, bool, int, int]], a: int, b: int, code: str = "") -> str:
    """The code of tokens ``a`` to ``b`` (as written when the code is known)."""
    part = toks[a:b]
    if code and part and part[-1][4] > part[0][3]:
        return code[part[0][3]:part[-1][4]]
    return " ".join(t[1] for t in part)


def scan_code(cmd: Command, code: str, lang: str, label: str, out: Expansion, reader: Reader, depth: int,
          dynamic: bool = False, nested: int = 0) -> None:
    toks = code_tokens(code, lang)
    if dynamic:  # the shell expanded $x inside the code: literals holding one are unknown until run time
        toks = [(t[0], t[1], True, t[3], t[4]) if t[0] in ("s", "x", "g") and "$" in t[1] else t for t in toks]
    if dynamic and any(t[0] in ("p", "v", "n") and t[1][:1] in ("$", "`") for t in toks):
        opaque(cmd, f"the {lang} code is spliced together by the shell at run time", out)
    code_calls(cmd, toks, lang, label, out, reader, depth, dynamic, nested, code)


def code_calls(cmd: Command, toks: list[tuple[str, str, bool, int, int]], lang: str, label: str,
                out: Expansion, reader: Reader, depth: int, dynamic: bool = False, nested: int = 0,
                code: str = "") -> None:
    table = CALLS[lang]
    for k, tok in enumerate(toks):
        kind, name = tok[0], tok[1]
        if kind == "x":  # `cmd`, qx{cmd}, %x(cmd)
            if tok[2] and name.startswith("$") and " " not in name:
                opaque(cmd, f"{lang} code runs a shell command built at run time", out)
            else:
                shell_text(cmd, name, f"{label} `...`", out, reader, depth)
            continue
        if kind != "n" or name not in table:
            continue
        quals, action = table[name]
        prev = toks[k - 1] if k else None
        qual = ""
        if prev is not None and prev[1] == "." and prev[0] == "p":
            before = toks[k - 2] if k >= 2 else None
            if before is None:
                continue
            if before[0] == "n":
                qual = before[1]
            elif before[1] == ")":
                qual = _receiver(toks, k - 2)
            else:
                qual = "<expr>"
        elif prev is not None and prev[0] == "n" and prev[1] in ("def", "function", "sub", "fn", "new") and name != "Function":
            continue  # a definition, not a call
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if lang == "python" and name in ("unlink", "rmdir") and qual and quals is not None and qual not in quals \
                and not qual.startswith("<recv") and nxt is not None and nxt[1] == "(" \
                and k + 2 < len(toks) and toks[k + 2][1] == ")":
            qual = "<recv>"  # p.unlink(): a pathlib path held in a variable
        if quals is not None and qual not in quals and not (qual.startswith("<recv") and "<recv>" in quals):
            continue
        if nxt is not None and nxt[0] == "p" and nxt[1] == "(":
            args, end = call_args(toks, k + 1)
        elif lang in ("perl", "ruby") and nxt is not None and nxt[0] != "p" or (
                lang == "perl" and nxt is not None and nxt[1] in ("<",)):
            args, end = bare_args(toks, k + 1, code, lang)
        elif lang == "perl" and nxt is not None and nxt[1] == "{" and name == "eval":
            continue  # eval { ... }: a block of code, read in place
        elif lang in ("ruby", "perl") and qual.startswith("<recv") and action in ("rm", "rmdir", "rm-r"):
            args, end = [], k
        else:
            continue
        source = source_of(toks, max(0, k - 2), min(len(toks), end + 1), code)
        if qual.startswith("<recv"):  # Path("x").unlink(), Pathname.new("x").rmtree
            recv = qual.partition(":")[2]
            args = [[("s", recv, False, 0, 0)]] if recv else [[("n", "receiver", True, 0, 0)]]
        _act(cmd, action, args, lang, label, source, out, reader, depth, nested)


def _receiver(toks: list[tuple[str, str, bool, int, int]], close: int) -> str:
    """For ``f("x").method``: the qualifier f("x") gives (a module for require, a path for Path)."""
    depth = 0
    j = close
    while j >= 0:
        v = toks[j][1] if toks[j][0] == "p" else None
        if v == ")":
            depth += 1
        elif v == "(":
            depth -= 1
            if depth == 0:
                break
        j -= 1
    if j <= 0:
        return "<expr>"
    func = toks[j - 1][1]
    if toks[j - 1][1] == "new" and j >= 3:
        func = toks[j - 3][1]
    inner = toks[j + 1:close]
    literal = inner[0][1] if len(inner) == 1 and inner[0][0] == "s" else None
    if func == "require" and literal:
        mod = literal.removeprefix("node:")
        return "promises" if mod == "fs/promises" else mod
    if func in ("Path", "PurePath", "PosixPath", "Pathname"):
        return "<recv>:" + literal if literal and not inner[0][2] else "<recv>"
    return "<expr>"


def _act(cmd: Command, action: str, args: list[list[tuple[str, str, bool, int, int]]], lang: str, label: str,
         source: str, out: Expansion, reader: Reader, depth: int, nested: int) -> None:
    values = [literal_value(a) for a in args if not (lang == "python" and len(a) >= 2 and a[0][0] == "n" and a[1][1] == "=")]
    kw = {a[0][1]: a[2:] for a in args if lang == "python" and len(a) >= 3 and a[0][0] == "n" and a[1][1] == "="}
    flat_tokens = [t[1] for a in args for t in a]
    if action.startswith("rm") and action != "rmdir-opt" or action == "rmdir":
        if not values:
            return
        paths: list[Word] = []
        for v in values[:1] if lang in ("python", "js") else values:
            paths.extend(v if isinstance(v, list) else [v])
        recursive = action == "rm-r" or (action == "rm-opt" and "recursive" in flat_tokens)
        prog = "rmdir" if action == "rmdir" else "rm"
        flags = [Word("-r")] if recursive else []
        emit(cmd, [Word(prog)] + flags + paths, label, source, out, reader, depth)
        return
    if action == "rmdir-opt":
        if values:
            first = values[0] if isinstance(values[0], list) else [values[0]]
            recursive = "recursive" in flat_tokens
            emit(cmd, [Word("rm" if recursive else "rmdir")] + ([Word("-r")] if recursive else []) + first,
                  label, source, out, reader, depth)
        return
    if action == "eval" or action == "eval-str":
        if not values:
            return
        first = values[0]
        if isinstance(first, Word) and not first.dynamic and args[0][0][0] == "s" and nested < 4:
            scan_code(cmd, first.value, lang, label + " eval", out, reader, depth, nested=nested + 1)
        elif action == "eval":
            opaque(cmd, f"{lang} code evaluates code built at run time ({source}): guardsh cannot read it", out)
        return
    if not values:
        return
    first = values[0]
    if action == "argv-list" and len(values) >= 2 and isinstance(values[1], list) and isinstance(first, Word):
        words = values[1]
        if lang == "js":
            words = [first] + words  # execFileSync("rm", ["-rf", "x"])
        _argv(cmd, words, label, source, out, reader, depth)
        return
    if action == "argv-list" and isinstance(first, list):
        _argv(cmd, first, label, source, out, reader, depth)
        return
    if action == "argv" and len(values) >= 2 and all(isinstance(v, Word) for v in values):
        _argv(cmd, [v for v in values if isinstance(v, Word)], label, source, out, reader, depth)
        return
    if isinstance(first, list):  # subprocess.run(["rm", "-rf", "x"])
        _argv(cmd, first, label, source, out, reader, depth)
        return
    if first.dynamic and (first.value.startswith("$") or action == "argv-list"):
        if "shell" in kw and [t[1] for t in kw["shell"]] != ["True"] and action == "shell":
            return
        opaque(cmd, f"{lang} code runs a command built at run time ({source})", out)
        return
    if action == "argv-list" and lang == "js" and not any("shell" in flat_tokens for _ in (0,)):
        _argv(cmd, [first], label, source, out, reader, depth)
        return
    shell_text(cmd, first.value, f"{label} {source.split('(')[0].strip()}", out, reader, depth)


def _argv(cmd: Command, words: list[Word], label: str, source: str, out: Expansion, reader: Reader,
          depth: int) -> None:
    if not words:
        return
    if words[0].dynamic:
        opaque(cmd, f"code runs a program named at run time ({source})", out)
        return
    emit(cmd, words, label, source, out, reader, depth)
