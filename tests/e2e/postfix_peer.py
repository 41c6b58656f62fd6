"""
postfix_peer: a private Postfix (Debian's postfix package) as a peer of
tern in the relay tests: a peer nobody here wrote.  As root only (postfix
start needs it); need() raises harness.Skip with the reason otherwise.

    pf = postfix_peer.Postfix(dir, addr="127.0.0.1", port=PORT,
                              domain="pf.test", users=["bob"],
                              cert=..., key=..., host=None,
                              relayhost="[10.99.N.2]:25", smtp_tls="encrypt",
                              cafile=...)
    pf.maildir("bob@pf.test")   DIR/mail/pf.test/bob/Maildir
    pf.wait_mail("bob@pf.test") the message files once there
    pf.log()                    DIR/postfix.log (maillog_file)
    pf.close()                  postfix stop, and whatever is left killed

Everything is its own: config_directory DIR/etc (main.cf, master.cf,
vmailbox), queue_directory DIR/queue, data_directory DIR/data, the log
DIR/postfix.log (postlogd), delivery by virtual(8) into
DIR/mail/DOMAIN/USER/Maildir/ as the uid/gid of `nobody`; smtpd on
ADDR:PORT only, with STARTTLS (cert/key) when given.  No DNS at all
(smtp_dns_support_level = disabled): a relayhost must be an address
literal.  Retries come quickly (backoff 1-5 s, queue run every 1 s) so a
test can wait for a redelivery.  The master.cf is the short one of
bench/run (no chroot), plus nothing else.  host: a netns.Host to run in.
"""
import os
import pwd
import shutil
import signal
import subprocess

import harness

