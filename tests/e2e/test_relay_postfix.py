"""
Interop with a peer nobody here wrote (issue 9): Debian's Postfix, as
root only (postfix start), in network namespaces when there are any
(else on 127.0.0.x).
  tern A -> Postfix (pf.test) with STARTTLS: route `pf.test [PF]:25
      tls=encrypt`; Postfix logs the TLS connection, tern logs tls=.
  Postfix -> tern B (b.test): Postfix relayhost = [B]:25 with
      smtp_tls_security_level = encrypt; the message reaches B's Maildir
      with ESMTPS in B's Received line.
  A 5xx from Postfix (an unknown user) bounces at A with Postfix's text.
The first needs tern-remote (remote/); the second only tern-smtpd.
"""
import os
import re
import shutil
import socket
import tempfile

import harness
import netns
import postfix_peer

NET = None
HOSTS = {}
PF = None
A = None
B = None
WORK = None
CA = None
PORTS = {}
PFADDR = None   # Postfix's address: its host's (netns), or 127.0.0.1
SENDER = "alice@a.test"


def free_on(addr):
    for _ in range(50):
        p = harness.free_port()
        s = socket.socket()
        try:
            s.bind((addr, p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port on %s" % addr)


def setup():
    global NET, PF, A, B, WORK, CA
    postfix_peer.need()
    NET = netns.make()
    if NET.kind == "loopback":
        print("    note: hosts on 127.0.0.x, not in namespaces: %s" % NET.reason)
    for n in ("a", "b", "pf"):
        HOSTS[n] = NET.add_host(n)
    global PFADDR
    # Postfix listens only on an address of an interface: 127.0.0.1 on
    # loopback (127.0.0.x is routed there but not on lo)
    PFADDR = HOSTS["pf"].ip4 if NET.kind == "netns" else "127.0.0.1"
    for n, h in HOSTS.items():
        PORTS[n] = 25 if NET.kind == "netns" else \
            free_on(PFADDR if n == "pf" else h.ip4)
    os.makedirs(harness.TMPROOT, exist_ok=True)
    WORK = tempfile.mkdtemp(prefix="relaypf.", dir=harness.TMPROOT)
    os.chmod(WORK, 0o755)
    pfh, bh, ah = HOSTS["pf"], HOSTS["b"], HOSTS["a"]
    CA, pcert, pkey = harness.make_cert(os.path.join(WORK, "pfcert"),
                                        names=["mx.pf.test"], ips=[PFADDR])
    _, bcert, bkey = harness.make_cert(os.path.join(WORK, "bcert"),
                                       names=["mx.b.test"], ips=[bh.ip4])
    B = harness.Instance(name="pfb", users={"bob@b.test": "bob"}, aliases={},
                         conf={"hostname": "mx.b.test", "local_domains": "b.test",
                               "dns_resolv_conf": "no"})
    B.install_cert(bcert, bkey)
    B.start(prefix=bh.prefix)
    B.listen(bh.ip4, PORTS["b"], prefix=bh.prefix)
    PF = postfix_peer.Postfix(os.path.join(WORK, "pf"), addr=PFADDR, port=PORTS["pf"],
                              host=pfh, domain="pf.test", users=["bob"],
                              cert=pcert, key=pkey, cafile=CA,
                              relayhost="[%s]:%d" % (bh.ip4, PORTS["b"]),
                              smtp_tls="encrypt",
                              networks="127.0.0.0/8 %s/32" % ah.ip4)
    # A now, in setup: an instance made in a test is closed after it
    if os.path.exists(os.path.join(harness.BUILD, "remote", "tern-remote")):
        a_sender()


def a_sender():
    global A
    if A is None:
        ah = HOSTS["a"]
        if not os.path.exists(os.path.join(harness.BUILD, "remote", "tern-remote")):
            raise AssertionError("tern-remote is not built (no remote/tern-remote)")
        a = harness.Instance(name="pfa", users={SENDER: "alice"}, aliases={},
                             conf={"hostname": "mx.a.test", "local_domains": "a.test",
                                   "dns_resolv_conf": "no", "queue_min_backoff": "1s",
                                   "queue_max_backoff": "2s"})
        try:
            a.write_routes("pf.test [%s]:%d tls=encrypt\n" % (PFADDR, PORTS["pf"]))
            a.start(prefix=ah.prefix)
        except BaseException:
            a.close(failed=True)
            raise
        A = a
    return A


def teardown():
    for i in (A, B):
        if i is not None:
            i.close()
    if PF is not None:
        PF.close(keep=True)
    if NET is not None:
        NET.close()
    if WORK:
        shutil.rmtree(WORK, ignore_errors=True)


def test_postfix_to_tern_starttls():
    with netns.smtp(HOSTS["a"] if NET.kind == "netns" else None, PFADDR, PORTS["pf"]) as s:
        harness.smtp_submit(s, "carol@c.test", ["bob@b.test"],
                            harness.message("relay-pf-to-tern", sender="carol@c.test",
                                            to="bob@b.test"))
    _, data = harness.wait_for(lambda: B.find_message("bob@b.test", "relay-pf-to-tern"), 60,
                               what="Postfix's message at tern B",
                               info=lambda: PF.log(15) + "\n" + B.diagnostics())
    rec = [v for k, v in harness.headers_of(data) if k == "received"]
    assert rec and "ESMTPS" in rec[0], rec
    PF.wait_log(r"TLS connection established to")
    PF.wait_log(r"to=<bob@b\.test>.*status=sent")


def test_tern_to_postfix_starttls():
    a = a_sender()
    r = a.sendmail(["-f", SENDER, "bob@pf.test"],
                   harness.message("relay-tern-to-pf", sender=SENDER, to="bob@pf.test"))
    assert r.returncode == 0, r.stderr
    f = PF.wait_mail("bob@pf.test", info=lambda: PF.log(10) + "\n" + a.diagnostics())
    with open(f[0], "rb") as fh:
        assert b"relay-tern-to-pf" in fh.read()
    PF.wait_log(r"TLS connection established from")
    lines = a.wait_log(r"to=<bob@pf\.test>.*status=sent")
    assert re.search(r"tls=TLSv1\.[23]", lines[-1]), lines


def test_postfix_5xx_bounces_at_tern():
    a = a_sender()
    r = a.sendmail(["-f", SENDER, "nosuch@pf.test"],
                   harness.message("relay-tern-to-pf-5xx", sender=SENDER, to="nosuch@pf.test"))
    assert r.returncode == 0, r.stderr

    def find():
        for p in a.mail_files(SENDER):
            d = a.read_mail(p)
            if b"relay-tern-to-pf-5xx" in d and b"multipart/report" in d:
                return d
        return None
    data = harness.wait_for(find, 30, what="a bounce from Postfix's 5xx",
                            info=lambda: PF.log(10) + "\n" + a.diagnostics())
    _, _, per_rcpt = harness.dsn_report(data)
    f = [x for x in per_rcpt if "nosuch@pf.test" in x.get("final-recipient", "")]
    assert f and f[0].get("status", "").startswith("5."), per_rcpt
    assert re.match(r"smtp;\s*550", f[0].get("diagnostic-code", ""), re.I), f
