"""
SMTP in, Maildir out (issue 2, acceptance 2, 3 and 4): swaks and smtplib
against tern-smtpd under tcpserver, one instance for the whole file.
"""
import re
import smtplib
import socket
import subprocess
import time
import uuid

import harness
from harness import SMTPRaw, headers_of, lf, message

SIZE_LIMIT = 102400
I = None      # the instance
PORT = None   # tern-smtpd without RELAYCLIENT
RELAY_PORT = None


def setup():
    global I, PORT
    I = harness.Instance(conf={"message_size_limit": str(SIZE_LIMIT)}, name="smtp")
    I.start()
    PORT = I.smtp_port()


def marker(what):
    return "%s-%s" % (what, uuid.uuid4().hex[:12])


def ehlo(c):
    code, lines = c.cmd("EHLO client.example.org")
    assert code == 250, "EHLO -> %s" % lines
    return [l[4:].upper() for l in lines[1:]]


def assert_not_queued_or_delivered(m, who="demo@example.test"):
    assert I.find_message(who, m) is None, "rejected message %s was delivered" % m
    assert not I.spool_holds(m.encode()), "rejected message %s is in the queue" % m


def test_swaks_delivers_within_1s():
    swaks = harness.need_tool("swaks")
    m = marker("swaks")
    r = subprocess.run([swaks, "--server", "127.0.0.1:%d" % PORT,
                        "--to", "demo@example.test", "--from", "sender@example.org",
                        "--helo", "client.example.org",
                        "--header", "Subject: %s" % m, "--body", "body of %s" % m],
                       capture_output=True, timeout=30)
    t_done = time.monotonic()
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, "swaks exited %d:\n%s" % (r.returncode, out[-1500:])
    # the reply to the end of data (swaks shows it after the " -> ." line)
    after_data = out.split("\n -> .\n", 1)
    assert len(after_data) == 2 and re.match(r"\s*<-\s+250 ", after_data[1]), \
        "no 250 after the end of data:\n%s" % out[-1500:]
    path, data = I.wait_for_message("demo@example.test", m, timeout=5)
    dt = time.monotonic() - t_done
    harness.log("delivered %.3fs after swaks got 250 and quit" % dt)
    assert dt < 1.0, "delivered only %.2fs after the 250 (limit 1 s)" % dt
    assert "/new/" in path, path


def test_smtplib_byte_exact_8bit_and_dots():
    m = marker("exact")
    body = (b"first line\r\n"
            b".leading dot\r\n"
            b"..two leading dots\r\n"
            b".\r\n"
            b"a line that is only a dot is above\r\n"
            b"8-bit: caf\xc3\xa9 \xe2\x82\xac raw \xff\xfe\x80\r\n"
            b"trailing spaces   \r\n"
            b"\ttab and \x01 control\r\n"
            b"\r\n"
            b"last line\r\n")
    msg = message(m, body, extra=b"MIME-Version: 1.0\r\nContent-Type: text/plain; "
                  b"charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
    with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.example.org",
                      timeout=10) as s:
        code, _ = s.ehlo()
        assert code == 250
        assert s.has_extn("8bitmime"), "EHLO does not offer 8BITMIME: %s" % s.esmtp_features
        refused = s.sendmail("sender@example.org", ["demo@example.test"], msg,
                             mail_options=["BODY=8BITMIME"])
        t_250 = time.monotonic()
        assert refused == {}, refused
    path, data = I.wait_for_message("demo@example.test", m, timeout=5)
    dt = time.monotonic() - t_250
    harness.log("delivered %.3fs after the 250" % dt)
    assert dt < 1.0, "delivered only %.2fs after the 250 (limit 1 s)" % dt
    want = lf(msg)
    assert data.endswith(want), (
        "stored message is not the sent one byte for byte (after the added "
        "headers):\nwant tail %r\ngot  tail %r" % (want[-300:], data[-300:]))
    added = data[:len(data) - len(want)]
    names = [k for k, _ in headers_of(added + b"\n")]
    assert names[:1] == ["return-path"], "first line is not Return-Path: %r" % added[:200]
    h = dict(headers_of(data))
    assert h.get("return-path") == "<sender@example.org>", h.get("return-path")
    assert "delivered-to" in names, "no Delivered-To added: %r" % added
    assert h["delivered-to"].lower() == "demo@example.test", h["delivered-to"]
    assert "received" in names, "no Received added: %r" % added
    rcvd = [v for k, v in headers_of(added + b"\n") if k == "received"][0]
    assert "mx.example.test" in rcvd and "127.0.0.1" in rcvd, \
        "Received should name us and the client: %r" % rcvd
    assert b"\r" not in data, "stored message mixes CRLF and LF"


