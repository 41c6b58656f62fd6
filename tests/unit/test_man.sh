#!/bin/sh
# test_man: every man page renders whole under groff's mdoc macros (what
# man(1) of man-db uses on Debian), not only under mandoc (the lint): for
# each man/*.[1-8], groff prints no warning and every .Sh heading of the
# source appears as a heading of the output.  A callable mdoc word at the
# start of a macro argument (".%T An ...") makes groff drop the rest of
# the page silently, which mandoc does not show.  Prints "unit man: N
# passed, M failed"; skipped (0 tests) without groff.

top=${TERN_TOP:-$(pwd)}
pass=0
fail=0

if ! command -v groff >/dev/null 2>&1; then
	# scripts/check installs groff-base: its absence is a failure
	echo "FAIL test_man: groff not installed (apt-get install groff-base)"
	echo "unit man: 0 passed, 1 failed"
	exit 1
fi

t=$(mktemp -d /tmp/tern-test-man.XXXXXX) || exit 1
trap 'rm -rf "$t"' EXIT

for page in "$top"/man/*.[1-8]; do
	name=${page##*/}
	# -P-cbou: plain text, no overstrike, so headings are plain lines
	groff -mandoc -Tutf8 -P-cbou "$page" >"$t/out" 2>"$t/err"
	if [ -s "$t/err" ]; then
		fail=$((fail + 1))
		echo "FAIL test_man: $name: groff says: $(head -n 3 "$t/err" | tr '\n' ' ')"
		continue
	fi
	missing=
	# .Sh lines of the source, as the headings groff prints (upper case)
	sed -n 's/^\.Sh  *//p' "$page" | tr -d '"' >"$t/sh"
	while IFS= read -r sh; do
		grep -qxF -- "$sh" "$t/out" || missing="$missing [$sh]"
	done <"$t/sh"
	if [ -n "$missing" ]; then
		fail=$((fail + 1))
		echo "FAIL test_man: $name: sections not rendered by groff:$missing"
	else
		pass=$((pass + 1))
	fi
done
echo "unit man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
