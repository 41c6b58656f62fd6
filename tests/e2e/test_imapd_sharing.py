"""
tern-imapd, a selected mailbox whose files another program changes
behind the session's back (another IMAP session, tern-pop3d, mutt on the
Maildir): the session has not synced yet, so its view holds old file
names.  A STORE must add to the flags the file has now (not overwrite
them from the old view); FETCH, COPY and MOVE of a renamed message must
find it again by its base name instead of calling it expunged; EXPUNGE
must not remove a message whose \\Deleted another session took away.
(A file the directory scan misses while it is renamed is put back by
the uidlist's second look: tests/unit/test_mbox.c.)
"""
import os
import shutil
import re

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None


def setup():
    global I, PORT
    I = harness.Instance(name="imapshare")
    PORT = iu.imap_port(I, tls=True)


def fresh(n):
    iu.reset_maildir(I, DEMO)
    return [iu.put_message(I, DEMO, iu.sample("m%d" % k), flags="")
            for k in range(n)]


def session():
    c = iu.session(PORT, I, tls=True)
    c.select()
    return c


def rename_flags(path, letters):
    """What mutt does to change flags: rename cur/BASE:2,OLD to :2,NEW."""
    new = path.split(":2,")[0] + ":2," + letters
    os.rename(path, new)
    return new


def cur_names():
    return sorted(os.listdir(os.path.join(I.maildir(DEMO), "cur")))


def flags_line(untagged, seq):
    got = [r for r in untagged if r.startswith("* %d FETCH " % seq)]
    assert got, untagged
    m = re.search(r"FLAGS \(([^)]*)\)", got[-1])
    assert m, got
    return set(m.group(1).split())


def test_store_adds_to_the_flags_on_disk():
    paths = fresh(2)
    c = session()
    rename_flags(paths[0], "F")           # someone flags it meanwhile
    u = c.ok("STORE 1 +FLAGS (\\Answered)")
    assert flags_line(u, 1) == {"\\Answered", "\\Flagged"}, u
    assert any(n.endswith(":2,FR") for n in cur_names()), cur_names()
    # and taking a flag away keeps the other session's flag too
    rename_flags(os.path.join(I.maildir(DEMO), "cur",
                              [n for n in cur_names() if n.endswith(":2,FR")][0]),
                 "FRS")
    u = c.ok("STORE 1 -FLAGS (\\Answered)")
    assert flags_line(u, 1) == {"\\Flagged", "\\Seen"}, u
    assert any(n.endswith(":2,FS") for n in cur_names()), cur_names()
    c.logout()


def test_two_sessions_store_different_flags_on_one_message():
    fresh(1)
    a, b = session(), session()
    b.ok("STORE 1 +FLAGS (\\Flagged)")
    u = a.ok("STORE 1 +FLAGS (\\Seen)")     # a has not synced since
    assert flags_line(u, 1) == {"\\Flagged", "\\Seen"}, u
    u = b.ok("NOOP")
    assert flags_line(u, 1) == {"\\Flagged", "\\Seen"}, u
    names = cur_names()
    assert len(names) == 1 and names[0].endswith(":2,FS"), names
    a.logout()
    b.logout()


def test_fetch_body_of_a_renamed_message_sets_seen_and_keeps_flags():
    paths = fresh(1)
    data = open(paths[0], "rb").read()
    c = session()
    rename_flags(paths[0], "F")
    u, t = c.cmd("FETCH 1 (BODY[])")
    assert t.startswith("OK") and "EXPUNGEISSUED" not in t, (u, t)
    body = [r for r in u if r.startswith("* 1 FETCH ")]
    assert body and iu.served(data).decode() in body[0], u
    assert flags_line(u, 1) == {"\\Flagged", "\\Seen"}, u
    assert cur_names()[0].endswith(":2,FS"), cur_names()
    u = c.ok("FETCH 1 (INTERNALDATE)")
    assert any("INTERNALDATE" in r for r in u), u
    c.logout()


