"""Programs that run other programs, read from the ``runners`` table of the rule files (issue 13).

A runner entry says where in a program's command line there is a command (``strace [opts] CMD``),
a shell string (``script -c 'CMD'``), code in a language (``awk 'BEGIN{system("...")}'``) or a
file the program overwrites (``find -fprint FILE``); ``handle_runner`` reads the command line with
the entry's option arity and classifies what it finds, through the same walk as ``bash -c``.

Two more mechanisms live here, both described as data in the rule files:

* ``env_loaders``: variables that make a program load code (``BASH_ENV``, ``GIT_SSH_COMMAND``,
  ``LD_PRELOAD``, ``BASH_FUNC_name%%``...), read from the command's own assignments and the
  variables the command exported before it;
* the tail of an unknown program: when a program no rule file names has, among its arguments, a
  program the rules know followed by arguments (``foo -x rm -rf src``), that tail is classified
  too (its commands, not its problems: a guessed tail that cannot be analysed does not ask).
"""
from __future__ import annotations

from guardsh.engine.expansion import NOT_WRITTEN, SHELLS, Expansion, Reader, inner_command, inner_text, join_words
from guardsh.engine.globs import any_match, gmatch
from guardsh.engine.model import Command, Redirect, Word

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CODE_KINDS = frozenset({"code_file", "script"})


def handle_runner(entries: dict[str, Any], cmd: Command, reader: Reader, out: Expansion, depth: int) -> bool:
    """Classify what ``cmd`` runs by its runner entries; True when the entry said what follows
    the options (the command is fully handled), False when it only read option values (the
    program's own handler, if any, still runs).  A reader bug asks; it never crashes or allows."""
    try:
        return _handle_runner(entries, cmd, reader, out, depth)
    except RecursionError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of a runner entry becomes "cannot analyse"
        out.problem(f"guardsh could not read what {cmd.program} runs ({type(e).__name__})", cmd)
        out.worsen("opaque")
        out.commands.append(cmd)
        return True


def _handle_runner(entries: dict[str, Any], cmd: Command, reader: Reader, out: Expansion, depth: int) -> bool:
    words = cmd.words
    base = entries.get("")
    start = _skip(words, 1, base)
    entry, key, at = base, "", 1
    if len(entries) > (1 if base is not None else 0):
        for sub, candidate in entries.items():
            if not sub:
                continue
            end = _match_sub(words, start, sub.split(), candidate)
            if end is not None and len(sub) > len(key):
                entry, key, at = candidate, sub, end
    if entry is None:
        return False
    plain = cmd.replace(redirects=(), stdin=None, stdin_from=None)
    label = f"{cmd.program} {key}".strip()
    fired: set[str] = set()
    if entry is not base and base is not None and "options" in base:
        _read_options(base, words, 1, start, plain, cmd.program, out, reader, depth, fired)
    tail = _read_options(entry, words, at, len(words), plain, label, out, reader, depth, fired)
    run = entry.get("run")
    if "stdin" in entry and not fired and not (run is not None and tail is not None and tail < len(words)):
        _stdin(cmd, plain, label, out, reader, depth, entry["stdin"])  # clickhouse-client < dump.sql
    if run is None:
        return False
    keep = entry.get("keep", run not in ("command", "shell"))  # awk, sed, at act by themselves too
    if keep or tail is None or tail >= len(words):
        out.commands.append(cmd)
    if run == "stdin":  # at, batch: the shell code is what they read on standard input
        if not fired & CODE_KINDS:
            _stdin(cmd, plain, label, out, reader, depth)
        return True
    if tail is None or tail >= len(words):
        return True
    if entry.get("options_anywhere") and "--" not in [w.value for w in words[at:tail]]:
        words = _without_options(words, tail, entry.get("value_options", ()))  # heroku run bash -a APP
        cmd = cmd.replace(words=words)
    if run == "command":
        inner_command(cmd, tail, label, out, reader, depth)
    elif fired & (CODE_KINDS | {run}):
        pass  # awk -f FILE, sed -e SCRIPT, at -f FILE: the words that follow are data, not code
    elif run == "shell":
        text = " ".join(w.value for w in words[tail:]) if entry.get("shell_words", True) else words[tail].value
        _shell(plain, text, label, out, reader, depth, any(w.dynamic for w in words[tail:]))
    else:
        _code(plain, words[tail], run, label, out, reader, depth)
    return True


