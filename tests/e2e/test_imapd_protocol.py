"""
tern-imapd, the protocol (RFC 3501, with RFC 2177 IDLE, 2971 ID, 4315
UIDPLUS, 4959 SASL-IR, 5161 ENABLE, 5530 response codes, 6154
SPECIAL-USE, 6851 MOVE, 7888 LITERAL+, 8438 STATUS=SIZE): python's imaplib
over STARTTLS and implicit TLS, and a raw client for the exact responses:
the greeting and capabilities before and after TLS, LOGIN/AUTHENTICATE
and their failures, literals (synchronizing and LITERAL+), an over-long
literal refused before a byte is sent, pipelining, malformed input
answered BAD with the session going on, SELECT/EXAMINE data, FETCH items
and sections, STORE and the flags on disk, EXPUNGE/CLOSE/UNSELECT, the
SEARCH keys, APPEND, COPY/MOVE with COPYUID, the UID commands, folders
(Maildir++ with "/" shown), LIST/LSUB/NAMESPACE/STATUS, IDLE, UIDs shared
with tern-pop3d, and the login timeout.
"""
import base64
import datetime
import os
import re
import shutil
import socket
import ssl
import time

import harness
import imap_util as iu
import pop3_util as pu
from imap_util import IMAPRaw, DEMO

I = None
PORT = None       # STARTTLS
TLS_PORT = None   # implicit TLS (-T)
SYSFLAGS = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"}


def setup():
    global I, PORT, TLS_PORT
    I = harness.Instance(name="imap", conf={"auth_fail_delay": "1",
                                            "auth_max_failures": "3"})
    PORT = iu.imap_port(I)
    TLS_PORT = iu.imap_port(I, tls=True)


def session(tls=True):
    """A logged-in raw session (implicit TLS, or STARTTLS)."""
    return iu.session(TLS_PORT if tls else PORT, I, tls=tls)


def fresh(msgs=(), flags=None):
    """Empty INBOX and every folder; put msgs (bytes, LF ends) into cur/
    (not \\Recent) with flags[i] (Maildir letters), in UID order."""
    md = iu.empty_maildir(I, DEMO)
    for f in os.listdir(md):
        if f.startswith(".") and os.path.isdir(os.path.join(md, f)):
            shutil.rmtree(os.path.join(md, f))
    for name in ("subscriptions", "tern-keywords"):
        try:
            os.unlink(os.path.join(md, name))
        except FileNotFoundError:
            pass
    paths = []
    for i, m in enumerate(msgs):
        paths.append(iu.put_message(I, DEMO, m, flags=(flags[i] if flags else "")))
    return paths


def crlf(data):
    return iu.served(data).decode("latin-1")


def uidvalidity_of(untagged):
    v = [iu.code(r, "UIDVALIDITY") for r in untagged if iu.code(r, "UIDVALIDITY")]
    assert len(v) == 1, untagged
    return int(v[0])


def uids_of(c):
    """The UIDs of the selected mailbox, in sequence order."""
    f = iu.fetches(c.ok("FETCH 1:* (UID)"))
    return [int(f[n]["UID"]) for n in sorted(f)]


def caps_of(line):
    m = re.search(r"\[CAPABILITY ([^\]]*)\]", line)
    assert m, "no CAPABILITY code in %r" % line
    return m.group(1).split()


# ---------------------------------------------------------------- not authenticated

def test_greeting_capability_starttls():
    with IMAPRaw(PORT, I) as c:
        assert re.match(r"\* OK \[CAPABILITY [^\]]+\] \S", c.greeting), c.greeting
        greet = caps_of(c.greeting)
        caps = c.capabilities()
        assert caps == greet, (caps, greet)
        for need in ("IMAP4rev1", "STARTTLS", "LOGINDISABLED", "LITERAL+", "SASL-IR",
                     "ID", "ENABLE", "IDLE"):
            assert need in caps, "%s not in %s" % (need, caps)
        # RFC 3501 6.2.3 / 7.2.1: no plaintext mechanism before TLS
        assert not [x for x in caps if x.upper().startswith("AUTH=")], caps
        c.starttls()
        # RFC 3501 6.2.1: the client must discard what it knew; ask again
        caps = c.capabilities()
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
        assert "AUTH=PLAIN" in caps and "IMAP4rev1" in caps, caps
        u, t = c.cmd("STARTTLS")
        assert t.startswith("BAD"), "STARTTLS under TLS -> %r" % t
        c.logout()


def test_starttls_command_injection():
    """Bytes after STARTTLS in the same packet are not commands inside
    TLS (CVE-2011-0411 class; RFC 3501 6.2.1): refused, or dropped."""
    with IMAPRaw(PORT, I) as c:
        c.send('s1 STARTTLS\r\ns2 LOGIN "%s" "demo"\r\n' % DEMO)
        r = c.response()
        if r.startswith("s1 BAD") or r.startswith("s1 NO"):
            # still plaintext: the pipelined LOGIN runs as a plaintext
            # command, and so is refused like one
            r = c.response()
            assert r.startswith("s2 NO") or r.startswith("s2 BAD"), r
            u, t = c.cmd("NOOP")
            assert t.startswith("OK"), t
            return
        assert r.startswith("s1 OK"), r
        try:
            c.sock = I.ssl_context().wrap_socket(c.sock, server_hostname="localhost")
        except (OSError, ssl.SSLError):
            return    # the stray bytes broke the handshake: safe as well
        c.f = c.sock.makefile("rb")
        u, t = c.cmd("NOOP")
        assert not [x for x in u if x.startswith("s2 ")], u
        caps = c.capabilities()
        assert "AUTH=PLAIN" in caps, "injected LOGIN ran: %s" % caps
        u, t = c.cmd("SELECT INBOX")
        assert t.startswith("BAD") or t.startswith("NO"), "logged in by injection: %r" % t


def test_capability_after_login_lists_extensions():
    with session() as c:
        caps = c.capabilities()
        for need in ("IMAP4rev1", "LITERAL+", "IDLE", "UIDPLUS", "MOVE", "NAMESPACE",
                     "SPECIAL-USE", "ID", "ENABLE", "UNSELECT", "STATUS=SIZE"):
            assert need in caps, "%s not in %s" % (need, caps)
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps
        c.logout()


def test_plaintext_login_refused_before_tls():
    with IMAPRaw(PORT, I) as c:
        u, t = c.cmd('LOGIN "%s" "demo"' % DEMO)
        assert t.startswith("NO [PRIVACYREQUIRED]"), t
        ir = base64.b64encode(b"\0" + DEMO.encode() + b"\0demo").decode()
        u, t = c.cmd("AUTHENTICATE PLAIN " + ir)
        assert t.startswith("NO"), t
        # nothing was logged in: a selected-state command is refused
        u, t = c.cmd("SELECT INBOX")
        assert t.startswith("BAD") or t.startswith("NO"), t
        c.logout()


def test_allow_plaintext_auth():
    inst = harness.Instance(name="imapplain", conf={"allow_plaintext_auth": "yes"})
    try:
        port = iu.imap_port(inst)
        with IMAPRaw(port, inst) as c:
            caps = caps_of(c.greeting)
            assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps, caps
            assert "STARTTLS" in caps
            t = c.login()
            assert t.startswith("OK"), t
            c.select()
            c.logout()
    finally:
        inst.close()


