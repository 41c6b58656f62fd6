"""
tern-smtpd relay control and spam defences: the open-relay battery, the
access map at each stage, DNS block lists against a dnsmasq on loopback
(reject with the listed reason, RELAYCLIENT exempt, mark mode filed into
Junk by tern-deliverd), the early-talker check, and the per-user rules
file of tern-deliverd (block, discard, safe).
"""
import os
import re
import time

import harness
import smtpd_util as U

I = None
MX = None           # plain MX listener
TRUSTED = None      # RELAYCLIENT for 127.0.0.2 (tcprules)
DNS = None
ZONE = "zen.test"
REASON = "Listed by the tern test zone; see https://zen.test/lookup"


def setup():
    global I, MX, TRUSTED, DNS
    # the battery makes many errors in one session
    I = harness.Instance(conf={"smtpd_max_errors": "1000"}, name="smtpdpol")
    DNS = U.DNS(ZONE, [("2.0.0.127." + ZONE, "127.0.0.2", REASON),
                       # a block list "error" answer: never a listing
                       ("3.0.0.127." + ZONE, "127.255.255.254", None)],
                I.path("log", "dnsmasq.log"))
    I.conf.update({"dnsbl_zones": ZONE, "dns_servers": "127.0.0.1:%d" % DNS.port,
                   "dns_timeout": "2"})
    I.write_conf()
    I.write_etc("routes", "* [127.0.0.1]:%d\n" % harness.free_port())
    I.map("routes")
    I.start()
    MX = U.listen(I)
    TRUSTED = U.listen(I, rules='127.0.0.2:allow,RELAYCLIENT=""\n:allow\n')


def teardown():
    if DNS is not None:
        DNS.close()


def set_conf(**kv):
    I.conf.update({k: str(v) for k, v in kv.items()})
    I.write_conf()


def access(text):
    I.write_etc("access", text)
    I.map("access")


def mail(c, sender="s@example.org"):
    code, lines = c.cmd("MAIL FROM:<%s>" % sender)
    assert code == 250, lines


def send(c, rcpt, subject, sender="s@example.org", extra=""):
    """MAIL, RCPT, DATA with a small message: the final reply."""
    mail(c, sender)
    code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
    assert code == 250, lines
    assert c.cmd("DATA")[0] == 354
    c.send("From: <%s>\r\nSubject: %s\r\n%s\r\nbody\r\n.\r\n"
           % (sender, subject, extra))
    return c.reply()


# ------------------------------------------------------------ relay

BATTERY = [
    "user@remote.example",
    "user%remote.example@example.test",
    '"user@remote.example"@example.test',
    "@example.test:user@remote.example",
    "user@remote.example@example.test",
    "remote.example!user@example.test",
    "user@[127.0.0.1]",
    "user@[192.0.2.1]",
    "user@[IPv6:::1]",
    "user%remote.example@localhost",
    "postmaster%remote.example@example.test",
    '"postmaster@remote.example"@example.test',
]


def variants(a):
    """The address, in mixed case, and with trailing dots on the domain."""
    out = [a, a.upper(), a.title()]
    if not a.endswith("]"):
        out.append(a + ".")
        out.append(a.upper() + ".")
    return out


def test_open_relay_battery_refused():
    """Every form, in mixed case and with trailing dots, is refused at
    RCPT; DATA then has no recipient, and nothing is queued."""
    before = I.queue_list()
    with U.raw(MX) as c:
        U.ehlo(c)
        for a in BATTERY:
            for v in variants(a):
                mail(c)
                code, lines = c.cmd("RCPT TO:<%s>" % v)
                assert code in (501, 550, 553, 554), (v, lines)
                assert c.cmd("DATA")[0] in (503, 554), v
                assert c.cmd("RSET")[0] == 250
    assert I.queue_list() == before
    log = U.smtpd_log(I)
    assert "to=<user@remote.example> reply=554 why=relay" in log