def _stdin(cmd: Command, plain: Command, label: str, out: Expansion, reader: Reader, depth: int,
           lang: str = "shell") -> None:
    from guardsh.engine.inline.common import stdin_source

    src = stdin_source(cmd)
    if src is None:
        return
    kind, value = src
    if kind == "text":
        body, dynamic = value  # type: ignore[misc]
        if lang == "shell":
            _shell(plain, body, f"{label} <<", out, reader, depth, False)
        else:
            _code(plain, Word(body), lang, f"{label} <<", out, reader, depth)
        if dynamic:
            out.problem(f"{label} reads commands that the shell expands at run time", plain)
            out.worsen("opaque")
    elif kind == "file":
        if lang == "shell":
            _script(plain, value, label, out, reader, depth)  # type: ignore[arg-type]
        else:
            _code_file(plain, value, f"{label} <", out, reader, depth)  # type: ignore[arg-type]
    else:
        out.problem(f"{label} reads the commands it runs from a pipe{' from ' + value if value else ''}: "
                    "guardsh cannot see them", plain)
        out.worsen("opaque")


def _skip(words: tuple[Word, ...], i: int, entry: dict[str, Any] | None) -> int:
    """Index of the first positional word at or after ``i`` (``--`` ends the options)."""
    values = entry.get("value_options", ()) if entry else ()
    n = len(words)
    while i < n:
        w = words[i].value
        if w == "--" or not w.startswith("-") or w == "-":
            return i
        i += 1
        if w in values:
            i += 1
        elif not w.startswith("--") and len(w) > 2 and "-" + w[-1] in values and not any(
                "-" + c in values for c in w[1:-1]):
            i += 1  # -xvf FILE: the last letter of a cluster takes the next word
    return i


def _match_sub(words: tuple[Word, ...], i: int, sub: list[str], entry: dict[str, Any]) -> int | None:
    """Index after the subcommand words ``sub`` when the command line has them at ``i``."""
    for k, want in enumerate(sub):
        if i >= len(words) or words[i].dynamic or words[i].value != want:
            return None
        i += 1
        if k + 1 < len(sub):
            i = _skip(words, i, entry)
    return i


def _read_options(entry: dict[str, Any], words: tuple[Word, ...], i: int, end: int, plain: Command, label: str,
                  out: Expansion, reader: Reader, depth: int, fired: set[str]) -> int | None:
    """Classify the values of the entry's options between ``i`` and ``end``; the index where the
    command (or the runner's own positional words) start, or None when there is no command."""
    values = entry.get("value_options", ())
    kinds = entry.get("options", {})
    lang = entry.get("run") if entry.get("run") not in (None, "command", "shell", "stdin") else None
    lang = lang or (entry.get("stdin") if entry.get("stdin") != "shell" else None)
    skip = entry.get("skip", 0)
    arg_kinds = entry.get("args")
    after_dashdash = entry.get("after_dashdash", False)
    has_run = "run" in entry
    n = end
    while i < n:
        word = words[i]
        w = word.value
        if w == "--":
            if has_run:
                return _after_skip(words, i + 1, n, 0) if skip == 0 or after_dashdash else None
            return None
        if not w.startswith(("-", "+")) or w in ("-", "+"):
            if has_run and not after_dashdash:
                k = _after_skip(words, i, n, skip, values)
                if k is None or skip == 0:
                    return k
                i, skip = k, 0
                if i < n and words[i].value == "--":
                    return i + 1 if i + 1 < n else None
                if i < n and words[i].value in kinds:
                    continue  # sg GROUP -c CMD: the runner's options after its own words
                return i
            if arg_kinds and not word.dynamic:
                _arg(arg_kinds, word, plain, label, out, reader, depth, fired, lang)
            i += 1
            continue
        i += 1
        if w.startswith("+"):
            if "+" in kinds:
                _value(kinds["+"], Word(w[1:], word.dynamic), plain, label, out, reader, depth, fired, lang)
            continue
        if w in values or w in kinds:
            if kinds.get(w) == "module":  # python -m twine upload: the module runs as a command
                if i < n:
                    inner_command(plain, i, f"{label} {w}", out, reader, depth)
                return None
            if w in values:
                if i < n:
                    _value(kinds.get(w), words[i], plain, label, out, reader, depth, fired, lang)
                i += 1
            elif kinds.get(w) == "command":  # gdb --args PROG ARGS: the rest is a command
                inner_command(plain, i, f"{label} {w}", out, reader, depth)
                return None
            continue
        if w.startswith("--"):
            name, eq, rest = w.partition("=")
            if eq:
                _value(kinds.get(name), Word(rest, word.dynamic), plain, label, out, reader, depth, fired, lang)
            continue
        name, eq, rest = w.partition("=")
        if eq and name in values:  # -iex=..., single-dash long with a value
            _value(kinds.get(name), Word(rest, word.dynamic), plain, label, out, reader, depth, fired, lang)
            continue
        for j in range(1, len(w)):
            opt = "-" + w[j]
            if opt in values:
                attached = w[j + 1:]
                if attached:
                    _value(kinds.get(opt), Word(attached, word.dynamic), plain, label, out, reader, depth, fired, lang)
                elif i < n:
                    _value(kinds.get(opt), words[i], plain, label, out, reader, depth, fired, lang)
                    i += 1
                break
            if opt in kinds:  # an optional value, attached only (git grep -Ovim)
                if w[j + 1:]:
                    _value(kinds[opt], Word(w[j + 1:], word.dynamic), plain, label, out, reader, depth, fired, lang)
                break
    return None