def test_imaplib_starttls_login_select_fetch():
    msgs = [iu.sample("lib-%d" % i, "body %d\n" % i) for i in range(2)]
    fresh(msgs)
    m = iu.imaplib_client(PORT, I, tls=False, login=False)
    try:
        assert "STARTTLS" not in m.capabilities
        typ, data = m.login(DEMO, "demo")
        assert typ == "OK", data
        typ, data = m.select("INBOX")
        assert typ == "OK" and data == [b"2"], (typ, data)
        typ, data = m.fetch("2", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == iu.served(msgs[1]), data
        typ, data = m.search(None, "ALL")
        assert data == [b"1 2"], data
        typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
        assert typ == "OK" and len([d for d in data if d]) == 2, data
        typ, data = m.list()
        assert typ == "OK" and any(b'"INBOX"' in l or l.endswith(b" INBOX") for l in data), data
        m.close()
    finally:
        m.logout()


def test_imaplib_implicit_tls_authenticate_plain():
    fresh([iu.sample("tls-auth")])
    m = iu.imaplib_client(TLS_PORT, I, tls=True, login=False)
    try:
        assert "AUTH=PLAIN" in m.capabilities, m.capabilities
        # imaplib sends AUTHENTICATE PLAIN and answers the continuation
        typ, data = m.authenticate("PLAIN", lambda _: b"\0" + DEMO.encode() + b"\0demo")
        assert typ == "OK", data
        typ, data = m.status("INBOX", "(MESSAGES)")
        assert typ == "OK" and data in ([b'INBOX (MESSAGES 1)'],
                                        [b'"INBOX" (MESSAGES 1)']), data
    finally:
        m.logout()


def test_authenticate_sasl_ir_continuation_cancel():
    fresh()
    ok = base64.b64encode(b"\0" + DEMO.encode() + b"\0demo").decode()
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        u, t = c.cmd("AUTHENTICATE CRAM-MD5")
        assert t.startswith("NO"), "unsupported mechanism -> %r" % t
        tag = c.tag()
        c.send(tag + " AUTHENTICATE PLAIN\r\n")
        r = c.response()
        assert r == "+ " or r == "+", "want an empty challenge, got %r" % r
        c.send("*\r\n")
        u, t = c.until_tagged(tag)
        assert t.startswith("BAD"), "cancelled -> %r" % t   # RFC 3501 6.2.2
        tag = c.tag()
        c.send(tag + " AUTHENTICATE PLAIN\r\n")
        assert c.response().startswith("+")
        c.send("not base64!\r\n")
        u, t = c.until_tagged(tag)
        assert t.startswith("BAD") or t.startswith("NO"), "bad base64 -> %r" % t
        # SASL-IR (RFC 4959): the response on the command line
        u, t = c.cmd("AUTHENTICATE PLAIN " + ok)
        assert t.startswith("OK"), t
        u, t = c.cmd("LOGIN a b")
        assert t.startswith("BAD"), "LOGIN when authenticated -> %r" % t
        c.select()
        c.logout()
    # the continuation form with authzid = authcid (RFC 4616)
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        tag = c.tag()
        c.send(tag + " AUTHENTICATE PLAIN\r\n")
        assert c.response().startswith("+")
        c.send(base64.b64encode(("%s\0%s\0demo" % (DEMO, DEMO)).encode()).decode() + "\r\n")
        u, t = c.until_tagged(tag)
        assert t.startswith("OK"), t
        c.logout()


def test_login_failures_delayed_counted_logged():
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        t0 = time.monotonic()
        u, t = c.cmd('LOGIN "%s" "wrong-secret-1"' % DEMO)
        assert t.startswith("NO [AUTHENTICATIONFAILED]"), t
        assert time.monotonic() - t0 >= 0.9, "no auth_fail_delay"
        u, t = c.cmd('LOGIN "nobody@example.test" "wrong-secret-2"')
        assert t.startswith("NO [AUTHENTICATIONFAILED]"), t   # the same answer
        ir = base64.b64encode(b"\0" + DEMO.encode() + b"\0wrong-secret-3").decode()
        u, t = c.cmd("AUTHENTICATE PLAIN " + ir)
        assert t.startswith("NO"), t
        assert any(r.startswith("* BYE") for r in u), "no BYE after 3 failures: %r" % u
        assert c.eof()
    log = iu.log_text(I)
    assert "wrong-secret" not in log, "a password in the log"
    assert "user=%s" % DEMO in log and "user=nobody@example.test" in log, log[-1500:]
    # the bare local part is not a login name
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        u, t = c.cmd('LOGIN "demo" "demo"')
        assert t.startswith("NO"), t
        c.logout()


def test_login_with_synchronizing_literals():
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        u, t = c.cmd_lit(["LOGIN", DEMO, "", "demo", ""])
        assert t.startswith("OK"), t
        c.logout()


def test_literal_plus_no_continuation():
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        tag = c.tag()
        # RFC 7888: {n+} needs no "+"; the whole command goes at once
        c.send("%s LOGIN {%d+}\r\n%s {4+}\r\ndemo\r\n" % (tag, len(DEMO), DEMO))
        u, t = c.until_tagged(tag)
        assert t.startswith("OK"), t
        c.logout()


def test_overlong_literal_refused_before_any_byte():
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        # before login: a literal far beyond any password
        tag = c.tag()
        c.send("%s LOGIN {1000000}\r\n" % tag)
        r = c.response()
        assert r.startswith(tag + " NO") or r.startswith(tag + " BAD"), \
            "an over-long literal -> %r (no byte of it was sent)" % r
        u, t = c.cmd("NOOP")
        assert t.startswith("OK"), t
        c.login()
        c.select()
        tag = c.tag()
        c.send("%s APPEND INBOX {99999999999}\r\n" % tag)
        r = c.response()
        assert r.startswith(tag + " NO") or r.startswith(tag + " BAD"), r
        u, t = c.cmd("NOOP")
        assert t.startswith("OK"), "the session must go on: %r" % t
        c.logout()


def test_pipelined_commands():
    fresh([iu.sample("pipe-%d" % i) for i in range(2)])
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        c.send('p1 LOGIN "%s" "demo"\r\np2 SELECT INBOX\r\np3 FETCH 1:2 (UID)\r\n'
               'p4 NOOP\r\np5 SEARCH ALL\r\np6 LOGOUT\r\n' % DEMO)
        # RFC 3501 5.5: the completions may come in another order
        u, done = c.until_all(["p1", "p2", "p3", "p4", "p5", "p6"])
        assert all(t.startswith("OK") for t in done.values()), done
        assert sorted(iu.fetches(u)) == [1, 2], u
        assert iu.search_result(u) == [1, 2]
        assert iu.numbers(u, "EXISTS") == [2], u
        assert any(r.startswith("* BYE") for r in u)
        assert c.eof()


def test_malformed_input_answered_bad_session_goes_on():
    fresh([iu.sample("bad")])
    with session() as c:
        for line in ("NOSUCHCOMMAND", "SELECT", "FETCH 1 FLAGS", "LIST \"\"",
                     "SELECT INBOX extra", "UID NOSUCH 1", "STATUS INBOX MESSAGES"):
            u, t = c.cmd(line)
            assert t.startswith("BAD"), "%s -> %r" % (line, t)
        c.ok("NOOP")
        c.logout()
    # a new session: below the server's limit of BAD replies per session
    with session() as c:
        c.select()
        for line in ("FETCH 1 (FLAGS", "FETCH x FLAGS", "FETCH 0 FLAGS", "FETCH 1 NOSUCHITEM",
                     "STORE 1 FLAGS", "STORE 1 XFLAGS (\\Seen)", "SEARCH NOSUCHKEY",
                     "COPY 1", "FETCH 1 BODY[HEADER.FIELDS]", "SEARCH BEFORE 32-Foo-2020"):
            u, t = c.cmd(line)
            assert t.startswith("BAD"), "%s -> %r" % (line, t)
        # an empty line and a tag with "+" (RFC 3501 9: tag excludes "+")
        # have no usable tag: answered "* BAD"
        for raw in ("\r\n", "a+b NOOP\r\n"):
            c.send(raw)
            r = c.response()
            assert r.startswith("* BAD"), "%r -> %r" % (raw, r)
        # a long line (20000 octets, over RFC 7162's 8192) is read whole:
        # NOOP takes no argument, so a tagged BAD
        tag = c.tag()
        c.send("%s NOOP %s\r\n" % (tag, "x" * 20000))
        r = c.response()
        assert r.startswith(tag + " BAD"), r[:200]
        # a NUL byte is not allowed in a command (RFC 3501 9, CHAR8)
        tag = c.tag()
        c.send("%s NOOP \0\r\n" % tag)
        r = c.response()
        assert r.startswith(tag + " BAD") or r.startswith("* BAD"), r
        u, t = c.cmd("FETCH 1 (UID)")
        assert t.startswith("OK") and iu.fetches(u).keys() == {1}, (u, t)
        # a 31 KB ID (imaptest sends one) is fine
        u, t = c.cmd('ID ("name" "%s")' % ("n" * 31000))
        assert t.startswith("OK"), t[:200]
        # a line over the limit (64 KiB): its end, maybe a "{N+}" whose
        # octets follow, is unknown, so a tagged BAD and the session ends
        # (the octets of the literal are never run as commands)
        tag = c.tag()
        c.send("%s APPEND INBOX %s {30+}\r\n%s\r\n" % (tag, "x" * 70000,
                                                         "z NOOP" + " " * 24))
        r = c.response()
        assert r.startswith(tag + " BAD"), r[:200]
        r = c.response()
        assert r.startswith("* BYE"), r[:200]
        assert c.eof()


def test_commands_in_the_wrong_state():
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        # (a few: a server may end a session after some errors before login)
        for line in ("SELECT INBOX", "FETCH 1 FLAGS", "IDLE"):
            u, t = c.cmd(line)
            assert t.startswith("BAD") or t.startswith("NO"), "%s -> %r" % (line[:20], t)
        c.ok("NOOP")
        c.login()
        for line in ("FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "EXPUNGE",
                     "CLOSE", "COPY 1 INBOX", "UID FETCH 1 FLAGS", "CHECK"):
            u, t = c.cmd(line)
            assert t.startswith("BAD") or t.startswith("NO"), "%s -> %r" % (line, t)
        c.logout()


# ---------------------------------------------------------------- SELECT

def test_select_examine_responses():
    paths = fresh([iu.sample("sel-%d" % i) for i in range(3)], flags=["S", "", "F"])
    with session() as c:
        u, t = c.select()
        assert t.startswith("OK [READ-WRITE]"), t
        assert iu.numbers(u, "EXISTS") == [3], u
        assert iu.numbers(u, "RECENT") == [0], u
        fl = [r for r in u if r.startswith("* FLAGS (")]
        assert len(fl) == 1 and SYSFLAGS <= set(iu.parse(fl[0][8:])[0]), u
        pf = [r for r in u if r.startswith("* OK [PERMANENTFLAGS (")]
        assert len(pf) == 1, u
        perm = set(iu.parse(iu.code(pf[0], "PERMANENTFLAGS"))[0])
        assert SYSFLAGS | {"\\*"} <= perm, perm
        v = uidvalidity_of(u)
        assert any(r.startswith("* OK [UIDNEXT 4]") for r in u), u
        # RFC 3501 7.1: UNSEEN is the number of the first unseen message
        assert any(r.startswith("* OK [UNSEEN 2]") for r in u), u
        uidl = iu.read_uidlist(I.maildir(DEMO))
        assert uidl is not None and uidl[0] == v and uidl[1] == 4, uidl
        assert sorted(uidl[2].values()) == sorted(iu.base_name(p) for p in paths)
        u, t = c.select(examine=True)
        assert t.startswith("OK [READ-ONLY]"), t
        assert iu.numbers(u, "EXISTS") == [3] and uidvalidity_of(u) == v
        # RFC 3501 6.3.1: a SELECT closes the previous mailbox; no STORE
        # on a read-only one
        u, t = c.cmd("STORE 1 +FLAGS (\\Deleted)")
        assert t.startswith("NO"), "STORE in EXAMINE -> %r" % t
        u, t = c.cmd("SELECT Nonexistent")
        assert t.startswith("NO"), t
        # after a failed SELECT no mailbox is selected (RFC 3501 6.3.1)
        u, t = c.cmd("FETCH 1 FLAGS")
        assert t.startswith("BAD") or t.startswith("NO"), t
        c.logout()
    assert iu.info_flags(paths[0]) == "S"


def test_recent_kept_by_examine_cleared_by_select():
    fresh()
    for i in range(2):
        iu.put_message(I, DEMO, iu.sample("recent-%d" % i))     # new/
    with session() as c:
        u, _ = c.select(examine=True)
        assert iu.numbers(u, "RECENT") == [2], u
        c.ok("UNSELECT")
        u, _ = c.select()
        assert iu.numbers(u, "RECENT") == [2], "EXAMINE took \\Recent: %r" % u
        u = c.ok("SEARCH RECENT")
        assert iu.search_result(u) == [1, 2]
        u = c.ok("SEARCH NEW")
        assert iu.search_result(u) == [1, 2]
        u = c.ok("FETCH 1 (FLAGS)")
        assert "\\Recent" in [str(f) for f in iu.fetches(u)[1]["FLAGS"]], u
        c.logout()
    md = I.maildir(DEMO)
    assert os.listdir(os.path.join(md, "new")) == [], "SELECT leaves new/ as is"
    with session() as c:
        u, _ = c.select()
        assert iu.numbers(u, "RECENT") == [0], u
        u = c.ok("SEARCH OLD")
        assert iu.search_result(u) == [1, 2]
        c.logout()


# ---------------------------------------------------------------- FETCH

RFC_MSG = (b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
           b"From: Terry Gray <gray@cac.washington.edu>\n"
           b"Subject: IMAP4rev1 WG mtg summary and minutes\n"
           b"To: imap@cac.washington.edu\n"
           b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\n"
           b"Message-Id: <B27397-0100000@cac.washington.edu>\n"
           b"MIME-Version: 1.0\n"
           b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
           b"\n"
           b"Hello Joe, do you think we can meet at 3:30 tomorrow?\n"
           b"Second line.\n")

MULTI_MSG = (b"From: a@example.org\n"
             b"To: demo@example.test\n"
             b"Subject: multi\n"
             b"MIME-Version: 1.0\n"
             b'Content-Type: multipart/mixed; boundary="XyZ"\n'
             b"\n"
             b"preamble\n"
             b"--XyZ\n"
             b"Content-Type: text/plain; charset=utf-8\n"
             b"\n"
             b"part one\n"
             b"--XyZ\n"
             b'Content-Type: application/octet-stream; name="a.bin"\n'
             b"Content-Transfer-Encoding: base64\n"
             b'Content-Disposition: attachment; filename="a.bin"\n'
             b"\n"
             b"AAECAw==\n"
             b"--XyZ--\n"
             b"epilogue\n")


def upper(v):
    return v.upper() if isinstance(v, str) else v


def params(v):
    """A body-fld-param list as {NAME: value}."""
    assert isinstance(v, list) and len(v) % 2 == 0, v
    return {v[i].upper(): v[i + 1] for i in range(0, len(v), 2)}


def test_fetch_envelope_body_bodystructure():
    fresh([RFC_MSG])
    body = crlf(RFC_MSG).split("\r\n\r\n", 1)[1]
    with session() as c:
        c.select()
        u = c.ok("FETCH 1 (ENVELOPE BODY BODYSTRUCTURE RFC822.SIZE)")
        d = iu.fetches(u)[1]
        gray = [["Terry Gray", None, "gray", "cac.washington.edu"]]
        # RFC 3501 7.4.2's own example; Sender and Reply-To default to From
        assert d["ENVELOPE"] == [
            "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
            "IMAP4rev1 WG mtg summary and minutes",
            gray, gray, gray,
            [[None, None, "imap", "cac.washington.edu"]],
            [[None, None, "minutes", "CNRI.Reston.VA.US"],
             ["John Klensin", None, "KLENSIN", "MIT.EDU"]],
            None, None, "<B27397-0100000@cac.washington.edu>"], d["ENVELOPE"]
        assert int(d["RFC822.SIZE"]) == len(iu.served(RFC_MSG))
        for key in ("BODY", "BODYSTRUCTURE"):
            b = d[key]
            assert [upper(x) for x in b[:2]] == ["TEXT", "PLAIN"], b
            # parameter names and charset values are case-insensitive
            assert {k: v.upper() for k, v in params(b[2]).items()} == {"CHARSET": "US-ASCII"}, b
            assert b[3] is None and b[4] is None and upper(b[5]) == "7BIT", b
            assert int(b[6]) == len(body) and int(b[7]) == 2, (b, len(body))
        assert len(d["BODY"]) == 8, "BODY has no extension data: %r" % d["BODY"]
        assert len(d["BODYSTRUCTURE"]) >= 9 and d["BODYSTRUCTURE"][8] is None
        c.logout()


def test_fetch_envelope_missing_fields_and_raw_words():
    m = (b"From: \"Doe, J.\" <j@example.org>\nSender: s@example.org\n"
         b"Reply-To: r@example.org\nTo: undisclosed-recipients:;\n"
         b"Subject: =?utf-8?q?caf=C3=A9?=\nIn-Reply-To: <x@y>\n\nbody\n")
    fresh([m, b"\nno header at all\n"])
    with session() as c:
        c.select()
        env = iu.fetches(c.ok("FETCH 1:2 (ENVELOPE)"))
        e = env[1]["ENVELOPE"]
        assert e[0] is None, e                              # no Date
        assert e[1] == "=?utf-8?q?caf=C3=A9?=", e            # not decoded
        assert e[2] == [["Doe, J.", None, "j", "example.org"]], e
        assert e[3] == [[None, None, "s", "example.org"]], e
        assert e[4] == [[None, None, "r", "example.org"]], e
        # RFC 3501 7.4.2: a group is a (NIL NIL name NIL) ... (NIL NIL NIL NIL)
        assert e[5] == [[None, None, "undisclosed-recipients", None],
                        [None, None, None, None]], e
        assert e[8] == "<x@y>" and e[9] is None, e
        assert env[2]["ENVELOPE"] == [None] * 10, env[2]
        c.logout()


def test_fetch_sections_and_partial():
    fresh([MULTI_MSG])
    whole = crlf(MULTI_MSG)
    head, text = whole.split("\r\n\r\n", 1)
    with session() as c:
        c.select()
        u = c.ok("FETCH 1 (BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] "
                 "BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[1.MIME] BODY.PEEK[2.MIME] "
                 "BODY.PEEK[HEADER.FIELDS (SUBJECT TO)] BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)] "
                 "BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<2.5> BODY.PEEK[]<100000.10> BODYSTRUCTURE)")
        d = iu.fetches(u)[1]
        assert d["BODY[]"] == whole
        assert d["BODY[HEADER]"] == head + "\r\n\r\n"
        assert d["BODY[TEXT]"] == text
        # RFC 2046 5.1.1: the CRLF before a boundary belongs to the boundary
        assert d["BODY[1]"] == "part one", d["BODY[1]"]
        assert d["BODY[2]"] == "AAECAw==", d["BODY[2]"]
        assert d["BODY[1.MIME]"] == "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        assert d["BODY[2.MIME]"] == ('Content-Type: application/octet-stream; name="a.bin"\r\n'
                                     "Content-Transfer-Encoding: base64\r\n"
                                     'Content-Disposition: attachment; filename="a.bin"\r\n\r\n')
        # the fields in the message's order; the blank line that ends a
        # header is part of HEADER.FIELDS too (RFC 3501 6.4.5, as servers do)
        assert d["BODY[HEADER.FIELDS (SUBJECT TO)]"] in (
            "To: demo@example.test\r\nSubject: multi\r\n\r\n",
            "To: demo@example.test\r\nSubject: multi\r\n"), d
        assert "Subject" not in d["BODY[HEADER.FIELDS.NOT (SUBJECT)]"]
        assert d["BODY[HEADER.FIELDS.NOT (SUBJECT)]"].startswith("From: a@example.org\r\n")
        # RFC 3501 7.4.2: a partial fetch is answered with its origin only
        assert d["BODY[]<0>"] == whole[:10]
        assert d["BODY[TEXT]<2>"] == text[2:7]
        assert d["BODY[]<100000>"] == ""
        bs = d["BODYSTRUCTURE"]
        assert isinstance(bs[0], list) and isinstance(bs[1], list), bs
        assert upper(bs[2]) == "MIXED" and params(bs[3]) == {"BOUNDARY": "XyZ"}, bs
        p1, p2 = bs[0], bs[1]
        assert [upper(x) for x in p1[:2]] == ["TEXT", "PLAIN"] and int(p1[6]) == 8, p1
        assert {k: v.upper() for k, v in params(p1[2]).items()} == {"CHARSET": "UTF-8"}, p1
        assert [upper(x) for x in p2[:2]] == ["APPLICATION", "OCTET-STREAM"], p2
        assert params(p2[2]) == {"NAME": "a.bin"} and upper(p2[5]) == "BASE64", p2
        assert int(p2[6]) == 8, p2
        # body-ext-1part: md5, then the disposition
        assert p2[7] is None and upper(p2[8][0]) == "ATTACHMENT", p2
        assert params(p2[8][1]) == {"FILENAME": "a.bin"}, p2
        u = c.ok("FETCH 1 (FLAGS)")
        assert iu.flag_set(iu.fetches(u)[1]["FLAGS"]) == set(), "PEEK set a flag"
        c.logout()


