/*
 * Hard deadlines for connections. libmicrohttpd's connection timeout is
 * an idle timeout: a client sending one byte every few seconds (slowloris)
 * keeps it from ever firing, holding a connection slot for as long as it
 * likes. Here every connection has a deadline for its current phase
 * (headers, body, idle between requests); a watchdog thread shuts down
 * the socket of one that misses it, and libmicrohttpd, seeing the
 * connection end, closes and frees it as for any client that went away.
 *
 * Thread-safe: entries are added, re-armed and removed from
 * libmicrohttpd's threads while the watchdog scans. An entry is removed
 * before its socket is closed (libmicrohttpd's "closed" notification comes
 * first), so the watchdog never shuts down a reused descriptor.
 */
#ifndef PINVM_SERVER_DEADLINE_H
#define PINVM_SERVER_DEADLINE_H

#include <stddef.h>

struct deadlines;
struct deadline_entry;

/* Starts the watchdog. Returns 0 with *out set, or a negative errno with
 * err filled. */
int deadlines_start(struct deadlines **out, char *err, size_t errlen);

/* Stops the watchdog and frees d; every entry must have been removed. */
void deadlines_stop(struct deadlines *d);

/*
 * Watches socket fd (borrowed), due in seconds (0: no deadline). Returns
 * the entry (owned by d until deadlines_remove) or NULL when out of memory
 * (the connection is then simply not watched).
 */
struct deadline_entry *deadlines_add(struct deadlines *d, int fd, unsigned seconds);

/* Re-arms e: due seconds from now, or never when seconds is 0. */
void deadlines_set(struct deadlines *d, struct deadline_entry *e, unsigned seconds);

/* Stops watching e and frees it. */
void deadlines_remove(struct deadlines *d, struct deadline_entry *e);

/* Connections cut so far (for logs and tests). */
unsigned long deadlines_cut(struct deadlines *d);

#endif
