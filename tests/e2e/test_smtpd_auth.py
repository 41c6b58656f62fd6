"""
tern-smtpd SMTP AUTH (RFC 4954) and submission (RFC 6409): PLAIN and
LOGIN with swaks and by hand, relaying to an external address only after
TLS and AUTH (the message stays queued: nothing leaves the machine), 538
for passwords without TLS, 535 5.7.8 for a bad password with the delay
and the failure limit, 530 before AUTH on a submission listener, and the
sender check of authenticated sessions.
"""
import base64
import re
import subprocess
import time

import harness
import smtpd_util as U

I = None
MX = None
SUB = None
DELAY = 1


def setup():
    global I, MX, SUB
    I = harness.Instance(conf={"auth_fail_delay": str(DELAY),
                               "auth_max_failures": "3"}, name="smtpdauth")
    # should a tern-remote try the external mail: a closed port on
    # loopback, never DNS
    I.write_etc("routes", "* [127.0.0.1]:%d\n" % harness.free_port())
    I.map("routes")
    I.start()
    MX = U.listen(I)
    SUB = U.listen(I, "submission")


def tls_session(port=None):
    c = U.raw(port or MX)
    U.ehlo(c)
    t = U.starttls(c, I)
    U.ehlo(t)
    return t


def set_conf(**kv):
    I.conf.update({k: str(v) for k, v in kv.items()})
    I.write_conf()


def test_relay_only_after_tls_and_auth():
    rcpt = "someone-%d@remote.example" % harness.free_port()
    # no TLS, no AUTH: relay denied
    code, out = U.swaks(MX, "--to", rcpt, "--from", "alice@example.test")
    assert code != 0 and "554 5.7.1 <%s>: Relay access denied" % rcpt in out, out[-1500:]
    # TLS without AUTH: still denied
    code, out = U.swaks(MX, "--tls", "--to", rcpt, "--from", "alice@example.test")
    assert code != 0 and "554 5.7.1" in out, out[-1500:]
    # bad password: 535 5.7.8, nothing sent
    code, out = U.swaks(MX, "--tls", "--auth", "PLAIN", "--auth-user",
                      "alice@example.test", "--auth-password", "wrong",
                      "--to", rcpt, "--from", "alice@example.test")
    assert code != 0 and "535 5.7.8" in out, out[-1500:]
    # TLS + AUTH PLAIN and LOGIN: accepted
    for mech in ("PLAIN", "LOGIN"):
        code, out = U.swaks(MX, "--tls", "--auth", mech, "--auth-user",
                          "alice@example.test", "--auth-password", "alice",
                          "--to", rcpt, "--from", "alice@example.test")
        assert code == 0, out[-2000:]
        assert "235 2.7.0 Authentication successful" in out, out[-2000:]
    # it stays in the queue (nothing leaves the machine)
    listing = I.queue_list()
    assert listing.count(rcpt) >= 2, listing


def test_plaintext_auth_refused():
    with U.raw(MX) as c:
        kw = U.ehlo(c)
        assert not any(k.startswith("AUTH") for k in kw), kw
        code, lines = U.auth_plain(c, "alice@example.test", "alice")
        assert lines == ["538 5.7.11 Error: encryption required for "
                         "authentication (use STARTTLS)"], lines
        assert c.cmd("AUTH LOGIN")[0] == 538


def test_plaintext_auth_when_allowed():
    set_conf(allow_plaintext_auth="yes")
    try:
        with U.raw(MX) as c:
            assert "AUTH PLAIN LOGIN" in U.ehlo(c)
            assert U.auth_plain(c, "alice@example.test", "alice")[0] == 235
    finally:
        set_conf(allow_plaintext_auth="no")


def test_sasl_dialogues():
    with tls_session() as c:
        # PLAIN without initial response: empty challenge "334 "
        assert c.cmd("AUTH PLAIN") == (334, ["334 "])
        assert c.cmd("*") == (501, ["501 5.0.0 Authentication cancelled"])
        assert c.cmd("AUTH PLAIN") == (334, ["334 "])
        assert c.cmd("not base64!")[1] == ["501 5.5.2 Error: cannot decode response"]
        # an authzid other than the user (no proxy authorisation)
        tok = base64.b64encode(b"demo@example.test\0alice@example.test\0alice")
        assert c.cmd("AUTH PLAIN " + tok.decode())[0] == 501
        assert c.cmd("AUTH CRAM-MD5")[1] == \
            ["504 5.5.4 Error: unrecognized authentication type"]
        assert c.cmd("AUTH")[0] == 501
        # LOGIN with the user name as initial response
        user = base64.b64encode(b"alice@example.test").decode()
        assert c.cmd("AUTH LOGIN " + user) == (334, ["334 UGFzc3dvcmQ6"])
        assert c.cmd(base64.b64encode(b"alice").decode())[0] == 235
        assert c.cmd("AUTH PLAIN")[1] == ["503 5.5.1 Error: already authenticated"]
    with tls_session() as c:
        assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 250
        assert c.cmd("AUTH PLAIN")[1] == \
            ["503 5.5.1 Error: AUTH not permitted during a mail transaction"]


