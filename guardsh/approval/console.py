"""The approver console's terminal UI (prompt-toolkit).

The bottom of the terminal shows the queue: every waiting request in a list, and the selected
one in full (command with the dangerous part highlighted, cwd, user, agent, risk, each matched
rule with its reason and safer alternative, context, how long it has waited).  Above it scrolls
the history: each arrival and each decision, one line with the time and who decided.

The UI holds no approval state of its own: it mirrors the hub's events and sends ``decide``
messages, the same whether the hub runs in this process (the first console) or in another
``guardsh approver`` (a second console, for a second person's approval).
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
import unicodedata
from typing import Any, Callable

from prompt_toolkit.application import Application, run_in_terminal
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import FormattedText, StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import ConditionalContainer, HSplit, Layout, Window
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
from prompt_toolkit.layout.processors import BeforeInput
from prompt_toolkit.shortcuts import print_formatted_text
from prompt_toolkit.styles import Style

from guardsh.approval import protocol
from guardsh.preview.show import render as render_preview

Fragments = StyleAndTextTuples

STYLE = Style.from_dict({
    "title": "reverse bold",
    "dim": "#888888",
    "label": "bold",
    "danger": "bold #ff3333 underline",
    "read-only": "#44aa44", "reversible": "#44aa44",
    "destructive": "bold #ff8800", "catastrophic": "bold #ffffff bg:#cc0000",
    "selected": "reverse",
    "key": "bold #5f87ff",
    "prompt": "bold #ffaf00",
    "ok": "bold #44aa44", "bad": "bold #ff3333", "warn": "bold #ffaf00",
    "time": "#888888",
})

MARK = {"approved": ("class:ok", "✔"), "denied": ("class:bad", "✘"), "cancelled": ("class:warn", "⊘"),
        "timed out": ("class:warn", "⏱"), "expired": ("class:warn", "⏱")}
GRACE = 0.6  # seconds decision keys are ignored after the selection moved by itself (no reflex "y y")
LIST_ROWS = 8  # requests listed at once; the rest scroll with the selection
AUTOMATIC = ("denial memory", "circuit breaker", "queue", "requester", "console")



def shown_command(req: dict[str, Any]) -> str:
    """The agent's own command, where its wrapper was seen through (the details show the whole
    text, which is what an approval runs)."""
    return req.get("shown") or req["command"]

def waited(seconds: float) -> str:
    s = max(0, int(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}:{s % 60:02d}"


def visible(text: str) -> str:
    """Text from an agent, made safe to show: control and invisible formatting characters
    (carriage returns, backspaces, escapes, bidirectional overrides, zero-width spaces) are
    shown as escapes, so a command cannot hide part of itself on the human's screen."""
    out = []
    for ch in text:
        if ch in "\n\t" or (ch.isprintable() and unicodedata.category(ch) != "Cf"):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def short(text: str, limit: int = 100) -> str:
    s = " ".join(visible(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def highlight(command: str, parts: list[str]) -> list[tuple[str, str]]:
    """The command with each part a rule matched on shown as dangerous."""
    marked = [False] * len(command)
    for part in parts:
        part = part.strip()
        if not part:
            continue
        start = command.find(part)
        if start < 0:  # the rule matched a normalised form: mark its first word at least
            head = part.split()[0]
            start = command.find(head)
            part = head
        while start >= 0:
            for i in range(start, start + len(part)):
                marked[i] = True
            start = command.find(part, start + len(part))
    out: list[tuple[str, str]] = []
    for ch, danger in zip(command, marked):
        style = "class:danger" if danger else ""
        if out and out[-1][0] == style:
            out[-1] = (style, out[-1][1] + ch)
        else:
            out.append((style, ch))
    return out


class ConsoleUI:
    def __init__(self, name: str, where: str, primary: bool, send: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.name = name
        self.where = where
        self.primary = primary
        self.send: Callable[[dict[str, Any]], None] = send or (lambda _m: None)
        self.pending: dict[int, dict[str, Any]] = {}
        self.selected: int | None = None
        self.details = False
        self.mode: str | None = None  # 'reason' | 'confirm'
        self.mode_id: int | None = None
        self.mode_action = protocol.APPROVE
        self.breaker: dict[str, Any] = {"tripped": False}
        self.quit_armed = False
        self.closed = False
        self.moved_at = 0.0  # when the selection last moved to another request by itself
        self.lines: list[Fragments] = []
        self.bell = False
        self.flushing = False
        self.notify = shutil.which("notify-send") if (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) else None
        self.input = Buffer(multiline=False)
        self.app = self.build()

    # --- layout -----------------------------------------------------------------------

    def build(self) -> Application[int]:
        in_mode = Condition(lambda: self.mode is not None)
        normal = ~in_mode
        kb = KeyBindings()

        @kb.add("y", filter=normal)
        def _approve(_e: Any) -> None:
            self.start_approval(protocol.APPROVE)

        @kb.add("a", filter=normal)
        def _always(_e: Any) -> None:
            self.start_approval(protocol.ALWAYS)

        @kb.add("n", filter=normal)
        def _deny(_e: Any) -> None:
            req = self.current()
            if req is not None and self.settled():
                self.enter_mode("reason", req["id"], protocol.DENY)

        @kb.add("d", filter=normal)
        @kb.add("enter", filter=normal)
        def _details(_e: Any) -> None:
            self.details = not self.details

        @kb.add("up", filter=normal)
        @kb.add("k", filter=normal)
        def _up(_e: Any) -> None:
            self.move(-1)

        @kb.add("down", filter=normal)
        @kb.add("j", filter=normal)
        def _down(_e: Any) -> None:
            self.move(1)

        @kb.add("R", filter=normal)
        def _reset(_e: Any) -> None:
            if self.breaker.get("tripped"):
                self.send({"type": "reset_breaker"})
            else:
                self.say([("class:dim", "the circuit breaker is not tripped")])

        @kb.add("q", filter=normal)
        @kb.add("c-c", filter=normal)
        @kb.add("c-d", filter=normal)
        def _quit(_e: Any) -> None:
            self.request_quit()

        @kb.add("enter", filter=in_mode)
        def _accept(_e: Any) -> None:
            self.accept_input()

        @kb.add("escape", filter=in_mode)
        @kb.add("c-c", filter=in_mode)
        def _cancel(_e: Any) -> None:
            self.leave_mode()
            self.say([("class:dim", "cancelled: nothing was decided")])

        self.queue_window = Window(FormattedTextControl(self.render_queue, focusable=True),
                                   wrap_lines=True, dont_extend_height=True)
        self.input_window = Window(
            BufferControl(self.input, input_processors=[BeforeInput(self.mode_prompt, style="class:prompt")]),
            height=1, dont_extend_height=True)
        body = HSplit([
            Window(FormattedTextControl(self.render_header), height=1),
            self.queue_window,
            ConditionalContainer(self.input_window, filter=in_mode),
            Window(FormattedTextControl(self.render_keys), wrap_lines=True, dont_extend_height=True),
        ])
        app: Application[int] = Application(
            layout=Layout(body, focused_element=self.queue_window), key_bindings=kb, style=STYLE,
            full_screen=False, refresh_interval=1.0, mouse_support=False, erase_when_done=True)
        app.ttimeoutlen = 0.05  # Esc cancels at once (no multi-key bindings here to wait for)
        app.timeoutlen = 0.2
        return app

    def render_header(self) -> Fragments:
        n = len(self.pending)
        b = self.breaker
        if b.get("tripped"):
            breaker = [("class:bad", " CIRCUIT BREAKER TRIPPED: destructive requests are denied; R resets ")]
        elif b.get("max"):
            breaker = [("class:dim", f" breaker {b.get('count', 0)}/{b['max']} in {b.get('window', 0):g} s")]
        else:
            breaker = [("class:dim", " breaker off")]
        role = "" if self.primary else " (second console)"
        return [("class:title", " guardsh approver "), ("", f" {self.name}{role} · "),
                ("class:label" if n else "class:dim", f"{n} waiting" if n else "nothing waiting"), ("", " ·"), *breaker]

    def render_queue(self) -> Fragments:
        if not self.pending:
            return [("class:dim", "  Commands that need approval will appear here.")]
        now = time.time()
        out: Fragments = []
        ids = list(self.pending)
        pos = ids.index(self.selected) if self.selected in ids else 0
        first = max(0, min(pos - LIST_ROWS // 2, len(ids) - LIST_ROWS))
        shown = ids[first:first + LIST_ROWS]
        if first:
            out.append(("class:dim", f"    … {first} more above\n"))
        for rid in shown:
            req = self.pending[rid]
            sel = rid == self.selected
            extra = ""
            if req["needed"] > 1:
                extra = f"  [{len(req['approvals'])} of {req['needed']} approvals]"
            if req.get("deferred"):
                extra += "  [deferred]"
            out += [("class:selected" if sel else "", f"{'›' if sel else ' '} {rid:>3} "),
                    (f"class:{_risk_class(req['risk'])}", f" {req['risk']:<12}"),
                    ("", f" {short(req.get('agent') or req.get('parent') or '?', 14):<14} "),
                    ("", short(shown_command(req), 60)), ("class:dim", f"{extra}  {waited(now - req['received'])}\n")]
        if first + len(shown) < len(ids):
            out.append(("class:dim", f"    … {len(ids) - first - len(shown)} more below (↑↓)\n"))
        current = self.current()
        if current is not None:
            out.append(("", "\n"))
            out += self.render_request(current, now)
        return _chomp(out)

    def render_request(self, req: dict[str, Any], now: float) -> Fragments:
        out: Fragments = [("class:label", f" request {req['id']}  "), (f"class:{_risk_class(req['risk'])}", f" {req['risk']} "),
                          ("class:dim", f"  waiting {waited(now - req['received'])}\n")]
        lines = visible(req["command"]).split("\n")
        shown = "\n".join(lines if self.details else lines[:4])
        out.append(("class:label", "   command  "))
        for style, text in highlight(shown, [visible(m.get("at", "")) for m in req["matches"]]):
            out.append((style, text.replace("\n", "\n            ")))
        if len(lines) > 4 and not self.details:
            out.append(("class:dim", f"\n            … {len(lines) - 4} more lines (d: details)"))
        out.append(("", "\n"))
        agent = visible(req.get("agent") or "unknown agent")
        parent = f" (parent process: {visible(req['parent'])})" if req.get("parent") else ""
        out += [("class:label", "   cwd      "), ("", f"{visible(req['cwd'])}\n"),
                ("class:label", "   user     "), ("", f"{req['user']}  pid {req['pid']}\n"),
                ("class:label", "   agent    "), ("", f"{agent}{parent}\n")]
        if req.get("context"):
            ctx = " · ".join(f"{visible(k)}: {visible(v)}" for k, v in req["context"].items())
            out += [("class:label", "   context  "), ("class:warn", f"{ctx}\n")]
        for m in req["matches"]:
            out += [("class:label", "   rule     "), ("", f"{visible(m['rule'])} "),
                    (f"class:{_risk_class(m['risk'])}", f"({visible(m['risk'])})"),
                    ("class:dim", f" on: {short(m['at'], 80)}\n"),
                    ("", f"              why: {visible(m['reason'])}\n")]
            if m.get("suggest"):
                out.append(("class:ok", f"              instead: {visible(m['suggest'])}\n"))
        out += preview_fragments(req, self.details)
        if req["needed"] > 1:
            got = ", ".join(req["approvals"]) or "none yet"
            out.append(("class:warn", f"   catastrophic: needs {req['needed']} approvals from different consoles (so far: {got})\n"))
        if req.get("confirm"):
            out.append(("class:warn", f"   production: approving asks you to type {visible(req['confirm'])!r}\n"))
        if req.get("deferred"):
            out.append(("class:dim", "   deferred: the agent was told to re-run it after approval (single-use grant)\n"))
        if self.details:
            chain = visible(" < ".join(req.get("parents") or [])) or "?"
            out += [("class:label", "   details  "),
                    ("", f"parse {req.get('parse') or '?'} · process chain {chain} · received "
                         f"{time.strftime('%H:%M:%S', time.localtime(req['received']))}\n")]
            for note in req.get("notes") or []:
                out.append(("class:dim", f"            note: {visible(note)}\n"))
        return out

    def render_keys(self) -> Fragments:
        if self.mode == "reason":
            return [("class:dim", " Enter sends the denial (the reason is shown to the agent) · Esc cancels")]
        if self.mode == "confirm":
            return [("class:dim", " Enter approves if the text matches exactly · Esc cancels")]
        if not self.pending:
            return [("class:key", " q"), ("", " quit")]
        keys = [("y", "approve once"), ("n", "deny (+reason)"), ("a", "allow here for the session"),
                ("d", "details"), ("↑↓", "select"), ("q", "quit")]
        if self.breaker.get("tripped"):
            keys.insert(4, ("R", "reset breaker"))
        out: Fragments = []
        for key, what in keys:
            out += [("class:key", f" {key}"), ("", f" {what} ")]
        return out

    def mode_prompt(self) -> str:
        if self.mode == "reason":
            return f"deny request {self.mode_id}: reason for the agent (optional): "
        if self.mode == "confirm":
            req = self.pending.get(self.mode_id or 0)
            word = visible(req.get("confirm") or "?") if req else "?"
            return f"production: type {word} to approve request {self.mode_id}: "
        return ""

    # --- actions ------------------------------------------------------------------------

    def current(self) -> dict[str, Any] | None:
        if self.selected in self.pending:
            return self.pending[self.selected]
        return None

    def move(self, step: int) -> None:
        ids = list(self.pending)
        if not ids:
            return
        i = ids.index(self.selected) if self.selected in ids else 0
        self.selected = ids[max(0, min(len(ids) - 1, i + step))]

    def settled(self) -> bool:
        """False just after the selected request changed under the human's fingers (the one
        they were looking at was decided or withdrawn): a key meant for it must not decide
        the next one."""
        if time.monotonic() - self.moved_at >= GRACE:
            return True
        self.say([("class:warn", f"request {self.selected} is selected now: look at it, then decide")])
        return False

    def start_approval(self, action: str) -> None:
        req = self.current()
        if req is None or not self.settled():
            return
        if req.get("confirm"):
            self.enter_mode("confirm", req["id"], action)
        else:
            self.send({"type": "decide", "id": req["id"], "decision": action})

    def enter_mode(self, mode: str, rid: int, action: str) -> None:
        self.mode, self.mode_id, self.mode_action = mode, rid, action
        self.input.reset()
        self.app.layout.focus(self.input_window)

    def leave_mode(self) -> None:
        self.mode = self.mode_id = None
        self.input.reset()
        self.app.layout.focus(self.queue_window)

    def accept_input(self) -> None:
        text, rid, mode, action = self.input.text.strip(), self.mode_id, self.mode, self.mode_action
        self.leave_mode()
        if mode == "reason":
            self.send({"type": "decide", "id": rid, "decision": protocol.DENY, "reason": text})
        else:
            self.send({"type": "decide", "id": rid, "decision": action, "confirm": text})

    def request_quit(self) -> None:
        if self.pending and self.primary and not self.quit_armed:
            self.quit_armed = True
            self.say([("class:warn", f"{len(self.pending)} request(s) waiting will be denied if this console "
                                     "quits: press q again to quit")])
            return
        self.app.exit(result=0)

    # --- events from the hub --------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "snapshot":
            for req in event.get("history", [])[-5:]:  # what was decided before this console attached
                self.resolved(req)
            for req in event.get("pending", []):
                self.add(req, announce=True)
            self.breaker = event.get("breaker", self.breaker)
        elif kind == "added":
            self.add(event["request"], announce=True)
            self.breaker = event.get("breaker", self.breaker)
        elif kind == "updated":
            req = event["request"]
            if req["id"] in self.pending:
                self.pending[req["id"]] = req
            self.say([("class:time", stamp()), ("class:warn", f" ◐ request {req['id']} approved by "
                      f"{visible(', '.join(req['approvals']))} ({len(req['approvals'])} of {req['needed']}): "
                      "it needs another approval from a different console")])
        elif kind == "resolved":
            self.resolved(event["request"])
        elif kind == "preview" and isinstance(event.get("request"), dict):
            req = event["request"]
            if req["id"] in self.pending:
                self.pending[req["id"]] = req
                self.say([("class:time", stamp()), ("class:dim", f" request {req['id']} previewed: "),
                          ("", short(preview_headline(req.get("preview") or {}), 140))])
        elif kind == "breaker":
            self.breaker = event
            if event.get("tripped"):
                self.say([("class:time", stamp()), ("class:bad",
                          f" ⚠ circuit breaker tripped: more than {event.get('max')} destructive requests in "
                          f"{event.get('window', 0):g} s; destructive commands are denied until you press R")])
                self.bell = True
            else:
                by = f" by {event['by']}" if event.get("by") else ""
                self.say([("class:time", stamp()), ("class:ok", f" circuit breaker reset{by}")])
        elif kind == "notice":
            style = "class:bad" if event.get("level") == "error" else "class:dim"
            self.say([("class:time", stamp()), (style, f" {visible(str(event.get('text', '')))}")])
        if self.app.is_running:
            self.app.invalidate()

    def add(self, req: dict[str, Any], announce: bool) -> None:
        self.pending[req["id"]] = req
        if self.selected not in self.pending:
            self.selected = req["id"]
        self.quit_armed = False
        if announce:
            who = short(req.get("agent") or req.get("parent") or "unknown agent", 40)
            self.say([("class:time", stamp()), ("class:warn", f" ● request {req['id']} waiting"),
                      ("", f" ({req['risk']}, {who}, {short(req['cwd'], 80)}): "),
                      ("class:label", short(shown_command(req), 120))])
            self.bell = True
            if self.notify:
                self.notify_desktop(req)

    def resolved(self, req: dict[str, Any]) -> None:
        ids = list(self.pending)
        self.pending.pop(req["id"], None)
        if self.selected == req["id"]:  # select its neighbour, after a grace period
            rest = [rid for rid in ids if rid != req["id"]]
            self.selected = rest[min(ids.index(req["id"]), len(rest) - 1)] if rest else None
            self.moved_at = time.monotonic()
        if self.mode_id == req["id"] and self.mode is not None:
            self.leave_mode()
        state, by = req["state"], visible(req.get("by", ""))
        note, reason = visible(req.get("note") or ""), visible(req.get("reason") or "")
        style, mark = MARK.get(state, ("", "·"))
        if state == "approved" and by.startswith("grant"):
            text = f" request {req['id']} approved automatically ({note})"
        elif by in AUTOMATIC and state == "denied":
            text = f" request {req['id']} denied automatically ({note})"
        elif state in ("cancelled", "timed out", "expired"):
            text = f" request {req['id']} {state} ({note}); nothing ran"
        else:
            text = f" request {req['id']} {state} by {by}"
            if reason:
                text += f", reason: {reason}"
            if note:
                text += f" ({note})"
        self.say([("class:time", stamp()), (style, f" {mark}{text}: "), ("", short(shown_command(req), 100))])

    def notify_desktop(self, req: dict[str, Any]) -> None:
        async def run() -> None:
            try:
                proc = await asyncio.create_subprocess_exec(
                    self.notify or "notify-send", "-a", "guardsh", f"guardsh: approve request {req['id']}?",
                    short(shown_command(req), 200), stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
                await proc.wait()
            except OSError:
                pass

        try:
            asyncio.get_running_loop().create_task(run())
        except RuntimeError:
            pass

    # --- output above the UI ----------------------------------------------------------------

    def say(self, fragments: Fragments) -> None:
        self.lines.append(fragments)
        if not self.app.is_running:
            self.flush()
        elif not self.flushing:
            self.flushing = True
            run_in_terminal(self.flush)

    def flush(self) -> None:
        self.flushing = False
        lines, self.lines = self.lines, []
        for frags in lines:
            print_formatted_text(FormattedText(frags), style=STYLE)
        if self.bell:
            self.bell = False
            sys.stdout.write("\a")
        sys.stdout.flush()


PREVIEW_ROWS = 14  # preview lines shown beside a request (d shows them all)


def preview_headline(preview: dict[str, Any]) -> str:
    """One line for the history: the first finding of the preview."""
    items = preview.get("items") or []
    if preview.get("problem") or not items:
        return str(preview.get("problem") or "nothing to preview")
    item = items[0]
    sections = item.get("sections") or []
    first = item.get("problem") or (sections[0].get("summary") if sections else "") or \
        next(iter(item.get("notes") or []), "nothing to show")
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    return f"{item.get('command', '')}: {first}{more}"


def preview_fragments(req: dict[str, Any], details: bool) -> Fragments:
    """The blast radius beside the request: "previewing…" until the waiter sends it (issue 15)."""
    if req.get("preview") is None:
        return [("class:label", "   preview  "), ("class:dim", "previewing…\n")] if req.get("previewing") else []
    lines = [visible(line) for line in render_preview(req["preview"])]
    shown = lines if details else lines[:PREVIEW_ROWS]
    out: Fragments = []
    if req.get("uid", os.getuid()) != os.getuid():  # separate-user mode: the agent's side computed it
        out.append(("class:warn", f"   preview  computed by the requester (uid {req['uid']}): as trustworthy as that user\n"))
    for k, line in enumerate(shown):
        bad = any(word in line for word in ("failed", "timed out", "not run:", "no preview:"))
        out += [("class:label", "   preview  " if k == 0 else "            "),
                ("class:warn" if bad else "", line + "\n")]
    if len(lines) > len(shown):
        out.append(("class:dim", f"            … {len(lines) - len(shown)} more preview lines (d: details)\n"))
    return out


def _risk_class(risk: str) -> str:
    return risk if risk in ("read-only", "reversible", "destructive", "catastrophic") else "dim"


def _chomp(frags: Fragments) -> Fragments:
    """Drop the final newline (it would show as an empty line)."""
    if frags and frags[-1][1].endswith("\n"):
        frags[-1] = (frags[-1][0], frags[-1][1][:-1])
    return frags


def stamp() -> str:
    return time.strftime("%H:%M:%S")


async def run_ui(ui: ConsoleUI, on_ready: Callable[[], None] | None = None) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, lambda: ui.app.exit(result=0) if ui.app.is_running else None)

    def ready() -> None:
        if ui.closed:  # the first console went away before this UI started
            ui.app.exit(result=1)
        if on_ready is not None:
            on_ready()

    result = await ui.app.run_async(pre_run=ready)
    return int(result or 0)
