"""
tern-imapd, the search and list extensions, with a raw client for the
exact responses: ESEARCH (RFC 4731: SEARCH RETURN (MIN MAX ALL COUNT),
the UID form, RETURN () as ALL, an empty result, MODSEQ of RFC 7162
3.1.5 when a MODSEQ key is used), SEARCHRES (RFC 5182: RETURN (SAVE),
SAVE with MIN/MAX/COUNT/ALL, "$" in FETCH, STORE, COPY, MOVE, SEARCH,
UID EXPUNGE and the UID forms, "$" holding UIDs in non-UID commands,
emptied by SELECT/EXAMINE and by a failed SEARCH with SAVE, expunged
messages dropping out), LIST-EXTENDED (RFC 5258: the SUBSCRIBED, REMOTE,
RECURSIVEMATCH and SPECIAL-USE selection options, \\Subscribed,
\\NonExistent, CHILDINFO, several patterns, the SUBSCRIBED, CHILDREN and
SPECIAL-USE return options, \\HasChildren for children that do not sort
right after their parent) and LIST-STATUS (RFC 5819: a STATUS line,
equal to the STATUS command's, after each selectable mailbox), and the
bounds and BAD replies of their syntax.
"""
import os
import re
import shutil

import harness
import imap_util as iu
from imap_util import DEMO

I = None
TLS_PORT = None


def setup():
    global I, TLS_PORT
    I = harness.Instance(name="imapext")
    TLS_PORT = iu.imap_port(I, tls=True)


def session():
    return iu.session(TLS_PORT, I, tls=True)


def fresh(msgs=(), flags=None):
    """Empty INBOX and every folder, the keywords, the MODSEQ index and the
    subscriptions; put msgs into cur/ with flags[i], in UID order."""
    md = iu.empty_maildir(I, DEMO)
    for f in os.listdir(md):
        if f.startswith(".") and os.path.isdir(os.path.join(md, f)):
            shutil.rmtree(os.path.join(md, f))
    for name in ("subscriptions", "tern-keywords", "tern-imapindex",
                 "tern-imapindex.lock"):
        try:
            os.unlink(os.path.join(md, name))
        except FileNotFoundError:
            pass
    for i, m in enumerate(msgs):
        iu.put_message(I, DEMO, m, flags=(flags[i] if flags else ""))
    return md


def msgs(n, prefix="m"):
    return [iu.sample("%s-%d" % (prefix, i)) for i in range(n)]


def cmd(c, line):
    """(tag, untagged, tagged text) of one command."""
    u, t = c.cmd(line)
    return "a%03d" % c.ntag, u, t


def esearch(c, line):
    """The one untagged ESEARCH of a command that must succeed, checked
    to carry the command's tag; no SEARCH response beside it."""
    tag, u, t = cmd(c, line)
    assert t.startswith("OK"), "%s -> %r" % (line, t)
    es = [r for r in u if r.startswith("* ESEARCH")]
    assert len(es) == 1, "%s: want one ESEARCH, got %r" % (line, u)
    assert not [r for r in u if r.startswith("* SEARCH")], u
    prefix = '* ESEARCH (TAG "%s")' % tag
    assert es[0].startswith(prefix), (es[0], prefix)
    return es[0][len(prefix):]


def bad(c, line):
    u, t = c.cmd(line)
    assert t.startswith("BAD"), "%s -> %r" % (line, t)
    return u


def select_uids(c, box="INBOX", examine=False):
    c.select(box, examine)
    f = iu.fetches(c.ok("FETCH 1:* (UID)"))
    return [int(f[n]["UID"]) for n in sorted(f)]


def flags_by_uid(c):
    out = {}
    for n, d in iu.fetches(c.ok("FETCH 1:* (UID FLAGS)")).items():
        out[int(d["UID"])] = iu.flag_set(d["FLAGS"])
    return out


