#!/bin/sh
# test_tools: golden-output tests of tern-map, tern-passwd and tern-config
# in a temporary instance, and a check that tern.conf(5) documents every
# key of lib/daemon/cfg_keys.def in table order.  Prints "unit tools: N passed,
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

start=$top/start/tern-start
queued=$top/queued/tern-queued
for p in "$map" "$passwd" "$config" "$start" "$queued"; do
	if [ ! -x "$p" ]; then
		bad "$p not built"
		echo "unit tools: $pass passed, $fail failed"
		exit 1
	fi
done

t=$(mktemp -d /tmp/tern-test-tools.XXXXXX) || exit 1
trap 'rm -rf "$t"' EXIT
mkdir "$t/etc" "$t/spool" "$t/bin" "$t/mail"
chmod 755 "$t/etc"
chmod 750 "$t/spool"
# the spool as tern-start makes it (start/main.c make_spool)
for d in tmp:700 mess:2750 todo:700 state:2750 corrupt:2750 ctl:1730; do
	mkdir -m "${d#*:}" "$t/spool/${d%:*}"
done
mkfifo -m 622 "$t/spool/trigger"
printf '#!/bin/sh\nexit 0\n' > "$t/bin/tern-enqueue"
chmod 755 "$t/bin/tern-enqueue"
# as root the instance has users: tern-enqueue setuid to queue_user
[ "$(id -u)" -eq 0 ] && chmod 4755 "$t/bin/tern-enqueue"
me=$(id -un)
cat > "$t/etc/tern.conf" <<EOF
# test instance
local_domains = example.test, localhost
spool_dir = ../spool
mail_dir = ../mail
program_dir = ../bin
log = stderr
queue_user = $me
smtpd_user = $me
deliver_user = $me
remote_user = $me
virtual_user = $me
EOF

chmod 644 "$t/etc/tern.conf"

# --- --version, -C everywhere
for p in "$map" "$passwd" "$config" "$start"; do
	out=$("$p" --version); expect "${p##*/} --version rc" 0 $?
	expect "${p##*/} --version" "${p##*/} $(sed -n 's/^#define TERN_VERSION "\(.*\)"/\1/p' "$top/config.h")" "$out"
done
h=$("$passwd" -C "$t/etc" demo); expect "passwd -C rc" 0 $?
echo demo | "$passwd" -C"$t/etc" -c "$h"; expect "passwd -CDIR -c" 0 $?
echo demo | TERN_CONFDIR=/nonexistent "$passwd" -c "$h"
expect "passwd TERN_CONFDIR" 0 $?

# --- log lines in a file carry an RFC 3339 time, through a pipe not
"$queued" -C "$t/etc" 3>&- 2>"$t/q.log"
line=$(cat "$t/q.log")
case $line in
[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][+-][0-9][0-9]:[0-9][0-9]" tern-queued["*"]: fatal: "*) ok ;;
*) bad "log line in a file without an RFC 3339 time: [$line]" ;;
esac
line=$("$queued" -C "$t/etc" 3>&- 2>&1 | cat)
case $line in
"tern-queued["*"]: fatal: "*) ok ;;
*) bad "log line on a pipe: [$line]" ;;
esac

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
mail_dir = $t/etc/../mail
log = stderr
queue_user = $me
smtpd_user = $me
deliver_user = $me
remote_user = $me
virtual_user = $me" "$out"
n=$("$config" -C "$t/etc" | wc -l)
keys=$(grep -c '^	CFG_KEY(' "$top/lib/daemon/cfg_keys.def")
expect "config all keys" "$keys" "$n"
out=$("$config" -C "$t/etc" message_size_limit system_users)
expect "config KEY" "25M
no" "$out"
"$config" -C "$t/etc" no_such_key 2>/dev/null; expect "config unknown" 1 $?
out=$("$config" -C "$t/etc" check); expect "config check rc" 0 $?
expect "config check" "ok" "$out"
# remote_credentials readable by others: tern-remote would refuse it
printf 'isp me secret\n' > "$t/etc/remote-auth"
chmod 644 "$t/etc/remote-auth"
out=$("$config" -C "$t/etc" check); expect "config check credentials rc" 1 $?
contains "check credentials mode" "remote-auth: readable by group or others" "$out"
rm -f "$t/etc/remote-auth"
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
chmod 755 "$t/spool"
printf '#!/bin/sh\nexit 0\n' > "$t/bin/tern-enqueue"
chmod 755 "$t/bin/tern-enqueue"
if [ "$(id -u)" -eq 0 ]; then
	out=$("$config" -C "$t/etc" check)
	contains "check setuid" "$t/etc/../bin/tern-enqueue: not setuid (mode 0755)" "$out"
	chmod 4755 "$t/bin/tern-enqueue"