def _arg(arg_kinds: dict[str, str], word: Word, plain: Command, label: str, out: Expansion, reader: Reader,
         depth: int, fired: set[str], lang: str | None) -> None:
    """A positional word that is code by its shape: git's ``ext::CMD ARGS`` URLs (``%`` escapes
    a space, ``%%`` a percent sign)."""
    for pattern, kind in arg_kinds.items():
        if gmatch(pattern, word.value):
            prefix = pattern.split("*", 1)[0]
            value = word.value[len(prefix):]
            if prefix == "ext::":  # arguments split at bare spaces; "% " is a space inside one
                parts = value.replace("%%", "\0").replace("% ", "\1").split(" ")
                value = join_words([Word(p.replace("\1", " ").replace("\0", "%")) for p in parts if p])
            _value(kind, Word(value), plain, f"{label} {prefix}", out, reader, depth, fired, lang)
            return


def _without_options(words: tuple[Word, ...], tail: int, values: tuple[str, ...]) -> tuple[Word, ...]:
    """The words with the runner's own value options (and their values) taken out of the tail:
    CLIs such as heroku's read their flags anywhere on the line."""
    kept = list(words[:tail])
    i, n = tail, len(words)
    while i < n:
        w = words[i].value
        if w == "--":
            kept.extend(words[i + 1:])
            break
        if w in values:
            i += 2
            continue
        if w.startswith("--") and w.partition("=")[0] in values and "=" in w:
            i += 1
            continue
        kept.append(words[i])
        i += 1
    return tuple(kept)


def _after_skip(words: tuple[Word, ...], i: int, n: int, skip: int, values: tuple[str, ...] = ()) -> int | None:
    """Index after the runner's own ``skip`` positional words (options between them skipped)."""
    while skip and i < n:
        w = words[i].value
        if w.startswith("-") and w != "-":
            i += 2 if w in values else 1
            continue
        skip -= 1
        i += 1
    if skip:
        return None
    return i if i < n else None


def _value(kind: Any, word: Word, plain: Command, label: str, out: Expansion, reader: Reader, depth: int,
           fired: set[str], lang: str | None = None) -> None:
    if kind is None:
        return
    if isinstance(kind, dict):  # -o ProxyCommand=..., -c core.sshCommand=...: the key picks the kind
        text = word.value
        cut = min((k for k in (text.find("="), text.find(" ")) if k >= 0), default=-1)
        if cut < 0:
            return
        key, value = text[:cut].lower(), text[cut + 1:].lstrip("= ")
        for pattern, sub_kind in kind.items():
            if gmatch(pattern, key):
                _value(sub_kind, Word(value, word.dynamic), plain, f"{label} {text[:cut]}", out, reader, depth, fired,
                       lang)
                return
        return
    fired.add(kind)
    if kind in ("shell", "command"):
        _shell(plain, word.value, label, out, reader, depth, word.dynamic)
    elif kind == "file":
        pseudo = plain.replace(words=(Word("printf"),), redirects=(Redirect(">", 1, word, None, False),),
                               text=f"{label} {word.value}", via=plain.via + (label,))
        out.commands.append(pseudo)  # an option that overwrites a file: the redirection rules judge it
    elif kind == "script":
        _script(plain, word, label, out, reader, depth)
    elif kind == "hooks":
        _hooks(plain, word, label, out, reader, depth)
    elif kind == "code_file":
        _code_file(plain, word, label, out, reader, depth, lang)
    else:
        _code(plain, word, kind, label, out, reader, depth)


