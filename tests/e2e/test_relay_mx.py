"""
tern A relays to tern B through DNS (issue 9 "Tests", acceptance 3):
hosts in network namespaces (as root) or on 127.0.0.x (the fallback), a
dnsmasq with the MX/A/AAAA records, `dns_servers` and `remote_port` on A.

    b.test     MX 10 mx1.b.test (host b1), MX 20 mx2.b.test (host b2)
    down.test  MX 10 mx2.b.test          amx.test  no MX, A -> b1
    null.test  MX 0 . (RFC 7505)         nx.test   NXDOMAIN
    routes:    v.test [mx1.b.test]:PORT tls=verify cafile=CA (checks)
               w.test [mx1.b.test]:PORT tls=verify (system CAs: fails)

Mail goes to the lowest preference over STARTTLS (tls= logged); with it
down to the backup; with the only MX down A defers, retries on the
schedule (queue_min_backoff=1s) and delivers once it is back; the A
fallback; null MX and NXDOMAIN bounce at once; a 5xx from B bounces with
the SMTP diagnostic; NOTIFY=NEVER bounces nothing; a second sender with
queue_lifetime=3s bounces what it cannot deliver in time.
Needs tern-remote (remote/).
"""
import os
import re
import shutil
import signal
import socket
import tempfile

import dnsd
import harness
import netns

NET = None
DNS = None
A = None      # sender, a.test
A2 = None     # sender with queue_lifetime=3s
B1 = None     # mx1.b.test
B2 = None     # mx2.b.test
HOSTS = {}
PORT = None
CERTDIR = None
CA = None
SENDER = "alice@a.test"


