"""
tern-imapd under kill -9 (issue 14: nothing acknowledged is lost): four
clients APPEND numbered messages and set flags on them over plaintext
IMAP (one tern-imap-session each) while the test kills a random session
with SIGKILL after every few acknowledged APPENDs; a killed client logs
in again and goes on.  Afterwards one session checks that every APPEND
that got its OK is in INBOX exactly once, whole, under the UID its
APPENDUID named, with the UIDVALIDITY unchanged; an APPEND cut short may
be there or not, but only whole.
"""
import random
import re
import socket
import threading

import harness
import imap_util as iu
from imap_util import DEMO

CLIENTS = 4
WANT = 160          # acknowledged APPENDs
KILL_EVERY = 8      # a kill after this many more acknowledged APPENDs
BODY = "line %d of the crash test, padded to a few hundred octets. " * 6

I = None
PORT = None


def setup():
    global I, PORT
    I = harness.Instance(name="imapcrash", conf={"allow_plaintext_auth": "yes"})
    PORT = iu.imap_port(I)


def message(marker):
    return ("From: crash@example.test\r\nTo: %s\r\nSubject: %s\r\n\r\n%s\r\n"
            % (DEMO, marker, BODY.replace("%d", marker))).encode()


class Client:
    """A minimal raw IMAP client; every error means "the session died"."""

    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=20)
        self.f = self.sock.makefile("rb")
        self.n = 0
        self.f.readline()
        try:
            self.cmd(b"LOGIN %s %s" % (DEMO.encode(), I.users[DEMO].encode()))
        except AssertionError as e:
            # killed between the password check and its answer: the
            # login child says so and ends the connection
            if "[UNAVAILABLE]" not in str(e):
                raise
            raise OSError("the session was killed during the login")

    def cmd(self, line, literal=None):
        self.n += 1
        tag = b"c%d" % self.n
        data = tag + b" " + line
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        while True:
            l = self.f.readline()
            if not l:
                raise OSError("connection closed")
            if l.startswith(tag + b" "):
                if not l.startswith(tag + b" OK"):
                    raise AssertionError("%r: %r" % (line[:40], l))
                return l

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def test_kill9_of_sessions_during_appends_and_stores():
    iu.empty_maildir(I, DEMO)
    acked = {}              # marker -> (uidvalidity, uid)
    lock = threading.Lock()
    more = threading.Condition(lock)
    stop = threading.Event()
    errors = []
    kills = [0]

    def worker(k):
        rnd = random.Random(k)
        i = 0
        c = None
        while not stop.is_set():
            try:
                if c is None:
                    c = Client()
                marker = "crash-%d-%04d" % (k, i)
                i += 1
                r = c.cmd(b"APPEND INBOX", message(marker))
                m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", r)
                if not m:
                    raise AssertionError("no APPENDUID: %r" % r)
                with lock:
                    acked[marker] = (int(m.group(1)), int(m.group(2)))
                    more.notify_all()
                if rnd.random() < 0.5:
                    c.cmd(b"SELECT INBOX")
                    c.cmd(b"UID STORE %s +FLAGS (\\Seen \\Flagged)" % m.group(2))
            except OSError:
                if c is not None:
                    c.close()
                c = None          # killed: log in again
            except AssertionError as e:
                errors.append(str(e))
                stop.set()
        if c is not None:
            c.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        rnd = random.Random(99)
        while True:
            with lock:
                seen = len(acked)
                if seen >= WANT or errors:
                    break
                # wait for the next few acknowledgements, not for a time
                more.wait_for(lambda: len(acked) >= seen + KILL_EVERY or errors,
                              timeout=30)
                if len(acked) < seen + KILL_EVERY and not errors:
                    raise AssertionError("the clients stopped getting OKs "
                                         "(%d acknowledged)" % len(acked))
            sessions = [p for p, i in iu.imapd_pids(I, PORT).items()
                        if harness.prog_name(i) == "tern-imap-session"]
            if sessions:
                harness.kill9([rnd.choice(sessions)])
                kills[0] += 1
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors[:3]
    assert kills[0] >= WANT // KILL_EVERY - 2, kills[0]

    c = Client()
    r = c.cmd(b"SELECT INBOX")
    c.sock.sendall(b"f UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)] "
                   b"BODY.PEEK[TEXT])\r\n")
    data = b""
    while not re.search(rb"(^|\r\n)f (OK|NO|BAD)[^\r\n]*\r\n$", data):
        chunk = c.sock.recv(1 << 20)
        assert chunk, "connection closed during the FETCH"
        data += chunk
    c.sock.sendall(b"s SELECT INBOX\r\n")
    sel = b""
    while b"\r\ns OK" not in sel and not sel.startswith(b"s OK"):
        sel += c.sock.recv(65536)
    c.close()
    validity = int(re.search(rb"UIDVALIDITY (\d+)", sel).group(1))
    found = {}
    for m in re.finditer(rb"\* \d+ FETCH \(UID (\d+) BODY\[HEADER\.FIELDS \(SUBJECT\)\] "
                         rb"\{(\d+)\}\r\n", data):
        uid = int(m.group(1))
        hdr = data[m.end():m.end() + int(m.group(2))]
        marker = re.search(rb"Subject: (\S+)", hdr).group(1).decode()
        rest = data[m.end() + int(m.group(2)):]
        t = re.match(rb" BODY\[TEXT\] \{(\d+)\}\r\n", rest)
        assert t, rest[:80]
        text = rest[t.end():t.end() + int(t.group(1))]
        assert text == (BODY.replace("%d", marker) + "\r\n").encode(), \
            "message %s is not whole: %r" % (marker, text[:80])
        assert marker not in found, "%s is there twice (UIDs %d, %d)" % (
            marker, found[marker], uid)
        found[marker] = uid
    assert len(found) >= len(acked), (len(found), len(acked))
    for marker, (v, uid) in acked.items():
        assert v == validity, "UIDVALIDITY changed: %d then %d" % (v, validity)
        assert marker in found, "acknowledged %s (UID %d) is lost" % (marker, uid)
        assert found[marker] == uid, "%s has UID %d, APPENDUID said %d" % (
            marker, found[marker], uid)
