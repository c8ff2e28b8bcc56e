"""Entry point: guardsh as a shell (bash's argv), or one of its subcommands.

``guardsh -c CMD`` and every other bash argv runs the drop-in shell.  Invoked under its own
name, guardsh also takes subcommands: ``check``, ``rules``, ``version``.  Invoked through a
link named ``bash`` or ``sh`` it is only a shell (``bash check`` runs a script named check).
"""
from __future__ import annotations

import os
import sys

SUBCOMMANDS = ("check", "rules", "approver", "audit", "log", "version", "help", "wrap", "hook", "undo", "snapshots",
               "daemon", "doctor")
SHELL_NAMES = ("bash", "sh")
EXIT_INTERNAL = 125


def is_own_name(argv0: str) -> bool:
    name = os.path.basename(argv0).lstrip("-")
    return name.startswith("guardsh") or name == "__main__.py"


def main(argv: list[str] | None = None) -> int:
    argv0 = sys.argv[0] if argv is None else "guardsh"
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None and args[:1] == ["--guardsh-argv0"] and len(args) > 1:
        argv0, args = args[1], args[2:]  # the native client fell back to Python: the name it was run by
    try:
        if is_own_name(argv0) and args and args[0] in SUBCOMMANDS:
            return run_subcommand(args[0], args[1:])
        if is_own_name(argv0) and args in (["--help"], ["-h"]):
            return run_subcommand("help", [])
        name = os.path.basename(argv0)
        if not is_own_name(argv0) and name.lstrip("-") not in SHELL_NAMES:
            from guardsh.agents.shims import WRAP_SHIMS, run_shim  # a tool shim made by guardsh wrap

            if name in WRAP_SHIMS:
                return run_shim(argv0, args)
        import gc

        gc.disable()  # a short-lived process that execs bash: collections only cost (the session re-enables)
        from guardsh.shell.main import run_shell

        return run_shell(argv0, args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `guardsh rules list | head`: the reader left; not an error of ours
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        except OSError:
            pass
        return 141
    except SystemExit:
        raise
    except BaseException as e:  # fail closed: a crash runs nothing
        import traceback

        sys.stderr.write(
            f"guardsh: internal error ({type(e).__name__}: {e}); nothing was run.\n"
            "guardsh: please report this with the command that caused it.\n"
        )
        if os.environ.get("GUARDSH_DEBUG"):
            traceback.print_exc()
        return EXIT_INTERNAL
    finally:
        from guardsh.cachefiles import flush

        flush()  # what the engine compiled afresh (rules, config, parser tables)


USAGE = """\
usage: guardsh [bash options] -c COMMAND [NAME [ARGS...]]   run COMMAND if it is safe
       guardsh [bash options] SCRIPT [ARGS...]              run a script if it is safe
       guardsh check [--json] [--preview] [--cwd DIR] -- CMD  classify without running (--preview: what it would do)
       guardsh rules list | test [DIR...]                   show or check the rules
       guardsh approver                                     approve commands (in your own terminal)
       guardsh audit [--format F] [--fail-on L] FILE...|-   classify whole logs without running them
       guardsh log [verify | stats] [--since T] ...         show or verify the audit trail
       guardsh wrap [--] PROGRAM [ARGS...]                  run an agent with guardsh as its shell and tool shims
       guardsh hook AGENT | hook install|uninstall AGENT    agent hooks (claude-code, codex, gemini, cursor)
       guardsh snapshots [--all] | undo [ID] [--dry-run]      list snapshots; put back what a command destroyed
       guardsh daemon start|stop|status|install              the resident classifier (fast path for the native client)
       guardsh doctor [--json]                              which agents are guarded, and how; what to fix
       guardsh version
"""


def run_subcommand(name: str, args: list[str]) -> int:
    if name == "check":
        from guardsh.cli.check import main as check_main

        return check_main(args)
    if name == "rules":
        from guardsh.cli.rulescmd import main as rules_main

        return rules_main(args)
    if name == "approver":
        from guardsh.approval.approver import main as approver_main

        return approver_main(args)
    if name == "audit":
        from guardsh.audit.auditcmd import main as audit_main

        return audit_main(args)
    if name == "log":
        from guardsh.audit.logcmd import main as log_main

        return log_main(args)
    if name == "wrap":
        from guardsh.agents.wrap import main as wrap_main

        return wrap_main(args)
    if name == "hook":
        from guardsh.agents.hooks import main as hook_main

        return hook_main(args)
    if name in ("undo", "snapshots"):
        from guardsh.undo.cli import snapshots_main, undo_main

        return undo_main(args) if name == "undo" else snapshots_main(args)
    if name == "daemon":
        from guardsh.daemon.cmd import main as daemon_main

        return daemon_main(args)
    if name == "doctor":
        from guardsh.agents.doctor import main as doctor_main

        return doctor_main(args)
    if name == "version":
        from guardsh import __version__

        sys.stdout.write(f"guardsh {__version__}\n")
        return 0
    sys.stdout.write(USAGE)
    return 0
