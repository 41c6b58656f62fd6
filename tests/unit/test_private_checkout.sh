#!/bin/bash
# test_private_checkout: the checkout works from a directory only root can
# enter.  Copies the source tree into a fresh mode-0700 directory under a
# root-owned mode-0700 parent (as a clone under /root would be), builds it
# there (make -j2) and runs the e2e tests that go through the setuid
# tern-enqueue: tern-sendmail and tern-queue.  Before tern-enqueue opened
# its directories with the root caller's access, a root caller ran it with
# euid ternq and egid 0, so the group bits of the 0700 parent applied and
# every message failed (EACCES).
#
# Root only: a normal user cannot make the root-owned parent (the case of a
# normal user's 0700 home needs no set-id program and is the plain suite).
# Prints "unit private_checkout: N passed, M failed".

top=${TERN_TOP:-$(pwd)}
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL test_private_checkout: $*"; }
finish() {
	echo "unit private_checkout: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

if [ "$(id -u)" -ne 0 ]; then
	echo "test_private_checkout: skipped: not root (a normal user cannot make the root-owned 0700 parent)"
	finish
fi
if [ -n "${TERN_PRIVATE_CHECKOUT_INNER:-}" ]; then
	# we are the copy's own run of this test: do not recurse
	echo "test_private_checkout: skipped inside the copy"
	finish
fi

# under tests/tmp, not /tmp: /tmp may be nosuid, and tern-enqueue is setuid
mkdir -p "$top/tests/tmp" || { bad "cannot create tests/tmp"; finish; }
parent=$(mktemp -d "$top/tests/tmp/private.XXXXXX") || { bad "mktemp"; finish; }
copy=$parent/checkout
log=$parent.log
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	if [ "$fail" -eq 0 ]; then
		rm -rf "$parent" "$log"
	else
		echo "test_private_checkout: kept $parent, log $log"
	fi
}
trap cleanup EXIT
chown 0:0 "$parent" && chmod 0700 "$parent" && mkdir -m 0700 "$copy" ||
	{ bad "cannot make the 0700 directories"; finish; }

# the source files: git's list when this is a git checkout (tracked and
# new, not ignored), else everything but build output and instances
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z -c -o --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -C "$copy" -xf -
else
	tar -C "$top" --exclude=./tests/tmp --exclude=./run --exclude='*.o' \
		--exclude='*.d' --exclude='*.a' -cf - . | tar -C "$copy" -xf -
	(cd "$copy" && { [ ! -f Makefile ] || make distclean; }) >/dev/null 2>&1
fi
if [ -f "$copy/configure" ] && [ -f "$copy/tests/e2e/test_sendmail.py" ]; then
	ok
else
	bad "copying the checkout to $copy"
	finish
fi

# a plain build and run, whatever the outer run is (make sanitize passes
# its flags down through MAKEFLAGS, tests/run its leak-checking
# ASAN_OPTIONS): this test is about the checkout's path, and the same e2e
# tests run under the sanitizers in the outer suite
unset MAKEFLAGS MFLAGS MAKELEVEL ASAN_OPTIONS UBSAN_OPTIONS TERN_SANITIZE \
    TERN_UNIT_ASAN_OPTIONS
if (cd "$copy" && ./configure && make -j2) >"$log" 2>&1; then
	ok
else
	tail -n 20 "$log"
	bad "configure && make -j2 in $copy"
	finish
fi

# the directories are still 0700 when the build starts; the harness then
# gives them o+x for the daemons (harness.ensure_searchable), which leaves
# the group bits empty: the case of the bug
out=$(cd "$copy" && TERN_PRIVATE_CHECKOUT_INNER=1 TERN_E2E_BUILD='' \
	bash tests/run tests/e2e/test_sendmail.py tests/e2e/test_queue_cli.py 2>&1)
last=$(printf '%s\n' "$out" | tail -n 1)
case $last in
*" passed, 0 failed"*)
	n=${last%% passed*}
	if [ "$n" -gt 0 ] 2>/dev/null; then ok; else bad "no e2e test ran: $last"; fi
	;;
*)
	printf '%s\n' "$out" | grep -E '^(FAIL|    )' | head -n 40
	bad "e2e in the private copy: $last"
	;;
esac
echo "test_private_checkout: e2e in a 0700 copy: $last"
finish
