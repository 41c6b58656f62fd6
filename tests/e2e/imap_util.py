"""
imap_util: tern-imapd in the end-to-end tests.

    port = imap_port(inst)            # tcpserver -H -R + tern-imapd (STARTTLS)
    port = imap_port(inst, tls=True)  # tern-imapd -T (implicit TLS, 993)
    with IMAPRaw(port, inst) as c:    # a raw client: responses as sent
        c.starttls(); c.login("demo@example.test", "demo")
        untagged, tagged = c.cmd("SELECT INBOX")
        assert tagged.startswith("OK [READ-WRITE]")

A response is one str (latin-1, so bytes map 1:1) without its final
CRLF; a literal in it stays as sent ("{5}\\r\\nhello").  parse() turns
the data of a response into lists (NIL is None, strings and atoms str),
fetch() a "* N FETCH (...)" into (N, {ITEM: value}).

Mail goes into the Maildirs with maildir_util (put_message, re-exported
here) or through the real path with inst.start() and tern-sendmail.
"""
import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess

import harness
from harness import IS_ROOT
from maildir_util import (make_maildir, maildir_name, put_message,  # noqa: F401 (re-exported)
                          served, sample, empty_maildir, reset_maildir, info_flags,
                          base_name, read_uidlist)

DEMO = "demo@example.test"
LINE_MAX = 1 << 20          # the longest response line the client reads
LITERAL_MAX = 64 << 20      # the largest literal it accepts from the server


def ensure_imapd_user():
    """As root: imapd_user (terni) must exist; scripts/mkusers makes it."""
    if not IS_ROOT:
        return
    try:
        pwd.getpwnam("terni")
        return
    except KeyError:
        pass
    r = subprocess.run(["sh", os.path.join(harness.REPO, "scripts", "mkusers")],
                       capture_output=True, timeout=60)
    try:
        pwd.getpwnam("terni")
    except KeyError:
        raise AssertionError("user terni missing after scripts/mkusers: %s"
                             % r.stderr.decode("utf-8", "replace"))


def install(inst):
    """The built tern-imapd in inst.bin (copied if the harness did not)."""
    ensure_imapd_user()
    dst = os.path.join(inst.bin, "tern-imapd")
    if not os.path.exists(dst):
        src = os.path.join(harness.BUILD, "imapd", "tern-imapd")
        if not os.path.exists(src):
            raise AssertionError("tern-imapd is not built (no %s)" % src)
        shutil.copy2(src, dst)
        os.chmod(dst, 0o755)
    return dst


def imap_port(inst, tls=False, env=None):
    """Start tcpserver with tern-imapd (-T when tls) on a free 127.0.0.1
    port; return the port.  Logs go to log/imapd.log."""
    prog = install(inst)
    argv = [prog] + (["-T"] if tls else []) + ["-C", inst.etc]
    return inst.tcpserve(argv, "imapd.log", env=env)


def imapd_pids(inst, port):
    """tern-imapd processes under the tcpserver of port: {pid: info}."""
    for p, pt in inst.tcpservers:
        if pt == port:
            return {pid: i for pid, i in harness.descendants(p.pid).items()
                    if harness.prog_name(i) in ("tern-imapd", "tern-imap-session")}
    return {}


