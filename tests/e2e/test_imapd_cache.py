"""
tern-imapd's settled-folder cache (tern-imapcache, lib/store/mdcache):
a SELECT of a folder unchanged since a settled scan reads the cache, not
new/, cur/ and tern-uidlist, and answers exactly as a scan would (EXISTS,
UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, the UIDs, flags and MODSEQs); any
change (a flag renamed by another program, a delivery, an expunge, a new
uidlist), a lost MODSEQ index or a corrupt cache makes it scan again and
see the change.  The folder's times are set into the past (os.utime) so
that it counts as settled without waiting.
"""
import os
import re
import time

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None


def setup():
    global I, PORT
    I = harness.Instance(name="imapcache")
    PORT = iu.imap_port(I, tls=True)


def md():
    return I.maildir(DEMO)


def age():
    """Make new/, cur/ and tern-uidlist look a minute old (settled)."""
    t = time.time() - 60
    for p in ("new", "cur", "tern-uidlist"):
        os.utime(os.path.join(md(), p), (t, t))


def fresh(n):
    d = iu.empty_maildir(I, DEMO)
    for f in ("tern-imapcache", "tern-keywords"):
        if os.path.exists(os.path.join(d, f)):
            os.unlink(os.path.join(d, f))
    return [iu.put_message(I, DEMO, iu.sample("c%d" % k),
                           flags="S" if k % 2 else "") for k in range(n)]


def selects():
    return re.findall(r"select user=\S+ mailbox=INBOX messages=(\d+)( readonly)?( cached)?",
                      iu.log_text(I))


def view(examine=False):
    """(SELECT's untagged data without the FLAGS lines, the FETCH data)
    and whether the log says the cache was used."""
    before = len(selects())
    c = iu.session(PORT, I, tls=True)
    c.ok("ENABLE CONDSTORE")
    u, t = c.select(examine=examine)
    f = c.ok("FETCH 1:* (UID FLAGS MODSEQ)")
    c.logout()
    after = selects()
    assert len(after) == before + 1, after
    data = sorted(r for r in u if not r.startswith("* FLAGS") and "PERMANENTFLAGS" not in r)
    return data, sorted(f), after[-1][2] == " cached"


def test_a_settled_folder_is_selected_from_the_cache_exactly_as_scanned():
    fresh(5)
    view()                       # makes tern-uidlist
    age()
    scanned = view()
    assert not scanned[2]
    assert os.path.exists(os.path.join(md(), "tern-imapcache"))
    cached = view()
    assert cached[2], "the second SELECT of a settled folder uses the cache"
    assert cached[:2] == scanned[:2], (cached, scanned)
    ex = view(examine=True)
    assert ex[2] and ex[1] == scanned[1], ex


def test_every_change_makes_it_scan_again():
    paths = fresh(4)
    view()
    age()
    view()
    assert view()[2]
    # another program adds \Flagged to the first message
    os.rename(paths[0], paths[0].split(":2,")[0] + ":2,F")
    data, fetch, cached = view()
    assert not cached
    assert any("\\Flagged" in r for r in fetch if r.startswith("* 1 FETCH")), fetch
    age()
    view()
    assert view()[2]
    # a delivery
    iu.put_message(I, DEMO, iu.sample("new one"))
    data, fetch, cached = view()
    assert not cached and "* 5 EXISTS" in data, data
    age()
    view()
    assert view()[2]
    # an expunge by another program
    os.unlink(paths[1])
    data, fetch, cached = view()
    assert not cached and "* 4 EXISTS" in data, data


def test_lost_index_or_corrupt_cache_falls_back_to_a_scan():
    fresh(3)
    view()
    age()
    view()
    data, fetch, cached = view()
    assert cached
    hms = [r for r in data if "HIGHESTMODSEQ" in r]
    os.unlink(os.path.join(md(), "tern-imapindex"))
    data2, fetch2, cached2 = view()
    assert not cached2, "a cache whose MODSEQs the index does not know is not used"
    hms2 = [r for r in data2 if "HIGHESTMODSEQ" in r]
    assert int(re.search(r"\d+", hms2[0]).group()) > int(re.search(r"\d+", hms[0]).group())
    age()
    view()
    assert view()[2]
    with open(os.path.join(md(), "tern-imapcache"), "r+b") as f:
        f.seek(40)
        f.write(b"\0garbage\n")
    data3, fetch3, cached3 = view()
    assert not cached3 and "* 3 EXISTS" in data3, data3