def modseqs(c):
    """{sequence number: MODSEQ} of every message."""
    out = {}
    for r in c.ok("FETCH 1:* (MODSEQ)"):
        if r.startswith("* OK [HIGHESTMODSEQ "):
            continue  # RFC 7162 3.1, the first CONDSTORE-enabling command
        m = re.match(r"\* (\d+) FETCH \(MODSEQ \((\d+)\)\)$", r)
        assert m, r
        out[int(m.group(1))] = int(m.group(2))
    return out


def expunge_first(c):
    """Expunge message 1, so that sequence numbers and UIDs differ."""
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")


# ---------------------------------------------------------------- capabilities

def test_capabilities_advertised():
    with session() as c:
        caps = c.capabilities()
        for need in ("ESEARCH", "SEARCHRES", "LIST-EXTENDED", "LIST-STATUS",
                     "SPECIAL-USE", "CONDSTORE"):
            assert need in caps, "%s not in %s" % (need, caps)
        c.logout()


# ---------------------------------------------------------------- ESEARCH

def test_esearch_result_options():
    # messages 1..7 on disk; 1 is expunged below: seq 1..6 = UIDs 2..7
    fresh(msgs(7), ["", "S", "S", "", "S", "S", "F"])
    with session() as c:
        uids = select_uids(c)
        expunge_first(c)
        uids = uids[1:]
        seen_seq = [1, 2, 4, 5]
        seen_uid = [uids[i - 1] for i in seen_seq]
        assert esearch(c, "SEARCH RETURN (MIN MAX COUNT ALL) SEEN") == \
            " MIN 1 MAX 5 COUNT 4 ALL 1:2,4:5"
        assert esearch(c, "UID SEARCH RETURN (MIN MAX COUNT ALL) SEEN") == \
            " UID MIN %d MAX %d COUNT 4 ALL %d:%d,%d:%d" % (
                seen_uid[0], seen_uid[-1], seen_uid[0], seen_uid[1],
                seen_uid[2], seen_uid[3])
        # options in any order and case; the response has the fixed order
        assert esearch(c, "SEARCH RETURN (count min) SEEN") == " MIN 1 COUNT 4"
        assert esearch(c, "SEARCH RETURN (MAX) SEEN") == " MAX 5"
        assert esearch(c, "SEARCH RETURN (ALL ALL) 3:*") == " ALL 3:6"
        # RFC 4731 3.1: RETURN () is RETURN (ALL)
        assert esearch(c, "SEARCH RETURN () ALL") == " ALL 1:6"
        assert esearch(c, "UID SEARCH RETURN () FLAGGED") == " UID ALL %d" % uids[5]
        # nothing found: no MIN, MAX, ALL; COUNT 0 when asked
        assert esearch(c, "SEARCH RETURN (MIN MAX ALL) DRAFT") == ""
        assert esearch(c, "SEARCH RETURN (MIN COUNT) DRAFT") == " COUNT 0"
        assert esearch(c, "UID SEARCH RETURN (ALL) DRAFT") == " UID"
        assert esearch(c, "SEARCH RETURN (COUNT) CHARSET UTF-8 SUBJECT m-") == " COUNT 6"
        # without RETURN: the plain SEARCH response, no ESEARCH
        u = c.ok("SEARCH SEEN")
        assert u == ["* SEARCH 1 2 4 5"], u
        u, t = c.cmd("SEARCH RETURN (COUNT) CHARSET KOI8-R ALL")
        assert t.startswith("NO [BADCHARSET"), t
        assert not u, u
        for line in ("SEARCH RETURN (BOGUS) ALL", "SEARCH RETURN MIN ALL",
                     "SEARCH RETURN (MIN ALL", "SEARCH RETURN (MIN  MAX) ALL",
                     "SEARCH RETURN (MIN)", "SEARCH RETURN ( MIN) ALL",
                     "SEARCH RETURN (%s) ALL" % " ".join(["MIN"] * 17)):
            u = bad(c, line)
            assert not [r for r in u if "SEARCH" in r], (line, u)
        # 16 options are fine
        assert esearch(c, "SEARCH RETURN (%s) SEEN" % " ".join(["MIN"] * 16)) == " MIN 1"
        c.logout()


