"""
tern-smtpd -l ADDR:PORT, the standalone listener (no tcpserver): mail
delivered with swaks and smtplib, relaying refused without AUTH even when
the listener's own environment has RELAYCLIENT, an access-map RELAY rule
picked up without a restart, STARTTLS, the -c session limit (421 4.3.2),
SIGTERM (the listener goes, running sessions finish), no listening socket
in a session, and as root: listener and sessions run as smtpd_user with
no capabilities.
"""
import os
import re
import signal
import smtplib
import socket
import subprocess

import harness
import smtpd_util as U

I = None
P = None       # the main listener (Popen)
PORT = None


def start(inst, extra=(), env=None, addr="127.0.0.1"):
    """tern-smtpd -C etc -l ADDR:PORT [extra] on a free port, stopped with
    the instance: (Popen, port)."""
    smtpd = inst.prog("tern-smtpd")
    for _ in range(10):
        port = harness.free_port()
        spec = ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, port)
        log = open(inst.path("log", "smtpd.log"), "ab")
        try:
            p = subprocess.Popen([smtpd, "-C", inst.etc, "-l", spec] + list(extra),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=log, env=inst.env(env), start_new_session=True)
        finally:
            log.close()
        harness.wait_for(lambda: p.poll() is not None or
                         "listening on %s " % spec in U.smtpd_log(inst), 10,
                         what="tern-smtpd -l %s" % spec,
                         info=lambda: harness.tail(inst.path("log", "smtpd.log")))
        if p.poll() is None:
            inst.tcpservers.append((p, port))
            return p, port
    raise AssertionError("tern-smtpd -l would not start\n%s"
                         % harness.tail(inst.path("log", "smtpd.log")))


def sessions(p):
    """pids of the session children of listener p."""
    return sorted(pid for pid, i in harness.descendants(p.pid).items()
                  if harness.prog_name(i) == "tern-smtpd")


def setup():
    global I, P, PORT
    I = harness.Instance(name="smtpdlisten")
    I.start()
    # what a careless start script might pass on: both must be ignored
    P, PORT = start(I, env={"RELAYCLIENT": "", "TCPREMOTEIP": "192.0.2.9"})


def marker(what):
    return "listen-%s-%d" % (what, harness.free_port())


def send(c, rcpt, subject):
    assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
    code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
    assert code == 250, lines
    assert c.cmd("DATA")[0] == 354
    c.send(harness.message(subject, to=rcpt) + b".\r\n")
    return c.reply()


def test_start_logged():
    log = U.smtpd_log(I)
    assert "listening on 127.0.0.1:%d mode=mx maxconn=100" % PORT in log, log[-2000:]


def test_swaks_delivers():
    swaks = harness.need_tool("swaks")
    m = marker("swaks")
    r = subprocess.run([swaks, "--server", "127.0.0.1:%d" % PORT, "--helo",
                        "client.example.org", "--from", "s@example.org", "--to",
                        "demo@example.test", "--header", "Subject: %s" % m],
                       capture_output=True, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out[-2000:]
    I.wait_for_message("demo@example.test", m)


def test_smtplib_delivers_with_the_real_peer_address():
    m = marker("smtplib")
    with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.example.org",
                      timeout=20) as c:
        refused = c.sendmail("s@example.org", ["alice@example.test"],
                             harness.message(m, to="alice@example.test"))
        assert refused == {}, refused
    _, data = I.wait_for_message("alice@example.test", m)
    rec = dict(harness.headers_of(data))["received"]
    # from getpeername, not from the TCPREMOTEIP the listener was given
    assert "127.0.0.1" in rec and "192.0.2.9" not in rec, rec
    log = U.smtpd_log(I)
    assert "connect ip=127.0.0.1 mode=mx\n" in log, log[-2000:]
    assert "192.0.2.9" not in log and "relayclient=1" not in log, log[-2000:]


def test_relay_denied_without_auth():
    with U.raw(PORT) as c:
        U.ehlo(c)
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        code, lines = c.cmd("RCPT TO:<user@elsewhere.example>")
        assert lines == ["554 5.7.1 <user@elsewhere.example>: Relay access denied"], \
            lines
        assert c.cmd("QUIT")[0] == 221


def test_access_map_relay_rule_without_restart():
    # the way to let a network relay here (there are no tcpserver rules);
    # the table is replaced while the listener runs
    I.write_etc("access", "127.0.0.5 RELAY\n")
    I.map("access")
    try:
        with U.raw(PORT, "127.0.0.5") as c:
            U.ehlo(c)
            assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
            assert c.cmd("RCPT TO:<user@elsewhere.example>")[0] == 250
            assert c.cmd("QUIT")[0] == 221
        with U.raw(PORT, "127.0.0.6") as c:
            U.ehlo(c)
            assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
            assert c.cmd("RCPT TO:<user@elsewhere.example>")[0] == 554
    finally:
        I.write_etc("access", "")
        I.map("access")


def test_starttls_delivers():
    m = marker("tls")
    with U.raw(PORT) as c:
        assert "STARTTLS" in U.ehlo(c)
        t = U.starttls(c, I)
        U.ehlo(t)
        code, lines = send(t, "demo@example.test", m)
        assert code == 250, lines
        assert t.cmd("QUIT")[0] == 221
    _, data = I.wait_for_message("demo@example.test", m)
    assert "with ESMTPS id" in dict(harness.headers_of(data))["received"]


