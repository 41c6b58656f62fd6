"""
tern-enqueued, the long-lived queue writer (man/tern-enqueued.8): SMTP
sessions hand their messages to it; messages that end in the same round
are committed in one batch; its protocol refuses what tern-enqueue
refuses and leaves nothing of a message its client gave up; a client of
another uid is refused, a server of another uid is not used (the
clients fall back to tern-enqueue); it is restarted alone when it dies;
a kill -9 during a load loses no acknowledged message.
"""
import os
import re
import signal
import smtplib
import socket
import subprocess
import threading
import time

import harness

I = None


def setup():
    global I
    I = harness.Instance(name="enqd", conf={"message_size_limit": "100000"})
    I.start()
    wait_listening()


def teardown():
    if I:
        I.stop()


def wait_listening(n=1):
    I.wait_log(r"tern-enqueued\[\d+\]: started: listening on @", n=n)


def sockname():
    """The writer's socket, as its start line names it (the name is
    lib/queue/qwrite.c's: "tern-enqueue:" and spool_dir)."""
    line = I.wait_log(r"tern-enqueued\[\d+\]: started: listening on @")[-1]
    name = line.split("listening on @", 1)[1].strip()
    assert name.startswith("tern-enqueue:") and name.endswith("spool"), name
    return b"\0" + name.encode()


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sockname())
    g = b""
    while len(g) < 2:
        b = s.recv(2 - len(g))
        assert b, "no greeting"
        g += b
    assert g == b"+\n", g      # it took the connection
    return s


def reply(s):
    data = b""
    while not data.endswith(b"\n"):
        b = s.recv(4096)
        if not b:
            break
        data += b
    return data.decode()


def message(marker, body=b"hello\n"):
    text = b"Subject: " + marker.encode() + b"\n\n" + body
    return (b"Fme@example.test\nRdemo@example.test\n\n" +
            b"%x\n" % len(text) + text)


def mess_files():
    return os.listdir(I.path("spool", "mess"))


def sent(port, marker):
    s = smtplib.SMTP("127.0.0.1", port, timeout=20)
    try:
        s.ehlo()
        code, text = s.mail("me@example.test")
        s.rcpt("demo@example.test")
        code, text = s.data(("Subject: %s\n\nhello\n" % marker).encode())
    finally:
        s.close()
    return code, text.decode()


def test_smtp_session_queues_through_the_writer():
    port = I.smtp_port()
    code, text = sent(port, "via-writer")
    assert code == 250, text
    qid = text.split()[-1]
    line = I.wait_log(r"tern-enqueued\[\d+\]: %s queued from=<me@example.test> "
                      r"nrcpt=1 size=\d+ uid=\d+ batch=1" % qid)
    assert line
    I.wait_for_message("demo@example.test", "via-writer")
    assert not re.search(r"tern-enqueue\[\d+\]: %s" % qid, I.log_text())


def test_messages_ending_in_one_round_are_one_batch():
    # the writer is stopped while five clients send their end marker, so
    # all five ends are there at its next round: one commit for five
    conns = [connect() for _ in range(5)]
    for k, c in enumerate(conns):
        c.sendall(message("batch-%d" % k))
    # every byte so far written to the files: the writer has read all, so
    # the next round after SIGCONT sees the five end markers at once

    def all_written():
        n = 0
        for f in mess_files():
            with open(I.path("spool", "mess", f), "rb") as fh:
                n += fh.read().endswith(b"hello\n")
        return n == 5
    harness.wait_for(all_written, 10, what="five messages written")
    pid = I.pid("tern-enqueued")
    os.kill(pid, signal.SIGSTOP)

    def stopped():   # kill returns before the target stops
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"
    try:
        harness.wait_for(stopped, 10, what="tern-enqueued stopped")
        for c in conns:
            c.sendall(b"0\n")
    finally:
        os.kill(pid, signal.SIGCONT)
    ids = []
    for c in conns:
        r = reply(c)
        c.close()
        assert r.startswith("K ") and len(r.split()[1]) == 20, r
        ids.append(r.split()[1])
    for qid in ids:
        I.wait_log(r"tern-enqueued\[\d+\]: %s queued .* batch=5" % qid)
    for k in range(5):
        I.wait_for_message("demo@example.test", "batch-%d" % k)


def test_protocol_refusals_are_d_and_leave_no_file():
    cases = [
        (b"Xbogus\n\n", "D envelope line 1:"),
        (b"Fme@example.test\n\n", "D envelope:"),          # no recipient
        (b"Fme@example.test\nRdemo@example.test\n\nzz\n", "D bad chunk length"),
        (b"Fme@example.test\nR" + b"a" * 2000 + b"\n", "D envelope line too long"),
        (b"Fme@example.test\nRdemo@example.test\n\n" + b"10000\n" + b"x" * 65536 +
         b"10000\n" + b"x" * 65536, "D message too big"),
        # held in memory until the empty line: refused at 1 MiB, not
        # at the end
        (b"Fme@example.test\n" + b"".join(
            b"R%s@example.test\n" % (b"%06d" % k + b"a" * 230) for k in range(4500)),
         "D envelope too large"),
    ]
    for data, want in cases:
        c = connect()
        try:
            c.sendall(data)
        except BrokenPipeError:
            pass
        c.shutdown(socket.SHUT_WR)
        r = reply(c)
        c.close()
        assert r.startswith(want), (data[:40], r)
    harness.wait_for(lambda: not mess_files(), 5, what="no work file left",
                     info=mess_files)


