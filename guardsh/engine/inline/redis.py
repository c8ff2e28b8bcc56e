"""Redis commands (redis-cli, valkey-cli), and the Lua of EVAL: each becomes ``redis <command> <args...>``."""
from __future__ import annotations

from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.inline.codetokens import call_args, code_tokens, literal_value
from guardsh.engine.inline.common import emit, opaque, read_code_file, stdin_source, walk_options
from guardsh.engine.model import Command, Word

REDIS_SHORT = "hpsaurindD"
REDIS_LONG = frozenset({"--user", "--pass", "--cacert", "--cacertdir", "--cert", "--key", "--sni", "--tls-ciphers",
                        "--tls-ciphersuites", "--pattern", "--count", "--rdb", "--functions-rdb", "--eval",
                        "--pipe-timeout", "--intrinsic-latency", "--quoted-pattern", "--memkeys-samples",
                        "--cluster-search-multiple-owners", "--resp", "--lru-test", "--show-pushes"})
REDIS_CONTAINERS = frozenset({"config", "script", "function", "cluster", "acl", "client", "debug", "memory",
                              "module", "object", "slowlog", "latency", "xgroup", "xinfo", "command", "pubsub"})
REDIS_TOOLS = frozenset({"--scan", "--bigkeys", "--memkeys", "--hotkeys", "--stat", "--latency", "--latency-history",
                         "--latency-dist", "--intrinsic-latency", "--rdb", "--functions-rdb", "--replica", "--help",
                         "--version", "-v", "--cluster", "--keystats"})


def _redis_words(args: list[Word]) -> list[Word]:
    if not args:
        return []
    words = [Word("redis"), Word(args[0].value.lower(), args[0].dynamic)]
    rest = args[1:]
    if args[0].value.lower() in REDIS_CONTAINERS and rest:
        words.append(Word(rest[0].value.lower(), rest[0].dynamic))
        rest = rest[1:]
    return words + list(rest)


def redis_cli(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    opts, pos = walk_options(cmd.words, REDIS_SHORT, REDIS_LONG)
    names = {name for name, _ in opts}
    for name, value in opts:
        if name == "--eval" and value is not None:
            text = read_code_file(cmd, value, "a Lua script", out, reader)
            if text is not None:
                _lua(cmd, text, "redis-cli --eval", out, reader, depth)
    if pos:
        if pos[0].dynamic:
            opaque(cmd, f"the redis command is built at run time ({pos[0].value})", out)
        _redis_one(cmd, pos, "redis-cli", out, reader, depth)
        return
    if names & REDIS_TOOLS or "--eval" in names:
        return
    src = stdin_source(cmd)
    if src is None:
        return
    kind, value = src
    text = None
    if kind == "text":
        text = value[0]  # type: ignore[index]
    elif kind == "file":
        assert isinstance(value, Word)
        text = read_code_file(cmd, value, "commands", out, reader)
    elif "--pipe" not in names or value not in ("cat",):
        opaque(cmd, f"redis-cli runs commands read from a pipe{' from ' + str(value) if value else ''}: "
                     "guardsh cannot see them", out)
    if text is None:
        return
    import shlex

    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            parts = shlex.split(line)
        except ValueError:
            parts = line.split()
        _redis_one(cmd, [Word(p) for p in parts], "redis-cli", out, reader, depth)


def _redis_one(cmd: Command, args: list[Word], label: str, out: Expansion, reader: Reader, depth: int) -> None:
    words = _redis_words(args)
    if not words:
        return
    if words[1].value in ("eval", "eval_ro") and len(words) > 2:
        if words[2].dynamic:
            opaque(cmd, "redis EVAL of a script built at run time", out)
        else:
            _lua(cmd, words[2].value, f"{label} eval", out, reader, depth)
        return
    emit(cmd, words, label, " ".join(w.value for w in args), out, reader, depth)


def _lua(cmd: Command, code: str, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """redis.call('DEL', ...) inside a Lua script: each call is a redis command."""
    toks = code_tokens(code, "lua")
    found = False
    for k, tok in enumerate(toks):
        if tok[0] == "n" and tok[1] in ("call", "pcall") and k >= 2 and toks[k - 1][1] == "." \
                and toks[k - 2][1] == "redis" and k + 1 < len(toks) and toks[k + 1][1] == "(":
            args, end = call_args(toks, k + 1)
            found = True
            if not args or len(args[0]) != 1 or args[0][0][0] != "s":
                opaque(cmd, "a Lua script calls a redis command named at run time", out)
                continue
            words = [literal_value(a) for a in args]
            flat = [w for item in words for w in (item if isinstance(item, list) else [item])]
            _redis_one(cmd, flat, label, out, reader, depth)
    if not found and "redis" in code:
        emit(cmd, [Word("redis"), Word("eval")], label, code, out, reader, depth)
