"""
tern-smtpd with TLS: STARTTLS (RFC 3207) on an MX and a submission
listener, implicit TLS (RFC 8314) on an smtps listener, with real clients
(swaks --tls / --tlsc, openssl s_client -starttls smtp, python ssl), the
STARTTLS command-injection test (CVE-2011-0411 class), the state reset
after STARTTLS and the Received field with the TLS version and cipher.
"""
import re
import subprocess

import harness
import smtpd_util as U

I = None
MX = None
SMTPS = None


def setup():
    global I, MX, SMTPS
    I = harness.Instance(name="smtpdtls")
    I.start()
    MX = U.listen(I)
    SMTPS = U.listen(I, "smtps")


def test_starttls_advertised_only_in_plaintext():
    with U.raw(MX) as c:
        kw = U.ehlo(c)
        assert "STARTTLS" in kw, kw
        assert not any(k.startswith("AUTH") for k in kw), kw
        t = U.starttls(c, I)
        kw = U.ehlo(t)
        assert "STARTTLS" not in kw, kw
        assert "AUTH PLAIN LOGIN" in kw, kw
        assert t.cmd("STARTTLS")[1] == ["503 5.5.1 Error: TLS already active"]
        assert t.cmd("QUIT")[0] == 221


def test_swaks_tls_delivers_with_tls_in_received():
    m = "tls-%s" % harness.free_port()
    code, out = U.swaks(MX, "--tls", "--tls-verify", "--tls-ca-path", I.cafile,
                      "--to", "demo@example.test", "--from", "s@example.org",
                      "--header", "Subject: %s" % m)
    assert code == 0, out[-2000:]
    assert "TLS started" in out, out[-2000:]
    _, data = I.wait_for_message("demo@example.test", m)
    rec = dict(harness.headers_of(data))["received"]
    # RFC 3848: ESMTPS; the version and cipher as a comment
    assert re.search(r"\(using TLSv1\.[23] with cipher [A-Z0-9_-]+ \(\d+ bits\)\)",
                     rec), rec
    assert "with ESMTPS id" in rec, rec


def test_swaks_tlsc_implicit_tls():
    m = "tlsc-%s" % harness.free_port()
    code, out = U.swaks(SMTPS, "--tlsc", "--tls-verify", "--tls-ca-path", I.cafile,
                      "--auth", "PLAIN", "--auth-user", "alice@example.test",
                      "--auth-password", "alice", "--to", "demo@example.test",
                      "--from", "alice@example.test", "--header", "Subject: %s" % m)
    assert code == 0, out[-2000:]
    _, data = I.wait_for_message("demo@example.test", m)
    assert "with ESMTPSA id" in dict(harness.headers_of(data))["received"]


def test_smtps_greets_only_after_the_handshake():
    with U.smtps(I, SMTPS) as c:
        assert c.banner[0] == 220, c.banner
        kw = U.ehlo(c)
        assert "STARTTLS" not in kw and "AUTH PLAIN LOGIN" in kw, kw
        # submission rules: AUTH first (RFC 6409 4.3, RFC 4954 6)
        assert c.cmd("MAIL FROM:<a@example.org>")[1] == \
            ["530 5.7.0 Error: authentication required"]


def test_openssl_s_client_starttls():
    exe = harness.need_tool("openssl")
    r = subprocess.run([exe, "s_client", "-connect", "127.0.0.1:%d" % MX,
                        "-starttls", "smtp", "-CAfile", I.cafile,
                        "-verify_return_error", "-servername", "localhost",
                        "-quiet"],
                       input=b"EHLO client.example.org\r\nQUIT\r\n",
                       capture_output=True, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    assert "250-AUTH PLAIN LOGIN" in out, out + r.stderr.decode()
    assert "221 2.0.0 Bye" in out, out


def test_starttls_injection_discarded():
    """STARTTLS and RSET in one packet: the RSET was sent in plaintext and
    must not be answered over TLS (RFC 3207 4.2, CVE-2011-0411)."""
    with U.raw(MX) as c:
        U.ehlo(c)
        c.send("STARTTLS\r\nRSET\r\n")
        code, lines = c.reply()
        assert code == 220, lines
        t = U._TLSRaw(I.ssl_context().wrap_socket(c.sock,
                                                  server_hostname="localhost"))
        # the first reply over TLS must be the one to our NOOP
        assert t.cmd("NOOP") == (250, ["250 2.0.0 Ok"])
        assert t.cmd("QUIT")[0] == 221
    assert re.search(r"starttls ip=127\.0\.0\.1 discarded=6 ", U.smtpd_log(I)), \
        U.smtpd_log(I)[-1500:]


def test_state_reset_after_starttls():
    """RFC 3207 4.2: the HELO and an open transaction are forgotten."""
    with U.raw(MX) as c:
        U.ehlo(c)
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        t = U.starttls(c, I)
        assert t.cmd("RCPT TO:<demo@example.test>")[1] == \
            ["503 5.5.1 Error: send HELO/EHLO first"]
        assert t.cmd("MAIL FROM:<a@example.org>")[1] == \
            ["503 5.5.1 Error: send HELO/EHLO first"]
        U.ehlo(t)
        assert t.cmd("RCPT TO:<demo@example.test>")[1] == \
            ["503 5.5.1 Error: need MAIL command"]


def test_plaintext_after_bad_handshake_closes():
    with U.raw(MX) as c:
        U.ehlo(c)
        assert c.cmd("STARTTLS")[0] == 220
        c.send("EHLO not-a-tls-hello\r\n")
        try:
            data = c.f.read()   # at most a TLS alert, then the end
        except ConnectionResetError:
            data = b""
        assert b"250" not in data, data
    assert "tls failed ip=127.0.0.1" in U.smtpd_log(I)
