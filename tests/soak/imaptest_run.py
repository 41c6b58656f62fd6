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

    scripted: N tests, F failed, K skipped, P passed (imaptest: "...")
    failed (F): NAME NAME ...
      NAME: where; then its first failing command, expected and got
    scripted: imaptest's other error lines, grouped and counted
    skipped (no CAPABILITY): NAME ...   (from the test headers)
    stress: E error lines (D distinct), exit status X, then the groups
    imapd.log: L lines

Exit status 0 when nothing failed, 1 when something did, 2 when the run
itself could not be made (imaptest missing, timeout, tern not built).
A run of imaptest that outlives its deadline is killed and reported as a
hang, with the last lines it printed.
"""
import argparse
import imaplib
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
    """(failed names in order, {name: first failure block's summary},
    totals tuple or None, [summary lines])."""
    failed, first = [], {}
    totals = None
    summary = []
    cur = None
    for line in text.splitlines():
        m = FAIL_RE.match(line)
        if m:
            cur = None
            if m.group(1) not in failed:
                failed.append(m.group(1))
                cur = first[m.group(1)] = {"where": line[len("*** Test "):]}
            continue
        if cur is not None:
            if not line.strip():
                cur = None
                continue
            k, _, v = line.strip().partition(": ")
            k = {"- failed": "failed", "- first expanded": "expected",
                 "- best match": "got", "Reply": "got", "Match": "expected"}.get(
                     k, "command" if k.startswith("- Command") else None)
            if k and k not in cur:
                cur[k] = v
        m = TOTAL_RE.match(line)
        if m:
            totals = tuple(int(x) for x in m.groups())
            summary.append(line)
        elif line.startswith(("base protocol:", "extensions:")):
            summary.append(line)
    return failed, first, totals, summary


def clip(s, n=160):
    return s if len(s) <= n else s[:n] + "..."


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
        key = re.sub(r"(without being in FLAGS): .*", r"\1: KEYWORD: * N FETCH ...", key)
        errs[key] = errs.get(key, 0) + 1
    return errs


def required_caps(path):
    """The capabilities a test file's header requires (upper case), and
    whether it needs a second user ("user 2:" header)."""
    caps, user2 = [], False
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                break       # the header ends at the first empty line
            k, _, v = line.partition(":")
            if k.strip().lower() == "capabilities":
                caps += v.upper().split()
            elif k.strip().lower() == "user 2":
                user2 = True
    return caps, user2


def server_caps(port):
    """tern-imapd's CAPABILITY after LOGIN (the list imaptest checks a
    test's "capabilities:" header against), upper case."""
    c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        c.login(USER, PASS)
        typ, data = c.capability()
        if typ != "OK":
            raise AssertionError("CAPABILITY after LOGIN: %s %r" % (typ, data))
        return set(data[0].decode("ascii", "replace").upper().split())
    finally:
        try:
            c.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def skipped_tests(tests_dir, names, caps):
    """{name: why} for the tests imaptest does not run here: a required
    capability tern-imapd lacks, or a second user.  imaptest 924f619
    against tern-imapd counts such a test neither failed nor skipped
    (its "skipped due to missing capabilities" stays 0, the test runs no
    command), so they are found here from the test headers."""
    out = {}
    for n in names:
        req, user2 = required_caps(os.path.join(tests_dir, n))
        missing = [c for c in req if c not in caps]
        if missing:
            out[n] = "no " + " ".join(missing)
        elif user2:
            out[n] = "needs user2"
    return out


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
        names = test_names(a.tests)
        skipped = skipped_tests(a.tests, names, server_caps(port))

        rc, text = run_imaptest(base + ["test=" + a.tests],
                                os.path.join(a.out, "scripted.log"),
                                a.scripted_timeout)
        failed, first, totals, summary = parse_scripted(text)
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
            k = max(k, len(skipped))
            print("scripted: %d tests, %d failed, %d skipped, %d passed (imaptest: %s)"
                  % (n, f, k, n - f - k, "; ".join(summary)))
            if f or failed:
                bad = 1
        print("failed (%d): %s" % (len(failed), " ".join(failed) or "none"))
        for n in failed:
            b = first[n]
            print("  %s: %s" % (n, b["where"]))
            print("    command:  %s" % clip(b.get("command", "?")))
            print("    failed:   %s" % clip(b.get("failed", "?")))
            if "expected" in b or "got" in b:
                print("    expected: %s" % clip(b.get("expected", "?")))
                print("    got:      %s" % clip(b.get("got", "?")))
        errs = stress_errors(text)
        if errs:
            print("scripted: %d imaptest error lines outside the test verdicts:" % sum(errs.values()))
            for e, c in sorted(errs.items(), key=lambda kv: -kv[1])[:20]:
                print("  %5d  %s" % (c, clip(e, 200)))
        why = {}
        for n, w in skipped.items():
            why.setdefault(w, []).append(n)
        for w, ns in sorted(why.items()):
            print("skipped (%s): %s" % (w, " ".join(ns)))

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
            print("  %5d  %s" % (c, clip(e, 200)))
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