def test_envelope_from_the_header_cache_without_opening_the_messages():
    """FETCH ENVELOPE reads each message's header once; later sessions
    answer from tern-imaphdr: with every message file made unreadable
    they still give the same ENVELOPEs (and INTERNALDATE, RFC822.SIZE,
    FLAGS, which need no open either) and header SEARCHes on the cached
    fields; what needs the file (a body) gets NO and the session goes
    on."""
    fresh(0)
    for k in range(6):
        iu.put_message(I, DEMO, iu.sample("env %d" % k, extra="Cc: c%d@example.test\n"
                                          % k), flags="")
    c = iu.session(PORT, I, tls=True)
    c.select()
    first = c.ok("FETCH 1:* (ENVELOPE)")
    full = c.ok("FETCH 1:* (BODY.PEEK[HEADER])")
    c.logout()
    assert len(first) == 6 and all("ENVELOPE (" in r for r in first), first
    assert os.path.exists(os.path.join(md(), "tern-imaphdr"))
    assert '"env 3"' in first[3] and '"c3" "example.test"' in first[3], first[3]
    cur = os.path.join(md(), "cur")
    names = os.listdir(cur)
    for n in names:
        os.chmod(os.path.join(cur, n), 0)
    try:
        c = iu.session(PORT, I, tls=True)
        c.select()
        again = c.ok("FETCH 1:* (ENVELOPE)")
        assert again == first, (again, first)
        u = c.ok("FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
        assert len(u) == 6, u
        # (the files are unreadable to the session either way: it runs
        # as their owner, ternv as root or the test's user, and mode 000
        # keeps the owner out too)
        # header searches on the cached fields need no file either
        for key, want in (("SUBJECT \"env 4\"", [5]), ("CC c2@example.test", [3]),
                          ("FROM sender", [1, 2, 3, 4, 5, 6]),
                          ("HEADER Cc c5", [6]), ("OR SUBJECT \"env 0\" TO nobody", [1]),
                          ("NOT SUBJECT env", [])):
            got = iu.search_result(c.ok("SEARCH " + key))
            assert got == want, (key, got)
        u, t = c.cmd("FETCH 1 (BODY.PEEK[])")
        assert t.startswith("NO"), "the body needs the file: %r" % t
        u, t = c.cmd("SEARCH BODY hello")
        assert t.startswith("NO"), "so does a body search: %r" % t
        c.ok("NOOP")
        c.logout()
    finally:
        for n in names:
            os.chmod(os.path.join(cur, n), 0o600)
    # a damaged cache is dropped and rebuilt, with the same answers
    with open(os.path.join(md(), "tern-imaphdr"), "r+b") as f:
        f.seek(30)
        f.write(b"Z")
    c = iu.session(PORT, I, tls=True)
    c.select()
    assert c.ok("FETCH 1:* (ENVELOPE)") == first
    c.logout()
    assert full


def test_an_unreadable_cache_means_a_scan():
    fresh(2)
    view()
    age()
    p = os.path.join(md(), "tern-imapcache")
    if os.path.exists(p):
        os.unlink(p)
    os.mkdir(p)          # not a file: cannot be read
    try:
        for _ in range(2):
            data, fetch, cached = view()
            assert not cached and "* 2 EXISTS" in data, data
    finally:
        os.rmdir(p)


def make_cached():
    """Scan, settle, scan again: the next SELECT comes from the cache
    (asserted by one)."""
    view()
    age()
    view()
    assert view()[2]


def cached_select():
    """A settled folder whose next SELECT comes from the cache: a
    session after that SELECT, and the SELECT's untagged data."""
    make_cached()
    c = iu.session(PORT, I, tls=True)
    u, t = c.select()
    assert selects()[-1][2] == " cached", selects()[-1]
    return c, u


def test_changes_between_a_cached_select_and_the_next_command_are_told():
    """SELECT of a cached folder reads only the cache's header; the
    view is built by the next command, and whatever changed since the
    SELECT (a delivery, a flag another program set) is told then."""
    paths = fresh(3)
    c, u = cached_select()
    assert "* 3 EXISTS" in u, u
    iu.put_message(I, DEMO, iu.sample("after select"))
    os.rename(paths[0], paths[0].split(":2,")[0] + ":2,F")
    u, t = c.cmd("NOOP")
    assert t.startswith("OK") and "* 4 EXISTS" in u, u
    assert any(r.startswith("* 1 FETCH") and "\\Flagged" in r for r in u), u
    f = c.ok("UID FETCH 1:* (FLAGS)")
    assert len(f) == 4, f
    c.logout()
    # the same through a FETCH as the first command
    paths = fresh(3)
    c, u = cached_select()
    iu.put_message(I, DEMO, iu.sample("after select 2"))
    f = c.ok("FETCH 1:* (UID FLAGS)")
    assert "* 4 EXISTS" in f, f
    assert len([r for r in f if " FETCH " in r]) >= 3, f
    c.logout()


def test_a_cached_select_answers_as_a_scan_would_for_every_field():
    """EXISTS, RECENT, UNSEEN, UIDNEXT, UIDVALIDITY, HIGHESTMODSEQ and
    the FLAGS list (with keywords) from the header equal a scan's."""
    fresh(0)
    iu.put_message(I, DEMO, iu.sample("k0"), flags="S")
    iu.put_message(I, DEMO, iu.sample("k1"), flags="S")
    iu.put_message(I, DEMO, iu.sample("k2"), flags="")
    c = iu.session(PORT, I, tls=True)
    c.select()
    c.ok("STORE 1 +FLAGS ($Work)")
    c.logout()
    age()
    for examine in (False, True):
        scanned = view(examine)
        if not examine:
            assert not scanned[2], "the STORE above changed cur/: a scan"
        cached = view(examine)
        assert cached[2], "the second SELECT comes from the cache"
        assert cached[:2] == scanned[:2], (cached, scanned)
    c = iu.session(PORT, I, tls=True)
    u, t = c.select()
    assert any("$Work" in r for r in u if r.startswith("* FLAGS")), u
    assert "* OK [UNSEEN 3] First unseen" in u, u
    c.logout()


def test_an_index_changed_since_the_cache_means_a_scan():
    """The cache holds the index's MODSEQs; a record another session
    appended to tern-imapindex (here a \\Recent claim, which touches no
    directory) makes it stale."""
    fresh(3)
    make_cached()
    with open(os.path.join(md(), "tern-imapindex"), "a") as f:
        f.write("R 1\n")
    assert not view()[2]
    assert view()[2], "saved again after the scan"


def test_qresync_select_from_the_cache_tells_what_vanished():
    fresh(4)
    c = iu.session(PORT, I, tls=True)
    c.ok("ENABLE QRESYNC")
    u, t = c.select()
    validity = int(re.search(r"UIDVALIDITY (\d+)", " ".join(u)).group(1))
    modseq = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(u)).group(1))
    uids = iu.search_result(c.ok("UID SEARCH ALL"))
    c.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[1])
    c.ok("EXPUNGE")
    c.logout()
    age()
    view()
    assert view()[2]
    c = iu.session(PORT, I, tls=True)
    c.ok("ENABLE QRESYNC")
    u, t = c.cmd("SELECT INBOX (QRESYNC (%d %d))" % (validity, modseq))
    assert t.startswith("OK"), t
    assert selects()[-1][2] == " cached"
    assert "* VANISHED (EARLIER) %d" % uids[1] in u, u
    assert "* 3 EXISTS" in u, u
    f = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq)
    assert "* VANISHED (EARLIER) %d" % uids[1] in f, f
    c.logout()