def test_esearch_modseq():
    fresh(msgs(4))
    with session() as c:
        c.select()
        c.ok("STORE 3 +FLAGS (\\Flagged)")
        c.ok("STORE 2 +FLAGS (\\Answered)")
        ms = modseqs(c)
        top = max(ms.values())
        assert ms[2] == top and ms[3] < top, ms
        assert esearch(c, "SEARCH RETURN (ALL) MODSEQ 1") == \
            " ALL 1:4 MODSEQ %d" % top
        assert esearch(c, "SEARCH RETURN (COUNT) MODSEQ 1") == \
            " COUNT 4 MODSEQ %d" % top
        # MIN and/or MAX alone: the highest MODSEQ of the messages named
        assert esearch(c, "SEARCH RETURN (MIN) MODSEQ 1") == \
            " MIN 1 MODSEQ %d" % ms[1]
        assert esearch(c, "SEARCH RETURN (MAX) MODSEQ 1") == \
            " MAX 4 MODSEQ %d" % ms[4]
        assert esearch(c, "SEARCH RETURN (MIN MAX) MODSEQ %d" % ms[3]) == \
            " MIN %d MAX %d MODSEQ %d" % (
                min(k for k in ms if ms[k] >= ms[3]),
                max(k for k in ms if ms[k] >= ms[3]),
                max(ms[min(k for k in ms if ms[k] >= ms[3])],
                    ms[max(k for k in ms if ms[k] >= ms[3])]))
        assert esearch(c, "UID SEARCH RETURN (COUNT) FLAGGED MODSEQ 1") == \
            " UID COUNT 1 MODSEQ %d" % ms[3]
        # nothing found: no MODSEQ
        assert esearch(c, "SEARCH RETURN (COUNT) MODSEQ %d" % (top + 1)) == " COUNT 0"
        # no MODSEQ key: no MODSEQ
        assert esearch(c, "SEARCH RETURN (ALL) FLAGGED") == " ALL 3"
        c.logout()


# ---------------------------------------------------------------- SEARCHRES

def saved_uids(c):
    """The UIDs "$" names now (UID SEARCH $)."""
    return iu.search_result(c.ok("UID SEARCH $"))


