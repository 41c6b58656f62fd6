"""
tern-imapd with real clients from Debian: mbsync (isync) two-way sync of
folders, flags and deletions in both directions, then again with
nothing changed; offlineimap3 (implicit TLS) the same way in short; curl
lists and fetches over imap:// with STARTTLS required and over imaps://;
fetchmail (STARTTLS, certificate checked) and getmail6 (implicit TLS)
retrieve mail, keeping or deleting it; neomutt, driven through a pty
(script(1): it has no batch mode for reading), reads a message and saves
it to another folder; imapfilter (implicit TLS, the certificate checked
against the test CA with -t) moves the unseen messages whose Subject
contains "invoice" to a folder Bills it creates on NO [TRYCREATE] (UID
COPY, COPYUID checked against Bills, UID STORE \\Deleted, EXPUNGE; flags
kept) and flags the ones from a sender, and deletes mail older than 30
days by INTERNALDATE (SEARCH BEFORE, the files' mtime) or sent before a
day (SENTBEFORE, the Date: field's own day); a second run changes
nothing.  A client that is not installed is a skip naming its package
(scripts/check installs them).
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None
TLS_PORT = None


def setup():
    global I, PORT, TLS_PORT
    I = harness.Instance(name="imapcli")
    PORT = iu.imap_port(I)
    TLS_PORT = iu.imap_port(I, tls=True)


def scratch():
    d = tempfile.mkdtemp(prefix="client.", dir=I.dir)
    os.chmod(d, 0o755)
    return d


def reset():
    """Empty INBOX and remove every folder of demo."""
    md = iu.empty_maildir(I, DEMO)
    for f in os.listdir(md):
        p = os.path.join(md, f)
        if f.startswith(".") and os.path.isdir(p):
            shutil.rmtree(p)
    for f in ("subscriptions", "tern-keywords"):
        try:
            os.unlink(os.path.join(md, f))
        except FileNotFoundError:
            pass


def put(subject, folder=None, flags=""):
    return iu.put_message(I, DEMO, iu.sample(subject, "body of %s\n" % subject),
                          folder=folder, flags=flags)


def subject_of(data):
    m = re.search(rb"(?im)^Subject: (.*?)\r?$", data)
    return m.group(1).decode() if m else ""


def server_view():
    """{folder: {subject: (uid, flags)}} of demo's mailboxes, read over
    IMAP (EXAMINE: nothing changes); flags without \\Recent."""
    out = {}
    with iu.session(TLS_PORT, I, tls=True) as c:
        names = []
        for r in c.ok('LIST "" "*"'):
            v = iu.parse(r, 7)
            if "\\noselect" not in {str(a).lower() for a in v[0]}:
                names.append(v[2])
        for n in names:
            c.select(n, examine=True)
            u = c.ok("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            box = {}
            for d in iu.fetches(u).values():
                s = subject_of(d["BODY[HEADER.FIELDS (SUBJECT)]"].encode("latin-1"))
                assert s not in box, "%s twice in %s" % (s, n)
                box[s] = (int(d["UID"]), frozenset(iu.flag_set(d["FLAGS"])))
            out[n] = box
        c.logout()
    return out


def flags_only(view):
    return {f: {s: fl for s, (_, fl) in box.items()} for f, box in view.items()}


def local_view(root):
    """{folder: {subject: flag letters}} and the sorted file names of a
    client's Maildirs under root (folders by their directory name)."""
    out, names = {}, []
    for dirpath, dirs, files in os.walk(root):
        if os.path.basename(dirpath) not in ("cur", "new"):
            continue
        folder = os.path.relpath(os.path.dirname(dirpath), root)
        box = out.setdefault(folder, {})
        for f in files:
            if f.startswith("."):
                continue
            with open(os.path.join(dirpath, f), "rb") as fh:
                s = subject_of(fh.read())
            assert s not in box, "%s twice in local %s" % (s, folder)
            box[s] = "".join(sorted(f.split(":2,", 1)[1])) if ":2," in f else ""
            names.append(os.path.join(folder, os.path.basename(dirpath), f))
    for dirpath, dirs, files in os.walk(root):
        if {"cur", "new", "tmp"} <= set(dirs):
            out.setdefault(os.path.relpath(dirpath, root), {})
    return out, sorted(names)