NESTED_MSG = (b"From: outer@example.org\n"
              b"Subject: forwarded\n"
              b"MIME-Version: 1.0\n"
              b'Content-Type: multipart/mixed; boundary="b1"\n'
              b"\n"
              b"--b1\n"
              b"Content-Type: text/plain\n"
              b"\n"
              b"see below\n"
              b"--b1\n"
              b"Content-Type: message/rfc822\n"
              b"\n"
              b"From: inner@example.org\n"
              b"Subject: the original\n"
              b"Date: Fri, 01 Mar 2024 08:00:00 +0000\n"
              b"\n"
              b"inner line 1\n"
              b"inner line 2\n"
              b"--b1--\n")


def test_fetch_message_rfc822_part():
    fresh([NESTED_MSG])
    with session() as c:
        c.select(examine=True)
        u = c.ok("FETCH 1 (BODYSTRUCTURE BODY[2] BODY[2.HEADER] BODY[2.TEXT] BODY[2.1] "
                 "BODY[1])")
        d = iu.fetches(u)[1]
        inner_head = "From: inner@example.org\r\nSubject: the original\r\n" \
                     "Date: Fri, 01 Mar 2024 08:00:00 +0000\r\n\r\n"
        inner_text = "inner line 1\r\ninner line 2"
        assert d["BODY[1]"] == "see below"
        assert d["BODY[2]"] == inner_head + inner_text, d["BODY[2]"]
        assert d["BODY[2.HEADER]"] == inner_head
        assert d["BODY[2.TEXT]"] == inner_text
        # the body of a non-multipart encapsulated message is its part 1
        assert d["BODY[2.1]"] == inner_text
        bs = d["BODYSTRUCTURE"]
        p2 = bs[1]
        # RFC 3501 7.4.2: MESSAGE/RFC822 carries ENVELOPE, BODY and lines
        assert [upper(x) for x in p2[:2]] == ["MESSAGE", "RFC822"], p2
        assert int(p2[6]) == len(inner_head + inner_text), p2
        env = p2[7]
        assert env[0] == "Fri, 01 Mar 2024 08:00:00 +0000" and env[1] == "the original", env
        assert env[2] == [[None, None, "inner", "example.org"]], env
        assert [upper(x) for x in p2[8][:2]] == ["TEXT", "PLAIN"], p2[8]
        # 4 header lines and 2 body lines, the last without its CRLF
        # (that belongs to the boundary): 5 or 6, as a server counts it
        assert int(p2[8][6]) == len(inner_text) and int(p2[9]) in (5, 6), p2
        c.logout()


