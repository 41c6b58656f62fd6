"""
The relay tests' own machinery, on its own (no tern-remote needed):
network namespaces (hosts that reach each other over IPv4 and IPv6 and
not the outside), the loopback fallback, dnsmasq with MX (preferences),
A/AAAA, null MX and NXDOMAIN, in our namespace and in a host's, the SMTP
sink (envelope, per-recipient replies, STARTTLS, AUTH only after TLS,
dot-stuffing), the test CA's certificates, a tern instance run inside a
namespace with tern-smtpd -l on the host's address, and a private Postfix
that accepts mail from smtplib over STARTTLS (also inside a namespace).
"""
import os
import shutil
import smtplib
import socket
import ssl
import tempfile
import threading

import dnsd
import harness
import netns
import postfix_peer
import smtpsink


def tmpdir(name):
    os.makedirs(harness.TMPROOT, exist_ok=True)
    d = tempfile.mkdtemp(prefix=name + ".", dir=harness.TMPROOT)
    os.chmod(d, 0o755)
    return d


def need_netns():
    ok, why = netns.available()
    if not ok:
        raise harness.Skip("network namespaces not available: %s" % why)


def test_netns_hosts_reach_each_other():
    need_netns()
    with netns.make() as net:
        a, b = net.add_host("a"), net.add_host("b")
        for addr in (b.ip4, b.ip6):
            ls = b.listen_socket(addr, 2500)
            assert b.listening(2500, addr), b.tcp_table()
            assert not a.listening(2500), "a sees b's listener"

            def serve():
                c, peer = ls.accept()
                c.sendall(("hello %s" % peer[0]).encode())
                c.close()
            t = threading.Thread(target=serve)
            t.start()
            s = a.connect(addr, 2500)
            got = s.recv(100).decode()
            s.close()
            t.join(10)
            ls.close()
            assert got == "hello %s" % (a.ip4 if ":" not in addr else a.ip6), got
        # nothing outside the net: no route from a host to anything else
        try:
            a.connect("192.0.2.1", 25, timeout=2).close()
            raise AssertionError("a host reached 192.0.2.1")
        except OSError:
            pass
        names = [h.ns for h in net.hosts] + [net.hub]
    left = netns._ip("netns", "list").stdout.decode()
    for n in names:
        assert n not in left, (n, left)


def test_loopback_hosts():
    net = netns.make(force_loopback=True)
    a, b = net.add_host("a"), net.add_host("b")
    assert (a.ip4, b.ip4) == ("127.0.0.2", "127.0.0.3")
    port = harness.free_port()
    ls = b.listen_socket(b.ip4, port)
    try:
        assert b.listening(port, b.ip4) and not b.listening(port, a.ip4)
        t = threading.Thread(target=lambda: ls.accept()[0].close())
        t.start()
        a.connect(b.ip4, port).close()
        t.join(10)
    finally:
        ls.close()


def check_dns(d):
    rc, mx = d.query("b.test", "MX")
    assert rc == 0 and sorted(mx) == [(10, "mx1.b.test"), (20, "mx2.b.test")], mx
    assert d.query("mx1.b.test", "A") == (0, ["127.0.0.2"])
    assert d.query("mx1.b.test", "AAAA") == (0, ["::1"])
    assert d.query("null.test", "MX") == (0, [(0, "")])       # RFC 7505
    assert d.query("nomx.test", "MX") == (0, [])               # NODATA
    assert d.query("nomx.test", "A") == (0, ["127.0.0.4"])
    assert d.query("nx.test", "MX")[0] == 3                     # NXDOMAIN
    assert d.query("nx.b.test", "A")[0] == 3


DNS_RECORDS = dict(mx=[("b.test", "mx1.b.test", 10), ("b.test", "mx2.b.test", 20)],
                   addrs=[("mx1.b.test", "127.0.0.2", "::1"),
                          ("mx2.b.test", "127.0.0.3"), ("nomx.test", "127.0.0.4")],
                   null_mx=["null.test"])


def test_dnsmasq_records():
    d = tmpdir("dns")
    try:
        with dnsd.DNS(os.path.join(d, "dns.log"), **DNS_RECORDS) as dns:
            assert dns.server.startswith("127.0.0.1:")
            check_dns(dns)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_dnsmasq_in_netns():
    need_netns()
    d = tmpdir("dns")
    try:
        with netns.make() as net:
            h = net.add_host("dns")
            c = net.add_host("client")
            with dnsd.DNS(os.path.join(d, "dns.log"), host=h, **DNS_RECORDS) as dns:
                assert dns.server == h.ip4 + ":53", dns.server
                check_dns(dns)
                # and from another host of the net
                assert dnsd.query(h.ip4, 53, "mx1.b.test", "A", host=c) == (0, ["127.0.0.2"])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sink_certs():
    d = tmpdir("sinkcert")
    ca, cert, key = harness.make_cert(d, names=["localhost", "sink.test"])
    return d, ca, cert, key


