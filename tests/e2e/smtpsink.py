"""
smtpsink: an SMTP server for the relay tests (python stdlib only) that
records what it is sent and answers as the test says.

    sink = smtpsink.Sink(rcpt_replies={"bad@b.test": "550 5.1.1 no such user"})
    sink.port, sink.addr           where it listens (127.0.0.1, free port)
    sink.wait_messages(1)          [Envelope] once one message has arrived
    sink.sessions                  [Session]: helo, tls, auth, commands
    sink.close()

ESMTP: EHLO offers PIPELINING, 8BITMIME, SIZE (size=), ENHANCEDSTATUSCODES,
STARTTLS (when certfile/keyfile are given), DSN (dsn=True), AUTH PLAIN LOGIN
(when auth={"user": "password"}; offered only after TLS unless
auth_plaintext=True).  HELO works too.  Replies:
    greeting        "220 ..." by default, e.g. "421 4.3.2 busy"
    mail_reply      reply to MAIL FROM (default 250)
    rcpt_replies    {address (lower case): "451 4.3.0 try later"}, or a
                    callable(address) -> reply or None; default 250
    data_reply      reply after the final dot (default 250 ... queued)
    ehlo_reply      e.g. "502 5.5.1 no EHLO" to make the client use HELO
Every reply is one line "CODE text" or several joined by "\\n".

Envelope: mail_from, mail_params (dict, upper-case keys), rcpts
(accepted ones), rcpt_params ({address: params}), data (un-dot-stuffed
bytes, CRLF as sent), raw_data (as sent), tls (the TLS version or None),
auth (the user or None), session (its Session).

host: a netns.Host to listen in (on addr, default the host's ip4); None:
127.0.0.1.  port: default a free one.
"""
import base64
import socket
import ssl
import threading
import time

import harness


class Session:
    def __init__(self, peer):
        self.peer = peer
        self.helo = None
        self.esmtp = False
        self.tls = None          # TLS version after STARTTLS
        self.auth = None         # (mechanism, user, password) after a good AUTH
        self.auth_tls = None     # the TLS version when AUTH was given
        self.commands = []       # (command line, TLS version or None)
        self.closed = False


class Envelope:
    def __init__(self, session, mail_from, mail_params):
        self.session = session
        self.mail_from = mail_from
        self.mail_params = mail_params
        self.rcpts = []
        self.rcpt_params = {}
        self.data = None
        self.raw_data = None
        self.tls = session.tls
        self.auth = session.auth[1] if session.auth else None

    def __repr__(self):
        return "<Envelope from=<%s> to=%s tls=%s %d bytes>" % (
            self.mail_from, self.rcpts, self.tls, len(self.data or b""))


def _params(words):
    out = {}
    for w in words:
        k, _, v = w.partition("=")
        out[k.upper()] = v
    return out


def _path(arg):
    """The address inside <...> of a MAIL/RCPT argument, and the rest."""
    arg = arg.strip()
    if not arg.startswith("<") or ">" not in arg:
        return None, []
    addr, _, rest = arg[1:].partition(">")
    return addr, rest.split()


