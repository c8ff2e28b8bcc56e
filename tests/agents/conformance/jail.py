"""Run one agent client in a network namespace of its own, next to its scripted model server.

    python jail.py --api anthropic|responses|gemini|none --script FILE --out FILE [--timeout S] -- ARGV...

The process unshares its network namespace first (only loopback exists, brought up here), so
nothing the client does can reach any host but 127.0.0.1.  Then it starts the fake server on an
ephemeral port, replaces ``{PORT}`` in ARGV and in the environment, runs the client, and writes
what the server recorded (and the client's exit status and output) to --out as JSON.
Without the namespace (not permitted here) it says so in the output, ``"netns": false``.
"""
from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakemodels import Script, serve  # noqa: E402

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


CLONE_NEWUSER = 0x10000000


def isolate() -> bool:
    """A network namespace with only loopback (as root; else inside a user namespace that maps
    this uid to itself, so files keep their owner)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            return False
        try:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        except OSError:
            return False
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifreq = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    finally:
        s.close()
    return True


def login_shell(shell: str, scratch: str) -> None:
    """Make ``shell`` this user's login shell in /etc/passwd, in a mount namespace of our own
    (the real file is untouched; Codex reads the shell from the passwd entry)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    uid = str(os.getuid())
    lines = []
    with open("/etc/passwd") as f:
        for line in f:
            fields = line.rstrip("\n").split(":")
            if len(fields) == 7 and fields[2] == uid:
                fields[6] = shell
            lines.append(":".join(fields) + "\n")
    copy = os.path.join(scratch, "passwd")
    with open(copy, "w") as f:
        f.writelines(lines)
    if libc.mount(copy.encode(), b"/etc/passwd", None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --bind passwd")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--script", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--require-netns", action="store_true")
    p.add_argument("--login-shell")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    a = p.parse_args()
    argv = a.argv[1:] if a.argv[:1] == ["--"] else a.argv
    netns = isolate()
    if a.login_shell:
        login_shell(a.login_shell, os.path.dirname(os.path.abspath(a.out)))
    if a.require_netns and not netns:  # nothing runs: the caller skips, saying why
        with open(a.out, "w") as f:
            json.dump({"netns": False, "results": {}, "requests": [], "status": None, "stdout": "", "stderr": ""}, f)
        return 0
    with open(a.script) as f:
        script = Script(json.load(f))
    port = "0"
    server = None
    if a.api != "none":
        server = serve(a.api, script)
        port = str(server.server_address[1])
    env = {k: v.replace("{PORT}", port) for k, v in os.environ.items()}
    argv = [w.replace("{PORT}", port) for w in argv]
    try:
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=a.timeout)
        status, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        status, stdout, stderr = "timeout", e.stdout or b"", e.stderr or b""
    out = script.summary()
    out.update(netns=netns, status=status, stdout=stdout.decode("utf-8", "replace"),
               stderr=stderr.decode("utf-8", "replace"))
    if a.login_shell:  # still ours? useradd/userdel elsewhere on the machine replace /etc/passwd, and
        # the kernel then drops a bind mount on the old file in every namespace: the client saw the real shell
        import pwd

        out["login_shell_kept"] = pwd.getpwuid(os.getuid()).pw_shell == a.login_shell
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    if server:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