def test_fetch_rfc822_items_and_macros():
    m = iu.sample("macros", "one\ntwo\n")
    fresh([m])
    whole = crlf(m)
    head, text = whole.split("\r\n\r\n", 1)
    with session() as c:
        c.select(examine=True)
        u = c.ok("FETCH 1 (RFC822.HEADER RFC822.SIZE UID INTERNALDATE FLAGS)")
        d = iu.fetches(u)[1]
        assert d["RFC822.HEADER"] == head + "\r\n\r\n"
        assert int(d["RFC822.SIZE"]) == len(whole) and int(d["UID"]) > 0
        assert re.match(r"^[ 0-3]\d-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4} "
                        r"\d\d:\d\d:\d\d [+-]\d{4}$", d["INTERNALDATE"]), d["INTERNALDATE"]
        for macro, items in (("FAST", {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}),
                             ("ALL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}),
                             ("FULL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
                                       "BODY"})):
            u = c.ok("FETCH 1 " + macro)
            got = set(iu.fetches(u)[1])
            assert got == items, "%s -> %s" % (macro, sorted(got))
        # read-only: RFC822 and BODY[] do not set \Seen
        u = c.ok("FETCH 1 (RFC822 RFC822.TEXT)")
        d = iu.fetches(u)[1]
        assert d["RFC822"] == whole and d["RFC822.TEXT"] == text
        assert "FLAGS" not in d, d
        c.logout()


def test_fetch_body_sets_seen_peek_does_not():
    paths = fresh([iu.sample("seen-a"), iu.sample("seen-b")])
    with session() as c:
        c.select()
        u = c.ok("FETCH 1 (BODY.PEEK[TEXT])")
        assert "FLAGS" not in iu.fetches(u)[1]
        u = c.ok("FETCH 1 (BODY[TEXT])")
        # RFC 3501 6.4.5: \Seen set implicitly, and the new flags sent
        assert "\\Seen" in iu.flag_set(iu.fetches(u)[1]["FLAGS"]), u
        u = c.ok("FETCH 2 (RFC822)")
        assert "\\Seen" in iu.flag_set(iu.fetches(u)[2]["FLAGS"]), u
        u = c.ok("SEARCH SEEN")
        assert iu.search_result(u) == [1, 2]
        c.logout()
    files = I.mail_files(DEMO)
    assert sorted(iu.info_flags(p) for p in files) == ["S", "S"], files
    assert sorted(iu.base_name(p) for p in files) == sorted(iu.base_name(p) for p in paths)


# ---------------------------------------------------------------- STORE

def files_by_uid():
    """{uid: Maildir flag letters} of INBOX, from tern-uidlist and the files."""
    _, _, m = iu.read_uidlist(I.maildir(DEMO))
    by_base = {iu.base_name(p): iu.info_flags(p) for p in I.mail_files(DEMO)}
    return {uid: by_base[b] for uid, b in m.items() if b in by_base}


def test_store_flags_and_the_file_names():
    fresh([iu.sample("st-%d" % i) for i in range(3)])
    with session() as c:
        c.select()
        u = c.ok("STORE 1 +FLAGS (\\Flagged \\Seen)")
        f = iu.fetches(u)
        assert list(f) == [1] and iu.flag_set(f[1]["FLAGS"]) == {"\\Flagged", "\\Seen"}, u
        u = c.ok("STORE 1:2 +FLAGS (\\Answered \\Draft)")
        f = iu.fetches(u)
        assert iu.flag_set(f[1]["FLAGS"]) == {"\\Flagged", "\\Seen", "\\Answered", "\\Draft"}
        assert iu.flag_set(f[2]["FLAGS"]) == {"\\Answered", "\\Draft"}
        u = c.ok("STORE 1 -FLAGS (\\Seen \\Draft)")
        assert iu.flag_set(iu.fetches(u)[1]["FLAGS"]) == {"\\Flagged", "\\Answered"}
        u = c.ok("STORE 3 FLAGS (\\Deleted)")
        assert iu.flag_set(iu.fetches(u)[3]["FLAGS"]) == {"\\Deleted"}
        # .SILENT: no FETCH for the change (RFC 3501 6.4.6)
        u = c.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
        assert not iu.fetches(u), u
        u = c.ok("STORE 2 -FLAGS.SILENT (\\Answered)")
        assert not iu.fetches(u), u
        u = c.ok("FETCH 1:3 (FLAGS)")
        f = iu.fetches(u)
        assert iu.flag_set(f[2]["FLAGS"]) == {"\\Seen", "\\Draft"}, u
        # Maildir letters in ASCII order: D F P R S T
        assert files_by_uid() == {1: "FR", 2: "DS", 3: "T"}, files_by_uid()
        u = c.ok("STORE 1:* FLAGS ()")
        assert all(iu.flag_set(v["FLAGS"]) == set() for v in iu.fetches(u).values())
        assert files_by_uid() == {1: "", 2: "", 3: ""}
        c.logout()


def test_keywords_persist():
    fresh([iu.sample("kw-0"), iu.sample("kw-1")])
    with session() as c:
        c.select()
        u = c.ok("STORE 1 +FLAGS ($Work Project-X)")
        assert iu.flag_set(iu.fetches(u)[1]["FLAGS"]) == {"$Work", "Project-X"}, u
        u = c.ok("STORE 2 +FLAGS (\\Seen $Work)")
        c.logout()
    with session() as c:
        u, _ = c.select()
        fl = [r for r in u if r.startswith("* FLAGS (")]
        assert {"$Work", "Project-X"} <= set(iu.parse(fl[0][8:])[0]), fl
        u = c.ok("FETCH 1:2 (FLAGS)")
        f = iu.fetches(u)
        assert iu.flag_set(f[1]["FLAGS"]) == {"$Work", "Project-X"}, u
        assert iu.flag_set(f[2]["FLAGS"]) == {"$Work", "\\Seen"}, u
        assert iu.search_result(c.ok("SEARCH KEYWORD $Work")) == [1, 2]
        assert iu.search_result(c.ok("SEARCH KEYWORD Project-X")) == [1]
        u = c.ok("STORE 1 -FLAGS (Project-X)")
        assert iu.flag_set(iu.fetches(u)[1]["FLAGS"]) == {"$Work"}
        c.logout()
    # on disk: a keyword is a lower-case Maildir letter, after the
    # upper-case ones (ASCII order)
    letters = sorted(iu.info_flags(p) for p in I.mail_files(DEMO))
    assert len(letters) == 2 and re.fullmatch(r"[a-z]", letters[1]) and \
        letters[0] == "S" + letters[1], letters


