"""Scripted fake model servers on 127.0.0.1: each speaks one client's own streaming API.

A server holds a script (the shell commands the "model" asks for, in order).  Each model request
carries the conversation so far; the server counts the tool results in it, records them (that is
exactly what the agent shows the model), and answers with the next command as a tool call, or with
a final text once the script is done.  Requests that offer no shell tool (titles, summaries,
topic checks) get a short text answer.  Standard library only.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FINAL_TEXT = "All done."


class Script:
    def __init__(self, commands: list[str]) -> None:
        self.commands = commands
        self.results: dict[int, Any] = {}  # call index -> what the agent returned for it
        self.requests: list[dict[str, Any]] = []  # path and a summary of each request
        self.lock = threading.Lock()

    def record(self, index: int, value: Any) -> None:
        with self.lock:
            self.results.setdefault(index, value)

    def summary(self) -> dict[str, Any]:
        return {"results": {str(k): v for k, v in sorted(self.results.items())}, "requests": self.requests}


def call_index(call_id: str) -> int | None:
    if isinstance(call_id, str) and call_id.startswith("call_guardsh_"):
        try:
            return int(call_id.rsplit("_", 1)[1])
        except ValueError:
            return None
    return None


def sse(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(data) + "\n\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: Script
    api: str

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> dict[str, Any]:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.headers.get("Content-Encoding") == "zstd":
            return {}
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self._send(200, b"", "text/plain")

    def do_GET(self) -> None:
        self.script.requests.append({"method": "GET", "path": self.path})
        if self.api == "responses" and self.path.split("?")[0].endswith("/models"):
            self._send(200, json.dumps({"models": [], "data": []}).encode(), "application/json")
            return
        self._send(404, b"{}", "application/json")

    def do_POST(self) -> None:
        body = self._body()
        path = self.path.split("?")[0]
        tools = []
        for t in body.get("tools") or []:
            if isinstance(t, dict):
                tools += [t.get("name") or t.get("type")] + [d.get("name") for d in t.get("functionDeclarations") or []]
        self.script.requests.append({"method": "POST", "path": self.path, "tools": [t for t in tools if t]})
        handler = {"anthropic": anthropic, "responses": responses, "gemini": gemini}[self.api]
        status, payload, ctype = handler(self.script, path, body)
        self._send(status, payload, ctype)


# --- Anthropic Messages (Claude Code) ---------------------------------------------------------

def anthropic(script: Script, path: str, body: dict[str, Any]) -> tuple[int, bytes, str]:
    if path.endswith("/count_tokens"):
        return 200, json.dumps({"input_tokens": 10}).encode(), "application/json"
    if not path.endswith("/messages"):
        return 404, b"{}", "application/json"
    tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
    answered = 0
    for message in body.get("messages") or []:
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                index = call_index(block.get("tool_use_id", ""))
                if index is not None:
                    answered = max(answered, index + 1)
                    script.record(index, {"content": block.get("content"), "is_error": bool(block.get("is_error"))})
    model = body.get("model", "claude-sonnet-4-5")
    if "Bash" in tools and answered < len(script.commands):
        block = {"type": "tool_use", "id": f"call_guardsh_{answered}", "name": "Bash", "input": {}}
        args = json.dumps({"command": script.commands[answered], "description": "run a command"})
        stop = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        args = None
        stop = "end_turn"
    usage = {"input_tokens": 10, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    message = {"id": f"msg_{answered}", "type": "message", "role": "assistant", "model": model, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": usage}
    if not body.get("stream"):
        content = [{"type": "text", "text": FINAL_TEXT}] if args is None else [dict(block, input=json.loads(args))]
        message.update(content=content, stop_reason=stop)
        return 200, json.dumps(message).encode(), "application/json"
    out = [sse("message_start", {"type": "message_start", "message": message}),
           sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})]
    if args is None:
        delta = {"type": "text_delta", "text": FINAL_TEXT}
    else:
        delta = {"type": "input_json_delta", "partial_json": args}
    out.append(sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
    out.append(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    out.append(sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": 1}}))
    out.append(sse("message_stop", {"type": "message_stop"}))
    return 200, b"".join(out), "text/event-stream"


# --- OpenAI Responses (Codex) -----------------------------------------------------------------

SHELL_TOOLS = ("shell_command", "shell", "exec_command", "local_shell")


def responses(script: Script, path: str, body: dict[str, Any]) -> tuple[int, bytes, str]:
    if not path.endswith("/responses"):
        return 404, b"{}", "application/json"
    tools = [t.get("name") or t.get("type") for t in body.get("tools") or [] if isinstance(t, dict)]
    answered = 0
    for item in body.get("input") or []:
        if isinstance(item, dict) and item.get("type") in ("function_call_output", "custom_tool_call_output"):
            index = call_index(item.get("call_id", ""))
            if index is not None:
                answered = max(answered, index + 1)
                script.record(index, {"output": item.get("output")})
    tool = next((t for t in SHELL_TOOLS if t in tools), None)
    rid = f"resp_{answered}_{len(script.requests)}"
    out = [sse("response.created", {"type": "response.created", "response": {"id": rid}})]
    if tool and answered < len(script.commands):
        command = script.commands[answered]
        if tool == "shell_command":
            arguments = {"command": command}
        elif tool == "exec_command":
            arguments = {"cmd": command}
        else:
            arguments = {"command": ["bash", "-lc", command]}
        item = {"type": "function_call", "id": f"fc_{answered}", "call_id": f"call_guardsh_{answered}",
                "name": tool, "arguments": json.dumps(arguments)}
    else:
        item = {"type": "message", "role": "assistant", "id": f"msg_{answered}",
                "content": [{"type": "output_text", "text": FINAL_TEXT}]}
    out.append(sse("response.output_item.done", {"type": "response.output_item.done", "item": item}))
    usage = {"input_tokens": 10, "input_tokens_details": None, "output_tokens": 1,
             "output_tokens_details": None, "total_tokens": 11}
    out.append(sse("response.completed", {"type": "response.completed", "response": {"id": rid, "usage": usage}}))
    return 200, b"".join(out), "text/event-stream"


# --- Gemini generateContent (Gemini CLI) ------------------------------------------------------

def gemini(script: Script, path: str, body: dict[str, Any]) -> tuple[int, bytes, str]:
    if path.endswith(":countTokens"):
        return 200, json.dumps({"totalTokens": 10}).encode(), "application/json"
    if not (path.endswith(":streamGenerateContent") or path.endswith(":generateContent")):
        return 404, b"{}", "application/json"
    tools = [d.get("name") for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []]
    answered = 0
    for content in body.get("contents") or []:
        for part in content.get("parts") or []:
            response = part.get("functionResponse") if isinstance(part, dict) else None
            if response:
                index = call_index(response.get("id", ""))
                if index is None:  # no ids: the n-th response answers the n-th call
                    index = answered
                answered = max(answered, index + 1)
                script.record(index, {"response": response.get("response")})
    if "run_shell_command" in tools and answered < len(script.commands):
        part = {"functionCall": {"id": f"call_guardsh_{answered}", "name": "run_shell_command",
                                 "args": {"command": script.commands[answered], "description": "run a command"}}}
    elif tools or not path.endswith(":generateContent"):
        part = {"text": FINAL_TEXT}
    else:  # a side request (next speaker check, routing): a JSON answer that ends the turn
        part = {"text": json.dumps({"next_speaker": "user", "reasoning": "done", "model_choice": "flash",
                                     "complexity_reasoning": "simple", "complexity_score": 1})}
    chunk = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 1, "totalTokenCount": 11},
             "modelVersion": "gemini-2.5-pro"}
    if path.endswith(":streamGenerateContent"):
        return 200, sse(None, chunk), "text/event-stream"
    return 200, json.dumps(chunk).encode(), "application/json"


def serve(api: str, script: Script) -> ThreadingHTTPServer:
    """Start the server for ``api`` on 127.0.0.1, an ephemeral port, in a daemon thread."""
    handler = type("ScriptedHandler", (Handler,), {"script": script, "api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
