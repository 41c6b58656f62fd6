"""
tern-smtpd protocol dialogues (RFC 5321, 2920, 1870, 2034) on loopback,
against a fake tern-enqueue: the session alone, no queue.

The fake (written into the instance's bin/) reads the lib/queue/enq.h stream
and stores FAKEQ/<id>.env and FAKEQ/<id>.msg only when the stream ended
with "0\\n", so a message tern-smtpd refused or aborted leaves nothing.
A file FAKEQ/fail_perm or FAKEQ/fail_temp makes it exit 100 or 111;
FAKEQ/die_early makes it exit after the envelope, writing its pid into
FAKEQ/died.
"""
import os
import re
import socket
import subprocess
import time

import harness
from harness import SMTPRaw

I = None
PORT = None        # no RELAYCLIENT
RELAY_PORT = None  # RELAYCLIENT set by the tcprules cdb
FAKEQ = None
SIZE_LIMIT = 102400   # above ENQ_CHUNK_MAX (64 KiB): see the BDAT 451 test
MAX_RCPT = 5
MAX_ERRORS = 10
MAX_HOPS = 10
TIMEOUT = 2

FAKE_ENQUEUE = r'''#!/usr/bin/env python3
import os, sys, time
d = %r
inp = sys.stdin.buffer
env = []
while True:
    l = inp.readline()
    if not l:
        sys.exit(111)
    if l == b"\n":
        break
    env.append(l)
if os.path.exists(os.path.join(d, "die_early")):
    # dies after the envelope (a crash): the pid tells the test whom to
    # wait for
    with open(os.path.join(d, "died.tmp"), "w") as f:
        f.write(str(os.getpid()))
    os.rename(os.path.join(d, "died.tmp"), os.path.join(d, "died"))
    sys.exit(111)
msg = bytearray()
while True:
    l = inp.readline()
    if not l:
        sys.exit(111)
    n = int(l, 16)
    if n == 0:
        break
    b = inp.read(n)
    if len(b) != n:
        sys.exit(111)
    msg += b
for f, code, text in (("fail_perm", 100, "message refused by policy"),
                      ("fail_temp", 111, "disk full")):
    if os.path.exists(os.path.join(d, f)):
        sys.stderr.write("tern-enqueue: %%s\n" %% text)
        sys.exit(code)
qid = "%%08X%%012X" %% (int(time.time()), os.getpid())
with open(os.path.join(d, qid + ".env"), "wb") as f:
    f.write(b"".join(env))
with open(os.path.join(d, qid + ".msg"), "wb") as f:
    f.write(bytes(msg))
print(qid)
'''


def setup():
    global I, PORT, RELAY_PORT, FAKEQ
    I = harness.Instance(conf={
        "message_size_limit": str(SIZE_LIMIT),
        "smtpd_max_recipients": str(MAX_RCPT),
        "smtpd_max_errors": str(MAX_ERRORS),
        "max_hops": str(MAX_HOPS),
        "smtpd_timeout": str(TIMEOUT),
    }, name="smtpdproto")
    FAKEQ = I.path("fakeq")
    os.makedirs(FAKEQ)
    os.chmod(FAKEQ, 0o1777)   # tern-smtpd runs as ternd when we are root
    enq = os.path.join(I.bin, "tern-enqueue")
    if os.path.exists(enq):
        os.unlink(enq)
    with open(enq, "w") as f:
        f.write(FAKE_ENQUEUE % FAKEQ)
    os.chmod(enq, 0o755)
    PORT = I.smtp_port()
    RELAY_PORT = I.smtp_port(relayclient=True)


def queued():
    """{qid: (env lines, message bytes)} stored by the fake."""
    out = {}
    for f in os.listdir(FAKEQ):
        if f.endswith(".msg"):
            qid = f[:-4]
            with open(os.path.join(FAKEQ, qid + ".env"), "rb") as fh:
                env = fh.read().decode().splitlines()
            with open(os.path.join(FAKEQ, f), "rb") as fh:
                out[qid] = (env, fh.read())
    return out


def qid_of(lines):
    m = re.search(r"queued as ([0-9A-F]{20})", lines[-1])
    assert m, "no queue id in %r" % lines
    return m.group(1)


def session(port=None, ehlo=True):
    c = SMTPRaw(port or PORT)
    assert c.banner[0] == 220, c.banner
    if ehlo:
        code, lines = c.cmd("EHLO client.example.org")
        assert code == 250, lines
    return c


