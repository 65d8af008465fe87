/*
 * The bytes of a live migration between two pinvmd (issue 11): the source
 * pinvm-vmm writes its stream into a Unix socket its pinvmd listens on;
 * that pinvmd connects over TCP to a one-shot port the destination pinvmd
 * opened for this migration alone (the answer to POST /v1/vms/incoming),
 * sends the ticket from that answer, and copies; the destination checks
 * the ticket and copies into its pinvm-vmm's "incoming" socket.
 *
 * Why a port of its own and not the HTTP request body: libmicrohttpd hands
 * an upload to a handler in pieces on its pool thread and expects each to
 * be taken at once, so a body that a slower pinvm-vmm must drain would
 * either block a pool thread for the whole copy or be buffered in memory;
 * a plain socket has TCP's own flow control end to end, and the copy runs
 * on the migration's own thread. The port takes one connection and the
 * ticket (random, 256 bits, given only to the authenticated caller of the
 * incoming endpoint) stands for the bearer token on it.
 *
 * Every call blocks its caller for at most its timeout; nothing here is
 * shared between threads except the cancel eventfd.
 */
#ifndef PINVM_SERVER_MIGRATE_RELAY_H
#define PINVM_SERVER_MIGRATE_RELAY_H

#include <stddef.h>
#include <stdint.h>

#define MIGRATE_TICKET_LEN 64 /* hex characters */

/* A random ticket, MIGRATE_TICKET_LEN hex characters and a NUL. 0, or
 * -errno when the kernel gives no randomness. */
int migrate_ticket_new(char out[MIGRATE_TICKET_LEN + 1]);

/* A TCP listener on every address, an ephemeral port: *fd and *port.
 * 0 or -errno. */
int migrate_listen_tcp(int *fd, unsigned *port);

/* A Unix stream listener at path (mode 0600, must not exist). 0 or -errno. */
int migrate_listen_unix(const char *path, int *fd);

/*
 * Accepts one connection on lfd within timeout_ms (or until cancel_fd,
 * an eventfd or -1, is readable). The connection (*out) or -ETIMEDOUT,
 * -ECANCELED, -errno.
 */
int migrate_accept(int lfd, int cancel_fd, int timeout_ms, int *out);

/*
 * migrate_accept() on a one-shot Unix listener: whatever the outcome, *lfd
 * is closed (and set to -1) and path (NULL: none) unlinked, so that a peer
 * connecting later, after a cancel or the timeout, fails at once instead
 * of waiting in a backlog nobody reads, and one already waiting there is
 * cut (its writes fail). Same results as migrate_accept().
 */
int migrate_accept_once(int *lfd, const char *path, int cancel_fd, int timeout_ms, int *out);

/* The destination's check: reads the ticket from conn (5 s at most) and
 * compares it in constant time. 0, or -EACCES / -errno. */
int migrate_ticket_check(int conn, const char *ticket);

/*
 * How long a migration's TCP stream may go without the peer acknowledging
 * (a cut link, a host gone without a reset): then the kernel ends the
 * connection and each side's copy fails with -ETIMEDOUT, instead of waiting
 * out its idle timeout or, for a write stuck in a full send buffer, more.
 * Long enough that a destination slowed by load (acks come from its kernel,
 * not from its pinvm-vmm) is never taken for a dead one.
 */
#define MIGRATE_TCP_DEAD_MS 30000

/*
 * Sets the liveness rules above on a migration's TCP socket: unacknowledged
 * data for MIGRATE_TCP_DEAD_MS ends it (TCP_USER_TIMEOUT), and keepalive
 * probes find a silent peer on the receiving side too. 0 or -errno.
 */
int migrate_tcp_watch(int fd);

/* Connects to host:port over TCP (numeric or a name), with the ticket
 * written first and migrate_tcp_watch's rules set. *out, or -errno. */
int migrate_connect_tcp(const char *host, unsigned port, const char *ticket, int *out);

/* Connects to a Unix stream socket. *out, or -errno. */
int migrate_connect_unix(const char *path, int *out);

/*
 * Copies from in to out until in ends (then shuts out's writing half),
 * cancel_fd becomes readable (-ECANCELED), or no byte moves for idle_ms
 * (-ETIMEDOUT). *copied gets the bytes moved (may be NULL). 0 or -errno.
 */
int migrate_copy(int in, int out, int cancel_fd, int idle_ms, uint64_t *copied);

#endif