def test_copy_and_move_of_a_renamed_message():
    paths = fresh(2)
    c = session()
    c.ok("CREATE Keep")
    rename_flags(paths[0], "S")
    rename_flags(paths[1], "F")
    u, t = c.cmd("COPY 1 Keep")
    assert t.startswith("OK") and "COPYUID" in t, (u, t)
    u, t = c.cmd("MOVE 2 Keep")
    assert t.startswith("OK"), (u, t)
    assert any(re.match(r"\* 2 EXPUNGE$", r) for r in u), u
    keep = os.listdir(os.path.join(iu.folder_dir(I, DEMO, "Keep"), "cur"))
    assert len(keep) == 2, keep
    assert sorted(n.split(":2,")[1] for n in keep) == ["F", "S"], keep
    assert len(cur_names()) == 1, cur_names()
    c.logout()


def test_expunge_keeps_a_message_undeleted_meanwhile():
    paths = fresh(2)
    c = session()
    c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    names = cur_names()
    # another program takes \Deleted away from the first one
    first = [n for n in names if n.startswith(os.path.basename(paths[0]).split(":")[0])][0]
    rename_flags(os.path.join(I.maildir(DEMO), "cur", first), "")
    u = c.ok("EXPUNGE")
    assert [r for r in u if r.endswith(" EXPUNGE")] == ["* 2 EXPUNGE"], u
    assert len(cur_names()) == 1 and cur_names()[0].endswith(":2,"), cur_names()
    c.logout()


def test_folder_deleted_by_another_session_ends_the_session_cleanly():
    fresh(0)
    a, b = iu.session(PORT, I, tls=True), iu.session(PORT, I, tls=True)
    a.ok("CREATE Gone")
    iu.put_message(I, DEMO, iu.sample("g"), folder="Gone", flags="")
    a.select("Gone")
    b.ok("DELETE Gone")
    # a keyword makes STORE write tern-keywords into the folder that is
    # no longer there: no internal error, the session is told and ends
    u, t = a.cmd("STORE 1 +FLAGS (gonekw)")
    assert t.startswith("NO"), (u, t)
    assert any(r.startswith("* BYE [NONEXISTENT]") for r in u), u
    assert a.eof()
    assert "fatal" not in iu.log_text(I)
    b.logout()


def test_rename_of_the_selected_folder_is_refused():
    fresh(0)
    c = iu.session(PORT, I, tls=True)
    c.ok("CREATE Sel")
    c.ok("CREATE Sel/Child")
    c.select("Sel/Child")
    for src in ("Sel/Child", "Sel"):
        u, t = c.cmd("RENAME %s Other" % src)
        assert t.startswith("NO [INUSE]"), (src, t)
    c.ok("CLOSE")
    c.ok("RENAME Sel Other")
    c.logout()


def test_a_flags_line_longer_than_1k_is_sent_whole():
    fresh(1)
    c = session()
    kws = ["kw%02d_%s" % (k, "x" * 60) for k in range(26)]
    u = c.ok("STORE 1 +FLAGS (%s)" % " ".join(kws))
    flags = [r for r in u if r.startswith("* FLAGS ")]
    assert flags and all(k in flags[-1] for k in kws) and flags[-1].endswith(")"), flags
    assert flags_line(u, 1) == set(kws), u
    u, t = c.select()
    perm = [r for r in u if "PERMANENTFLAGS" in r]
    assert perm and all(k in perm[0] for k in kws), perm
    c.logout()


def test_a_keyword_made_by_another_session_is_announced():
    """RFC 9051 7.3.5: a new keyword changes the FLAGS list: the other
    session hears a new FLAGS response, then the FETCH naming it."""
    fresh(1)
    a, b = session(), session()
    b.ok("STORE 1 +FLAGS (FromB)")
    u = a.ok("NOOP")
    fl = [r for r in u if r.startswith("* FLAGS ")]
    assert fl and "FromB" in fl[0], u
    assert u.index(fl[0]) < [i for i, r in enumerate(u) if r.startswith("* 1 FETCH")][0], u
    assert flags_line(u, 1) == {"FromB"}, u
    u = a.ok("NOOP")
    assert not any(r.startswith("* FLAGS ") for r in u), u
    a.logout()
    b.logout()