def test_unknown_recipient_550_511():
    with SMTPRaw(PORT) as c:
        assert c.banner[0] == 220, c.banner
        ehlo(c)
        code, lines = c.cmd("MAIL FROM:<sender@example.org>")
        assert code == 250, lines
        code, lines = c.cmd("RCPT TO:<nobody-%s@example.test>" % uuid.uuid4().hex[:6])
        assert code == 550 and "5.1.1" in lines[-1], "unknown user -> %s" % lines
        code, lines = c.cmd("RCPT TO:<demo@example.test>")
        assert code == 250, "known user after a refused one -> %s" % lines
        code, lines = c.cmd("QUIT")
        assert code == 221, lines


def test_relay_denied():
    with SMTPRaw(PORT) as c:
        ehlo(c)
        code, lines = c.cmd("MAIL FROM:<sender@example.org>")
        assert code == 250, lines
        code, lines = c.cmd("RCPT TO:<user@elsewhere.example>")
        assert code in (550, 554) and "5.7.1" in lines[-1], \
            "relaying for an outside client -> %s" % lines
        c.cmd("QUIT")


def test_relayclient_accepts_and_stays_queued():
    global RELAY_PORT
    if RELAY_PORT is None:
        RELAY_PORT = I.smtp_port(relayclient=True)
    m = marker("relay")
    rcpt = "%s@elsewhere.example" % m
    with smtplib.SMTP("127.0.0.1", RELAY_PORT, local_hostname="client.example.org",
                      timeout=10) as s:
        refused = s.sendmail("sender@example.org", [rcpt], message(m, to=rcpt))
        assert refused == {}, refused
    listing = I.queue_list()
    assert rcpt in listing, "tern-queue list does not show %s:\n%s" % (rcpt, listing)
    # nothing leaves the machine in this issue: it is still there after the
    # scheduler has seen it (the message is not delivered locally either)
    assert I.spool_holds(m.encode())
    assert I.find_message("demo@example.test", m) is None


def test_pipelining():
    a = marker("pipe")
    with SMTPRaw(PORT) as c:
        feats = ehlo(c)
        assert "PIPELINING" in feats, "EHLO does not offer PIPELINING: %s" % feats
        c.send("MAIL FROM:<sender@example.org>\r\n"
               "RCPT TO:<demo@example.test>\r\n"
               "RCPT TO:<nobody-%s@example.test>\r\n"
               "RCPT TO:<alice@example.test>\r\n"
               "DATA\r\n" % a)
        got = [c.reply() for _ in range(5)]
        codes = [g[0] for g in got]
        assert codes == [250, 250, 550, 250, 354], \
            "pipelined MAIL/RCPT x3/DATA -> %s" % [g[1] for g in got]
        c.send(message(a) + b".\r\nQUIT\r\n")
        r1, r2 = c.reply(), c.reply()
        assert r1[0] == 250 and r2[0] == 221, "end of data, QUIT -> %s %s" % (r1, r2)
    I.wait_for_message("demo@example.test", a)
    I.wait_for_message("alice@example.test", a)


def data_session(payload, mail_from="MAIL FROM:<sender@example.org>"):
    """MAIL, RCPT demo, DATA, then payload (which ends with .CRLF); returns
    the reply to the end of data."""
    with SMTPRaw(PORT) as c:
        ehlo(c)
        assert c.cmd(mail_from)[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
        code, lines = c.cmd("DATA")
        assert code == 354, lines
        c.send(payload)
        rep = c.reply()
        try:
            c.cmd("QUIT")
        except (AssertionError, OSError):
            pass   # the server may close after a 5xx/4xx on DATA
        return rep


def test_bare_lf_smtplib_delivered():
    """smtplib.sendmail(..., msg.as_bytes()) sends the LF line ends of the
    email package as they are: tern-smtpd takes them as line ends."""
    import email.message
    m = marker("barelf")
    msg = email.message.EmailMessage()
    msg["From"] = "sender@example.org"
    msg["To"] = "demo@example.test"
    msg["Subject"] = m
    msg.set_content("line one\n.dot line\nline three\n")
    raw = msg.as_bytes()
    assert b"\r" not in raw and b"\n.dot line\n" in raw
    with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.example.org",
                      timeout=10) as s:
        assert s.sendmail("sender@example.org", ["demo@example.test"], raw) == {}
    _, data = I.wait_for_message("demo@example.test", m, timeout=5)
    # smtplib stuffs the dot after a bare LF too (its "^." is
    # multi-line), and ends the last LF line with a CRLF of its own,
    # which is an empty line more
    assert data.endswith(raw + b"\n"), (raw, data[-300:])


