"""
tern-pop3d, the protocol (issue 4, acceptance 2): python's poplib over
STLS and over implicit TLS (USER/PASS and AUTH PLAIN), every command with
its RFC 1939 / 2449 reply, TOP with 0 and N lines, dot-stuffing, RSET,
deletion only at QUIT, a dropped connection deleting nothing, [IN-USE],
failed logins, and sizes that match what RETR sends.
"""
import base64
import os
import poplib
import socket
import time

import harness
import pop3_util as pu
from pop3_util import POP3Raw

I = None
PORT = None       # STLS
TLS_PORT = None   # implicit TLS (-T)
DEMO = "demo@example.test"
HOST = "mx.example.test"
CAPA_PRE_TLS = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
                "STLS", "IMPLEMENTATION tern"]
CAPA_TLS = ["TOP", "UIDL", "USER", "SASL PLAIN", "RESP-CODES", "AUTH-RESP-CODE",
            "PIPELINING", "IMPLEMENTATION tern"]
CAPA_TRANS = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
              "IMPLEMENTATION tern"]


def setup():
    global I, PORT, TLS_PORT
    I = harness.Instance(name="pop3", conf={"auth_fail_delay": "1",
                                            "auth_max_failures": "3"})
    PORT = pu.pop3_port(I)
    TLS_PORT = pu.pop3_port(I, tls=True)


def empty_box(addr=DEMO):
    md = pu.make_maildir(I, addr)
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(md, sub)):
            os.unlink(os.path.join(md, sub, f))
    for f in ("tern-uidlist",):
        try:
            os.unlink(os.path.join(md, f))
        except FileNotFoundError:
            pass


def box_files(addr=DEMO):
    return sorted(os.path.basename(p) for p in I.mail_files(addr))


def session(tls=False):
    """A logged-in raw session (STLS, or implicit TLS)."""
    c = POP3Raw(TLS_PORT if tls else PORT, I, tls=tls)
    if not tls:
        c.stls()
    c.login(DEMO, "demo")
    return c


def no_sessions():
    """Wait until no tern-pop3d runs under either listener."""
    harness.wait_for(lambda: not pu.pop3d_pids(I, PORT) and not pu.pop3d_pids(I, TLS_PORT),
                     10, what="tern-pop3d sessions to end",
                     info=lambda: pu.log_text(I)[-2000:])


# ---------------------------------------------------------------- AUTHORIZATION

def test_greeting_capa_and_stls():
    with POP3Raw(PORT, I) as c:
        assert c.greeting == "+OK %s POP3 server ready" % HOST, c.greeting
        assert c.cmd("CAPA") == "+OK Capability list follows"
        assert [l.decode() for l in c.multi()] == CAPA_PRE_TLS
        c.stls()
        # RFC 2595 4: the client asks again after TLS; no STLS now
        assert c.cmd("CAPA") == "+OK Capability list follows"
        assert [l.decode() for l in c.multi()] == CAPA_TLS
        assert c.cmd("STLS") == "-ERR Command not permitted when TLS active"
        assert c.cmd("QUIT") == "+OK %s POP3 server signing off" % HOST
        assert c.eof()


def test_plaintext_login_refused_before_tls():
    with POP3Raw(PORT, I) as c:
        for line in ("USER " + DEMO, "PASS demo",
                     "AUTH PLAIN " + base64.b64encode(b"\0%s\0demo" % DEMO.encode()).decode()):
            r = c.cmd(line)
            assert r.startswith("-ERR [AUTH] "), "%s -> %r" % (line.split()[0], r)
            assert "TLS" in r
        assert c.cmd("QUIT").startswith("+OK")


def test_poplib_stls_user_pass():
    empty_box()
    m = pu.sample("stls-user-pass")
    pu.put_message(I, DEMO, m)
    p = poplib.POP3("127.0.0.1", PORT, timeout=10)
    try:
        caps = p.capa()
        assert "STLS" in caps and "USER" not in caps, caps
        p.stls(context=I.ssl_context())
        assert "USER" in p.capa()
        p.user(DEMO)
        resp = p.pass_("demo")
        assert resp == b"+OK maildrop has 1 messages (%d octets)" % len(pu.served(m)), resp
        assert p.stat() == (1, len(pu.served(m)))
        resp, lines, octets = p.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == pu.served(m)
        assert resp == b"+OK %d octets" % len(pu.served(m))
    finally:
        p.quit()


