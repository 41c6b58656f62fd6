"""
harness: throwaway tern instances for the end-to-end tests.

An Instance is a whole tern installation in one directory under tests/tmp/
(not /tmp: the setuid tern-enqueue must work, and /tmp may be nosuid):

    DIR/etc/   tern.conf, users, aliases (+ .cdb), readable by all
    DIR/bin/   copies of the built programs (program_dir)
    DIR/spool/ the queue (created by tern-start; owner ternq when root)
    DIR/mail/  mailboxes, DIR/mail/DOMAIN/USER/Maildir (owner ternv when root)
    DIR/log/   queue.log (tern-start and children), smtpd.log (tcpserver)

Run as root, the instance uses the system users ternd ternq ternl ternr
ternv (scripts/mkusers creates them) so privilege separation is active;
run as a normal user, everything runs as that user.  Every wait is a
wait-for-condition with a deadline, never a fixed sleep.

TLS (Instance(tls=True), the default): one self-signed P-256 certificate
for CN=localhost with subjectAltName DNS:localhost and IP:127.0.0.1 is made
with openssl(1) once per test run and copied into each instance as
etc/cert.pem and etc/key.pem (0600, owner root when root), with an 80-byte
etc/ticket.key (0600); tern.conf gets tls_cert, tls_key and
tls_ticket_key.  inst.cafile is the certificate for clients to trust
(inst.ssl_context() makes such a client context); None when tls=False.

The directory is removed when the test passes and kept (path printed) when
it fails.  The runner calls reap_all() after each test and module so that a
test that forgets stop() leaves nothing running.
"""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TMPROOT = os.path.join(REPO, "tests", "tmp")
# where the built programs are: the checkout, or TERN_E2E_BUILD (a separate
# build tree, e.g. to test while others rebuild the checkout)
BUILD = os.environ.get("TERN_E2E_BUILD") or REPO
IS_ROOT = os.geteuid() == 0
SYSUSERS = ("ternd", "ternq", "ternl", "ternr", "ternv", "ternp", "terni")

# built program -> its name in DIR/bin
PROGRAMS = [
    "smtpd/tern-smtpd",
    "enqueue/tern-enqueue",
    "enqueued/tern-enqueued",
    "queued/tern-queued",
    "tools/tern-queue",
    "tools/tern-sendmail",
    "start/tern-start",
    "remote/tern-remote",
    "deliverd/tern-deliverd",
    "pop3d/tern-pop3d",
    "imapd/tern-imapd",
    "imapd/tern-imap-session",
    "tools/tern-map",
    "tools/tern-passwd",
    "tools/tern-config",
]

USERS = {"demo@example.test": "demo", "alice@example.test": "alice"}
ALIASES = {"postmaster@example.test": "demo@example.test"}


class Skip(Exception):
    """Raised by a test that cannot run here; the reason is printed."""


# ---------------------------------------------------------------- TLS

_tls_pem = []   # [(cert bytes, key bytes)] once made


def tls_pem():
    """(cert, key) PEM bytes of the test run's self-signed certificate,
    made on first use with openssl(1)."""
    if _tls_pem:
        return _tls_pem[0]
    openssl = need_tool("openssl")
    os.makedirs(TMPROOT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tls.", dir=TMPROOT)
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        r = subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj",
             "/CN=localhost", "-addext",
             "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", key, "-out", cert],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("openssl req failed (exit %d): %s" % (
                r.returncode, r.stderr.decode("utf-8", "replace").strip()))
        with open(cert, "rb") as f:
            c = f.read()
        with open(key, "rb") as f:
            k = f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _tls_pem.append((c, k))
    return c, k


_ca = []   # [(dir, ca cert path, ca key path)] once made


