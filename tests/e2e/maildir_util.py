"""
maildir_util: messages put straight into an instance's Maildirs, shared
by the POP3 and IMAP tests (pop3_util and imap_util re-export these).

    md = make_maildir(inst, addr)              # as tern-deliverd makes it
    md = make_maildir(inst, addr, "Archive.2024")  # a Maildir++ folder
    path = put_message(inst, addr, sample("subj"))
    path = put_message(inst, addr, data, sub="cur", flags="S")

A file is named like lib/store/maildir.c names them (with ,S= and ,W=),
written in tmp/ and renamed into new/ or cur/, and owned by the mailbox
owner (ternv) when the tests run as root.
"""
import os
import shutil
import time

from harness import IS_ROOT, ids

_counter = [0]


def chown_owner(path):
    """As root: give path to the mailbox owner ternv."""
    if IS_ROOT:
        uid, gid = ids("ternv")
        os.chown(path, uid, gid)


def make_maildir(inst, addr, folder=None):
    """Create the Maildir of addr, or its Maildir++ folder (the on-disk
    name without the leading dot, e.g. "Archive.2024"), with every missing
    parent; its path."""
    md = inst.maildir(addr, folder)
    d = md
    parts = []
    while not os.path.isdir(d):
        parts.append(d)
        d = os.path.dirname(d)
    for p in reversed(parts):
        os.mkdir(p, 0o700)
        chown_owner(p)
    for sub in ("cur", "new", "tmp"):
        p = os.path.join(md, sub)
        if not os.path.isdir(p):
            os.mkdir(p, 0o700)
            chown_owner(p)
    return md


def maildir_name(data, sizes=True, t=None):
    """A unique name like lib/store/maildir.c's, with ,S= and ,W= when sizes."""
    _counter[0] += 1
    t = time.time() if t is None else t
    base = "%d.M%06dP%dQ%d.e2e.example.test" % (int(t), int((t % 1) * 1e6),
                                                  os.getpid(), _counter[0])
    if sizes:
        base += ",S=%d,W=%d" % (len(data), len(data) + data.count(b"\n"))
    return base


def put_message(inst, addr, data, sub="new", name=None, sizes=True,
                folder=None, flags=None, mtime=None):
    """Write one message (bytes, LF line ends as on disk) into the Maildir
    of addr (or its folder); returns its path.  flags: Maildir letters
    for a message in cur/ (":2,FLAGS"; implies sub="cur").  mtime: the
    file's modification time (what a Maildir server takes as the
    internal date)."""
    md = make_maildir(inst, addr, folder)
    if flags is not None:
        sub = "cur"
    if name is None:
        name = maildir_name(data, sizes)
        if sub == "cur":
            name += ":2," + "".join(sorted(flags or ""))
    tmp = os.path.join(md, "tmp", name.split(":")[0])
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    chown_owner(tmp)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    path = os.path.join(md, sub, name)
    os.rename(tmp, path)
    return path


def empty_maildir(inst, addr, folder=None):
    """Remove every message, tern-uidlist (a fresh UIDVALIDITY next
    time) and tern-imapd's MODSEQ index from the Maildir of addr or its
    folder."""
    md = make_maildir(inst, addr, folder)
    for sub in ("new", "cur", "tmp"):
        for f in os.listdir(os.path.join(md, sub)):
            os.unlink(os.path.join(md, sub, f))
    for f in ("tern-uidlist", "tern-imapindex", "tern-imapindex.lock",
              "tern-imapcache", "tern-imaphdr"):
        try:
            os.unlink(os.path.join(md, f))
        except FileNotFoundError:
            pass
    return md


def reset_maildir(inst, addr):
    """empty_maildir, and every folder, tern-keywords and subscriptions
    gone: a mailbox as new (the UIDVALIDITY record stays, as in life)."""
    md = empty_maildir(inst, addr)
    for f in os.listdir(md):
        p = os.path.join(md, f)
        if f.startswith(".") and os.path.isdir(p):
            shutil.rmtree(p)
    for f in ("tern-keywords", "subscriptions"):
        try:
            os.unlink(os.path.join(md, f))
        except FileNotFoundError:
            pass
    return md


def served(data):
    """The bytes a server sends for a message stored as data (LF ends):
    CRLF line ends (no dot-stuffing: that is POP3 transport)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def sample(subject, body="hello\n", to="demo@example.test", extra=""):
    """A small message with LF line ends, as tern-deliverd stores one;
    extra: more header lines ("Name: value\\n" each)."""
    if isinstance(body, str):
        body = body.encode()
    return (("From: sender@example.org\nTo: %s\nSubject: %s\n"
             "Message-ID: <%s@e2e.example.test>\n%s\n" % (to, subject, subject, extra))
            .encode() + body)


def info_flags(path):
    """The Maildir flag letters of a file name ("" without ":2,")."""
    name = os.path.basename(path)
    return name.split(":2,", 1)[1] if ":2," in name else ""


def base_name(path):
    return os.path.basename(path).split(":", 1)[0]


def read_uidlist(md):
    """(uidvalidity, uidnext, {uid: base}) from md/tern-uidlist, or None."""
    try:
        with open(os.path.join(md, "tern-uidlist")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    head = lines[0].split()
    assert head[:2] == ["tern-uidlist", "1"], lines[0]
    m = {}
    for l in lines[1:]:
        uid, base = l.split(" ", 1)
        m[int(uid)] = base
    return int(head[2]), int(head[3]), m
