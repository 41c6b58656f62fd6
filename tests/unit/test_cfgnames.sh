#!/bin/sh
# test_cfgnames: configuration keys are compile-time names
# (lib/daemon/cfg.h): a known key compiles, a misspelt one does not.
# Prints "unit cfgnames: N passed, M failed".
top=${TERN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cc=${CC:-cc}
pass=0
fail=0
try() {  # try NAME WANT(0 compiles|1 fails) CODE
	if printf '#include "daemon/cfg.h"\n%s\n' "$3" |
	    "$cc" -std=c11 -D_GNU_SOURCE -Werror -I"$top" -I"$top/lib" \
	    -fsyntax-only -x c - >/dev/null 2>&1; then
		got=0
	else
		got=1
	fi
	if [ "$got" -eq "$2" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL test_cfgnames: $1"
	fi
}
try "a key" 0 'unsigned long f(void) { return cfg_num(smtpd_timeout); }'
try "a list key" 0 'const char *f(void) { return cfg_list(local_domains, 0); }'
try "a misspelt key" 1 'unsigned long f(void) { return cfg_num(smtpd_timout); }'
try "a string is not a name" 1 'const char *f(void) { return cfg_str("spool_dir"); }'
echo "unit cfgnames: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