def send_mail(c, body, rcpts=("demo@example.test",), sender="s@example.org"):
    """MAIL, RCPTs, DATA, body (ends with CRLF), ".": the final reply."""
    assert c.cmd("MAIL FROM:<%s>" % sender)[0] == 250
    for r in rcpts:
        code, lines = c.cmd("RCPT TO:<%s>" % r)
        assert code == 250, lines
    code, lines = c.cmd("DATA")
    assert code == 354, lines
    c.send(body + b".\r\n")
    return c.reply()


def assert_alive(c):
    """The session is still in step: NOOP gets exactly its own 250."""
    code, lines = c.cmd("NOOP")
    assert (code, lines) == (250, ["250 2.0.0 Ok"]), lines


def smtpd_log():
    with open(I.path("log", "smtpd.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


# ------------------------------------------------------------- greeting

def test_greeting_and_ehlo_keywords():
    with SMTPRaw(PORT) as c:
        # RFC 2034 section 3: no enhanced code on greeting and EHLO
        assert c.banner == (220, ["220 mx.example.test ESMTP tern"]), c.banner
        code, lines = c.cmd("ehlo client.example.org")
        assert code == 250
        assert lines[0] == "250-mx.example.test", lines
        kw = [l[4:] for l in lines[1:]]
        # the harness configures a certificate: STARTTLS; no AUTH before
        # TLS (allow_plaintext_auth = no)
        assert kw == ["PIPELINING", "SIZE %d" % SIZE_LIMIT, "8BITMIME",
                      "ENHANCEDSTATUSCODES", "STARTTLS", "SMTPUTF8", "DSN",
                      "CHUNKING", "HELP"], kw
        assert c.cmd("HELO client.example.org") == (250, ["250 mx.example.test"])
        assert c.cmd("QUIT") == (221, ["221 2.0.0 Bye"])


def test_bad_helo_and_sequence():
    with SMTPRaw(PORT) as c:
        assert c.cmd("MAIL FROM:<a@example.org>")[1] == \
            ["503 5.5.1 Error: send HELO/EHLO first"]
        assert c.cmd("EHLO")[1] == ["501 Syntax: EHLO hostname"]
        assert c.cmd("EHLO bad(name)")[0] == 501
        assert c.cmd("HELO a b")[0] == 501
        assert c.cmd("EHLO [192.0.2.1]")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[1] == \
            ["503 5.5.1 Error: need MAIL command"]
        assert c.cmd("DATA")[1] == ["503 5.5.1 Error: need MAIL command"]
        assert c.cmd("MAIL FROM:<>")[0] == 250
        assert c.cmd("MAIL FROM:<>")[1] == ["503 5.5.1 Error: nested MAIL command"]
        assert c.cmd("DATA")[1] == ["503 5.5.1 Error: need RCPT command"]
        assert c.cmd("RSET")[1] == ["250 2.0.0 Ok"]
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 503
        assert c.cmd("QUIT")[0] == 221


def test_small_commands():
    with session() as c:
        assert c.cmd("NOOP")[1] == ["250 2.0.0 Ok"]
        assert c.cmd("NOOP anything")[0] == 250
        assert c.cmd("RSET now")[0] == 501
        assert c.cmd("VRFY demo@example.test")[1][0].startswith("252 2.5.2 ")
        assert c.cmd("VRFY")[0] == 501
        assert c.cmd("EXPN staff")[1][0].startswith("502 5.5.1 ")
        code, lines = c.cmd("HELP")
        assert code == 214 and lines[0].startswith("214 2.0.0 "), lines
        assert c.cmd("TURN")[1] == ["502 5.5.1 Error: command not implemented"]
        assert c.cmd("STARTTLS now")[0] == 501
        # RFC 3463 3.6: X.5.2 for an unrecognized command, X.5.1 for
        # one out of sequence or not implemented
        assert c.cmd("FOO bar")[1] == ["500 5.5.2 Error: command not recognized"]
        assert c.cmd("")[0] == 500
        assert c.cmd("MAIL FROM:<a\x00b@example.org>")[0] == 500
        assert c.cmd("QUIT now")[0] == 501
        assert c.cmd("quit") == (221, ["221 2.0.0 Bye"])


def test_http_verb_closes():
    with SMTPRaw(PORT) as c:
        c.send("GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        code, lines = c.reply()
        assert code == 221, lines
        assert c.f.read() == b""


# ------------------------------------------------------------- MAIL / RCPT

def test_mail_parameters():
    with session() as c:
        assert c.cmd("MAIL FROM: <s@example.org> SIZE=100 BODY=8BITMIME")[0] == 250
        assert c.cmd("RSET")[0] == 250
        assert c.cmd("mail from:<s@example.org> body=7bit")[0] == 250
        assert c.cmd("RSET")[0] == 250
        code, lines = c.cmd("MAIL FROM:<s@example.org> SIZE=%d" % (SIZE_LIMIT + 1))
        assert lines[0].startswith("552 5.3.4 "), lines
        code, lines = c.cmd("MAIL FROM:<s@example.org> SIZE=99999999999999999999999")
        assert code == 552, lines
        assert c.cmd("MAIL FROM:<s@example.org> SIZE=x")[0] == 501
        assert c.cmd("MAIL FROM:<s@example.org> BODY=BINARYMIME")[0] == 501
        code, lines = c.cmd("MAIL FROM:<s@example.org> FOO=1")
        assert lines[0].startswith("555 5.5.4 "), lines
        assert c.cmd("MAIL FROM:<s@example.org>SIZE=1")[0] == 501
        assert c.cmd("MAIL FROM:<s@example.org> SIZE=1 SIZE=2")[0] == 501
        code, lines = c.cmd("MAIL FROM:<not an address>")
        assert lines[0].startswith("501 5.1.7 "), lines
        assert c.cmd("MAIL FROM:s@example.org")[0] == 501
        assert c.cmd("MAIL TO:<s@example.org>")[0] == 501
        assert c.cmd("MAIL FROM:<>")[0] == 250
        code, lines = c.cmd("RCPT TO:<demo@example.test> FOO=BAR")
        assert lines[0].startswith("555 5.5.4 "), lines
    with session(ehlo=False) as c:
        assert c.cmd("HELO client.example.org")[0] == 250
        # parameters need EHLO (RFC 5321 4.1.1.11)
        assert c.cmd("MAIL FROM:<s@example.org> SIZE=10")[0] == 555


def test_recipients():
    with session() as c:
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[1] == ["250 2.1.5 Ok"]
        assert c.cmd("RCPT TO:<Demo@EXAMPLE.TEST>")[0] == 250
        assert c.cmd("RCPT TO:<demo+tag@example.test>")[0] == 250
        assert c.cmd("RCPT TO: <alice@localhost>")[0] == 550
        assert c.cmd("RCPT TO:<Postmaster>")[0] == 250
        assert c.cmd("RCPT TO:<postmaster@localhost>")[0] == 250
    with session() as c:
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        code, lines = c.cmd("RCPT TO:<nobody@example.test>")
        assert lines == ["550 5.1.1 <nobody@example.test>: Recipient address "
                         "rejected: unknown user"], lines
        code, lines = c.cmd("RCPT TO:<someone@elsewhere.example>")
        assert lines == ["554 5.7.1 <someone@elsewhere.example>: Relay access "
                         "denied"], lines
        # source routes and %-hacks must not open a relay
        assert c.cmd("RCPT TO:<demo%elsewhere.example@example.test>")[0] == 550
        assert c.cmd('RCPT TO:<"demo@elsewhere.example"@example.test>')[0] == 550
        assert c.cmd("RCPT TO:<@example.test:x@elsewhere.example>")[0] == 554
        assert c.cmd("RCPT TO:<demo@[127.0.0.1]>")[0] == 554
        code, lines = c.cmd("RCPT TO:<bad address>")
        assert lines[0].startswith("501 5.1.3 "), lines
        assert c.cmd("RCPT TO:demo@example.test")[0] == 501
    log = smtpd_log()
    assert re.search(r"reject stage=rcpt ip=127\.0\.0\.1 from=<s@example\.org> "
                     r"to=<nobody@example\.test> reply=550", log), log[-2000:]


def test_relayclient_may_relay():
    with session(RELAY_PORT) as c:
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<someone@elsewhere.example>")[0] == 250
        # RELAYCLIENT does not make unknown local users exist
        assert c.cmd("RCPT TO:<nobody@example.test>")[0] == 550


def test_too_many_recipients():
    with session() as c:
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        for i in range(MAX_RCPT):
            assert c.cmd("RCPT TO:<demo+%d@example.test>" % i)[0] == 250
        code, lines = c.cmd("RCPT TO:<alice@example.test>")
        assert lines == ["452 4.5.3 Error: too many recipients"], lines
        code, lines = c.cmd("DATA")
        assert code == 354
        c.send(b"Subject: many\r\n\r\nx\r\n.\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        env, _ = queued()[qid_of(lines)]
        assert len([l for l in env if l.startswith("R")]) == MAX_RCPT, env


# ------------------------------------------------------------- DATA

def test_pipelining_group():
    """RFC 2920: MAIL, three RCPT (one unknown) and DATA in one write get
    their five replies in order, then the message is queued once."""
    with session() as c:
        c.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<demo@example.test>\r\n"
               "RCPT TO:<nobody@example.test>\r\nRCPT TO:<alice@example.test>\r\n"
               "DATA\r\n")
        codes = [c.reply()[0] for _ in range(5)]
        assert codes == [250, 250, 550, 250, 354], codes
        c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        assert c.reply()[0] == 250 and c.reply()[0] == 250
        env, msg = queued()[qid_of(lines)]
        assert env[:3] == ["Fs@example.org", "Rdemo@example.test",
                           "Ralice@example.test"], env
        assert "I127.0.0.1" in env and "Hclient.example.org" in env, env


def test_pipelining_no_valid_recipients():
    with session() as c:
        c.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<nobody@example.test>\r\n"
               "RCPT TO:<x@elsewhere.example>\r\nDATA\r\nNOOP\r\n")
        replies = [c.reply() for _ in range(5)]
        assert [r[0] for r in replies] == [250, 550, 554, 554, 250], replies
        assert replies[3][1] == ["554 5.5.1 Error: no valid recipients"]


def test_dot_stuffing_8bit_and_received():
    body = (b"Subject: dots\r\n\r\n"
            b"..leading dot\r\n"
            b"...two\r\n"
            b".\tnot the end\r\n"
            b". \r\n"
            b"8bit \xc3\xa9\xff\x00nul\r\n"
            b"\r\n"
            b"last\r\n")
    with session() as c:
        code, lines = send_mail(c, body, sender="")
        assert code == 250, lines
        assert re.match(r"250 2\.0\.0 Ok: queued as [0-9A-F]{20}$", lines[0]), lines
        env, msg = queued()[qid_of(lines)]
        assert env[0] == "F", env
        head, _, rest = msg.partition(b"Subject: dots\n")
        assert rest == (b"\n.leading dot\n..two\n\tnot the end\n \n"
                        b"8bit \xc3\xa9\xff\x00nul\n\nlast\n"), rest
        # RFC 5321 4.4: our Received first, with ESMTP and the session id
        rec = head.decode()
        assert re.match(r"Received: from client\.example\.org \(\[127\.0\.0\.1\]\)\n"
                        r"\tby mx\.example\.test \(tern\) with ESMTP id [0-9A-F]{12}\n"
                        r"\tfor <demo@example\.test>; "
                        r"\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\n$",
                        rec), rec
        assert_alive(c)
    log = smtpd_log()
    assert re.search(r"queued qid=%s from=<> nrcpt=1 size=\d+" % qid_of(lines),
                     log), log[-2000:]


def test_helo_gives_smtp_in_received():
    with session(ehlo=False) as c:
        assert c.cmd("HELO old.example.org")[0] == 250
        code, lines = send_mail(c, b"Subject: helo\r\n\r\nx\r\n",
                                rcpts=("demo@example.test", "alice@example.test"))
        assert code == 250, lines
        _, msg = queued()[qid_of(lines)]
        first = msg.split(b";")[0]
        assert b"with SMTP id" in first and b"for <" not in first, msg[:300]


def refused(body, want, rcpts=("demo@example.test",)):
    """Send body; assert the final reply starts with want, nothing was
    queued, and the session is still in step."""
    before = set(queued())
    with session() as c:
        code, lines = send_mail(c, body, rcpts)
        assert lines[0].startswith(want), lines
        assert_alive(c)
    time.sleep(0.2)   # the fake must have been killed, not be writing
    assert set(queued()) == before, "a refused message was queued"


def test_bare_lf_taken_as_line_end():
    """A bare LF ends a line inside DATA (Postfix's "normalize"); the
    leading dot goes from every line, whatever ended the line before."""
    with session() as c:
        code, lines = send_mail(c, b"Subject: lf\n\nbare\nlf\r\n"
                                b".stuffed after lf\n..two\nend\r\n")
        assert code == 250, lines
        _, msg = queued()[qid_of(lines)]
        assert msg.endswith(b"\nSubject: lf\n\nbare\nlf\nstuffed after lf\n"
                            b".two\nend\n"), msg
        assert_alive(c)
    assert "barelf stage=data ip=127.0.0.1" in smtpd_log()


def test_bare_cr_refused():
    refused(b"Subject: cr\r\n\r\nbare\rcr\r\n", "554 5.6.0 Error: message contains a bare CR")
    # a CR before the line's CR LF is a bare CR too
    refused(b"Subject: cr\r\n\r\nbare\r\r\n", "554 5.6.0 ")


SMUGGLED = (b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@example.test>\r\n"
            b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n")


def test_smuggling_not_split():
    """<LF>.<LF>, <LF>.<CRLF> and <CRLF>.<LF> are not the end of data
    (SMTP smuggling): what follows them is content of the one message,
    never a second transaction."""
    for end in (b"\n.\n", b"\n.\r\n", b"\r\n.\n"):
        before = set(queued())
        with session() as c:
            code, lines = send_mail(c, b"Subject: smuggle\r\n\r\nx" + end +
                                    SMUGGLED)
            assert code == 250 and len(lines) == 1, (end, lines)
            # no replies to a "MAIL", "RCPT", "DATA" are waiting
            assert_alive(c)
        new = set(queued()) - before
        assert len(new) == 1, (end, new)
        env, msg = queued()[new.pop()]
        assert [l for l in env if l.startswith("R")] == ["Rdemo@example.test"], env
        assert msg.endswith(b"\nSubject: smuggle\n\nx\n\n"
                            b"MAIL FROM:<evil@example.org>\nRCPT TO:<alice@example.test>\n"
                            b"DATA\nSubject: smuggled\n\nevil\n"), (end, msg)


def test_long_line():
    limit = 1000   # smtpd_max_line_length default, with CRLF
    ok = b"Subject: long\r\n\r\n" + b"a" * (limit - 2) + b"\r\n"
    with session() as c:
        code, lines = send_mail(c, ok)
        assert code == 250, lines
    refused(b"Subject: long\r\n\r\n" + b"a" * (limit - 1) + b"\r\n",
            "554 5.6.0 Error: message has a line longer than 1000 octets")
    # an over-long line right before the final dot still ends the data
    refused(b"Subject: long\r\n\r\n" + b"b" * 5000 + b"\r\n", "554 5.6.0 ")


def test_message_too_big():
    big = b"Subject: big\r\n\r\n" + (b"x" * 98 + b"\r\n") * (SIZE_LIMIT // 100 + 5)
    refused(big, "552 5.3.4 ")


def test_too_many_hops():
    ok = b"".join(b"Received: from h%d by h%d\r\n" % (i, i) for i in range(MAX_HOPS - 1))
    with session() as c:
        code, lines = send_mail(c, ok + b"Subject: hops\r\n\r\nReceived: body\r\n")
        assert code == 250, lines
    refused(ok + b"received : from x\r\n\tby y\r\nSubject: hops\r\n\r\nx\r\n",
            "554 5.4.6 ")


def test_enqueue_failures():
    for name, want in (("fail_perm", "554 5.3.0 Error: message refused by policy"),
                       ("fail_temp", "451 4.3.0 Error: disk full")):
        flag = os.path.join(FAKEQ, name)
        open(flag, "w").close()
        try:
            with session() as c:
                code, lines = send_mail(c, b"Subject: fail\r\n\r\nx\r\n")
                assert lines[0].startswith(want), lines
                assert_alive(c)
        finally:
            os.unlink(flag)


def _gone(pid):
    """pid has exited (a zombie holds no pipe any more)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_bdat_451_when_enqueue_died():
    """A chunk written to a tern-enqueue that has died gets 451 at once,
    not 250 (RFC 3030 2: the client stops sending chunks)."""
    flag, died = os.path.join(FAKEQ, "die_early"), os.path.join(FAKEQ, "died")
    open(flag, "w").close()
    before = set(queued())
    try:
        with session() as c:
            assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
            assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
            # small: it stays in tern-smtpd's buffer, nothing is written
            c.send(b"BDAT 12\r\nSubject: x\r\n")
            assert c.reply()[0] == 250
            pid = int(harness.wait_for(
                lambda: os.path.exists(died) and open(died).read(),
                what="the fake tern-enqueue to die"))
            harness.wait_for(lambda: _gone(pid), what="pid %d to exit" % pid)
            chunk = (b"y" * 98 + b"\r\n") * 700   # over ENQ_CHUNK_MAX
            c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
            code, lines = c.reply()
            assert code == 451 and lines[0].startswith("451 4.3.0 "), lines
            # the transaction is gone: a further chunk gets 503
            c.send(b"BDAT 3 LAST\r\nabc")
            assert c.reply()[0] == 503
            assert_alive(c)
    finally:
        os.unlink(flag)
        if os.path.exists(died):
            os.unlink(died)
    assert set(queued()) == before


def test_rebuilt_map_seen_by_next_command():
    """Maps are looked at once a command batch: a table rebuilt while the
    session waits is in force for the client's next command."""
    with session() as c:
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<newalias@example.test>")[0] == 550
        I.aliases["newalias@example.test"] = "demo@example.test"
        try:
            I.write_aliases()
            assert c.cmd("RCPT TO:<newalias@example.test>")[0] == 250
            # pipelined in one batch: both see the same table
            c.send("RCPT TO:<alice@example.test>\r\nRCPT TO:<newalias@example.test>\r\n")
            assert c.reply()[0] == 250 and c.reply()[0] == 250
        finally:
            del I.aliases["newalias@example.test"]
            I.write_aliases()
        assert c.cmd("RCPT TO:<newalias@example.test>")[0] == 550
        assert_alive(c)


def test_eof_in_data_queues_nothing():
    before = set(queued())
    c = session()
    assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: cut\r\n\r\npartial\r\n")
    c.sock.shutdown(socket.SHUT_WR)
    assert c.f.read() == b""
    c.close()
    time.sleep(0.3)
    assert set(queued()) == before


# ------------------------------------------------------------- limits

def test_bare_lf_command_accepted():
    with SMTPRaw(PORT) as c:
        c.send("EHLO client.example.org\n")
        assert c.reply()[0] == 250
        c.send("NOOP\n")
        assert c.reply()[0] == 250


def test_command_line_too_long():
    with session() as c:
        code, lines = c.cmd("NOOP " + "x" * 2100)
        assert lines == ["500 5.5.2 Error: line too long"], lines
        # whatever the verb, known or not
        code, lines = c.cmd("FOO " + "x" * 3000)
        assert lines == ["500 5.5.2 Error: line too long"], lines
        assert_alive(c)
        # within the limit (512 + what SIZE, BODY, DSN, SMTPUTF8 and
        # AUTH= add: 2048 in all)
        code, lines = c.cmd("NOOP " + "x" * 2000)
        assert code == 250
        # over even the AUTH limit of RFC 4954 (12288)
        code, lines = c.cmd("NOOP " + "x" * 13000)
        assert lines == ["500 5.5.2 Error: line too long"], lines
        assert_alive(c)


def test_too_many_errors():
    with session() as c:
        for i in range(MAX_ERRORS - 1):
            assert c.cmd("BOGUS %d" % i)[0] == 500
        c.send("BOGUS last\r\n")
        assert c.reply()[0] == 500
        assert c.reply() == (421, ["421 4.7.0 mx.example.test Error: too many errors"])
        assert c.f.read() == b""


def test_timeout():
    with session() as c:
        t0 = time.monotonic()
        code, lines = c.reply()
        dt = time.monotonic() - t0
        assert lines == ["421 4.4.2 mx.example.test Error: timeout exceeded"], lines
        assert TIMEOUT - 0.5 < dt < TIMEOUT + 3, dt
        assert c.f.read() == b""


def test_swaks():
    swaks = harness.need_tool("swaks")
    r = subprocess.run([swaks, "--server", "127.0.0.1:%d" % PORT, "--pipeline",
                        "--to", "demo@example.test", "--from", "s@example.org",
                        "--helo", "client.example.org", "--body", "via swaks"],
                       capture_output=True, timeout=30)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out[-1500:]
    m = re.search(r"queued as ([0-9A-F]{20})", out)
    assert m, out[-1500:]
    assert b"via swaks" in queued()[m.group(1)][1]
