"""
tern-imapd, BINARY (RFC 3516): FETCH BINARY[part]<partial>,
BINARY.PEEK and BINARY.SIZE give a part with its transfer encoding
undone (base64, quoted-printable; 7bit/8bit as they are), as a literal8
("~{n}") when the decoded bytes hold a NUL; BINARY[] is the message as
it is; an encoding the server does not know gets NO [UNKNOWN-CTE];
BINARY sets \\Seen, BINARY.PEEK and BINARY.SIZE do not; a section with
HEADER/TEXT/MIME or BINARY.SIZE with a partial is BAD; an APPEND with a
literal8 stores the octets as sent, binary-encoded parts as base64.
"""
import base64

import harness
import imap_util as iu
from imap_util import DEMO

I = None
PORT = None
BLOB = bytes(range(256)) * 3 + b"\0end"
QP_TEXT = "caf\u00e9 = ok"  # the CRLF before a boundary is the boundary's


def setup():
    global I, PORT
    I = harness.Instance(name="imapbin")
    PORT = iu.imap_port(I, tls=True)


def message():
    b64 = base64.encodebytes(BLOB).decode()
    return ("From: a@example.test\nTo: demo@example.test\nSubject: bin\n"
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
            "--b\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: quoted-printable\n\n"
            "caf=C3=A9 =3D ok\n"
            "--b\nContent-Type: application/octet-stream\n"
            "Content-Transfer-Encoding: base64\n\n" + b64 +
            "--b\nContent-Type: text/plain\nContent-Transfer-Encoding: x-weird\n\n"
            "zzz\n--b--\n").encode()


def fresh():
    iu.reset_maildir(I, DEMO)
    iu.put_message(I, DEMO, message(), flags="")


def literal_of(resp, item):
    """The octets of the literal after item in one FETCH response, and
    whether it was a literal8."""
    k = resp.index(item + " ")
    rest = resp[k + len(item) + 1:]
    eight = rest.startswith("~")
    if eight:
        rest = rest[1:]
    assert rest.startswith("{"), rest[:40]
    n = int(rest[1:rest.index("}")])
    start = rest.index("}\r\n") + 3
    return rest[start:start + n].encode("latin-1"), eight


def test_binary_capability_and_decoded_parts():
    fresh()
    with iu.session(PORT, I, tls=True) as c:
        assert "BINARY" in c.capabilities()
        c.select()
        u = c.ok("FETCH 1 (BINARY.PEEK[2])")
        data, eight = literal_of(u[0], "BINARY[2]")
        assert data == BLOB and eight, (len(data), eight)
        u = c.ok("FETCH 1 (BINARY.PEEK[1])")
        data, eight = literal_of(u[0], "BINARY[1]")
        assert data == QP_TEXT.encode() and not eight, data
        u = c.ok("FETCH 1 (BINARY.SIZE[2] BINARY.SIZE[1])")
        assert "BINARY.SIZE[2] %d" % len(BLOB) in u[0], u
        assert "BINARY.SIZE[1] %d" % len(QP_TEXT.encode()) in u[0], u
        u = c.ok("FETCH 1 (BINARY.PEEK[2]<254.4>)")
        data, eight = literal_of(u[0], "BINARY[2]<254>")
        assert data == bytes([254, 255, 0, 1]) and eight, data
        # the whole message, as it is
        u = c.ok("FETCH 1 (BINARY.PEEK[])")
        data, _ = literal_of(u[0], "BINARY[]")
        assert data == iu.served(message()), data[:80]
        # none of those set \Seen
        u = c.ok("FETCH 1 (FLAGS)")
        assert "\\Seen" not in u[0], u
        u = c.ok("FETCH 1 (BINARY[2])")
        assert "\\Seen" in u[0], u
        c.logout()


