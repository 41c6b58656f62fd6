"""
tern-imapd, CONDSTORE and QRESYNC (RFC 7162), with a raw client and the
exact responses the RFC fixes:

- CAPABILITY lists CONDSTORE and QRESYNC; ENABLE CONDSTORE answers
  "* ENABLED CONDSTORE", ENABLE QRESYNC "* ENABLED QRESYNC" and turns
  CONDSTORE on too (3.2.3);
- every SELECT/EXAMINE gives "OK [HIGHESTMODSEQ n]", n >= 1 even for an
  empty mailbox (3.1.2.1, 7); SELECT/EXAMINE (CONDSTORE), FETCH MODSEQ,
  SEARCH MODSEQ and STATUS HIGHESTMODSEQ are CONDSTORE-enabling (3.1),
  after which every untagged FETCH with FLAGS carries MODSEQ; before,
  none does and .SILENT sends nothing;
- the SELECT parameter QRESYNC and the VANISHED UID FETCH modifier are
  BAD without ENABLE QRESYNC, VANISHED without CHANGEDSINCE or in a
  plain FETCH is BAD (3.2.3, 3.2.6);
- MODSEQ strictly rises per flag change (STORE, FETCH BODY[] setting
  \\Seen) and is untouched by a STORE that changes nothing (3.1.11); the
  HIGHESTMODSEQ of a later SELECT and of STATUS is the largest message
  MODSEQ (3.1.2.1, 3.1.7); two sessions' STOREs get different MODSEQs
  (3.1) and a STORE in one is seen at NOOP in the other with the same
  MODSEQ;
- STORE/UID STORE (UNCHANGEDSINCE n): the messages that pass are stored,
  the others stay untouched and are listed (message numbers, or UIDs for
  UID STORE) in the tagged "OK [MODIFIED set]"; UNCHANGEDSINCE 0 fails
  for every message; a successful conditional .SILENT STORE still sends
  an untagged FETCH with MODSEQ (3.1.3), as does a plain .SILENT STORE
  once CONDSTORE is on (tern-imapd(8));
- FETCH/UID FETCH (CHANGEDSINCE n) returns exactly the messages changed
  after n, with MODSEQ added, and only once when asked for too (3.1.4.1); UID FETCH (CHANGEDSINCE n
  VANISHED) under QRESYNC answers "* VANISHED (EARLIER) uids" for the
  expunged UIDs of its set, before any FETCH (3.2.6);
- SEARCH MODSEQ n answers "* SEARCH ... (MODSEQ m)" with m the highest
  MODSEQ found, and a bare "* SEARCH" when nothing matches (3.1.5,
  3.1.6), also with a "/flags/..." entry name;
- STATUS INBOX (HIGHESTMODSEQ) (3.1.7);
- SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids
  [seq-match]])) after a second session's changes: "* VANISHED
  (EARLIER)" for the expunged (by IMAP, or a file removed as tern-pop3d
  does) and "* n FETCH (UID u FLAGS (...) MODSEQ (m))" for the changed,
  nothing for the unchanged, only the known UIDs' when given; a wrong
  UIDVALIDITY gives no VANISHED or FETCH; a SELECT while one is selected
  starts with "* OK [CLOSED]" (3.2.5.1, 3.2.11);
- under QRESYNC, EXPUNGE and UID EXPUNGE answer "* VANISHED uids", never
  "* n EXPUNGE", with "OK [HIGHESTMODSEQ n]" on the tagged OK (3.2.7,
  3.2.9, 3.2.10.2); another session's expunge is told at NOOP as
  VANISHED, its flag changes with the UID (3.2.4); CLOSE expunges
  silently and neither it nor UNSELECT leads to a CLOSED (3.2.8, 3.2.11);
  an expunge raises the mailbox's HIGHESTMODSEQ (3.2);
- flags changed outside IMAP (a file in cur/ renamed to add ,S or ,F as
  tern-pop3d or mutt do) get a new MODSEQ, told at NOOP to a selected
  session and seen by FETCH CHANGEDSINCE in a later one;
- a deleted or torn tern-imapindex: the next session's HIGHESTMODSEQ is
  higher than any before and CHANGEDSINCE the old value returns every
  message; QRESYNC then reports every message and the UIDs removed while
  the index was gone; an index cut at a record boundary still yields the
  lost change (doc/DESIGN.md: the index is a cache).
"""
import os
import re

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None   # implicit TLS

HMS_RE = re.compile(r"\* OK \[HIGHESTMODSEQ (\d+)\]( .*)?$")


def setup():
    global I, PORT
    I = harness.Instance(name="cstore")
    PORT = iu.imap_port(I, tls=True)


def session():
    return iu.session(PORT, I, tls=True)


def md():
    return I.maildir(DEMO)


