"""
tern-smtpd protocol extensions and limits: CHUNKING/BDAT (RFC 3030),
SMTPUTF8 (RFC 6531) with python's smtplib delivering to a UTF-8 address,
DSN parameters (RFC 3461) recorded in the queue file, and the session
limits (commands, session time, data timeout).
"""
import smtplib
import time

import harness
import smtpd_util as U

I = None
MX = None
TRUSTED = None
UTF8_USER = "jös\u00e9@example.test"


def setup():
    global I, MX, TRUSTED
    users = dict(harness.USERS)
    users[UTF8_USER] = "utf8"
    I = harness.Instance(conf={"smtpd_max_commands": "40",
                               "message_size_limit": "1M",
                               "smtpd_data_timeout": "2",
                               "smtpd_max_errors": "100"},
                         users=users, name="smtpdext")
    I.write_etc("routes", "* [127.0.0.1]:%d\n" % harness.free_port())
    I.map("routes")
    I.start()
    MX = U.listen(I)
    TRUSTED = U.listen(I, rules='127.0.0.1:allow,RELAYCLIENT=""\n')


def session(port=None):
    c = U.raw(port or MX)
    U.ehlo(c)
    return c


# ------------------------------------------------------------ BDAT

def test_bdat_chunks():
    m = "bdat-%d" % harness.free_port()
    part1 = ("Subject: %s\r\nX-Chunk: one\r\n\r\nline one\r\nsplit " % m).encode()
    part2 = b"line\r\n.not stuffed\r\n\xc3\xa9 8bit\r\n"
    with session() as c:
        assert "CHUNKING" in U.ehlo(c)
        # pipelined: MAIL, RCPT and two chunks in one write
        c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<demo@example.test>\r\n"
               b"BDAT %d\r\n" % len(part1) + part1 +
               b"BDAT %d LAST\r\n" % len(part2) + part2)
        assert c.reply()[0] == 250
        assert c.reply()[0] == 250
        assert c.reply() == (250, ["250 2.0.0 Ok: %d octets received" % len(part1)])
        code, lines = c.reply()
        assert code == 250 and "queued as" in lines[0], lines
        assert c.cmd("NOOP")[0] == 250
    _, data = I.wait_for_message("demo@example.test", m)
    body = data.split(b"\n\n", 1)[1]
    assert body == b"line one\nsplit line\n.not stuffed\n\xc3\xa9 8bit\n", body


def test_bdat_line_limit_as_data():
    # smtpd_max_line_length (1000) counts the text and a CR LF, whatever
    # line end came: a bare-LF line of 999 text bytes is too long in BDAT
    # as in DATA, one of 998 fits
    for text, ok in ((998, True), (999, False)):
        m = "bdat-len-%d-%d" % (text, harness.free_port())
        chunk = ("Subject: %s\r\n\r\n" % m).encode() + b"x" * text + b"\n"
        with session() as c:
            c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<demo@example.test>\r\n"
                   b"BDAT %d LAST\r\n" % len(chunk) + chunk)
            assert c.reply()[0] == 250
            assert c.reply()[0] == 250
            code, lines = c.reply()
            assert (code == 250) == ok, (text, code, lines)
        if ok:
            I.wait_for_message("demo@example.test", m)
        # and DATA says the same
        m2 = m + "-data"
        with session() as c:
            assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
            assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(("Subject: %s\r\n\r\n" % m2).encode() + b"x" * text + b"\n\r\n.\r\n")
            code, lines = c.reply()
            assert (code == 250) == ok, ("data", text, code, lines)


def test_bdat_empty_last_and_errors():
    with session() as c:
        # out of sequence: 503, and the chunk is still read
        c.send("BDAT 10\r\n0123456789NOOP\r\n")
        assert c.reply()[1] == ["503 5.5.1 Error: need MAIL command"]
        assert c.reply()[0] == 250
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        c.send("BDAT 4\r\nab\r\n")
        assert c.reply()[1] == ["503 5.5.1 Error: need RCPT command"]
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
        c.send("BDAT 11\r\nSubject: \r\nBDAT 0 LAST\r\n")
        assert c.reply()[0] == 250
        code, lines = c.reply()
        assert code == 250 and "queued as" in lines[0], lines
        # DATA after BDAT in one transaction: 503
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
        c.send("BDAT 3\r\nabc")
        assert c.reply()[0] == 250
        assert c.cmd("DATA")[1] == ["503 5.5.1 Error: DATA after BDAT"]
        # a bare LF is a line end, as in DATA
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
        c.send("BDAT 5 LAST\r\na\nb\r\n")
        code, lines = c.reply()
        assert code == 250 and "queued as" in lines[0], lines
        # a bare CR is refused at once; later chunks get 503
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
        c.send("BDAT 5\r\na\rb\r\n")
        assert c.reply()[0] == 554
        c.send("BDAT 3 LAST\r\nxyz")
        assert c.reply()[0] == 503
        assert c.cmd("NOOP")[0] == 250
        # a size we cannot read: 501 and the end
        c.send("BDAT lots\r\n")
        assert c.reply()[0] == 501
        assert c.f.read() == b""