def test_unknown_encoding_and_bad_sections():
    fresh()
    with iu.session(PORT, I, tls=True) as c:
        c.select()
        u, t = c.cmd("FETCH 1 (BINARY.PEEK[3])")
        assert t.startswith("NO [UNKNOWN-CTE]"), (u, t)
        # RFC 3516 4.3: the failed BINARY (not PEEK) sets no \Seen
        u, t = c.cmd("FETCH 1 (BINARY[3])")
        assert t.startswith("NO [UNKNOWN-CTE]") and u == [], (u, t)
        u = c.ok("FETCH 1 (FLAGS)")
        assert "\\Seen" not in u[0], u
        for bad in ("BINARY[1.HEADER]", "BINARY[TEXT]", "BINARY.SIZE[1]<0.5>",
                    "BINARY[1.MIME]"):
            u, t = c.cmd("FETCH 1 (%s)" % bad)
            assert t.startswith("BAD"), (bad, t)
        # a part that is not there: empty
        u = c.ok("FETCH 1 (BINARY.PEEK[9])")
        assert "BINARY[9] {0}" in u[0] or 'BINARY[9] ""' in u[0], u
        c.logout()


def test_append_literal8_keeps_the_octets():
    fresh()
    raw = b"Subject: nul\r\n\r\nbefore\0after\r\n"
    with iu.session(PORT, I, tls=True) as c:
        t = c.tag()
        c.send(("%s APPEND INBOX ~{%d+}\r\n" % (t, len(raw))).encode() + raw + b"\r\n")
        u, r = c.until_tagged(t)
        assert r.startswith("OK"), r
        c.select()
        u = c.ok("FETCH 2 (BINARY.PEEK[1])")
        data, eight = literal_of(u[0], "BINARY[1]")
        assert data == b"before\0after\r\n" and eight, data
        c.logout()


def test_append_of_binary_parts_keeps_them_as_base64():
    """RFC 3516 4.4: parts APPENDed with Content-Transfer-Encoding:
    binary (bare LF, bare CR, NUL: octets a Maildir of LF lines cannot
    keep) are stored as base64, so BODY[n] is base64 text and BINARY[n]
    gives back exactly the octets sent; a text part beside them is kept
    as it was.  (imaptest's append-binary.)"""
    fresh()
    blob = b"\0-\xe4\n\r\n\n\rend"
    raw = (b"From: a@example.test\r\nSubject: two parts\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"q\"\r\n\r\n"
           b"--q\r\nContent-Type: text/plain\r\n\r\nplain text\r\n"
           b"--q\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: BINARY\r\n\r\n" + blob +
           b"\r\n--q--\r\n")
    single = (b"Subject: one\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Transfer-Encoding: binary\r\n\r\n" + blob)
    with iu.session(PORT, I, tls=True) as c:
        for msg in (raw, single):
            t = c.tag()
            c.send(("%s APPEND INBOX ~{%d+}\r\n" % (t, len(msg))).encode() + msg + b"\r\n")
            u, r = c.until_tagged(t)
            assert r.startswith("OK"), r
        c.select()
        for seq, part in ((2, "2"), (3, "1")):
            u = c.ok("FETCH %d (BINARY.PEEK[%s] BINARY.SIZE[%s])" % (seq, part, part))
            data, eight = literal_of(u[0], "BINARY[%s]" % part)
            assert data == blob and eight, (seq, data)
            assert "BINARY.SIZE[%s] %d" % (part, len(blob)) in u[0], u[0]
            u = c.ok("FETCH %d (BODY.PEEK[%s.MIME] BODY.PEEK[%s])" % (seq, part, part)) \
                if part == "2" else c.ok("FETCH %d (BODY.PEEK[HEADER] BODY.PEEK[1])" % seq)
            assert "Content-Transfer-Encoding: base64" in u[0], u[0]
            body, _ = literal_of(u[0], "BODY[%s]" % part)
            assert base64.b64decode(body) == blob, body
        u = c.ok("FETCH 2 (BODY.PEEK[1])")
        assert literal_of(u[0], "BODY[1]")[0] == b"plain text", u[0]
        c.logout()
