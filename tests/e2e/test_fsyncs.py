"""
The fsync points of doc/DESIGN.md, counted with strace on the queue side
(tern-start run under strace -f): per message one fsync of spool/mess/ID
by tern-enqueued and one of the Maildir file by tern-deliverd, before its
link; new/ itself is fsynced only with maildir_sync_dirs = yes (or for a
Maildir on another file system than the spool).
"""
import os
import re
import signal
import smtplib

import harness


def run(conf, n=3):
    strace = harness.need_tool("strace", "strace")
    i = harness.Instance(name="fsyncs", conf=conf)
    out = i.path("log", "strace.txt")
    try:
        i.start(prefix=[strace, "-f", "-y", "-qq", "-e",
                        "trace=fsync,fdatasync,syncfs", "-o", out])
        i.wait_log(r"tern-enqueued\[\d+\]: started: listening")
        port = i.smtp_port()
        for k in range(n):
            s = smtplib.SMTP("127.0.0.1", port, timeout=20)
            s.sendmail("me@example.test", ["demo@example.test"],
                       "Subject: fsync-%d\n\nhello\n" % k)
            s.quit()
        for k in range(n):
            i.wait_for_message("demo@example.test", "fsync-%d" % k)
        i.wait_queue_empty()
        # tern-start itself, not strace (which would not pass it on)
        os.kill(i.pid("tern-start"), signal.SIGTERM)
        i.start_proc.wait(timeout=30)
    finally:
        i.stop()
    calls = [l for l in open(out).read().splitlines()
             if re.search(r"\b(fsync|fdatasync|syncfs)\(", l)]
    paths = [re.search(r"\(\d+<([^>]*)>", l) for l in calls]
    return [m.group(1) if m else "?" for m in paths]


def count(paths, rx):
    return len([p for p in paths if re.search(rx, p)])


def test_two_fsyncs_per_message_by_default():
    paths = run({})
    assert count(paths, r"/spool/mess/[0-9A-F]{20}$") == 3, paths
    assert count(paths, r"/Maildir/tmp/[^/]+$") == 3, paths
    assert count(paths, r"/Maildir/new$") == 0, paths


def test_maildir_sync_dirs_yes_fsyncs_new():
    paths = run({"maildir_sync_dirs": "yes"})
    assert count(paths, r"/Maildir/tmp/[^/]+$") == 3, paths
    assert count(paths, r"/Maildir/new$") == 3, paths
