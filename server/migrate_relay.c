#include "migrate_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int migrate_ticket_new(char out[MIGRATE_TICKET_LEN + 1])
{
	unsigned char b[MIGRATE_TICKET_LEN / 2];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0 && errno != EINTR)
			return -errno; /* a predictable ticket is worse than none */
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int migrate_listen_tcp(int *fd, unsigned *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0, ret;

	if (s < 0) {
		/* No IPv6 in this kernel: IPv4 alone. */
		struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = INADDR_ANY };

		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -errno;
		len = sizeof(a4);
		if (bind(s, (struct sockaddr *)&a4, len) < 0 || listen(s, 1) < 0 ||
		    getsockname(s, (struct sockaddr *)&a4, &len) < 0) {
			ret = -errno;
			close(s);
			return ret;
		}
		*fd = s;
		*port = ntohs(a4.sin_port);
		return 0;
	}
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		ret = -errno;
		close(s);
		return ret;
	}
	*fd = s;
	*port = ntohs(a.sin6_port);
	return 0;
}

/* A Unix stream socket, and path as its address in *a (an over-long path
 * is refused, never cut): the descriptor, or -errno. */
static int unix_socket(const char *path, struct sockaddr_un *a)
{
	int s;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return s < 0 ? -errno : s;
}

int migrate_listen_unix(const char *path, int *fd)
{
	struct sockaddr_un a;
	int s = unix_socket(path, &a), ret;

	if (s < 0)
		return s;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0600) < 0 ||
	    listen(s, 1) < 0) {
		ret = -errno;
		close(s);
		unlink(path);
		return ret;
	}
	*fd = s;
	return 0;
}

int migrate_accept(int lfd, int cancel_fd, int timeout_ms, int *out)
{
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
			       { .fd = cancel_fd, .events = POLLIN } };
	int n;

	do
		n = poll(p, cancel_fd >= 0 ? 2 : 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (cancel_fd >= 0 && (p[1].revents & POLLIN))
		return -ECANCELED;
	*out = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return *out < 0 ? -errno : 0;
}

int migrate_accept_once(int *lfd, const char *path, int cancel_fd, int timeout_ms, int *out)
{
	int ret = migrate_accept(*lfd, cancel_fd, timeout_ms, out);

	close(*lfd);
	*lfd = -1;
	if (path && path[0])
		unlink(path);
	return ret;
}

int migrate_ticket_check(int conn, const char *ticket)
{
	char got[MIGRATE_TICKET_LEN];
	unsigned diff = 0;
	size_t have = 0;

	while (have < sizeof(got)) {
		struct pollfd p = { .fd = conn, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			return -ETIMEDOUT;
		n = read(conn, got + have, sizeof(got) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EACCES;
		have += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(got); i++)
		diff |= (unsigned)(got[i] ^ ticket[i]);
	return diff ? -EACCES : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int migrate_tcp_watch(int fd)
{
	/* Keepalive: idle 10 s, then a probe every 5 s; the user timeout
	 * bounds both the probes and unacknowledged data. */
	const int on = 1, idle = 10, intvl = 5, cnt = 3, dead = MIGRATE_TCP_DEAD_MS;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &dead, sizeof(dead)) < 0)
		return -errno;
	return 0;
}

int migrate_connect_tcp(const char *host, unsigned port, const char *ticket, int *out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[8];
	int s = -1, ret;

	snprintf(service, sizeof(service), "%u", port);
	ret = getaddrinfo(host, service, &hints, &res);
	if (ret)
		return ret == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	ret = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			continue;
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		ret = -errno;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return ret;
	ret = migrate_tcp_watch(s);
	if (!ret)
		ret = write_all(s, ticket, MIGRATE_TICKET_LEN);
	if (ret < 0) {
		close(s);
		return ret;
	}
	*out = s;
	return 0;
}

int migrate_connect_unix(const char *path, int *out)
{
	struct sockaddr_un a;
	int s = unix_socket(path, &a), ret;

	if (s < 0)
		return s;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ret = -errno;
		close(s);
		return ret;
	}
	*out = s;
	return 0;
}

int migrate_copy(int in, int out, int cancel_fd, int idle_ms, uint64_t *copied)
{
	char *b = malloc(256 * 1024);
	uint64_t total = 0;
	int ret = 0;

	struct timeval tv = { .tv_sec = idle_ms / 1000, .tv_usec = (idle_ms % 1000) * 1000 };

	if (!b)
		return -ENOMEM;
	/* A peer that stops reading must not hold the copy forever either. */
	setsockopt(out, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		struct pollfd p[2] = { { .fd = in, .events = POLLIN },
				       { .fd = cancel_fd, .events = POLLIN } };
		ssize_t n;
		int k = poll(p, cancel_fd >= 0 ? 2 : 1, idle_ms);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
			break;
		}
		if (k == 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (cancel_fd >= 0 && (p[1].revents & POLLIN)) {
			ret = -ECANCELED;
			break;
		}
		n = read(in, b, 256 * 1024);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0) {
			shutdown(out, SHUT_WR);
			break;
		}
		ret = write_all(out, b, (size_t)n);
		if (ret < 0)
			break;
		total += (uint64_t)n;
	}
	free(b);
	if (copied)
		*copied = total;
	return ret;
}
