"""
tern-imapd, two sessions on one mailbox while mail arrives through the
real path (tern-sendmail -> tern-queued -> tern-deliverd) and both
sessions APPEND: over several rounds the UIDs are unique and increasing
and never given twice, nothing is lost or duplicated, and each session
learns of the other's changes and of the deliveries (EXISTS, EXPUNGE,
FETCH FLAGS) as RFC 3501 7.3.1, 7.4.1 and 5.2 say, by NOOP or in IDLE.
"""
import re
import time

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None
ROUNDS = 6
PER_ROUND = 3


def setup():
    global I, PORT
    I = harness.Instance(name="imapconc")
    iu.make_maildir(I, DEMO)
    PORT = iu.imap_port(I, tls=True)
    I.start()


def teardown():
    I.stop_queue()


class View:
    """What one session knows of the selected mailbox: the UID and
    Subject of each sequence number, kept up to date from the untagged
    responses only (as a client must)."""

    def __init__(self, name):
        self.name = name
        self.c = iu.session(PORT, I, tls=True)
        u, t = self.c.select()
        self.uids = []       # by sequence number - 1
        self.subj = {}       # uid -> subject
        self.exists = 0
        self.seen_uids = set()
        self.expunged = 0
        self.absorb(u)
        self.fill()

    def absorb(self, untagged):
        for r in untagged:
            m = re.match(r"\* (\d+) (EXISTS|EXPUNGE)$", r)
            if not m:
                continue
            n = int(m.group(1))
            if m.group(2) == "EXISTS":
                assert n >= self.exists, "%s: EXISTS went down %d -> %d" % (
                    self.name, self.exists, n)
                self.exists = n
            else:
                assert 1 <= n <= self.exists, "%s: EXPUNGE %d of %d" % (self.name, n, self.exists)
                if n <= len(self.uids):
                    del self.uids[n - 1]
                self.exists -= 1
                self.expunged += 1

    def fill(self):
        """Learn the UIDs and subjects of messages known only by EXISTS."""
        while len(self.uids) < self.exists:
            first = len(self.uids) + 1
            u = self.c.ok("FETCH %d:%d (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
                          % (first, self.exists))
            got = iu.fetches(u)
            assert not iu.numbers(u, "EXPUNGE"), "EXPUNGE during FETCH (RFC 3501 7.4.1)"
            for n in range(first, self.exists + 1):
                d = got.get(n)
                assert d is not None and "UID" in d, "%s: no UID for %d in %r" % (
                    self.name, n, u)
                uid = int(d["UID"])
                assert not self.uids or uid > self.uids[-1], \
                    "%s: UID %d after %d (not increasing)" % (self.name, uid, self.uids[-1])
                assert uid not in self.seen_uids, "%s: UID %d given twice" % (self.name, uid)
                self.seen_uids.add(uid)
                self.uids.append(uid)
                h = d["BODY[HEADER.FIELDS (SUBJECT)]"]
                self.subj[uid] = h.split(":", 1)[1].strip() if ":" in h else ""
            self.absorb(u)

    def ok(self, line):
        """A command whose untagged responses all count (a UID command
        may bring EXPUNGEs, RFC 3501 7.4.1)."""
        u = self.c.ok(line)
        self.absorb(u)
        return u

    def sync(self):
        self.absorb(self.c.ok("NOOP"))
        self.fill()
        return self

    def subjects(self):
        return [self.subj[u] for u in self.uids]

    def idle_until(self, pred, timeout=5.0):
        """IDLE until pred(self) holds after the updates read so far."""
        tag = self.c.tag()
        self.c.send(tag + " IDLE\r\n")
        r = self.c.response()
        assert r.startswith("+"), "IDLE -> %r" % r
        if not pred(self):
            def step(resp):
                self.absorb([resp])
                return pred(self)
            self.c.wait_untagged(step, timeout)
        self.c.send("DONE\r\n")
        u, t = self.c.until_tagged(tag)
        assert t.startswith("OK"), t
        self.absorb(u)
        self.fill()


def deliver(subject):
    r = I.sendmail(["-i", DEMO], ("Subject: %s\n\nround body\n" % subject).encode())
    assert r.returncode == 0, r.stderr