# ---------------------------------------------------------------- EXPUNGE

def test_expunge_close_unselect():
    names = ["ex-%d" % i for i in range(5)]
    fresh([iu.sample(n) for n in names])
    with session() as c:
        c.select()
        uids = uids_of(c)
        c.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        u = c.ok("EXPUNGE")
        nums = iu.numbers(u, "EXPUNGE")
        assert len(nums) == 2 and iu.apply_expunges(names, nums) == \
            ["ex-0", "ex-2", "ex-4"], u
        assert len(I.mail_files(DEMO)) == 3
        u = c.ok("FETCH 1:* (UID)")
        assert sorted(int(v["UID"]) for v in iu.fetches(u).values()) == \
            [uids[0], uids[2], uids[4]], u
        # UNSELECT: no expunge (RFC 3691)
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        u = c.ok("UNSELECT")
        assert not iu.numbers(u, "EXPUNGE")
        assert len(I.mail_files(DEMO)) == 3
        u, t = c.cmd("FETCH 1 FLAGS")
        assert t.startswith("BAD") or t.startswith("NO"), "after UNSELECT: %r" % t
        # CLOSE on EXAMINE: nothing removed
        c.select(examine=True)
        c.ok("CLOSE")
        assert len(I.mail_files(DEMO)) == 3
        # CLOSE: expunged silently (RFC 3501 6.4.2)
        c.select()
        u = c.ok("CLOSE")
        assert not iu.numbers(u, "EXPUNGE"), u
        assert len(I.mail_files(DEMO)) == 2
        u, t = c.cmd("FETCH 1 FLAGS")
        assert t.startswith("BAD") or t.startswith("NO"), "after CLOSE: %r" % t
        u, _ = c.select()
        assert iu.numbers(u, "EXISTS") == [2]
        c.logout()


def test_uid_expunge_only_the_given_uids():
    fresh([iu.sample("ue-%d" % i) for i in range(4)])
    with session() as c:
        c.select()
        uids = uids_of(c)
        c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        u = c.ok("UID EXPUNGE %d:%d" % (uids[1], uids[3]))
        nums = iu.numbers(u, "EXPUNGE")
        assert iu.apply_expunges(uids, nums) == [uids[0], uids[3]], u
        u = c.ok("FETCH 1:* (UID FLAGS)")
        f = iu.fetches(u)
        assert [int(f[n]["UID"]) for n in sorted(f)] == [uids[0], uids[3]]
        assert "\\Deleted" in iu.flag_set(f[1]["FLAGS"])
        c.logout()


# ---------------------------------------------------------------- SEARCH

SEARCH_MSGS = [
    # (internal date, flags, message)
    ("01-Jan-2020 12:00:00 +0000", "(\\Seen)",
     b"Date: Wed, 01 Jan 2020 12:00:00 +0000\r\nFrom: Alice <alice@example.org>\r\n"
     b"To: demo@example.test\r\nSubject: apple pie\r\n\r\ncrumble\r\n"),
    ("15-Jun-2021 12:00:00 +0000", "(\\Answered \\Flagged)",
     b"Date: Tue, 15 Jun 2021 12:00:00 +0000\r\nFrom: bob@example.org\r\n"
     b"To: demo@example.test\r\nCc: carol@example.org\r\nSubject: banana split\r\n\r\n"
     b"sundae\r\n" + b"padding padding padding\r\n" * 80),
    ("31-Dec-2022 12:00:00 +0000", "(\\Deleted $Work)",
     b"Date: Sat, 31 Dec 2022 12:00:00 +0000\r\nFrom: alice@example.org\r\n"
     b"To: demo@example.test\r\nBcc: dave@example.org\r\nX-Custom: magic words\r\n"
     b"Subject: Cherry\r\n\r\ntart\r\n"),
    ("01-Jan-2024 12:00:00 +0000", "(\\Draft)",
     b"Date: Mon, 01 Jan 2024 12:00:00 +0000\r\nFrom: eve@example.org\r\n"
     b"To: other@example.net\r\nSubject: date\r\n\r\nfig\r\n"),
]


def test_search_keys():
    fresh()
    with session() as c:
        for date, flags, m in SEARCH_MSGS:
            u, t = c.cmd_lit(['APPEND INBOX %s "%s"' % (flags, date), m, ""])
            assert t.startswith("OK"), t
        c.select()
        u = c.ok("UID SEARCH ALL")
        uids = iu.search_result(u)
        assert len(uids) == 4 and uids == sorted(uids), uids
        cases = [
            ("ALL", [1, 2, 3, 4]), ("SEEN", [1]), ("UNSEEN", [2, 3, 4]),
            ("ANSWERED", [2]), ("UNANSWERED", [1, 3, 4]), ("FLAGGED", [2]),
            ("UNFLAGGED", [1, 3, 4]), ("DELETED", [3]), ("UNDELETED", [1, 2, 4]),
            ("DRAFT", [4]), ("UNDRAFT", [1, 2, 3]), ("KEYWORD $Work", [3]),
            ("UNKEYWORD $Work", [1, 2, 4]), ("FROM alice", [1, 3]), ("FROM ALICE", [1, 3]),
            ("TO other", [4]), ("CC carol", [2]), ("BCC dave", [3]),
            ('SUBJECT "an"', [2]), ("SUBJECT cherry", [3]),
            ('HEADER X-Custom "magic"', [3]), ('HEADER X-Custom ""', [3]),
            ("BODY crumble", [1]), ("BODY apple", []), ("TEXT apple", [1]),
            ("TEXT sundae", [2]), ("LARGER 1000", [2]), ("SMALLER 1000", [1, 3, 4]),
            ("BEFORE 1-Jan-2021", [1]), ("ON 15-Jun-2021", [2]),
            ("SINCE 31-Dec-2022", [3, 4]), ("SENTBEFORE 01-Jan-2021", [1]),
            ("SENTON 31-Dec-2022", [3]), ("SENTSINCE 01-Jan-2022", [3, 4]),
            ("NOT SEEN", [2, 3, 4]), ("OR SEEN DRAFT", [1, 4]),
            ("FROM alice UNSEEN", [3]), ("(FROM alice) (SEEN)", [1]),
            ("OR (SEEN) (FLAGGED)", [1, 2]), ("NOT (OR SEEN FLAGGED)", [3, 4]),
            ("2:3", [2, 3]), ("2,4", [2, 4]), ("*", [4]), ("3:*", [3, 4]),
            ("UID %d:%d" % (uids[1], uids[2]), [2, 3]), ("UID %d" % uids[3], [4]),
            ("CHARSET US-ASCII SUBJECT apple", [1]), ("CHARSET UTF-8 FROM eve", [4]),
            ("1:4 UNDELETED UNDRAFT", [1, 2]),
        ]
        for key, want in cases:
            got = iu.search_result(c.ok("SEARCH " + key))
            assert got == want, "SEARCH %s -> %s, want %s" % (key, got, want)
        got = iu.search_result(c.ok("UID SEARCH FLAGGED"))
        assert got == [uids[1]], got
        # a literal as the search string
        u, t = c.cmd_lit(["SEARCH SUBJECT", "apple", ""])
        assert t.startswith("OK") and iu.search_result(u) == [1], (u, t)
        u, t = c.cmd("SEARCH CHARSET X-NO-SUCH SUBJECT a")
        assert t.startswith("NO [BADCHARSET"), t
        c.logout()


# ---------------------------------------------------------------- APPEND

def test_append_flags_date_appenduid():
    fresh()
    msg = b"From: app@example.org\r\nSubject: appended\r\n\r\nline 1\r\nline 2\r\n"
    with session() as c:
        u = c.ok("STATUS INBOX (UIDVALIDITY UIDNEXT)")
        m = re.search(r"UIDVALIDITY (\d+)", u[0])
        v = int(m.group(1))
        u, t = c.cmd_lit(['APPEND INBOX (\\Seen $Work) "05-Mar-2021 10:11:12 +0100"', msg, ""])
        assert t.startswith("OK [APPENDUID %d " % v), t
        uid = int(iu.code(t, "APPENDUID").split()[1])
        c.select()
        u = c.ok("UID FETCH %d (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])" % uid)
        d = list(iu.fetches(u).values())[0]
        assert iu.flag_set(d["FLAGS"]) == {"\\Seen", "$Work"}, d
        assert d["BODY[]"] == msg.decode() and int(d["RFC822.SIZE"]) == len(msg)
        got = datetime.datetime.strptime(d["INTERNALDATE"].strip(), "%d-%b-%Y %H:%M:%S %z")
        want = datetime.datetime(2021, 3, 5, 9, 11, 12, tzinfo=datetime.timezone.utc)
        assert got == want, d["INTERNALDATE"]
        # into the selected mailbox: the client learns of it (EXISTS)
        u, t = c.cmd_lit(["APPEND INBOX", b"Subject: second\r\n\r\nx\r\n", ""])
        assert t.startswith("OK [APPENDUID %d %d]" % (v, uid + 1)), t
        u += c.ok("NOOP")
        assert 2 in iu.numbers(u, "EXISTS"), u
        c.logout()
    files = I.mail_files(DEMO)
    assert len(files) == 2
    assert any("S" in iu.info_flags(p) for p in files), files