fi
# the spool, mail_dir, tern.conf and the key files
printf '1.2.3.4 OK\n' > "$t/etc/access"
"$map" -C "$t/etc" >/dev/null 2>&1
chmod 600 "$t/etc/users.cdb"
out=$("$config" -C "$t/etc" check); expect "config check again" "ok" "$out"
chmod 755 "$t/spool/todo"
rmdir "$t/spool/corrupt"
rm "$t/spool/trigger"; : > "$t/spool/trigger"
chmod 777 "$t/mail"
chmod 664 "$t/etc/tern.conf"
out=$("$config" -C "$t/etc" check); expect "check spool rc" 1 $?
contains "check todo mode" "spool directory $t/etc/../spool/todo: mode 0755, should be at most 0700" "$out"
contains "check corrupt" "spool directory $t/etc/../spool/corrupt: No such file or directory" "$out"
contains "check trigger" "spool trigger $t/etc/../spool/trigger: not a FIFO" "$out"
contains "check mail_dir" "mail_dir $t/etc/../mail: writable by everyone" "$out"
contains "check tern.conf" "$t/etc/tern.conf: writable by its group (mode 0664)" "$out"
chmod 700 "$t/spool/todo"; mkdir -m 700 "$t/spool/corrupt"
rm "$t/spool/trigger"; mkfifo -m 622 "$t/spool/trigger"
chmod 755 "$t/mail"; chmod 644 "$t/etc/tern.conf"
printf 'k\n' > "$t/etc/key.pem"; chmod 644 "$t/etc/key.pem"
printf 't\n' > "$t/etc/ticket.key"; chmod 640 "$t/etc/ticket.key"
cp "$t/etc/tern.conf" "$t/tern.conf.good"
printf 'tls_key = key.pem\ntls_ticket_key = ticket.key\n' >> "$t/etc/tern.conf"
out=$("$config" -C "$t/etc" check); expect "check keys rc" 1 $?
contains "check tls_key" "tls_key $t/etc/key.pem: readable or writable by everyone (mode 0644)" "$out"
contains "check ticket" "tls_ticket_key $t/etc/ticket.key: readable or writable by its group (mode 0640)" "$out"
# inline comments: one rule, and the daemons' checks of hostname
cp "$t/tern.conf.good" "$t/etc/tern.conf"
echo "hostname = mail.example.test # comment" >> "$t/etc/tern.conf"
out=$("$config" -C "$t/etc" check); expect "check inline comment" "ok" "$out"
out=$("$config" -C "$t/etc" hostname); expect "inline comment value" "mail.example.test" "$out"
cp "$t/tern.conf.good" "$t/etc/tern.conf"
echo "hostname = mail.example.test;x" >> "$t/etc/tern.conf"
out=$("$config" -C "$t/etc" check); expect "check bad hostname rc" 1 $?
contains "check bad hostname" "tern.conf:12: hostname: not a host name" "$out"
# -n: a key set to its default is not printed
cp "$t/tern.conf.good" "$t/etc/tern.conf"
printf 'queue_lifetime = 5d\nsmtpd_timeout = 5m\nsmtpd_max_errors = 7\n' >> "$t/etc/tern.conf"
out=$("$config" -C "$t/etc" -n); expect "-n rc" 0 $?
case $out in *queue_lifetime*|*smtpd_timeout*) bad "-n prints defaults: $out" ;; *) ok ;; esac
# and what differs from the default is printed
contains "-n prints a set key" "smtpd_max_errors = 7" "$out"
cp "$t/tern.conf.good" "$t/etc/tern.conf"
echo "bad_key = 1" >> "$t/etc/tern.conf"
out=$("$config" -C "$t/etc" check); expect "config broken rc" 1 $?
expect "config broken" "$t/etc/tern.conf:12: unknown key 'bad_key'" "$out"
out=$(TERN_CONFDIR=$t/etc "$config" log 2>&1); expect "TERN_CONFDIR rc" 1 $?

# --- tern.conf(5) documents every key, in the table's order
want=$(sed -n 's/^	CFG_KEY(\([a-z0-9_]*\),.*/\1/p' "$top/lib/daemon/cfg_keys.def")
got=$(sed -n 's/^\.It Cm \([a-z0-9_]*\) Pq .*/\1/p' "$top/man/tern.conf.5")
expect "tern.conf(5) keys" "$want" "$got"

echo "unit tools: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