def test_two_sessions_with_deliveries():
    iu.empty_maildir(I, DEMO)
    a = View("A")
    b = View("B")
    want = []            # subjects that must be in the mailbox, in UID order
    try:
        for rnd in range(ROUNDS):
            subs = ["r%d-d%d" % (rnd, k) for k in range(PER_ROUND)]
            for s in subs:
                deliver(s)
            # both sessions append while the deliveries go on
            for v in (a, b):
                s = "r%d-app-%s" % (rnd, v.name)
                u, t = v.c.cmd_lit(["APPEND INBOX", ("Subject: %s\r\n\r\nx\r\n" % s).encode(), ""])
                assert t.startswith("OK [APPENDUID "), t
                v.absorb(u)
                subs.append(s)
            total = len(want) + len(subs)
            harness.wait_for(lambda: len(a.sync().uids) == total, 15,
                             what="round %d: A sees %d messages" % (rnd, total),
                             info=lambda: "A %r\n%s" % (a.subjects(), I.diagnostics()))
            if rnd % 2:
                b.idle_until(lambda v: v.exists == total)
            else:
                harness.wait_for(lambda: len(b.sync().uids) == total, 15,
                                 what="round %d: B sees %d messages" % (rnd, total))
            assert a.uids == b.uids, (a.uids, b.uids)
            new = [a.subj[u] for u in a.uids[len(want):]]
            assert sorted(new) == sorted(subs), "round %d: new %r, want %r" % (rnd, new, subs)
            want = a.subjects()
            assert len(set(want)) == len(want), "duplicates: %r" % want
            # x deletes the oldest, y learns of it by NOOP or in IDLE
            # (A and B take turns); y sets a flag, x sees it as a FETCH
            # (RFC 3501 7.4.1, 7.2: updates of other sessions)
            x, y = (a, b) if rnd % 2 == 0 else (b, a)
            gone = x.uids[0]
            x.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % gone)
            x.ok("EXPUNGE")
            assert gone not in x.uids, (gone, x.uids)
            flag_uid = y.uids[-1]
            y.ok("UID STORE %d +FLAGS.SILENT (\\Flagged)" % flag_uid)
            if rnd % 4 >= 2:
                y.idle_until(lambda v: gone not in v.uids)
            else:
                harness.wait_for(lambda: gone not in y.sync().uids, 10,
                                 what="%s to see UID %d expunged" % (y.name, gone))
            u = x.ok("NOOP")
            x.fill()
            upd = [r for r in u if re.match(r"\* \d+ FETCH ", r)]
            assert upd, "%s saw no FETCH for %s's flag change: %r" % (x.name, y.name, u)
            want = want[1:]
            assert a.subjects() == b.subjects() == want, (a.subjects(), b.subjects(), want)
        # the disk agrees: one file per message, each UID once in the list
        files = I.mail_files(DEMO)
        assert len(files) == len(want), (len(files), len(want))
        _, nxt, m = iu.read_uidlist(I.maildir(DEMO))
        assert sorted(m) == sorted(a.uids) and nxt > max(m), (m, a.uids, nxt)
        assert a.expunged == ROUNDS and b.expunged == ROUNDS, (a.expunged, b.expunged)
        # a third session sees the same mailbox
        c = View("C")
        assert c.uids == a.uids and c.subjects() == want
        c.c.logout()
    finally:
        for v in (a, b):
            try:
                v.c.logout()
            except Exception:
                v.c.close()


def test_concurrent_appends_from_both_sessions_unique_uids():
    iu.empty_maildir(I, DEMO)
    a = View("A")
    b = View("B")
    try:
        n = 10
        tags = []
        # pipelined APPENDs with LITERAL+ on both connections at once
        for i in range(n):
            for v in (a, b):
                t = v.c.tag()
                msg = "Subject: par-%s-%d\r\n\r\nx\r\n" % (v.name, i)
                v.c.send("%s APPEND INBOX {%d+}\r\n%s\r\n" % (t, len(msg), msg))
                tags.append((v, t))
        uids = []
        for v, t in tags:
            u, txt = v.c.until_tagged(t)
            assert txt.startswith("OK [APPENDUID "), txt
            v.absorb(u)
            uids.append(int(iu.code(txt, "APPENDUID").split()[1]))
        assert len(set(uids)) == 2 * n, "a UID given twice: %r" % sorted(uids)
        for v in (a, b):
            mine = [u for (w, _), u in zip(tags, uids) if w is v]
            assert mine == sorted(mine), "%s: APPENDUIDs not increasing %r" % (v.name, mine)
        harness.wait_for(lambda: len(a.sync().uids) == 2 * n and len(b.sync().uids) == 2 * n,
                         10, what="both sessions to see %d messages" % (2 * n))
        assert a.uids == b.uids == sorted(uids)
        assert sorted(a.subjects()) == sorted("par-%s-%d" % (w, i) for w in "AB"
                                             for i in range(n))
    finally:
        for v in (a, b):
            try:
                v.c.logout()
            except Exception:
                v.c.close()


def test_idle_sees_a_real_delivery_within_a_second():
    """RFC 2177 with tern-deliverd writing the Maildir: the EXISTS comes
    within a second of the message landing on disk."""
    iu.empty_maildir(I, DEMO)
    v = View("idle")
    try:
        tag = v.c.tag()
        v.c.send(tag + " IDLE\r\n")
        assert v.c.response().startswith("+")
        deliver("idle-real")
        I.wait_for_message(DEMO, "idle-real", timeout=10)
        t0 = time.monotonic()
        v.absorb(v.c.wait_untagged(lambda r: r == "* 1 EXISTS", timeout=1.0))
        assert time.monotonic() - t0 <= 1.0
        v.c.send("DONE\r\n")
        u, t = v.c.until_tagged(tag)
        assert t.startswith("OK"), t
        v.absorb(u)
        v.fill()
        assert v.subjects() == ["idle-real"], v.subjects()
        v.c.logout()
    finally:
        v.c.close()