def test_bare_lf_curl_delivered():
    """curl --upload-file without --crlf: the file's LF line ends."""
    curl = harness.need_tool("curl")
    m = marker("curl")
    f = I.path("curl-%s.eml" % m)
    with open(f, "wb") as fh:
        fh.write(b"From: sender@example.org\nTo: demo@example.test\n"
                 b"Subject: %s\n\nsent by curl\nwith LF ends\n" % m.encode())
    r = subprocess.run([curl, "-sS", "--url", "smtp://127.0.0.1:%d" % PORT,
                        "--mail-from", "sender@example.org",
                        "--mail-rcpt", "demo@example.test",
                        "--upload-file", f], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    _, data = I.wait_for_message("demo@example.test", m, timeout=5)
    # curl ends the data with CRLF . CRLF after the file's last LF: an
    # empty line more
    assert data.endswith(b"\n\nsent by curl\nwith LF ends\n\n"), data[-200:]


def test_long_line_rejected():
    m = marker("longline")
    code, lines = data_session(b"Subject: " + m.encode() + b"\r\n\r\n" +
                               b"x" * 1500 + b"\r\nafter\r\n.\r\n")
    assert 500 <= code <= 599, "1502-byte line in DATA -> %s (want 5xx)" % lines
    assert_not_queued_or_delivered(m)


def test_size_limit():
    with SMTPRaw(PORT) as c:
        feats = ehlo(c)
        assert "SIZE %d" % SIZE_LIMIT in feats, "EHLO SIZE: %s" % feats
        code, lines = c.cmd("MAIL FROM:<sender@example.org> SIZE=%d" % (SIZE_LIMIT * 2))
        assert code == 552, "MAIL SIZE over the limit -> %s" % lines
        c.cmd("QUIT")
    # too big without a SIZE parameter: refused at the end of data
    m = marker("toobig")
    big = ("Subject: %s\r\n\r\n" % m).encode() + (b"y" * 78 + b"\r\n") * 1600
    code, lines = data_session(big + b".\r\n")
    assert code == 552, "%d-byte message over the %d limit -> %s" % (
        len(big), SIZE_LIMIT, lines)
    assert_not_queued_or_delivered(m)


def test_postmaster_alias():
    m = marker("postmaster")
    with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.example.org",
                      timeout=10) as s:
        s.sendmail("sender@example.org", ["postmaster@example.test"],
                   message(m, to="postmaster@example.test"))
    _, data = I.wait_for_message("demo@example.test", m)
    assert data.startswith(b"Return-Path: <sender@example.org>\n"), data[:200]


def test_simple_commands():
    with SMTPRaw(PORT) as c:
        code, lines = c.cmd("HELO client.example.org")
        assert code == 250, lines
        for cmd, want in (("NOOP", (250,)), ("VRFY demo@example.test", (252,)),
                          ("RSET", (250,)), ("HELP", (211, 214)),
                          ("FROBNICATE", (500,)), ("QUIT", (221,))):
            code, lines = c.cmd(cmd)
            assert code in want, "%s -> %s (want %s)" % (cmd, lines, want)


def test_inetd_mode_uses_getpeername():
    """Under inetd (or systemd Accept=yes) there is no TCPREMOTEIP: the
    client address comes from getpeername(0)."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    client = socket.create_connection(ls.getsockname(), timeout=10)
    conn, _ = ls.accept()
    ls.close()
    with open(I.path("log", "smtpd.log"), "ab") as log:
        p = subprocess.Popen([I.prog("tern-smtpd"), "-C", I.etc], stdin=conn.fileno(),
                             stdout=conn.fileno(), stderr=log, env=I.env(),
                             start_new_session=True)
    conn.close()
    m = marker("inetd")
    try:
        with SMTPRaw(None, sock=client) as c:
            assert c.banner[0] == 220, c.banner
            ehlo(c)
            assert c.cmd("MAIL FROM:<sender@example.org>")[0] == 250
            assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(message(m) + b".\r\n")
            code, lines = c.reply()
            assert code == 250, lines
            assert c.cmd("QUIT")[0] == 221
        assert p.wait(10) == 0, "tern-smtpd exited %d" % p.returncode
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    _, data = I.wait_for_message("demo@example.test", m)
    rcvd = [v for k, v in headers_of(data) if k == "received"]
    assert rcvd and "127.0.0.1" in rcvd[0], "Received without the peer address: %r" % rcvd
