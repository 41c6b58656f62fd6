#!/usr/bin/env python3
"""
runner: the end-to-end test runner (no third-party test framework needed).

Discovers tests/e2e/test_*.py, imports each afresh, runs its optional
module-level setup(), every function named test_* in file order, then its
optional teardown().  Each test runs under a per-test timeout (SIGALRM).
Prints one line per test:

    PASS file::name (0.3s)
    FAIL file::name: reason        (followed by a short traceback)
    SKIP file::name: reason

and, as the last line, "e2e: N passed, M failed, K skipped".  Exit status 1
when anything failed, else 0.

Usage (from the repository root; tests/run calls it):
    python3 tests/e2e/runner.py [-k PATTERN] [-t SECONDS] [-v] [FILE...]
-k selects tests whose "file::name" contains PATTERN (several -k: any).
"""
import argparse
import importlib.util
import inspect
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True   # no __pycache__ in the checkout

import harness  # noqa: E402  (needs the sys.path entry above)


class Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise Timeout("timed out")


def short_tb(exc, limit=6):
    """The last few frames of the traceback, indented, without runner frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in frames if not f.filename.endswith("runner.py")]
    lines = traceback.format_list(frames[-limit:])
    return "".join("    " + l for l in "".join(lines).splitlines(True))


def reason_of(exc):
    text = str(exc).strip() or exc.__class__.__name__
    if not isinstance(exc, (AssertionError, harness.Skip)):
        text = "%s: %s" % (exc.__class__.__name__, text)
    return text


def call_timed(fn, seconds):
    """Run fn() with SIGALRM after seconds; returns None or the exception."""
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(seconds)
    try:
        fn()
        return None
    except BaseException as e:  # noqa: B902 - report everything, incl. Timeout
        if isinstance(e, KeyboardInterrupt):
            raise
        return e
    finally:
        signal.alarm(0)


def load(path, seq):
    name = "e2e_%d_%s" % (seq, os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tests_of(mod):
    """Functions named test_* defined in mod, in source order."""
    out = []
    for name, fn in vars(mod).items():
        if name.startswith("test_") and inspect.isfunction(fn) \
                and fn.__module__ == mod.__name__:
            out.append((fn.__code__.co_firstlineno, name, fn))
    return [(n, f) for _, n, f in sorted(out, key=lambda t: t[0])]


def selected(label, patterns):
    return not patterns or any(p in label for p in patterns)


def main():
    ap = argparse.ArgumentParser(description="tern end-to-end tests")
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="run only tests whose file::name contains PATTERN")
    ap.add_argument("-t", type=int, default=120, metavar="SECONDS",
                    help="per-test timeout (default 120)")
    ap.add_argument("-v", action="store_true",
                    help="print the logs of failed instances")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    if args.v:
        os.environ["TERN_E2E_VERBOSE"] = "1"

    files = args.files or sorted(
        os.path.join(HERE, f) for f in os.listdir(HERE)
        if f.startswith("test_") and f.endswith(".py"))
    npass = nfail = nskip = 0
    t_all = time.monotonic()
    for seq, path in enumerate(files):
        base = os.path.basename(path)
        try:
            mod = load(path, seq)
        except Exception as e:  # a broken test file is a failure, not a crash
            print("FAIL %s::<import>: %s" % (base, reason_of(e)))
            print(short_tb(e), end="")
            nfail += 1
            continue
        tests = [(n, f) for n, f in tests_of(mod)
                 if selected("%s::%s" % (base, n), args.k)]
        if not tests:
            continue
        setup_err = None
        mod_failed = False
        if hasattr(mod, "setup"):
            harness.set_scope("module")
            setup_err = call_timed(mod.setup, args.t)
            if setup_err is not None:
                mod_failed = not isinstance(setup_err, harness.Skip)
                if mod_failed:
                    print("setup of %s failed: %s" % (base, reason_of(setup_err)))
                    print(short_tb(setup_err), end="")
        harness.set_scope("test")
        for name, fn in tests:
            label = "%s::%s" % (base, name)
            if setup_err is not None:
                if isinstance(setup_err, harness.Skip):
                    print("SKIP %s: %s" % (label, reason_of(setup_err)))
                    nskip += 1
                else:
                    print("FAIL %s: setup: %s" % (label, reason_of(setup_err)))
                    nfail += 1
                continue
            t0 = time.monotonic()
            err = call_timed(fn, args.t)
            dt = time.monotonic() - t0
            if err is None:
                print("PASS %s (%.1fs)" % (label, dt))
                npass += 1
            elif isinstance(err, harness.Skip):
                print("SKIP %s: %s" % (label, reason_of(err)))
                nskip += 1
            else:
                print("FAIL %s: %s (%.1fs)" % (label, reason_of(err), dt))
                print(short_tb(err), end="")
                nfail += 1
            failed = err is not None and not isinstance(err, harness.Skip)
            mod_failed = mod_failed or failed
            # instances the test created itself (not the module-wide ones)
            harness.reap_all("test", failed)
            sys.stdout.flush()
        if hasattr(mod, "teardown") and setup_err is None:
            err = call_timed(mod.teardown, args.t)
            if err is not None:
                print("FAIL %s::<teardown>: %s" % (base, reason_of(err)))
                print(short_tb(err), end="")
                nfail += 1
                mod_failed = True
        harness.reap_all("module", mod_failed)
        sys.stdout.flush()
    print("e2e: total %.0fs" % (time.monotonic() - t_all))
    print("e2e: %d passed, %d failed, %d skipped" % (npass, nfail, nskip))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