def test_client_that_gives_up_leaves_nothing():
    c = connect()
    c.sendall(message("gave-up")[:-3])   # no end marker, cut in a chunk
    harness.wait_for(lambda: mess_files(), 5, what="the work file")
    c.close()
    harness.wait_for(lambda: not mess_files(), 5, what="work file removed",
                     info=mess_files)
    c = connect()
    c.sendall(b"Fme@example.test\nRdemo")   # inside the envelope
    c.close()
    ok = connect()
    ok.sendall(message("after-gave-up") + b"0\n")
    assert reply(ok).startswith("K ")
    ok.close()
    I.wait_for_message("demo@example.test", "after-gave-up")


def test_client_of_another_uid_is_refused():
    harness.need_root()
    uid, gid = harness.ids("nobody")
    probe = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM)\n"
        "s.settimeout(10)\n"
        "s.connect(%r)\n"
        "s.sendall(b'Fme@example.test\\nRdemo@example.test\\n\\n1\\nx0\\n')\n"
        "print(repr(s.recv(100)))\n" % sockname())
    r = subprocess.run(["python3", "-c", probe], capture_output=True,
                       timeout=30, user=uid, group=gid, extra_groups=[])
    assert r.stdout.strip() in (b"b''", b""), r
    I.wait_log(r"connection from uid=%d pid=\d+ refused: not a tern program" % uid)
    assert not mess_files()


def test_killed_writer_is_restarted_alone():
    port = I.smtp_port()
    queued = I.pid("tern-queued")
    before = len(re.findall(r"started: listening on @", I.log_text()))
    old = I.pid("tern-enqueued")
    harness.kill9([old])
    wait_listening(before + 1)
    assert I.pid("tern-enqueued") not in (None, old)
    assert I.pid("tern-queued") == queued, "the others were restarted too"
    code, text = sent(port, "after-restart")
    assert code == 250, text
    I.wait_for_message("demo@example.test", "after-restart")


def test_stuck_writer_clients_fall_back_to_tern_enqueue():
    # a writer that takes no connection (full, or stopped here) sends no
    # greeting: after ENQ_GREET_MS (5 s) the session runs tern-enqueue
    port = I.smtp_port()
    pid = I.pid("tern-enqueued")
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        code, text = sent(port, "stuck-writer")
        took = time.time() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert code == 250, text
    assert 4.5 < took < 15, took
    qid = text.split()[-1]
    I.wait_log(r"tern-enqueue\[\d+\]: %s queued" % qid, name="smtpd.log")
    I.wait_for_message("demo@example.test", "stuck-writer")
    # the connection it never took leaves nothing behind
    harness.wait_for(lambda: not mess_files(), 10, what="no work file",
                     info=mess_files)


def test_kill9_during_load_loses_no_acknowledged_message():
    # six clients send until told to stop; the writer is killed twice
    # while they do, each time once it is back and 30 more were acked
    port = I.smtp_port()
    acked, errors = [], []
    lock = threading.Lock()
    done = threading.Event()

    def client(k):
        for j in range(2000):
            if done.is_set():
                return
            marker = "load-%d-%d" % (k, j)
            try:
                code, text = sent(port, marker)
            except (smtplib.SMTPException, OSError) as e:
                errors.append(str(e))
                continue
            if code == 250:
                with lock:
                    acked.append(marker)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    try:
        starts = len(re.findall(r"started: listening on @", I.log_text()))
        for kill in range(2):
            n = len(acked)
            harness.wait_for(lambda: len(acked) >= n + 30, 30,
                             what="30 messages before kill %d" % kill)
            wait_listening(starts)
            harness.kill9([I.pid("tern-enqueued")])
            starts += 1
        n = len(acked)
        harness.wait_for(lambda: len(acked) >= n + 30, 30,
                         what="30 messages after the kills")
    finally:
        done.set()
        for t in threads:
            t.join()
    # what was acknowledged arrives; a kill between a commit bit and the
    # reply may leave a committed file nobody was told about, which
    # tern-queued takes at its next start (a duplicate at worst, never a
    # loss), so the queue need not be empty here
    md = I.path("mail", "example.test", "demo", "Maildir")

    def missing():
        subjects = set()
        for sub in ("new", "cur"):
            for f in os.listdir(os.path.join(md, sub)):
                with open(os.path.join(md, sub, f), "rb") as fh:
                    m = re.search(rb"(?m)^Subject: (\S+)", fh.read())
                if m:
                    subjects.add(m.group(1).decode())
        return [m for m in acked if m not in subjects]
    harness.wait_for(lambda: not missing(), 60,
                     what="every acknowledged message delivered",
                     info=lambda: "missing: %s" % missing()[:5])