def test_append_literal_plus_trycreate_folder():
    fresh()
    msg = b"Subject: plus\r\n\r\nnon-synchronizing\r\n"
    with session() as c:
        c.ok("CREATE Archive")
        tag = c.tag()
        c.send("%s APPEND Archive (\\Flagged) {%d+}\r\n" % (tag, len(msg)) + msg.decode() + "\r\n")
        u, t = c.until_tagged(tag)
        assert t.startswith("OK [APPENDUID "), t
        assert len(I.mail_files(DEMO, "Archive")) == 1
        assert iu.info_flags(I.mail_files(DEMO, "Archive")[0]) == "F"
        u, t = c.cmd_lit(["APPEND NoSuchFolder", msg, ""])
        assert t.startswith("NO [TRYCREATE]"), t
        u, t = c.cmd_lit(['APPEND INBOX "not a date"', msg, ""])
        assert t.startswith("BAD"), t
        c.logout()


# ---------------------------------------------------------------- COPY, MOVE, UID

def test_copy_move_uidplus():
    names = ["cm-%d" % i for i in range(4)]
    fresh([iu.sample(n) for n in names], flags=["S", "F", "", ""])
    with session() as c:
        c.ok("CREATE Archive")
        c.select()
        uids = uids_of(c)
        u, t = c.cmd("COPY 1:2 Archive")
        assert t.startswith("OK [COPYUID "), t
        v, src, dst = iu.code(t, "COPYUID").split()
        assert iu.uid_set(src) == uids[:2] and len(iu.uid_set(dst)) == 2, t
        assert len(I.mail_files(DEMO)) == 4 and len(I.mail_files(DEMO, "Archive")) == 2
        st = c.ok("STATUS Archive (UIDVALIDITY MESSAGES)")
        assert ("UIDVALIDITY %s" % v) in st[0] and "MESSAGES 2" in st[0], st
        u, t = c.cmd("COPY 1 NoSuchFolder")
        assert t.startswith("NO [TRYCREATE]"), t
        # MOVE (RFC 6851 3.3): COPYUID in an untagged OK, then EXPUNGE
        u, t = c.cmd("MOVE 3 Archive")
        assert t.startswith("OK"), t
        cu = [r for r in u if r.startswith("* OK [COPYUID ")]
        assert len(cu) == 1, u
        assert iu.uid_set(iu.code(cu[0], "COPYUID").split()[1]) == [uids[2]]
        assert iu.numbers(u, "EXPUNGE") == [3], u
        assert u.index(cu[0]) < [i for i, r in enumerate(u) if r.endswith("EXPUNGE")][0]
        u, t = c.cmd("UID MOVE %d Archive" % uids[3])
        assert t.startswith("OK") and iu.numbers(u, "EXPUNGE") == [3], (u, t)
        u, t = c.cmd("UID COPY %d Archive" % uids[1])
        assert t.startswith("OK [COPYUID %s %d " % (v, uids[1])), t
        assert len(I.mail_files(DEMO)) == 2 and len(I.mail_files(DEMO, "Archive")) == 5
        u, _ = c.select("Archive")
        assert iu.numbers(u, "EXISTS") == [5]
        u = c.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        f = iu.fetches(u)
        subj = [f[n]["BODY[HEADER.FIELDS (SUBJECT)]"].split(":")[1].strip() for n in sorted(f)]
        assert subj == ["cm-0", "cm-1", "cm-2", "cm-3", "cm-1"], subj
        # flags travel with the copy
        assert iu.flag_set(f[1]["FLAGS"]) == {"\\Seen"} and iu.flag_set(f[2]["FLAGS"]) == {"\\Flagged"}
        c.logout()


def test_uid_fetch_store_search():
    fresh([iu.sample("u-%d" % i) for i in range(3)])
    with session() as c:
        c.select()
        a, b, z = uids_of(c)
        c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        u = c.ok("UID FETCH 1:* (FLAGS)")
        f = iu.fetches(u)
        # RFC 3501 6.4.8: UID FETCH responses carry the UID
        assert {n: int(d["UID"]) for n, d in f.items()} == {1: a, 2: z}, u
        u = c.ok("UID FETCH %d (FLAGS)" % b)       # the expunged UID: nothing
        assert not iu.fetches(u), u
        u = c.ok("UID FETCH %d:%d (UID)" % (z, z + 1000))
        assert list(iu.fetches(u)) == [2], u
        # "*" is the highest UID even when the range starts above it
        u = c.ok("UID FETCH %d:* (UID)" % (z + 1000))
        assert [int(d["UID"]) for d in iu.fetches(u).values()] == [z], u
        u = c.ok("UID STORE %d +FLAGS (\\Flagged)" % z)
        f = iu.fetches(u)
        assert list(f) == [2] and int(f[2]["UID"]) == z, u
        assert iu.search_result(c.ok("UID SEARCH FLAGGED")) == [z]
        assert iu.search_result(c.ok("UID SEARCH UID %d:%d" % (a, b))) == [a]
        c.logout()


# ---------------------------------------------------------------- folders

def list_of(untagged, verb="LIST"):
    """{name: (attributes set, delimiter)} of LIST/LSUB responses."""
    out = {}
    for r in untagged:
        if r.startswith("* %s " % verb):
            v = iu.parse(r, len(verb) + 3)
            assert len(v) == 3 and isinstance(v[0], list), r
            out[v[2]] = ({str(a).lower() for a in v[0]}, v[1])
    return out


def test_create_delete_rename_list():
    fresh()
    md = I.maildir(DEMO)
    with session() as c:
        c.ok("CREATE Archive/2024")
        assert os.path.isdir(os.path.join(md, ".Archive.2024", "cur")), os.listdir(md)
        c.ok('CREATE "Work"')
        c.ok("CREATE Work/Projects/")   # a trailing separator (RFC 3501 6.3.3)
        assert os.path.isdir(os.path.join(md, ".Work.Projects", "new")), os.listdir(md)
        for bad in ('"a.b"', "INBOX", "Work", '"Work/../x"'):
            u, t = c.cmd("CREATE " + bad)
            assert t.startswith("NO"), "CREATE %s -> %r" % (bad, t)
        u = c.ok('LIST "" "*"')
        lst = list_of(u)
        assert set(lst) >= {"INBOX", "Archive", "Archive/2024", "Work", "Work/Projects"}, lst
        assert all(d == "/" for _, d in lst.values()), lst
        assert "\\haschildren" in lst["Archive"][0] and "\\hasnochildren" in lst["Archive/2024"][0]
        assert "\\haschildren" in lst["Work"][0]
        u = c.ok('LIST "" "%"')
        assert set(list_of(u)) == {"INBOX", "Archive", "Work"}, list_of(u)
        u = c.ok('LIST "" "Archive/%"')
        assert set(list_of(u)) == {"Archive/2024"}, list_of(u)
        u = c.ok('LIST "Work/" "%"')       # reference + pattern
        assert set(list_of(u)) == {"Work/Projects"}, list_of(u)
        # RFC 3501 6.3.8: the empty pattern returns the delimiter
        u = c.ok('LIST "" ""')
        assert list_of(u) == {"": ({"\\noselect"}, "/")}, u
        u = c.ok('LIST "" "inbox"')       # INBOX is case-insensitive
        assert set(list_of(u)) == {"INBOX"}, u
        # RENAME moves the inferiors too (RFC 3501 6.3.5)
        c.ok("RENAME Work Job")
        assert os.path.isdir(os.path.join(md, ".Job.Projects")), os.listdir(md)
        assert not os.path.exists(os.path.join(md, ".Work.Projects"))
        u, t = c.cmd("RENAME Job Archive")
        assert t.startswith("NO"), "RENAME onto an existing name -> %r" % t
        u, t = c.cmd("RENAME Nonexistent Other")
        assert t.startswith("NO"), t
        u, t = c.cmd('RENAME Job "J.b"')
        assert t.startswith("NO"), t
        c.ok("DELETE Job/Projects")
        assert not os.path.exists(os.path.join(md, ".Job.Projects"))
        for bad in ("INBOX", "Nonexistent"):
            u, t = c.cmd("DELETE " + bad)
            assert t.startswith("NO"), "DELETE %s -> %r" % (bad, t)
        # a folder with messages can be deleted; its mail is gone with it
        iu.put_message(I, DEMO, iu.sample("in-job"), folder="Job")
        c.ok("DELETE Job")
        assert not os.path.exists(os.path.join(md, ".Job"))
        u = c.ok('LIST "" "*"')
        assert set(list_of(u)) == {"INBOX", "Archive", "Archive/2024"}, list_of(u)
        c.logout()