def test_poplib_implicit_tls_user_pass_and_auth_plain():
    empty_box()
    pu.put_message(I, DEMO, pu.sample("implicit-1"))
    p = poplib.POP3_SSL("127.0.0.1", TLS_PORT, context=I.ssl_context(), timeout=10)
    try:
        assert "STLS" not in p.capa()
        p.user(DEMO)
        p.pass_("demo")
        assert p.stat()[0] == 1
    finally:
        p.quit()
    # AUTH PLAIN with an initial response (RFC 5034), through poplib
    p = poplib.POP3_SSL("127.0.0.1", TLS_PORT, context=I.ssl_context(), timeout=10)
    try:
        ir = base64.b64encode(b"\0" + DEMO.encode() + b"\0demo").decode()
        resp = p._shortcmd("AUTH PLAIN " + ir)
        assert resp.startswith(b"+OK maildrop has 1 messages"), resp
        assert p.stat()[0] == 1
    finally:
        p.quit()


def test_auth_plain_continuation_cancel_and_list():
    empty_box()
    with POP3Raw(TLS_PORT, I, tls=True) as c:
        assert c.cmd("AUTH") == "+OK"
        assert c.multi() == [b"PLAIN"]
        assert c.cmd("AUTH LOGIN") == "-ERR Unsupported authentication mechanism"
        assert c.cmd("AUTH PLAIN") == "+ "
        assert c.cmd("*") == "-ERR Authentication cancelled"
        assert c.cmd("AUTH PLAIN") == "+ "
        assert c.cmd("not base64!") == "-ERR [AUTH] Invalid base64 data"
        assert c.cmd("AUTH PLAIN") == "+ "
        # authzid equal to authcid is fine (RFC 4616)
        r = c.cmd(base64.b64encode(("%s\0%s\0demo" % (DEMO, DEMO)).encode()).decode())
        assert r == "+OK maildrop has 0 messages (0 octets)", r
        assert c.cmd("QUIT") == "+OK %s POP3 server signing off (maildrop empty)" % HOST


def test_failed_logins_delayed_counted_logged():
    with POP3Raw(TLS_PORT, I, tls=True) as c:
        assert c.cmd("PASS x") == "-ERR Send USER first"
        t0 = time.monotonic()
        assert c.cmd("USER " + DEMO) == "+OK Send your password"
        assert c.cmd("PASS wrong-secret-1") == "-ERR [AUTH] Authentication failed"
        assert time.monotonic() - t0 >= 0.9, "no auth_fail_delay"
        assert c.cmd("USER nobody@example.test").startswith("+OK")
        assert c.cmd("PASS wrong-secret-2") == "-ERR [AUTH] Authentication failed"
        ir = base64.b64encode(b"\0" + DEMO.encode() + b"\0wrong-secret-3").decode()
        r = c.cmd("AUTH PLAIN " + ir)
        assert r.startswith("-ERR [AUTH] Authentication failed, too many failures"), r
        assert c.eof()
    log = pu.log_text(I)
    assert "auth failed ip=127.0.0.1 user=%s failures=1" % DEMO in log, log[-1500:]
    assert "user=nobody@example.test failures=2" in log
    assert "failures=3" in log
    assert "wrong-secret" not in log


# ---------------------------------------------------------------- TRANSACTION

