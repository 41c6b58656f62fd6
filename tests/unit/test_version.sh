#!/bin/sh
# test_version: every program that `make install` installs answers
# --version with "NAME VERSION" (VERSION from config.h) and exit 0, and
# reads nothing else to do it (no configuration, no stdin).
# Prints "unit version: N passed, M failed".
top=${TERN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
want=$(sed -n 's/^#define TERN_VERSION "\(.*\)"$/\1/p' "$top/config.h")
pass=0
fail=0
for p in smtpd/tern-smtpd queued/tern-queued enqueue/tern-enqueue \
    start/tern-start deliverd/tern-deliverd pop3d/tern-pop3d \
    tools/tern-map tools/tern-config tools/tern-passwd tools/tern-queue \
    tools/tern-sendmail; do
	name=${p##*/}
	out=$(TERN_CONFDIR=/nonexistent "$top/$p" --version </dev/null 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ "$out" = "$name $want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL test_version: $name --version: exit $rc: $out"
	fi
done
echo "unit version: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