def test_a_damaged_record_ends_the_session_and_the_next_select_scans():
    """A record that does not hold up (a name outside the file) is found
    when the view is built, after the SELECT told EXISTS: the session
    ends with BYE, the cache is removed, and the next SELECT scans."""
    fresh(3)
    make_cached()
    p = os.path.join(md(), "tern-imapcache")
    with open(p, "r+b") as f:
        f.seek(296 + 40 + 4)          # the second record's name offset
        f.write(b"\xff\xff\xff\x7f")
    c = iu.session(PORT, I, tls=True)
    u, t = c.select()
    assert "* 3 EXISTS" in u
    c.send(b"a1 FETCH 1:* (FLAGS)\r\n")
    r = c.response()
    assert r.startswith("* BYE"), r
    assert c.eof()
    assert not os.path.exists(p)
    assert "cache malformed" in iu.log_text(I)
    data, fetch, cached = view()
    assert not cached and "* 3 EXISTS" in data and len(fetch) == 3, (data, fetch)


def test_status_of_a_cached_folder_reads_no_directory():
    """STATUS of a folder its cache describes exactly comes from the
    cache's header: the same answer as a scan, with cur/ unreadable."""
    paths = fresh(4)
    os.rename(paths[2], paths[2].split(":2,")[0] + ":2,ST")
    view()
    age()
    items = "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)"
    c = iu.session(PORT, I, tls=True)
    scanned = c.ok("STATUS INBOX " + items)
    c.logout()
    view()                       # saves the cache
    assert view()[2]
    cur = os.path.join(md(), "cur")
    os.chmod(cur, 0)
    try:
        c = iu.session(PORT, I, tls=True)
        cached = c.ok("STATUS INBOX " + items)
        c.logout()
    finally:
        os.chmod(cur, 0o700)
    assert cached == scanned, (cached, scanned)
    assert "MESSAGES 4" in cached[0] and "DELETED 1" in cached[0], cached


