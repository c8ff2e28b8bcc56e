"""The destruction-verb fallback for programs that no rule file names (issue 13).

Most CLIs share one grammar: ``tool [group ...] VERB [args]`` (``mytool projects delete foo``,
``doctl compute droplet delete web-1``, ``heroku apps:destroy``), with ``--VERB`` flags beside it
(``mytool sync --delete``).  When VERB, or such a flag, is a destruction word from the
``fallback`` section of the rule files (delete, destroy, remove, purge, drop, wipe, terminate,
``delete-*``...), the command is destructive.  Group words are plain lower-case words; the first
word that looks like data (a path, a name with dots, a number, ``KEY=VALUE``) ends the search,
so ``mytool show delete.log`` is not read as a verb.

A dry-run flag that the program is known to have (``fallback.dry_run``, by program; ``"*"``
holds the long ``--dry-run`` spellings, which mean a dry run in every CLI that has them) is
the exception.  Programs that any rule file names are judged by their rules, never by this.
"""
from __future__ import annotations

from guardsh.engine.globs import any_match
from guardsh.engine.model import Command, Match, Risk
from guardsh.engine.view import View

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RULE_ID = "unknown-program-destroys"
SUGGEST = "run it with the tool's dry-run or preview option first, or ask the user to run it"


def destruction(cmd: Command, view: View, table: dict[str, Any]) -> Match | None:
    """A match when an unknown program's verb or a ``--VERB`` flag says it destroys something."""
    verbs = table.get("verbs", ())
    if not verbs:
        return None
    found: str | None = None
    for word in view.positionals[: table.get("max_depth", 3)]:
        v = word.value
        if word.dynamic or not v or not _plain_word(v):
            break
        low = v.lower()
        if any_match(verbs, low) or (":" in low and any_match(verbs, low.rsplit(":", 1)[1])):
            found = v
            break
        if low in table.get("safe_verbs", ()):
            break  # mytool create reset-page: the words after another verb are its arguments
    if found is None:
        flags = table.get("verb_flags", ())
        found = next((f for f in sorted(view.flags) if f.startswith("--") and any_match(flags, f.lower())), None)
        if found is None:
            for name, _ in view.options:
                if name.startswith("--") and any_match(flags, name.lower()):
                    found = name
                    break
    if found is None:
        return None
    dry = table.get("dry_run", {})
    for key in ("*", cmd.program):
        names = dry.get(key, ())
        if names and any(f in names for f in view.flags):
            return None
    return Match(RULE_ID, Risk.DESTRUCTIVE,
                 f"{cmd.program} is a program no rule knows, and '{found}' says it deletes or destroys something "
                 "(the destruction-verb fallback); guardsh cannot tell whether that can be undone.",
                 SUGGEST, cmd.text or " ".join(cmd.argv))


def _plain_word(v: str) -> bool:
    """A subcommand-like word: letters, digits, '-', '_' and ':' only, starting with a letter."""
    if not v[0].isalpha():
        return False
    return all(c.isalnum() or c in "-_:" for c in v)
