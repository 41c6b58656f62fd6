"""
tern-imapd QUOTA (RFC 9208) over the users map's QUOTA column, the limit
tern-deliverd enforces: the capabilities, GETQUOTAROOT/GETQUOTA with the
STORAGE usage in KiB (rounded up, the limit down) counted over INBOX and
every folder, SETQUOTA refused ([CANNOT]), a user without a quota (no
root, GETQUOTA [NONEXISTENT]), APPEND and COPY over the quota refused with
[OVERQUOTA] and nothing added, the exact boundary (CRLF counted as the LF
stored), MOVE never refused, and tern-deliverd and tern-imapd counting
the same usage: one refuses a delivery where the other refuses an APPEND
of one byte more than the room both see.
"""
import os
import re
import shutil

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None
ALICE = "alice@example.test"   # no quota
QUOTA = 10240                  # demo's, bytes: 10 KiB


def setup():
    global I, PORT
    I = harness.Instance(name="imapquotae")
    set_quota(DEMO, QUOTA)
    I.start()
    PORT = iu.imap_port(I, tls=True)


def set_quota(addr, quota):
    I.set_quota(addr, quota)


def session(user=DEMO, password="demo"):
    return iu.session(PORT, I, tls=True, user=user, password=password)


def fresh(addr=DEMO):
    """An empty INBOX without folders."""
    md = iu.empty_maildir(I, addr)
    for f in os.listdir(md):
        if f.startswith(".") and os.path.isdir(os.path.join(md, f)):
            shutil.rmtree(os.path.join(md, f))
    return md


def body(n):
    """A message of exactly n bytes with LF line ends."""
    head = b"From: a@example.org\nSubject: q\n\n"
    assert n >= len(head) + 1
    return head + b"x" * (n - len(head) - 1) + b"\n"


def usage(addr=DEMO):
    """Bytes of the files in new/ and cur/ of the Maildir and its folders,
    measured (not from their names)."""
    md = I.maildir(addr)
    total = 0
    dirs = [md] + [os.path.join(md, f) for f in os.listdir(md)
                   if f.startswith(".") and f not in (".", "..")
                   and os.path.isdir(os.path.join(md, f))]
    for d in dirs:
        for sub in ("new", "cur"):
            p = os.path.join(d, sub)
            if os.path.isdir(p):
                total += sum(os.path.getsize(os.path.join(p, f))
                             for f in os.listdir(p) if not f.startswith("."))
    return total


def files(addr=DEMO, folder=None):
    md = I.maildir(addr, folder)
    return sorted(os.listdir(os.path.join(md, "new")) +
                  os.listdir(os.path.join(md, "cur")) +
                  os.listdir(os.path.join(md, "tmp")))


def kib_up(n):
    return (n + 1023) // 1024


