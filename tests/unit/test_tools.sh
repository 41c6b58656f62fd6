#!/bin/sh
# test_tools: golden-output tests of tern-map, tern-passwd and tern-config
# in a temporary instance, and a check that tern.conf(5) documents every
# key of lib/cfg_keys.c in table order.  Prints "unit tools: N passed,
# M failed"; run from the top directory (tests/run does).

top=${TERN_TOP:-$(pwd)}
map=$top/tools/tern-map
passwd=$top/tools/tern-passwd
config=$top/tools/tern-config
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL test_tools: $*"; }

# expect WHAT WANT GOT
expect() {
	if [ "$2" = "$3" ]; then ok; else
		bad "$1: want [$2] got [$3]"
	fi
}

# contains WHAT NEEDLE HAYSTACK
contains() {
	case $3 in
	*"$2"*) ok ;;
	*) bad "$1: [$2] not in [$3]" ;;
	esac
}

for p in "$map" "$passwd" "$config"; do
	if [ ! -x "$p" ]; then
		bad "$p not built"
		echo "unit tools: $pass passed, $fail failed"
		exit 1
	fi
done

t=$(mktemp -d /tmp/tern-test-tools.XXXXXX) || exit 1
trap 'rm -rf "$t"' EXIT
mkdir "$t/etc" "$t/spool" "$t/bin"
chmod 700 "$t/spool"
printf '#!/bin/sh\nexit 0\n' > "$t/bin/tern-enqueue"
chmod 755 "$t/bin/tern-enqueue"
me=$(id -un)
cat > "$t/etc/tern.conf" <<EOF
# test instance
local_domains = example.test, localhost
spool_dir = ../spool
program_dir = ../bin
log = stderr
queue_user = $me
smtpd_user = $me
deliver_user = $me
remote_user = $me
virtual_user = $me
EOF

# --- tern-passwd
h=$("$passwd" demo); expect "passwd rc" 0 $?
case $h in '$y$'*) ok ;; *) bad "yescrypt hash: $h" ;; esac
echo demo | "$passwd" -c "$h"; expect "passwd -c match" 0 $?
echo demo2 | "$passwd" -c "$h"; expect "passwd -c mismatch" 1 $?
h6=$(printf 'secret\n' | "$passwd" -m sha512); expect "passwd stdin" 0 $?
case $h6 in '$6$'*) ok ;; *) bad "sha512 hash: $h6" ;; esac
printf 'secret\r\n' | "$passwd" -c "$h6"; expect "passwd CRLF" 0 $?
h2=$("$passwd" demo)
[ "$h" != "$h2" ] && ok || bad "two hashes of one password are equal (salt)"
: | "$passwd" 2>/dev/null; expect "passwd no input" 100 $?
"$passwd" -m md5 x 2>/dev/null; expect "passwd bad method" 100 $?
"$passwd" '' 2>/dev/null; expect "passwd empty" 100 $?
echo x | "$passwd" -c '*'; expect "passwd -c *" 1 $?
echo x | "$passwd" -c '!'; expect "passwd -c !" 1 $?