def test_rename_inbox_moves_its_messages():
    fresh([iu.sample("ri-%d" % i) for i in range(3)])
    with session() as c:
        c.ok("RENAME INBOX Saved")
        assert I.mail_files(DEMO) == [], "INBOX is not empty after RENAME"
        assert len(I.mail_files(DEMO, "Saved")) == 3
        u = c.ok("STATUS INBOX (MESSAGES)")
        assert "MESSAGES 0" in u[0], u
        u, _ = c.select("Saved")
        assert iu.numbers(u, "EXISTS") == [3], u
        u, _ = c.select("INBOX")
        assert iu.numbers(u, "EXISTS") == [0], u
        c.logout()


def test_special_use_attributes():
    fresh()
    with session() as c:
        for n in ("Sent", "Drafts", "Trash", "Junk", "Archive", "Other"):
            c.ok("CREATE " + n)
        lst = list_of(c.ok('LIST "" "*"'))
        for n in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
            assert "\\" + n.lower() in lst[n][0], (n, lst[n])
        assert lst["Other"][0] & {"\\sent", "\\drafts", "\\trash", "\\junk", "\\archive"} == set()
        assert "\\hasnochildren" in lst["Other"][0]
        c.logout()


def test_subscribe_lsub():
    fresh()
    with session() as c:
        c.ok("CREATE Lists/tern")
        c.ok("CREATE Lists/other")
        c.ok("SUBSCRIBE Lists/tern")
        c.ok("SUBSCRIBE INBOX")
        lsub = list_of(c.ok('LSUB "" "*"'), "LSUB")
        assert set(lsub) == {"INBOX", "Lists/tern"}, lsub
        assert all(d == "/" for _, d in lsub.values())
        c.logout()
    with session() as c:        # kept across sessions
        lsub = list_of(c.ok('LSUB "" "Lists/*"'), "LSUB")
        assert set(lsub) == {"Lists/tern"}, lsub
        c.ok("UNSUBSCRIBE Lists/tern")
        assert set(list_of(c.ok('LSUB "" "*"'), "LSUB")) == {"INBOX"}
        c.logout()


def test_namespace_and_status():
    fresh([iu.sample("ns-%d" % i, "x" * i) for i in range(3)], flags=["S", "", ""])
    iu.put_message(I, DEMO, iu.sample("ns-new"))          # new/: \Recent
    sizes = sum(len(iu.served(open(p, "rb").read())) for p in I.mail_files(DEMO))
    with session() as c:
        u = c.ok("NAMESPACE")
        assert u == ['* NAMESPACE (("" "/")) NIL NIL'], u
        u = c.ok("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE)")
        assert len(u) == 1, u
        m = re.match(r'\* STATUS (?:INBOX|"INBOX") \((.*)\)$', u[0])
        assert m, u
        kv = m.group(1).split()
        st = dict(zip(kv[::2], (int(x) for x in kv[1::2])))
        assert st["MESSAGES"] == 4 and st["RECENT"] == 1 and st["UNSEEN"] == 3, st
        assert st["SIZE"] == sizes, (st, sizes)
        assert st["UIDNEXT"] >= 5 and st["UIDVALIDITY"] > 0, st
        u, _ = c.select()
        assert uidvalidity_of(u) == st["UIDVALIDITY"]
        assert any(r == "* OK [UIDNEXT %d] Predicted next UID" % st["UIDNEXT"] or
                   r.startswith("* OK [UIDNEXT %d]" % st["UIDNEXT"]) for r in u), u
        u, t = c.cmd("STATUS NoSuch (MESSAGES)")
        assert t.startswith("NO"), t
        c.ok("CREATE Empty")
        u = c.ok("STATUS Empty (MESSAGES UIDNEXT UNSEEN)")
        m = re.match(r'\* STATUS (?:Empty|"Empty") \((.*)\)$', u[0])
        assert m, u
        kv = m.group(1).split()
        st = dict(zip(kv[::2], kv[1::2]))
        assert sorted(st) == ["MESSAGES", "UIDNEXT", "UNSEEN"], u
        assert st["MESSAGES"] == "0" and st["UNSEEN"] == "0" and int(st["UIDNEXT"]) >= 1, u
        c.logout()


def test_modified_utf7_names():
    fresh()
    with session() as c:
        c.ok('CREATE "&AMQ-pfel"')             # "Äpfel"
        c.ok('CREATE "Caf&AOk-/&ZeVnLIqe-"')   # "Café/日本語"
        lst = list_of(c.ok('LIST "" "*"'))
        assert "&AMQ-pfel" in lst and "Caf&AOk-/&ZeVnLIqe-" in lst, lst
        assert "Caf&AOk-" in lst, lst
        c.ok('SELECT "&AMQ-pfel"')
        for bad in ('"a&b"', '"&AMQ"', '"&Jjo!"'):
            u, t = c.cmd("CREATE " + bad)
            assert t.startswith("NO") or t.startswith("BAD"), "CREATE %s -> %r" % (bad, t)
        c.logout()


# ---------------------------------------------------------------- other commands

def test_id_enable_check_noop_logout():
    fresh([iu.sample("misc")])
    with IMAPRaw(TLS_PORT, I, tls=True) as c:
        u = c.ok('ID ("name" "e2e" "version" "1")')   # RFC 2971: any state
        assert len(u) == 1 and (u[0] == "* ID NIL" or u[0].startswith("* ID (")), u
        if u[0] != "* ID NIL":
            v = iu.parse(u[0], 5)[0]
            assert isinstance(v, list) and len(v) % 2 == 0, u
        c.ok("ID NIL")
        c.ok("NOOP")
        c.login()
        u = c.ok("ENABLE X-NO-SUCH-EXTENSION")
        # RFC 5161 3.1: ENABLED lists only what was enabled
        assert u in (["* ENABLED"], []), u
        c.select()
        u = c.ok("CHECK")
        c.ok("NOOP")
        c.logout()


def test_idle_sees_delivery_flags_and_expunge():
    fresh([iu.sample("idle-0")])
    with session() as c, session() as other:
        c.select()
        other.select()
        tag = c.tag()
        c.send(tag + " IDLE\r\n")
        r = c.response()
        assert r.startswith("+"), "IDLE -> %r" % r
        t0 = time.monotonic()
        iu.put_message(I, DEMO, iu.sample("idle-1"))
        # RFC 2177 with inotify: the new message is told within a second
        seen = c.wait_untagged(lambda r: r == "* 2 EXISTS", timeout=1.0)
        assert time.monotonic() - t0 <= 1.0
        other.ok("NOOP")
        other.ok("STORE 1 +FLAGS (\\Flagged)")
        seen = c.wait_untagged(lambda r: r.startswith("* 1 FETCH "), timeout=1.5)
        assert "\\Flagged" in iu.flag_set(iu.fetch(seen[-1])[1]["FLAGS"]), seen
        other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        other.ok("EXPUNGE")
        c.wait_untagged(lambda r: r == "* 1 EXPUNGE", timeout=1.5)
        c.send("DONE\r\n")
        u, t = c.until_tagged(tag)
        assert t.startswith("OK"), t
        u = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert [d["BODY[HEADER.FIELDS (SUBJECT)]"].strip() for d in iu.fetches(u).values()] \
            == ["Subject: idle-1"], u
        other.logout()
        c.logout()


def test_uids_shared_with_pop3():
    subjects = ["share-%d" % i for i in range(3)]
    fresh([iu.sample(s) for s in subjects])
    with session() as c:
        c.select()
        u = c.ok("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        by_uid = {int(d["UID"]): d["BODY[HEADER.FIELDS (SUBJECT)]"].split(":")[1].strip()
                  for d in iu.fetches(u).values()}
        c.logout()
    v, nxt, uidl = iu.read_uidlist(I.maildir(DEMO))
    # the POP3 UIDL of each message is the base name tern-uidlist gives its UID
    pport = pu.pop3_port(I, tls=True)
    with pu.POP3Raw(pport, I, tls=True) as p:
        p.login(DEMO, "demo")
        assert p.cmd("UIDL").startswith("+OK")
        pop = {}
        first = None
        for l in p.multi():
            n, name = l.decode().split()
            first = first or name
            assert p.cmd("TOP %s 0" % n).startswith("+OK")
            head = p.body().decode()
            subj = re.search(r"Subject: (\S+)", head).group(1)
            pop[subj] = name
        # POP3 deletes the first message
        assert p.cmd("DELE 1").startswith("+OK")
        assert p.cmd("QUIT").startswith("+OK")
    assert {by_uid[u]: b for u, b in uidl.items()} == pop, (by_uid, uidl, pop)
    gone = [u for u, b in uidl.items() if b == first]
    iu.put_message(I, DEMO, iu.sample("share-new"))
    with session() as c:
        u, _ = c.select()
        assert uidvalidity_of(u) == v and iu.numbers(u, "EXISTS") == [3], u
        u = c.ok("UID FETCH 1:* (UID)")
        uids = sorted(int(d["UID"]) for d in iu.fetches(u).values())
        # the deleted one's UID is gone and never given again (RFC 3501 2.3.1.1)
        assert uids == sorted(set([1, 2, 3]) - set(gone)) + [4], (uids, gone)
        c.logout()


def test_login_timeout_bye():
    inst = harness.Instance(name="imapto", conf={"imapd_login_timeout": "5"})
    try:
        port = iu.imap_port(inst, tls=True)
        with IMAPRaw(port, inst, tls=True) as c:
            t0 = time.monotonic()
            c.settimeout(15)
            r = c.response()
            assert r.startswith("* BYE"), r      # RFC 3501 7.1.5: autologout
            assert time.monotonic() - t0 >= 4.5
            assert c.eof()
    finally:
        inst.close()


