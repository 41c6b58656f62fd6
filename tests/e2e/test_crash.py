"""
Crash safety (issue 2, acceptance 6): 1,000 messages are queued while
deliveries run; tern-queued and tern-deliverd are killed with SIGKILL in the
middle, later the whole queue side (tern-start too); after the restarts
every one of the 1,000 messages is in the Maildir.  Duplicates are allowed
(a delivery cut short before its result was recorded is repeated), loss is
not.
"""
import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import harness

N = 1000
RCPT = "demo@example.test"


def msg(i):
    # LF line ends: what tern-smtpd and tern-sendmail hand to tern-enqueue
    return ("From: load@example.org\nTo: %s\nSubject: crash-%04d\n"
            "Message-ID: <crash-%04d@e2e.example.test>\n\nmessage %d of %d\n"
            % (RCPT, i, i, i, N)).encode()


def count_new(I):
    try:
        return len(os.listdir(os.path.join(I.maildir(RCPT), "new")))
    except FileNotFoundError:
        return 0


def wait_restarted(I, old, timeout=5.0):
    """1 if tern-start brought up new tern-queued and tern-deliverd."""
    def new():
        q, d = I.pid("tern-queued"), I.pid("tern-deliverd")
        return q and d and q not in old and d not in old
    try:
        harness.wait_for(new, timeout, what="restarted children")
        return True
    except AssertionError:
        return False


def test_kill9_while_delivering_1000():
    I = harness.Instance(name="crash")
    I.start()
    enqueued = [0]
    errors = []
    stop = threading.Event()
    lock = threading.Lock()

    def one(i):
        if stop.is_set():
            return
        try:
            I.enqueue("load@example.org", [RCPT], msg(i))
            with lock:
                enqueued[0] += 1
        except Exception as e:  # collected and reported below
            with lock:
                errors.append("message %d: %s" % (i, e))

    t0 = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=8)
    for i in range(N):
        pool.submit(one, i)
    try:
        # round 1: SIGKILL tern-queued and tern-deliverd mid-stream
        harness.wait_for(lambda: count_new(I) >= 100 or errors, 60,
                         step=0.02, what="100 deliveries", info=I.diagnostics)
        assert not errors, errors[:5]
        old = [I.pid("tern-queued"), I.pid("tern-deliverd")]
        harness.kill9([p for p in old if p])
        harness.log("round 1: killed tern-queued+tern-deliverd %s with %d enqueued, "
                    "%d delivered" % (old, enqueued[0], count_new(I)))
        if wait_restarted(I, old):
            harness.log("tern-start restarted them")
        else:
            harness.log("note: tern-start did not restart its children within 5 s; "
                        "restarting tern-start")
            I.kill_queue()
            I.start()
        # round 2: SIGKILL everything, tern-start included, then start again
        harness.wait_for(lambda: count_new(I) >= 400 or errors, 60, step=0.02,
                         what="400 deliveries", info=I.diagnostics)
        harness.log("round 2: SIGKILL of the whole queue side with %d enqueued, "
                    "%d delivered" % (enqueued[0], count_new(I)))
        I.kill_queue()
        I.start()
    except BaseException:
        stop.set()      # do not go on enqueueing for a failed test
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=stop.is_set())
    assert not errors, "enqueue failures: %s" % errors[:5]
    assert enqueued[0] == N, "only %d of %d enqueued" % (enqueued[0], N)
    harness.log("enqueued %d in %.1fs" % (N, time.monotonic() - t0))
    # duplicates count towards the number of files, so wait for every
    # distinct message, not for N files
    seen = {}      # message number -> copies
    parsed = set()

    def scan():
        for path in I.mail_files(RCPT):
            if path in parsed:
                continue
            with open(path, "rb") as f:
                head = f.read().split(b"\n\n", 1)[0]
            m = re.search(rb"^Subject: crash-(\d{4})$", head, re.M)
            assert m, "unexpected message %s: %r" % (path, head[:300])
            parsed.add(path)
            seen[int(m.group(1))] = seen.get(int(m.group(1)), 0) + 1
        return len(seen) == N

    def lost():
        missing = sorted(set(range(N)) - set(seen))
        return "%d messages missing, e.g. %s" % (len(missing), missing[:10])
    harness.wait_for(scan, 60, step=0.05, what="all %d messages in the Maildir" % N,
                     info=lambda: lost() + "\n" + I.diagnostics())
    harness.log("all delivered %.1fs after the start" % (time.monotonic() - t0))
    dups = sum(c - 1 for c in seen.values())
    harness.log("%d files, %d distinct, %d duplicates" % (len(parsed), len(seen), dups))
    # and the queue empties: every finished message is removed
    mess = I.path("spool", "mess")
    harness.wait_for(lambda: not os.listdir(mess), 15, step=0.05,
                     what="the queue to drain (spool/mess empty)", info=I.diagnostics)
    I.close()


def instance_procs(I, names=("tern-queued", "tern-deliverd", "tern-remote")):
    """pids of the queue-side programs running with I's configuration,
    wherever they are in the process tree (orphans too)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (len(argv) > 2 and os.path.basename(argv[0]).decode() in names and
                I.etc.encode() in argv):
            out.append(int(d))
    return out


def test_kill9_of_tern_start_leaves_no_orphans():
    """kill -9 of tern-start: its children follow it (PR_SET_PDEATHSIG),
    the next start runs exactly one scheduler, and a second tern-queued
    on the same spool refuses to run."""
    I = harness.Instance(name="orphan")
    try:
        I.start()
        first = instance_procs(I)
        assert len(first) >= 3, first
        os.kill(I.start_proc.pid, signal.SIGKILL)
        I.start_proc.wait()
        I.start_proc = None
        harness.wait_for(lambda: not instance_procs(I), 20, step=0.05,
                         what="tern-start's children gone with it",
                         info=lambda: str(instance_procs(I)))
        I.start()
        harness.wait_for(lambda: len(instance_procs(I, ("tern-queued",))) == 1, 10,
                         what="one tern-queued")
        # a second scheduler on the same spool (fds 3 and 4: any socket)
        import socket
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            import subprocess
            r = subprocess.run(
                ["sh", "-c", 'exec "$0" -C "$1" 3<&%d 4<&%d' % (a.fileno(), c.fileno()),
                 I.prog("tern-queued"), I.etc],
                pass_fds=(a.fileno(), c.fileno()), env=I.env(), capture_output=True,
                timeout=20)
        finally:
            for s in (a, b, c, d):
                s.close()
        assert r.returncode != 0, "a second tern-queued ran"
        assert b"another tern-queued runs on this spool" in r.stderr, r.stderr
        assert len(instance_procs(I, ("tern-queued",))) == 1
    finally:
        I.close()