def run(argv, env=None, timeout=60, what=None):
    r = subprocess.run(argv, capture_output=True, env=env or I.env(), timeout=timeout,
                       stdin=subprocess.DEVNULL)
    text = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, "%s exited %d:\n%s\n--- imapd.log:\n%s" % (
        what or argv[0], r.returncode, text[-3000:], iu.log_text(I)[-1500:])
    return text


LETTER = {"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F", "\\Deleted": "T",
          "\\Draft": "D"}


def as_letters(view):
    return {f: {s: "".join(sorted(LETTER[x] for x in fl if x in LETTER))
                for s, fl in box.items()} for f, box in flags_only(view).items()}


# ---------------------------------------------------------------- mbsync

def mbsync_rc(d, local):
    rc = os.path.join(d, "mbsyncrc")
    with open(rc, "w") as f:
        f.write("IMAPAccount tern\n"
                "Host localhost\nPort %d\n"
                "User %s\nPass demo\n"
                "SSLType STARTTLS\nSSLVersions TLSv1.2 TLSv1.3\n"
                "CertificateFile %s\nSystemCertificates no\n\n"
                "IMAPStore remote\nAccount tern\n\n"
                "MaildirStore local\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
                "Channel sync\nFar :remote:\nNear :local:\nPatterns *\n"
                "Create Both\nRemove Both\nExpunge Both\nSyncState *\n"
                % (PORT, DEMO, I.cafile, local, local))
    os.chmod(rc, 0o600)
    return rc


def test_mbsync_two_way_folders_flags_deletions():
    exe = harness.need_tool("mbsync", "isync")
    reset()
    put("in-1", flags="S")
    put("in-2")
    put("in-3")
    put("ar-1", folder="Archive", flags="F")
    d = scratch()
    local = os.path.join(d, "mail")
    os.mkdir(local)
    rc = mbsync_rc(d, local)
    env = I.env({"HOME": d})
    sync = lambda: run([exe, "-c", rc, "-a"], env=env, what="mbsync")  # noqa: E731

    sync()
    lv, _ = local_view(local)
    assert lv == {"INBOX": {"in-1": "S", "in-2": "", "in-3": ""},
                  "Archive": {"ar-1": "F"}}, lv
    assert as_letters(server_view()) == lv

    # local changes: a flag, a deletion, a new message, a new folder
    inbox = os.path.join(local, "INBOX")
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(inbox, sub)):
            p = os.path.join(inbox, sub, f)
            s = subject_of(open(p, "rb").read())
            if s == "in-2":
                base, _, fl = f.partition(":2,")
                os.rename(p, os.path.join(inbox, "cur", base + ":2," + "".join(sorted(fl + "F"))))
            elif s == "in-3":
                os.unlink(p)
    lm = os.path.join(local, "Archive", "new", "1700000000.local1.e2e")
    with open(lm, "wb") as f:
        f.write(iu.sample("local-ar", "made by the client\n"))
    lf = os.path.join(local, "Local")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(lf, sub))
    with open(os.path.join(lf, "new", "1700000000.local2.e2e"), "wb") as f:
        f.write(iu.sample("local-folder"))
    # server changes: a flag, an expunge, a delivery
    with iu.session(TLS_PORT, I, tls=True) as c:
        c.select()
        u = c.ok("SEARCH SUBJECT in-1")
        c.ok("STORE %d +FLAGS.SILENT (\\Answered)" % iu.search_result(u)[0])
        c.select("Archive")
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        c.logout()
    put("in-4")

    sync()
    want = {"INBOX": {"in-1": "RS", "in-2": "F", "in-4": ""},
            "Archive": {"local-ar": ""},
            "Local": {"local-folder": ""}}
    sv = server_view()
    assert as_letters(sv) == want, as_letters(sv)
    lv, names = local_view(local)
    assert lv == want, lv
    assert os.path.isdir(I.maildir(DEMO, "Local")), "no .Local on the server"

    # again: nothing changes on either side
    sync()
    assert server_view() == sv, "the second sync changed the server"
    lv2, names2 = local_view(local)
    assert (lv2, names2) == (lv, names), "the second sync changed the local side"


