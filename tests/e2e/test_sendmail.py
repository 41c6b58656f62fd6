"""
tern-sendmail (issue 2, acceptance 5): -t, recipients as arguments,
subaddressing, -f, -F, -i, exit codes.  One instance for the file.
"""
import os
import smtplib
import uuid

import harness
from harness import headers_of, message

I = None
PORT = None


def setup():
    global I
    I = harness.Instance(name="sendmail")
    I.start()


def marker(what):
    return "%s-%s" % (what, uuid.uuid4().hex[:12])


def plain(subject, to="demo@example.test", body="hello from sendmail\n", frm=True):
    """A message with LF line ends, as cron or mail(1) would pipe it."""
    head = ""
    if frm:
        head += "From: cron@example.test\n"
    if to:
        head += "To: %s\n" % to
    head += "Subject: %s\n" % subject
    return (head + "\n" + body).encode()


def ok(r, what):
    assert r.returncode == 0, "%s exited %d: %s" % (
        what, r.returncode, r.stderr.decode("utf-8", "replace").strip())


def test_t_reads_recipients_from_headers():
    m = marker("dash-t")
    msg = ("From: cron@example.test\nTo: Demo <demo@example.test>\n"
           "Cc: alice@example.test\nBcc: postmaster@example.test\n"
           "Subject: %s\n\nbody\n" % m).encode()
    r = I.sendmail(["-t"], msg)
    ok(r, "tern-sendmail -t")
    _, d = I.wait_for_message("demo@example.test", m)
    I.wait_for_message("alice@example.test", m)
    assert b"\nBcc:" not in b"\n" + d.split(b"\n\n", 1)[0], \
        "Bcc header must be removed with -t"


def test_recipient_argument():
    m = marker("argrcpt")
    ok(I.sendmail(["alice@example.test"], plain(m, to=None)), "tern-sendmail alice@")
    _, data = I.wait_for_message("alice@example.test", m)
    assert I.find_message("demo@example.test", m) is None


def test_subaddress_sendmail():
    m = marker("plus-sendmail")
    ok(I.sendmail(["alice+news@example.test"], plain(m, to="alice+news@example.test")),
       "tern-sendmail alice+news@")
    _, data = I.wait_for_message("alice@example.test", m)
    h = dict(headers_of(data))
    assert "alice" in h.get("delivered-to", "").lower(), h.get("delivered-to")


def test_subaddress_smtp():
    port = smtp()
    m = marker("plus-smtp")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.org",
                      timeout=10) as s:
        refused = s.sendmail("sender@example.org", ["alice+news@example.test"],
                             message(m, to="alice+news@example.test"))
        assert refused == {}
    I.wait_for_message("alice@example.test", m)


def test_f_sets_return_path():
    m = marker("dash-f")
    ok(I.sendmail(["-f", "bounces@lists.example.org", "demo@example.test"], plain(m)),
       "tern-sendmail -f")
    _, data = I.wait_for_message("demo@example.test", m)
    assert data.startswith(b"Return-Path: <bounces@lists.example.org>\n"), data[:200]


def test_F_sets_full_name():
    m = marker("dash-F")
    ok(I.sendmail(["-F", "Cron Daemon", "demo@example.test"], plain(m, frm=False)),
       "tern-sendmail -F")
    _, data = I.wait_for_message("demo@example.test", m)
    frm = dict(headers_of(data)).get("from", "")
    assert "Cron Daemon" in frm, "From: without the -F name: %r" % frm


def test_dot_line_ends_input_unless_i():
    m = marker("dot")
    body = "before\n.\nafter the dot\n"
    ok(I.sendmail(["-i", "demo@example.test"], plain(m, body=body)), "tern-sendmail -i")
    _, data = I.wait_for_message("demo@example.test", m)
    assert data.endswith(b"\nbefore\n.\nafter the dot\n"), data[-100:]
    m2 = marker("dot-oi")
    ok(I.sendmail(["-oi", "demo@example.test"], plain(m2, body=body)), "tern-sendmail -oi")
    _, data = I.wait_for_message("demo@example.test", m2)
    assert data.endswith(b"\nbefore\n.\nafter the dot\n"), data[-100:]
    # without -i a lone "." ends the message (traditional sendmail)
    m3 = marker("dot-plain")
    ok(I.sendmail(["demo@example.test"], plain(m3, body=body)), "tern-sendmail")
    _, data = I.wait_for_message("demo@example.test", m3)
    assert data.endswith(b"\nbefore\n"), data[-100:]


def test_no_recipients_is_usage_error():
    r = I.sendmail([], plain(marker("norcpt"), to=None))
    assert r.returncode == 64, "no recipients: exit %d (want EX_USAGE 64): %s" % (
        r.returncode, r.stderr.decode("utf-8", "replace").strip())


def test_tempfail_when_queue_writer_missing():
    enq = os.path.join(I.bin, "tern-enqueue")
    I.prog("tern-enqueue")
    os.rename(enq, enq + ".off")
    try:
        r = I.sendmail(["demo@example.test"], plain(marker("tempfail")))
    finally:
        os.rename(enq + ".off", enq)
    assert r.returncode == 75, "without tern-enqueue: exit %d (want EX_TEMPFAIL 75): %s" % (
        r.returncode, r.stderr.decode("utf-8", "replace").strip())


def test_bp_lists_queue():
    r = I.sendmail(["-bp"], b"")
    ok(r, "tern-sendmail -bp")


_port = []


def smtp():
    if not _port:
        _port.append(I.smtp_port())
    return _port[0]
