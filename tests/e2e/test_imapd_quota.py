"""
tern-imapd, QUOTA (RFC 9208) over the users map's quota, the number
tern-deliverd enforces: QUOTA and QUOTA=RES-STORAGE advertised;
GETQUOTAROOT gives the root "" and its STORAGE usage (KiB, rounded up)
and limit when the user has a quota, no root when not; GETQUOTA of
another root or without a quota is NO [NONEXISTENT]; SETQUOTA is NO
[CANNOT]; an APPEND or COPY that would go over the quota is NO
[OVERQUOTA] and changes nothing, a MOVE is not refused; the usage
IMAP shows and the one tern-deliverd refuses mail at agree.
"""
import os
import re
import shutil

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None
BODY = b"Subject: q\n\n" + b"x" * 3000 + b"\n"


def setup():
    global I, PORT
    I = harness.Instance(name="imapquota")
    PORT = iu.imap_port(I, tls=True)


def fresh(n, quota):
    md = iu.empty_maildir(I, DEMO)
    for f in os.listdir(md):
        if f.startswith(".") and os.path.isdir(os.path.join(md, f)):
            shutil.rmtree(os.path.join(md, f))
    for _ in range(n):
        iu.put_message(I, DEMO, BODY, flags="")
    I.set_quota(DEMO, quota)
    return md


def usage(md):
    total = 0
    for root, dirs, files in os.walk(md):
        if os.path.basename(root) in ("cur", "new"):
            for f in files:
                m = re.search(r",S=(\d+)", f)
                total += int(m.group(1)) if m else os.path.getsize(os.path.join(root, f))
    return total


def test_capabilities_and_no_quota():
    fresh(1, None)
    with iu.session(PORT, I, tls=True) as c:
        caps = c.capabilities()
        assert "QUOTA" in caps and "QUOTA=RES-STORAGE" in caps, caps
        u = c.ok("GETQUOTAROOT INBOX")
        assert u == ["* QUOTAROOT INBOX"], u
        u, t = c.cmd('GETQUOTA ""')
        assert t.startswith("NO [NONEXISTENT]"), t
        c.logout()


def test_getquotaroot_and_getquota():
    md = fresh(3, 20000)
    used = usage(md)
    with iu.session(PORT, I, tls=True) as c:
        u = c.ok("GETQUOTAROOT INBOX")
        assert u == ['* QUOTAROOT INBOX ""',
                     '* QUOTA "" (STORAGE %d %d)' % ((used + 1023) // 1024, 20000 // 1024)], u
        u = c.ok('GETQUOTA ""')
        assert u == ['* QUOTA "" (STORAGE %d %d)' % ((used + 1023) // 1024, 19)], u
        c.ok("CREATE Sub")
        u = c.ok("GETQUOTAROOT Sub")
        assert u[0] == '* QUOTAROOT "Sub" ""', u
        u, t = c.cmd("GETQUOTAROOT Nope")
        assert t.startswith("NO [NONEXISTENT]"), t
        u, t = c.cmd('GETQUOTA "other"')
        assert t.startswith("NO [NONEXISTENT]"), t
        u, t = c.cmd('SETQUOTA "" (STORAGE 99999)')
        assert t.startswith("NO [CANNOT]"), t
        u, t = c.cmd("GETQUOTA")
        assert t.startswith("BAD"), t
        c.logout()


def test_append_and_copy_over_quota_change_nothing():
    md = fresh(3, 12500)      # 3 x ~3 KB used, room for one more
    with iu.session(PORT, I, tls=True) as c:
        msg = BODY.replace(b"\n", b"\r\n")
        u, t = c.cmd_lit(["APPEND INBOX", msg, ""])
        assert t.startswith("OK"), t
        before = sorted(os.listdir(os.path.join(md, "cur")))
        u, t = c.cmd_lit(["APPEND INBOX", msg, ""])
        assert t.startswith("NO [OVERQUOTA]"), t
        assert sorted(os.listdir(os.path.join(md, "cur"))) == before
        c.ok("CREATE Keep")
        c.select()
        u, t = c.cmd("COPY 1:2 Keep")
        assert t.startswith("NO [OVERQUOTA]"), t
        assert os.listdir(os.path.join(md, ".Keep", "cur")) == []
        u, t = c.cmd("MOVE 1 Keep")
        assert t.startswith("OK"), t
        assert len(os.listdir(os.path.join(md, ".Keep", "cur"))) == 1
        c.logout()


def test_deliverd_and_imapd_agree():
    md = fresh(2, 7000)
    I.start()
    try:
        with iu.session(PORT, I, tls=True) as c:
            u = c.ok('GETQUOTA ""')
            used_kib = int(re.search(r"STORAGE (\d+)", u[0]).group(1))
            assert used_kib == (usage(md) + 1023) // 1024, (u, usage(md))
            c.logout()
        # tern-deliverd refuses what would go over the same number
        I.set_quota(DEMO, usage(md) + 10)
        r = I.sendmail(["-f", "alice@example.test", DEMO],
                       b"Subject: over quota\n\n" + b"y" * 500 + b"\n")
        assert r.returncode == 0, r.stderr
        harness.wait_for(lambda: b"quota" in I.queue("list").stdout, 10,
                         what="tern-deliverd's quota deferral",
                         info=lambda: I.queue("list").stdout.decode())
        with iu.session(PORT, I, tls=True) as c:
            u, t = c.cmd_lit(["APPEND INBOX", b"Subject: z\r\n\r\n" + b"z" * 500 + b"\r\n", ""])
            assert t.startswith("NO [OVERQUOTA]"), t
            c.logout()
    finally:
        I.stop_queue()