def fresh(n=0, flags=None):
    """Empty INBOX (and its folders), without uidlist, keywords or MODSEQ
    index; put n messages into cur/ (flags[i]: Maildir letters)."""
    d = iu.empty_maildir(I, DEMO)
    for name in ("tern-keywords", "tern-imapindex", "tern-imapindex.lock"):
        try:
            os.unlink(os.path.join(d, name))
        except FileNotFoundError:
            pass
    return [iu.put_message(I, DEMO, iu.sample("cs-%d" % i, "body %d\n" % i),
                           flags=(flags[i] if flags else ""))
            for i in range(n)]


def no_sessions():
    harness.wait_for(lambda: not iu.imapd_pids(I, PORT), 10,
                     what="every tern-imapd session to end",
                     info=lambda: iu.log_text(I)[-2000:])


def highest_of(untagged):
    """The n of the one "* OK [HIGHESTMODSEQ n]" among untagged."""
    v = [int(m.group(1)) for m in (HMS_RE.match(r) for r in untagged) if m]
    assert len(v) == 1, "want one OK [HIGHESTMODSEQ n]: %r" % untagged
    return v[0]


def uidvalidity_of(untagged):
    v = [iu.code(r, "UIDVALIDITY") for r in untagged if iu.code(r, "UIDVALIDITY")]
    assert len(v) == 1, untagged
    return int(v[0])


def modseq_of(items):
    v = items.get("MODSEQ")
    assert isinstance(v, list) and len(v) == 1 and re.match(r"^[1-9]\d*$", v[0]), \
        "MODSEQ %r" % (v,)
    return int(v[0])


def fetch_lines(untagged):
    return [r for r in untagged if re.match(r"\* \d+ FETCH ", r)]


def modseqs(c):
    """{uid: MODSEQ} of the selected mailbox."""
    f = iu.fetches(c.ok("UID FETCH 1:* (MODSEQ)"))
    return {int(d["UID"]): modseq_of(d) for d in f.values()}


def flags_by_uid(c):
    f = iu.fetches(c.ok("UID FETCH 1:* (FLAGS)"))
    return {int(d["UID"]): iu.flag_set(d["FLAGS"]) for d in f.values()}


def by_uid(untagged):
    """{uid: items} of the FETCH responses (each must carry its UID)."""
    out = {}
    for r in fetch_lines(untagged):
        n, d = iu.fetch(r)
        assert "UID" in d, "FETCH without UID: %r" % r
        uid = int(d["UID"])
        assert uid not in out, "UID %d told twice: %r" % (uid, untagged)
        out[uid] = d
    return out


def vanished(untagged, earlier):
    """The UIDs of the "* VANISHED [(EARLIER)] set" responses."""
    pre = "* VANISHED (EARLIER) " if earlier else "* VANISHED "
    out = []
    for r in untagged:
        if r.startswith("* VANISHED "):
            if earlier:
                assert r.startswith(pre), "want VANISHED (EARLIER): %r" % r
            else:
                assert not r.startswith("* VANISHED (EARLIER)"), \
                    "want VANISHED without EARLIER: %r" % r
            rest = r[len(pre):]
            assert re.match(r"^\d+(:\d+)?(,\d+(:\d+)?)*$", rest), "uid set %r" % r
            out += iu.uid_set(rest)
    return sorted(out)


def file_of(uid):
    """The path of the message file of uid in INBOX."""
    base = iu.read_uidlist(md())[2][uid]
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(md(), sub)):
            if f.split(":", 1)[0] == base:
                return os.path.join(md(), sub, f)
    raise AssertionError("no file for UID %d" % uid)


def qsession():
    """A session with QRESYNC enabled."""
    c = session()
    u = c.ok("ENABLE QRESYNC")
    assert u == ["* ENABLED QRESYNC"], u
    return c


# ---------------------------------------------------------------- enabling

def test_capability_and_enable():
    fresh(1)
    with session() as c:
        caps = c.capabilities()
        assert "CONDSTORE" in caps and "QRESYNC" in caps and "ENABLE" in caps, caps
        u = c.ok("ENABLE CONDSTORE")
        assert u == ["* ENABLED CONDSTORE"], u
        c.select()
        u = c.ok("FETCH 1 (FLAGS)")
        assert re.match(r"^\* 1 FETCH \(FLAGS \(\) MODSEQ \(\d+\)\)$", u[0]) and \
            len(u) == 1, u
        c.logout()
    with session() as c:
        u = c.ok("ENABLE QRESYNC")
        assert u == ["* ENABLED QRESYNC"], u
        c.select()
        # QRESYNC implies CONDSTORE (3.2.3): FLAGS come with MODSEQ
        u = c.ok("FETCH 1 (FLAGS)")
        assert len(u) == 1 and "MODSEQ (" in u[0], u
        c.logout()
    with session() as c:
        u = c.ok("ENABLE CONDSTORE QRESYNC")
        assert u in (["* ENABLED CONDSTORE QRESYNC"], ["* ENABLED QRESYNC CONDSTORE"]), u
        c.logout()


