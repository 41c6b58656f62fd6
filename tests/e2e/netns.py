"""
netns: throwaway hosts for the relay tests, in network namespaces when we
may make them (root with `ip netns`), on loopback addresses otherwise.

    net = netns.make()            # Net (namespaces) or LoopNet (loopback)
    a = net.add_host("a")         # a Host: a.ip4, a.ip6, a.prefix
    a.popen(argv, ...)            # argv run inside the host (ip netns exec)
    a.connect(addr, port)         # a TCP socket made inside the host
    a.listening(port, addr)       # 1 if something listens there, inside
    net.close()                   # every namespace gone (also at exit)

Net: one "hub" namespace holding a bridge, and per host a namespace with a
veth pair (host end eth0, hub end on the bridge), lo up, addresses
10.99.N.K/24 and fd99:0:0:N::K/64 (no DAD).  Nothing is added to the
namespace the tests run in, so no address of the machine can clash.
Namespace names start with "ternt<pid>x": left-overs of an earlier run
that died (its pid gone) are removed by the next make().

LoopNet (also with TERN_E2E_NETNS=no): the fallback where namespaces are missing (SPEC allows loopback):
host K is 127.0.0.K+1 (the whole of 127/8 is loopback on Linux), no IPv6
address of its own, argv run as is.  Every program on every host then
shares one port space per address, which is enough: each host has its
own address, so two hosts can listen on the same port.

Sockets inside a namespace: a worker thread per host joins the namespace
with setns(2) (through ctypes: os.setns needs Python 3.12) and makes the
sockets there; a socket stays in the namespace it was made in, so the
test uses it from any thread afterwards.
"""
import atexit
import concurrent.futures
import ctypes
import os
import re
import shutil
import socket
import subprocess

CLONE_NEWNET = 0x40000000
PREFIX = "ternt"
_seq = [0]
_open = []
_avail = []


class Unavailable(Exception):
    pass


def _ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError("ip %s: exit %d: %s" % (
            " ".join(args), r.returncode, r.stderr.decode("utf-8", "replace").strip()))
    return r


def available():
    """(True, "") when network namespaces can be made here, else
    (False, reason).  Tried once per run."""
    if os.environ.get("TERN_E2E_NETNS") == "no":
        return (False, "TERN_E2E_NETNS=no")
    if _avail:
        return _avail[0]
    res = (True, "")
    if os.geteuid() != 0:
        res = (False, "not root (ip netns needs CAP_SYS_ADMIN)")
    elif shutil.which("ip") is None:
        res = (False, "no ip(8) (apt-get install iproute2)")
    else:
        name = "%s%dxprobe" % (PREFIX, os.getpid())
        r = _ip("netns", "add", name, check=False)
        if r.returncode != 0:
            res = (False, "ip netns add failed: %s"
                   % r.stderr.decode("utf-8", "replace").strip())
        else:
            r = _ip("-n", name, "link", "add", "br0", "type", "bridge", check=False)
            _ip("netns", "del", name, check=False)
            if r.returncode != 0:
                res = (False, "no bridge in a namespace: %s"
                       % r.stderr.decode("utf-8", "replace").strip())
    _avail.append(res)
    return res


def _reap_stale():
    """Remove namespaces of earlier runs whose process is gone."""
    r = _ip("netns", "list", check=False)
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"%s(\d+)x" % PREFIX, name)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            _ip("netns", "del", name, check=False)


