"""
Local address canonicalisation and classic aliases (issue: DEMO@ lost in
mail/example.test/DEMO/).  Every spelling of demo's address (case of the
local part and of the domain, a trailing dot, a +tag) reaches demo's one
Maildir and no other mailbox directory is made; SMTP AUTH and POP3 logins
as DEMO@Example.Test work and read that mailbox; classic /etc/aliases
lines ("root: demo@example.test", a bare local part meaning every local
domain) deliver; the alias log line names its targets and the queue id
of a forwarded copy; tern-rules log lines carry the queue id.
"""
import base64
import os
import re

import harness
import maildir_util as mu
import pop3_util as pu
import smtpd_util as U
from harness import message

I = None
MX = None
POP = None
DEMO = "demo@example.test"


def setup():
    global I, MX, POP
    aliases = dict(harness.ALIASES)
    aliases.update({
        "root": "demo@example.test",      # classic: every local domain
        "MAILER-DAEMON": "postmaster",    # bare target: the looked-up domain
        "fwd@example.test": "demo, someone@remote.example",
    })
    I = harness.Instance(name="addrcanon", aliases=aliases)
    # the forwarded copy must stay queued: a closed port, never DNS
    I.write_etc("routes", "* [127.0.0.1]:%d\n" % harness.free_port())
    I.map("routes")
    I.start()
    MX = U.listen(I)
    POP = pu.pop3_port(I)


def marker(what):
    return "%s-%d" % (what, harness.free_port())


