"""
Relaying to an SMTP sink on loopback (issue 9, acceptance 2): a
quickstart-like instance with `* 127.0.0.1:PORT` in routes (tern-map'd,
no restart) hands a message submitted on its submission listener
(STARTTLS + AUTH) to the sink with the right envelope; a 451 from the
sink shows in `tern-queue list --json` with the reply text and a next
attempt in the future; a 550 bounces into the sender's Maildir as an RFC
3464 multipart/report with Status 5.x.x; NOTIFY=NEVER bounces nothing.
And the smarthost: a route with auth=NAME tls=encrypt authenticates only
after STARTTLS with the credentials of remote-auth, never without TLS;
the same against a tern instance's submission listener.
Needs tern-remote (remote/).
"""
import os
import re
import shutil
import smtplib
import tempfile
import time

import harness
import smtpsink

I = None        # the sending instance
SUB = None      # its submission port
SINK = None
SENDER = "alice@example.test"
SOFT = "soft@remote.test"
HARD = "hard@remote.test"
NEVER = "never@remote.test"


def setup():
    global I, SUB, SINK
    SINK = smtpsink.Sink(rcpt_replies={
        SOFT: "451 4.3.0 sink says try again later",
        HARD: "550 5.1.1 sink says no such user",
        NEVER: "550 5.1.1 sink says no such user either"})
    I = harness.Instance(name="relaysink", conf={
        "queue_min_backoff": "120s", "queue_max_backoff": "240s",
        "dns_resolv_conf": "no"})
    I.prog("tern-remote")
    I.write_routes("# everything not local to the sink\n* 127.0.0.1:%d\n" % SINK.port)
    I.start()
    SUB = I.listen(mode="submission")


def teardown():
    if SINK is not None:
        SINK.close()


def submit(rcpts, subject, rcpt_options=(), port=None):
    with smtplib.SMTP("127.0.0.1", port or SUB, local_hostname="client.test",
                      timeout=30) as s:
        return harness.smtp_submit(s, SENDER, rcpts,
                                   harness.message(subject, sender=SENDER,
                                                   to=", ".join([rcpts] if isinstance(rcpts, str)
                                                                else rcpts)),
                                   ctx=I.ssl_context(), user=SENDER, password="alice",
                                   rcpt_options=rcpt_options)


def sink_message(marker):
    def find():
        with SINK.lock:
            for e in SINK.messages:
                if marker.encode() in (e.data or b""):
                    return e
        return None
    return harness.wait_for(find, 20, what="a message with %r at the sink" % marker,
                            info=lambda: SINK.describe() + "\n" + I.diagnostics())


def bounces_for(marker):
    """Bounce messages in the sender's Maildir that quote marker."""
    out = []
    for p in I.mail_files(SENDER):
        data = I.read_mail(p)
        if marker.encode() in data and b"multipart/report" in data:
            out.append(data)
    return out


def test_envelope_reaches_sink():
    qid = submit(["one@remote.test", "two@remote.test"], "relay-sink-envelope")
    e = sink_message("relay-sink-envelope")
    assert e.mail_from == SENDER, e.mail_from
    assert sorted(e.rcpts) == ["one@remote.test", "two@remote.test"], e.rcpts
    # the sink offered no STARTTLS: tls=may sends in plaintext
    assert e.tls is None
    lines = I.wait_log(r"to=<one@remote\.test>.*status=sent", n=1)
    assert "127.0.0.1" in lines[-1], lines
    if qid:
        assert any(qid in l for l in lines), (qid, lines)
    assert "Received:" in e.data.decode("utf-8", "replace").split("\r\n\r\n")[0]


def test_451_shows_in_queue():
    submit(SOFT, "relay-sink-451")
    t0 = time.time()
    m, r = I.wait_rcpt(SOFT, lambda m, r: r.get("attempts", 0) >= 1,
                       what="a failed attempt for %s" % SOFT)
    text = r.get("result") or r.get("last_reply") or r.get("error") or ""
    assert "451" in text and "sink says try again later" in text, r
    assert r.get("state") not in ("delivered", "sent", "failed", "bounced"), r
    nxt = r.get("next") or r.get("next_attempt") or 0
    assert nxt > t0 + 60, ("next attempt not about queue_min_backoff away", r, t0)
    assert m.get("sender") == SENDER, m
    I.wait_log(r"to=<%s>.*status=deferred" % re.escape(SOFT))
    text = I.queue_list()
    assert SOFT in text and "sink says try again later" in text, text


def test_550_bounces_to_sender():
    submit(HARD, "relay-sink-550")
    I.wait_log(r"to=<%s>.*status=bounced" % re.escape(HARD))
    data = harness.wait_for(lambda: (bounces_for("relay-sink-550") or [None])[0], 20,
                            what="a bounce in %s's Maildir" % SENDER,
                            info=I.diagnostics)
    msg, per_msg, per_rcpt = harness.dsn_report(data)
    assert "reporting-mta" in per_msg, per_msg
    rc = [f for f in per_rcpt if HARD in f.get("final-recipient", "")]
    assert rc, per_rcpt
    f = rc[0]
    assert f.get("action", "").lower() == "failed", f
    assert re.match(r"5\.\d{1,3}\.\d{1,3}$", f.get("status", "")), f
    assert f.get("status") == "5.1.1", f
    assert f.get("diagnostic-code", "").lower().startswith("smtp;"), f
    assert "sink says no such user" in f.get("diagnostic-code", ""), f
    assert "127.0.0.1" in f.get("remote-mta", "") or "remote-mta" in f, f
    # the message is gone from the queue
    harness.wait_for(lambda: not any(r.get("address") == HARD for _, r in I.queue_rcpts()),
                     10, what="%s gone from the queue" % HARD, info=I.diagnostics)