def make(force_loopback=False):
    """A Net when namespaces work, else a LoopNet (its .reason says why).
    TERN_E2E_NETNS=no in the environment asks for loopback (to test the
    fallback as root)."""
    ok, why = available()
    if os.environ.get("TERN_E2E_NETNS") == "no":
        ok, why = False, "TERN_E2E_NETNS=no"
    if ok and not force_loopback:
        return Net()
    n = LoopNet()
    n.reason = why or "loopback asked for"
    return n


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _join(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc().setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def tcp_listening(text, addr, port):
    """1 if the /proc/net/tcp or tcp6 text shows a listener on addr:port
    (addr None: any address, including the wildcard)."""
    hexport = "%04X" % port
    want = None
    if addr is not None:
        if ":" in addr:
            b = socket.inet_pton(socket.AF_INET6, addr)
            want = "".join("%08X" % int.from_bytes(b[i:i + 4], "little")
                           for i in range(0, 16, 4))
        else:
            want = "%08X" % int.from_bytes(socket.inet_aton(addr), "little")
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 4 or f[3] != "0A":
            continue
        a, _, p = f[1].partition(":")
        if p != hexport:
            continue
        if want is None or a == want or a.strip("0") == "":
            return True
    return False


class Host:
    """One host of a Net: its namespace, addresses, and how to run in it."""

    def __init__(self, net, name, k):
        self.net, self.name, self.k = net, name, k
        self.ns = "%s-%s" % (net.base, name)
        self.ip4 = "10.99.%d.%d" % (net.n, k)
        self.ip6 = "fd99:0:0:%x::%x" % (net.n, k)
        self.prefix = ["ip", "netns", "exec", self.ns]
        self._pool = None

    def _make(self):
        _ip("netns", "add", self.ns)
        _ip("-n", self.ns, "link", "set", "lo", "up")
        peer = "h%d" % self.k
        _ip("link", "add", "eth0", "netns", self.ns, "type", "veth",
            "peer", "name", peer, "netns", self.net.hub)
        _ip("-n", self.net.hub, "link", "set", peer, "master", "br0")
        _ip("-n", self.net.hub, "link", "set", peer, "up")
        _ip("-n", self.ns, "addr", "add", self.ip4 + "/24", "dev", "eth0")
        _ip("-n", self.ns, "-6", "addr", "add", self.ip6 + "/64", "dev", "eth0", "nodad")
        _ip("-n", self.ns, "link", "set", "eth0", "up")

    # -- running things inside
    def argv(self, argv):
        return self.prefix + list(argv)

    def popen(self, argv, **kw):
        return subprocess.Popen(self.argv(argv), **kw)

    def run(self, argv, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("timeout", 60)
        return subprocess.run(self.argv(argv), **kw)

    def call(self, fn, *args):
        """fn(*args) in a thread that is inside the namespace."""
        if self._pool is None:
            path = "/run/netns/" + self.ns
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, initializer=_join, initargs=(path,))
        return self._pool.submit(fn, *args).result(60)

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM):
        return self.call(socket.socket, family, type)

    def connect(self, addr, port, timeout=10):
        """A TCP socket connected from inside the host to addr:port."""
        def conn():
            return socket.create_connection((addr, port), timeout=timeout)
        return self.call(conn)

    def listen_socket(self, addr, port=0, backlog=16):
        """A listening TCP socket on addr:port made inside the host."""
        def mk():
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(backlog)
            return s
        return self.call(mk)

    def tcp_table(self):
        def rd():
            out = ""
            for f in ("tcp", "tcp6"):
                try:
                    with open("/proc/thread-self/net/" + f) as fh:
                        out += fh.read()
                except OSError:
                    pass
            return out
        return self.call(rd)

    def listening(self, port, addr=None):
        return tcp_listening(self.tcp_table(), addr, port)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


class Net:
    """Hosts in network namespaces on one bridge (see the module text)."""
    kind = "netns"

    def __init__(self):
        _reap_stale()
        _seq[0] += 1
        self.n = (os.getpid() + _seq[0]) % 250 + 1
        self.base = "%s%dx%d" % (PREFIX, os.getpid(), _seq[0])
        self.hub = self.base + "-hub"
        self.hosts = []
        self.closed = False
        self.reason = ""
        _open.append(self)
        try:
            _ip("netns", "add", self.hub)
            _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.hub, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    def add_host(self, name):
        h = Host(self, name, len(self.hosts) + 1)
        self.hosts.append(h)
        try:
            h._make()
        except BaseException:
            self.close()
            raise
        return h

    def close(self):
        if self.closed:
            return
        self.closed = True
        for h in self.hosts:
            h.close()
            _ip("netns", "del", h.ns, check=False)
        _ip("netns", "del", self.hub, check=False)
        if self in _open:
            _open.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


class LoopHost(Host):
    """A host of a LoopNet: an address of 127/8, everything run as is."""

    def __init__(self, net, name, k):
        self.net, self.name, self.k = net, name, k
        self.ns = None
        self.ip4 = "127.0.0.%d" % (k + 1)
        self.ip6 = None
        self.prefix = []

    def call(self, fn, *args):
        return fn(*args)

    def tcp_table(self):
        out = ""
        for f in ("tcp", "tcp6"):
            try:
                with open("/proc/net/" + f) as fh:
                    out += fh.read()
            except OSError:
                pass
        return out

    def close(self):
        pass


class LoopNet:
    kind = "loopback"

    def __init__(self):
        self.hosts = []
        self.reason = ""

    def add_host(self, name):
        h = LoopHost(self, name, len(self.hosts) + 1)
        self.hosts.append(h)
        return h

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


@atexit.register
def _close_all():
    for n in list(_open):
        n.close()


def smtp(host, addr, port, timeout=20):
    """An smtplib.SMTP connected from inside host (a Host, LoopHost or
    None for our own namespace) to addr:port, greeting read."""
    import smtplib

    class _SMTP(smtplib.SMTP):
        def _get_socket(self, h, p, t):
            if host is None:
                return socket.create_connection((h, p), t)
            return host.connect(h, p, t)
    s = _SMTP(timeout=timeout, local_hostname="client.test")
    s.connect(addr, port)
    s._host = "localhost"   # the name STARTTLS checks (server_hostname)
    return s
