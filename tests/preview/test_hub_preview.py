"""The hub keeps a waiter's preview with its request (announced, once, cleaned and bounded) and
the console shows it safely: "previewing…" until it arrives, tool output with escapes made visible."""
from __future__ import annotations

import os
from typing import Any

from guardsh.approval.console import preview_fragments
from guardsh.approval.hub import Hub, validate_request
from guardsh.engine.config import Config

PEER = (4242, os.getuid(), os.getgid())


def request(**extra: Any) -> dict[str, Any]:
    return validate_request({"type": "request", "command": "kubectl delete -f k8s/", "cwd": "/w", "risk": "destructive",
                             "matches": [], **extra})


def preview(lines: list[str]) -> dict[str, Any]:
    return {"items": [{"command": "kubectl delete -f k8s/", "what": "objects", "status": "ok", "problem": None,
                       "notes": [], "sections": [{"label": "", "command": "kubectl delete -f k8s/ --dry-run=server -o name",
                                                  "status": "ok", "summary": f"{len(lines)} objects", "lines": lines}]}]}


def test_the_preview_is_kept_with_its_request_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(Config({"circuit_breaker": {"max": 0}}), log_path=str(tmp_path / "approvals.jsonl"))
    events: list[dict[str, Any]] = []
    link = hub.attach("alice", events.append)
    req = hub.submit(request(previewing=True), PEER)
    assert req.view()["previewing"] is True and req.view()["preview"] is None
    hub.preview(req, {"type": "preview", "id": req.id, "preview": preview(["deployment/web", "service/web"])})
    assert events[-1]["type"] == "preview" and events[-1]["request"]["preview"]["items"][0]["sections"][0]["lines"] == [
        "deployment/web", "service/web"]
    hub.preview(req, {"type": "preview", "id": req.id, "preview": preview(["something else"])})
    assert "something else" not in str(req.view()["preview"])  # one preview per request
    unannounced = hub.submit(request(command="kubectl delete ns x"), PEER)
    hub.preview(unannounced, {"type": "preview", "preview": preview(["x"])})
    assert unannounced.view()["preview"] is None
    hub.decide(link, req.id, "deny", "no")
    logged = (tmp_path / "approvals.jsonl").read_text()
    assert "2 objects" in logged and "deployment/web" in logged


def test_a_malformed_or_huge_preview_is_cleaned() -> None:
    hub = Hub(Config({"circuit_breaker": {"max": 0}}))
    req = hub.submit(request(previewing=True), PEER)
    hub.preview(req, {"type": "preview", "preview": "not an object"})
    assert req.view()["preview"] == {"problem": "the preview was malformed", "items": []}
    req2 = hub.submit(request(previewing=True, command="kubectl apply -f x"), PEER)
    hub.preview(req2, {"type": "preview", "preview": preview(["x" * 5000] * 500)})
    lines = req2.view()["preview"]["items"][0]["sections"][0]["lines"]
    assert len(lines) == 40 and all(len(line) <= 300 for line in lines)


def test_console_shows_previewing_then_the_result_with_escapes_visible() -> None:
    waiting = {"previewing": True, "preview": None}
    assert "".join(t for _s, t in preview_fragments(waiting, False)) == "   preview  previewing…\n"
    assert preview_fragments({"previewing": False, "preview": None}, False) == []
    shown = "".join(t for _s, t in preview_fragments({"preview": preview(["pod/a\x1b[2J\rgone"])}, False))
    assert "pod/a\\x1b[2J\\x0dgone" in shown and "\x1b" not in shown
    many = "".join(t for _s, t in preview_fragments({"preview": preview([f"pod/p{i}" for i in range(40)])}, False))
    assert "more preview lines (d: details)" in many
    failed = {"preview": {"items": [{"command": "c", "what": "w", "notes": [], "problem": None, "sections": [
        {"label": "", "command": "c --dry-run", "status": "failed", "summary": "failed (exit 1): boom", "lines": []}]}]}}
    assert ("class:warn", "  failed (exit 1): boom    [c --dry-run]\n") in preview_fragments(failed, False)


def test_the_history_line_names_the_first_finding() -> None:
    from guardsh.approval.console import preview_headline

    assert preview_headline(preview(["a/b", "c/d"])) == "kubectl delete -f k8s/: 2 objects"
    assert preview_headline({"problem": "the preview specs failed to load: x", "items": []}).startswith("the preview specs")
    assert preview_headline({"items": []}) == "nothing to preview"


def test_a_preview_from_another_users_requester_is_marked() -> None:
    shown = "".join(t for _s, t in preview_fragments({"uid": os.getuid() + 1, "preview": preview(["pod/a"])}, False))
    assert f"computed by the requester (uid {os.getuid() + 1})" in shown
    mine = "".join(t for _s, t in preview_fragments({"uid": os.getuid(), "preview": preview(["pod/a"])}, False))
    assert "computed by the requester" not in mine
