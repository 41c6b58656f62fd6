"""
tern-imapd, ESEARCH (RFC 4731) and SEARCHRES (RFC 5182): SEARCH RETURN
(MIN MAX ALL COUNT) and its UID form answer one ESEARCH response with
the tag, in sequence-set form, nothing but COUNT 0 when nothing matched,
"()" meaning ALL, MODSEQ when a MODSEQ key was used (RFC 7162 3.1.5);
RETURN (SAVE) keeps the result as "$" (UIDs) for FETCH, STORE, COPY,
SEARCH, UID EXPUNGE and their UID forms, SAVE alone sends no ESEARCH,
SAVE with MIN/MAX keeps only those, a failed SEARCH empties "$", an
expunged message drops out of it and SELECT forgets it.
"""

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None


def setup():
    global I, PORT
    I = harness.Instance(name="imapsrch")
    PORT = iu.imap_port(I, tls=True)


def fresh(n, flags=None):
    iu.reset_maildir(I, DEMO)
    for k in range(n):
        iu.put_message(I, DEMO, iu.sample("s%d" % k), flags=(flags[k] if flags else ""))


def session():
    c = iu.session(PORT, I, tls=True)
    c.select()
    return c


def esearch(c, cmd):
    t = c.tag()
    c.send("%s %s\r\n" % (t, cmd))
    u, r = c.until_tagged(t)
    assert r.startswith("OK"), (cmd, r)
    lines = [x for x in u if x.startswith("* ESEARCH")]
    return t, lines


def test_capabilities():
    with iu.session(PORT, I, tls=True) as c:
        caps = c.capabilities()
        assert "ESEARCH" in caps and "SEARCHRES" in caps, caps
        c.logout()


def test_esearch_min_max_all_count():
    # messages 1..8, \Seen on 2,3,4,7
    fresh(8, ["", "S", "S", "S", "", "", "S", ""])
    c = session()
    t, l = esearch(c, "SEARCH RETURN (MIN MAX COUNT ALL) SEEN")
    assert l == ['* ESEARCH (TAG "%s") MIN 2 MAX 7 COUNT 4 ALL 2:4,7' % t], l
    t, l = esearch(c, "UID SEARCH RETURN (MIN) UNSEEN")
    uids = [int(x) for x in iu.search_result(c.ok("UID SEARCH UNSEEN"))]
    assert l == ['* ESEARCH (TAG "%s") UID MIN %d' % (t, uids[0])], l
    t, l = esearch(c, "SEARCH RETURN () SEEN")
    assert l == ['* ESEARCH (TAG "%s") ALL 2:4,7' % t], l
    t, l = esearch(c, "SEARCH RETURN (COUNT MIN ALL) DELETED")
    assert l == ['* ESEARCH (TAG "%s") COUNT 0' % t], l
    t, l = esearch(c, "SEARCH RETURN (MIN MAX) DELETED")
    assert l == ['* ESEARCH (TAG "%s")' % t], l
    # CHARSET after RETURN
    t, l = esearch(c, "SEARCH RETURN (COUNT) CHARSET UTF-8 ALL")
    assert l == ['* ESEARCH (TAG "%s") COUNT 8' % t], l
    # plain SEARCH stays SEARCH for IMAP4rev1
    assert iu.search_result(c.ok("SEARCH SEEN")) == [2, 3, 4, 7]
    for bad in ("SEARCH RETURN (NOPE) ALL", "SEARCH RETURN MIN ALL",
                "SEARCH RETURN (MIN"):
        u, r = c.cmd(bad)
        assert r.startswith("BAD"), (bad, r)
    c.logout()


