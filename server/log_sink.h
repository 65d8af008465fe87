/*
 * Where pinvmd's log lines go: stderr, through a writer thread once
 * log_sink_start() has run, directly before.
 *
 * Why a thread: every request writes a line, and each of libmicrohttpd's
 * threads writing stderr itself put a write(2) (and the file's lock) on
 * every request. Now a request copies its line into a bounded buffer,
 * and the thread gathers lines for up to 5 ms and writes them in one
 * call. Measured with tests/bench/load.sh (2 CPUs, 3 rounds of 5 s, two
 * runs each, alternating): pinvmd's p99 went from 5.3-6.0 ms (GET of a
 * profile) and 4.8-6.8 ms (POST /v1/compatibility) to 3.6-4.1 and
 * 3.8-4.2 ms. Waking the thread for every line instead made it worse
 * (8-9 ms): a switch per request.

 * Nothing is dropped: a writer that finds the buffer full waits for room.
 * Lines stay whole and in the order their writers took the buffer. A line
 * reaches the file within about 5 ms of the call, not during it, so a
 * reader of the log polls for a line it expects. What is still buffered
 * when the process dies by a signal is lost; log_sink_stop() (at exit)
 * writes it out.
 *
 * Threading: every function is safe from any thread. Errors: a failed
 * write is not reported (there is nowhere to report it).
 */
#ifndef PINVM_SERVER_LOG_SINK_H
#define PINVM_SERVER_LOG_SINK_H

#include <stddef.h>

/* Writes text (n bytes, without its newline) and a newline. */
void log_sink_line(const char *text, size_t n);

/* Starts the writer thread, with the caller's signal mask; 0 or -errno
 * (lines are then written directly, as before). Once per process. */
int log_sink_start(void);

/* Writes out what is buffered and ends the thread; later lines are
 * written directly. For atexit(); a no-op when not started. */
void log_sink_stop(void);

#endif