def quota_line(used_bytes, limit=QUOTA):
    return '* QUOTA "" (STORAGE %d %d)' % (kib_up(used_bytes), limit // 1024)


def append(c, box, data):
    """APPEND data (CRLF line ends on the wire) into box: tagged text."""
    wire = data.replace(b"\n", b"\r\n")
    u, t = c.cmd_lit(["APPEND %s" % iu.quote(box), wire, ""])
    return t


# ---------------------------------------------------------------- capabilities

def test_capabilities():
    c = iu.IMAPRaw(PORT, I, tls=True)
    try:
        t = c.login()
        caps = re.search(r"\[CAPABILITY ([^\]]*)\]", t).group(1).split()
        assert "QUOTA" in caps and "QUOTA=RES-STORAGE" in caps, caps
        # the map has no message limit: no MESSAGE resource; no SETQUOTA
        # for clients: no QUOTASET (RFC 9208 3.1, 4.1.3)
        assert "QUOTA=RES-MESSAGE" not in caps and "QUOTASET" not in caps, caps
        assert c.capabilities() == caps
        c.logout()
    finally:
        c.close()


# ---------------------------------------------------------------- GETQUOTA*

def test_getquotaroot_counts_inbox_and_folders():
    fresh()
    iu.put_message(I, DEMO, body(1000))
    iu.put_message(I, DEMO, body(1500), folder="Junk", flags="S")
    # a name without ,S= is measured
    iu.put_message(I, DEMO, body(700), folder="Archive.2024", sizes=False)
    used = 3200
    assert usage() == used
    c = session()
    try:
        u, t = c.cmd("GETQUOTAROOT INBOX")
        assert u == ['* QUOTAROOT INBOX ""', quota_line(used)], u
        assert t == "OK GETQUOTAROOT completed", t
        assert quota_line(used) == '* QUOTA "" (STORAGE 4 10)'
        # any case of inbox is INBOX; every folder has the one root
        u, t = c.cmd("GETQUOTAROOT inbox")
        assert u[0] == '* QUOTAROOT INBOX ""' and t.startswith("OK"), (u, t)
        u, t = c.cmd("GETQUOTAROOT Archive/2024")
        assert u == ['* QUOTAROOT "Archive/2024" ""', quota_line(used)], u
        u, t = c.cmd('GETQUOTA ""')
        assert u == [quota_line(used)] and t == "OK GETQUOTA completed", (u, t)
        u, t = c.cmd("GETQUOTAROOT Nosuch")
        assert u == [] and t == "NO [NONEXISTENT] Mailbox doesn't exist", (u, t)
        u, t = c.cmd('GETQUOTA "User quota"')
        assert u == [] and t == "NO [NONEXISTENT] No such quota root", (u, t)
        # a new message is seen at once (no cache)
        iu.put_message(I, DEMO, body(2000))
        u, t = c.cmd('GETQUOTA ""')
        assert u == [quota_line(used + 2000)], u
        # syntax
        for bad in ("GETQUOTA", "GETQUOTAROOT", "GETQUOTAROOT INBOX x",
                    'GETQUOTA "" x'):
            u, t = c.cmd(bad)
            assert t.startswith("BAD"), (bad, t)
        c.logout()
    finally:
        c.close()


def test_usage_rounds_up():
    fresh()
    iu.put_message(I, DEMO, body(1025))
    c = session()
    try:
        u, t = c.cmd('GETQUOTA ""')
        assert u == ['* QUOTA "" (STORAGE 2 10)'], u
        iu.empty_maildir(I, DEMO)
        u, t = c.cmd('GETQUOTA ""')
        assert u == ['* QUOTA "" (STORAGE 0 10)'], u
        c.logout()
    finally:
        c.close()


def test_setquota_refused():
    c = session()
    try:
        u, t = c.cmd('SETQUOTA "" (STORAGE 100000)')
        assert u == [] and t == "NO [CANNOT] The quota is set by the administrator", t
        u, t = c.cmd('SETQUOTA "" ()')
        assert t.startswith("NO [CANNOT]"), t
        for bad in ('SETQUOTA ""', 'SETQUOTA "" STORAGE 1', 'SETQUOTA "" (STORAGE)',
                    'SETQUOTA "" (STORAGE x)', 'SETQUOTA "" (STORAGE 1'):
            u, t = c.cmd(bad)
            assert t.startswith("BAD"), (bad, t)
        c.logout()
    finally:
        c.close()


def test_user_without_quota():
    fresh(ALICE)
    iu.put_message(I, ALICE, body(5000))
    c = session(ALICE, "alice")
    try:
        u, t = c.cmd("GETQUOTAROOT INBOX")
        assert u == ["* QUOTAROOT INBOX"] and t == "OK GETQUOTAROOT completed", (u, t)
        u, t = c.cmd('GETQUOTA ""')
        assert u == [] and t == "NO [NONEXISTENT] No such quota root", (u, t)
        # and nothing is refused
        t = append(c, "INBOX", body(50000))
        assert t.startswith("OK [APPENDUID"), t
        c.logout()
    finally:
        c.close()


# ---------------------------------------------------------------- APPEND, COPY, MOVE

def test_append_over_quota_refused():
    fresh()
    iu.put_message(I, DEMO, body(4000))
    c = session()
    try:
        c.ok("CREATE Sent")
        before, sent_before = files(), files(folder="Sent")
        u, t = c.cmd("STATUS INBOX (MESSAGES)")
        assert u == ["* STATUS INBOX (MESSAGES 1)"], u
        # 4000 + 6241 > 10240
        t = append(c, "Sent", body(QUOTA - 4000 + 1))
        assert t == "NO [OVERQUOTA] The mailbox is over its quota", t
        t = append(c, "INBOX", body(QUOTA - 4000 + 1))
        assert t.startswith("NO [OVERQUOTA]"), t
        # nothing added, not even in tmp/
        assert files() == before and files(folder="Sent") == sent_before
        u, t = c.cmd("STATUS INBOX (MESSAGES)")
        assert u == ["* STATUS INBOX (MESSAGES 1)"], u
        u, t = c.cmd("STATUS Sent (MESSAGES)")
        assert u == ['* STATUS "Sent" (MESSAGES 0)'], u
        u, t = c.cmd('GETQUOTA ""')
        assert u == [quota_line(4000)], u
        # exactly the room left fits: the CRLFs of the wire count as the
        # LFs stored
        data = body(QUOTA - 4000)
        t = append(c, "Sent", data)
        assert t.startswith("OK [APPENDUID"), t
        assert usage() == QUOTA
        u, t = c.cmd('GETQUOTA ""')
        assert u == ['* QUOTA "" (STORAGE 10 10)'], u
        # full: even the smallest message is refused
        t = append(c, "INBOX", b"Subject: s\n\nx\n")
        assert t.startswith("NO [OVERQUOTA]"), t
        assert usage() == QUOTA
        assert len(iu.log_text(I).split("overquota user=%s" % DEMO)) >= 4
        c.logout()
    finally:
        c.close()


def test_copy_over_quota_refused_move_allowed():
    fresh()
    iu.put_message(I, DEMO, body(3000), flags="")
    iu.put_message(I, DEMO, body(2000), flags="S")
    iu.put_message(I, DEMO, body(1000), flags="")
    c = session()
    try:
        c.ok("CREATE Archive")
        c.select("INBOX")
        # 6000 used; copying 1:2 adds 5000: 11000 > 10240
        arch = files(folder="Archive")
        u, t = c.cmd("COPY 1:2 Archive")
        assert t == "NO [OVERQUOTA] The mailbox is over its quota", t
        u, t = c.cmd("UID COPY 1:* Archive")
        assert t.startswith("NO [OVERQUOTA]"), t
        assert files(folder="Archive") == arch
        assert usage() == 6000
        # 2:3 adds 3000: 9000 fits
        u, t = c.cmd("COPY 2:3 Archive")
        assert t.startswith("OK [COPYUID"), t
        assert usage() == 9000
        u, t = c.cmd("COPY 1 Archive")
        assert t.startswith("NO [OVERQUOTA]"), t
        # a MOVE stays in the quota root: allowed even when full
        iu.put_message(I, DEMO, body(QUOTA - 9000 + 500), folder="Junk")
        u, t = c.cmd('GETQUOTA ""')
        assert u == [quota_line(QUOTA + 500)], u
        u, t = c.cmd("MOVE 1 Archive")
        assert t.startswith("OK"), t
        assert usage() == QUOTA + 500
        # an invalid sequence number is still BAD, not OVERQUOTA
        u, t = c.cmd("COPY 99 Archive")
        assert t.startswith("BAD"), t
        c.logout()
    finally:
        c.close()


# ---------------------------------------------------------------- with tern-deliverd

def test_deliverd_and_imapd_agree():
    fresh()
    iu.put_message(I, DEMO, body(3000), folder="Junk")
    qid = I.enqueue("sender@example.org", [DEMO],
                    harness.message("quota-first", body=b"y" * 2000 + b"\n"))
    I.wait_for_message(DEMO, "quota-first", timeout=20)
    used = usage()
    assert used > 5000
    room = QUOTA - used
    c = session()
    try:
        u, t = c.cmd('GETQUOTA ""')
        assert u == [quota_line(used)], u
        # a delivery that does not fit is deferred by tern-deliverd...
        qid = I.enqueue("sender@example.org", [DEMO],
                        harness.message("quota-big", body=b"z" * room + b"\n"))
        lines = I.wait_log(r"%s deferred to=<%s>" % (qid, DEMO))
        assert "mailbox full" in lines[0], lines
        assert usage() == used
        # ...an APPEND one byte over the same room by tern-imapd...
        t = append(c, "INBOX", body(room + 1))
        assert t.startswith("NO [OVERQUOTA]"), t
        # ...and the room itself fits both
        t = append(c, "INBOX", body(room))
        assert t.startswith("OK [APPENDUID"), t
        assert usage() == QUOTA
        u, t = c.cmd('GETQUOTA ""')
        assert u == ['* QUOTA "" (STORAGE 10 10)'], u
        c.logout()
    finally:
        c.close()
    # the room made again: the deferred message goes in at its next try
    set_quota(DEMO, 1 << 20)
    r = I.queue("flush", qid)
    assert r.returncode == 0, r
    I.wait_for_message(DEMO, "quota-big", timeout=20)
    set_quota(DEMO, QUOTA)