def test_every_command_rfc_replies():
    empty_box()
    msgs = [pu.sample("cmd-%d" % i, "line %d\n" % i * (i + 1)) for i in range(3)]
    for m in msgs:
        pu.put_message(I, DEMO, m)
    sizes = [len(pu.served(m)) for m in msgs]
    total = sum(sizes)
    with session() as c:
        assert c.cmd("STAT") == "+OK 3 %d" % total
        assert c.cmd("LIST") == "+OK 3 messages (%d octets)" % total
        assert c.multi() == [b"%d %d" % (i + 1, s) for i, s in enumerate(sizes)]
        assert c.cmd("LIST 2") == "+OK 2 %d" % sizes[1]
        assert c.cmd("LIST 4") == "-ERR No such message"
        assert c.cmd("LIST 0") == "-ERR No such message"
        assert c.cmd("LIST x") == "-ERR Invalid message number"
        assert c.cmd("UIDL") == "+OK"
        uidls = c.multi()
        assert len(uidls) == 3 and all(l.startswith(b"%d " % (i + 1))
                                       for i, l in enumerate(uidls))
        assert c.cmd("UIDL 3") == "+OK " + uidls[2].decode()
        assert c.cmd("RETR 2") == "+OK %d octets" % sizes[1]
        assert c.body() == pu.served(msgs[1])
        assert c.cmd("NOOP") == "+OK"
        assert c.cmd("DELE 1") == "+OK Message 1 deleted"
        assert c.cmd("DELE 1") == "-ERR Message 1 already deleted"
        assert c.cmd("DELE 9") == "-ERR No such message"
        assert c.cmd("RETR 1") == "-ERR No such message"
        assert c.cmd("LIST 1") == "-ERR No such message"
        assert c.cmd("UIDL 1") == "-ERR No such message"
        assert c.cmd("STAT") == "+OK 2 %d" % (total - sizes[0])
        assert c.cmd("LIST") == "+OK 2 messages (%d octets)" % (total - sizes[0])
        assert c.multi() == [b"2 %d" % sizes[1], b"3 %d" % sizes[2]]
        assert c.cmd("UIDL") == "+OK"
        assert c.multi() == uidls[1:]
        assert c.cmd("RSET") == "+OK maildrop has 3 messages (%d octets)" % total
        assert c.cmd("STAT") == "+OK 3 %d" % total
        assert c.cmd("CAPA") == "+OK Capability list follows"
        assert [l.decode() for l in c.multi()] == CAPA_TRANS
        assert c.cmd("USER x") == "-ERR Command not valid in this state"
        assert c.cmd("STLS") == "-ERR Command not valid in this state"
        assert c.cmd("XYZZY") == "-ERR Unknown command"
        assert c.cmd("APOP x y") == "-ERR Command not implemented"
        assert c.cmd("STAT 1") == "-ERR Syntax: STAT"
        assert c.cmd("RETR") == "-ERR Syntax: RETR msg"
        assert c.cmd("stat") == "+OK 3 %d" % total   # keywords: any case
        assert c.cmd("NOOP " + "x" * 300) == "-ERR Line too long"
        assert c.cmd("QUIT") == "+OK %s POP3 server signing off (3 messages left)" % HOST
        assert c.eof()
    assert len(box_files()) == 3


def test_top_zero_and_n_lines():
    empty_box()
    m = pu.sample("top", "b1\nb2\n.b3\nb4\nb5\n")
    pu.put_message(I, DEMO, m)
    head, _, body = pu.served(m).partition(b"\r\n\r\n")
    blines = body.split(b"\r\n")[:-1]
    with session() as c:
        assert c.cmd("TOP 1 0") == "+OK"
        assert c.body() == head + b"\r\n\r\n"
        assert c.cmd("TOP 1 3") == "+OK"
        lines = c.multi()
        assert lines[-1] == b"..b3", lines   # dot-stuffed in TOP too
        assert c.cmd("TOP 1 3") == "+OK"
        assert c.body() == head + b"\r\n\r\n" + b"\r\n".join(blines[:3]) + b"\r\n"
        assert c.cmd("TOP 1 100") == "+OK"
        assert c.body() == pu.served(m)
        assert c.cmd("TOP 1") == "-ERR Syntax: TOP msg lines"
        assert c.cmd("TOP 1 -1") == "-ERR Syntax: TOP msg lines"
        assert c.cmd("TOP 2 0") == "-ERR No such message"
        assert c.cmd("QUIT").startswith("+OK")