def log_text(inst):
    try:
        with open(inst.path("log", "imapd.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def folder_dir(inst, addr, name):
    """The Maildir++ directory of IMAP folder name ("Archive/2024" ->
    Maildir/.Archive.2024); INBOX is the Maildir."""
    if name.upper() == "INBOX":
        return inst.maildir(addr)
    return inst.maildir(addr, name.replace("/", "."))


# ---------------------------------------------------------------- parsing

class Atom(str):
    """An atom (or number) in parsed data, as opposed to a string."""


def parse(text, pos=0, depth=0):
    """Parse IMAP data (RFC 3501 9: atoms, numbers, NIL, "quoted",
    {n} literals, (lists)) from text[pos:] into a list of values: lists,
    None for NIL, Atom for atoms, str for strings.  An atom with a
    section (BODY[HEADER.FIELDS (A B)]<0>) is one Atom."""
    out, pos = _items(text, pos, depth, None)
    return out


def _items(text, pos, depth, close):
    if depth > 50:
        raise AssertionError("response nested too deeply: %r" % text[:200])
    out = []
    n = len(text)
    while True:
        while pos < n and text[pos] == " ":
            pos += 1
        if pos >= n:
            if close is not None:
                raise AssertionError("unbalanced parentheses in %r" % text[:300])
            return out, pos
        c = text[pos]
        if c == ")":
            if close is None:
                raise AssertionError("unexpected ')' at %d in %r" % (pos, text[:300]))
            return out, pos + 1
        if c == "(":
            sub, pos = _items(text, pos + 1, depth + 1, ")")
            out.append(sub)
        elif c == '"':
            pos += 1
            s = []
            while True:
                if pos >= n:
                    raise AssertionError("unterminated string in %r" % text[:300])
                ch = text[pos]
                if ch == "\\":
                    s.append(text[pos + 1])
                    pos += 2
                elif ch == '"':
                    pos += 1
                    break
                else:
                    s.append(ch)
                    pos += 1
            out.append("".join(s))
        elif c == "{":
            m = re.compile(r"\{(\d+)\}\r\n").match(text, pos)
            if not m:
                raise AssertionError("bad literal at %d in %r" % (pos, text[:300]))
            k = int(m.group(1))
            out.append(text[m.end():m.end() + k])
            pos = m.end() + k
        else:
            start = pos
            while pos < n and text[pos] not in ' ()"{':
                if text[pos] == "[":
                    e = text.find("]", pos)
                    if e < 0:
                        raise AssertionError("unclosed [ in %r" % text[:300])
                    pos = e
                pos += 1
            word = text[start:pos]
            out.append(None if word.upper() == "NIL" else Atom(word))
    return out, pos


def fetch(resp):
    """(seq, {ITEM: value}) of an untagged "* N FETCH (...)"; item names
    upper case (sections as sent inside the brackets)."""
    m = re.match(r"\* (\d+) FETCH \(", resp)
    assert m, "not a FETCH response: %r" % resp[:200]
    data = parse(resp, m.end() - 1)
    assert len(data) == 1 and isinstance(data[0], list), resp[:300]
    items = data[0]
    assert len(items) % 2 == 0, "odd FETCH item list: %r" % resp[:300]
    d = {}
    for i in range(0, len(items), 2):
        k = items[i]
        assert isinstance(k, Atom), "FETCH item name %r" % (k,)
        kk = k.upper() if "[" not in k else k[:k.index("[")].upper() + k[k.index("["):]
        assert kk not in d, "item %s twice in %r" % (kk, resp[:300])
        d[kk] = items[i + 1]
    return int(m.group(1)), d


def fetches(untagged):
    """{seq: items} of the FETCH responses among untagged lines (items of
    several responses for one message are merged)."""
    out = {}
    for r in untagged:
        if re.match(r"\* \d+ FETCH ", r):
            n, d = fetch(r)
            out.setdefault(n, {}).update(d)
    return out


def numbers(untagged, word):
    """The numbers of "* N WORD" lines, in order (e.g. EXPUNGE, EXISTS)."""
    return [int(m.group(1)) for m in
            (re.match(r"\* (\d+) %s$" % word, r) for r in untagged) if m]


def search_result(untagged):
    """The numbers of the one "* SEARCH ..." line."""
    lines = [r for r in untagged if r == "* SEARCH" or r.startswith("* SEARCH ")]
    assert len(lines) == 1, "want one SEARCH response: %r" % untagged
    return [int(x) for x in lines[0].split()[2:]]


def code(line, name):
    """The arguments of response code [NAME ...] in line (a str, "" for a
    code without arguments), or None."""
    m = re.search(r"\[%s(?: ([^\]]*))?\]" % re.escape(name), line)
    return None if m is None else (m.group(1) or "")


def uid_set(text):
    """The UIDs of a uid-set like "3:5,9" (RFC 4315), in order."""
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out += list(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


def flag_set(v):
    """A FLAGS value (list of atoms) as a set of str, \\Recent left out."""
    assert isinstance(v, list), "FLAGS %r" % (v,)
    return {str(f) for f in v if str(f).lower() != "\\recent"}


def apply_expunges(seq, nums):
    """The list seq (message n at seq[n-1]) after "* n EXPUNGE" for each of
    nums in order (RFC 3501 7.4.1: each renumbers the ones after it)."""
    seq = list(seq)
    for n in nums:
        assert 1 <= n <= len(seq), "EXPUNGE %d of %d messages" % (n, len(seq))
        del seq[n - 1]
    return seq


# ---------------------------------------------------------------- client

class IMAPRaw(harness.RawConn):
    """A plain-socket IMAP client that returns responses exactly as sent
    (CRLF checked and removed), for RFC-exact checks."""

    def __init__(self, port, inst=None, tls=False, timeout=10):
        self.inst = inst
        self.ntag = 0
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            sock = inst.ssl_context().wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.f = sock.makefile("rb")
        self.greeting = self.response()

    def tag(self):
        self.ntag += 1
        return "a%03d" % self.ntag

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _line(self):
        raw = self.f.readline(LINE_MAX)
        if not raw:
            raise AssertionError("connection closed while waiting for a response")
        if not raw.endswith(b"\r\n"):
            raise AssertionError("response line not ended by CRLF: %r" % raw[:300])
        return raw

    def response(self):
        """One whole response (a line and the literals it announces)."""
        out = []
        while True:
            raw = self._line()
            out.append(raw)
            m = re.search(rb"\{(\d+)\}\r\n$", raw)
            if not m:
                break
            n = int(m.group(1))
            assert n <= LITERAL_MAX, "literal of %d octets" % n
            data = self.f.read(n)
            assert len(data) == n, "connection closed inside a literal"
            out.append(data)
        return b"".join(out)[:-2].decode("latin-1")

    def settimeout(self, t):
        self.sock.settimeout(t)

    def until_tagged(self, tag):
        """Read responses until the tagged one of tag: (untagged, text of
        the tagged response without the tag).  A continuation request is
        an error here."""
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + " "):
                return untagged, r[len(tag) + 1:]
            if r.startswith("+"):
                raise AssertionError("unexpected continuation %r (after %r)"
                                     % (r, untagged[-3:]))
            if not r.startswith("* "):
                raise AssertionError("response neither tagged %s nor untagged: %r"
                                     % (tag, r[:200]))
            untagged.append(r)

    def until_all(self, tags):
        """Read until every tag of tags is completed, in any order (RFC
        3501 5.5): (all untagged responses, {tag: tagged text})."""
        untagged, done = [], {}
        while len(done) < len(tags):
            r = self.response()
            t = r.split(" ", 1)[0]
            if t in tags:
                assert t not in done, "%s completed twice" % t
                done[t] = r[len(t) + 1:]
            elif r.startswith("* "):
                untagged.append(r)
            else:
                raise AssertionError("unexpected response %r" % r[:200])
        return untagged, done

    def cmd(self, line):
        """Send "TAG line" and wait for its completion: (untagged, tagged
        text)."""
        t = self.tag()
        self.send("%s %s\r\n" % (t, line))
        return self.until_tagged(t)

    def ok(self, line, prefix="OK"):
        """cmd(line), asserting the tagged text starts with prefix;
        returns the untagged responses."""
        u, t = self.cmd(line)
        assert t.startswith(prefix), "%s -> %r (untagged %r)" % (line[:80], t, u[-5:])
        return u

    def cmd_lit(self, parts):
        """A command with synchronizing literals: parts alternate text and
        literal bytes ("APPEND INBOX", b"...", "" ...).  Each literal is
        sent only after the server's "+" continuation; if the server
        answers with a tagged response instead, that is returned."""
        t = self.tag()
        text = t + " " + parts[0]
        for i in range(1, len(parts), 2):
            lit = parts[i]
            if isinstance(lit, str):
                lit = lit.encode("latin-1")
            self.send("%s {%d}\r\n" % (text, len(lit)))
            r = self.response()
            if r.startswith(t + " "):
                return [], r[len(t) + 1:]
            assert r.startswith("+"), "want a continuation, got %r" % r
            self.send(lit)
            text = parts[i + 1] if i + 1 < len(parts) else ""
        self.send(text + "\r\n")
        return self.until_tagged(t)

    def wait_untagged(self, pred, timeout=5.0):
        """Read responses until pred(response) holds; every response read
        (the match last).  AssertionError on timeout."""
        seen = []
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            while True:
                try:
                    r = self.response()
                except (socket.timeout, TimeoutError):
                    raise AssertionError("no matching response within %.1fs; got %r"
                                         % (timeout, seen))
                seen.append(r)
                if pred(r):
                    return seen
        finally:
            self.sock.settimeout(old)

    def starttls(self):
        u, t = self.cmd("STARTTLS")
        assert t.startswith("OK"), "STARTTLS -> %r" % t
        assert not u, "untagged before STARTTLS's OK: %r" % u
        self.sock = self.inst.ssl_context().wrap_socket(self.sock,
                                                       server_hostname="localhost")
        self.f = self.sock.makefile("rb")

    def login(self, user=DEMO, password="demo"):
        u, t = self.cmd("LOGIN %s %s" % (quote(user), quote(password)))
        assert t.startswith("OK"), "LOGIN -> %r" % t
        return t

    def select(self, box="INBOX", examine=False):
        """SELECT (or EXAMINE) box: (untagged, tagged), asserting OK."""
        u, t = self.cmd("%s %s" % ("EXAMINE" if examine else "SELECT", quote(box)))
        assert t.startswith("OK"), "SELECT %s -> %r" % (box, t)
        return u, t

    def capabilities(self):
        u = self.ok("CAPABILITY")
        caps = [r for r in u if r.startswith("* CAPABILITY ")]
        assert len(caps) == 1, u
        return caps[0].split()[2:]

    def logout(self):
        u, t = self.cmd("LOGOUT")
        assert any(r.startswith("* BYE") for r in u), "LOGOUT without BYE: %r" % u
        assert t.startswith("OK"), t
        assert self.eof()

    def eof(self, timeout=5):
        """True once the server closed the connection."""
        self.sock.settimeout(timeout)
        try:
            return self.f.readline() == b""
        except (OSError, ssl.SSLError):
            return True


def quote(s):
    """s as an IMAP quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def session(port, inst, tls=False, user=DEMO, password="demo"):
    """A logged-in IMAPRaw (STARTTLS first unless tls)."""
    c = IMAPRaw(port, inst, tls=tls)
    if not tls:
        c.starttls()
    c.login(user, password)
    return c


def imaplib_client(port, inst, tls=False, login=True):
    """python's imaplib, over implicit TLS or after STARTTLS, logged in as
    demo when login."""
    if tls:
        m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=inst.ssl_context(),
                              timeout=10)
    else:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=10)
        m.starttls(ssl_context=inst.ssl_context())
    if login:
        m.login(DEMO, "demo")
    return m