def test_searchres_save_and_use():
    fresh(msgs(7), ["", "F", "", "F", "S", "F", ""])
    with session() as c:
        c.ok("CREATE Other")
        uids = select_uids(c)
        expunge_first(c)
        uids = uids[1:]                 # seq n is uids[n - 1]
        flagged = [uids[0], uids[2], uids[4]]   # seq 1, 3, 5
        # RETURN (SAVE) alone: no ESEARCH, no SEARCH
        u = c.ok("SEARCH RETURN (SAVE) FLAGGED")
        assert u == [], u
        assert saved_uids(c) == flagged
        # "$" in a non-UID command names the same messages (RFC 5182 2.1)
        f = iu.fetches(c.ok("FETCH $ (UID)"))
        assert sorted(f) == [1, 3, 5], f
        assert [int(f[n]["UID"]) for n in sorted(f)] == flagged
        f = iu.fetches(c.ok("UID FETCH $ (FLAGS)"))
        assert sorted(f) == [1, 3, 5], f
        assert iu.search_result(c.ok("SEARCH $")) == [1, 3, 5]
        assert iu.search_result(c.ok("SEARCH UID $")) == [1, 3, 5]
        assert iu.search_result(c.ok("SEARCH NOT $")) == [2, 4, 6]
        assert iu.search_result(c.ok("SEARCH OR $ SEEN")) == [1, 3, 4, 5]
        # STORE $ and UID STORE $
        c.ok("STORE $ +FLAGS.SILENT (\\Answered)")
        fl = flags_by_uid(c)
        assert [u for u in uids if "\\Answered" in fl[u]] == flagged, fl
        c.ok("UID STORE $ -FLAGS.SILENT (\\Answered)")
        assert not [u for u, v in flags_by_uid(c).items() if "\\Answered" in v]
        # COPY $
        u, t = c.cmd("COPY $ Other")
        assert t.startswith("OK"), t
        assert len(I.mail_files(DEMO, "Other")) == 3
        # SAVE refines with "$" of the previous result (RFC 5182 2.1)
        c.ok("SEARCH RETURN (SAVE) $ UNSEEN SMALLER 100000")
        assert saved_uids(c) == flagged
        c.ok("SEARCH RETURN (SAVE) $ 3:*")
        assert saved_uids(c) == flagged[1:]
        # MOVE $: the moved messages drop out of "$"
        u, t = c.cmd("UID MOVE $ Other")
        assert t.startswith("OK"), t
        assert len(I.mail_files(DEMO, "Other")) == 5
        assert iu.apply_expunges(uids, iu.numbers(u, "EXPUNGE")) == \
            [uids[0], uids[1], uids[3], uids[5]], u
        assert saved_uids(c) == []
        assert iu.fetches(c.ok("FETCH $ (UID)")) == {}
        u, t = c.cmd("COPY $ Other")    # an empty "$" is not an error
        assert t.startswith("OK"), t
        assert len(I.mail_files(DEMO, "Other")) == 5
        c.logout()


def test_searchres_with_other_options():
    fresh(msgs(6), ["S", "", "S", "S", "", "S"])
    with session() as c:
        uids = select_uids(c)
        seen = [uids[i] for i in (0, 2, 3, 5)]
        # SAVE with MIN and/or MAX only: just those messages (RFC 5182 2.4)
        assert esearch(c, "SEARCH RETURN (SAVE MIN) SEEN") == " MIN 1"
        assert saved_uids(c) == [seen[0]]
        assert esearch(c, "UID SEARCH RETURN (MAX SAVE) SEEN") == " UID MAX %d" % seen[-1]
        assert saved_uids(c) == [seen[-1]]
        assert esearch(c, "SEARCH RETURN (SAVE MIN MAX) SEEN") == " MIN 1 MAX 6"
        assert saved_uids(c) == [seen[0], seen[-1]]
        # with COUNT or ALL: the whole result
        assert esearch(c, "SEARCH RETURN (SAVE MIN COUNT) SEEN") == " MIN 1 COUNT 4"
        assert saved_uids(c) == seen
        assert esearch(c, "SEARCH RETURN (SAVE ALL) UNSEEN") == " ALL 2,5"
        assert saved_uids(c) == [uids[1], uids[4]]
        assert esearch(c, "SEARCH RETURN (SAVE MIN MAX) DRAFT") == ""
        assert saved_uids(c) == []
        c.logout()


def test_searchres_emptied():
    fresh(msgs(4), ["F", "", "F", ""])
    with session() as c:
        c.select()
        # "$" before any SAVE is empty
        assert saved_uids(c) == []
        c.ok("SEARCH RETURN (SAVE) FLAGGED")
        assert len(saved_uids(c)) == 2
        # a failed SEARCH with SAVE empties it: BAD keys, BAD options, NO
        bad(c, "SEARCH RETURN (SAVE) NOSUCHKEY")
        assert saved_uids(c) == []
        c.ok("SEARCH RETURN (SAVE) FLAGGED")
        bad(c, "SEARCH RETURN (SAVE BOGUS) FLAGGED")
        assert saved_uids(c) == []
        c.ok("SEARCH RETURN (SAVE) FLAGGED")
        u, t = c.cmd("SEARCH RETURN (SAVE) CHARSET KOI8-R FLAGGED")
        assert t.startswith("NO"), t
        assert saved_uids(c) == []
        # a failed SEARCH without SAVE keeps it
        c.ok("SEARCH RETURN (SAVE) FLAGGED")
        bad(c, "SEARCH NOSUCHKEY")
        assert len(saved_uids(c)) == 2
        # SELECT and EXAMINE empty it
        c.select()
        assert saved_uids(c) == []
        c.ok("SEARCH RETURN (SAVE) FLAGGED")
        c.select(examine=True)
        assert saved_uids(c) == []
        c.ok("SEARCH RETURN (SAVE) FLAGGED")
        c.ok("UNSELECT")
        c.select()
        assert saved_uids(c) == []
        c.logout()


