"""
Mailbox workers of tern-deliverd (man/tern-deliverd.8, deliverd/worker.c):
deliveries to mailboxes of the users map are made one after another by a
long-lived child that is virtual_user (no fork per delivery); a worker
killed with a delivery in flight gives a temporary failure and the
message is delivered on the retry; the worker holds no capability.
"""
import os
import signal
import smtplib

import harness

I = None


def setup():
    global I
    I = harness.Instance(name="dwork", conf={"queue_min_backoff": "1s",
                                             "queue_max_backoff": "2s"})
    I.start()
    I.wait_log(r"tern-enqueued\[\d+\]: started: listening")


def teardown():
    if I:
        I.stop()


def children():
    """pids of the processes tern-deliverd forked (workers or children)."""
    d = I.pid("tern-deliverd")
    return sorted(p for p, i in harness.descendants(d).items() if i[0] == d)


def send(marker):
    s = smtplib.SMTP("127.0.0.1", PORT[0], timeout=20)
    s.sendmail("me@example.test", ["demo@example.test"],
               "Subject: %s\n\nhello\n" % marker)
    s.quit()


PORT = []


def test_one_worker_delivers_one_message_after_another():
    PORT.append(I.smtp_port())
    seen = set()
    for k in range(5):
        send("worker-%d" % k)
        I.wait_for_message("demo@example.test", "worker-%d" % k)
        I.wait_queue_empty()
        seen.update(children())
    # one child for all five, still there (idle) after the last one
    assert len(seen) == 1, seen
    (w,) = seen
    assert children() == [w]
    if harness.IS_ROOT:
        with open("/proc/%d/status" % w) as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
        uid = int(st["Uid"].split()[1])
        assert uid == harness.ids("ternv")[0], st["Uid"]
        assert int(st["CapEff"].strip(), 16) == 0, st["CapEff"]
        assert int(st["CapPrm"].strip(), 16) == 0, st["CapPrm"]


def test_killed_worker_is_a_temporary_failure_then_delivered():
    if not PORT:
        PORT.append(I.smtp_port())
    send("warm")
    I.wait_for_message("demo@example.test", "warm")
    I.wait_queue_empty()
    (w,) = children()
    # stopped, the worker takes the next job but makes nothing of it;
    # killed then, its socket's EOF answers the job with a temporary
    # failure and the retry goes to a new worker
    os.kill(w, signal.SIGSTOP)
    try:
        send("killed-worker")
        I.wait_log(r"tern-queued\[\d+\]: \S+ new from=<me@example.test>", n=7)
        harness.wait_for(lambda: len(I.queue_rcpts()) == 1 and
                         I.queue_rcpts()[0][1].get("state") == "pending",
                         10, what="the message waiting for the stopped worker")
    finally:
        os.kill(w, signal.SIGKILL)
    I.wait_log(r"deferred to=<demo@example.test> .*delivery process")
    I.wait_for_message("demo@example.test", "killed-worker", timeout=20)
    assert w not in children()
