/* Running pinvmd as a child process in tests. */
#ifndef PINVM_TESTS_DAEMON_H
#define PINVM_TESTS_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

/* A free loopback TCP port (racy by nature, fine for tests), or -1. */
int daemon_free_port(void);

/*
 * Starts `pinvmd` with args (NULL-terminated, at most 14), stderr to
 * logpath. Returns the pid, or -1.
 */
pid_t daemon_spawn(const char *pinvmd, const char *const *args,
		   const char *logpath);

/* Waits until the unix socket accepts connections or pid exits (60 s at most). */
bool daemon_wait_socket(const char *path, pid_t pid);

/* Waits until 127.0.0.1:port accepts connections or pid exits (60 s at most). */
bool daemon_wait_tcp(int port, pid_t pid);

/*
 * Waits (60 s at most) until pid has written its --ready-file path, and gives the
 * port of its first line ("tcp:HOST:PORT"): what a pinvmd started on
 * tcp:127.0.0.1:0 took, so nothing guesses a free port. -1 when pid exits
 * first, the time runs out, or the first line is no TCP address.
 */
int daemon_wait_ready(const char *path, pid_t pid);

/*
 * Runs pinvmd with args expecting it to exit by itself (a refused start):
 * returns its exit status, or -1 (killed, or still running after 60 s:
 * then it is killed). Its stderr goes to logpath and is copied into log (len bytes).
 */
int daemon_run_to_exit(const char *pinvmd, const char *const *args,
		       const char *logpath, char *log, size_t len);

/*
 * A self-signed certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1,
 * common name cn) and its unencrypted key (mode 0600), made by the openssl
 * CLI; its output goes to dir/openssl.log. True when both files exist.
 */
bool daemon_make_cert(const char *dir, const char *cert, const char *key, const char *cn);

/* Removes a test's temporary directory tree; 0 or -1. */
int daemon_remove_dir(const char *dir);

#endif