def test_access_rules():
    access("127.0.0.3 REJECT your host is not welcome\n"
           "127.0.0.4 DEFER come back later\n"
           "helo:bad.example REJECT no such name\n"
           "from:@spam.example REJECT we do not want it\n"
           "from:defer@example.org DEFER not now\n"
           "to:@relay.example RELAY\n"
           "to:alice@example.test REJECT mailbox closed\n"
           "127.0.0.5 RELAY\n"
           "127.0.0.6 DISCARD\n")
    try:
        with U.raw(MX, "127.0.0.3") as c:
            U.ehlo(c)
            assert c.cmd("MAIL FROM:<a@example.org>")[1] == \
                ["554 5.7.1 Client host rejected: your host is not welcome"]
        with U.raw(MX, "127.0.0.4") as c:
            U.ehlo(c)
            assert c.cmd("MAIL FROM:<a@example.org>")[1] == \
                ["450 4.7.1 Client host rejected: come back later"]
        with U.raw(MX) as c:
            U.ehlo(c, "bad.example")
            assert c.cmd("MAIL FROM:<a@example.org>")[0] == 554
            U.ehlo(c)
            assert c.cmd("MAIL FROM:<x@spam.example>")[1] == \
                ["554 5.7.1 Sender address rejected: we do not want it"]
            assert c.cmd("MAIL FROM:<defer@example.org>")[0] == 450
            mail(c)
            assert c.cmd("RCPT TO:<alice@example.test>")[1] == \
                ["554 5.7.1 Recipient address rejected: mailbox closed"]
            assert c.cmd("RCPT TO:<nobody@example.test>")[0] == 550
            assert c.cmd("RCPT TO:<anyone@relay.example>")[0] == 250
            assert c.cmd("RCPT TO:<anyone@other.example>")[0] == 554
        with U.raw(MX, "127.0.0.5") as c:
            U.ehlo(c)
            mail(c)
            assert c.cmd("RCPT TO:<anyone@other.example>")[0] == 250
        # DISCARD: accepted, answered 250, never queued
        before = I.queue_list()
        with U.raw(MX, "127.0.0.6") as c:
            U.ehlo(c)
            code, lines = send(c, "demo@example.test", "discarded")
            assert lines == ["250 2.0.0 Ok: discarded"], lines
        assert I.queue_list() == before
    finally:
        access("")


# ------------------------------------------------------------ DNSBL

def test_dnsbl_rejects_with_reason():
    with U.raw(MX, "127.0.0.2") as c:
        U.ehlo(c)
        mail(c)
        code, lines = c.cmd("RCPT TO:<demo@example.test>")
        assert lines == ["554 5.7.1 Service unavailable; client [127.0.0.2] "
                         "blocked using %s; %s" % (ZONE, REASON)], lines
        # postmaster is always accepted (RFC 5321 4.5.1)
        assert c.cmd("RCPT TO:<postmaster@example.test>")[0] == 250
    assert re.search(r"dnsbl ip=127\.0\.0\.2 zone=zen\.test action=reject",
                     U.smtpd_log(I))


def test_dnsbl_not_listed_and_error_answers():
    for src in ("127.0.0.1", "127.0.0.3"):
        with U.raw(MX, src) as c:
            U.ehlo(c)
            mail(c)
            assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250, src


def test_dnsbl_skipped_for_relayclient_and_auth():
    with U.raw(TRUSTED, "127.0.0.2") as c:
        U.ehlo(c)
        mail(c)
        assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
    with U.raw(MX, "127.0.0.2") as c:
        U.ehlo(c)
        t = U.starttls(c, I)
        U.ehlo(t)
        assert U.auth_plain(t, "alice@example.test", "alice")[0] == 235
        mail(t, "alice@example.test")
        assert t.cmd("RCPT TO:<demo@example.test>")[0] == 250