class Sink:
    def __init__(self, host=None, addr=None, port=None, certfile=None, keyfile=None,
                 auth=None, auth_plaintext=False, dsn=False, size=10485760,
                 greeting="220 sink.test ESMTP test sink", ehlo_reply=None,
                 mail_reply=None, rcpt_replies=None, data_reply=None,
                 name="sink.test", smtputf8=False, eightbit=True):
        self.host = host
        self.name = name
        self.addr = addr or (host.ip4 if host is not None else "127.0.0.1")
        self.certfile, self.keyfile = certfile, keyfile
        self.auth_users = auth
        self.auth_plaintext = auth_plaintext
        self.dsn, self.size, self.smtputf8, self.eightbit = dsn, size, smtputf8, eightbit
        self.greeting = greeting
        self.ehlo_reply = ehlo_reply
        self.mail_reply = mail_reply
        self.rcpt_replies = rcpt_replies or {}
        self.data_reply = data_reply
        self.messages = []
        self.sessions = []
        self.lock = threading.Lock()
        self.closed = False
        self.ctx = None
        if certfile:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(certfile, keyfile)
        if host is not None and host.ns is not None:
            self.sock = host.listen_socket(self.addr, port or 0)
        else:
            fam = socket.AF_INET6 if ":" in self.addr else socket.AF_INET
            self.sock = socket.socket(fam, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((self.addr, port or 0))
            self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    # -- control
    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False

    def wait_messages(self, n=1, timeout=20, info=None):
        """[Envelope] once at least n messages were accepted."""
        def have():
            with self.lock:
                return list(self.messages) if len(self.messages) >= n else None
        return harness.wait_for(have, timeout, what="%d message(s) at the sink" % n,
                                info=info or self.describe)

    def wait_sessions(self, n=1, timeout=20, info=None):
        """[Session] once at least n sessions have ended."""
        def have():
            with self.lock:
                done = [s for s in self.sessions if s.closed]
                return done if len(done) >= n else None
        return harness.wait_for(have, timeout, what="%d finished session(s) at the sink" % n,
                                info=info or self.describe)

    def describe(self):
        with self.lock:
            out = ["sink %s:%d: %d session(s), %d message(s)" % (
                self.addr, self.port, len(self.sessions), len(self.messages))]
            for s in self.sessions[-3:]:
                out.append("  session from %s tls=%s: %s" % (
                    s.peer, s.tls, " | ".join(c for c, _ in s.commands[-12:])))
        return "\n".join(out)

    # -- serving
    def _accept(self):
        while not self.closed:
            try:
                c, peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c, peer), daemon=True).start()

    def _serve(self, conn, peer):
        s = Session(peer)
        with self.lock:
            self.sessions.append(s)
        conn.settimeout(60)
        try:
            _Conn(self, s, conn).run()
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            s.closed = True
            try:
                conn.close()
            except OSError:
                pass