def test_failures_delayed_then_421():
    with tls_session() as c:
        for i in range(2):
            t0 = time.monotonic()
            code, lines = U.auth_plain(c, "alice@example.test", "bad%d" % i)
            assert lines == ["535 5.7.8 Authentication credentials invalid"], lines
            assert time.monotonic() - t0 >= DELAY - 0.05
        c.send("AUTH PLAIN %s\r\n" % "AGFsaWNlQGV4YW1wbGUudGVzdABiYWQ=")
        assert c.reply()[0] == 535
        assert c.reply() == (421, ["421 4.7.0 mx.example.test Error: too many "
                                   "authentication failures"])
    log = U.smtpd_log(I)
    assert re.search(r"auth-fail ip=127\.0\.0\.1 mech=PLAIN "
                     r"user=alice@example\.test failures=1", log), log[-1500:]
    assert "bad0" not in log and "bad1" not in log   # passwords never logged


def test_submission_needs_auth():
    with U.raw(SUB) as c:
        kw = U.ehlo(c)
        assert "STARTTLS" in kw, kw
        for cmd in ("MAIL FROM:<alice@example.test>", "RCPT TO:<demo@example.test>",
                    "DATA", "VRFY demo"):
            assert c.cmd(cmd)[1] == ["530 5.7.0 Error: authentication required"], cmd
        assert c.cmd("NOOP")[0] == 250
        assert c.cmd("RSET")[0] == 250
        # BDAT: 530, and its chunk is read, not taken for commands
        c.send("BDAT 6 LAST\r\nNOOP\r\n")
        assert c.reply()[1] == ["530 5.7.0 Error: authentication required"]
        assert c.cmd("NOOP")[0] == 250
        t = U.starttls(c, I)
        U.ehlo(t)
        assert U.auth_plain(t, "alice@example.test", "alice")[0] == 235
        assert t.cmd("MAIL FROM:<alice@example.test>")[0] == 250
        assert t.cmd("RCPT TO:<x@remote.example>")[0] == 250


def test_sender_must_belong_to_user():
    with tls_session(SUB) as c:
        assert U.auth_plain(c, "Alice@Example.TEST", "alice")[0] == 235
        code, lines = c.cmd("MAIL FROM:<demo@example.test>")
        assert lines == ["553 5.7.1 <demo@example.test>: Sender address "
                         "rejected: not owned by user alice@example.test"], lines
        assert c.cmd("MAIL FROM:<alice@elsewhere.example>")[0] == 553
        assert c.cmd("MAIL FROM:<alicex@example.test>")[0] == 553
        for ok in ("alice@example.test", "ALICE@example.test",
                   "alice+lists@example.test", ""):
            assert c.cmd("MAIL FROM:<%s>" % ok)[0] == 250, ok
            assert c.cmd("RSET")[0] == 250
    set_conf(smtpd_sender_check="no")
    try:
        with tls_session(SUB) as c:
            assert U.auth_plain(c, "alice@example.test", "alice")[0] == 235
            assert c.cmd("MAIL FROM:<demo@example.test>")[0] == 250
    finally:
        set_conf(smtpd_sender_check="yes")


def test_received_esmtpsa_and_delivery():
    m = "sub-%d" % harness.free_port()
    with tls_session(SUB) as c:
        assert U.auth_plain(c, "alice@example.test", "alice")[0] == 235
        assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 250
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send("Subject: %s\r\n\r\nhi\r\n.\r\n" % m)
        assert c.reply()[0] == 250
    _, data = I.wait_for_message("demo@example.test", m)
    assert "with ESMTPSA id" in dict(harness.headers_of(data))["received"]


def test_man_page_swaks_example():
    """The swaks line of tern-smtpd(8)'s "Tests by hand" works as written
    (only the port is ours): a submission needs --from, or the null
    sender gets 553 from the sender check."""
    import os
    import shlex
    man = os.path.join(harness.HERE, "..", "..", "man", "tern-smtpd.8")
    with open(man) as f:
        text = f.read()
    # the example's lines, joined where they end in "\e" (a backslash)
    cmd = ""
    for l in text[text.index("\nswaks ") + 1:].split("\n"):
        if not l.endswith("\\e"):
            cmd += l
            break
        cmd += l[:-2] + " "
    args = shlex.split(cmd)
    assert args[0] == "swaks" and args[1:3] == ["--server", "127.0.0.1:587"], args
    args[0] = harness.need_tool("swaks")
    args[2] = "127.0.0.1:%d" % SUB
    r = subprocess.run(args, capture_output=True, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out[-1500:]
    assert re.search(r"<~\s+250 2\.0\.0 Ok: queued as", out), out[-1500:]  # ~: TLS
