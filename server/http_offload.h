/*
 * Requests that may wait on a process (a pinvm-vmm starting, answering an
 * action, writing a snapshot; a probe guest) are answered from a thread of
 * their own while their connection waits suspended, so libmicrohttpd's few
 * pool threads stay free for every other request: 64 creates at once no
 * longer starve GET /v1/host. The answer is the one the handler would have
 * given in place; only the thread that computes it differs.
 *
 * Thread-safe. A job's thread is detached; http_offload_wait_all() is the
 * join, for the stop (libmicrohttpd must not be stopped with a connection
 * still suspended).
 */
#ifndef PINVM_SERVER_HTTP_OFFLOAD_H
#define PINVM_SERVER_HTTP_OFFLOAD_H

#include <stdbool.h>

struct route_match;

/* Whether the route m matched (route_match.h) is answered off the request
 * thread. Pure. */
bool http_offload_wanted(const struct route_match *m);

/* Runs fn(arg) on a new thread with every signal blocked. 0, or -errno
 * (fn is then not run and arg stays the caller's). */
int http_offload_start(void (*fn)(void *arg), void *arg);

/* Waits until no job started by http_offload_start is still running. */
void http_offload_wait_all(void);

#endif