def test_searchres_expunge_by_other_session_and_uid_expunge():
    fresh(msgs(5), ["T", "T", "", "T", ""])
    with session() as a, session() as b:
        uids = select_uids(a)
        select_uids(b)
        a.ok("SEARCH RETURN (SAVE) DELETED")
        assert saved_uids(a) == [uids[0], uids[1], uids[3]]
        # another session expunges message 2: it drops out of a's "$"
        b.ok("UID STORE %d,%d -FLAGS.SILENT (\\Deleted)" % (uids[0], uids[3]))
        b.ok("EXPUNGE")
        u = a.ok("NOOP")
        assert iu.numbers(u, "EXPUNGE") == [2], u
        assert saved_uids(a) == [uids[0], uids[3]]
        # UID EXPUNGE $ expunges the \Deleted ones of "$" only
        a.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[0])
        a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")   # uids[2], not in "$"
        u = a.ok("UID EXPUNGE $")
        assert iu.numbers(u, "EXPUNGE") == [1], u
        assert select_uids(a) == [uids[2], uids[3], uids[4]]
        a.logout()
        b.logout()


# ---------------------------------------------------------------- LIST-EXTENDED

def lines(u, verb="LIST"):
    return [r for r in u if r.startswith("* %s " % verb)]


def setup_folders():
    """Foo (with Foo/Bar, Foo/Baz), Moo, Sent, Imp/Kid (Imp implied);
    subscribed: INBOX, Foo/Bar, Moo, Imp/Kid, and Gone and Old/Sub, which
    do not exist."""
    md = fresh()
    with session() as c:
        for n in ("Foo", "Foo/Bar", "Foo/Baz", "Moo", "Sent", "Imp/Kid"):
            c.ok("CREATE " + n)
        for n in ("INBOX", "Foo/Bar", "Moo", "Imp/Kid"):
            c.ok("SUBSCRIBE " + n)
        c.logout()
    with open(os.path.join(md, "subscriptions"), "a") as f:
        f.write("Gone\nOld/Sub\n")


def test_list_subscribed_selection():
    setup_folders()
    with session() as c:
        assert lines(c.ok('LIST (SUBSCRIBED) "" "*"')) == [
            '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
            '* LIST (\\HasNoChildren \\Subscribed) "/" "Foo/Bar"',
            '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
            '* LIST (\\HasNoChildren \\Subscribed) "/" "Imp/Kid"',
            '* LIST (\\HasNoChildren \\Subscribed) "/" "Moo"',
            '* LIST (\\NonExistent \\Subscribed) "/" "Old/Sub"',
        ]
        # RECURSIVEMATCH: parents whose children are subscribed, with
        # CHILDINFO; a subscribed parent with subscribed children has both
        assert lines(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')) == [
            '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
            '* LIST (\\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
            '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
            '* LIST (\\Noselect \\HasChildren) "/" "Imp" ("CHILDINFO" ("SUBSCRIBED"))',
            '* LIST (\\HasNoChildren \\Subscribed) "/" "Moo"',
            '* LIST (\\NonExistent) "/" "Old" ("CHILDINFO" ("SUBSCRIBED"))',
        ]
        c.ok("SUBSCRIBE Foo")
        u = lines(c.ok('LIST (RECURSIVEMATCH SUBSCRIBED) "" "Fo%"'))
        assert u == ['* LIST (\\HasChildren \\Subscribed) "/" "Foo" '
                     '("CHILDINFO" ("SUBSCRIBED"))'], u
        # without RECURSIVEMATCH no CHILDINFO and no unsubscribed parent
        u = lines(c.ok('LIST (SUBSCRIBED) "" "%"'))
        assert u == ['* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
                     '* LIST (\\HasChildren \\Subscribed) "/" "Foo"',
                     '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
                     '* LIST (\\HasNoChildren \\Subscribed) "/" "Moo"'], u
        # REMOTE alone changes nothing; REMOTE with SUBSCRIBED is SUBSCRIBED
        assert c.ok('LIST (REMOTE) "" "*"') == c.ok('LIST "" "*"')
        assert c.ok('LIST (REMOTE SUBSCRIBED) "" "*"') == \
            c.ok('LIST (SUBSCRIBED) "" "*"')
        assert c.ok('LIST () "" "*"') == c.ok('LIST "" "*"')
        c.logout()


