#!/bin/sh
# test_install: `make install DESTDIR=...` installs what
# share/install.manifest lists, every built program and man page is in it,
# with the manifest's modes, and the owner of tern-enqueue (setuid ternq,
# 4711) is set (root, user ternq exists) or recorded in install.owners; and
# configure's default program directory for prefix /usr is /usr/lib/tern,
# where the shipped units look.  Prints "unit install: N passed, M failed".

top=${TERN_TOP:-$(pwd)}
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL test_install: $*"; }
expect() { if [ "$2" = "$3" ]; then ok; else bad "$1: want [$2] got [$3]"; fi; }
finish() { echo "unit install: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

cd "$top" || exit 1
[ -f Makefile ] || { bad "not configured"; finish; }
t=$(mktemp -d "${TMPDIR:-/tmp}/tern-test-install.XXXXXX") || exit 1
trap 'rm -rf "$t"' EXIT
d=$t/dest

# the directories this build installs to
dirs=$(make -s --no-print-directory -f Makefile -f - print-dirs <<'EOF'
print-dirs:
	@echo "$(sbindir) $(pkglibexecdir) $(mandir) $(pkgdatadir)"
EOF
)
read -r sbindir pkglibexecdir mandir pkgdatadir <<EOF
$dirs
EOF
[ -n "$pkgdatadir" ] || { bad "cannot read the directories from the Makefile"; finish; }

if make -s --no-print-directory install DESTDIR="$d" >"$t/log" 2>&1; then ok; else
	cat "$t/log"
	bad "make install DESTDIR=$d"
	finish
fi

# every built program and every man page is in the manifest and installed
for p in $(grep -v -e '^#' -e '^$' share/install.manifest | awk '{ print $5 }'); do
	[ -f "$p" ] || bad "manifest lists $p, which is not built"
done
for f in */tern-* man/*.[1-8]; do
	case $f in
	man/*) ;;
	*) [ -f "$f" ] && [ -x "$f" ] || continue ;;   # a built program
	esac
	if awk -v s="$f" '$5 == s { f = 1 } END { exit !f }' share/install.manifest; then
		ok
	else
		bad "$f is not in share/install.manifest"
	fi
done

mode() { stat -c %a "$1" 2>/dev/null; }
owner() { stat -c %U:%G "$1" 2>/dev/null; }
expect "tern-sendmail in sbindir" 755 "$(mode "$d$sbindir/tern-sendmail")"
expect "tern-smtpd in pkglibexecdir" 755 "$(mode "$d$pkglibexecdir/tern-smtpd")"
expect "tern.conf.5" 644 "$(mode "$d$mandir/man5/tern.conf.5")"
expect "tern-enqueue.8" 644 "$(mode "$d$mandir/man8/tern-enqueue.8")"
n=$(find "$d" -type f | grep -c -v install.owners)
expect "files installed" "$(grep -c -v -e '^#' -e '^$' share/install.manifest)" "$n"

# tern-enqueue: its owner and set-id bit, or (not root, or no ternq) the
# mode without set-id and the owner recorded for the packager
e=$d$pkglibexecdir/tern-enqueue
if [ "$(id -u)" -eq 0 ] && id -u ternq >/dev/null 2>&1; then
	expect "tern-enqueue owner" ternq:ternq "$(owner "$e")"
	expect "tern-enqueue mode" 4711 "$(mode "$e")"
else
	expect "tern-enqueue mode (owner not set)" 711 "$(mode "$e")"
fi
expect "install.owners" "$pkglibexecdir/tern-enqueue ternq ternq 4711" \
	"$(grep "/tern-enqueue " "$d$pkgdatadir/install.owners")"
expect "install.owners smtpd" "$pkglibexecdir/tern-smtpd root root 0755" \
	"$(grep "/tern-smtpd " "$d$pkgdatadir/install.owners")"

# uninstall removes it all again
make -s --no-print-directory uninstall DESTDIR="$d" >"$t/log" 2>&1 || { cat "$t/log"; bad "make uninstall"; }
expect "files left after uninstall" 0 "$(find "$d" -type f | wc -l)"

# a manifest line with a bad mode stops the install before it starts
sed 's/ 4711 / 47x1 /' share/install.manifest >"$t/bad.manifest"
if DESTDIR=$t/bad sbindir=/s pkglibexecdir=/p mandir=/m pkgdatadir=/d \
    sh scripts/install-manifest install "$t/bad.manifest" >"$t/log" 2>&1; then
	bad "a bad mode was accepted"
else
	expect "nothing installed from a bad manifest" "" "$(find "$t/bad" -type f 2>/dev/null)"
	grep -q "mode 47x1 is not four octal digits" "$t/log" && ok ||
		bad "no reason given: $(cat "$t/log")"
fi

# configure: prefix /usr puts the programs in /usr/lib/tern; an explicit
# --libexecdir or --pkglibexecdir still wins
mkdir "$t/conf" && cp configure Makefile.in "$t/conf/" || { bad "copy configure"; finish; }
for c in "--prefix=/usr|/usr/lib/tern" "--prefix=/usr/local|/usr/local/libexec/tern" \
    "--prefix=/usr --libexecdir=/usr/libexec|/usr/libexec/tern" \
    "--prefix=/usr --pkglibexecdir=/opt/tern|/opt/tern"; do
	args=${c%|*}
	# shellcheck disable=SC2086
	(cd "$t/conf" && ./configure $args >/dev/null 2>&1)
	expect "configure $args" "pkglibexecdir = ${c#*|}" \
		"$(grep '^pkglibexecdir = ' "$t/conf/Makefile" 2>/dev/null)"
done
finish