def test_the_first_select_of_a_settled_folder_writes_the_cache():
    """new/ and cur/ are what must have settled: the first SELECT ever
    (which makes tern-uidlist and tern-imapindex) writes the cache, so
    the second is answered from it."""
    fresh(3)                     # no uidlist, no index, no cache
    t = time.time() - 60
    for p in ("new", "cur"):
        os.utime(os.path.join(md(), p), (t, t))
    first = view()
    assert not first[2]
    assert os.path.exists(os.path.join(md(), "tern-imapcache"))
    second = view()
    assert second[2] and second[:2] == first[:2], (first, second)


def test_a_new_uidlist_makes_the_cache_stale():
    """A tern-uidlist replaced by another program (here: a new
    UIDVALIDITY) no longer matches the cache's stamp: a scan, and the
    client sees the new UIDVALIDITY."""
    fresh(2)
    view()
    age()
    view()
    data, _, cached = view()
    assert cached
    p = os.path.join(md(), "tern-uidlist")
    with open(p) as f:
        text = f.read()
    head, rest = text.split("\n", 1)
    parts = head.split()
    parts[2] = str(int(parts[2]) + 1000)
    with open(p + ".new", "w") as f:
        f.write(" ".join(parts) + "\n" + rest)
    os.rename(p + ".new", p)
    data2, _, cached2 = view()
    assert not cached2
    assert "* OK [UIDVALIDITY %s] UIDs valid" % parts[2] in data2, data2


def test_a_damaged_record_under_qresync_means_a_scan_not_a_bye():
    """With QRESYNC the view is built at the SELECT, before EXISTS: a
    record that does not hold up there means a scan, and the session
    goes on."""
    fresh(3)
    make_cached()
    c = iu.session(PORT, I, tls=True)
    c.ok("ENABLE QRESYNC")
    u, t = c.select()
    validity = int(re.search(r"UIDVALIDITY (\d+)", " ".join(u)).group(1))
    modseq = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(u)).group(1))
    c.logout()
    assert view()[2]
    p = os.path.join(md(), "tern-imapcache")
    with open(p, "r+b") as f:
        f.seek(296 + 40 + 4)
        f.write(b"\xff\xff\xff\x7f")
    c = iu.session(PORT, I, tls=True)
    c.ok("ENABLE QRESYNC")
    u, t = c.cmd("SELECT INBOX (QRESYNC (%d %d))" % (validity, modseq))
    assert t.startswith("OK") and "* 3 EXISTS" in u, (u, t)
    assert selects()[-1][2] != " cached"
    assert len(c.ok("FETCH 1:* (FLAGS)")) == 3
    c.logout()


def test_switching_folders_keeps_watching_only_the_selected_one():
    """One inotify instance serves the session: after SELECT of another
    folder, a delivery into the first is not told, one into the second
    is, and back in the first its deliveries are told again."""
    fresh(2)
    c = iu.session(PORT, I, tls=True)
    u, t = c.cmd('CREATE "Switch"')
    c.select()
    u, t = c.select("Switch")
    assert "* 0 EXISTS" in u, u
    iu.put_message(I, DEMO, iu.sample("into inbox"))
    u, t = c.cmd("NOOP")
    assert not any("EXISTS" in r for r in u), u
    iu.put_message(I, DEMO, iu.sample("into switch"), folder="Switch")
    u, t = c.cmd("NOOP")
    assert "* 1 EXISTS" in u, u
    u, t = c.select()
    assert "* 3 EXISTS" in u, u
    iu.put_message(I, DEMO, iu.sample("inbox again"))
    u, t = c.cmd("NOOP")
    assert "* 4 EXISTS" in u, u
    c.logout()