def test_select_always_gives_highestmodseq():
    fresh(0)
    with session() as c:
        u, t = c.select()
        # RFC 7162 7: mod-sequence-value is 1 <= n; even an empty mailbox
        assert highest_of(u) >= 1, u
        c.logout()
    fresh(3)
    with session() as c:
        u, t = c.select()
        h = highest_of(u)
        assert t.startswith("OK [READ-WRITE]"), t
        # no CONDSTORE-enabling command yet: no MODSEQ in FETCH or STORE
        u = c.ok("FETCH 1:2 (FLAGS)")
        assert len(u) == 2 and not [r for r in u if "MODSEQ" in r], u
        u = c.ok("STORE 1 +FLAGS (\\Seen)")
        assert u == ["* 1 FETCH (FLAGS (\\Seen))"], u
        u = c.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
        assert u == [], ".SILENT without CONDSTORE: %r" % u
        u, t = c.select(examine=True)
        assert t.startswith("OK [READ-ONLY]"), t
        h2 = highest_of(u)
        assert h2 > h, (h, h2)
        c.logout()
    with session() as c:
        u = c.ok("SELECT INBOX (CONDSTORE)")
        highest_of(u)
        u = c.ok("FETCH 1 (FLAGS)")
        assert re.match(r"^\* 1 FETCH \(FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$", u[0]), u
        c.logout()
    with session() as c:
        u, t = c.cmd("EXAMINE INBOX (CONDSTORE)")
        assert t.startswith("OK [READ-ONLY]"), t
        highest_of(u)
        u = c.ok("FETCH 2 (FLAGS)")
        assert len(u) == 1 and "MODSEQ (" in u[0], u
        # read-only: BODY[] sets no \\Seen, so no new MODSEQ
        ms = modseqs(c)
        u = c.ok("FETCH 3 (BODY[])")
        assert "\\Seen" not in iu.flag_set(iu.fetches(u)[3].get("FLAGS", [])), u
        assert modseqs(c) == ms and flags_by_uid(c)[3] == set(), ms
        c.logout()


def test_other_enabling_commands():
    """FETCH MODSEQ and SEARCH MODSEQ turn CONDSTORE on (3.1)."""
    fresh(3)
    with session() as c:
        c.select()
        u = c.ok("FETCH 1 (MODSEQ)")
        # RFC 7162 3.1: the first CONDSTORE-enabling command in the
        # selected state is told HIGHESTMODSEQ too
        assert len(u) == 2 and re.match(r"^\* 1 FETCH \(MODSEQ \(\d+\)\)$", u[0]), u
        assert re.match(r"^\* OK \[HIGHESTMODSEQ \d+\]", u[1]), u
        u = c.ok("STORE 2 +FLAGS (\\Flagged)")
        assert len(u) == 1 and \
            re.match(r"^\* 2 FETCH \(FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$", u[0]), u
        c.logout()
    with session() as c:
        c.select()
        c.ok("SEARCH MODSEQ 1")
        u = c.ok("STORE 3 +FLAGS (\\Flagged)")
        assert len(u) == 1 and "MODSEQ (" in u[0], u
        c.logout()


def test_qresync_needs_enable():
    fresh(2)
    with session() as c:
        c.ok("ENABLE CONDSTORE")   # not QRESYNC
        u, t = c.cmd("SELECT INBOX (QRESYNC (1 1))")
        assert t.startswith("BAD"), "QRESYNC without ENABLE QRESYNC -> %r" % t
        assert not [r for r in u if r.startswith("* VANISHED") or " FETCH " in r], u
        c.select()
        u, t = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        assert t.startswith("BAD"), "VANISHED without QRESYNC -> %r" % t
        assert not fetch_lines(u) and not vanished(u, True), u
        c.ok("NOOP")
        c.logout()
    with qsession() as c:
        c.select()
        u, t = c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        assert t.startswith("BAD"), "VANISHED in FETCH -> %r" % t
        u, t = c.cmd("UID FETCH 1:* (FLAGS) (VANISHED)")
        assert t.startswith("BAD"), "VANISHED without CHANGEDSINCE -> %r" % t
        u = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        assert len(fetch_lines(u)) == 2, u
        c.logout()


# ---------------------------------------------------------------- MODSEQ

