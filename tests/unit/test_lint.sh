#!/bin/sh
# test_lint: tests/lint/lint.py fails on each kind of deliberate violation
# (in a scratch tree) and passes on a clean one.  Prints
# "unit lint: N passed, M failed".
top=${TERN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
lint="$top/tests/lint/lint.py"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# tree: a clean little tree, each test adds one file to a copy
mkdir -p "$tmp/clean/lib/util" "$tmp/clean/lib/net" "$tmp/clean/smtpd" \
    "$tmp/clean/pop3d"
printf '#include "util/buf.h"\n' >"$tmp/clean/lib/util/str.c"
printf '#include "util/buf.h"\n#include "net/tls.h"\n/* strcpy( in a comment */\nstatic const char *s = "sprintf(";\n' \
    >"$tmp/clean/lib/net/dns.c"
printf '#include "config.h"\n#include "smtpd.h"\n#include "net/tls.h"\n' \
    >"$tmp/clean/smtpd/main.c"
: >"$tmp/clean/smtpd/smtpd.h"
printf '#include "pop3d.h"\n' >"$tmp/clean/pop3d/main.c"
: >"$tmp/clean/pop3d/pop3d.h"

# expect NAME WANT(0|1) PATTERN: run the lint on $tmp/t, want its exit
# status, and (when failing) a line matching PATTERN
expect() {
	out=$(python3 "$lint" --root "$tmp/t" 2>&1)
	rc=$?
	if [ "$rc" -eq "$2" ] && { [ -z "$3" ] || printf '%s\n' "$out" | grep -q "$3"; }; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL test_lint: $1: exit $rc, output: $out"
	fi
}
fresh() { rm -rf "$tmp/t"; cp -r "$tmp/clean" "$tmp/t"; }

fresh
expect "clean tree" 0 ""
fresh
printf '#include "net/tls.h"\n' >"$tmp/t/lib/util/io.c"
expect "util includes net" 1 "lib/util/io.c:1: layers: lib/util includes the higher layer net/"
fresh
printf '#include "buf.h"\n' >"$tmp/t/lib/util/io.c"
expect "bare lib include" 1 "lib/util/io.c:1: layers: .*not a lib header"
fresh
printf '#include "smtpd/smtpd.h"\n' >"$tmp/t/lib/net/x.c"
expect "lib includes a program" 1 "lib/net/x.c:1: layers"
fresh
printf '#include "smtpd/smtpd.h"\n' >"$tmp/t/pop3d/x.c"
expect "program includes another's header" 1 "pop3d/x.c:1: programs: pop3d/ includes another program's header"
fresh
printf '#include "../smtpd/smtpd.h"\n' >"$tmp/t/pop3d/x.c"
expect "program includes another's header by path" 1 "pop3d/x.c:1: programs"
fresh
printf 'void f(char *d){\n\tstrcpy(d, "x");\n}\n' >"$tmp/t/lib/util/io.c"
expect "strcpy" 1 "lib/util/io.c:2: banned: strcpy()"
fresh
printf 'int f(const char *s){ return atoi (s); }\n' >"$tmp/t/smtpd/x.c"
expect "atoi with a space" 1 "smtpd/x.c:1: banned: atoi()"
fresh
printf 'int x;\n' >"$tmp/t/lib/flat.c"
expect "a source directly in lib/" 1 "lib/flat.c:1: layers: lib/ holds no source"
# and the real tree is clean
rm -rf "$tmp/t"
out=$(python3 "$lint" 2>&1)
if [ $? -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL test_lint: the tree: $out"; fi

echo "unit lint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
