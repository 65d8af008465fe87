/*
 * Listening sockets from --listen specs: "unix:PATH" or "tcp:HOST:PORT"
 * (HOST may be a bracketed IPv6 literal; PORT 0 lets the kernel pick a
 * free one, which info->bound then names).
 */
#ifndef PINVM_SERVER_LISTEN_H
#define PINVM_SERVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

struct listen_opts {
	unsigned mode;     /* Unix socket file mode, e.g. 0660 */
	const char *group; /* Unix socket group name, or NULL to keep ours */
};

#define LISTEN_BOUND_MAX 128

struct listen_info {
	bool is_unix;
	bool is_loopback;  /* TCP bound to 127.0.0.0/8 or ::1 */
	/* What was bound, as a spec: "tcp:127.0.0.1:41234" (the port 0
	 * took), "tcp:[::1]:8080", or the unix: spec as given (cut to fit). */
	char bound[LISTEN_BOUND_MAX];
};

/*
 * Creates, binds and listens. A Unix socket gets opts->mode (and group) and
 * its parent directory is created; a stale socket file nobody answers on is
 * replaced, a live one is refused (EADDRINUSE), and a path too long for
 * sun_path is refused rather than truncated. Returns the fd (caller owns
 * it) with *info filled, or a negative errno with err set.
 */
int listen_open(const char *spec, const struct listen_opts *opts,
		struct listen_info *info, char *err, size_t errlen);

#endif