def test_modseq_rises_per_change():
    fresh(3)
    with session() as c:
        c.ok("ENABLE CONDSTORE")
        u, t = c.select()
        h0 = highest_of(u)
        ms = modseqs(c)
        assert sorted(ms) == [1, 2, 3], ms
        assert max(ms.values()) == h0, (ms, h0)
        seen = [h0]
        for seq, flag in ((1, "\\Seen"), (2, "\\Flagged"), (1, "\\Answered"),
                          (3, "$Label1"), (2, "\\Draft")):
            u = fetch_lines(c.ok("STORE %d +FLAGS (%s)" % (seq, flag)))
            assert len(u) == 1, u
            m = re.match(r"^\* %d FETCH \(FLAGS \(([^)]*)\) MODSEQ \((\d+)\)\)$" % seq, u[0])
            assert m, u
            assert flag in m.group(1).split(), u
            assert int(m.group(2)) > seen[-1], "MODSEQ did not rise: %r after %r" % (u, seen)
            seen.append(int(m.group(2)))
        ms2 = modseqs(c)
        assert ms2 == {1: seen[3], 2: seen[5], 3: seen[4]}, (ms2, seen)
        # 3.1.11: a STORE that changes nothing keeps the MODSEQ
        u = c.ok("STORE 1 +FLAGS (\\Seen)")
        assert len(u) == 1 and u[0].endswith("MODSEQ (%d))" % seen[3]), (u, seen)
        assert modseqs(c) == ms2
        # a FETCH that sets \Seen is a change too (its FLAGS with MODSEQ)
        u = c.ok("FETCH 3 (BODY[])")
        f = iu.fetches(u)[3]
        assert iu.flag_set(f["FLAGS"]) == {"\\Seen", "$Label1"}, u
        assert modseq_of(f) > seen[-1], (u, seen)
        top = modseq_of(f)
        # HIGHESTMODSEQ is the largest message MODSEQ, here and elsewhere
        u, t = c.select()
        assert highest_of(u) == top == max(modseqs(c).values()), (u, top)
        with session() as o:
            u = o.ok("STATUS INBOX (HIGHESTMODSEQ)")
            assert u == ["* STATUS INBOX (HIGHESTMODSEQ %d)" % top], (u, top)
            o.logout()
        c.logout()


def test_store_unchangedsince():
    fresh(3)
    with session() as c:
        c.select()       # UIDs 1..3 given
        c.logout()
    no_sessions()
    os.unlink(file_of(1))   # so that UIDs (2, 3) differ from numbers (1, 2)
    with session() as c:
        c.ok("ENABLE CONDSTORE")
        c.select()
        ms = modseqs(c)
        assert sorted(ms) == [2, 3], ms
        h = max(ms.values())
        # every message unchanged since h: all stored, no MODIFIED
        u, t = c.cmd("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % h)
        assert t.startswith("OK") and "MODIFIED" not in t, t
        f = iu.fetches(u)
        assert sorted(f) == [1, 2], u
        for n in (1, 2):
            assert iu.flag_set(f[n]["FLAGS"]) == {"\\Flagged"}, u
            assert modseq_of(f[n]) > h, u
        a = max(modseq_of(f[1]), modseq_of(f[2]))
        # message 2 (UID 3) changes after a
        u = c.ok("STORE 2 +FLAGS (\\Answered)")
        b = modseq_of(iu.fetches(u)[2])
        assert b > a
        # since a: message 1 passes, message 2 fails and is not touched
        u, t = c.cmd("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % a)
        assert re.match(r"^OK \[MODIFIED 2\] ", t), t
        f = iu.fetches(u)
        assert sorted(f) == [1], "only the stored message is told: %r" % u
        assert iu.flag_set(f[1]["FLAGS"]) == {"\\Flagged", "\\Seen"}, u
        assert modseq_of(f[1]) > b, u
        assert flags_by_uid(c)[3] == {"\\Flagged", "\\Answered"}
        assert "S" not in iu.info_flags(file_of(3)), file_of(3)
        assert "S" in iu.info_flags(file_of(2)), file_of(2)
        # UID STORE: the MODIFIED set is of UIDs; the stored ones told with UID
        ms = modseqs(c)
        u, t = c.cmd("UID STORE 2:3 (UNCHANGEDSINCE %d) +FLAGS (\\Draft)" % ms[3])
        assert re.match(r"^OK \[MODIFIED 2\] ", t), \
            "UID 2 changed after MODSEQ %d: %r" % (ms[3], t)
        f = by_uid(u)
        assert sorted(f) == [3] and iu.flag_set(f[3]["FLAGS"]) == \
            {"\\Flagged", "\\Answered", "\\Draft"}, u
        assert modseq_of(f[3]) > max(ms.values()), u
        assert "\\Draft" not in flags_by_uid(c)[2]
        # UNCHANGEDSINCE 0 fails for every message (3.1.3)
        before = flags_by_uid(c)
        ms = modseqs(c)
        u, t = c.cmd("STORE 1:2 (UNCHANGEDSINCE 0) -FLAGS (\\Flagged)")
        m = re.match(r"^OK \[MODIFIED ([0-9:,]+)\] ", t)
        assert m and iu.uid_set(m.group(1)) == [1, 2], t
        assert not fetch_lines(u), u
        u, t = c.cmd("UID STORE 2,3 (UNCHANGEDSINCE 0) +FLAGS (\\Deleted)")
        m = re.match(r"^OK \[MODIFIED ([0-9:,]+)\] ", t)
        assert m and iu.uid_set(m.group(1)) == [2, 3], t
        assert flags_by_uid(c) == before and modseqs(c) == ms
        # a successful conditional .SILENT STORE is still told, with MODSEQ
        u, t = c.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)"
                     % max(ms.values()))
        assert t.startswith("OK") and "MODIFIED" not in t, t
        assert len(u) == 1, u
        n, d = iu.fetch(u[0])
        assert n == 1 and modseq_of(d) > max(ms.values()), u
        assert "\\Deleted" in flags_by_uid(c)[2]
        u, t = c.cmd("UID STORE 3 (UNCHANGEDSINCE %d) -FLAGS.SILENT (\\Draft)"
                     % modseqs(c)[3])
        assert t.startswith("OK") and "MODIFIED" not in t, t
        f = by_uid(u)
        assert sorted(f) == [3] and modseq_of(f[3]) > modseq_of(d), u
        # a plain .SILENT STORE once CONDSTORE is on: MODSEQ told as well
        top = max(modseqs(c).values())
        u = c.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
        assert len(u) == 1, u
        n, d = iu.fetch(u[0])
        assert n == 2 and "FLAGS" not in d and modseq_of(d) > top, u
        c.logout()


