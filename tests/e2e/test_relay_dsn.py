"""
test_relay_dsn: what tern-remote passes on and what tern-queued reports
for remote recipients (RFC 3461, 1870, 6152), against sinks on loopback.

- a next hop with DSN gets RET, ENVID, NOTIFY and ORCPT, and a
  NOTIFY=SUCCESS notice is its job: tern sends none;
- a next hop without DSN: tern sends a "relayed" notice (RFC 3464
  Action: relayed) to the sender;
- SIZE= and BODY=8BITMIME go out where offered; 8-bit mail to a host
  without 8BITMIME bounces with 5.6.3, a message over the host's SIZE
  with 5.3.4.
"""
import email
import email.policy
import os
import re
import smtplib
import uuid

import harness
import smtpsink

I = None
PORT = None
SINKS = {}
SENDER = "demo@example.test"
QID_RE = re.compile(rb"queued as ([0-9A-F]{20})")


def setup():
    global I, PORT
    SINKS["dsn"] = smtpsink.Sink(dsn=True)
    SINKS["nodsn"] = smtpsink.Sink(dsn=False)
    SINKS["seven"] = smtpsink.Sink(eightbit=False)
    SINKS["small"] = smtpsink.Sink(size=200)
    aliases = dict(harness.ALIASES)
    aliases["fwd@example.test"] = "away@nodsn.test"
    I = harness.Instance(name="rdsn", aliases=aliases)
    with open(os.path.join(I.etc, "access"), "w") as f:
        f.write("127.0.0.1 RELAY\n")
    I.map("access")
    with open(os.path.join(I.etc, "routes"), "w") as f:
        for name, sink in SINKS.items():
            f.write("%s.test 127.0.0.1:%d\n" % (name, sink.port))
    I.map("routes")
    I.start()
    PORT = I.smtp_port()


def teardown():
    if I is not None:
        I.close()
    for s in SINKS.values():
        s.close()


def send(rcpt, subject, mail_options=(), rcpt_options=(), body=b"hello\n"):
    msg = harness.message(subject, body=body, to=rcpt, sender=SENDER)
    with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.example.test",
                      timeout=10) as s:
        s.ehlo()
        code, resp = s.mail(SENDER, list(mail_options))
        assert code == 250, (code, resp)
        code, resp = s.rcpt(rcpt, list(rcpt_options))
        assert code == 250, (code, resp)
        code, resp = s.data(msg)
        assert code == 250, (code, resp)
    return QID_RE.search(resp).group(1).decode()


def gone(qid):
    return all(m["id"] != qid for m in I.queue_list(as_json=True)["messages"])


def notice(marker):
    """The parsed DSN for the message whose subject holds marker, or None."""
    hit = I.find_message(SENDER, marker)
    if not hit:
        return None
    m = email.message_from_bytes(hit[1], policy=email.policy.default)
    if m.get_content_type() != "multipart/report":
        return None
    return m


def status_fields(m):
    for part in m.walk():
        if part.get_content_type() == "message/delivery-status":
            raw = part.get_payload()
            text = "".join(p.as_string() for p in raw) if isinstance(raw, list) else str(raw)
            return text
    return ""


