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


# ---------------------------------------------------------------- silence

def test_silent_on_success():
    # cron mails whatever a job's sendmail prints: nothing when all is well,
    # even with log = stderr (tern-enqueue's log line is not ours to print)
    m = marker("silent")
    r = I.sendmail(["demo@example.test"], plain(m))
    ok(r, "tern-sendmail")
    assert r.stdout == b"" and r.stderr == b"", \
        "tern-sendmail printed on success: %r %r" % (r.stdout, r.stderr)
    I.wait_for_message("demo@example.test", m)


# ---------------------------------------------------------------- options

def test_combined_flags():
    body = "before\n.\nafter the dot\n"
    for flags in (["-ti"], ["-it"], ["-t", "-i"]):
        m = marker("combined" + "".join(flags))
        ok(I.sendmail(flags, plain(m, body=body)), "tern-sendmail %s" % " ".join(flags))
        _, data = I.wait_for_message("demo@example.test", m)
        assert data.endswith(b"\nbefore\n.\nafter the dot\n"), (flags, data[-100:])


def test_value_in_a_group_of_flags():
    # "-itfADDR": getopt takes the rest of the word as -f's value; "-itf ADDR"
    # takes the next word
    for args in (["-itfbounces@lists.example.org"], ["-itf", "bounces@lists.example.org"]):
        m = marker("group-f")
        ok(I.sendmail(args, plain(m)), "tern-sendmail %s" % " ".join(args))
        _, data = I.wait_for_message("demo@example.test", m)
        assert data.startswith(b"Return-Path: <bounces@lists.example.org>\n"), (args, data[:200])


def test_o_options():
    # -odi / -odb (delivery mode), -oem / -oee (error mode), -om: accepted
    # and ignored; -oi as -i
    m = marker("o-opts")
    ok(I.sendmail(["-odi", "-odb", "-oem", "-oee", "-om", "-oi", "demo@example.test"],
                  plain(m, body="a\n.\nb\n")), "tern-sendmail -odi -odb -oem -oi")
    _, data = I.wait_for_message("demo@example.test", m)
    assert data.endswith(b"\na\n.\nb\n"), data[-60:]


def test_ignored_options():
    # what Postfix's sendmail accepts silently, with or without a value
    m = marker("ignored")
    args = ["-G", "-U", "-v", "-m", "-n", "-x", "-s", "-h", "5", "-L", "label",
            "-Ooption=value", "-X", "/dev/null", "-Am", "-ex", "-p", "smtp", "-d0.1",
            "-Mrs", "demo@example.test"]
    r = I.sendmail(args, plain(m))
    ok(r, "tern-sendmail " + " ".join(args))
    assert r.stderr == b"", r.stderr
    I.wait_for_message("demo@example.test", m)


def envelope_of(mark):
    """The envelope lines of the queued message holding mark (it stays in
    the queue: its recipient is remote)."""
    def find():
        d = I.path("spool", "mess")
        for f in sorted(os.listdir(d)):
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if mark.encode() in data:
                return data.split(b"\n\n", 1)[0].decode().split("\n")
        return None
    return harness.wait_for(find, what="a queue file with %s" % mark)


def test_dsn_and_body_options():
    m = marker("dsn")
    far = "far-%s@elsewhere.example" % uuid.uuid4().hex[:8]
    ok(I.sendmail(["-B", "8BITMIME", "-N", "success,delay", "-Rhdrs",
                   "-V", "env id+1", far], plain(m, to=far)),
       "tern-sendmail -B -N -R -V")
    env = envelope_of(m)
    assert "B8BITMIME" in env, env
    assert "WHDRS" in env, env
    assert "Eenv+20id+2B1" in env, env
    i = env.index("R" + far)
    assert env[i + 1] == "NSUCCESS,DELAY", env
    # without them: none of these lines
    m2 = marker("nodsn")
    ok(I.sendmail(["-B", "7BIT", far], plain(m2, to=far)), "tern-sendmail -B 7BIT")
    env = envelope_of(m2)
    assert not [l for l in env if l[:1] in ("B", "W", "E", "N")], env
    ok(I.sendmail(["-N", "never", far], plain(marker("never"), to=far)), "-N never")


def test_bad_option_values():
    for args in (["-B", "9BIT"], ["-N", "sometimes"], ["-R", "all"], ["-bd"],
                 ["-k"], ["-f"], ["-V", "x" * 101]):
        r = I.sendmail(args + ["demo@example.test"], plain(marker("bad")))
        assert r.returncode == 64, "%s: exit %d (want 64): %s" % (
            args, r.returncode, r.stderr.decode("utf-8", "replace"))


def configured_version():
    with open(os.path.join(harness.BUILD, "config.h")) as f:
        for line in f:
            if line.startswith("#define TERN_VERSION"):
                return line.split('"')[1]
    raise AssertionError("no TERN_VERSION in config.h")


def test_version():
    r = I.run(["tern-sendmail", "--version"])
    ok(r, "tern-sendmail --version")
    assert r.stdout.decode() == "tern-sendmail %s\n" % configured_version(), r.stdout


# ---------------------------------------------------------------- -bs

def bs(commands, user="nobody"):
    """tern-sendmail -bs as an ordinary user (nobody when we are root),
    all commands at once (pipelined); returns (exit, reply lines)."""
    text = "".join(c + "\r\n" for c in commands).encode()
    r = I.run_as(["tern-sendmail", "-C", I.etc, "-bs"], user=user, input=text)
    return r.returncode, r.stdout.decode("utf-8", "replace").split("\r\n")[:-1], r


