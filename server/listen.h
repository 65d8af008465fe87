/*
 * Listening sockets from --listen specs: "unix:PATH" or "tcp:HOST:PORT"
 * (HOST may be a bracketed IPv6 literal).
 */
#ifndef PINVM_SERVER_LISTEN_H
#define PINVM_SERVER_LISTEN_H

#include <stddef.h>

/*
 * Creates, binds and listens. A Unix socket gets mode 0660 and its parent
 * directory is created; a stale socket file nobody answers on is replaced,
 * a live one is refused (EADDRINUSE), and a path too long for sun_path is
 * refused rather than truncated. Returns the fd (caller owns it) or a
 * negative errno with err set.
 */
int listen_open(const char *spec, char *err, size_t errlen);

#endif