def test_fetch_changedsince():
    fresh(4)
    with session() as c:
        u, t = c.select()
        h0 = highest_of(u)
        # CHANGEDSINCE is CONDSTORE-enabling and adds MODSEQ itself
        u = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
        assert u == ["* OK [HIGHESTMODSEQ %d] Highest" % h0], u
        u = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % (h0 - 1))
        assert sorted(iu.fetches(u)) != [], u
        m2 = modseq_of(iu.fetches(c.ok("STORE 2 +FLAGS (\\Seen)"))[2])
        m4 = modseq_of(iu.fetches(c.ok("STORE 4 +FLAGS (\\Flagged)"))[4])
        assert h0 < m2 < m4
        u = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
        f = iu.fetches(u)
        assert sorted(f) == [2, 4] and len(u) == 2, u
        assert iu.flag_set(f[2]["FLAGS"]) == {"\\Seen"} and modseq_of(f[2]) == m2, u
        assert iu.flag_set(f[4]["FLAGS"]) == {"\\Flagged"} and modseq_of(f[4]) == m4, u
        u = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m2)
        f = by_uid(u)
        assert sorted(f) == [4] and modseq_of(f[4]) == m4, u
        u = c.ok("FETCH 1:3 (FLAGS) (CHANGEDSINCE %d)" % h0)
        assert sorted(iu.fetches(u)) == [2], u
        u = c.ok("FETCH 1:* (UID) (CHANGEDSINCE %d)" % m4)
        assert u == [], u
        # MODSEQ asked for as well as implied: once (iu.fetch checks)
        u = c.ok("FETCH 1:* (MODSEQ FLAGS) (CHANGEDSINCE %d)" % h0)
        assert sorted(iu.fetches(u)) == [2, 4] and len(u) == 2, u
        u = c.ok("FETCH 4 (FLAGS MODSEQ)")
        assert u == ["* 4 FETCH (FLAGS (\\Flagged) MODSEQ (%d))" % m4], u
        c.logout()


