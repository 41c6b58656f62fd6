/*
 * sig: signals become events (doc/CONVENTIONS.md rule 13).  The handler
 * only writes the signal number to a non-blocking self-pipe; the
 * program's one poll loop watches sig_fd() and calls sig_next() to learn
 * what arrived.
 */
#ifndef TERN_SIG_H
#define TERN_SIG_H

#include <stddef.h>

/* Route the n signals in sigs to the self-pipe (SA_RESTART), and SIGPIPE
 * to nothing (sig_pipe_errors: a program we exec gets the default back).
 * Fatal (exit 111) on failure. */
void sig_catch(const int *sigs, size_t n);
/* The read end of the self-pipe, for poll(). */
int sig_fd(void);
/* The next signal that arrived, or 0 when none is pending. */
int sig_next(void);
/* SIGPIPE to a handler that does nothing: a peer that hangs up makes the
 * write fail with EPIPE where it happens instead of killing us.  A
 * handler, not SIG_IGN, so that a program we exec (tern-enqueue) starts
 * with the default again.  Fatal on failure. */
void sig_pipe_errors(void);
/* Sleep s seconds whatever signals arrive (nanosleep again on EINTR):
 * the failed-login delay of the servers, which a client must not be able
 * to cut short. */
void sig_sleep(unsigned long s);
/* In a forked child: default handlers for the caught signals again and
 * the self-pipe closed. */
void sig_reset(void);

#endif