def test_dot_stuffing_crlf_and_sizes():
    empty_box()
    body = b".\n..\n.leading dot\nmiddle . dot\n\n.\nlast line without newline"
    m = pu.sample("dots", body)
    pu.put_message(I, DEMO, m)
    want = pu.served(m) + b"\r\n"
    with session() as c:
        size = int(c.cmd("LIST 1").split()[2])
        assert size == len(pu.served(m))
        assert c.cmd("RETR 1") == "+OK %d octets" % size
        raw = c.multi()
        assert b"..." in raw and b"." not in raw and b".." in raw, raw
        assert b"..leading dot" in raw
        got = b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n" for l in raw)
        assert got == want
        assert c.cmd("QUIT").startswith("+OK")


def test_sizes_of_delivered_mail_match_retr():
    """Through the real path (tern-sendmail, tern-deliverd): the ,W= size
    in the name is what LIST says and what RETR sends."""
    empty_box()
    I.start()
    try:
        text = (b"Subject: delivered\n\n.dot\n..two\nline\n\nend\n")
        r = I.sendmail(["-i", DEMO], text)
        assert r.returncode == 0, r.stderr
        I.wait_for_mail(DEMO, 1)
    finally:
        I.stop_queue()
    with session() as c:
        size = int(c.cmd("LIST 1").split()[2])
        assert c.cmd("RETR 1") == "+OK %d octets" % size
        data = c.body()
        assert len(data) == size, (len(data), size)
        assert data.endswith(b"\r\n.dot\r\n..two\r\nline\r\n\r\nend\r\n")
        assert c.cmd("QUIT").startswith("+OK")


def test_new_moved_to_cur_without_flags():
    empty_box()
    path = pu.put_message(I, DEMO, pu.sample("movecur"))
    name = os.path.basename(path)
    with session() as c:
        md = I.maildir(DEMO)
        assert os.listdir(os.path.join(md, "new")) == []
        # Maildir: new -> cur adds ":2,"; RFC 1939 sets no Seen flag
        assert os.listdir(os.path.join(md, "cur")) == [name + ":2,"]
        assert c.cmd("RETR 1").startswith("+OK")
        c.multi()
        assert c.cmd("QUIT").startswith("+OK")
    assert os.listdir(os.path.join(I.maildir(DEMO), "cur")) == [name + ":2,"]


def test_deletion_only_at_quit():
    empty_box()
    for i in range(3):
        pu.put_message(I, DEMO, pu.sample("del-%d" % i))
    with session() as c:
        assert c.cmd("DELE 1").startswith("+OK")
        assert c.cmd("DELE 3").startswith("+OK")
        assert c.cmd("NOOP") == "+OK"
        assert len(box_files()) == 3, "deleted before QUIT"
        assert c.cmd("QUIT") == "+OK %s POP3 server signing off (1 messages left)" % HOST
        assert c.eof()
    files = box_files()
    assert len(files) == 1 and ".M" in files[0]
    with session() as c:
        assert c.cmd("STAT").startswith("+OK 1 ")
        assert c.cmd("RETR 1").startswith("+OK")
        assert b"Subject: del-1" in c.body()
        assert c.cmd("QUIT").startswith("+OK")


def test_dropped_connection_deletes_nothing():
    empty_box()
    for i in range(2):
        pu.put_message(I, DEMO, pu.sample("drop-%d" % i))
    c = session(tls=True)
    assert c.cmd("DELE 1").startswith("+OK")
    assert c.cmd("DELE 2").startswith("+OK")
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    no_sessions()
    assert len(box_files()) == 2
    with session() as c:
        assert c.cmd("STAT").startswith("+OK 2 ")
        assert c.cmd("QUIT").startswith("+OK")