def test_bdat_size_limit():
    big = 2 * 1024 * 1024
    with session() as c:
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
        c.send(b"BDAT %d LAST\r\n" % big)
        chunk = b"x" * 998 + b"\r\n"
        for _ in range(big // len(chunk)):
            c.send(chunk)
        c.send(b"y" * (big % len(chunk)))
        assert c.reply()[0] == 552


# ------------------------------------------------------------ SMTPUTF8

def test_smtplib_smtputf8_delivers():
    m = "utf8-%d" % harness.free_port()
    msg = ("From: =?utf-8?q?Jos=C3=A9?= <s@example.org>\r\nTo: %s\r\n"
           "Subject: %s caf\u00e9\r\n\r\nol\u00e9\r\n" % (UTF8_USER, m)).encode()
    with smtplib.SMTP("127.0.0.1", MX, local_hostname="client.example.org",
                      timeout=10) as s:
        s.ehlo()
        assert s.has_extn("smtputf8")
        refused = s.sendmail("s\u00e9nder@example.org", [UTF8_USER], msg,
                             mail_options=["SMTPUTF8"])
        assert refused == {}, refused
    _, data = I.wait_for_message(UTF8_USER, m)
    assert "caf\u00e9".encode() in data
    assert "Delivered-To: %s" % UTF8_USER in data.decode()
    assert "with UTF8SMTP id" in dict(harness.headers_of(data))["received"]


def test_utf8_address_needs_smtputf8():
    with session() as c:
        c.send("MAIL FROM:<s\u00e9@example.org>\r\n".encode())
        assert c.reply()[1] == ["553 5.6.7 Error: non-ASCII address needs SMTPUTF8"]
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        c.send("RCPT TO:<%s>\r\n" % UTF8_USER, )
        assert c.reply()[0] == 553
        c.send(b"RCPT TO:<\xc3\x28@example.test>\r\n")   # not UTF-8
        assert c.reply()[0] == 501
    with session() as c:
        c.send(b"MAIL FROM:<s@example.org> SMTPUTF8\r\n"
               b"RCPT TO:<\xff@example.test>\r\n")
        assert c.reply()[0] == 250
        assert c.reply()[0] == 501


# ------------------------------------------------------------ DSN

def test_dsn_parameters_recorded():
    with session(TRUSTED) as c:
        assert "DSN" in U.ehlo(c)
        assert c.cmd("MAIL FROM:<s@example.org> RET=HDRS ENVID=QQ+2B314 "
                     "AUTH=<>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test> NOTIFY=failure,delay "
                     "ORCPT=rfc822;Demo@Example.TEST")[0] == 250
        assert c.cmd("RCPT TO:<x@remote.example> NOTIFY=NEVER")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send("Subject: dsn\r\n\r\nx\r\n.\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        qid = U.qid_of(lines)
        # bad values
        assert c.cmd("MAIL FROM:<s@example.org> RET=ALL")[0] == 501
        assert c.cmd("MAIL FROM:<s@example.org> ENVID=a=b")[0] == 501
        assert c.cmd("MAIL FROM:<s@example.org> ENVID=" + "x" * 101)[0] == 501
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test> NOTIFY=NEVER,DELAY")[0] == 501
        assert c.cmd("RCPT TO:<demo@example.test> ORCPT=rfc822")[0] == 501
    # the remote recipient keeps the message in the queue
    env = U.queue_file(I, qid)
    assert "EQQ+2B314" in env and "WHDRS" in env, env
    i = env.index("Rdemo@example.test")
    assert env[i + 1:i + 3] == ["NFAILURE,DELAY", "Orfc822;Demo@Example.TEST"], env
    j = env.index("Rx@remote.example")
    assert env[j + 1] == "NNEVER", env


# ------------------------------------------------------------ limits

def test_command_limit():
    with U.raw(MX) as c:
        for _ in range(39):
            c.send("NOOP\r\n")
        for _ in range(39):
            assert c.reply()[0] == 250
        c.send("NOOP\r\n")
        assert c.reply()[0] == 250
        assert c.reply() == (421, ["421 4.7.0 mx.example.test Error: too many "
                                   "commands"])


def test_data_timeout():
    with session() as c:
        assert c.cmd("MAIL FROM:<s@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send("Subject: slow\r\n")
        t0 = time.monotonic()
        assert c.reply() == (421, ["421 4.4.2 mx.example.test Error: timeout "
                                   "exceeded"])
        assert 1.5 < time.monotonic() - t0 < 5


def test_session_time_limit():
    I.conf["smtpd_max_session_time"] = "2"
    I.write_conf()
    try:
        with session() as c:
            t0 = time.monotonic()
            code, lines = c.reply()   # we say nothing: the limit ends it
            assert lines == ["421 4.4.2 mx.example.test Error: session time "
                             "limit exceeded"], lines
            assert time.monotonic() - t0 < 4
    finally:
        I.conf["smtpd_max_session_time"] = "3600"
        I.write_conf()