class _Conn:
    def __init__(self, sink, sess, sock):
        self.sink, self.s, self.sock = sink, sess, sock
        self.f = sock.makefile("rb")
        self.env = None

    def send(self, reply):
        lines = reply.split("\n")
        out = ""
        for i, l in enumerate(lines):
            code, text = l[:3], l[4:]
            out += "%s%s%s\r\n" % (code, " " if i == len(lines) - 1 else "-", text)
        self.sock.sendall(out.encode())

    def line(self):
        l = self.f.readline(65536)
        if not l:
            return None
        return l.rstrip(b"\r\n").decode("utf-8", "replace")

    def ehlo_lines(self):
        k = self.sink
        out = ["250 %s" % k.name, "250 PIPELINING", "250 SIZE %d" % k.size,
               "250 ENHANCEDSTATUSCODES"]
        if k.eightbit:
            out.append("250 8BITMIME")
        if k.smtputf8:
            out.append("250 SMTPUTF8")
        if k.dsn:
            out.append("250 DSN")
        if k.ctx is not None and self.s.tls is None:
            out.append("250 STARTTLS")
        if k.auth_users is not None and (self.s.tls or k.auth_plaintext):
            out.append("250 AUTH PLAIN LOGIN")
        return "\n".join(out)

    def check_auth(self, mech, user, pw):
        ok = self.sink.auth_users is not None and self.sink.auth_users.get(user) == pw
        if ok:
            self.s.auth = (mech, user, pw)
            self.s.auth_tls = self.s.tls
            self.send("235 2.7.0 Authentication successful")
        else:
            self.send("535 5.7.8 Authentication credentials invalid")

    def b64(self, text):
        try:
            return base64.b64decode(text, validate=True).decode("utf-8", "replace")
        except (ValueError, base64.binascii.Error):
            return None

    def run(self):
        k = self.sink
        self.send(k.greeting)
        if not k.greeting.startswith("2"):
            # 421/554 greeting: wait for QUIT (or the close), answer 221
            l = self.line()
            if l is not None:
                self.s.commands.append((l, None))
                self.send("221 2.0.0 bye")
            return
        while True:
            l = self.line()
            if l is None:
                return
            self.s.commands.append((l, self.s.tls))
            verb, _, arg = l.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                if k.ehlo_reply:
                    self.send(k.ehlo_reply)
                    continue
                self.s.helo, self.s.esmtp = arg, True
                self.env = None
                self.send(self.ehlo_lines())
            elif verb == "HELO":
                self.s.helo, self.s.esmtp = arg, False
                self.env = None
                self.send("250 %s" % k.name)
            elif verb == "STARTTLS" and k.ctx is not None and self.s.tls is None:
                self.send("220 2.0.0 go ahead")
                self.sock = k.ctx.wrap_socket(self.sock, server_side=True)
                self.f = self.sock.makefile("rb")
                self.s.tls = self.sock.version()
                self.s.helo = None
                self.env = None
            elif verb == "AUTH" and k.auth_users is not None and \
                    (self.s.tls or k.auth_plaintext) and self.s.auth is None:
                words = arg.split()
                mech = words[0].upper() if words else ""
                if mech == "PLAIN":
                    tok = words[1] if len(words) > 1 else None
                    if tok is None:
                        self.send("334 ")
                        tok = self.line()
                        self.s.commands.append(("(auth data)", self.s.tls))
                    dec = self.b64(tok or "")
                    parts = dec.split("\0") if dec is not None else []
                    if len(parts) != 3:
                        self.send("501 5.5.2 bad PLAIN response")
                        continue
                    self.check_auth("PLAIN", parts[1], parts[2])
                elif mech == "LOGIN":
                    if len(words) > 1:
                        user = self.b64(words[1])
                    else:
                        self.send("334 VXNlcm5hbWU6")
                        user = self.b64(self.line() or "")
                    self.send("334 UGFzc3dvcmQ6")
                    pw = self.b64(self.line() or "")
                    self.s.commands.append(("(auth data)", self.s.tls))
                    if user is None or pw is None:
                        self.send("501 5.5.2 bad LOGIN response")
                        continue
                    self.check_auth("LOGIN", user, pw)
                else:
                    self.send("504 5.5.4 mechanism not supported")
            elif verb == "MAIL" and arg[:5].upper() == "FROM:":
                if self.s.helo is None:
                    self.send("503 5.5.1 EHLO first")
                    continue
                addr, rest = _path(arg[5:])
                if addr is None:
                    self.send("501 5.5.4 syntax: MAIL FROM:<address>")
                    continue
                if k.mail_reply and not k.mail_reply.startswith("2"):
                    self.send(k.mail_reply)
                    continue
                self.env = Envelope(self.s, addr, _params(rest))
                self.send(k.mail_reply or "250 2.1.0 ok")
            elif verb == "RCPT" and arg[:3].upper() == "TO:":
                if self.env is None:
                    self.send("503 5.5.1 MAIL first")
                    continue
                addr, rest = _path(arg[3:])
                if addr is None:
                    self.send("501 5.5.4 syntax: RCPT TO:<address>")
                    continue
                r = k.rcpt_replies
                rep = r(addr) if callable(r) else r.get(addr.lower())
                if rep and not rep.startswith("2"):
                    self.send(rep)
                    continue
                self.env.rcpts.append(addr)
                self.env.rcpt_params[addr] = _params(rest)
                self.send(rep or "250 2.1.5 ok")
            elif verb == "DATA":
                if self.env is None or not self.env.rcpts:
                    self.send("554 5.5.1 no valid recipients")
                    continue
                self.send("354 go ahead")
                raw = bytearray()
                while True:
                    b = self.f.readline(1 << 20)
                    if not b:
                        return
                    if b == b".\r\n":
                        break
                    raw += b
                env, self.env = self.env, None
                env.raw_data = bytes(raw)
                env.data = b"".join(l[1:] if l.startswith(b".") else l
                                    for l in bytes(raw).splitlines(True))
                if k.data_reply and not k.data_reply.startswith("2"):
                    self.send(k.data_reply)
                    continue
                with k.lock:
                    k.messages.append(env)
                self.send(k.data_reply or "250 2.0.0 queued as S%d" % int(time.time() * 1000))
            elif verb == "RSET":
                self.env = None
                self.send("250 2.0.0 ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 bye")
                return
            else:
                self.send("502 5.5.2 command not recognized")