def test_in_use():
    empty_box()
    pu.put_message(I, DEMO, pu.sample("inuse"))
    with session() as first:
        with POP3Raw(TLS_PORT, I, tls=True) as second:
            assert second.cmd("USER " + DEMO).startswith("+OK")
            r = second.cmd("PASS demo")
            assert r == "-ERR [IN-USE] Maildrop is locked by another POP3 session", r
            assert second.eof()
        assert first.cmd("STAT").startswith("+OK 1 ")
        assert first.cmd("QUIT").startswith("+OK")
    with session() as third:
        assert third.cmd("STAT").startswith("+OK 1 ")
        assert third.cmd("QUIT").startswith("+OK")


def test_uidl_stable_and_from_base_name():
    empty_box()
    names = [pu.put_message(I, DEMO, pu.sample("uidl-%d" % i)) for i in range(2)]
    with session() as c:
        c.cmd("UIDL")
        first = c.multi()
        assert c.cmd("QUIT").startswith("+OK")
    bases = sorted(os.path.basename(n) for n in names)
    assert sorted(l.split(b" ", 1)[1].decode() for l in first) == bases
    pu.put_message(I, DEMO, pu.sample("uidl-new"))
    with session() as c:
        c.cmd("UIDL")
        second = c.multi()
        assert c.cmd("QUIT").startswith("+OK")
    assert second[:2] == first and len(second) == 3
    with open(os.path.join(I.maildir(DEMO), "tern-uidlist")) as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("tern-uidlist 1 ") and len(lines) == 4
    # a long base name: "~" and 32 hex digits (RFC 1939 7: at most 70)
    long = "1700000000.M1P1Q1." + "h" * 60 + ",S=10,W=11"
    pu.put_message(I, DEMO, pu.sample("long"), name=long)
    with session() as c:
        r = c.cmd("UIDL 4")
        assert r.startswith("+OK 4 ~") and len(r.split()[2]) == 33, r
        assert c.cmd("QUIT").startswith("+OK")


def test_pipelining():
    empty_box()
    pu.put_message(I, DEMO, pu.sample("pipe"))
    with POP3Raw(TLS_PORT, I, tls=True) as c:
        c.send("USER %s\r\nPASS demo\r\nSTAT\r\nLIST\r\nNOOP\r\nQUIT\r\n" % DEMO)
        assert c.line().startswith("+OK")
        assert c.line().startswith("+OK maildrop has 1 messages")
        assert c.line().startswith("+OK 1 ")
        assert c.line().startswith("+OK 1 messages")
        assert len(c.multi()) == 1
        assert c.line() == "+OK"
        assert c.line().startswith("+OK %s POP3 server signing off" % HOST)
        assert c.eof()


def test_no_body_reads_for_stat_list_uidl():
    """Sizes and UIDLs come from the names: with every message file
    unreadable, STAT, LIST and UIDL still work; RETR cannot."""
    empty_box()
    n = 500
    for i in range(n):
        p = pu.put_message(I, DEMO, pu.sample("noread-%d" % i), sub="cur" if i % 2 else "new")
        os.chmod(p, 0)
    with session() as c:
        r = c.cmd("STAT")
        assert r.startswith("+OK %d " % n), r
        assert c.cmd("UIDL") == "+OK" and len(c.multi()) == n
        assert c.cmd("LIST") .startswith("+OK %d messages" % n) and len(c.multi()) == n
        assert c.cmd("RETR 1") == "-ERR [SYS/TEMP] Cannot read the message"
        assert c.cmd("QUIT").startswith("+OK")
    empty_box()


def test_idle_timeout_deletes_nothing():
    inst = harness.Instance(name="pop3idle", conf={"pop3d_timeout": "1"})
    try:
        port = pu.pop3_port(inst, tls=True)
        pu.put_message(inst, DEMO, pu.sample("idle"))
        with POP3Raw(port, inst, tls=True) as c:
            c.login(DEMO, "demo")
            assert c.cmd("DELE 1").startswith("+OK")
            c.sock.settimeout(10)
            assert c.line() == "-ERR Disconnected for inactivity"
            assert c.eof()
        assert len(inst.mail_files(DEMO)) == 1
        assert "timeout stage=command" in pu.log_text(inst)
    finally:
        inst.close()
