"""
pop3_util: tern-pop3d in the end-to-end tests.

    port = pop3_port(inst)            # tcpserver -H -R + tern-pop3d (STLS)
    port = pop3_port(inst, tls=True)  # tern-pop3d -T (implicit TLS, 995)
    with POP3Raw(port, inst) as c:    # a raw client that sees replies as sent
        c.stls(); c.login("demo@example.test", "demo"); c.cmd("STAT")

Mail goes into the instance's Maildirs directly (put_message: a file
named like lib/store/maildir.c names them, owned by the mailbox owner), or
through the real path with inst.start() and tern-sendmail.
"""
import os
import pwd
import shutil
import socket
import ssl
import subprocess

import harness
from harness import IS_ROOT


def ensure_pop3d_user():
    """As root: pop3d_user (ternp) must exist; scripts/mkusers makes it."""
    if not IS_ROOT:
        return
    try:
        pwd.getpwnam("ternp")
        return
    except KeyError:
        pass
    r = subprocess.run(["sh", os.path.join(harness.REPO, "scripts", "mkusers")],
                       capture_output=True, timeout=60)
    try:
        pwd.getpwnam("ternp")
    except KeyError:
        raise AssertionError("user ternp missing after scripts/mkusers: %s"
                             % r.stderr.decode("utf-8", "replace"))


def install(inst):
    """Copy the built tern-pop3d into inst.bin (the harness may not list
    it among its programs)."""
    ensure_pop3d_user()
    dst = os.path.join(inst.bin, "tern-pop3d")
    if not os.path.exists(dst):
        src = os.path.join(harness.BUILD, "pop3d", "tern-pop3d")
        if not os.path.exists(src):
            raise AssertionError("tern-pop3d is not built (no %s)" % src)
        shutil.copy2(src, dst)
        os.chmod(dst, 0o755)
    return dst


def pop3_port(inst, tls=False, env=None):
    """Start tcpserver with tern-pop3d (-T when tls) on a free 127.0.0.1
    port; return the port.  Logs go to log/pop3d.log."""
    prog = install(inst)
    argv = [prog] + (["-T"] if tls else []) + ["-C", inst.etc]
    return inst.tcpserve(argv, "pop3d.log", env=env)


def pop3d_pids(inst, port):
    """tern-pop3d processes under the tcpserver of port: {pid: info}."""
    for p, pt in inst.tcpservers:
        if pt == port:
            return {pid: i for pid, i in harness.descendants(p.pid).items()
                    if harness.prog_name(i) == "tern-pop3d"}
    return {}


def log_text(inst):
    try:
        with open(inst.path("log", "pop3d.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- Maildirs
# (shared with the IMAP tests: tests/e2e/maildir_util.py)
from maildir_util import (make_maildir, maildir_name, put_message,  # noqa: E402,F401
                          served, sample)


# ---------------------------------------------------------------- client

class POP3Raw(harness.RawConn):
    """A plain-socket POP3 client that returns reply lines exactly as sent
    (CRLF checked and removed), for RFC-exact checks."""

    def __init__(self, port, inst=None, tls=False, timeout=10):
        self.inst = inst
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            sock = inst.ssl_context().wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.f = sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        raw = self.f.readline(70000)
        if not raw:
            raise AssertionError("connection closed while waiting for a reply")
        if not raw.endswith(b"\r\n"):
            raise AssertionError("reply line not ended by CRLF: %r" % raw)
        return raw[:-2].decode("utf-8", "replace")

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line response up to the final ".", raw
        bytes each (CRLF removed, dot-stuffing kept)."""
        out = []
        while True:
            raw = self.f.readline(1 << 20)
            if not raw.endswith(b"\r\n"):
                raise AssertionError("multi-line response line %r" % raw)
            if raw == b".\r\n":
                return out
            out.append(raw[:-2])

    def body(self):
        """A multi-line response as the bytes it stands for (dot-stuffing
        undone, CRLF line ends)."""
        return b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n"
                        for l in self.multi())

    def stls(self):
        r = self.cmd("STLS")
        assert r.startswith("+OK"), "STLS -> %r" % r
        self.sock = self.inst.ssl_context().wrap_socket(self.sock,
                                                       server_hostname="localhost")
        self.f = self.sock.makefile("rb")

    def login(self, user, password):
        r = self.cmd("USER " + user)
        assert r.startswith("+OK"), "USER -> %r" % r
        r = self.cmd("PASS " + password)
        assert r.startswith("+OK"), "PASS -> %r" % r
        return r

    def eof(self, timeout=5):
        """True once the server closed the connection."""
        self.sock.settimeout(timeout)
        try:
            return self.f.readline() == b""
        except (OSError, ssl.SSLError):
            return True

