"""Turning a preview command's output into what the approver reads: a summary line and a few lines."""
from __future__ import annotations

import re
import shlex
from collections import Counter
from typing import Any

from guardsh.preview.run import Output

MAX_LINES = 30  # lines shown per section (the summary counts all of them)
MAX_WIDTH = 200
PLAN = re.compile(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")
RESOURCE = re.compile(r"^\s*# (\S+) (will be destroyed|must be replaced|will be updated in-place|will be created|"
                      r"will be read during apply)")


def bound(lines: list[str]) -> list[str]:
    out = [line if len(line) <= MAX_WIDTH else line[: MAX_WIDTH - 1] + "…" for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        out.append(f"… {len(lines) - MAX_LINES} more")
    return out


def section(label: str, out: Output, show: str) -> dict[str, Any]:
    """One preview command's result, summarised the way ``show`` says."""
    sec: dict[str, Any] = {"label": label, "command": shlex.join(out.argv), "status": out.status,
                           "summary": "", "lines": [], "exit": out.exit}
    if out.status in ("refused", "timeout") or (out.status == "failed" and out.exit is None):
        sec["summary"] = {"refused": "not run: ", "timeout": "timed out: "}.get(out.status, "failed: ") + out.why
        if out.status == "timeout":
            sec["lines"] = bound(_lines(out.stdout))
        return sec
    lines = _lines(out.stdout)
    if show == "aws-dry-run":
        return _aws(sec, out)
    if out.status == "failed":
        err = _lines(out.stderr) or lines
        sec["summary"] = f"failed (exit {out.exit})" + (f": {err[-1]}" if err else "")
        sec["lines"] = bound(err)
        return sec
    if show == "names":
        kinds = Counter(line.split("/", 1)[0] for line in lines if "/" in line)
        detail = ", ".join(f"{n} {k}" for k, n in kinds.most_common(6))
        sec["summary"] = f"{len(lines)} object{'s' if len(lines) != 1 else ''}" + (f" ({detail})" if detail else "")
    elif show == "terraform-plan":
        return _terraform(sec, out.stdout)
    elif show == "rsync":
        deleting = [line for line in lines if line.startswith("*deleting")]
        changed = [line for line in lines if line[:1] in "<>ch" and not line.startswith("*")]
        sec["summary"] = f"{len(deleting)} to delete, {len(changed)} to copy or update"
        lines = deleting + changed
    elif show == "commits":
        sec["summary"] = f"{len(lines)} commit{'s' if len(lines) != 1 else ''}" if lines else "none"
    else:
        sec["summary"] = f"{len(lines)} line{'s' if len(lines) != 1 else ''}" if lines else "nothing"
    if out.cut:
        sec["summary"] += " (output cut)"
    sec["lines"] = bound(lines)
    return sec


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def _terraform(sec: dict[str, Any], text: str) -> dict[str, Any]:
    m = PLAN.search(text)
    resources = [(r.group(2), r.group(1)) for r in (RESOURCE.match(line) for line in text.splitlines()) if r]
    order = {"will be destroyed": 0, "must be replaced": 1, "will be updated in-place": 2, "will be created": 3}
    resources.sort(key=lambda item: order.get(item[0], 4))
    if m:
        sec["summary"] = f"{m.group(1)} to add, {m.group(2)} to change, {m.group(3)} to destroy"
    elif "No changes." in text:
        sec["summary"] = "no changes"
    else:
        sec["summary"] = "no plan summary in the output"
    sec["lines"] = bound([f"{what.split()[-1] if what != 'must be replaced' else 'replaced'}: {name}"
                          for what, name in resources])
    return sec


def _aws(sec: dict[str, Any], out: Output) -> dict[str, Any]:
    text = out.stdout + out.stderr
    if "DryRunOperation" in text:
        sec["status"], sec["summary"] = "ok", "AWS would carry it out (DryRunOperation: the request would have succeeded)"
    elif "UnauthorizedOperation" in text:
        sec["status"], sec["summary"] = "ok", "AWS would refuse it: not authorised (UnauthorizedOperation)"
    else:
        last = (_lines(out.stderr) or _lines(out.stdout) or ["no output"])[-1]
        sec["status"], sec["summary"] = "failed", f"failed (exit {out.exit}): {last}"
    sec["lines"] = bound(_lines(text))
    return sec


def render(preview: dict[str, Any]) -> list[str]:
    """The preview as plain text lines (the console and ``guardsh check --preview``)."""
    if preview.get("problem"):
        return [f"preview: {preview['problem']}"]
    out: list[str] = []
    for item in preview.get("items", []):
        out.append(f"preview of: {item['command']}  ({item['what']})")
        if item.get("problem"):
            out.append(f"  {item['problem']}")
        for note in item.get("notes", []):
            out.append(f"  {note}")
        for sec in item.get("sections", []):
            label = f"{sec['label']}: " if sec.get("label") else ""
            out.append(f"  {label}{sec['summary']}    [{sec['command']}]")
            out += [f"    {line}" for line in sec["lines"]]
    if not out:
        out.append("preview: no preview for this command")
    return out
