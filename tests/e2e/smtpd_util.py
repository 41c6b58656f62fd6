"""
smtpd_util: helpers for the tern-smtpd end-to-end tests
(tests/e2e/test_smtpd_*.py), on top of harness.py.

    listen(inst, mode, rules)   tcpserver + tern-smtpd -m MODE on a free port
    starttls(c, inst)           STARTTLS on an SMTPRaw, returns the TLS one
    smtps(inst, port)           an SMTPRaw over implicit TLS (RFC 8314)
    ehlo(c)                     EHLO; the keywords, upper case
    auth_plain(c, user, pw)     AUTH PLAIN with an initial response
    queue_file(inst, qid)       the envelope lines of spool/mess/QID
    DNS(records)                a dnsmasq on 127.0.0.1 (context manager)

Every wait is a wait-for-condition (harness.wait_for); nothing here talks
to anything but 127.0.0.x.
"""
import base64
import re
import socket
import ssl
import struct
import subprocess

import harness
from harness import SMTPRaw


def listen(inst, mode=None, rules=None, env=None):
    """tcpserver running tern-smtpd [-m mode] -C etc on a free 127.0.0.1
    port; rules: tcprules text (e.g. '127.0.0.2:allow,RELAYCLIENT=""').
    The server is stopped with the instance."""
    opts = []
    if rules is not None:
        opts = ["-x", inst.tcprules("tcp.%s" % (mode or "mx"), rules)]
    args = [inst.prog("tern-smtpd")] + (["-m", mode] if mode else []) + ["-C", inst.etc]
    return inst.tcpserve(args, "smtpd.log", opts, env)


def swaks(port, *args):
    """Run swaks against 127.0.0.1:port; (exit code, output)."""
    exe = harness.need_tool("swaks")
    r = subprocess.run([exe, "--server", "127.0.0.1:%d" % port,
                        "--helo", "client.example.org"] + list(args),
                       capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def connect(port, source="127.0.0.1", timeout=10):
    """A TCP connection to 127.0.0.1:port from the address source (the
    whole of 127.0.0.0/8 is loopback on Linux)."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))


def raw(port, source="127.0.0.1"):
    """An SMTPRaw (banner read) from source."""
    return SMTPRaw(port, sock=connect(port, source))


def ehlo(c, name="client.example.org"):
    code, lines = c.cmd("EHLO " + name)
    assert code == 250, lines
    return [l[4:].upper() for l in lines[1:]]


class _TLSRaw(SMTPRaw):
    """An SMTPRaw over an already wrapped socket, without a banner."""

    def __init__(self, sock):  # noqa: super().__init__ would read a banner
        self.sock = sock
        self.f = sock.makefile("rb")
        self.banner = None


def starttls(c, inst):
    """STARTTLS on c (after EHLO); returns the client over TLS, checked
    against the instance's certificate for "localhost"."""
    code, lines = c.cmd("STARTTLS")
    assert code == 220, lines
    s = inst.ssl_context().wrap_socket(c.sock, server_hostname="localhost")
    return _TLSRaw(s)


def smtps(inst, port, source="127.0.0.1"):
    """An SMTPRaw over implicit TLS (the banner comes after the handshake)."""
    s = inst.ssl_context().wrap_socket(connect(port, source),
                                       server_hostname="localhost")
    return SMTPRaw(port, sock=s)


def auth_plain(c, user, password):
    """AUTH PLAIN with an initial response (RFC 4954 4); the reply."""
    token = base64.b64encode(b"\0" + user.encode() + b"\0" +
                             password.encode()).decode()
    return c.cmd("AUTH PLAIN " + token)


def queue_file(inst, qid):
    """The envelope lines of spool/mess/QID (lib/queue/qfile.h)."""
    with open(inst.path("spool", "mess", qid), "rb") as f:
        head = f.read().split(b"\n\n", 1)[0]
    return head.decode("utf-8").split("\n")


def qid_of(lines):
    m = re.search(r"queued as ([0-9A-F]{20})", lines[-1])
    assert m, "no queue id in %r" % lines
    return m.group(1)


def smtpd_log(inst):
    try:
        with open(inst.path("log", "smtpd.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# ------------------------------------------------------------ DNS


def dns_query(port, name, qtype=1, timeout=1.0):
    """One UDP query to 127.0.0.1:port; (rcode, number of answers) or None
    on timeout."""
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
    except OSError:
        return None
    finally:
        s.close()
    return data[3] & 0x0F, struct.unpack(">H", data[6:8])[0]


class DNS:
    """dnsmasq on 127.0.0.1:PORT answering only for zone: records is a
    list of (name, ip, txt-or-None); a TXT text must not hold a comma
    (dnsmasq's separator of character-strings).  Any other name in the zone gets
    NXDOMAIN; nothing is forwarded anywhere (--no-resolv)."""

    def __init__(self, zone, records, log_path):
        exe = harness.need_tool("dnsmasq", "dnsmasq-base")
        self.port = None
        self.proc = None
        for _ in range(10):
            port = harness.free_port()
            argv = [exe, "--no-daemon", "--conf-file=/dev/null",
                    "--port=%d" % port, "--listen-address=127.0.0.1",
                    "--bind-interfaces", "--no-resolv", "--no-hosts",
                    "--pid-file=", "--local=/%s/" % zone]
            for name, ip, txt in records:
                argv.append("--host-record=%s,%s" % (name, ip))
                if txt is not None:
                    argv.append("--txt-record=%s,%s" % (name, txt))
            log = open(log_path, "ab")
            try:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, start_new_session=True)
            finally:
                log.close()
            probe = "probe.%s" % zone

            def up():
                if p.poll() is not None:
                    return "exited"
                return dns_query(port, probe) is not None and "up"
            if harness.wait_for(up, 10, what="dnsmasq on port %d" % port) == "up":
                self.port, self.proc = port, p
                return
        raise AssertionError("dnsmasq would not start (see %s)" % log_path)

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False