def test_session_holds_no_listening_socket():
    def inode_of_listener(port):
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                x = line.split()
                if x[1] == "0100007F:%04X" % port and x[3] == "0A":
                    return x[9]
        raise AssertionError("no listening socket on %d" % port)
    lsock = "socket:[%s]" % inode_of_listener(PORT)
    with U.raw(PORT) as c:
        kids = harness.wait_for(lambda: sessions(P), what="a session child")
        for pid in kids:
            fds = {}
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    fds[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    pass
            assert lsock not in fds.values(), (pid, fds)
            assert fds[0] == fds[1] and fds[0].startswith("socket:"), (pid, fds)
        assert c.cmd("QUIT")[0] == 221


def test_maxconn_answers_421():
    p, port = start(I, ["-c", "2"])
    assert "listening on 127.0.0.1:%d mode=mx maxconn=2" % port in U.smtpd_log(I)
    a, b = U.raw(port), U.raw(port)
    try:
        assert a.banner[0] == 220 and b.banner[0] == 220
        with U.raw(port) as c:
            assert c.banner == (421, ["421 4.3.2 Too many connections, try again later"]), \
                c.banner
        assert "refused ip=127.0.0.1 reason=maxconn sessions=2" in U.smtpd_log(I)
        assert a.cmd("QUIT")[0] == 221
        a.close()

        def served():   # once the listener reaped the first session
            with U.raw(port) as c:
                if c.banner[0] != 220:
                    return False
                c.cmd("QUIT")
                return True
        harness.wait_for(served, what="a session slot after QUIT")
        assert b.cmd("NOOP")[0] == 250
    finally:
        a.close()
        b.close()


def test_sigterm_stops_listener_sessions_finish():
    p, port = start(I)
    m = marker("term")
    with U.raw(port) as c:
        U.ehlo(c)
        kid = harness.wait_for(lambda: sessions(p), what="a session child")[0]
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
        harness.wait_for(lambda: not harness.listening(port),
                         what="port %d closed" % port)
        assert "stopping, sessions=1 left to finish" in U.smtpd_log(I)
        # the session goes on and delivers
        code, lines = send(c, "demo@example.test", m)
        assert code == 250, lines
        assert c.cmd("QUIT")[0] == 221
    I.wait_for_message("demo@example.test", m)
    harness.wait_for(lambda: harness.proc_info(kid) is None or
                     harness.proc_info(kid)[2] == "Z", what="the session to end")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        raise AssertionError("port %d still accepts" % port)
    except ConnectionRefusedError:
        pass


def test_bad_arguments_exit_100():
    for extra in (["-l", "localhost:25"], ["-l", "127.0.0.1"], ["-l", "127.0.0.1:0"],
                  ["-l", "127.0.0.1:70000"], ["-l", "[::1:25"], ["-l", "::1:25"],
                  ["-c", "2"], ["-l", "127.0.0.1:2525", "-c", "0"],
                  ["-l", "127.0.0.1:2525", "-c", "x"]):
        r = I.run(["tern-smtpd", "-C", I.etc] + extra, timeout=20)
        assert r.returncode == 100, (extra, r.returncode, r.stderr)
        assert b"usage" in r.stderr or b"-l " in r.stderr, (extra, r.stderr)


def test_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
    except OSError as e:
        raise harness.Skip("no ::1 here (%s)" % e)
    p, port = start(I, addr="::1")
    with socket.create_connection(("::1", port), timeout=10) as s:
        c = harness.SMTPRaw(port, sock=s)
        assert c.banner[0] == 220
        assert c.cmd("QUIT")[0] == 221
    assert "connect ip=::1 mode=mx" in U.smtpd_log(I)


def status_ids(pid):
    st = harness.proc_status(pid)
    return st["Uid"].split(), st["Gid"].split(), st["Groups"].split(), \
        st["CapEff"], st["CapPrm"], st["CapInh"]


def test_listener_and_session_unprivileged():
    harness.need_root()
    uid, gid = harness.ids("ternd")
    want = ([str(uid)] * 4, [str(gid)] * 4, [str(gid)], "0" * 16, "0" * 16, "0" * 16)
    assert status_ids(P.pid) == want, status_ids(P.pid)
    with U.raw(PORT) as c:
        U.ehlo(c)
        kids = harness.wait_for(lambda: sessions(P), what="a session child")
        for pid in kids:
            assert status_ids(pid) == want, (pid, status_ids(pid))
        assert c.cmd("QUIT")[0] == 221


def test_version():
    """--version prints "tern-smtpd VERSION" (configure's TERN_VERSION)
    and exits 0, touching no configuration."""
    with open(os.path.join(harness.HERE, "..", "..", "config.h")) as f:
        want = re.search(r'#define TERN_VERSION "([^"]+)"', f.read()).group(1)
    r = subprocess.run([I.prog("tern-smtpd"), "--version"], capture_output=True,
                       timeout=10, env={"TERN_CONFDIR": "/nonexistent"})
    assert (r.returncode, r.stdout, r.stderr) == \
        (0, ("tern-smtpd %s\n" % want).encode(), b""), r
