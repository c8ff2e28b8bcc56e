"""MongoDB shell code (mongosh, mongo): each call that deletes becomes ``mongo <operation> <collection> <filter>``."""
from __future__ import annotations

from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.inline.code import code_calls, source_of
from guardsh.engine.inline.codetokens import call_args, code_tokens
from guardsh.engine.inline.common import emit, opaque, read_code_file, stdin_source, walk_options
from guardsh.engine.inline.sql import INFO_FLAGS
from guardsh.engine.model import Command, Word

MONGO_LONG = frozenset({"--host", "--port", "--username", "--password", "--authenticationDatabase",
                        "--authenticationMechanism", "--eval", "--file", "--apiVersion", "--tlsCAFile",
                        "--tlsCertificateKeyFile", "--tlsCertificateKeyFilePassword", "--sslCAFile", "--sslPEMKeyFile",
                        "--awsIamSessionToken", "--gssapiServiceName", "--sspiHostnameCanonicalization",
                        "--retryWrites", "--csfleLibraryPath", "--keyVaultNamespace", "--kmsURL", "--cryptSharedLibPath"})
MONGO_OPS = {
    "dropdatabase": "dropdatabase", "drop": "drop", "deletemany": "deletemany", "remove": "remove",
    "deleteone": "deleteone", "findoneanddelete": "deleteone", "updatemany": "updatemany",
    "replaceone": "replaceone", "dropuser": "dropuser", "dropallusers": "dropallusers", "droprole": "droprole",
    "dropallroles": "dropallroles", "shutdownserver": "shutdown", "dropindex": "dropindex",
    "dropindexes": "dropindexes", "renamecollection": "renamecollection", "bulkwrite": "bulkwrite",
    "insertone": "insert", "insertmany": "insert", "insert": "insert", "updateone": "updateone",
    "update": "update", "createuser": "createuser", "grantrolestouser": "grantroles",
    "revokerolesfromuser": "revokeroles", "updateuser": "updateuser", "find": "read", "findone": "read",
    "countdocuments": "read", "count": "read", "aggregate": "aggregate", "getcollectionnames": "read",
    "stats": "read", "distinct": "read", "estimateddocumentcount": "read",
}


def mongo_cli(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    prog = cmd.program
    opts, pos = walk_options(cmd.words, "upf", MONGO_LONG)
    ran = False
    for name, value in opts:
        if value is None:
            continue
        if name == "--eval":
            ran = True
            if value.dynamic and value.value.startswith("$") and " " not in value.value:
                opaque(cmd, f"{prog} --eval runs code held in a variable ({value.value})", out)
                continue
            _mongo_js(cmd, value.value, f"{prog} --eval", out, reader, depth, value.dynamic)
        elif name in ("-f", "--file"):
            ran = True
            text = read_code_file(cmd, value, "a script", out, reader)
            if text is not None:
                _mongo_js(cmd, text, f"{prog} {value.value}", out, reader, depth)
    for w in pos:
        if w.value.endswith(".js"):
            ran = True
            text = read_code_file(cmd, w, "a script", out, reader)
            if text is not None:
                _mongo_js(cmd, text, f"{prog} {w.value}", out, reader, depth)
    if ran or {n for n, _ in opts} & INFO_FLAGS:
        return
    src = stdin_source(cmd)
    if src is None:
        return
    kind, value = src
    if kind == "text":
        _mongo_js(cmd, value[0], f"{prog} <<", out, reader, depth, value[1])  # type: ignore[index]
    elif kind == "file":
        assert isinstance(value, Word)
        text = read_code_file(cmd, value, "a script", out, reader)
        if text is not None:
            _mongo_js(cmd, text, f"{prog} < {value.value}", out, reader, depth)
    else:
        opaque(cmd, f"{prog} runs code read from a pipe{' from ' + str(value) if value else ''}", out)


def _mongo_js(cmd: Command, code: str, label: str, out: Expansion, reader: Reader, depth: int,
              dynamic: bool = False) -> None:
    toks = code_tokens(code, "js")
    for k, tok in enumerate(toks):
        if tok[0] != "n" or k + 1 >= len(toks) or toks[k + 1][1] != "(" or k == 0 or toks[k - 1][1] != ".":
            continue
        op = MONGO_OPS.get(tok[1].lower())
        if op is None:
            if tok[1] in ("runCommand", "adminCommand"):
                args, _ = call_args(toks, k + 1)
                keys = {t[1].lower() for a in args for t in a if t[0] in ("n", "s")}
                for key in ("dropdatabase", "drop", "shutdown", "delete", "dropallusersfromdatabase"):
                    if key in keys:
                        emit(cmd, [Word("mongodb"), Word(key if key != "delete" else "deletecommand")], label,
                              source_of(toks, max(0, k - 2), k + 1, code) + "(...)", out, reader, depth)
            continue
        coll = ""
        if k >= 2 and toks[k - 2][0] == "n":
            coll = toks[k - 2][1]
        elif k >= 2 and toks[k - 2][1] == ")":  # db.getCollection("x").drop()
            back = k - 2
            while back > 0 and toks[back][1] != "(":
                back -= 1
            if back + 1 < len(toks) and toks[back + 1][0] == "s":
                coll = toks[back + 1][1]
        args, _ = call_args(toks, k + 1)
        words = [Word("mongodb"), Word(op)]
        if coll and coll != "db" and op not in ("dropdatabase", "shutdown", "dropuser", "dropallusers"):
            words.append(Word(coll))
        if op in ("deletemany", "remove", "updatemany", "update"):
            first = args[0] if args else []
            if not first or [t[1] for t in first] == ["{", "}"]:
                words.append(Word("{}"))
            else:
                words.append(Word("{...}"))
        if op == "aggregate" and any(t[1] in ("$out", "$merge") for a in args for t in a):
            words.append(Word("$out"))
        emit(cmd, words, label, source_of(toks, max(0, k - 3), k + 1, code) + "(...)", out, reader, depth)
    code_calls(cmd, toks, "js", label, out, reader, depth, dynamic, code=code)