def test_append_and_copy_into_the_selected_mailbox_are_recent():
    """RFC 3501 6.3.11 and 6.4.7: \\Recent on a message this session
    appended or copied into the mailbox it has selected."""
    fresh(1)
    c = session()
    u, t = c.cmd_lit(["APPEND INBOX (\\Seen)", iu.served(iu.sample("app")), ""])
    assert t.startswith("OK"), t
    u += c.ok("NOOP")
    assert "* 2 EXISTS" in u and "* 1 RECENT" in u, u
    u, t = c.cmd("COPY 1 INBOX")
    assert t.startswith("OK"), t
    u += c.ok("NOOP")
    assert "* 3 EXISTS" in u and "* 2 RECENT" in u, u
    f = iu.fetches(c.ok("FETCH 1:3 (FLAGS)"))
    assert "\\Recent" not in f[1]["FLAGS"] and "\\Recent" in f[2]["FLAGS"] and \
        "\\Recent" in f[3]["FLAGS"], f
    assert iu.search_result(c.ok("SEARCH RECENT")) == [2, 3]
    c.logout()


def test_store_with_a_keyword_named_by_another_session_tells_it():
    """B gives message 1 a new keyword; A (not synced) stores \\Flagged
    on it: A hears the FLAGS list with the keyword first, then the FETCH
    naming both."""
    fresh(1)
    a, b = session(), session()
    b.ok("STORE 1 +FLAGS (FromOther)")
    u = a.ok("STORE 1 +FLAGS (\\Flagged)")
    fl = [k for k, r in enumerate(u) if r.startswith("* FLAGS ") and "FromOther" in r]
    fe = [k for k, r in enumerate(u) if r.startswith("* 1 FETCH")]
    assert fl and fe and fl[0] < fe[0], u
    assert flags_line(u, 1) == {"\\Flagged", "FromOther"}, u
    # our own new keyword: FLAGS before the FETCH too
    u = a.ok("STORE 1 +FLAGS (BrandNew)")
    fl = [k for k, r in enumerate(u) if r.startswith("* FLAGS ") and "BrandNew" in r]
    fe = [k for k, r in enumerate(u) if r.startswith("* 1 FETCH")]
    assert fl and fe and fl[0] < fe[0], u
    a.logout()
    b.logout()


def test_rename_inbox_and_delete_without_tmp():
    """RENAME INBOX makes a folder with a new UIDVALIDITY (not one a
    deleted folder of that name had); DELETE works in a Maildir that has
    no tmp/ yet."""
    fresh(2)
    md = I.maildir(DEMO)
    c = iu.session(PORT, I, tls=True)
    c.ok("CREATE X")
    v1 = c.ok("STATUS X (UIDVALIDITY)")[0]
    c.ok("DELETE X")
    c.ok("RENAME INBOX X")
    u = c.ok("STATUS X (UIDVALIDITY MESSAGES)")
    assert u[0] != v1 and "MESSAGES 2" in u[0], (v1, u)
    shutil.rmtree(os.path.join(md, "tmp"))
    c.ok("CREATE Y")
    u, t = c.cmd("DELETE Y")
    assert t.startswith("OK"), t
    c.logout()


def test_recent_goes_to_the_first_session_that_sees_a_message():
    """RFC 3501 2.3.2: messages APPENDed or COPYed into a folder are
    \\Recent to the first session that selects it, to none after; EXAMINE
    sees them \\Recent without taking that away."""
    fresh(1)
    c = iu.session(PORT, I, tls=True)
    c.ok("CREATE Fresh")
    for k in range(2):
        u, t = c.cmd_lit(["APPEND Fresh", iu.served(iu.sample("r%d" % k)), ""])
        assert t.startswith("OK"), t
    c.select()
    c.ok("COPY 1 Fresh")
    e = iu.session(PORT, I, tls=True)
    u, t = e.select("Fresh", examine=True)
    assert "* 3 RECENT" in u, u
    e.logout()
    u, t = c.select("Fresh")
    assert "* 3 RECENT" in u, u
    assert iu.search_result(c.ok("SEARCH NEW")) == [1, 2, 3]
    d = iu.session(PORT, I, tls=True)
    u, t = d.select("Fresh")
    assert "* 0 RECENT" in u, u
    # a new one now: \Recent for c (it has the folder selected and sees
    # it first), not for d afterwards
    u, t = c.cmd_lit(["APPEND Fresh", iu.served(iu.sample("r9")), ""])
    assert t.startswith("OK"), t
    u = c.ok("NOOP")
    u = d.ok("NOOP")
    assert "* 4 EXISTS" in u and "* 0 RECENT" in u, u
    c.logout()
    d.logout()