def test_dropped_connection_ends_the_session():
    with session() as c:
        c.select()
    harness.wait_for(lambda: not iu.imapd_pids(I, TLS_PORT), 10,
                     what="tern-imapd to exit after the client went away",
                     info=lambda: iu.log_text(I)[-2000:])
    s = socket.create_connection(("127.0.0.1", TLS_PORT), timeout=5)
    s.close()
    harness.wait_for(lambda: not iu.imapd_pids(I, TLS_PORT), 10,
                     what="tern-imapd to exit after a connection closed at once")


# ---------------------------------------------------------------- privileges

def session_procs(port, inst=None):
    """{role: pid} of the one session under port: "parent" (tern-imapd as
    root, before the login), "login" (the login child), "mailbox" (what
    the parent became: tern-imap-session as the mailbox owner)."""
    import pwd
    ps = iu.imapd_pids(inst or I, port)
    out = {}
    terni = pwd.getpwnam("terni").pw_uid
    for pid, info in ps.items():
        uid = harness.proc_creds(pid)["uid"][0]
        if uid == terni:
            out["login"] = pid
        elif harness.prog_name(info) == "tern-imap-session":
            out["mailbox"] = pid
        elif info[0] not in ps:
            out["parent"] = pid
    return out


def fds(pid):
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


def check_unprivileged(pid, user):
    uid, gid = harness.ids(user)
    s = harness.proc_creds(pid)
    assert s["uid"] == [uid] * 4 and s["gid"] == [gid] * 4, s
    assert 0 not in s["groups"], s
    assert s["eff"] == 0 and s["prm"] == 0 and s["inh"] == 0 and s["amb"] == 0, s
    held = fds(pid)
    assert not [f for f in held if f.startswith(I.etc)], \
        "pid %d holds config files: %s" % (pid, held)


def test_privilege_separation():
    """As root (as tern-pop3d): the login child runs as imapd_user (terni)
    without capabilities and the parent stays root holding only the
    socketpair; after the login the parent has executed
    tern-imap-session as the owner (ternv), with no capabilities and no
    OpenSSL mapped, and under TLS the login child relays to it."""
    harness.need_root()
    fresh([iu.sample("privsep")])
    harness.wait_for(lambda: not iu.imapd_pids(I, PORT), 10, what="no sessions")
    with IMAPRaw(PORT, I) as c:
        p = harness.wait_for(lambda: (lambda d: d if "login" in d else None)(
            session_procs(PORT)), 5, what="the login child")
        check_unprivileged(p["login"], "terni")
        assert harness.proc_creds(p["parent"])["uid"][0] == 0
        # the parent closes its copy of the connection right after the
        # fork: wait for that rather than catch it in between
        def parent_socks():
            socks = [f for f in fds(p["parent"]) if f.startswith("socket:")]
            return socks if len(socks) == 1 else None
        try:
            harness.wait_for(parent_socks, 5, what="the parent to let go")
        except AssertionError:
            raise AssertionError("the parent holds the connection: %s" % fds(p["parent"]))
        parent = p["parent"]
        c.starttls()
        c.login()
        p = harness.wait_for(lambda: (lambda d: d if "mailbox" in d else None)(
            session_procs(PORT)), 5, what="the mailbox process")
        assert p["mailbox"] == parent, p
        assert "login" in p, "no relay under TLS: %s" % p
        check_unprivileged(p["mailbox"], "ternv")
        # (make sanitize links without --as-needed: see configure)
        if not os.environ.get("TERN_SANITIZE"):
            maps = open("/proc/%d/maps" % p["mailbox"]).read()
            assert "libssl" not in maps and "libcrypto" not in maps, \
                "tern-imap-session maps OpenSSL"
        u, _ = c.select()
        assert iu.numbers(u, "EXISTS") == [1]
        assert not [f for f in fds(p["login"]) if f.startswith(I.path("mail"))]
        c.logout()
    harness.wait_for(lambda: not iu.imapd_pids(I, PORT), 5, what="the session to end")


def test_plaintext_session_is_one_process_with_pipelined_commands():
    """Without TLS the login child hands the connection to
    tern-imap-session and exits: one process per session, holding the
    connection.  Commands (and an APPEND literal) pipelined in the same
    packet as LOGIN reach it in order, none lost or doubled."""
    inst = harness.Instance(name="imapone", conf={"allow_plaintext_auth": "yes"})
    try:
        port = iu.imap_port(inst)
        lit = b"Subject: pipelined\r\n\r\n" + b"x" * 6000 + b"\r\n"
        with IMAPRaw(port, inst) as c:
            pw = inst.users[DEMO]
            c.send(("a LOGIN %s %s\r\nb SELECT INBOX\r\n" % (DEMO, pw)).encode()
                   + b"c APPEND INBOX {%d+}\r\n" % len(lit) + lit
                   + b"\r\nd NOOP\r\ne UID FETCH 1:* (UID RFC822.SIZE)\r\n")
            got = {}
            for tag in ("a", "b", "c", "d", "e"):
                u, t = c.until_tagged(tag)
                got[tag] = u + [t]
                assert t.startswith("OK"), (tag, t)
            assert "APPENDUID" in got["c"][-1], got["c"]
            assert any("RFC822.SIZE %d" % len(lit) in x for x in got["e"]), got["e"]
            ps = harness.wait_for(lambda: (lambda d: d if len(d) == 1 else None)(
                iu.imapd_pids(inst, port)), 5, what="the login child to exit")
            (pid, info), = ps.items()
            assert harness.prog_name(info) == "tern-imap-session", info
            if harness.IS_ROOT:
                check_unprivileged(pid, "ternv")
            assert [f for f in fds(pid) if f.startswith("socket:")], fds(pid)
            c.send(b"f LOGOUT\r\n")
            assert c.until_tagged("f")[1].startswith("OK")
        harness.wait_for(lambda: not iu.imapd_pids(inst, port), 5,
                         what="the session to end")
    finally:
        inst.close()


def test_search_every_header_field_and_the_sent_date_as_written():
    """RFC 9051 6.4.4: HEADER matches any field of that name (Received,
    a repeated X- field); SENT* take the Date: field's own date,
    disregarding time and timezone (23:44 -0700 is the 17th, although
    it is the 18th in UTC; the other message has no Date: field)."""
    m = (b"Date: Wed, 17 Jul 1996 23:44:25 -0700\nFrom: a@example.test\n"
         b"Subject: two tags\nX-Tag: first\nX-Tag: second one\n\nbody\n")
    fresh([m, iu.sample("other")])
    with session() as c:
        c.select()
        for key, want in (("HEADER X-Tag second", [1]), ("HEADER X-Tag first", [1]),
                          ("HEADER X-Tag third", []),
                          ("SENTON 17-Jul-1996", [1]), ("SENTON 18-Jul-1996", []),
                          ("SENTBEFORE 18-Jul-1996", [1]),
                          ("SENTSINCE 18-Jul-1996", []),
                          ("SENTSINCE 17-Jul-1996", [1])):
            got = iu.search_result(c.ok("SEARCH " + key))
            assert got == want, (key, got)
        c.logout()


def test_a_folder_created_again_gets_a_new_uidvalidity():
    """RFC 9051 2.3.1.1: a mailbox deleted and created again under the
    same name must not reuse its UIDVALIDITY, even within one second."""
    fresh()
    with session() as c:
        seen = []
        for _ in range(3):
            c.ok("CREATE Again")
            u = c.ok("STATUS Again (UIDVALIDITY)")
            seen.append(int(re.search(r"UIDVALIDITY (\d+)", u[0]).group(1)))
            c.ok("DELETE Again")
        assert seen == sorted(set(seen)), seen
        u = c.ok('LIST "" *')
        assert not any("uidvalidity" in r.lower() for r in u), u
        c.logout()


def test_session_does_not_need_to_read_tern_conf():
    """tern-imap-session gets its settings from tern-imapd on a pipe, so
    a tern.conf that only root may read (mode 0600) still lets mailbox
    owners log in, and the session uses the settings the parent read."""
    harness.need_root()
    conf = os.path.join(I.etc, "tern.conf")
    mode = os.stat(conf).st_mode & 0o7777
    os.chown(conf, 0, 0)
    os.chmod(conf, 0o600)
    try:
        fresh([iu.sample("conf")])
        with session(tls=False) as c:
            caps = " ".join(c.cmd("CAPABILITY")[0])
            u, _ = c.select()
            assert iu.numbers(u, "EXISTS") == [1]
            limit = re.search(r"APPENDLIMIT=(\d+)", caps).group(1)
            assert int(limit) > 0, caps
            c.logout()
    finally:
        os.chmod(conf, mode)


def test_client_gone_during_a_big_fetch_is_logged():
    """A client that goes away while a FETCH is being written ends its
    session with a log line (EPIPE, not a silent SIGPIPE)."""
    fresh([iu.sample("gone %d" % k) + b"x" * 20000 + b"\n" for k in range(200)])
    before = iu.log_text(I).count("stage=write")
    c = session(tls=False)
    c.select()
    c.send("f FETCH 1:* (BODY.PEEK[])\r\n")
    c.close()
    harness.wait_for(lambda: iu.log_text(I).count("stage=write") > before, 10,
                     what="the session's disconnect line",
                     info=lambda: iu.log_text(I)[-600:])