def test_sink_envelope_and_replies():
    replies = {"soft@b.test": "451 4.3.0 try again later",
               "hard@b.test": "550 5.1.1 no such user"}
    with smtpsink.Sink(rcpt_replies=replies) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, local_hostname="client.test") as s:
            code, text = s.ehlo()
            feats = text.decode().upper()
            for k in ("PIPELINING", "8BITMIME", "SIZE", "ENHANCEDSTATUSCODES"):
                assert k in feats, feats
            assert "STARTTLS" not in feats and "AUTH" not in feats, feats
            refused = s.sendmail("from@a.test", ["ok@b.test", "soft@b.test", "hard@b.test"],
                                 b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n")
            assert refused == {"soft@b.test": (451, b"4.3.0 try again later"),
                               "hard@b.test": (550, b"5.1.1 no such user")}, refused
        env = sink.wait_messages(1)[0]
        assert env.mail_from == "from@a.test" and env.rcpts == ["ok@b.test"], env
        assert env.data == b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n", env.data
        assert b"\r\n..leading dot\r\n" in env.raw_data, env.raw_data
        assert env.tls is None and env.session.helo == "client.test"


def test_sink_starttls_auth():
    d, ca, cert, key = sink_certs()
    try:
        with smtpsink.Sink(certfile=cert, keyfile=key, auth={"relay": "s3cret"},
                           dsn=True) as sink:
            with smtplib.SMTP("127.0.0.1", sink.port, local_hostname="client.test") as s:
                s.ehlo()
                assert s.has_extn("starttls") and not s.has_extn("auth")
                assert s.has_extn("dsn")
                s.starttls(context=ssl.create_default_context(cafile=ca))
                s.ehlo()
                assert s.has_extn("auth") and not s.has_extn("starttls")
                try:
                    s.login("relay", "wrong")
                    raise AssertionError("a wrong password was taken")
                except smtplib.SMTPAuthenticationError as e:
                    assert e.smtp_code == 535
                s.login("relay", "s3cret")
                s.sendmail("from@a.test", ["x@b.test"], b"Subject: y\r\n\r\nhi\r\n",
                           rcpt_options=["NOTIFY=NEVER"])
            env = sink.wait_messages(1)[0]
            assert env.tls and env.tls.startswith("TLSv1"), env.tls
            assert env.auth == "relay" and env.session.auth_tls == env.tls
            assert env.rcpt_params["x@b.test"] == {"NOTIFY": "NEVER"}, env.rcpt_params
            # the AUTH command came after STARTTLS, under TLS
            cmds = env.session.commands
            auths = [t for c, t in cmds if c.upper().startswith("AUTH")]
            assert auths and all(auths), cmds
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_sink_greeting_421():
    with smtpsink.Sink(greeting="421 4.3.2 busy, come back later") as sink:
        try:
            smtplib.SMTP("127.0.0.1", sink.port, local_hostname="client.test")
            raise AssertionError("421 greeting taken as ok")
        except smtplib.SMTPConnectError as e:
            assert e.smtp_code == 421


def test_test_ca_cert():
    d = tmpdir("cert")
    try:
        ca, cert, key = harness.make_cert(d, names=["mx1.b.test", "localhost"],
                                          ips=["127.0.0.1", "10.99.1.2"])
        ctx = ssl.create_default_context(cafile=ca)
        srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.load_cert_chain(cert, key)
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        port = ls.getsockname()[1]

        def serve():
            c, _ = ls.accept()
            try:
                srv.wrap_socket(c, server_side=True).close()
            except (OSError, ssl.SSLError):
                c.close()
        t = threading.Thread(target=serve)
        t.start()
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                            server_hostname="mx1.b.test")
        s.close()
        t.join(10)
        ls.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_tern_instance_in_netns():
    """An instance run inside a host: tern-start and tern-smtpd -l on the
    host's address; mail from another host is delivered locally."""
    need_netns()
    with netns.make() as net:
        b, c = net.add_host("b"), net.add_host("c")
        with harness.Instance(name="relayns") as inst:
            inst.start(prefix=b.prefix)
            port = inst.listen(b.ip4, 25, prefix=b.prefix)
            assert b.listening(25, b.ip4)
            with netns.smtp(c, b.ip4, port) as s:
                s.starttls(context=inst.ssl_context())
                s.sendmail("x@c.test", ["demo@example.test"],
                           harness.message("netns-hello"))
            inst.wait_for_message("demo@example.test", "netns-hello")


def test_postfix_accepts_mail():
    postfix_peer.need()
    d = tmpdir("postfix")
    keep = True
    try:
        ca, cert, key = harness.make_cert(os.path.join(d, "tls"), names=["localhost"])
        pf = postfix_peer.Postfix(os.path.join(d, "pf"), cert=cert, key=key)
        try:
            with smtplib.SMTP("127.0.0.1", pf.port, local_hostname="client.test") as s:
                s.starttls(context=ssl.create_default_context(cafile=ca))
                s.sendmail("x@a.test", ["bob@pf.test"], harness.message(
                    "to-postfix", to="bob@pf.test"))
            f = pf.wait_mail("bob@pf.test")
            with open(f[0], "rb") as fh:
                assert b"to-postfix" in fh.read()
            pf.wait_log(r"Anonymous TLS connection established from|"
                        r"TLS connection established from")
        finally:
            pf.close()
        keep = False
    finally:
        if not keep:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("    kept: %s" % d)


def test_postfix_in_netns():
    postfix_peer.need()
    need_netns()
    d = tmpdir("postfix")
    try:
        with netns.make() as net:
            p, c = net.add_host("pf"), net.add_host("c")
            ca, cert, key = harness.make_cert(os.path.join(d, "tls"), names=["localhost"],
                                              ips=[p.ip4])
            pf = postfix_peer.Postfix(os.path.join(d, "pf"), addr=p.ip4, port=25,
                                      host=p, cert=cert, key=key)
            try:
                with netns.smtp(c, p.ip4, 25) as s:
                    s.starttls(context=ssl.create_default_context(cafile=ca))
                    s.sendmail("x@c.test", ["bob@pf.test"], harness.message(
                        "to-postfix-ns", to="bob@pf.test"))
                pf.wait_mail("bob@pf.test")
            finally:
                pf.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