# ---------------------------------------------------------------- offlineimap

def test_offlineimap_sync_and_flag_back():
    exe = harness.need_tool("offlineimap", "offlineimap3")
    reset()
    put("oi-1", flags="S")
    put("oi-2")
    put("oi-ar", folder="Archive")
    d = scratch()
    local = os.path.join(d, "mail")
    rc = os.path.join(d, "offlineimaprc")
    with open(rc, "w") as f:
        f.write("[general]\naccounts = tern\nmetadata = %s/meta\n\n"
                "[Account tern]\nlocalrepository = local\nremoterepository = remote\n\n"
                "[Repository local]\ntype = Maildir\nlocalfolders = %s\n\n"
                "[Repository remote]\ntype = IMAP\nremotehost = localhost\nremoteport = %d\n"
                "remoteuser = %s\nremotepass = demo\nssl = yes\n"
                "sslcacertfile = %s\nssl_version = tls1_2\n"
                "createfolders = True\n"
                % (d, local, TLS_PORT, DEMO, I.cafile))
    env = I.env({"HOME": d})
    sync = lambda: run([exe, "-c", rc, "-o", "-u", "basic"], env=env,  # noqa: E731
                       what="offlineimap")
    sync()
    lv, _ = local_view(local)
    assert lv == {"INBOX": {"oi-1": "S", "oi-2": ""}, "Archive": {"oi-ar": ""}}, lv
    # a flag set by the client reaches the server
    cur = os.path.join(local, "INBOX", "cur")
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(local, "INBOX", sub)):
            p = os.path.join(local, "INBOX", sub, f)
            if subject_of(open(p, "rb").read()) == "oi-2":
                base = f.split(":2,")[0]
                os.rename(p, os.path.join(cur, base + ":2,F"))
    sync()
    assert as_letters(server_view()) == {"INBOX": {"oi-1": "S", "oi-2": "F"},
                                         "Archive": {"oi-ar": ""}}
    sv = server_view()
    lv, names = local_view(local)
    sync()
    assert server_view() == sv and local_view(local) == (lv, names), \
        "the third sync changed something"


# ---------------------------------------------------------------- curl

