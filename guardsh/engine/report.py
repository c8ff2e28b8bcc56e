"""What guardsh tells the agent and the human: refusals, and ``guardsh check`` output."""
from __future__ import annotations

from guardsh.engine.headline import agent_command
from guardsh.engine.model import Decision, Risk, Verdict

NEXT_STEP = (
    "guardsh did not run this command. Do not retry it or a variant of it: tell the user what you "
    "wanted to do and why, and ask them to run it or approve it."
)


def refusal(verdict: Verdict, why: str | None = None) -> str:
    """The block printed on stderr when a command is refused (exit 126)."""
    lines = [f"guardsh: refused ({verdict.risk.label}, {_decision_text(verdict)}): {_short(agent_command(verdict))}"]
    shown = [m for m in verdict.matches if m.risk >= Risk.DESTRUCTIVE] or list(verdict.matches[:3])
    for m in shown[:6]:
        lines.append(f"  rule {m.rule} ({m.risk.label}) on: {_short(m.at, 120)}")
        lines.append(f"    why: {m.reason}")
        if m.suggest:
            lines.append(f"    instead: {m.suggest}")
    if len(shown) > 6:
        lines.append(f"  ... and {len(shown) - 6} more rules")
    if why:
        lines.append(f"  {why}")
    lines.append(NEXT_STEP)
    return "\n".join(lines) + "\n"


def _decision_text(verdict: Verdict) -> str:
    if verdict.decision == Decision.DENY:
        return "denied by policy"
    return "needs a human's approval"


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def human_check(verdict: Verdict) -> str:
    """``guardsh check`` without --json: the simple commands, the rules, the outcome."""
    out = [f"command:  {verdict.command}", f"parse:    {verdict.parse}"]
    if verdict.commands:
        out.append("simple commands:")
        for cmd in verdict.commands:
            via = f"   (via {' > '.join(cmd.via)})" if cmd.via else ""
            out.append(f"  {cmd.text or ' '.join(cmd.argv)}{via}")
    if verdict.matches:
        out.append("rules:")
        for m in verdict.matches:
            out.append(f"  {m.rule} ({m.risk.label}) on: {_short(m.at, 100)}")
            out.append(f"    {m.reason}")
            if m.suggest:
                out.append(f"    instead: {m.suggest}")
    for note in verdict.notes:
        out.append(f"note:     {note}")
    out.append(f"risk:     {verdict.risk.label}")
    out.append(f"decision: {verdict.decision.label}")
    return "\n".join(out) + "\n"
