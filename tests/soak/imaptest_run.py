#!/usr/bin/env python3
"""
imaptest_run.py: Dovecot's imaptest against a throwaway tern-imapd.

    python3 tests/soak/imaptest_run.py --imaptest BIN --tests DIR \
        [--secs 30] [--clients 5] [--out DIR] [--keep]

One harness Instance (tests/e2e/harness.py) with allow_plaintext_auth =
yes (imaptest logs in with LOGIN on a plain connection), one user with an
empty Maildir, tern-imapd under tcpserver on a free 127.0.0.1 port
(tests/e2e/imap_util.py).  Then:

  1. the scripted tests: imaptest ... test=DIR (one run over every file
     of DIR; each file is one "test group");
  2. a stress run: imaptest ... secs=S clients=C mbox=DIR/default.mbox.

Both outputs are written whole to OUT/scripted.log and OUT/stress.log
(OUT defaults to tests/tmp/imaptest-out), tern-imapd's log is copied to
OUT/imapd.log.  The summary printed at the end:

    scripted: N tests, F failed, K skipped (imaptest: "...")
    failed: NAME NAME ...
    stress: E error lines (D distinct), exit status X
    imapd.log: L lines

Exit status 0 when nothing failed, 1 when something did, 2 when the run
itself could not be made (imaptest missing, timeout, tern not built).
A run of imaptest that outlives its deadline is killed and reported as a
hang, with the last lines it printed.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import harness      # noqa: E402
import imap_util    # noqa: E402

USER = "imaptest@example.test"
PASS = "imaptest-pw"


def imaptest_env():
    """imaptest links libdovecot.so from Dovecot's private directory
    (/usr/lib/dovecot on Debian, not on the loader's path); IMAPTEST_LIBDIR
    names another."""
    env = dict(os.environ)
    libdir = os.environ.get("IMAPTEST_LIBDIR", "/usr/lib/dovecot")
    if os.path.isdir(libdir):
        old = env.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = libdir + (":" + old if old else "")
    return env


def run_imaptest(argv, log_path, timeout):
    """Run argv with stdout+stderr to log_path; (exit status or None on
    timeout, output text).  A timed-out imaptest is killed (its group)."""
    with open(log_path, "wb") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True,
                             env=imaptest_env())
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = None
    with open(log_path, "rb") as f:
        return rc, f.read().decode("utf-8", "replace")


def test_names(tests_dir):
    """The test files imaptest reads from tests_dir: regular files that
    are not .mbox message sources."""
    out = []
    for n in sorted(os.listdir(tests_dir)):
        p = os.path.join(tests_dir, n)
        if os.path.isfile(p) and not n.endswith(".mbox"):
            out.append(n)
    return out


FAIL_RE = re.compile(r"^\*\*\* Test (\S+) ")
TOTAL_RE = re.compile(r"^(\d+) test groups: (\d+) failed, (\d+) skipped")


def parse_scripted(text):
    """(failed names in order, totals tuple or None, [summary lines])."""
    failed = []
    totals = None
    summary = []
    for line in text.splitlines():
        m = FAIL_RE.match(line)
        if m and m.group(1) not in failed:
            failed.append(m.group(1))
        m = TOTAL_RE.match(line)
        if m:
            totals = tuple(int(x) for x in m.groups())
            summary.append(line)
        elif line.startswith(("base protocol:", "extensions:")):
            summary.append(line)
    return failed, totals, summary


def stress_errors(text):
    """Error lines of a stress run, as {text without the client prefix:
    count}."""
    errs = {}
    for line in text.splitlines():
        if "Error:" not in line and "Panic:" not in line and "Fatal:" not in line:
            continue
        # "Error: imaptest@example.test[3]: ..." -> drop the client number
        key = re.sub(r"\[\d+\]", "[N]", line.strip())
        key = re.sub(r"\b\d+\.\d+\b", "T", key)      # tags
        errs[key] = errs.get(key, 0) + 1
    return errs


def tail(text, n=10):
    return "\n".join("  | " + l for l in text.splitlines()[-n:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--imaptest", required=True, help="the imaptest binary")
    ap.add_argument("--tests", required=True, help="imaptest's src/tests directory")
    ap.add_argument("--secs", type=int, default=30, help="stress run length")
    ap.add_argument("--clients", type=int, default=5, help="stress clients")
    ap.add_argument("--out", default=os.path.join(harness.TMPROOT, "imaptest-out"))
    ap.add_argument("--keep", action="store_true", help="keep the instance directory")
    ap.add_argument("--scripted-timeout", type=int, default=900)
    a = ap.parse_args()

    if not os.access(a.imaptest, os.X_OK):
        print("imaptest: %s is not an executable" % a.imaptest)
        return 2
    if not os.path.isdir(a.tests):
        print("imaptest: %s is not a directory" % a.tests)
        return 2
    os.makedirs(a.out, exist_ok=True)

    inst = harness.Instance(name="imaptest", conf={"allow_plaintext_auth": "yes"},
                            users={USER: PASS}, aliases={})
    bad = 0
    try:
        imap_util.make_maildir(inst, USER)
        port = imap_util.imap_port(inst)
        base = [a.imaptest, "host=127.0.0.1", "port=%d" % port,
                "user=" + USER, "pass=" + PASS]
        print("imaptest: tern-imapd on 127.0.0.1:%d, instance %s" % (port, inst.dir))

        rc, text = run_imaptest(base + ["test=" + a.tests],
                                os.path.join(a.out, "scripted.log"),
                                a.scripted_timeout)
        failed, totals, summary = parse_scripted(text)
        names = test_names(a.tests)
        if rc is None:
            print("scripted: HANG: imaptest still running after %ds, killed; last lines:\n%s"
                  % (a.scripted_timeout, tail(text)))
            bad = 2
        elif totals is None:
            print("scripted: no summary line from imaptest (exit status %d); last lines:\n%s"
                  % (rc, tail(text)))
            bad = 2
        else:
            n, f, k = totals
            if n != len(names):
                print("scripted: note: imaptest counted %d tests, %s holds %d files"
                      % (n, a.tests, len(names)))
            print("scripted: %d tests, %d failed, %d skipped (%s)"
                  % (n, f, k, "; ".join(summary)))
            if f or failed:
                bad = 1
        print("failed (%d): %s" % (len(failed), " ".join(failed) or "none"))

        stress_log = os.path.join(a.out, "stress.log")
        mbox = os.path.join(a.tests, "default.mbox")
        rc, text = run_imaptest(base + ["secs=%d" % a.secs, "clients=%d" % a.clients,
                                        "mbox=" + mbox],
                                stress_log, a.secs + 120)
        errs = stress_errors(text)
        if rc is None:
            print("stress: HANG: imaptest still running %ds after secs=%d, killed; last lines:\n%s"
                  % (120, a.secs, tail(text)))
            bad = 2
        if rc == 127 or (rc and not errs):
            print("stress: imaptest exit status %d; last lines:\n%s" % (rc, tail(text)))
            bad = 2
        print("stress: %d error lines (%d distinct), exit status %s"
              % (sum(errs.values()), len(errs), "timeout" if rc is None else rc))
        for e, c in sorted(errs.items(), key=lambda kv: -kv[1])[:20]:
            print("  %5d  %s" % (c, e[:300]))
        if errs or rc:
            bad = bad or 1

        shutil.copy2(inst.path("log", "imapd.log"), os.path.join(a.out, "imapd.log"))
        with open(inst.path("log", "imapd.log"), "rb") as fh:
            lines = fh.read().decode("utf-8", "replace").splitlines()
        print("imapd.log: %d lines (copied to %s)" % (len(lines), a.out))
        print("logs: %s/{scripted,stress,imapd}.log" % a.out)
    finally:
        inst.close(failed=a.keep)
    return bad


if __name__ == "__main__":
    sys.exit(main())
