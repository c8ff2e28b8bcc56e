"""The recursion guard's token and the process facts it rests on (guardsh/procs.py)."""
from __future__ import annotations

import os

import pytest

from guardsh.procs import nest_token, start_time, text_hash, trusted_hashes


def test_text_hash() -> None:
    h = text_hash("echo hi")
    assert len(h) == 32 and int(h, 16) >= 0
    assert h == text_hash("echo hi") != text_hash("echo hi ")
    assert text_hash("\udcff") != text_hash("\ufffd")  # surrogate-escaped bytes hash as the bytes


def test_nest_token_names_this_process() -> None:
    token = nest_token(["a", "b", "a"])
    assert token is not None
    pid, started, hashes = token.split(":", 2)
    assert int(pid) == os.getpid() and started == start_time(os.getpid())
    assert hashes.split(",") == [text_hash("a"), text_hash("b")]


@pytest.mark.parametrize("token", ["", "garbage", "1:0:abc", "x:y:z", "99999999:1:abc", "::"])
def test_trusted_hashes_rejects_forgeries(token: str) -> None:
    assert trusted_hashes({"GUARDSH_NESTED": token}) == frozenset()


def test_trusted_hashes_needs_an_ancestor_with_its_start_time() -> None:
    ppid = os.getppid()
    started = start_time(ppid)
    assert started is not None
    # a real ancestor with the right start time is not enough: the token must also be in the
    # environment that ancestor was exec'd with (guardsh puts it there before exec)
    assert trusted_hashes({"GUARDSH_NESTED": f"{ppid}:{started}:aa,bb"}) == frozenset()
    assert trusted_hashes({"GUARDSH_NESTED": f"{ppid}:{int(started) + 1}:aa"}) == frozenset()
    me = os.getpid()
    assert trusted_hashes({"GUARDSH_NESTED": f"{me}:{start_time(me)}:aa"}) == frozenset()  # self, not an ancestor