def make_cert(dest, names=("localhost",), ips=("127.0.0.1",), cn=None):
    """A certificate for names/ips signed by the test run's own CA (made
    with openssl(1) on first use): (ca_path, cert_path, key_path), the
    cert and key written to the directory dest (key mode 0600).  For
    peers that check names against a CA file (tls=verify cafile=...)."""
    openssl = need_tool("openssl")
    os.makedirs(dest, exist_ok=True)
    if not _ca:
        os.makedirs(TMPROOT, exist_ok=True)
        d = tempfile.mkdtemp(prefix="ca.", dir=TMPROOT)
        os.chmod(d, 0o755)
        ck, cc = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
        r = subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                            "-subj", "/CN=tern test CA", "-addext",
                            "basicConstraints=critical,CA:TRUE", "-addext",
                            "keyUsage=critical,keyCertSign,cRLSign",
                            "-keyout", ck, "-out", cc],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("openssl (CA) failed: %s" % r.stderr.decode("utf-8", "replace"))
        os.chmod(cc, 0o644)
        _ca.append((d, cc, ck))
        import atexit
        atexit.register(shutil.rmtree, d, True)
    _, cc, ck = _ca[0]
    key = os.path.join(dest, "key.pem")
    csr = os.path.join(dest, "req.csr")
    cert = os.path.join(dest, "cert.pem")
    ext = os.path.join(dest, "ext.cnf")
    san = ",".join(["DNS:" + n for n in names] + ["IP:" + i for i in ips])
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth,clientAuth\n" % san)
    for argv in ([openssl, "req", "-new", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-subj",
                  "/CN=%s" % (cn or (names[0] if names else ips[0])),
                  "-keyout", key, "-out", csr],
                 [openssl, "x509", "-req", "-in", csr, "-CA", cc, "-CAkey", ck,
                  "-CAcreateserial", "-CAserial", os.path.join(dest, "ca.srl"),
                  "-days", "30", "-extfile", ext, "-out", cert]):
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("openssl failed: %s" % r.stderr.decode("utf-8", "replace"))
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cc, cert, key


# ---------------------------------------------------------------- helpers

def verbose():
    return os.environ.get("TERN_E2E_VERBOSE") == "1"


def need_tool(name, package=None):
    """Path of an executable, or Skip naming the Debian package."""
    p = shutil.which(name)
    if p is None:
        raise Skip("%s not installed (apt-get install %s)" % (name, package or name))
    return p


def need_root():
    if not IS_ROOT:
        raise Skip("needs root (privilege separation is only active as root)")


def wait_for(cond, timeout=5.0, step=0.01, what="condition", info=None):
    """Poll cond() every step seconds until it returns a true value (which is
    returned) or timeout passes (AssertionError naming what, plus info())."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            extra = ""
            if info is not None:
                try:
                    extra = "\n" + info()
                except Exception as e:  # the diagnostics must not hide the timeout
                    extra = "\n(no diagnostics: %s)" % e
            raise AssertionError("timed out after %.1fs waiting for %s%s"
                                 % (timeout, what, extra))
        time.sleep(step)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def listening(port):
    """1 if something listens on 127.0.0.1:port (from /proc/net/tcp, so no
    connection - and no smtpd session - is made to find out)."""
    want = "0100007F:%04X" % port
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no %s)" % path
    return "\n".join("  | " + l for l in lines[-n:])


# ---------------------------------------------------------------- /proc

def proc_info(pid):
    """(ppid, comm, state, argv) of pid or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except (OSError, ValueError):
        return None
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[1]), comm, rest[0], argv


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def prog_name(info):
    _, comm, _, argv = info
    if argv:
        return os.path.basename(argv[0])
    return comm


def kill9(pids):
    """SIGKILL each pid (None and gone ones are skipped)."""
    for p in pids:
        if not p:
            continue
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def descendants(root):
    """Live (not zombie) descendants of root: {pid: info}."""
    infos = {}
    for pid in all_pids():
        i = proc_info(pid)
        if i is not None:
            infos[pid] = i
    out, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for pid, i in infos.items():
            if i[0] == parent and pid not in out:
                out[pid] = i
                todo.append(pid)
    return {p: i for p, i in out.items() if i[2] != "Z"}