def _shell(plain: Command, text: str, label: str, out: Expansion, reader: Reader, depth: int, dynamic: bool) -> None:
    if dynamic and text.strip().startswith("$") and " " not in text.strip():
        out.problem(f"{label} runs a command held in a variable ({text}): guardsh cannot tell what runs", plain)
        out.worsen("opaque")
        return
    inner_text(plain, text, label, out, reader, depth)


def _script(plain: Command, word: Word, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """A file of shell code the program runs (``at -f FILE``): classified as ``sh FILE``."""
    pseudo = plain.replace(words=(Word("sh"), word), text=f"sh {word.value}", via=plain.via + (label,))
    out.dispatch(pseudo, reader, out, depth + 1)


HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "pre-push", "pre-rebase", "post-checkout",
         "post-merge", "post-rewrite", "pre-merge-commit", "pre-applypatch", "applypatch-msg", "post-applypatch",
         "reference-transaction", "pre-auto-gc", "push-to-checkout", "fsmonitor-watchman", "post-index-change",
         "sendemail-validate", "pre-receive", "update", "post-receive", "post-update", "proc-receive")


def _hooks(plain: Command, word: Word, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """``git -c core.hooksPath=DIR``: every hook in DIR that exists (or that the command wrote)
    is a script git may run."""
    if word.dynamic:
        out.problem(f"{label} points git's hooks at a directory named at run time ({word.value})", plain)
        out.worsen("opaque")
        return
    base = word.value.rstrip("/") or "/"
    for hook in HOOKS:
        path = f"{base}/{hook}"
        if reader.exists(path):
            hook_word = Word(path if "/" in path else "./" + path)
            pseudo = plain.replace(words=(hook_word,), text=path, via=plain.via + (label,))
            out.dispatch(pseudo, reader, out, depth + 1)


def _code_file(plain: Command, word: Word, label: str, out: Expansion, reader: Reader, depth: int,
               lang: str | None = None) -> None:
    """The program reads its code from a file (``awk -f prog.awk``): read it, in the entry's
    language (its ``run`` or ``stdin`` language), else the language its name says."""
    from guardsh.engine.runners.languages import language_of

    lang = lang or language_of(plain.program)
    if lang is None:
        return
    if word.dynamic:
        out.problem(f"{label} runs code from a file named at run time ({word.value})", plain)
        out.worsen("opaque")
        return
    if word.value in ("-", "/dev/stdin"):
        if plain.stdin == "pipe" or word.value == "-":
            out.problem(f"{label} reads its program from standard input: guardsh cannot see it", plain)
            out.worsen("opaque")
        return
    if not reader.read_files and reader.written(word.value) is NOT_WRITTEN:
        return  # like an interpreter's script file: read only where guardsh reads files
    text = reader.read(word.value)
    if text is None:
        if reader.exists(word.value) is False:
            return
        out.problem(f"{label} runs code from {word.value}, which guardsh cannot read", plain)
        out.worsen("opaque")
        return
    _code(plain, Word(text), lang, label, out, reader, depth)


def _code(plain: Command, word: Word, lang: str, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """Code in a language: what it runs (shell text, a command) and the files it writes."""
    from guardsh.engine.runners.languages import scan  # (imports re: only when a command holds code)

    if lang == "sql":  # the SQL reader of the database CLIs: each statement becomes `sql ...`
        from guardsh.engine.inline.sql import _sql_text

        _sql_text(plain, word.value, "ansi", f"{label} (sql)", out, reader, depth, word.dynamic)
        return
    for kind, value in scan(lang, word.value):
        if kind == "shell":
            _shell(plain, value, f"{label} ({lang})", out, reader, depth, word.dynamic and "$" in value)
        elif kind == "argv":
            argv = tuple(Word(v) for v in value.split("\0"))
            pseudo = plain.replace(words=argv, text=join_words(argv), via=plain.via + (f"{label} ({lang})",))
            out.dispatch(pseudo, reader, out, depth + 1)
        elif kind == "file":
            _value("file", Word(value), plain, f"{label} ({lang})", out, reader, depth, set())
        elif kind == "code":  # python, node, ruby, perl, php: the interpreters' own reader
            from guardsh.engine.inline.code import scan_code

            sub_lang, _, code = value.partition("\0")
            scan_code(plain, code, sub_lang, f"{label} ({sub_lang})", out, reader, depth, word.dynamic)
        else:  # opaque
            out.problem(f"{label}: {value}", plain)
            out.worsen("opaque")


# --- environment variables that load code -------------------------------------------------

def env_loaders(table: dict[str, dict[str, Any]], cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """The command's own assignments (``VAR=x cmd``, ``env VAR=x cmd``) and the variables the
    text exported before it, against the ``env_loaders`` table."""
    pairs: list[tuple[str, Word]] = list(cmd.assignments)
    state = out.state
    if state is not None and state.exported:
        for name in state.exported:
            value = state.vars.get(name)
            if isinstance(value, str):
                pairs.append((name, Word(value)))
            elif value is not None:
                pairs.append((name, Word("$" + name, dynamic=True)))
    if not pairs:
        return
    prog = cmd.program
    seen: set[str] = set()
    cached = _GLOBS.get(id(table))
    if cached is None or cached[0] is not table:
        cached = _GLOBS[id(table)] = (table, [(p, s) for p, s in table.items() if any(c in p for c in "*?[")])
    globs = cached[1]
    for name, value in reversed(pairs):
        if name in seen:
            continue
        seen.add(name)
        spec = table.get(name)
        if spec is None:
            spec = next((s for p, s in globs if gmatch(p, name)), None)
        if spec is not None and any_match(spec["programs"], prog):
            _load(spec, name, value, cmd, reader, out, depth)


_GLOBS: dict[int, tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]] = {}


def _load(spec: dict[str, Any], name: str, value: Word, cmd: Command, reader: Reader, out: Expansion,
          depth: int) -> None:
    plain = cmd.replace(redirects=(), stdin=None, stdin_from=None, assignments=())
    label = f"{name} for {cmd.program}"
    kind = spec["kind"]
    if not value.value:
        return
    if kind == "opaque":
        out.problem(f"{name}={value.value} makes {cmd.program} load code guardsh cannot read", cmd)
        out.worsen("opaque")
    elif kind == "shell":
        _shell(plain, value.value, label, out, reader, depth, value.dynamic)
    elif kind == "program":
        _shell(plain, join_words([value]), label, out, reader, depth, value.dynamic)
    elif kind == "function":  # BASH_FUNC_name%%='() { body; }'
        body = value.value.strip()
        if body.startswith("()"):
            body = body[2:]
        _shell(plain, body, label, out, reader, depth, value.dynamic)
    elif kind == "file":
        lang = spec.get("language")
        if lang:
            _code_file(plain.replace(words=(Word(lang),)), value, label, out, reader, depth)
        else:
            pseudo = plain.replace(words=(Word("source"), value), text=f"source {value.value}",
                                   via=plain.via + (label,))
            out.dispatch(pseudo, reader, out, depth + 1)


# --- the tail of an unknown program ------------------------------------------------------

def unknown_tail(rules: Any, cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """``foo -x rm -rf src``: an unknown program whose arguments hold a known program followed by
    arguments; the tail is classified too (its commands; a guessed tail's problems do not count)."""
    words = cmd.words
    for k in range(1, len(words) - 1):
        w = words[k]
        v = w.value
        if w.dynamic or w.glob or not v or not (v[0].isalpha() or v[0] == "_") or "=" in v or "/" in v:
            continue
        if v not in SHELLS and not rules.is_known(v):
            continue
        scratch = Expansion(out.dispatch, out.walk)
        scratch.state = out.state
        scratch.budget = out.budget
        inner_command(cmd.replace(redirects=()), k, f"{cmd.program} (arguments)", scratch, reader, depth)
        out.commands.extend(scratch.commands)
        out.texts.extend(scratch.texts)
        return
