"""
tern-imapd with real clients from Debian: mbsync (isync) two-way sync of
folders, flags and deletions in both directions, then again with
nothing changed; offlineimap3 (implicit TLS) the same way in short; curl
lists and fetches over imap:// with STARTTLS required and over imaps://;
fetchmail (STARTTLS, certificate checked) and getmail6 (implicit TLS)
retrieve mail, keeping or deleting it; neomutt, driven through a pty
(script(1): it has no batch mode for reading), reads a message and saves
it to another folder.  A client that is not installed is a skip naming
its package (scripts/check installs them).
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile

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