def codes(lines):
    """The reply codes, one per reply (continuation lines dropped)."""
    return [int(l[:3]) for l in lines if l[3:4] == " "]


def test_bs_as_ordinary_user():
    m = marker("bs")
    nouser = "nouser-%s@example.test" % uuid.uuid4().hex[:6]
    rc, lines, r = bs(["EHLO client.example", "MAIL FROM:<alice@example.test>",
                       "RCPT TO:<demo@example.test>", "RCPT TO:<%s>" % nouser,
                       "DATA", "From: alice@example.test", "Subject: %s" % m, "",
                       "..dot-stuffed", ".", "QUIT"])
    assert rc == 0, (rc, lines, r.stderr)
    assert codes(lines) == [220, 250, 250, 250, 250, 354, 250, 221], lines
    assert "PIPELINING" in " ".join(lines) and "8BITMIME" in " ".join(lines), lines
    assert [l for l in lines if l.startswith("250 2.0.0 Ok: queued as ")], lines
    _, data = I.wait_for_message("demo@example.test", m)
    assert data.endswith(b"\n\n.dot-stuffed\n"), data[-80:]
    h = headers_of(data)
    rec = [v for k, v in h if k == "received" and "tern-sendmail -bs" in v]
    assert rec and "client.example" in rec[0], h
    # the unknown local recipient was accepted and is bounced by the queue
    _, bounce = I.wait_for_message("alice@example.test", nouser.encode(), timeout=15)


def test_bs_protocol_errors():
    rc, lines, r = bs(["MAIL FROM:<a@example.test>", "HELO client.example",
                       "RCPT TO:<demo@example.test>", "DATA",
                       "MAIL FROM:<a@example.test> FOO=1",
                       "MAIL FROM:<a@example.test>", "MAIL FROM:<b@example.test>",
                       "RCPT TO:<bad address>", "DATA", "XYZZY", "NOOP",
                       "VRFY demo", "RSET", "DATA", "QUIT"])
    assert rc == 0, (rc, lines, r.stderr)
    assert codes(lines) == [220, 503, 250, 503, 503, 555, 250, 503, 501, 503,
                            502, 250, 252, 250, 503, 221], lines


def test_bs_eof_in_data_queues_nothing():
    m = marker("bs-eof")
    rc, lines, r = bs(["HELO c.example", "MAIL FROM:<>", "RCPT TO:<demo@example.test>",
                       "DATA", "Subject: %s" % m, "", "no end"])
    assert rc != 0 and codes(lines)[-1] == 354, (rc, lines)
    assert not I.spool_holds(m.encode()), "a message cut short was queued"


# ---------------------------------------------------------------- mailq

def test_mailq_hint_for_ordinary_user():
    harness.need_root()
    mailq = I.path("bin", "mailq")
    if not os.path.exists(mailq):
        os.symlink("tern-sendmail", mailq)
    r = I.run_as(["mailq", "-C", I.etc])
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode != 0 and "group ternq" in err, (r.returncode, err)


def test_bs_tempfail_without_queue_writer():
    enq = os.path.join(I.bin, "tern-enqueue")
    I.prog("tern-enqueue")
    os.rename(enq, enq + ".off")
    try:
        rc, lines, r = bs(["HELO c.example", "MAIL FROM:<>", "RCPT TO:<demo@example.test>",
                           "DATA", "Subject: x", "", "body", ".", "QUIT"])
    finally:
        os.rename(enq + ".off", enq)
    assert rc == 0 and codes(lines) == [220, 250, 250, 250, 354, 451, 221], (lines, r.stderr)


# ---------------------------------------------------------------- bare CR

def test_bare_cr_refused():
    # a CR not followed by LF is refused on every local path, as
    # tern-smtpd refuses it (doc/VIOLATIONS.md): a next server could take
    # it for a line end
    m = marker("barecr")
    r = I.sendmail(["demo@example.test"],
                   ("Subject: %s\n\nline one\rRCPT TO:<x@y>\n" % m).encode())
    assert r.returncode == 65, (r.returncode, r.stderr)
    assert b"bare CR" in r.stderr, r.stderr
    # CRLF line ends are fine
    m2 = marker("crlf")
    ok(I.sendmail(["demo@example.test"], ("Subject: %s\r\n\r\nok\r\n" % m2).encode()),
       "CRLF input")
    I.wait_for_message("demo@example.test", m2)
    rc, lines, r = bs(["HELO c.example", "MAIL FROM:<>", "RCPT TO:<demo@example.test>",
                       "DATA", "Subject: %s" % m, "", "one\rtwo", ".", "QUIT"])
    assert rc == 0 and codes(lines) == [220, 250, 250, 250, 354, 554, 221], lines
    assert not I.spool_holds(m.encode()), "a message with a bare CR was queued"


def test_bs_dot_at_eof_without_line_end_queues_nothing():
    m = marker("bs-dot-eof")
    text = ("HELO c.example\r\nMAIL FROM:<>\r\nRCPT TO:<demo@example.test>\r\n"
            "DATA\r\nSubject: %s\r\n\r\nbody\r\n." % m).encode()
    r = I.run_as(["tern-sendmail", "-C", I.etc, "-bs"], input=text)
    assert r.returncode != 0, r
    assert not I.spool_holds(m.encode()), "a message without its end was queued"