def test_notify_never_no_bounce():
    n0 = len(I.mail_files(SENDER))
    submit(NEVER, "relay-sink-never", rcpt_options=["NOTIFY=NEVER"])
    I.wait_log(r"to=<%s>.*status=bounced" % re.escape(NEVER))
    harness.wait_for(lambda: not any(r.get("address") == NEVER for _, r in I.queue_rcpts()),
                     10, what="%s gone from the queue" % NEVER, info=I.diagnostics)
    # whatever the queue does after the failure is done once it holds no
    # bounce either: wait for that, then look
    harness.wait_for(lambda: not [1 for m, _ in I.queue_rcpts() if m.get("sender") == ""],
                     10, what="no bounce in the queue", info=I.diagnostics)
    assert not bounces_for("relay-sink-never"), "NOTIFY=NEVER bounced"
    assert len(I.mail_files(SENDER)) == n0


def test_route_change_without_restart():
    """A new route is used without a restart (tern-map only)."""
    with smtpsink.Sink() as other:
        I.write_routes("* 127.0.0.1:%d\nnew.test 127.0.0.1:%d\n" % (SINK.port, other.port))
        submit("x@new.test", "relay-sink-newroute")
        e = other.wait_messages(1, timeout=30, info=I.diagnostics)[0]
        assert e.rcpts == ["x@new.test"]
    I.write_routes("* 127.0.0.1:%d\n" % SINK.port)


# ------------------------------------------------------------ smarthost

def _smarthost_instance(name, routes, creds):
    inst = harness.Instance(name=name, conf={"queue_min_backoff": "1s",
                                             "queue_max_backoff": "2s",
                                             "dns_resolv_conf": "no"})
    inst.prog("tern-remote")
    inst.write_remote_auth(creds)
    inst.write_routes(routes)
    inst.start()
    return inst


def test_smarthost_auth_after_tls():
    d = tempfile.mkdtemp(prefix="sinkcert.", dir=harness.TMPROOT)
    try:
        ca, cert, key = harness.make_cert(d, names=["localhost"])
        with smtpsink.Sink(certfile=cert, keyfile=key,
                           auth={"relayuser": "s3cret pass"}) as sh:
            with _smarthost_instance("smarthost", "* 127.0.0.1:%d auth=sh tls=encrypt\n"
                                     % sh.port, ["sh relayuser s3cret pass"]) as inst:
                inst.sendmail(["-f", "alice@example.test", "far@away.test"],
                              harness.message("relay-smarthost", sender="alice@example.test",
                                              to="far@away.test"))
                e = sh.wait_messages(1, timeout=30, info=inst.diagnostics)[0]
                assert e.rcpts == ["far@away.test"] and e.mail_from == "alice@example.test"
                assert e.tls and e.auth == "relayuser", (e.tls, e.auth)
                cmds = e.session.commands
                first_auth = [i for i, (c, _) in enumerate(cmds) if c.upper().startswith("AUTH")]
                stls = [i for i, (c, _) in enumerate(cmds) if c.upper() == "STARTTLS"]
                assert first_auth and stls and stls[0] < first_auth[0], cmds
                assert all(t for c, t in cmds[first_auth[0]:]), cmds
                lines = inst.wait_log(r"to=<far@away\.test>.*status=sent")
                assert re.search(r"tls=TLSv1\.[23]", lines[-1]), lines
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_smarthost_encrypt_without_starttls_defers():
    """tls=encrypt to a peer without STARTTLS: deferred, and neither AUTH
    nor MAIL is sent in plaintext."""
    with smtpsink.Sink(auth={"relayuser": "pw"}, auth_plaintext=True) as sh:
        with _smarthost_instance("smarthostplain", "* 127.0.0.1:%d auth=sh tls=encrypt\n"
                                 % sh.port, ["sh relayuser pw"]) as inst:
            inst.sendmail(["-f", "alice@example.test", "far@away.test"],
                          harness.message("relay-smarthost-plain"))
            inst.wait_log(r"to=<far@away\.test>.*status=deferred")
            sess = sh.wait_sessions(1, info=inst.diagnostics)
            for s in sess:
                for c, _ in s.commands:
                    assert not c.upper().startswith(("AUTH", "MAIL", "(AUTH")), s.commands
            assert not sh.messages


def test_smarthost_tern_submission():
    """The smarthost is a tern instance's submission listener (530 before
    AUTH there): the message is delivered to a user of that instance."""
    b = harness.Instance(name="smarthostb", conf={"local_domains": "b.test",
                                                 "hostname": "mx.b.test",
                                                 "smtpd_sender_check": "no"},
                         users={"bob@b.test": "bob", "relay@b.test": "relaypw"},
                         aliases={})
    with b:
        b.start()
        bport = b.listen(mode="submission")
        with _smarthost_instance("smarthosta", "* 127.0.0.1:%d auth=b tls=encrypt\n" % bport,
                                 ["b relay@b.test relaypw"]) as a:
            a.sendmail(["-f", "alice@example.test", "bob@b.test"],
                       harness.message("relay-smarthost-tern", sender="alice@example.test",
                                       to="bob@b.test"))
            b.wait_for_message("bob@b.test", "relay-smarthost-tern", timeout=30)
            a.wait_log(r"to=<bob@b\.test>.*status=sent")