def both_free(addrs):
    """A port free on every address of addrs (loopback mode)."""
    for _ in range(50):
        p = harness.free_port()
        ok = True
        for a in addrs:
            s = socket.socket()
            try:
                s.bind((a, p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return p
    raise AssertionError("no port free on %s" % addrs)


def b_instance(name, host, domains, cert, key):
    users = {"bob@%s" % d: "bob" for d in domains}
    inst = harness.Instance(name=name, users=users, aliases={}, conf={
        "hostname": "%s.b.test" % name, "local_domains": " ".join(domains),
        "dns_resolv_conf": "no"})
    inst.install_cert(cert, key)
    inst.start(prefix=host.prefix)
    up(inst, host)
    return inst


def up(inst, host):
    inst.listen(host.ip4, PORT, prefix=host.prefix)
    if host.ip6:
        inst.listen(host.ip6, PORT, prefix=host.prefix)


def down(inst, host):
    for p, _ in inst.tcpservers:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    inst.tcpservers = []
    harness.wait_for(lambda: not host.listening(PORT, host.ip4), 10,
                     what="%s:%d closed" % (host.ip4, PORT))


def a_instance(name, host, extra=None):
    conf = {"hostname": "mx.%s.test" % name, "local_domains": "a.test",
            "dns_servers": DNS.server, "dns_resolv_conf": "no",
            "remote_port": str(PORT), "queue_min_backoff": "1s",
            "queue_max_backoff": "2s", "remote_connect_timeout": "5s"}
    conf.update(extra or {})
    inst = harness.Instance(name=name, users={SENDER: "alice"}, aliases={}, conf=conf)
    inst.prog("tern-remote")
    inst.write_routes(
        "v.test [mx1.b.test]:%d tls=verify cafile=%s\n"
        "w.test [mx1.b.test]:%d tls=verify\n"
        "dead.test [127.0.0.1]:%d\n" % (PORT, CA, PORT, harness.free_port()))
    inst.start(prefix=host.prefix)
    return inst


def setup():
    global NET, DNS, A, A2, B1, B2, PORT, CERTDIR, CA
    NET = netns.make()
    if NET.kind == "loopback":
        print("    note: hosts on 127.0.0.x, not in namespaces: %s" % NET.reason)
    for n in ("a", "b1", "b2", "dns"):
        HOSTS[n] = NET.add_host(n)
    b1, b2 = HOSTS["b1"], HOSTS["b2"]
    PORT = 25 if NET.kind == "netns" else both_free([b1.ip4, b2.ip4])
    os.makedirs(harness.TMPROOT, exist_ok=True)
    CERTDIR = tempfile.mkdtemp(prefix="relaymx.", dir=harness.TMPROOT)
    os.chmod(CERTDIR, 0o755)
    ips = [h.ip4 for h in (b1, b2)] + [h.ip6 for h in (b1, b2) if h.ip6]
    CA, cert, key = harness.make_cert(os.path.join(CERTDIR, "b"),
                                      names=["mx1.b.test", "mx2.b.test", "localhost"],
                                      ips=ips)

    def rec(name, h):
        return (name, h.ip4) + ((h.ip6,) if h.ip6 else ())
    DNS = dnsd.DNS(os.path.join(CERTDIR, "dns.log"), host=HOSTS["dns"],
                   mx=[("b.test", "mx1.b.test", 10), ("b.test", "mx2.b.test", 20),
                       ("down.test", "mx2.b.test", 10)],
                   addrs=[rec("mx1.b.test", b1), rec("mx2.b.test", b2), rec("amx.test", b1)],
                   null_mx=["null.test"])
    B1 = b_instance("mx1", b1, ["b.test", "amx.test", "v.test", "w.test"], cert, key)
    B2 = b_instance("mx2", b2, ["b.test", "down.test"], cert, key)
    A = a_instance("a", HOSTS["a"])


def teardown():
    for i in (A, A2, B1, B2):
        if i is not None:
            i.close()
    if DNS is not None:
        DNS.close()
    if NET is not None:
        NET.close()
    if CERTDIR:
        shutil.rmtree(CERTDIR, ignore_errors=True)


def send(inst, rcpt, subject, notify=None):
    args = ["-f", SENDER] + (["-N", notify] if notify else []) + [rcpt]
    r = inst.sendmail(args, harness.message(subject, sender=SENDER, to=rcpt))
    assert r.returncode == 0, r.stderr


def diag():
    out = [A.diagnostics()]
    for i in (B1, B2):
        out.append("%s smtpd.log:\n%s" % (i.conf["hostname"], harness.tail(i.path("log", "smtpd.log"), 6)))
    out.append("dns.log:\n" + harness.tail(os.path.join(CERTDIR, "dns.log"), 8))
    return "\n".join(out)


def arrived(inst, rcpt, marker, timeout=30):
    return harness.wait_for(lambda: inst.find_message(rcpt, marker), timeout,
                            what="%r for %s at %s" % (marker, rcpt, inst.conf["hostname"]),
                            info=diag)


def bounce(inst, marker, timeout=30):
    def find():
        for p in inst.mail_files(SENDER):
            d = inst.read_mail(p)
            if marker.encode() in d and b"multipart/report" in d:
                return d
        return None
    data = harness.wait_for(find, timeout, what="a bounce quoting %r for %s" % (marker, SENDER),
                            info=diag)
    return harness.dsn_report(data)


def test_dns_answers():
    """The records are there, seen from A's host."""
    rc, mx = dnsd.query(DNS.addr, DNS.port, "b.test", "MX",
                        host=HOSTS["a"] if NET.kind == "netns" else None)
    assert rc == 0 and sorted(mx) == [(10, "mx1.b.test"), (20, "mx2.b.test")], mx


def test_lowest_preference_over_starttls():
    send(A, "bob@b.test", "relay-mx-pref")
    _, data = arrived(B1, "bob@b.test", "relay-mx-pref")
    assert not B2.find_message("bob@b.test", "relay-mx-pref")
    rec = [v for k, v in harness.headers_of(data) if k == "received"]
    assert rec and "ESMTPS" in rec[0], rec   # B's own, the topmost
    lines = A.wait_log(r"to=<bob@b\.test>.*status=sent")
    assert re.search(r"tls=TLSv1\.[23]", lines[-1]), lines
    b1 = HOSTS["b1"]
    assert "mx1.b.test" in lines[-1], lines
    assert b1.ip4 in lines[-1] or (b1.ip6 and b1.ip6 in lines[-1]), lines


def test_verify_with_cafile():
    send(A, "bob@v.test", "relay-mx-verify")
    arrived(B1, "bob@v.test", "relay-mx-verify")
    lines = A.wait_log(r"to=<bob@v\.test>.*status=sent")
    assert re.search(r"tls=TLSv1\.[23]", lines[-1]), lines


def test_verify_failure_defers_never_plaintext():
    send(A, "bob@w.test", "relay-mx-noverify")
    A.wait_log(r"to=<bob@w\.test>.*status=deferred")
    m, r = A.wait_rcpt("bob@w.test", lambda m, r: r.get("attempts", 0) >= 1)
    assert r.get("result"), r
    assert not B1.find_message("bob@w.test", "relay-mx-noverify"), \
        "sent although the certificate check failed"


def test_backup_mx_when_primary_down():
    b1 = HOSTS["b1"]
    down(B1, b1)
    try:
        send(A, "bob@b.test", "relay-mx-backup")
        arrived(B2, "bob@b.test", "relay-mx-backup")
        assert not B1.find_message("bob@b.test", "relay-mx-backup")
        lines = A.wait_log(r"to=<bob@b\.test>.*relay=mx2\.b\.test.*status=sent")
        assert lines
    finally:
        up(B1, b1)


def test_retry_until_back():
    b2 = HOSTS["b2"]
    down(B2, b2)
    try:
        send(A, "bob@down.test", "relay-mx-retry")
        # retried on the schedule (1 s, 2 s): two failed attempts
        A.wait_rcpt("bob@down.test", lambda m, r: r.get("attempts", 0) >= 2, timeout=30,
                    what="two attempts for bob@down.test")
        A.wait_log(r"to=<bob@down\.test>.*status=deferred", n=2)
        assert not B2.find_message("bob@down.test", "relay-mx-retry")
    finally:
        up(B2, b2)
    arrived(B2, "bob@down.test", "relay-mx-retry")
    A.wait_log(r"to=<bob@down\.test>.*status=sent")


def test_a_record_without_mx():
    send(A, "bob@amx.test", "relay-mx-arecord")
    arrived(B1, "bob@amx.test", "relay-mx-arecord")


def test_null_mx_bounces_at_once():
    send(A, "bob@null.test", "relay-mx-nullmx")
    _, per_msg, per_rcpt = bounce(A, "relay-mx-nullmx")
    f = [x for x in per_rcpt if "bob@null.test" in x.get("final-recipient", "")]
    assert f and f[0].get("action", "").lower() == "failed", per_rcpt
    assert f[0].get("status", "").startswith("5."), f
    log = A.log_text()
    assert not re.search(r"to=<bob@null\.test>.*status=deferred", log), log[-1500:]


def test_nxdomain_bounces():
    send(A, "bob@nx.test", "relay-mx-nxdomain")
    _, _, per_rcpt = bounce(A, "relay-mx-nxdomain")
    f = [x for x in per_rcpt if "bob@nx.test" in x.get("final-recipient", "")]
    assert f and f[0].get("status", "").startswith("5."), per_rcpt


def test_5xx_from_b_bounces():
    send(A, "nosuch@b.test", "relay-mx-5xx")
    _, per_msg, per_rcpt = bounce(A, "relay-mx-5xx")
    f = [x for x in per_rcpt if "nosuch@b.test" in x.get("final-recipient", "")]
    assert f, per_rcpt
    f = f[0]
    assert f.get("action", "").lower() == "failed" and f.get("status", "").startswith("5."), f
    assert re.match(r"smtp;\s*55\d", f.get("diagnostic-code", ""), re.I), f
    assert "mx1.b.test" in f.get("remote-mta", ""), f


def test_notify_never_null_mx():
    n0 = len(A.mail_files(SENDER))
    send(A, "bob@null.test", "relay-mx-never", notify="never")
    A.wait_log(r"to=<bob@null\.test>.*status=(bounced|failed)", n=2)
    # done once neither the message nor a bounce is queued (other tests'
    # mail may wait there: w.test defers for ever)
    harness.wait_for(lambda: not [1 for m, r in A.queue_rcpts()
                                  if r.get("address") == "bob@null.test" or
                                  m.get("sender") == ""], 20,
                     what="bob@null.test and bounces gone from A's queue", info=diag)
    assert len(A.mail_files(SENDER)) == n0, "NOTIFY=NEVER gave a bounce"


def test_lifetime_expiry():
    global A2
    A2 = a_instance("a2", HOSTS["a"], {"queue_lifetime": "3s"})
    send(A2, "bob@dead.test", "relay-mx-lifetime")
    _, _, per_rcpt = bounce(A2, "relay-mx-lifetime", timeout=30)
    f = [x for x in per_rcpt if "bob@dead.test" in x.get("final-recipient", "")]
    assert f and f[0].get("action", "").lower() == "failed", per_rcpt
    assert re.match(r"[45]\.\d+\.\d+", f[0].get("status", "")), f
    # NOTIFY=NEVER: expires without a bounce
    n0 = len(A2.mail_files(SENDER))
    send(A2, "carol@dead.test", "relay-mx-lifetime-never", notify="never")
    A2.wait_log(r"to=<carol@dead\.test>.*status=(bounced|expired|failed)", timeout=30)
    harness.wait_for(lambda: not A2.queue_list(as_json=True).get("messages"), 20,
                     what="an empty queue at A2", info=A2.diagnostics)
    assert len(A2.mail_files(SENDER)) == n0, "NOTIFY=NEVER gave a bounce"