def test_list_return_options_and_patterns():
    setup_folders()
    with session() as c:
        assert lines(c.ok('LIST "" "*" RETURN (SUBSCRIBED CHILDREN)')) == [
            '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
            '* LIST (\\HasChildren) "/" "Foo"',
            '* LIST (\\HasNoChildren \\Subscribed) "/" "Foo/Bar"',
            '* LIST (\\HasNoChildren) "/" "Foo/Baz"',
            '* LIST (\\Noselect \\HasChildren) "/" "Imp"',
            '* LIST (\\HasNoChildren \\Subscribed) "/" "Imp/Kid"',
            '* LIST (\\HasNoChildren \\Subscribed) "/" "Moo"',
            '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        ]
        # the plain LIST never says \Subscribed
        assert not [r for r in c.ok('LIST "" "*"') if "Subscribed" in r]
        # several patterns, each name once
        assert lines(c.ok('LIST "" ("Foo/*" Moo "F*")')) == [
            '* LIST (\\HasChildren) "/" "Foo"',
            '* LIST (\\HasNoChildren) "/" "Foo/Bar"',
            '* LIST (\\HasNoChildren) "/" "Foo/Baz"',
            '* LIST (\\HasNoChildren) "/" "Moo"',
        ]
        assert lines(c.ok('LIST "Foo/" (B%r "Baz")')) == [
            '* LIST (\\HasNoChildren) "/" "Foo/Bar"',
            '* LIST (\\HasNoChildren) "/" "Foo/Baz"',
        ]
        # the empty pattern still gives the separator
        assert c.ok('LIST () "" ("")') == ['* LIST (\\Noselect) "/" ""']
        # SPECIAL-USE (RFC 6154 4): the special-use folders only
        want = ['* LIST (\\HasNoChildren \\Sent) "/" "Sent"']
        assert lines(c.ok('LIST (SPECIAL-USE) "" "*"')) == want
        assert lines(c.ok('LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)')) == want
        assert lines(c.ok('LIST (SPECIAL-USE) "" "F*"')) == []
        c.logout()


def test_list_has_children_not_next_in_order():
    """ "A-b" sorts between "A" and "A/c": A still has a child."""
    fresh()
    with session() as c:
        for n in ("A", "A-b", "A/c"):
            c.ok("CREATE " + n)
        assert lines(c.ok('LIST "" "A"')) == ['* LIST (\\HasChildren) "/" "A"']
        assert lines(c.ok('LIST "" "A" RETURN (CHILDREN)')) == \
            ['* LIST (\\HasChildren) "/" "A"']
        c.ok("SUBSCRIBE A")
        assert lines(c.ok('LSUB "" "A"'), "LSUB") == \
            ['* LSUB (\\HasChildren) "/" "A"']
        c.logout()


def test_list_extended_syntax_errors():
    fresh()
    with session() as c:
        for line in ('LIST (RECURSIVEMATCH) "" "*"',
                     'LIST (REMOTE RECURSIVEMATCH) "" "*"',
                     'LIST (BOGUS) "" "*"',
                     'LIST (SUBSCRIBED "" "*"',
                     'LIST "" "*" RETURN (BOGUS)',
                     'LIST "" "*" RETURN',
                     'LIST "" "*" RETURN ()x',
                     'LIST "" "*" NOTRETURN (CHILDREN)',
                     'LIST "" ()',
                     'LIST "" ("a" "b"',
                     'LIST "" "*" RETURN (STATUS)',
                     'LIST "" "*" RETURN (STATUS ())',
                     'LIST "" "*" RETURN (STATUS (BOGUS))',
                     'LIST "" "*" RETURN (STATUS (MESSAGES) STATUS (UNSEEN))',
                     'LIST (%s) "" "*"' % " ".join(["REMOTE"] * 17),
                     'LIST "" (%s)' % " ".join(['"x%d"' % i for i in range(65)]),
                     'STATUS INBOX (%s)' % " ".join(["MESSAGES"] * 17)):
            u = bad(c, line)
            assert not lines(u), (line, u)
        # at the bounds: fine
        c.ok('LIST (%s) "" "*"' % " ".join(["REMOTE"] * 16))
        c.ok('LIST "" (%s)' % " ".join(['"x%d"' % i for i in range(64)]))
        u = c.ok('STATUS INBOX (%s)' % " ".join(["MESSAGES"] * 16))
        assert u == ["* STATUS INBOX (%s)" % " ".join(["MESSAGES 0"] * 16)], u
        c.logout()


# ---------------------------------------------------------------- LIST-STATUS

ITEMS = "MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE HIGHESTMODSEQ"


def test_list_status():
    fresh(msgs(3), ["S", "", ""])
    with session() as c:
        c.ok("CREATE Box")
        c.ok("CREATE Par/Kid")
        c.ok("SUBSCRIBE Box")
        c.logout()
    for m in msgs(2, "box"):
        iu.put_message(I, DEMO, m, folder="Box")
    md = I.maildir(DEMO)
    with open(os.path.join(md, "subscriptions"), "a") as f:
        f.write("Gone\n")
    with session() as c:
        status = {}
        for n in ("INBOX", "Box", "Par/Kid"):
            u = c.ok("STATUS %s (%s)" % (iu.quote(n), ITEMS))
            assert len(u) == 1 and u[0].startswith("* STATUS "), u
            status[n] = u[0]
        assert status["INBOX"].startswith("* STATUS INBOX (MESSAGES 3 UNSEEN 2 UIDNEXT 4 "), status
        assert status["Box"].startswith('* STATUS "Box" (MESSAGES 2 UNSEEN 2 UIDNEXT 3 '), status
        u = c.ok('LIST "" "*" RETURN (STATUS (%s))' % ITEMS)
        assert u == [
            '* LIST (\\HasNoChildren) "/" INBOX', status["INBOX"],
            '* LIST (\\HasNoChildren) "/" "Box"', status["Box"],
            '* LIST (\\Noselect \\HasChildren) "/" "Par"',
            '* LIST (\\HasNoChildren) "/" "Par/Kid"', status["Par/Kid"],
        ], u
        # with other options; no STATUS for a name that does not exist
        u = c.ok('LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN STATUS (messages))')
        assert u == [
            '* LIST (\\HasNoChildren \\Subscribed) "/" "Box"',
            '* STATUS "Box" (MESSAGES 2)',
            '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
        ], u
        # the selected mailbox too, and as the STATUS command says
        c.select("Box")
        u = c.ok('LIST "" "Box" RETURN (STATUS (MESSAGES UIDNEXT))')
        assert u == ['* LIST (\\HasNoChildren) "/" "Box"',
                     '* STATUS "Box" (MESSAGES 2 UIDNEXT 3)'], u
        c.logout()