def test_dnsbl_mark_mode_files_into_junk():
    set_conf(dnsbl_action="mark")
    try:
        m = "junk-%d" % harness.free_port()
        with U.raw(MX, "127.0.0.2") as c:
            U.ehlo(c)
            # a client's own X-Tern-Spam field is dropped
            code, lines = send(c, "demo@example.test", m,
                               extra="X-Tern-Spam: no\r\n\tfolded\r\n")
            assert code == 250, lines
        _, data = I.wait_for_message("demo@example.test", m, folder="Junk")
        heads = harness.headers_of(data)
        spam = [v for k, v in heads if k == "x-tern-spam"]
        assert spam == ["yes (client [127.0.0.2] listed in zen.test)"], heads
        assert b"folded" not in data
        assert os.path.exists(os.path.join(I.maildir("demo@example.test", "Junk"),
                                           "maildirfolder"))
        # not listed: the inbox, and an incoming "yes" is dropped too
        m2 = "inbox-%d" % harness.free_port()
        with U.raw(MX) as c:
            U.ehlo(c)
            assert send(c, "demo@example.test", m2,
                        extra="X-Tern-Spam: yes\r\n")[0] == 250
        _, data = I.wait_for_message("demo@example.test", m2)
        assert b"X-Tern-Spam" not in data
    finally:
        set_conf(dnsbl_action="reject")


# ------------------------------------------------------------ early talker

def test_early_talker():
    set_conf(smtpd_greet_pause="2")
    try:
        c = U.connect(MX)
        c.sendall(b"EHLO hasty.example\r\n")
        f = c.makefile("rb")
        line = f.readline()
        assert line.startswith(b"554 mx.example.test "), line
        try:
            rest = f.read()
        except ConnectionResetError:   # we left unread input behind
            rest = b""
        assert rest == b"", rest
        c.close()
        # a patient client gets the greeting after the pause
        t0 = time.monotonic()
        with U.raw(MX) as c:
            assert time.monotonic() - t0 >= 1.9
            assert c.banner[0] == 220
        # submission listeners never pause
        sub = U.listen(I, "submission")
        t0 = time.monotonic()
        with U.raw(sub) as c:
            assert time.monotonic() - t0 < 1.5
    finally:
        set_conf(smtpd_greet_pause="0")
    assert "reject stage=connect ip=127.0.0.1 reply=554 why=early" in U.smtpd_log(I)


# ------------------------------------------------------------ per-user rules

def rules_file(addr, text):
    md = I.maildir(addr)
    harness.wait_for(lambda: os.path.isdir(md), 5, what="maildir " + md)
    p = os.path.join(md, "tern-rules")
    with open(p, "w") as f:
        f.write(text)
    if harness.IS_ROOT:
        st = os.stat(md)
        os.chown(p, st.st_uid, st.st_gid)


def test_user_rules_block_discard_safe():
    # make the Maildir exist
    m0 = "first-%d" % harness.free_port()
    with U.raw(MX) as c:
        U.ehlo(c)
        assert send(c, "alice@example.test", m0)[0] == 250
    I.wait_for_message("alice@example.test", m0)
    rules_file("alice@example.test",
               "# alice's rules\n"
               "block   pest@example.org\n"
               "discard @noise.example\n"
               "safe    friend@example.org\n"
               "nonsense line here\n")
    set_conf(dnsbl_action="mark")
    try:
        tags = {}
        for who in ("pest@example.org", "x@noise.example", "friend@example.org",
                    "other@example.org"):
            tags[who] = "%s-%d" % (who.split("@")[0], harness.free_port())
            with U.raw(MX, "127.0.0.2") as c:
                U.ehlo(c)
                assert send(c, "alice@example.test", tags[who], sender=who)[0] == 250
        # safe sender: inbox despite the mark; another: Junk
        I.wait_for_message("alice@example.test", tags["friend@example.org"])
        I.wait_for_message("alice@example.test", tags["other@example.org"],
                           folder="Junk")

        # blocked: a permanent failure (the bounce goes to the sender);
        # discarded: delivered to nowhere
        def qlog():
            with open(I.path("log", "queue.log")) as f:
                return f.read()
        harness.wait_for(lambda: "does not accept mail from this sender" in qlog()
                         and "discarded by the rules" in qlog(), 10,
                         what="the block and discard results", info=I.diagnostics)
        for who in ("pest@example.org", "x@noise.example"):
            assert I.find_message("alice@example.test", tags[who]) is None
            assert I.find_message("alice@example.test", tags[who], "Junk") is None
        assert "tern-rules:5: not a rule" in qlog(), qlog()[-2000:]
    finally:
        set_conf(dnsbl_action="reject")
