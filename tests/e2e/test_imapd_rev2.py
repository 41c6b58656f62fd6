"""
tern-imapd, IMAP4rev2 (RFC 9051) chosen with ENABLE IMAP4rev2, and
UTF8=ACCEPT (RFC 9755): both advertised; once enabled mailbox names are
UTF-8 on the wire (kept in modified UTF-7 on disk, so an IMAP4rev1
session sees the same folder in modified UTF-7), a name that is not
UTF-8 is BAD, APPEND takes "UTF8 (~{n})" and ENVELOPE strings carry
UTF-8 as it is; under IMAP4rev2 SELECT sends no RECENT and no UNSEEN
code but a LIST response with the name (6.3.2), new mail gives EXISTS
without RECENT, and SEARCH answers ESEARCH (6.4.4).
"""
import os

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None
# the raw client speaks latin-1 strings: UTF-8 bytes are written so
NAME = "\u00c4rger/Gr\u00fc\u00dfe".encode().decode("latin-1")   # "Ärger/Grüße"
PARENT = "\u00c4rger".encode().decode("latin-1")
NAME7 = "&AMQ-rger/Gr&APwA3w-e"


def setup():
    global I, PORT
    I = harness.Instance(name="imaprev2")
    PORT = iu.imap_port(I, tls=True)


def fresh(n=0):
    iu.reset_maildir(I, DEMO)
    for k in range(n):
        iu.put_message(I, DEMO, iu.sample("r%d" % k), flags="S" if k == 0 else "")


def q(s):
    return '"' + s + '"'


def test_capabilities_and_enable():
    fresh()
    with iu.session(PORT, I, tls=True) as c:
        caps = c.capabilities()
        assert "IMAP4rev2" in caps and "IMAP4rev1" in caps and "UTF8=ACCEPT" in caps, caps
        u = c.ok("ENABLE IMAP4rev2")
        assert u == ["* ENABLED IMAP4rev2"], u
        u = c.ok("ENABLE IMAP4rev2")
        assert u == ["* ENABLED"], u
        c.logout()


def test_rev2_select_search_and_exists():
    fresh(3)
    with iu.session(PORT, I, tls=True) as c:
        c.ok("ENABLE IMAP4rev2")
        u, t = c.select()
        assert not any(r.endswith(" RECENT") for r in u), u
        assert not any("[UNSEEN" in r for r in u), u
        assert '* LIST () "/" INBOX' in u, u
        assert "* 3 EXISTS" in u, u
        t2 = c.tag()
        c.send("%s SEARCH UNSEEN\r\n" % t2)
        u, r = c.until_tagged(t2)
        assert r.startswith("OK") and u == ['* ESEARCH (TAG "%s") ALL 2:3' % t2], u
        iu.put_message(I, DEMO, iu.sample("new"))
        u = c.ok("NOOP")
        assert "* 4 EXISTS" in u and not any(r.endswith(" RECENT") for r in u), u
        c.logout()


def test_utf8_names_both_ways():
    fresh()
    md = I.maildir(DEMO)
    with iu.session(PORT, I, tls=True) as c:
        c.ok("ENABLE UTF8=ACCEPT")
        c.ok("CREATE %s" % q(NAME))
        assert os.path.isdir(os.path.join(md, "." + NAME7.replace("/", "."))), os.listdir(md)
        u = c.ok('LIST "" "*"')
        assert '* LIST (\\HasNoChildren) "/" "%s"' % NAME in u, u
        assert '* LIST (\\Noselect \\HasChildren) "/" "%s"' % PARENT in u, u
        u = c.ok("STATUS %s (MESSAGES)" % q(NAME))
        assert u == ['* STATUS "%s" (MESSAGES 0)' % NAME], u
        u, t = c.select(NAME)
        assert t.startswith("OK"), t
        # a name that is not UTF-8
        t1 = c.tag()
        c.send(("%s CREATE \"bad\xff\"\r\n" % t1).encode("latin-1"))
        u, r = c.until_tagged(t1)
        assert r.startswith("BAD") or r.startswith("NO"), r
        c.logout()
    with iu.session(PORT, I, tls=True) as c:
        u = c.ok('LIST "" "*"')
        assert '* LIST (\\HasNoChildren) "/" "%s"' % NAME7 in u, u
        c.logout()


def test_append_utf8_literal8():
    fresh()
    msg = ("From: =?utf-8?q?x?= <a@example.test>\r\nSubject: Gr\u00fc\u00dfe\r\n"
           "To: demo@example.test\r\n\r\nhallo\r\n").encode()
    with iu.session(PORT, I, tls=True) as c:
        c.ok("ENABLE UTF8=ACCEPT")
        t = c.tag()
        c.send(("%s APPEND INBOX UTF8 (~{%d+}\r\n" % (t, len(msg))).encode() + msg + b")\r\n")
        u, r = c.until_tagged(t)
        assert r.startswith("OK") and "APPENDUID" in r, r
        c.select()
        raw = c.ok("FETCH 1 (ENVELOPE)")
        assert "Gr\u00fc\u00dfe".encode().decode("latin-1") in raw[0], raw
        c.logout()
    with iu.session(PORT, I, tls=True) as c:
        # without UTF8=ACCEPT the extension's syntax is not there
        t = c.tag()
        c.send(("%s APPEND INBOX UTF8 (~{%d+}\r\n" % (t, len(msg))).encode() + msg + b")\r\n")
        u, r = c.until_tagged(t)
        assert r.startswith("BAD"), r
        c.logout()