MASTER_CF = """\
# written by tests/e2e/postfix_peer.py: only what the tests need, no chroot
{listen} inet n - n - 100 smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def need():
    """Skip unless a private Postfix can run here."""
    if not harness.IS_ROOT:
        raise harness.Skip("Postfix peer needs root (postfix start)")
    if not os.path.exists("/usr/sbin/postfix"):
        raise harness.Skip("postfix not installed (scripts/check installs it as root)")
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        raise harness.Skip("no postfix user (postfix package half installed)")


class Postfix:
    def __init__(self, dir, addr="127.0.0.1", port=None, domain="pf.test",
                 users=("bob",), cert=None, key=None, host=None, relayhost=None,
                 smtp_tls="may", cafile=None, myhostname=None, networks=None,
                 extra=None):
        need()
        self.dir = dir
        self.host = host
        self.addr = addr
        self.port = port or harness.free_port()
        self.domain = domain
        self.etc = os.path.join(dir, "etc")
        self.master = None
        for d in ("etc", "queue", "data", "mail"):
            os.makedirs(os.path.join(dir, d), mode=0o755, exist_ok=True)
        harness.ensure_searchable(dir)
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(dir, "data"), pf.pw_uid, pf.pw_gid)
        nb = pwd.getpwnam("nobody")
        self.mail_uid, self.mail_gid = nb.pw_uid, nb.pw_gid
        os.chown(os.path.join(dir, "mail"), nb.pw_uid, nb.pw_gid)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for u in users:
                f.write("%s@%s %s/%s/Maildir/\n" % (u, domain, domain, u))
        v6 = ":" in addr
        listen = ("[%s]:%d" if v6 else "%s:%d") % (addr, self.port)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": os.path.join(dir, "queue"),
            "data_directory": os.path.join(dir, "data"),
            "maillog_file": os.path.join(dir, "postfix.log"),
            "maillog_file_prefixes": dir,
            "myhostname": myhostname or "mx.%s" % domain,
            "mydomain": domain, "myorigin": domain, "mydestination": "",
            "inet_interfaces": addr, "inet_protocols": "ipv6" if v6 else "ipv4",
            "mynetworks": networks or ("127.0.0.0/8 [::1]/128" +
                                       ("" if host is None or host.ns is None else
                                        " %s/24 [%s]/64" % (
                                            host.ip4.rsplit(".", 1)[0] + ".0",
                                            host.ip6.rsplit("::", 1)[0] + "::"))),
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "biff": "no", "append_dot_mydomain": "no",
            "alias_maps": "", "alias_database": "", "local_recipient_maps": "",
            "virtual_mailbox_domains": domain,
            "virtual_mailbox_base": os.path.join(dir, "mail"),
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.etc, "vmailbox"),
            "virtual_uid_maps": "static:%d" % nb.pw_uid,
            "virtual_gid_maps": "static:%d" % nb.pw_gid,
            "virtual_minimum_uid": "1",
            "smtpd_tls_security_level": "may" if cert else "none",
            "smtpd_tls_loglevel": "1",
            "smtpd_tls_session_cache_database":
                "btree:" + os.path.join(dir, "data", "smtpd_scache"),
            "smtp_tls_security_level": smtp_tls,
            "smtp_tls_loglevel": "1",
            "smtp_tls_session_cache_database":
                "btree:" + os.path.join(dir, "data", "smtp_scache"),
            # quick retries: a test waits for them
            "minimal_backoff_time": "1s", "maximal_backoff_time": "5s",
            "queue_run_delay": "1s", "smtp_connect_timeout": "5s",
        }
        if cert:
            main.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key})
        if cafile:
            main["smtp_tls_CAfile"] = cafile
        if relayhost:
            main["relayhost"] = relayhost
        main.update(extra or {})
        self.main = main
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("# written by tests/e2e/postfix_peer.py\n")
            f.writelines("%s = %s\n" % kv for kv in main.items())
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=listen))
        self.start()

    def _argv(self, argv):
        if self.host is not None and self.host.ns is not None:
            return self.host.argv(argv)
        return argv

    def start(self):
        with open(os.path.join(self.dir, "start.log"), "ab") as log:
            r = subprocess.run(self._argv(["postfix", "-c", self.etc, "start"]),
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               timeout=120)
        if r.returncode != 0:
            raise AssertionError("postfix start exited %d:\n%s\n%s" % (
                r.returncode, harness.tail(os.path.join(self.dir, "start.log")),
                harness.tail(os.path.join(self.dir, "postfix.log"))))

        def up():
            if self.host is not None:
                return self.host.listening(self.port, self.addr)
            return harness.listening(self.port)
        harness.wait_for(up, 30, what="postfix smtpd on %s:%d" % (self.addr, self.port),
                         info=lambda: harness.tail(os.path.join(self.dir, "postfix.log")))
        self.master = self._master_pid()

    def _master_pid(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def maildir(self, addr):
        local, _, dom = addr.partition("@")
        return os.path.join(self.dir, "mail", dom, local, "Maildir")

    def mail_files(self, addr):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir(addr), sub)
            try:
                out += [os.path.join(d, f) for f in os.listdir(d) if not f.startswith(".")]
            except FileNotFoundError:
                pass
        return sorted(out)

    def wait_mail(self, addr, n=1, timeout=30, info=None):
        def have():
            f = self.mail_files(addr)
            return f if len(f) >= n else None
        return harness.wait_for(have, timeout, what="%d message(s) for %s at postfix"
                                % (n, addr), info=info or (lambda: self.log(15)))

    def log(self, n=None):
        p = os.path.join(self.dir, "postfix.log")
        if n is not None:
            return harness.tail(p, n)
        try:
            with open(p, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=30):
        import re
        rx = re.compile(pattern)
        return harness.wait_for(lambda: [l for l in self.log().splitlines() if rx.search(l)],
                                timeout, what="/%s/ in postfix.log" % pattern,
                                info=lambda: self.log(15))

    def close(self, keep=False):
        pids = list(harness.descendants(self.master)) + [self.master] if self.master else []
        subprocess.run(self._argv(["postfix", "-c", self.etc, "stop"]),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        try:
            harness.wait_for(lambda: not any(harness.proc_info(p) for p in pids), 15,
                             what="postfix to stop")
        except AssertionError:
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