def curl(url, port, *extra):
    exe = harness.need_tool("curl")
    r = subprocess.run([exe, "-sS", "--cacert", I.cafile,
                        "--resolve", "localhost:%d:127.0.0.1" % port,
                        "-u", DEMO + ":demo"] + list(extra) + [url],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, "curl %s exited %d: %s" % (url, r.returncode,
                                                          r.stderr.decode())
    return r.stdout


def test_curl_imap_starttls_and_imaps():
    reset()
    paths = [put("curl-1"), put("curl-2")]
    iu.make_maildir(I, DEMO, "Archive")
    msgs = [iu.served(open(p, "rb").read()) for p in paths]
    listing = curl("imap://localhost:%d/" % PORT, PORT, "--ssl-reqd").decode()
    lines = listing.split("\r\n")
    assert lines[-1] == "", listing
    names = [iu.parse(l, 7)[2] for l in lines[:-1]]
    assert sorted(names) == ["Archive", "INBOX"], listing
    assert all(l.startswith("* LIST (") and ' "/" ' in l for l in lines[:-1]), listing
    with iu.session(TLS_PORT, I, tls=True) as c:
        c.select(examine=True)
        u = c.ok("FETCH 1:2 (UID)")
        uids = [int(d["UID"]) for n, d in sorted(iu.fetches(u).items())]
        c.logout()
    got = [curl("imap://localhost:%d/INBOX;UID=%d" % (PORT, uid), PORT, "--ssl-reqd")
           for uid in uids]
    assert got == msgs
    got = curl("imaps://localhost:%d/INBOX;UID=%d" % (TLS_PORT, uids[1]), TLS_PORT)
    assert got == msgs[1]
    # a search through curl: the untagged SEARCH line
    out = curl("imaps://localhost:%d/INBOX?SUBJECT%%20curl-2" % TLS_PORT, TLS_PORT).decode()
    assert out.strip() == "* SEARCH 2", out
    # plain imap:// without TLS must not log in (LOGINDISABLED)
    exe = harness.need_tool("curl")
    r = subprocess.run([exe, "-sS", "-u", DEMO + ":demo", "imap://127.0.0.1:%d/" % PORT],
                       capture_output=True, timeout=30)
    assert r.returncode != 0, "a plaintext login succeeded"


# ---------------------------------------------------------------- fetchmail

def fill(n, tag):
    reset()
    subjects = ["%s-%d" % (tag, i) for i in range(n)]
    for s in subjects:
        iu.put_message(I, DEMO, iu.sample(s, "body of %s\n" % s))
    return subjects


def retrieved(path, subjects):
    with open(path, "rb") as f:
        data = f.read()
    missing = [s for s in subjects if ("Subject: %s\n" % s).encode() not in data]
    assert not missing, "not retrieved: %s\n%s" % (missing, data[:1000])
    return data


def fetchmail(keep):
    exe = harness.need_tool("fetchmail")
    d = scratch()
    out = os.path.join(d, "fetched.mbox")
    rc = os.path.join(d, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('poll localhost via 127.0.0.1 port %d protocol imap\n'
                '  user "%s" there with password "demo" is root here\n'
                '  sslproto tls1.2+ sslcertck sslcertfile "%s" sslcommonname localhost\n'
                '  folder INBOX fetchall %s\n'
                '  mda "/bin/sh -c \'cat >> %s\'"\n'
                % (PORT, DEMO, I.cafile, "keep" if keep else "no keep", out))
    os.chmod(rc, 0o600)
    text = run([exe, "-f", rc, "--nodetach", "--nosyslog", "-v"],
               env=I.env({"HOME": d, "FETCHMAILHOME": d}), what="fetchmail")
    assert "IMAP> " in text and "STARTTLS" in text, text[-3000:]
    return out


def test_fetchmail_imap_keep():
    subjects = fill(3, "fm-keep")
    retrieved(fetchmail(keep=True), subjects)
    files = I.mail_files(DEMO)
    assert len(files) == 3, "keep: the mail must stay"
    # fetchmail marks what it retrieved \Seen
    assert all("S" in iu.info_flags(p) for p in files), files


def test_fetchmail_imap_delete():
    subjects = fill(2, "fm-del")
    retrieved(fetchmail(keep=False), subjects)
    assert I.mail_files(DEMO) == [], "no keep: the mail must be gone"


# ---------------------------------------------------------------- getmail6

def getmail(delete):
    exe = harness.need_tool("getmail", "getmail6")
    d = scratch()
    gd = os.path.join(d, "getmail")
    os.mkdir(gd)
    out = os.path.join(d, "got.mbox")
    open(out, "wb").close()
    dest_user = ""
    if harness.IS_ROOT:
        nobody = pwd.getpwnam("nobody")
        os.chown(out, nobody.pw_uid, nobody.pw_gid)
        dest_user = "user = nobody\n"
    with open(os.path.join(gd, "getmailrc"), "w") as f:
        f.write("[retriever]\ntype = SimpleIMAPSSLRetriever\nserver = localhost\n"
                "port = %d\nusername = %s\npassword = demo\nca_certs = %s\n"
                "mailboxes = (\"INBOX\",)\n\n"
                "[destination]\ntype = Mboxrd\npath = %s\n%s\n"
                "[options]\nread_all = true\ndelete = %s\n"
                % (TLS_PORT, DEMO, I.cafile, out, dest_user, "true" if delete else "false"))
    text = run([exe, "--getmaildir", gd, "--rcfile", "getmailrc"],
               env=I.env({"HOME": d}), what="getmail")
    assert "error" not in text.lower(), text[-3000:]
    return out


def test_getmail_imaps_keep():
    subjects = fill(3, "gm-keep")
    retrieved(getmail(delete=False), subjects)
    assert len(I.mail_files(DEMO)) == 3


def test_getmail_imaps_delete():
    subjects = fill(2, "gm-del")
    retrieved(getmail(delete=True), subjects)
    assert I.mail_files(DEMO) == []


# ---------------------------------------------------------------- neomutt

def test_neomutt_reads_and_moves_a_message():
    exe = harness.need_tool("neomutt")
    script = harness.need_tool("script", "bsdutils")
    reset()
    put("nm-read-me")
    iu.make_maildir(I, DEMO, "Archive")
    d = scratch()
    rc = os.path.join(d, "neomuttrc")
    with open(rc, "w") as f:
        f.write('set folder="imaps://demo%%40example.test@localhost:%d/"\n'
                'set imap_pass="demo"\nset spoolfile="+INBOX"\n'
                'set ssl_ca_certificates_file="%s"\nset ssl_force_tls=yes\n'
                'set header_cache=""\nset message_cachedir=""\n'
                'set confirmappend=no\nset confirmcreate=no\nset move=no\n'
                'set delete=yes\nset quit=yes\nset wait_key=no\nset beep=no\n'
                'set mail_check_stats=no\nset imap_check_subscribed=no\n'
                'set pager_stop=yes\nset sleep_time=0\n'
                % (TLS_PORT, I.cafile))
    keys = "<display-message><exit><save-message>=Archive<enter><sync-mailbox><quit>"
    cmd = "%s -n -F %s -e 'push \"%s\"'" % (exe, rc, keys)
    env = I.env({"HOME": d, "TERM": "vt100", "COLUMNS": "80", "LINES": "24"})
    r = subprocess.run([script, "-qec", cmd, os.path.join(d, "typescript")],
                       capture_output=True, env=env, timeout=45, stdin=subprocess.DEVNULL)
    screen = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode == 0, "neomutt exited %d:\n%s" % (r.returncode, screen[-2000:])
    # on the server: INBOX empty, the message in Archive, read (\Seen)
    sv = as_letters(server_view())
    assert sv["INBOX"] == {} and sv["Archive"] == {"nm-read-me": "S"}, (sv, screen[-1500:])


# ---------------------------------------------------------------- imapfilter

def letter(subject, frm="sender@example.org", date=None, body=None):
    """A message from frm with subject (and a Date: field when date)."""
    mid = re.sub(r"[^A-Za-z0-9]+", ".", subject).strip(".")
    return ("From: %s\nTo: %s\nSubject: %s\n%sMessage-ID: <%s@e2e.example.test>\n\n%s"
            % (frm, DEMO, subject, "Date: %s\n" % date if date else "", mid,
               body or "body of %s\n" % subject)).encode()


def imapfilter(d, lua, run_no):
    """Run imapfilter on the Lua configuration lua (the account is
    `tern`, over implicit TLS, certificate checked against the test CA
    with -t); HOME and IMAPFILTER_HOME in the scratch directory d.
    Returns (output, the -d protocol log)."""
    exe = harness.need_tool("imapfilter")
    cfg = os.path.join(d, "config.lua")
    with open(cfg, "w") as f:
        f.write("options.timeout = 30\noptions.info = true\n"
                "tern = IMAP {\n    server = 'localhost',\n    port = %d,\n"
                "    username = '%s',\n    password = 'demo',\n    ssl = 'auto',\n}\n"
                % (TLS_PORT, DEMO) + lua)
    os.chmod(cfg, 0o600)
    dbg = os.path.join(d, "debug.%d" % run_no)
    # -t: the CA file to check the server's certificate against (with the
    # host name, 'localhost').  Without it imapfilter would ask on a
    # terminal to accept an unknown certificate and store it in
    # $HOME/.imapfilter/certificates; with no terminal it gives up.
    r = subprocess.run([exe, "-c", cfg, "-t", I.cafile, "-d", dbg],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                       env=I.env({"HOME": d, "IMAPFILTER_HOME": os.path.join(d, ".imapfilter")}))
    text = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    try:
        with open(dbg, "rb") as f:
            log = f.read().decode("latin-1")
    except FileNotFoundError:
        log = ""
    assert r.returncode == 0, "imapfilter exited %d:\n%s\n--- protocol:\n%s" % (
        r.returncode, text[-2000:], log[-3000:])
    assert not os.path.exists(os.path.join(d, ".imapfilter", "certificates")), \
        "imapfilter stored a certificate: it did not verify the server's"
    return text, log


def tagged_replies(log):
    """[(command, tagged reply)] from imapfilter's -d log: each command
    it sent and the line completing it (the same tag)."""
    sent = {}
    out = []
    for m in re.finditer(r"sending command \(\d+\):\n\n([^\r\n]*)", log):
        t, _, rest = m.group(1).partition(" ")
        sent[t] = rest
    for m in re.finditer(r"(?m)^(\S+) (OK|NO|BAD)\b([^\r\n]*)", log):
        if m.group(1) in sent:
            out.append((sent[m.group(1)], m.group(2) + m.group(3)))
    assert out, "no tagged replies in the log:\n%s" % log[-3000:]
    return out


def uids_by_subject(c, box):
    c.select(box, examine=True)
    u = c.ok("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = {}
    for d in iu.fetches(u).values():
        s = subject_of(d["BODY[HEADER.FIELDS (SUBJECT)]"].encode("latin-1"))
        out[s] = (int(d["UID"]), frozenset(iu.flag_set(d["FLAGS"])))
    return out


def disk_view(folder=None):
    """{subject: flag letters} of demo's Maildir (or folder) on disk, and
    the sorted file names."""
    box, names = {}, []
    for p in I.mail_files(DEMO, folder):
        with open(p, "rb") as f:
            s = subject_of(f.read())
        assert s not in box, "%s twice on disk" % s
        box[s] = "".join(sorted(iu.info_flags(p)))
        names.append(os.path.relpath(p, I.maildir(DEMO)))
    return box, names


def test_imapfilter_moves_and_flags_by_rule():
    harness.need_tool("imapfilter")
    reset()
    boss = "Big Boss <boss@example.net>"
    mail = [("Your invoice 1001", "billing@shop.example", ""),
            ("INVOICE 1002 overdue", "billing@shop.example", "FR"),  # case: SEARCH is
            ("invoice 1003 paid", "billing@shop.example", "S"),      # case-insensitive
            ("lunch on friday", "friend@example.org", ""),
            ("quarterly numbers", boss, ""),
            ("re: invoicing", boss, "S"),         # "invoic" but not "invoice"
            ("invoice from the boss", boss, ""),
            ("no subject match", "billing@shop.example", None)]
    for s, frm, fl in mail:
        body = "the invoice is attached\n" if s == "no subject match" else None
        iu.put_message(I, DEMO, letter(s, frm, body=body), flags=fl)
    with iu.session(TLS_PORT, I, tls=True) as c:
        before = uids_by_subject(c, "INBOX")
        c.logout()
    assert len(before) == len(mail), before
    lua = ("inbox = tern.INBOX\n"
           "inbox:is_unseen():contain_subject('invoice'):move_messages(tern.Bills)\n"
           "inbox:contain_from('boss@example.net'):mark_flagged()\n")
    d = scratch()
    out, log = imapfilter(d, lua, 1)
    moved = ["Your invoice 1001", "INVOICE 1002 overdue", "invoice from the boss"]
    assert "3 messages moved from" in out, out

    replies = tagged_replies(log)
    bad = [(c, r) for c, r in replies if not r.startswith("OK")
           and not (c.startswith("UID COPY") and r.startswith("NO [TRYCREATE]"))]
    assert not bad, "refused commands: %r\n%s" % (bad, log[-3000:])
    # Bills did not exist: the first UID COPY is NO [TRYCREATE] (RFC 3501
    # 6.4.7), imapfilter creates it and copies again; COPYUID (RFC 4315)
    copies = [(c, r) for c, r in replies if c.startswith("UID COPY ")]
    assert [r.split()[:2] for c, r in copies] == [["NO", "[TRYCREATE]"], ["OK", "[COPYUID"]], \
        copies
    assert any(c == 'CREATE "Bills"' and r.startswith("OK") for c, r in replies), replies
    cmd, reply = copies[1]
    src_set = cmd.split()[2]
    m = re.match(r"OK \[COPYUID (\d+) (\S+) (\S+)\]", reply)
    assert m, reply
    src, dst = iu.uid_set(m.group(2)), iu.uid_set(m.group(3))
    assert sorted(src) == iu.uid_set(src_set) == sorted(before[s][0] for s in moved), \
        (cmd, reply, before)

    # on the server: exactly those in Bills, with their flags, under the
    # UIDs COPYUID named; gone from INBOX; the boss's mail flagged
    with iu.session(TLS_PORT, I, tls=True) as c:
        u, _ = c.select("Bills", examine=True)
        assert iu.code("\n".join(u), "UIDVALIDITY") == m.group(1), u
        bills = uids_by_subject(c, "Bills")
        inbox = uids_by_subject(c, "INBOX")
        c.logout()
    want_flags = {s: frozenset({"F": "\\Flagged", "R": "\\Answered", "S": "\\Seen"}[x]
                               for x in fl or "") for s, _, fl in mail}
    assert bills == {s: (dst[src.index(before[s][0])], want_flags[s]) for s in moved}, \
        (bills, reply)
    assert inbox == {s: (before[s][0], want_flags[s] | ({"\\Flagged"} if frm == boss else set()))
                     for s, frm, fl in mail if s not in moved}, inbox
    # on disk: the same
    dv_in, names_in = disk_view()
    dv_bills, names_bills = disk_view("Bills")
    assert dv_bills == {"Your invoice 1001": "", "INVOICE 1002 overdue": "FR",
                        "invoice from the boss": ""}, dv_bills
    assert dv_in == {"invoice 1003 paid": "S", "lunch on friday": "",
                     "quarterly numbers": "F", "re: invoicing": "FS",
                     "no subject match": ""}, dv_in

    # again: nothing to move, the flags are already there; nothing changes
    sv = server_view()
    out2, log2 = imapfilter(d, lua, 2)
    replies2 = tagged_replies(log2)
    assert not [(c, r) for c, r in replies2 if not r.startswith("OK")], log2[-3000:]
    cmds = [c.split()[:2] for c, r in replies2]
    assert ["UID", "COPY"] not in cmds and ["EXPUNGE"] not in cmds, cmds
    assert server_view() == sv, "the second run changed the server"
    assert (disk_view(), disk_view("Bills")) == ((dv_in, names_in), (dv_bills, names_bills))


def test_imapfilter_deletes_old_mail():
    harness.need_tool("imapfilter")
    reset()
    now = time.time()
    day = 86400
    recent = "Mon, 02 Jun 2025 10:00:00 +0000"
    mail = [("arrived 40 days ago", now - 40 * day, recent),      # BEFORE: deleted
            ("arrived 20 days ago", now - 20 * day, recent),
            ("arrived today", now, recent),
            ("sent in 2000", now, "Fri, 01 Dec 2000 12:00:00 +0000"),  # SENTBEFORE
            # the Date: field's own day counts (RFC 3501 6.4.4: time and
            # zone disregarded): 31 Dec 2000, though 1 Jan 2001 in UTC
            ("sent 31 Dec late", now, "Sun, 31 Dec 2000 23:30:00 -0100"),
            # and 1 Jan 2001, though 31 Dec 2000 in UTC: kept
            ("sent 1 Jan early", now, "Mon, 01 Jan 2001 00:30:00 +0100")]
    for s, mt, date in mail:
        iu.put_message(I, DEMO, letter(s, date=date), mtime=mt)
    lua = ("inbox = tern.INBOX\n"
           "old = inbox:is_older(30) + inbox:sent_before('01-Jan-2001')\n"
           "old:delete_messages()\n")
    d = scratch()
    out, log = imapfilter(d, lua, 1)
    assert "3 messages deleted in" in out, out
    replies = tagged_replies(log)
    assert not [(c, r) for c, r in replies if not r.startswith("OK")], log[-3000:]
    searches = [c for c, r in replies if c.startswith("UID SEARCH ")]
    assert any(" BEFORE " in c and "SENTBEFORE" not in c for c in searches), searches
    assert any(" SENTBEFORE 01-Jan-2001" in c for c in searches), searches
    assert any(c == "EXPUNGE" for c, r in replies), replies
    kept = {"arrived 20 days ago": "", "arrived today": "", "sent 1 Jan early": ""}
    dv, names = disk_view()
    assert dv == kept, dv
    with iu.session(TLS_PORT, I, tls=True) as c:
        assert set(uids_by_subject(c, "INBOX")) == set(kept)
        c.logout()
    # again: nothing is old enough any more
    out2, log2 = imapfilter(d, lua, 2)
    cmds = [c.split()[:2] for c, r in tagged_replies(log2)]
    assert ["UID", "STORE"] not in cmds and ["EXPUNGE"] not in cmds, cmds
    assert disk_view() == (dv, names)
