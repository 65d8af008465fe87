/*
 * pinvm's exit statuses: one per kind of outcome a script may want to
 * branch on. Documented in pinvm(1) and `pinvm --help`; keep them stable.
 */
#ifndef PINVM_CLI_EXIT_CODES_H
#define PINVM_CLI_EXIT_CODES_H

enum pinvm_exit {
	EXIT_OK = 0,
	EXIT_FAILURE_LOCAL = 1,  /* a local problem: unreadable file, no memory */
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_NOT_FOUND = 3,      /* 404: no such profile, VM or path */
	EXIT_CONFLICT = 4,       /* 409: exists, in use, wrong state, refused profile */
	EXIT_REFUSED = 5,        /* 400/413/415/422: the request was invalid;
				    also `profile check` and `snapshot check` with an
				    incompatible verdict */
	EXIT_UNAUTHORIZED = 6,   /* 401/403: missing or wrong token */
	EXIT_UNREACHABLE = 7,    /* no HTTP answer: refused, no socket, TLS, timeout;
				    or an answer cut short (a download) */
	EXIT_SERVER = 8,         /* 500 and any other unexpected status */
	EXIT_UNAVAILABLE = 9,    /* 503: the host cannot (no arm64 KVM) */
};

#endif
