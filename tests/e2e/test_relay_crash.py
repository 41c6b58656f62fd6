"""
Crash safety of remote delivery: 300 messages relayed to an SMTP sink
while tern-remote's delivery children, tern-remote itself and finally the
whole queue side are killed with SIGKILL.  Every message must reach the
sink (duplicates are allowed: a transaction cut short after the final dot
and before its result was recorded is sent again; loss is not), and the
queue must drain.
"""
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import harness
import smtpsink

N = 300


def msg(i):
    return ("From: load@example.org\nTo: r@far.test\nSubject: rcrash-%04d\n"
            "Message-ID: <rcrash-%04d@e2e.example.test>\n\nmessage %d\n"
            % (i, i, i)).encode()


def remote_children(I):
    """pids of tern-remote's delivery children (forked copies)."""
    parent = I.pid("tern-remote")
    out = []
    if not parent:
        return out
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            out.append(int(d))
    return out


def test_kill9_while_relaying():
    with smtpsink.Sink() as sink, harness.Instance(
            name="rcrash", conf={"queue_min_backoff": "1s",
                                 "queue_max_backoff": "1s",
                                 "remote_concurrency": "4",
                                 "destination_concurrency": "4"}) as I:
        with open(I.path("etc", "routes"), "w") as f:
            f.write("far.test 127.0.0.1:%d\n" % sink.port)
        I.map("routes")
        I.start()
        errors = []
        lock = threading.Lock()

        def one(i):
            try:
                I.enqueue("load@example.org", ["r@far.test"], msg(i))
            except Exception as e:  # reported below
                with lock:
                    errors.append("message %d: %s" % (i, e))

        def at_sink():
            seen = set()
            with sink.lock:
                for e in sink.messages:
                    m = re.search(rb"Subject: rcrash-(\d{4})", e.data)
                    if m:
                        seen.add(int(m.group(1)))
            return seen

        pool = ThreadPoolExecutor(max_workers=4)
        for i in range(N):
            pool.submit(one, i)
        try:
            # round 1: the delivery children
            harness.wait_for(lambda: len(at_sink()) >= 30 or errors, 60, step=0.01,
                             what="30 at the sink", info=I.diagnostics)
            kids = remote_children(I)
            harness.kill9(kids)
            harness.log("round 1: killed %d delivery children at %d" %
                        (len(kids), len(at_sink())))
            # round 2: tern-remote itself (tern-start restarts the queue side)
            harness.wait_for(lambda: len(at_sink()) >= 100 or errors, 60, step=0.01,
                             what="100 at the sink", info=I.diagnostics)
            harness.kill9([I.pid("tern-remote")] + remote_children(I))
            harness.log("round 2: killed tern-remote at %d" % len(at_sink()))
            # round 3: everything
            harness.wait_for(lambda: len(at_sink()) >= 200 or errors, 60, step=0.01,
                             what="200 at the sink", info=I.diagnostics)
            harness.log("round 3: SIGKILL of the queue side at %d" % len(at_sink()))
            I.kill_queue()
            I.start()
        finally:
            pool.shutdown(wait=True)
        assert not errors, errors[:5]
        harness.wait_for(lambda: len(at_sink()) == N, 90, step=0.05,
                         what="all %d messages at the sink" % N,
                         info=lambda: "missing %s\n%s" % (
                             sorted(set(range(N)) - at_sink())[:10], I.diagnostics()))
        with sink.lock:
            total = len(sink.messages)
        harness.log("%d transactions, %d distinct, %d duplicates" %
                    (total, N, total - N))
        mess = I.path("spool", "mess")
        harness.wait_for(lambda: not os.listdir(mess), 30, step=0.05,
                         what="the queue to drain", info=I.diagnostics)
