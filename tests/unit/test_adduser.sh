#!/bin/sh
# test_adduser: scripts/adduser in a temporary configuration directory:
# a domain without a dot (bob2@localhost), '.' in a name compared as
# itself and not as a pattern, duplicates in any case refused, domains
# that are not local refused, the domain written canonical, and a users
# file put back when tern-map refuses the new line.  Prints "unit
# adduser: N passed, M failed"; run from the top directory (tests/run
# does).

top=${TERN_TOP:-$(pwd)}
adduser=$top/scripts/adduser
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL test_adduser: $*"; }

# expect WHAT WANT GOT
expect() {
	if [ "$2" = "$3" ]; then ok; else
		bad "$1: want [$2] got [$3]"
	fi
}

for p in "$top/tools/tern-map" "$top/tools/tern-passwd" "$top/tools/tern-config"; do
	if [ ! -x "$p" ]; then
		bad "$p not built"
		echo "unit adduser: $pass passed, $fail failed"
		exit 1
	fi
done

t=$(mktemp -d /tmp/tern-test-adduser.XXXXXX) || exit 1
trap 'rm -rf "$t"' EXIT
mkdir "$t/etc"
cat > "$t/etc/tern.conf" <<EOF
# test instance
local_domains = Example.Test., localhost,a.b.test
EOF

# run ARGS...: scripts/adduser with the password "pw"; sets rc and out
run() {
	out=$(sh "$adduser" "$t/etc" "$@" pw 2>&1)
	rc=$?
}

# keys: the first fields of users, one a line
keys() { awk '!/^#/ { print $1 }' "$t/etc/users" | tr '\n' ' '; }

run bob2@localhost;         expect "no dot in the domain" 0 "$rc"
run demo@example.test;      expect "a plain address" 0 "$rc"
run alice@EXAMPLE.TEST.;    expect "domain in another spelling" 0 "$rc"
expect "domains written canonical" \
    "bob2@localhost demo@example.test alice@example.test " "$(keys)"

# '.' is itself: axb@a.b.test is not matched by "a.b@a.b.test" read as
# a pattern
run axb@a.b.test;           expect "axb" 0 "$rc"
run a.b@a.b.test;           expect "a.b beside axb" 0 "$rc"
run a.c@axb.test;           expect "domain not local" 65 "$rc"
case $out in *"not in local_domains"*) ok ;; *) bad "message: $out" ;; esac
run a.b@a.b.test;           expect "duplicate" 1 "$rc"
run A.B@A.B.TEST;           expect "duplicate, other case" 1 "$rc"
run 'a*@a.b.test';          expect "a star is data" 0 "$rc"
run 'a.*@a.b.test';         expect "dot-star is data" 0 "$rc"

run nobody@elsewhere.example; expect "not local" 65 "$rc"
run localhost;              expect "no @" 65 "$rc"
run '@localhost';           expect "no local part" 65 "$rc"
run 'x@';                   expect "no domain" 65 "$rc"
run 'a b@localhost';        expect "blank" 65 "$rc"

# the map refuses a line: the users file is as it was, the table too
before=$(cat "$t/etc/users")
run '.dot@localhost';       expect "refused by tern-map" 1 "$rc"
expect "users put back" "$before" "$(cat "$t/etc/users")"
expect "no backup left" "" "$(find "$t/etc" -name "*adduser*")"

# the compiled table holds them all: tern-config check has nothing to say
out=$("$top/tools/tern-map" -C "$t/etc" "$t/etc/users" 2>&1)
expect "table" "$t/etc/users.cdb: 7 entries" "$out"

echo "unit adduser: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
