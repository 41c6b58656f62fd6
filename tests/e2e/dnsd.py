"""
dnsd: a DNS server for the relay tests (dnsmasq, package dnsmasq-base),
answering only from the records the test gives, forwarding nothing.

    d = dnsd.DNS(log_path, mx=[("b.test", "mx1.b.test", 10)],
                 addrs=[("mx1.b.test", "127.0.0.2", "::1")],
                 null_mx=["null.test"], zones=["test"], host=None)
    d.server            "127.0.0.1:PORT" for tern.conf dns_servers
    d.query(name, "MX") (rcode, [answers]); MX answers are (pref, host),
                        A/AAAA answers address strings, "" for the root
    d.close()

Names under one of zones that have no record get NXDOMAIN (dnsmasq
--local=/ZONE/); a name with records but none of the type asked gets an
empty NOERROR answer.  A null MX (RFC 7505) is "MX 0 .": dnsmasq serves it
with --mx-host=NAME,.,0 (checked by test_relay_infra).

host: a netns.Host to run in (it then listens on the host's address,
port 53); None: 127.0.0.1 on a free port.  The constructor returns once
the server answers a query (a wait for the condition, no sleep).
"""
import socket
import struct
import subprocess

import harness

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "TXT": 16, "AAAA": 28}


def build_query(name, qtype, qid=0x4242):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        if label:
            q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def _name(data, off, depth=0):
    """(name, offset after it) with compression pointers followed."""
    labels = []
    end = None
    while True:
        if off >= len(data) or depth > 20:
            raise ValueError("bad name in DNS reply")
        n = data[off]
        if n & 0xC0 == 0xC0:
            ptr = ((n & 0x3F) << 8) | data[off + 1]
            if end is None:
                end = off + 2
            off = ptr
            depth += 1
            continue
        if n == 0:
            off += 1
            break
        labels.append(data[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), (end if end is not None else off)


def parse_reply(data, qtype):
    """(rcode, answers of qtype) of a reply."""
    rcode = data[3] & 0x0F
    qd, an = struct.unpack(">HH", data[4:8])
    off = 12
    for _ in range(qd):
        _, off = _name(data, off)
        off += 4
    out = []
    for _ in range(an):
        _, off = _name(data, off)
        t, _c, _ttl, ln = struct.unpack(">HHIH", data[off:off + 10])
        off += 10
        rd = data[off:off + ln]
        if t == qtype:
            if t == 1:
                out.append(socket.inet_ntop(socket.AF_INET, rd))
            elif t == 28:
                out.append(socket.inet_ntop(socket.AF_INET6, rd))
            elif t == 15:
                pref = struct.unpack(">H", rd[:2])[0]
                out.append((pref, _name(data, off + 2)[0]))
            else:
                out.append(rd)
        off += ln
    return rcode, out


def query(addr, port, name, qtype="A", timeout=1.0, host=None):
    """One UDP query; (rcode, answers) or None on timeout."""
    t = QTYPES[qtype] if isinstance(qtype, str) else qtype

    def ask():
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
                          socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.sendto(build_query(name, t), (addr, port))
            data, _ = s.recvfrom(4096)
        except OSError:
            return None
        finally:
            s.close()
        return parse_reply(data, t)
    return host.call(ask) if host is not None else ask()


class DNS:
    def __init__(self, log_path, mx=(), addrs=(), null_mx=(), txt=(),
                 zones=("test",), host=None):
        exe = harness.need_tool("dnsmasq", "dnsmasq-base")
        self.host = host
        self.proc = None
        self.log_path = log_path
        inside = host is not None and host.ns is not None
        self.addr = host.ip4 if inside else "127.0.0.1"
        for _ in range(10):
            port = 53 if inside else harness.free_port()
            argv = [exe, "--no-daemon", "--conf-file=/dev/null",
                    "--port=%d" % port, "--listen-address=%s" % self.addr,
                    "--bind-interfaces", "--no-resolv", "--no-hosts",
                    "--no-negcache", "--pid-file=", "--log-queries"]
            for z in zones:
                argv.append("--local=/%s/" % z)
            for name, target, pref in mx:
                argv.append("--mx-host=%s,%s,%d" % (name, target, pref))
            for name in null_mx:
                argv.append("--mx-host=%s,.,0" % name)
            for rec in addrs:
                argv.append("--host-record=%s" % ",".join(rec))
            for name, text in txt:
                argv.append("--txt-record=%s,%s" % (name, text))
            self.argv = argv
            log = open(log_path, "ab")
            try:
                if inside:
                    p = host.popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=log, start_new_session=True)
                else:
                    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)
            finally:
                log.close()
            probe = "probe.%s" % zones[0] if zones else "probe.invalid"

            def up():
                if p.poll() is not None:
                    return "exited"
                return query(self.addr, port, probe, host=host if inside else None) \
                    is not None and "up"
            if harness.wait_for(up, 10, what="dnsmasq on %s:%d" % (self.addr, port),
                                info=lambda: harness.tail(log_path)) == "up":
                self.port, self.proc = port, p
                self.server = "%s:%d" % (self.addr, port)
                return
            if inside:
                break
        raise AssertionError("dnsmasq would not start:\n%s" % harness.tail(log_path))

    def query(self, name, qtype="A"):
        r = query(self.addr, self.port, name, qtype,
                  host=self.host if self.host is not None and self.host.ns else None)
        if r is None:
            raise AssertionError("no DNS answer for %s %s from %s" % (name, qtype, self.server))
        return r

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