def test_dsn_params_passed_and_no_notice_from_us():
    mk = "dsnpass-%s" % uuid.uuid4().hex[:8]
    rcpt = "r-%s@dsn.test" % mk[-8:]
    qid = send(rcpt, mk, mail_options=["RET=HDRS", "ENVID=env+2Dx"],
               rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;orig@dsn.test"])
    env = harness.wait_for(lambda: [e for e in SINKS["dsn"].messages if rcpt in e.rcpts],
                           what="the message at the DSN sink", info=I.diagnostics)[0]
    assert env.mail_params.get("RET") == "HDRS", env.mail_params
    assert env.mail_params.get("ENVID") == "env+2Dx", env.mail_params
    assert "SIZE" in env.mail_params, env.mail_params
    p = env.rcpt_params[rcpt]
    assert p.get("NOTIFY") == "SUCCESS,FAILURE", p
    assert p.get("ORCPT") == "rfc822;orig@dsn.test", p
    harness.wait_for(lambda: gone(qid), what="the message done", info=I.diagnostics)
    # the next hop took NOTIFY: no notice of ours (the queue is empty, so
    # one would already be in the mailbox)
    harness.wait_for(lambda: not I.queue_list(as_json=True)["messages"],
                     what="no notice in the queue")
    assert notice(mk) is None, "tern sent a success notice the next hop owed"


def test_relayed_notice_without_dsn():
    mk = "relayed-%s" % uuid.uuid4().hex[:8]
    rcpt = "r-%s@nodsn.test" % mk[-8:]
    send(rcpt, mk, rcpt_options=["NOTIFY=SUCCESS"])
    env = harness.wait_for(lambda: [e for e in SINKS["nodsn"].messages if rcpt in e.rcpts],
                           what="the message at the sink", info=I.diagnostics)[0]
    assert "NOTIFY" not in env.rcpt_params.get(rcpt, {}), env.rcpt_params
    m = harness.wait_for(lambda: notice(mk), what="a relayed notice", info=I.diagnostics)
    fields = status_fields(m)
    assert re.search(r"(?mi)^Action: relayed", fields), fields
    assert re.search(r"(?mi)^Final-Recipient: rfc822;\s*" + re.escape(rcpt), fields), fields
    assert re.search(r"(?mi)^Remote-MTA: dns;\s*127\.0\.0\.1", fields), fields


def test_8bit_to_host_without_8bitmime_bounces():
    mk = "eight-%s" % uuid.uuid4().hex[:8]
    rcpt = "r-%s@seven.test" % mk[-8:]
    send(rcpt, mk, mail_options=["BODY=8BITMIME"], body="gr\u00fc\u00dfe\n".encode())
    m = harness.wait_for(lambda: notice(mk), what="a bounce", info=I.diagnostics)
    fields = status_fields(m)
    assert re.search(r"(?mi)^Status: 5\.6\.3", fields), fields
    assert not [e for e in SINKS["seven"].messages if rcpt in e.rcpts]


def test_8bitmime_passed_on():
    mk = "eightok-%s" % uuid.uuid4().hex[:8]
    rcpt = "r-%s@nodsn.test" % mk[-8:]
    send(rcpt, mk, mail_options=["BODY=8BITMIME"], body="gr\u00fc\u00dfe\n".encode())
    env = harness.wait_for(lambda: [e for e in SINKS["nodsn"].messages if rcpt in e.rcpts],
                           what="the message at the sink", info=I.diagnostics)[0]
    assert env.mail_params.get("BODY") == "8BITMIME", env.mail_params
    assert "gr\u00fc\u00dfe".encode() in env.data, env.data[-200:]


def test_too_big_for_host_bounces():
    mk = "big-%s" % uuid.uuid4().hex[:8]
    rcpt = "r-%s@small.test" % mk[-8:]
    send(rcpt, mk, body=b"x" * 400 + b"\n")
    m = harness.wait_for(lambda: notice(mk), what="a bounce", info=I.diagnostics)
    assert re.search(r"(?mi)^Status: 5\.3\.4", status_fields(m)), status_fields(m)


def test_alias_forwards_to_remote_keeping_the_sender():
    """A local alias whose target is remote: tern-deliverd re-injects it,
    tern-remote sends it on, the envelope sender is the original one (no
    SRS yet)."""
    mk = "fwd-%s" % uuid.uuid4().hex[:8]
    send("fwd@example.test", mk)
    env = harness.wait_for(lambda: [e for e in SINKS["nodsn"].messages
                                    if "away@nodsn.test" in e.rcpts and mk.encode() in e.data],
                           what="the forwarded copy at the sink", info=I.diagnostics)[0]
    assert env.mail_from == SENDER, env.mail_from