# --- tern-map
cat > "$t/etc/users" <<EOF
demo@example.test $h
alice@example.test $h6 - 10M
EOF
chmod 600 "$t/etc/users"
printf 'postmaster@example.test: demo\n' > "$t/etc/aliases"
out=$(cd "$t" && "$map" -C etc 2>&1); expect "map all rc" 0 $?
expect "map all out" "$t/etc/users.cdb: 2 entries
$t/etc/aliases.cdb: 1 entry" "$out"
mode=$(stat -c %a "$t/etc/users.cdb")
expect "users.cdb mode" 600 "$mode"
# a relative name not in the cwd is found in the config directory
out=$(cd / && "$map" -C "$t/etc" aliases 2>&1); expect "map rel rc" 0 $?
expect "map rel out" "$t/etc/aliases.cdb: 1 entry" "$out"
out=$(cd "$t/etc" && "$map" -C /nonexistent aliases 2>/dev/null)
expect "map cwd out" "aliases.cdb: 1 entry" "$out"
# syntax errors: every line reported, exit 1, old table kept
printf '1.2.3.4 OK\nbogus\n5.6.7.8 MAYBE\n' > "$t/etc/access"
out=$("$map" -C "$t/etc" access 2>&1); expect "map syntax rc" 1 $?
contains "map syntax line 2" "$t/etc/access:2: expected KEY ACTION" "$out"
contains "map syntax line 3" "$t/etc/access:3: bad action 'MAYBE'" "$out"
[ ! -e "$t/etc/access.cdb" ] && ok || bad "access.cdb written despite errors"
cp "$t/etc/access" "$t/acl"
out=$("$map" -C "$t/etc" -t access "$t/acl" 2>&1); expect "map -t rc" 1 $?
contains "map -t" "$t/acl:2:" "$out"
"$map" -C "$t/etc" "$t/acl" 2>/dev/null; expect "map unknown type" 100 $?
"$map" -C "$t/etc" nonexistent 2>/dev/null; expect "map missing" 111 $?
"$map" -C "$t/etc" -t nonsense x 2>/dev/null; expect "map bad -t" 100 $?
printf '1.2.3.4 OK\n' > "$t/etc/access"
"$map" -C "$t/etc" access >/dev/null; expect "map fixed" 0 $?

# --- tern-config
out=$("$config" -C "$t/etc" -n); expect "config -n rc" 0 $?
expect "config -n" "local_domains = example.test, localhost
program_dir = $t/etc/../bin
spool_dir = $t/etc/../spool
log = stderr
queue_user = $me
smtpd_user = $me
deliver_user = $me
remote_user = $me
virtual_user = $me" "$out"
n=$("$config" -C "$t/etc" | wc -l)
keys=$(grep -c '^	{ "' "$top/lib/daemon/cfg_keys.c")
expect "config all keys" "$keys" "$n"
out=$("$config" -C "$t/etc" message_size_limit system_users)
expect "config KEY" "25M
no" "$out"
"$config" -C "$t/etc" no_such_key 2>/dev/null; expect "config unknown" 1 $?
out=$("$config" -C "$t/etc" check); expect "config check rc" 0 $?
expect "config check" "ok" "$out"
# problems: stale cdb, syntax error in a table, world-readable users.cdb
sleep 0.01
printf '1.2.3.4 OK\n' >> "$t/etc/access"
chmod 644 "$t/etc/users.cdb"
out=$("$config" -C "$t/etc" check); expect "config check bad rc" 1 $?
contains "check dup" "$t/etc/access:2: duplicate key '1.2.3.4/32'" "$out"
contains "check stale" "access.cdb is older than $t/etc/access" "$out"
contains "check users mode" "users.cdb is readable by everyone" "$out"
rm -f "$t/etc/access.cdb"
out=$("$config" -C "$t/etc" check)
contains "check missing cdb" "access.cdb: missing: run tern-map" "$out"
rm -f "$t/bin/tern-enqueue"
chmod 777 "$t/spool"
out=$("$config" -C "$t/etc" check)
contains "check program_dir" "tern-enqueue: No such file" "$out"
contains "check spool" "writable by everyone" "$out"
echo "bad_key = 1" >> "$t/etc/tern.conf"
out=$("$config" -C "$t/etc" check); expect "config broken rc" 1 $?
expect "config broken" "$t/etc/tern.conf:11: unknown key 'bad_key'" "$out"
out=$(TERN_CONFDIR=$t/etc "$config" log 2>&1); expect "TERN_CONFDIR rc" 1 $?

# --- tern.conf(5) documents every key, in the table's order
want=$(sed -n 's/^	{ "\([a-z0-9_]*\)".*/\1/p' "$top/lib/daemon/cfg_keys.c")
got=$(sed -n 's/^\.It Cm \([a-z0-9_]*\) Pq .*/\1/p' "$top/man/tern.conf.5")
expect "tern.conf(5) keys" "$want" "$got"

echo "unit tools: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
