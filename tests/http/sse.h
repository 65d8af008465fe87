/*
 * A Server-Sent Events reader for tests: one raw HTTP/1.0 connection
 * (so the body comes unchunked, ending when the server closes), parsed
 * into events. Every read has a bounded wait; nothing sleeps.
 */
#ifndef PINVM_TESTS_SSE_H
#define PINVM_TESTS_SSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct sse {
	int fd;
	long status;          /* of the response, once sse_open returned */
	char content_type[64];
	char *headers;        /* the response's header block (owned) */
	char *buf;            /* bytes read and not yet parsed */
	size_t len, cap;
	bool eof;
	char *body;           /* a non-200 answer's body (NUL-terminated) */
};

struct sse_event {
	unsigned long long id; /* 0 when the frame had none */
	char type[64];
	json_t *data;          /* the data line's JSON (owned), or NULL */
};

/*
 * Connects to 127.0.0.1:port, sends GET target with an optional extra
 * header line ("Last-Event-ID: 4", without CRLF), and reads the status and
 * headers (timeout_ms). false when no answer came; a refusal is true
 * with s->status and s->body set.
 */
bool sse_open(struct sse *s, int port, const char *target, const char *header,
	      int timeout_ms);

/*
 * The next event (comments and retry: lines are skipped) within
 * timeout_ms: 1 with *ev filled (free with sse_event_clear), 0 when the
 * stream ended, -1 on timeout.
 */
int sse_next(struct sse *s, int timeout_ms, struct sse_event *ev);

/* Whether the server ends the stream within timeout_ms, skipping events. */
bool sse_wait_end(struct sse *s, int timeout_ms);

/* For a stream that is not SSE (the console's follow): waits until the
 * bytes read so far hold needle (true), or timeout_ms pass or the stream
 * ends without it (false). s->buf keeps every byte read. */
bool sse_wait_bytes(struct sse *s, const char *needle, int timeout_ms);

void sse_event_clear(struct sse_event *ev);
void sse_close(struct sse *s);

#endif