def send(rcpts, subject, sender="sender@example.org"):
    """One message to rcpts over SMTP; its queue id."""
    with U.raw(MX) as c:
        U.ehlo(c)
        code, lines = c.cmd("MAIL FROM:<%s>" % sender)
        assert code == 250, lines
        for r in rcpts:
            code, lines = c.cmd("RCPT TO:<%s>" % r)
            assert code == 250, (r, lines)
        code, lines = c.cmd("DATA")
        assert code == 354, lines
        c.send(message(subject, to=rcpts[0]) + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        return U.qid_of(lines)


def qlog():
    with open(I.path("log", "queue.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def maildirs():
    """Every Maildir (a directory with new/) below mail/, relative."""
    root = I.path("mail")
    out = set()
    for d, subs, _ in os.walk(root):
        if "new" in subs and "cur" in subs:
            out.add(os.path.relpath(d, root))
    return out


def make_folder(addr, name):
    md = pu.make_maildir(I, addr)
    f = os.path.join(md, "." + name)
    for p in (f, os.path.join(f, "new"), os.path.join(f, "cur"),
              os.path.join(f, "tmp")):
        if not os.path.isdir(p):
            os.mkdir(p, 0o700)
            mu.chown_owner(p)


def test_spellings_reach_the_one_maildir():
    make_folder(DEMO, "Lists")
    spellings = ["DEMO@example.test", "demo@EXAMPLE.TEST.", "Demo+x@Example.Test",
                 "\"Demo\"@Example.Test"]
    marks = {}
    for sp in spellings:
        marks[sp] = marker("spelling")
        send([sp], marks[sp])
    # a +tag naming a folder that exists selects it, whatever its case
    tagged = marker("tagged")
    send(["DEMO+lists@Example.Test."], tagged)
    for sp in spellings:
        _, data = I.wait_for_message(DEMO, marks[sp])
        # Delivered-To keeps the recipient as given (canonical domain)
        assert b"\nDelivered-To: " in harness.lf(data)
    I.wait_for_message(DEMO, tagged, folder="Lists")
    assert I.find_message(DEMO, tagged) is None
    # nothing anywhere else: no mail/example.test/DEMO/, no EXAMPLE.TEST/
    assert maildirs() == {"example.test/demo/Maildir",
                          "example.test/demo/Maildir/.Lists"}, maildirs()
    assert sorted(os.listdir(I.path("mail"))) == ["example.test"]
    assert sorted(os.listdir(I.path("mail", "example.test"))) == ["demo"]


def test_smtp_auth_with_another_spelling():
    for user in ("DEMO@Example.Test", "Demo@EXAMPLE.TEST."):
        with U.raw(MX) as c:
            U.ehlo(c)
            t = U.starttls(c, I)
            U.ehlo(t)
            code, lines = U.auth_plain(t, user, "demo")
            assert code == 235, (user, lines)
            # the authenticated user owns demo's address in any spelling
            code, lines = t.cmd("MAIL FROM:<DEMO@example.test>")
            assert code == 250, lines
            t.cmd("QUIT")
    # a wrong password stays wrong in every spelling
    with U.raw(MX) as c:
        U.ehlo(c)
        t = U.starttls(c, I)
        U.ehlo(t)
        code, lines = U.auth_plain(t, "DEMO@Example.Test", "wrong")
        assert code == 535, lines


def test_pop3_login_with_another_spelling_reads_demos_maildir():
    m = marker("pop3")
    send(["Demo@Example.Test."], m)
    I.wait_for_message(DEMO, m)
    n = len(I.mail_files(DEMO))
    with pu.POP3Raw(POP, I) as c:
        c.stls()
        c.login("DEMO@Example.Test", "demo")
        r = c.cmd("STAT")
        assert r.startswith("+OK %d " % n), (r, n)
        found = False
        for i in range(1, n + 1):
            assert c.cmd("RETR %d" % i).startswith("+OK")
            if m.encode() in c.body():
                found = True
        assert found
        assert c.cmd("QUIT").startswith("+OK")
    # AUTH PLAIN too
    token = base64.b64encode(b"\0Demo@EXAMPLE.TEST.\0demo").decode()
    with pu.POP3Raw(POP, I) as c:
        c.stls()
        r = c.cmd("AUTH PLAIN " + token)
        assert r.startswith("+OK"), r
        r = c.cmd("STAT")
        assert r.startswith("+OK %d " % n), (r, n)
        c.cmd("QUIT")
    assert sorted(os.listdir(I.path("mail", "example.test"))) == ["demo"]


def test_classic_aliases():
    m1, m2, m3 = marker("root"), marker("rootlocal"), marker("daemon")
    send(["root@example.test"], m1)
    send(["ROOT@localhost."], m2)
    # a bare target is qualified with the domain looked up:
    # mailer-daemon@example.test -> postmaster@example.test -> demo
    send(["Mailer-Daemon@Example.Test"], m3)
    I.wait_for_message(DEMO, m1)
    I.wait_for_message(DEMO, m2)
    I.wait_for_message(DEMO, m3)


def test_alias_log_names_targets_and_forward_qid():
    m = marker("fwd")
    qid = send(["fwd@example.test"], m)
    I.wait_for_message(DEMO, m)
    pat = re.compile(r"%s alias from=<fwd@example\.test> "
                     r"to=<demo@example\.test>,<someone@remote\.example> "
                     r"forward_qid=([0-9A-F]{20})" % qid)
    found = harness.wait_for(lambda: pat.search(qlog()), 10,
                             what="the alias log line", info=I.diagnostics)
    fwd = found.group(1)
    assert fwd != qid
    # the forwarded copy is in the queue, for the remote target
    assert fwd in I.queue_list(), I.queue_list()
    # an alias without a remote target: no forward_qid
    qid2 = send(["root@example.test"], marker("noforward"))
    line = harness.wait_for(
        lambda: re.search(r"%s alias from=<root@example\.test> [^\n]*" % qid2,
                          qlog()), 10, what="the root alias line")
    assert line.group(0).endswith("to=<demo@example.test>"), line.group(0)


def test_rules_log_lines_carry_the_queue_id():
    md = pu.make_maildir(I, DEMO)
    p = os.path.join(md, "tern-rules")
    with open(p, "w") as f:
        f.write("this is not a rule\n")
    if harness.IS_ROOT:
        st = os.stat(md)
        os.chown(p, st.st_uid, st.st_gid)
    try:
        m = marker("rules")
        qid = send([DEMO], m)
        I.wait_for_message(DEMO, m)
        want = re.compile(r"%s \S*/Maildir/tern-rules:1: not a rule, skipped"
                          % qid)
        harness.wait_for(lambda: want.search(qlog()), 10, what=want.pattern,
                         info=lambda: qlog()[-2000:])
    finally:
        os.unlink(p)


def test_spellings_of_one_recipient_get_one_copy():
    # DEMO@ and demo@ reach one mailbox: in one transaction they are one
    # recipient, so the mailbox gets the message once
    m = marker("onecopy")
    qid = send(["demo@example.test", "DEMO@Example.Test", "Demo@example.test."], m)
    I.wait_for_message(DEMO, m)
    harness.wait_for(lambda: ("%s done" % qid) in qlog(), 10,
                     what="the message leaving the queue")
    md = I.path("mail", "example.test", "demo", "Maildir")
    hits = 0
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(md, sub)):
            with open(os.path.join(md, sub, name), "rb") as f:
                if m.encode() in f.read():
                    hits += 1
    assert hits == 1, hits
