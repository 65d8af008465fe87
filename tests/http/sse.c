#include "sse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads more bytes, waiting at most until deadline. false on timeout;
 * sets s->eof when the server closed. */
static bool fill(struct sse *s, long long deadline)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	long long left = deadline - now_ms();
	ssize_t n;

	if (s->eof)
		return true;
	if (left < 0 || poll(&p, 1, (int)left) <= 0)
		return false;
	if (s->len + 4096 + 1 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16384;
		char *b = realloc(s->buf, cap);

		if (!b)
			return false;
		s->buf = b;
		s->cap = cap;
	}
	n = read(s->fd, s->buf + s->len, 4096);
	if (n <= 0) {
		s->eof = true;
		return true;
	}
	s->len += (size_t)n;
	s->buf[s->len] = '\0';
	return true;
}

static void consume(struct sse *s, size_t n)
{
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
	if (s->buf)
		s->buf[s->len] = '\0';
}

bool sse_open(struct sse *s, int port, const char *target, const char *header,
	      int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long long deadline = now_ms() + timeout_ms;
	char req[1024], *end, *ct;
	int n;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return false;
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
		     "Accept: text/event-stream\r\n%s%s\r\n", target,
		     header ? header : "", header ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req) || write(s->fd, req, (size_t)n) != n)
		goto fail;
	while (!s->buf || !(end = strstr(s->buf, "\r\n\r\n"))) {
		if (!fill(s, deadline) || (s->eof && (!s->buf || !strstr(s->buf, "\r\n\r\n"))))
			goto fail;
	}
	if (sscanf(s->buf, "HTTP/1.%*d %ld", &s->status) != 1)
		goto fail;
	ct = strcasestr(s->buf, "\r\nContent-Type: ");
	if (ct && ct < end)
		snprintf(s->content_type, sizeof(s->content_type), "%.*s",
			 (int)strcspn(ct + 16, "\r\n"), ct + 16);
	s->headers = strndup(s->buf, (size_t)(end - s->buf));
	consume(s, (size_t)(end + 4 - s->buf));
	if (s->status != 200) {
		while (!s->eof && fill(s, deadline))
			;
		s->body = strndup(s->buf ? s->buf : "", s->len);
	}
	return true;
fail:
	close(s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
	return false;
}

/* Parses one frame [0, n) into ev; false for a frame with no event. */
static bool parse_frame(const char *f, size_t n, struct sse_event *ev)
{
	bool any = false;
	size_t i = 0;

	memset(ev, 0, sizeof(*ev));
	snprintf(ev->type, sizeof(ev->type), "message");
	while (i < n) {
		size_t l = strcspn(f + i, "\n");
		const char *line = f + i;

		if (l > n - i)
			l = n - i;
		if (!strncmp(line, "id: ", 4)) {
			ev->id = strtoull(line + 4, NULL, 10);
			any = true;
		} else if (!strncmp(line, "event: ", 7)) {
			snprintf(ev->type, sizeof(ev->type), "%.*s", (int)(l - 7), line + 7);
		} else if (!strncmp(line, "data: ", 6)) {
			json_decref(ev->data);
			ev->data = json_loadb(line + 6, l - 6, 0, NULL);
			any = true;
		}
		i += l + 1;
	}
	return any;
}

int sse_next(struct sse *s, int timeout_ms, struct sse_event *ev)
{
	long long deadline = now_ms() + timeout_ms;

	memset(ev, 0, sizeof(*ev));
	for (;;) {
		char *end = s->buf ? strstr(s->buf, "\n\n") : NULL;

		if (end) {
			size_t n = (size_t)(end - s->buf);
			bool got = parse_frame(s->buf, n, ev);

			consume(s, n + 2);
			if (got)
				return 1;
			sse_event_clear(ev);
			continue;
		}
		if (s->eof)
			return 0;
		if (!fill(s, deadline))
			return -1;
	}
}

bool sse_wait_end(struct sse *s, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct sse_event ev;
	int r;

	while ((r = sse_next(s, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0),
			     &ev)) == 1)
		sse_event_clear(&ev);
	return r == 0;
}

void sse_event_clear(struct sse_event *ev)
{
	json_decref(ev->data);
	ev->data = NULL;
}

void sse_close(struct sse *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->buf);
	free(s->body);
	free(s->headers);
	s->buf = s->body = s->headers = NULL;
}

bool sse_wait_bytes(struct sse *s, const char *needle, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (!s->buf || !strstr(s->buf, needle)) {
		if (s->eof || !fill(s, deadline))
			return false;
	}
	return true;
}