def proc_status(pid):
    """/proc/PID/status as a dict of strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_creds(pid):
    """The ids and capability sets of a process, as numbers: uid, gid
    (the four of each), groups, eff, prm, inh, amb."""
    st = proc_status(pid)
    return {
        "uid": [int(x) for x in st["Uid"].split()],
        "gid": [int(x) for x in st["Gid"].split()],
        "groups": [int(x) for x in st.get("Groups", "").split()],
        "eff": int(st["CapEff"], 16), "prm": int(st["CapPrm"], 16),
        "inh": int(st["CapInh"], 16), "amb": int(st.get("CapAmb", "0"), 16),
    }


# ---------------------------------------------------------------- users

def ensure_system_users():
    """As root: make sure the users of SYSUSERS exist (scripts/mkusers)."""
    def missing():
        out = []
        for u in SYSUSERS:
            try:
                pwd.getpwnam(u)
            except KeyError:
                out.append(u)
        return out
    if not missing():
        return
    mk = os.path.join(REPO, "scripts", "mkusers")
    if os.path.exists(mk):
        r = subprocess.run(["sh", mk], capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("scripts/mkusers failed: %s" % r.stderr.decode())
    else:
        # scripts/mkusers not written yet: the same thing by hand
        for u in missing():
            subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell",
                            "/usr/sbin/nologin", u], check=True, timeout=60)
    left = missing()
    if left:
        raise AssertionError("system users missing after scripts/mkusers: %s"
                             % " ".join(left))


def ensure_searchable(path):
    """As root: the tern users must reach the instance, so every directory
    above it needs search permission for others (/root is 0700 on Debian)."""
    d = os.path.dirname(path)
    while d not in ("/", ""):
        st = os.stat(d)
        if not st.st_mode & 0o001:
            os.chmod(d, st.st_mode | 0o001)
            print("    note: made %s searchable (o+x) for the tern users" % d)
        d = os.path.dirname(d)


def ids(user):
    p = pwd.getpwnam(user)
    return p.pw_uid, p.pw_gid


# ---------------------------------------------------------------- registry

_live = []
_scope = ["test"]


def set_scope(scope):
    """Called by the runner: instances made now belong to "module" (setup)
    or "test"."""
    _scope[0] = scope


def reap_all(scope, failed):
    """Stop every open instance of scope; keep their dirs if failed."""
    for inst in list(_live):
        if inst.scope == scope:
            inst.close(failed)


# ---------------------------------------------------------------- Instance

class Instance:
    def __init__(self, conf=None, name="t", users=None, aliases=None, tls=True):
        """Create the instance directory and its configuration.  conf: extra
        or replaced tern.conf keys.  users/aliases: replace the defaults.
        tls: install the test certificate and ticket key (see above)."""
        os.makedirs(TMPROOT, exist_ok=True)
        os.chmod(TMPROOT, 0o755)
        self.dir = tempfile.mkdtemp(prefix=name + ".", dir=TMPROOT)
        os.chmod(self.dir, 0o755)
        self.scope = _scope[0]
        self.closed = False
        self.start_proc = None
        self.tcpservers = []   # (Popen, port)
        _live.append(self)
        self.etc = self.path("etc")
        self.bin = self.path("bin")
        for d in ("etc", "bin", "log", "mail"):
            os.makedirs(self.path(d), mode=0o755, exist_ok=True)
        if IS_ROOT:
            ensure_system_users()
            ensure_searchable(self.dir)
        self._install_programs()
        conf = dict(conf or {})
        self.conf = {
            "hostname": "mx.example.test",
            "local_domains": "localhost example.test",
            "spool_dir": "../spool",
            "mail_dir": "../mail",
            "program_dir": "../bin",
            "log": "stderr",
            # tests never use the machine's resolver: DNS only where a
            # test sets dns_servers to a server it started
            "dns_resolv_conf": "no",
        }
        self.cafile = None
        if tls:
            self._install_tls()
            self.conf.update({"tls_cert": "cert.pem", "tls_key": "key.pem",
                              "tls_ticket_key": "ticket.key"})
        self.conf.update(conf)
        self.write_conf()
        self.users = dict(USERS if users is None else users)
        self.aliases = dict(ALIASES if aliases is None else aliases)
        self.write_users()
        self.write_aliases()
        if IS_ROOT:
            uid, gid = ids("ternv")
            os.chown(self.path("mail"), uid, gid)

    # -- paths and files
    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def _write_secret(self, name, data):
        """etc/name with mode 0600, owned by root when root."""
        p = os.path.join(self.etc, name)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(p, 0o600)
        if IS_ROOT:
            os.chown(p, 0, 0)
        return p

    def _install_tls(self):
        cert, key = tls_pem()
        with open(os.path.join(self.etc, "cert.pem"), "wb") as f:
            f.write(cert)
        os.chmod(os.path.join(self.etc, "cert.pem"), 0o644)
        self._write_secret("key.pem", key)
        self._write_secret("ticket.key", os.urandom(80))
        self.cafile = os.path.join(self.etc, "cert.pem")

    def ssl_context(self):
        """A client SSLContext that trusts the instance's certificate (and
        checks the name: connect as "localhost" or 127.0.0.1)."""
        if self.cafile is None:
            raise AssertionError("instance made with tls=False")
        return ssl.create_default_context(cafile=self.cafile)

    def prog(self, name):
        p = os.path.join(self.bin, name)
        if not os.path.exists(p):
            src = [s for s in PROGRAMS if s.endswith("/" + name)]
            raise AssertionError("%s is not built (no %s; run ./configure && make)"
                                 % (name, os.path.join(BUILD, src[0] if src else name)))
        return p

    def _install_programs(self):
        for src in PROGRAMS:
            s = os.path.join(BUILD, src)
            if os.path.exists(s):
                d = os.path.join(self.bin, os.path.basename(src))
                shutil.copy2(s, d)
                os.chmod(d, 0o755)
        enq = os.path.join(self.bin, "tern-enqueue")
        if IS_ROOT and os.path.exists(enq):
            uid, gid = ids("ternq")
            os.chown(enq, uid, gid)      # chown first: it clears the set-id bits
            os.chmod(enq, 0o4711)

    def write_conf(self):
        text = "# written by tests/e2e/harness.py\n" + "".join(
            "%s = %s\n" % kv for kv in self.conf.items())
        self.write_etc("tern.conf", text)

    def write_etc(self, name, text, mode=0o644):
        p = os.path.join(self.etc, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def hash_password(self, password):
        r = self.run(["tern-passwd"], input=(password + "\n").encode())
        out = r.stdout.decode().strip().splitlines()
        if r.returncode != 0 or not out:
            raise AssertionError("tern-passwd failed (exit %d): %s"
                                 % (r.returncode, r.stderr.decode().strip()))
        return out[-1].strip()

    def write_users(self):
        lines = ["# address hash maildir ('-': mail_dir/DOMAIN/USER/Maildir)\n"]
        for addr, pw in self.users.items():
            lines.append("%s %s -\n" % (addr, self.hash_password(pw)))
        # password hashes: not for everyone.  The readers are tern-deliverd
        # (owner ternl) and tern-smtpd (group ternd); tern-map copies mode
        # and owner to users.cdb.
        p = self.write_etc("users", "".join(lines), mode=0o640 if IS_ROOT else 0o600)
        if IS_ROOT:
            os.chown(p, ids("ternl")[0], ids("ternd")[1])
        self.map("users")

    def set_quota(self, addr, quota):
        """addr's line of etc/users with a QUOTA column (tern-map(8)), or
        without one (quota None); the map is rebuilt (tern-deliverd and
        every new tern-imapd session read the new one)."""
        p = os.path.join(self.etc, "users")
        with open(p) as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            w = line.split()
            if w and w[0] == addr:
                line = " ".join(w[:3] + ([str(quota)] if quota is not None else []))
            out.append(line + "\n")
        st = os.stat(p)
        with open(p, "w") as f:
            f.write("".join(out))
        os.chmod(p, st.st_mode & 0o777)
        if IS_ROOT:
            os.chown(p, st.st_uid, st.st_gid)
        self.map("users")

    def write_aliases(self):
        lines = ["# key: target, target\n"]
        for k, v in self.aliases.items():
            lines.append("%s: %s\n" % (k, v))
        self.write_etc("aliases", "".join(lines))
        self.map("aliases")

    def map(self, name):
        r = self.run(["tern-map", "-C", self.etc, os.path.join(self.etc, name)])
        if r.returncode != 0:
            raise AssertionError("tern-map %s failed (exit %d): %s"
                                 % (name, r.returncode, r.stderr.decode().strip()))

    # -- running programs
    def env(self, extra=None):
        e = {k: v for k, v in os.environ.items()
             if k not in ("RELAYCLIENT", "TCPREMOTEIP", "TCPLOCALIP", "TERN_CONFDIR")}
        e.update(extra or {})
        return e

    def run(self, argv, input=None, env=None, timeout=60, check=False):
        """Run bin/argv[0] (argv[0] a program name) with stdin input bytes."""
        argv = [self.prog(argv[0])] + list(argv[1:])
        r = subprocess.run(argv, input=input if input is not None else b"",
                           capture_output=True, env=self.env(env), timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("%s exited %d: %s" % (
                " ".join(argv), r.returncode, r.stderr.decode("utf-8", "replace")))
        return r

    def run_as(self, argv, user="nobody", groups=(), input=None, timeout=60):
        """As root: run bin/argv[0] as user (uid, primary gid, and only the
        supplementary groups named in groups), the way an ordinary user or
        a member of a group would.  As a normal user: run it as ourselves
        (we are an ordinary user already; groups must be empty)."""
        kw = {}
        if IS_ROOT:
            pw = pwd.getpwnam(user)
            kw = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=list(groups))
        elif groups:
            raise Skip("needs root to run with groups %s" % ",".join(groups))
        argv = [self.prog(argv[0])] + list(argv[1:])
        env = self.env({"HOME": "/", "USER": user, "LOGNAME": user} if IS_ROOT else None)
        return subprocess.run(argv, input=input if input is not None else b"",
                              capture_output=True, env=env, timeout=timeout,
                              cwd="/", **kw)

    def sendmail(self, args, input, env=None, timeout=60):
        return self.run(["tern-sendmail", "-C", self.etc] + list(args),
                        input=input, env=env, timeout=timeout)

    def queue(self, *args):
        return self.run(["tern-queue", "-C", self.etc] + list(args))

    def queue_list(self, as_json=False):
        """tern-queue list [--json]: stdout text, or the parsed JSON."""
        r = self.queue("list", "--json") if as_json else self.queue("list")
        if r.returncode != 0:
            raise AssertionError("tern-queue list exited %d: %s"
                                 % (r.returncode, r.stderr.decode("utf-8", "replace")))
        text = r.stdout.decode("utf-8", "replace")
        return json.loads(text) if as_json else text

    def enqueue(self, sender, rcpts, message):
        """Hand a message to bin/tern-enqueue directly (lib/queue/enq.h protocol);
        returns the queue id."""
        data = bytearray()
        data += b"F" + sender.encode() + b"\n"
        for r in rcpts:
            data += b"R" + r.encode() + b"\n"
        data += b"\n"
        for i in range(0, len(message), 65536):
            chunk = message[i:i + 65536]
            data += b"%x\n" % len(chunk) + chunk
        data += b"0\n"
        # as root: as the SMTP server's user, the way tern-smtpd hands mail
        # over (a root caller of the setuid file has no access of its own,
        # and under /root not even a way in; tern-sendmail is root's way)
        if IS_ROOT:
            r = self.run_as(["tern-enqueue", "-C", self.etc], user="ternd",
                            input=bytes(data), timeout=20)
        else:
            r = self.run(["tern-enqueue", "-C", self.etc], input=bytes(data),
                         timeout=20)
        if r.returncode != 0:
            raise AssertionError("tern-enqueue exited %d: %s" % (
                r.returncode, r.stderr.decode("utf-8", "replace").strip()))
        return r.stdout.decode().strip()

    # -- the queue side
    def start(self, timeout=10, prefix=()):
        """bin/tern-start -C DIR/etc in the background; wait until
        tern-queued and tern-deliverd run.  prefix: argv put in front
        (e.g. ["ip", "netns", "exec", NS] to run it in a namespace; that
        execs, so the pid is still tern-start's)."""
        prog = self.prog("tern-start")
        self.prog("tern-queued")
        self.prog("tern-deliverd")
        log = open(self.path("log", "queue.log"), "ab")
        try:
            self.start_proc = subprocess.Popen(
                list(prefix) + [prog, "-C", self.etc], stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, env=self.env(), start_new_session=True)
        finally:
            log.close()
        self.wait_queue_up(timeout)

    def _check_start_alive(self):
        if self.start_proc is None:
            raise AssertionError("tern-start is not running")
        rc = self.start_proc.poll()
        if rc is not None:
            raise AssertionError("tern-start exited with %d\n%s"
                                 % (rc, tail(self.path("log", "queue.log"))))

    def wait_queue_up(self, timeout=10):
        try:
            with open(os.path.join(self.etc, "tern.conf")) as f:
                writer = not re.search(r"(?m)^\s*queue_writer\s*=\s*no\b", f.read())
        except FileNotFoundError:
            writer = True

        def up():
            self._check_start_alive()
            return (self.pid("tern-queued") and self.pid("tern-deliverd") and
                    self.pid("tern-remote") and
                    (not writer or self.pid("tern-enqueued")))
        wait_for(up, timeout, what="tern-queued, tern-deliverd, tern-remote (and "
                 "tern-enqueued) under tern-start",
                 info=lambda: tail(self.path("log", "queue.log")))

    def pids(self, name):
        """pids of running processes called name below tern-start, without
        forked copies (a child whose parent has the same name)."""
        if self.start_proc is None:
            return []
        d = descendants(self.start_proc.pid)
        d[self.start_proc.pid] = proc_info(self.start_proc.pid) or (0, "", "", [])
        out = []
        for pid, i in d.items():
            if prog_name(i) != name:
                continue
            parent = d.get(i[0])
            if parent is not None and prog_name(parent) == name:
                continue
            out.append(pid)
        return sorted(out)

    def pid(self, name):
        p = self.pids(name)
        return p[0] if p else None

    # -- SMTP
    def tcprules(self, name, text):
        """Write etc/NAME with tcprules text and compile it to NAME.cdb;
        return the cdb path (for tcpserver -x)."""
        tcprules = need_tool("tcprules", "ucspi-tcp")
        rules = self.write_etc(name, text if text.endswith("\n") else text + "\n")
        cdb = rules + ".cdb"
        with open(rules, "rb") as f:
            subprocess.run([tcprules, cdb, cdb + ".tmp"], stdin=f, check=True,
                           timeout=30)
        return cdb

    def tcpserve(self, argv, log_name, opts=(), env=None):
        """Run `tcpserver -H -R -l 0 OPTS 127.0.0.1 PORT ARGV` on a free
        port (stderr to log/LOG_NAME), wait until it accepts, and return
        the port.  It is stopped with the instance."""
        tcpserver = need_tool("tcpserver", "ucspi-tcp")
        logp = self.path("log", log_name)
        for _ in range(10):
            port = free_port()
            log = open(logp, "ab")
            try:
                p = subprocess.Popen([tcpserver, "-H", "-R", "-l", "0"] + list(opts) +
                                     ["127.0.0.1", str(port)] + list(argv),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=log, env=self.env(env),
                                     start_new_session=True)
            finally:
                log.close()
            try:
                wait_for(lambda: p.poll() is not None or listening(port), 10,
                         what="tcpserver on port %d" % port)
            except AssertionError:
                p.kill()
                p.wait()
                raise
            if p.poll() is None:
                self.tcpservers.append((p, port))
                return port
            # lost the race for the port: try another
        raise AssertionError("tcpserver would not start\n%s" % tail(logp))

    def smtp_port(self, relayclient=False, env=None):
        """Start tcpserver with tern-smtpd on a free 127.0.0.1 port and
        return the port.  relayclient: a tcprules cdb that sets RELAYCLIENT
        for 127.0.0.1 (as a real site would)."""
        opts = []
        if relayclient:
            opts = ["-x", self.tcprules("tcp.smtp",
                                        '127.0.0.1:allow,RELAYCLIENT=""\n:allow\n')]
        return self.tcpserve([self.prog("tern-smtpd"), "-C", self.etc], "smtpd.log",
                             opts, env)

    def smtpd_pids(self, port):
        """tern-smtpd sessions under the tcpserver of port."""
        for p, pt in self.tcpservers:
            if pt == port:
                return sorted(pid for pid, i in descendants(p.pid).items()
                              if prog_name(i) == "tern-smtpd")
        return []

    def listen(self, addr="127.0.0.1", port=None, mode=None, prefix=(), extra=(),
               env=None):
        """tern-smtpd [-m MODE] -C etc -l ADDR:PORT (the standalone
        listener) in the background, prefix put in front (a namespace);
        waits for its "listening on" log line and returns the port (a
        free one when port is None; only free in our own namespace, so
        give one inside a namespace).  Stopped with the instance."""
        smtpd = self.prog("tern-smtpd")
        logp = self.path("log", "smtpd.log")
        for _ in range(10):
            pt = port or free_port()
            spec = ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, pt)
            argv = list(prefix) + [smtpd] + (["-m", mode] if mode else []) + \
                ["-C", self.etc, "-l", spec] + list(extra)
            log = open(logp, "ab")
            try:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=log,
                                     env=self.env(env), start_new_session=True)
            finally:
                log.close()

            def up():
                if p.poll() is not None:
                    return "exited"
                try:
                    with open(logp, "rb") as f:
                        return ("listening on %s " % spec).encode() in f.read() and "up"
                except OSError:
                    return False
            if wait_for(up, 10, what="tern-smtpd -l %s" % spec,
                        info=lambda: tail(logp)) == "up":
                self.tcpservers.append((p, pt))
                return pt
            if port is not None:
                break
        raise AssertionError("tern-smtpd -l %s would not start\n%s" % (addr, tail(logp)))

    def install_cert(self, cert_path, key_path):
        """Replace etc/cert.pem and etc/key.pem by these files (e.g. from
        make_cert) and point tls_cert/tls_key at them."""
        with open(cert_path, "rb") as f:
            self.write_etc("cert.pem", f.read().decode())
        with open(key_path, "rb") as f:
            self._write_secret("key.pem", f.read())
        if not os.path.exists(os.path.join(self.etc, "ticket.key")):
            self._write_secret("ticket.key", os.urandom(80))
        self.conf.update({"tls_cert": "cert.pem", "tls_key": "key.pem",
                          "tls_ticket_key": "ticket.key"})
        self.write_conf()

    def write_routes(self, text):
        """etc/routes (tern-routes(5)) compiled with tern-map."""
        self.write_etc("routes", text if text.endswith("\n") else text + "\n")
        self.map("routes")

    def write_remote_auth(self, lines, name="remote-auth"):
        """etc/remote-auth: NAME USER PASSWORD lines, mode 0600, owned by
        the remote user (ternr) when root."""
        p = self._write_secret(name, "".join(l + "\n" for l in lines).encode())
        if IS_ROOT:
            os.chown(p, ids("ternr")[0], ids("ternr")[1])
        return p

    def log_text(self, name="queue.log"):
        try:
            with open(self.path("log", name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=20, name="queue.log", n=1):
        """Wait until log/NAME has n lines matching the regular expression
        pattern; return the matching lines."""
        import re
        rx = re.compile(pattern)

        def have():
            got = [l for l in self.log_text(name).splitlines() if rx.search(l)]
            return got if len(got) >= n else None
        return wait_for(have, timeout, what="%d line(s) /%s/ in %s" % (n, pattern, name),
                        info=self.diagnostics)

    def queue_rcpts(self):
        """[(message, recipient)] of tern-queue list --json (dicts as in
        tern-queue(8) JSON OUTPUT: recipients not yet delivered)."""
        out = []
        for m in self.queue_list(as_json=True).get("messages", []):
            for r in m.get("recipients", []):
                out.append((m, r))
        return out

    def wait_rcpt(self, addr, cond=lambda m, r: True, timeout=20, what=None):
        """Wait until tern-queue list --json shows recipient addr with
        cond(message, recipient) true; return (message, recipient)."""
        def have():
            for m, r in self.queue_rcpts():
                if r.get("address", "").lower() == addr.lower() and cond(m, r):
                    return m, r
            return None
        return wait_for(have, timeout, what=what or "%s in tern-queue list --json" % addr,
                        info=self.diagnostics)

    def wait_queue_empty(self, timeout=20):
        return wait_for(lambda: not self.queue_list(as_json=True).get("messages"),
                        timeout, what="an empty queue", info=self.diagnostics)

    def read_mail(self, path):
        with open(path, "rb") as f:
            return f.read()

    # -- mailboxes
    def maildir(self, addr, folder=None):
        local, _, domain = addr.partition("@")
        p = self.path("mail", domain, local, "Maildir")
        if folder:
            p = os.path.join(p, "." + folder)
        return p

    def mail_files(self, addr, folder=None):
        """Files in the Maildir's new/ (and cur/), sorted by name."""
        md = self.maildir(addr, folder)
        out = []
        for sub in ("new", "cur"):
            try:
                out += [os.path.join(md, sub, f) for f in os.listdir(os.path.join(md, sub))
                        if not f.startswith(".")]
            except FileNotFoundError:
                pass
        return sorted(out)

    def wait_for_mail(self, addr, n=1, timeout=5.0, folder=None):
        """Wait until the Maildir holds at least n messages; return them."""
        def have():
            f = self.mail_files(addr, folder)
            return f if len(f) >= n else None
        return wait_for(have, timeout, what="%d message(s) for %s" % (n, addr),
                        info=self.diagnostics)

    def find_message(self, addr, marker, folder=None):
        """(path, bytes) of the first message for addr that contains marker."""
        if isinstance(marker, str):
            marker = marker.encode()
        for p in self.mail_files(addr, folder):
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            if marker in data:
                return p, data
        return None

    def wait_for_message(self, addr, marker, timeout=5.0, folder=None):
        return wait_for(lambda: self.find_message(addr, marker, folder), timeout,
                        what="a message with %r for %s" % (marker, addr),
                        info=self.diagnostics)

    def spool_holds(self, marker):
        """1 if any regular file below spool/ contains marker (bytes); the
        trigger FIFO is not opened (that would block)."""
        for root, _, files in os.walk(self.path("spool")):
            for f in files:
                p = os.path.join(root, f)
                try:
                    if not stat.S_ISREG(os.lstat(p).st_mode):
                        continue
                    with open(p, "rb") as fh:
                        if marker in fh.read():
                            return True
                except OSError:
                    continue
        return False

    def diagnostics(self):
        out = ["instance %s" % self.dir]
        try:
            out.append("tern-queue list:\n" + self.queue_list())
        except Exception as e:
            out.append("tern-queue list: %s" % e)
        out.append("queue.log:\n" + tail(self.path("log", "queue.log"), 8))
        out.append("smtpd.log:\n" + tail(self.path("log", "smtpd.log"), 8))
        return "\n".join(out)

    # -- shutdown
    def kill_queue(self, sig=signal.SIGKILL):
        """Kill tern-start and everything below it (process group and the
        descendants found in /proc, which may have left the group)."""
        if self.start_proc is None:
            return
        p = self.start_proc
        kids = descendants(p.pid)
        for pid in [p.pid] + list(kids):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        if sig == signal.SIGKILL:
            p.wait()
            self.start_proc = None

    def stop_queue(self, grace=3.0):
        """SIGTERM tern-start (it should stop its children), then SIGKILL
        whatever is left after grace seconds."""
        if self.start_proc is None:
            return
        p = self.start_proc
        kids = descendants(p.pid)
        try:
            p.terminate()
            p.wait(grace)
        except subprocess.TimeoutExpired:
            print("    note: tern-start ignored SIGTERM for %.0fs" % grace)
        for pid in [p.pid] + list(kids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        self.start_proc = None

    def stop(self):
        for p, _ in self.tcpservers:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.tcpservers = []
        self.stop_queue()

    def close(self, failed=False):
        """stop(); remove the directory, or keep it (printed) if failed."""
        if self.closed:
            return
        self.closed = True
        try:
            self.stop()
        finally:
            if self in _live:
                _live.remove(self)
            if failed:
                print("    instance kept: %s" % self.dir)
                if verbose():
                    print("    queue.log:\n" + tail(self.path("log", "queue.log"), 40))
                    print("    smtpd.log:\n" + tail(self.path("log", "smtpd.log"), 40))
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
                try:
                    os.rmdir(TMPROOT)   # only when empty
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        self.close(failed=et is not None and not issubclass(et, Skip))
        return False


# ---------------------------------------------------------------- SMTP client

class RawConn:
    """Closing and context-manager plumbing of the raw protocol clients
    (self.sock is the connected socket)."""

    def close(self):
        # a makefile() reader holds the socket open until it is closed too
        f = getattr(self, "f", None)
        try:
            if f is not None:
                f.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


class SMTPRaw(RawConn):
    """A plain-socket SMTP client that reads replies exactly as sent, for
    tests of pipelining and of bad input smtplib would not send."""

    def __init__(self, port, timeout=10, sock=None):
        """Connect to 127.0.0.1:port, or use the connected socket sock."""
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.settimeout(timeout)
        self.sock = sock
        self.f = self.sock.makefile("rb")
        self.banner = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """(code, [lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            line = self.f.readline(4096)
            if not line:
                raise AssertionError("connection closed while waiting for a reply "
                                     "(got %r)" % lines)
            if not line.endswith(b"\r\n"):
                raise AssertionError("reply line not ended by CRLF: %r" % line)
            text = line[:-2].decode("utf-8", "replace")
            if len(text) < 3 or not text[:3].isdigit() or \
                    (len(text) > 3 and text[3] not in " -"):
                raise AssertionError("malformed reply line %r" % text)
            lines.append(text)
            if len(text) == 3 or text[3] == " ":
                return int(text[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()


def message(subject, body=b"hello\n", to="demo@example.test",
            sender="sender@example.org", extra=b""):
    """A small RFC 5322 message with CRLF line ends."""
    if isinstance(body, str):
        body = body.encode()
    head = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@e2e.example.test>\r\n"
            % (sender, to, subject, subject.replace(" ", "-"))).encode()
    body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return head + extra + b"\r\n" + body


def smtp_submit(s, sender, rcpts, msg, ctx=None, user=None, password=None,
                rcpt_options=(), mail_options=()):
    """On a connected smtplib.SMTP: EHLO, STARTTLS (ctx given), AUTH
    (user given), one message; returns the queue id from the 250 reply
    (or None) and quits."""
    import re
    import smtplib
    s.ehlo()
    if ctx is not None:
        s.starttls(context=ctx)
        s.ehlo()
    if user is not None:
        s.login(user, password)
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    code, text = s.mail(sender, list(mail_options))
    if code != 250:
        raise AssertionError("MAIL FROM:<%s>: %d %s" % (sender, code, text))
    for r in rcpts:
        code, text = s.rcpt(r, list(rcpt_options))
        if code not in (250, 251):
            raise AssertionError("RCPT TO:<%s>: %d %s" % (r, code, text))
    code, text = s.data(msg)
    if code != 250:
        raise AssertionError("DATA: %d %s" % (code, text))
    try:
        s.quit()
    except smtplib.SMTPException:
        pass
    m = re.search(r"queued as (\S+)", text.decode("utf-8", "replace"))
    return m.group(1) if m else None


def dsn_report(data):
    """An RFC 3464 report parsed with python's email package: (message,
    per-message fields, [per-recipient fields]) with lower-case keys;
    AssertionError if data is not multipart/report with a
    message/delivery-status part."""
    import email
    import email.policy
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    if msg.get_content_type() != "multipart/report":
        raise AssertionError("not multipart/report but %s:\n%s"
                             % (msg.get_content_type(), data[:600]))
    if msg.get_param("report-type") != "delivery-status":
        raise AssertionError("report-type %r" % msg.get_param("report-type"))
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            if not isinstance(blocks, list) or len(blocks) < 2:
                raise AssertionError("message/delivery-status with %r" % blocks)
            fields = [{k.lower(): v for k, v in b.items()} for b in blocks]
            return msg, fields[0], fields[1:]
    raise AssertionError("no message/delivery-status part:\n%s" % data[:600])


def lf(data):
    return data.replace(b"\r\n", b"\n")


def headers_of(data):
    """The header block of a stored message (LF ends) as a list of
    (name-lowercase, value) with folded lines joined."""
    head = data.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        elif ":" in line:
            k, _, v = line.partition(":")
            out.append((k.strip().lower(), v.strip()))
    return out


def log(msg):
    print("    " + msg)
    sys.stdout.flush()
