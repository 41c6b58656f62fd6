"""
tern-imapd, LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819):
selection options SUBSCRIBED (subscribed names, \\NonExistent for those
that do not exist), RECURSIVEMATCH (parents with CHILDINFO
("SUBSCRIBED")), SPECIAL-USE (RFC 6154 5.2), several patterns, return
options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS (one STATUS after
each selectable mailbox's LIST line, none for \\Noselect ones);
RECURSIVEMATCH alone and unknown options are BAD; LSUB with "%" lists
an unsubscribed parent of a subscribed name as \\Noselect (RFC 3501
6.3.9).
"""
import os
import shutil

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None


def setup():
    global I, PORT
    I = harness.Instance(name="imaplist")
    PORT = iu.imap_port(I, tls=True)


def fresh():
    md = iu.empty_maildir(I, DEMO)
    for f in os.listdir(md):
        if f.startswith(".") and os.path.isdir(os.path.join(md, f)):
            shutil.rmtree(os.path.join(md, f))
    for f in ("subscriptions",):
        if os.path.exists(os.path.join(md, f)):
            os.unlink(os.path.join(md, f))
    c = iu.session(PORT, I, tls=True)
    for name in ("Sent", "Trash", "Work", "Work/Alpha", "Work/Beta", "Home",
                 "Deep/Er/Est", "Gone"):
        c.ok("CREATE %s" % iu.quote(name))
    for name in ("Sent", "Work/Alpha", "Gone", "Deep/Er/Est", "INBOX"):
        c.ok("SUBSCRIBE %s" % iu.quote(name))
    c.ok("DELETE Gone")      # stays subscribed (RFC 9051 6.3.4)
    iu.put_message(I, DEMO, iu.sample("a"), flags="")
    iu.put_message(I, DEMO, iu.sample("b"), flags="S")
    return c


def lines(c, cmd, kind="LIST"):
    return [r for r in c.ok(cmd) if r.startswith("* %s " % kind) or r.startswith("* STATUS ")]


def test_subscribed_selection_and_nonexistent():
    c = fresh()
    got = lines(c, 'LIST (SUBSCRIBED) "" "*"')
    assert got == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Deep/Er/Est"',
        '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
        '* LIST (\\HasNoChildren \\Subscribed \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Work/Alpha"',
    ], got
    c.logout()


def test_recursivematch_childinfo():
    c = fresh()
    got = lines(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert got == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
        '* LIST (\\Noselect \\HasChildren) "/" "Deep" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
        '* LIST (\\HasNoChildren \\Subscribed \\Sent) "/" "Sent"',
        '* LIST (\\HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))',
    ], got
    for bad in ('LIST (RECURSIVEMATCH) "" "*"', 'LIST (NOPE) "" "*"',
                'LIST "" "*" RETURN (NOPE)', 'LIST "" "*" RETURN (STATUS (NOPE))'):
        u, t = c.cmd(bad)
        assert t.startswith("BAD"), (bad, t)
    c.logout()


def test_return_options_and_patterns():
    c = fresh()
    got = lines(c, 'LIST "" ("Work" "Work/*") RETURN (SUBSCRIBED CHILDREN)')
    assert got == [
        '* LIST (\\HasChildren) "/" "Work"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Work/Alpha"',
        '* LIST (\\HasNoChildren) "/" "Work/Beta"',
    ], got
    got = lines(c, 'LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)')
    assert got == ['* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
                   '* LIST (\\HasNoChildren \\Trash) "/" "Trash"'], got
    # the plain forms still work as before
    assert lines(c, 'LIST "" "Home"') == ['* LIST (\\HasNoChildren) "/" "Home"']
    c.logout()


def test_list_status():
    c = fresh()
    got = lines(c, 'LIST "" ("INBOX" "Deep*") RETURN (STATUS (MESSAGES UNSEEN))')
    assert got == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* STATUS INBOX (MESSAGES 2 UNSEEN 1)',
        '* LIST (\\Noselect \\HasChildren) "/" "Deep"',
        '* LIST (\\Noselect \\HasChildren) "/" "Deep/Er"',
        '* LIST (\\HasNoChildren) "/" "Deep/Er/Est"',
        '* STATUS "Deep/Er/Est" (MESSAGES 0 UNSEEN 0)',
    ], got
    c.logout()


def test_lsub_percent_lists_unsubscribed_parents_as_noselect():
    c = fresh()
    got = sorted(lines(c, 'LSUB "" "%"', "LSUB"))
    assert '* LSUB (\\Noselect) "/" "Work"' in got, got
    assert '* LSUB (\\Noselect) "/" "Deep"' in got, got
    assert not any('"Home"' in r for r in got), got
    got = lines(c, 'LSUB "" "*"', "LSUB")
    assert not any("\\Noselect" in r for r in got), got
    c.logout()


def test_has_children_when_a_sibling_sorts_between():
    """"A-b" sorts between "A" and "A/c" ('-' < '/'): A still has a child."""
    c = fresh()
    for name in ("A", "A-b", "A/c", "INBOX/Sub"):
        c.ok("CREATE %s" % iu.quote(name))
    got = lines(c, 'LIST "" ("A" "A-b" "INBOX")')
    assert got == ['* LIST (\\HasChildren) "/" INBOX',
                   '* LIST (\\HasChildren) "/" "A"',
                   '* LIST (\\HasNoChildren) "/" "A-b"'], got
    c.logout()


def test_fetch_vanished_with_saved_result():
    """UID FETCH $ ... (CHANGEDSINCE n VANISHED): VANISHED only for the
    UIDs of $ (RFC 7162 3.2.6 with RFC 5182)."""
    c = fresh()
    c.ok("ENABLE QRESYNC")
    for k in range(4):
        iu.put_message(I, DEMO, iu.sample("v%d" % k), flags="")
    c.select()
    uids = iu.search_result(c.ok("UID SEARCH ALL"))
    ms = int(c.ok("FETCH 1 (MODSEQ)")[0].split("MODSEQ (")[1].rstrip("))"))
    c.ok("UID SEARCH RETURN (SAVE) UID %d:%d" % (uids[0], uids[1]))
    c.ok("STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    c.ok("UID EXPUNGE %d,%d" % (uids[1], uids[3]))
    u = c.ok("UID FETCH $ (FLAGS) (CHANGEDSINCE %d VANISHED)" % ms)
    v = [r for r in u if r.startswith("* VANISHED (EARLIER)")]
    assert v == ["* VANISHED (EARLIER) %d" % uids[1]], u
    c.logout()
