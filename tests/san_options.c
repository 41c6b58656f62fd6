/*
 * san_options: built-in AddressSanitizer/UBSan options, linked only into
 * "make sanitize" builds.  tern-enqueue clears its environment (it may run
 * setuid), so ASAN_OPTIONS from the test run never reaches it; these
 * defaults do, and a variable in the environment still overrides them.
 * Any report stops the program.  Leak checking is off: daemons leave
 * through _exit, and LeakSanitizer cannot inspect a process that changed
 * uid (it is no longer dumpable); tests/run turns it on for unit tests.
 */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "halt_on_error=1:detect_leaks=0:abort_on_error=0";
}

const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}