def test_uid_fetch_vanished():
    fresh(5)
    with qsession() as c:
        u, t = c.select()
        h0 = highest_of(u)
        c.ok("UID STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        u = c.ok("EXPUNGE")
        assert not iu.numbers(u, "EXPUNGE"), "EXPUNGE under QRESYNC: %r" % u
        assert vanished(u, False) == [2, 4], u
        m5 = modseq_of(by_uid(c.ok("UID STORE 5 +FLAGS (\\Seen)"))[5])
        u = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
        assert u[0] == "* VANISHED (EARLIER) 2,4", \
            "VANISHED (EARLIER) first (3.2.6): %r" % u
        f = by_uid(u[1:])
        assert sorted(f) == [5] and len(u) == 2, u
        assert iu.flag_set(f[5]["FLAGS"]) == {"\\Seen"} and modseq_of(f[5]) == m5, u
        # only the UIDs of the set
        u = c.ok("UID FETCH 3:5 (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
        assert u[0] == "* VANISHED (EARLIER) 4" and sorted(by_uid(u[1:])) == [5], u
        u = c.ok("UID FETCH 1:3 (FLAGS) (CHANGEDSINCE %d VANISHED)" % m5)
        assert u == [], u
        c.logout()


def test_search_modseq():
    fresh(3)
    with session() as c:
        c.ok("ENABLE CONDSTORE")
        u, t = c.select()
        h0 = highest_of(u)
        m2 = modseq_of(iu.fetches(c.ok("STORE 2 +FLAGS (\\Seen)"))[2])
        u = c.ok("SEARCH MODSEQ %d" % m2)
        assert u == ["* SEARCH 2 (MODSEQ %d)" % m2], u
        u = c.ok("SEARCH MODSEQ %d" % (m2 + 1))
        assert u == ["* SEARCH"], "no match: no MODSEQ (3.1.6): %r" % u
        u = c.ok("UID SEARCH MODSEQ 1")
        assert u == ["* SEARCH 1 2 3 (MODSEQ %d)" % m2], u
        u = c.ok("SEARCH MODSEQ %d NOT SEEN" % (h0 - 1 if h0 > 1 else 1))
        ms = modseqs(c)
        assert u == ["* SEARCH 1 3 (MODSEQ %d)" % max(ms[1], ms[3])], (u, ms)
        for t in ("all", "priv", "shared"):
            u = c.ok('SEARCH MODSEQ "/flags/\\\\Seen" %s %d' % (t, m2))
            assert u == ["* SEARCH 2 (MODSEQ %d)" % m2], (t, u)
        c.logout()


def test_status_highestmodseq():
    fresh(2)
    with session() as c:
        u = c.ok("SELECT INBOX (CONDSTORE)")
        h0 = highest_of(u)
        with session() as o:
            u = o.ok("STATUS INBOX (MESSAGES HIGHESTMODSEQ)")
            assert u == ["* STATUS INBOX (MESSAGES 2 HIGHESTMODSEQ %d)" % h0], (u, h0)
            m = modseq_of(iu.fetches(c.ok("STORE 1 +FLAGS (\\Seen)"))[1])
            u = o.ok("STATUS INBOX (HIGHESTMODSEQ)")
            assert u == ["* STATUS INBOX (HIGHESTMODSEQ %d)" % m], (u, m)
            o.logout()
        c.logout()


# ---------------------------------------------------------------- QRESYNC

def test_qresync_select():
    fresh(7)
    with qsession() as c:
        u, t = c.select()
        v, h0 = uidvalidity_of(u), highest_of(u)
        c.logout()
    with session() as o:
        o.select()
        o.ok("UID STORE 2 +FLAGS (\\Seen)")
        o.ok("UID STORE 5 +FLAGS (\\Flagged)")
        o.ok("UID STORE 3,6 +FLAGS (\\Deleted)")
        o.ok("EXPUNGE")
        o.logout()
    no_sessions()
    os.unlink(file_of(7))    # as tern-pop3d's DELE does
    with qsession() as c:
        u, t = c.cmd("SELECT INBOX (QRESYNC (%d %d))" % (v, h0))
        assert t.startswith("OK [READ-WRITE]"), t
        h1 = highest_of(u)
        assert h1 > h0
        assert vanished(u, True) == [3, 6, 7], u
        f = by_uid(u)
        assert sorted(f) == [2, 5], u
        assert re.match(r"^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$",
                        fetch_lines(u)[0]), u
        assert re.match(r"^\* 4 FETCH \(UID 5 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$",
                        fetch_lines(u)[1]), u
        for d in f.values():
            assert h0 < modseq_of(d) <= h1, (u, h0, h1)
        iv = [i for i, r in enumerate(u) if r.startswith("* VANISHED")]
        assert len(iv) == 1 and all(u.index(r) > iv[0] for r in fetch_lines(u)), \
            "VANISHED (EARLIER) before the FETCHes: %r" % u
        # known UIDs: only theirs; with seq-match-data too
        u = c.ok("SELECT INBOX (QRESYNC (%d %d 1:4))" % (v, h0))
        assert u[0].startswith("* OK [CLOSED]"), "CLOSED first (3.2.11): %r" % u
        assert vanished(u, True) == [3] and sorted(by_uid(u)) == [2], u
        u = c.ok("SELECT INBOX (QRESYNC (%d %d 1:7 (1,3 1,3)))" % (v, h0))
        assert u[0].startswith("* OK [CLOSED]"), u
        assert sorted(by_uid(u)) == [2, 5], u
        assert set(vanished(u, True)) <= {3, 6, 7} and 7 in vanished(u, True), u
        # nothing since h1: nothing told
        u = c.ok("SELECT INBOX (QRESYNC (%d %d))" % (v, h1))
        assert not vanished(u, True) and not fetch_lines(u), u
        # another UIDVALIDITY: the client's data is useless, none sent
        u = c.ok("EXAMINE INBOX (QRESYNC (%d %d))" % (v + 1, h0))
        assert u[0].startswith("* OK [CLOSED]"), u
        assert not [r for r in u if r.startswith("* VANISHED")] and not fetch_lines(u), u
        assert uidvalidity_of(u) == v
        c.logout()


def test_qresync_expunge_is_vanished():
    fresh(5)
    with qsession() as c, session() as o:
        c.select()
        o.select()
        # another session's flag change: with UID under QRESYNC (3.2.4)
        o.ok("STORE 1 +FLAGS (\\Flagged)")
        u = c.ok("NOOP")
        assert len(u) == 1 and \
            re.match(r"^\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$", u[0]), u
        # another session's expunge: VANISHED at NOOP, no EXPUNGE
        o.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        u = o.ok("EXPUNGE")
        assert iu.numbers(u, "EXPUNGE") == [2], u
        u = c.ok("NOOP")
        assert not iu.numbers(u, "EXPUNGE"), u
        assert vanished(u, False) == [2], u
        # its own EXPUNGE and UID EXPUNGE
        c.ok("UID STORE 3,4 +FLAGS.SILENT (\\Deleted)")
        u = c.ok("UID EXPUNGE 4")
        assert vanished(u, False) == [4] and not iu.numbers(u, "EXPUNGE"), u
        u = c.ok("EXPUNGE")
        assert vanished(u, False) == [3] and not iu.numbers(u, "EXPUNGE"), u
        assert [int(d["UID"]) for d in iu.fetches(c.ok("FETCH 1:* (UID)")).values()] \
            == [1, 5]
        c.logout()
        o.logout()


def test_qresync_expunge_tagged_highestmodseq():
    """3.2.7: with QRESYNC on, an EXPUNGE that removed something ends
    "OK [HIGHESTMODSEQ n]", n the mailbox's new HIGHESTMODSEQ."""
    fresh(3)
    with qsession() as c:
        c.select()
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        h = max(modseqs(c).values())
        u, t = c.cmd("EXPUNGE")
        assert vanished(u, False) == [1], u
        m = re.match(r"^OK \[HIGHESTMODSEQ (\d+)\] ", t)
        assert m, "EXPUNGE under QRESYNC -> %r, want OK [HIGHESTMODSEQ n] " \
            "(RFC 7162 3.2.7)" % t
        assert int(m.group(1)) > h, (t, h)
        u, t = c.select()
        assert highest_of(u) == int(m.group(1)), (u, t)
        # nothing expunged: the code is not required, any OK will do
        u, t = c.cmd("EXPUNGE")
        assert t.startswith("OK") and not vanished(u, False), (u, t)
        c.logout()


def test_qresync_uid_expunge_tagged_highestmodseq():
    """3.2.9: the same for UID EXPUNGE."""
    fresh(3)
    with qsession() as c:
        c.select()
        c.ok("UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        h = max(modseqs(c).values())
        u, t = c.cmd("UID EXPUNGE 1:3")
        assert vanished(u, False) == [2], u
        m = re.match(r"^OK \[HIGHESTMODSEQ (\d+)\] ", t)
        assert m, "UID EXPUNGE under QRESYNC -> %r, want OK [HIGHESTMODSEQ n] " \
            "(RFC 7162 3.2.9)" % t
        assert int(m.group(1)) > h, (t, h)
        c.logout()


def test_qresync_close_is_silent():
    """3.2.8: CLOSE expunges without VANISHED (or EXPUNGE) responses; a
    SELECT after CLOSE or UNSELECT has nothing to close, so no CLOSED."""
    fresh(3)
    with qsession() as c:
        c.select()
        c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        u, t = c.cmd("CLOSE")
        assert t.startswith("OK") and u == [], (u, t)
        u, t = c.select()
        assert not [r for r in u if "[CLOSED]" in r], u
        assert [int(d["UID"]) for d in iu.fetches(c.ok("FETCH 1:* (UID)")).values()] \
            == [1, 3]
        c.ok("UNSELECT")
        u, t = c.select()
        assert not [r for r in u if "[CLOSED]" in r], u
        c.logout()


def test_expunge_raises_highestmodseq():
    fresh(3)
    with session() as c:
        c.ok("ENABLE CONDSTORE")
        c.select()
        c.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
        h = max(modseqs(c).values())
        c.ok("EXPUNGE")
        u, t = c.select()
        assert highest_of(u) > h, (u, h)
        assert max(modseqs(c).values()) <= h
        c.logout()


# ---------------------------------------------------------------- other writers

def test_flags_changed_outside_imap():
    fresh(3)
    with session() as c:
        u = c.ok("SELECT INBOX (CONDSTORE)")
        h0 = highest_of(u)
        p = file_of(2)
        assert p.endswith(":2,"), p
        os.rename(p, p + "S")        # as tern-pop3d or mutt mark it read
        u = c.ok("NOOP")
        assert len(u) == 1, u
        m = re.match(r"^\* 2 FETCH \(FLAGS \(\\Seen\) MODSEQ \((\d+)\)\)$", u[0])
        assert m and int(m.group(1)) > h0, u
        m2 = int(m.group(1))
        u = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
        assert sorted(iu.fetches(u)) == [2] and modseq_of(iu.fetches(u)[2]) == m2, u
        c.logout()
    no_sessions()
    p = file_of(3)
    os.rename(p, p + "F")
    with session() as c:
        u, t = c.select()
        h = highest_of(u)
        assert h > m2, (h, m2)
        u = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m2)
        f = iu.fetches(u)
        assert sorted(f) == [3] and iu.flag_set(f[3]["FLAGS"]) == {"\\Flagged"}, u
        assert modseq_of(f[3]) == h, (u, h)
        c.logout()


def test_two_sessions():
    fresh(3)
    with session() as a, session() as b:
        a.ok("ENABLE CONDSTORE")
        b.ok("ENABLE CONDSTORE")
        a.select()
        b.select()
        u = b.ok("STORE 1 +FLAGS (\\Flagged)")
        mb = modseq_of(iu.fetches(u)[1])
        u = a.ok("NOOP")
        assert u == ["* 1 FETCH (FLAGS (\\Flagged) MODSEQ (%d))" % mb], (u, mb)
        # two STOREs at once: different MODSEQs (3.1)
        ta, tb = a.tag(), b.tag()
        a.send("%s STORE 2 +FLAGS (\\Seen)\r\n" % ta)
        b.send("%s STORE 3 +FLAGS (\\Seen)\r\n" % tb)
        ua, ra = a.until_tagged(ta)
        ub, rb = b.until_tagged(tb)
        assert ra.startswith("OK") and rb.startswith("OK"), (ra, rb)
        # each hears the other's change with the same MODSEQ, in the
        # STORE's own responses (RFC 3501 7.4.1 allows FETCH there) or at
        # the NOOP, once
        ua += a.ok("NOOP")
        ub += b.ok("NOOP")
        fa = [iu.fetch(r) for r in fetch_lines(ua)]
        fb = [iu.fetch(r) for r in fetch_lines(ub)]
        assert sorted(n for n, _ in fa) == [2, 3] and len(ua) == 2, ua
        assert sorted(n for n, _ in fb) == [2, 3] and len(ub) == 2, ub
        x = [modseq_of(d) for n, d in fa if n == 2][0]
        y = [modseq_of(d) for n, d in fb if n == 3][0]
        assert x != y and x > mb and y > mb, (ua, ub)
        assert ("* 3 FETCH (FLAGS (\\Seen) MODSEQ (%d))" % y) in ua, (ua, y)
        assert ("* 2 FETCH (FLAGS (\\Seen) MODSEQ (%d))" % x) in ub, (ub, x)
        assert modseqs(a) == modseqs(b)
        a.logout()
        b.logout()


# ---------------------------------------------------------------- a lost index

def _prepare_index():
    """Four messages, UID 2 expunged, UID 3 flagged; the UIDVALIDITY and
    the HIGHESTMODSEQ the last session saw."""
    fresh(4)
    with session() as c:
        c.ok("ENABLE CONDSTORE")
        u, t = c.select()
        v = uidvalidity_of(u)
        c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        c.ok("UID STORE 3 +FLAGS (\\Flagged)")
        u, t = c.select()
        h = highest_of(u)
        assert h == max(modseqs(c).values())
        c.logout()
    no_sessions()
    return v, h


def _check_resync_after_loss(v, h):
    with session() as c:
        c.ok("ENABLE CONDSTORE")
        u, t = c.select()
        h2 = highest_of(u)
        assert h2 > h, "HIGHESTMODSEQ after the index was lost: %d, before %d" % (h2, h)
        u = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h)
        f = by_uid(u)
        assert sorted(f) == [1, 3, 4], "every message is new to a client at %d: %r" % (h, u)
        assert iu.flag_set(f[3]["FLAGS"]) == {"\\Flagged"}, u
        assert all(h < modseq_of(d) <= h2 for d in f.values()), (u, h, h2)
        c.logout()
    with qsession() as c:
        u = c.ok("SELECT INBOX (QRESYNC (%d %d))" % (v, h))
        assert sorted(by_uid(u)) == [1, 3, 4], u
        assert not set(vanished(u, True)) & {1, 3, 4}, u
        c.logout()


def test_index_deleted():
    v, h = _prepare_index()
    os.unlink(os.path.join(md(), "tern-imapindex"))
    _check_resync_after_loss(v, h)
    # lost again, and UID 4 removed meanwhile (POP3): told as vanished
    no_sessions()
    with session() as c:
        u, t = c.select()
        h = highest_of(u)
        c.logout()
    no_sessions()
    os.unlink(os.path.join(md(), "tern-imapindex"))
    os.unlink(file_of(4))
    with qsession() as c:
        u = c.ok("SELECT INBOX (QRESYNC (%d %d))" % (v, h))
        assert 4 in vanished(u, True) and not set(vanished(u, True)) & {1, 3}, u
        assert sorted(by_uid(u)) == [1, 3], u
        c.logout()


def test_index_torn():
    v, h = _prepare_index()
    p = os.path.join(md(), "tern-imapindex")
    with open(p, "rb") as f:
        data = f.read()
    assert data.startswith(b"tern-imapindex 1 ") and data.endswith(b"\n"), data[:200]
    cut = data.rindex(b"\n", 0, len(data) - 1) + 3   # inside the last record
    assert cut < len(data) - 1
    os.truncate(p, cut)
    _check_resync_after_loss(v, h)


def test_index_cut_at_record_boundary():
    """The last records lost whole (a write that never reached the disk):
    the change they held is found again by the scan, with a new MODSEQ."""
    fresh(3)
    with session() as c:
        c.ok("ENABLE CONDSTORE")
        c.select()
        h = max(modseqs(c).values())
        c.logout()
    no_sessions()
    p = os.path.join(md(), "tern-imapindex")
    size = os.path.getsize(p)
    with session() as c:
        c.ok("ENABLE CONDSTORE")
        c.select()
        m = modseq_of(iu.fetches(c.ok("STORE 2 +FLAGS (\\Answered)"))[2])
        c.logout()
    no_sessions()
    assert os.path.getsize(p) > size
    os.truncate(p, size)
    with session() as c:
        u = c.ok("SELECT INBOX (CONDSTORE)")
        assert highest_of(u) > m, (u, m)
        u = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h)
        f = iu.fetches(u)
        assert 2 in f and iu.flag_set(f[2]["FLAGS"]) == {"\\Answered"}, u
        assert modseq_of(f[2]) > m, u
        c.logout()