def test_esearch_with_modseq():
    fresh(3)
    c = session()
    c.ok("STORE 2 +FLAGS (\\Flagged)")
    u = c.ok("FETCH 2 (MODSEQ)")
    ms = int(u[0].split("MODSEQ (")[1].rstrip("))"))
    t, l = esearch(c, "SEARCH RETURN (ALL) MODSEQ %d" % ms)
    assert l == ['* ESEARCH (TAG "%s") ALL 2 MODSEQ %d' % (t, ms)], l
    t, l = esearch(c, "SEARCH RETURN (COUNT) MODSEQ %d" % (ms + 1000000000))
    assert l == ['* ESEARCH (TAG "%s") COUNT 0' % t], l
    c.logout()


def test_searchres_save_and_use():
    fresh(6, ["S", "", "S", "", "S", ""])
    c = session()
    t, l = esearch(c, "SEARCH RETURN (SAVE) SEEN")
    assert l == [], "SAVE alone sends no ESEARCH: %r" % l
    f = iu.fetches(c.ok("FETCH $ (FLAGS)"))
    assert sorted(f) == [1, 3, 5], f
    uids = iu.search_result(c.ok("UID SEARCH SEEN"))
    f = iu.fetches(c.ok("UID FETCH $ (UID)"))
    assert sorted(int(v["UID"]) for v in f.values()) == uids, f
    # $ in a SEARCH key, and with other keys
    assert iu.search_result(c.ok("SEARCH $")) == [1, 3, 5]
    assert iu.search_result(c.ok("SEARCH NOT $")) == [2, 4, 6]
    # STORE and COPY on $
    c.ok("STORE $ +FLAGS.SILENT (\\Flagged)")
    assert iu.search_result(c.ok("SEARCH FLAGGED")) == [1, 3, 5]
    c.ok("CREATE Saved")
    u, r = c.cmd("COPY $ Saved")
    assert r.startswith("OK"), r
    st = c.ok("STATUS Saved (MESSAGES)")
    assert "MESSAGES 3" in st[0], st
    # SAVE with MIN and MAX keeps only those two
    t, l = esearch(c, "SEARCH RETURN (SAVE MIN MAX) FLAGGED")
    assert l == ['* ESEARCH (TAG "%s") MIN 1 MAX 5' % t], l
    assert iu.search_result(c.ok("SEARCH $")) == [1, 5]
    # an expunged message drops out of $
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    assert iu.search_result(c.ok("SEARCH $")) == [4]
    # UID EXPUNGE $
    c.ok("STORE 4 +FLAGS.SILENT (\\Deleted)")
    c.ok("UID EXPUNGE $")
    assert iu.search_result(c.ok("SEARCH ALL")) == [1, 2, 3, 4]
    # a failed SEARCH with SAVE empties $
    esearch(c, "SEARCH RETURN (SAVE) ALL")
    assert iu.search_result(c.ok("SEARCH $")) == [1, 2, 3, 4]
    u, r = c.cmd("SEARCH RETURN (SAVE) NOSUCHKEY")
    assert r.startswith("BAD"), r
    assert iu.search_result(c.ok("SEARCH $")) == []
    assert iu.fetches(c.ok("FETCH $ (UID)")) == {}
    # SELECT forgets it
    esearch(c, "SEARCH RETURN (SAVE) ALL")
    c.select()
    assert iu.search_result(c.ok("SEARCH $")) == []
    c.logout()


def test_search_address_with_comments():
    """FROM/TO/... also match the address with its comments taken out
    (RFC 5322 3.2.2), as a client that searches for an address means."""
    md = iu.empty_maildir(I, DEMO)
    for frm in ("user-from@domain.org", "RealFrom <user-from@domain.org>",
                "<user-from (comment)@ (comment) domain.org>",
                '"a (not a comment)" <other@domain.org>'):
        iu.put_message(I, DEMO, ("From: %s\nSubject: x\n\nb\n" % frm).encode(), flags="")
    c = session()
    assert iu.search_result(c.ok("SEARCH FROM user-from@domain.org")) == [1, 2, 3]
    assert iu.search_result(c.ok('SEARCH FROM "(not a comment)"')) == [4]
    assert iu.search_result(c.ok("SEARCH FROM comment")) == [3, 4]
    c.logout()
