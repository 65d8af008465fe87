/*
 * The migration relay's sockets (server/migrate_relay.c) without a VM: a
 * Unix listener is made 0600 and connectable, a path too long for a Unix
 * address is refused rather than cut (and leaves no file), and bytes go
 * from a ticketed TCP connection through migrate_copy into a Unix socket
 * whole, with a wrong ticket refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "migrate_relay.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_MS 30000 /* generous: the machine may be loaded */

static char dir[] = "/tmp/pinvm-relay-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	unlink(path);
	return rmdir(dir);
}

static void test_unix_listen_connect(void **state)
{
	char path[PATH_MAX];
	struct stat st;
	int lfd = -1, cfd = -1, afd = -1;

	(void)state;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	assert_int_equal(migrate_listen_unix(path, &lfd), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(migrate_connect_unix(path, &cfd), 0);
	assert_int_equal(migrate_accept(lfd, -1, WAIT_MS, &afd), 0);
	assert_int_equal(write(cfd, "x", 1), 1);
	{
		char c = 0;

		assert_int_equal(read(afd, &c, 1), 1);
		assert_int_equal(c, 'x');
	}
	close(afd);
	close(cfd);
	close(lfd);
	unlink(path);
	/* Nobody listens any more. */
	cfd = -1;
	assert_int_equal(migrate_connect_unix(path, &cfd), -ENOENT);
	assert_int_equal(cfd, -1);
}

static void test_unix_path_too_long(void **state)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 32];
	int fd = -1;

	(void)state;
	/* Exactly one byte too long for sun_path with its NUL. */
	snprintf(path, sizeof(path), "%s/", dir);
	memset(path + strlen(path), 'a', sizeof(((struct sockaddr_un *)0)->sun_path) - strlen(path));
	path[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0';
	assert_int_equal(migrate_listen_unix(path, &fd), -ENAMETOOLONG);
	assert_int_equal(migrate_connect_unix(path, &fd), -ENAMETOOLONG);
	assert_int_equal(fd, -1);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_ticketed_copy(void **state)
{
	char ticket[MIGRATE_TICKET_LEN + 1], wrong[MIGRATE_TICKET_LEN + 1], path[PATH_MAX];
	char got[4096], data[3000];
	int tcp_l = -1, src = -1, conn = -1, ulfd = -1, vmm = -1, sink = -1;
	unsigned port = 0;
	uint64_t copied = 0;
	size_t have = 0;
	ssize_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(migrate_ticket_new(ticket), 0);
	assert_int_equal(strlen(ticket), MIGRATE_TICKET_LEN);
	assert_int_equal(migrate_ticket_new(wrong), 0);
	assert_string_not_equal(ticket, wrong);

	/* A wrong ticket is refused. */
	assert_int_equal(migrate_listen_tcp(&tcp_l, &port), 0);
	assert_true(port > 0);
	assert_int_equal(migrate_connect_tcp("127.0.0.1", port, wrong, &src), 0);
	assert_int_equal(migrate_accept(tcp_l, -1, WAIT_MS, &conn), 0);
	assert_int_equal(migrate_ticket_check(conn, ticket), -EACCES);
	close(conn);
	close(src);
	close(tcp_l);

	/* The right one: every byte reaches the Unix side, in order. */
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	assert_int_equal(migrate_listen_unix(path, &ulfd), 0);
	assert_int_equal(migrate_listen_tcp(&tcp_l, &port), 0);
	assert_int_equal(migrate_connect_tcp("127.0.0.1", port, ticket, &src), 0);
	{
		/* A cut link ends the stream within MIGRATE_TCP_DEAD_MS. */
		int v = 0;
		socklen_t l = sizeof(v);

		assert_int_equal(getsockopt(src, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &l), 0);
		assert_int_equal(v, MIGRATE_TCP_DEAD_MS);
		l = sizeof(v);
		assert_int_equal(getsockopt(src, SOL_SOCKET, SO_KEEPALIVE, &v, &l), 0);
		assert_true(v);
	}
	assert_int_equal(write(src, data, sizeof(data)), (ssize_t)sizeof(data));
	close(src); /* the stream ends: migrate_copy returns */
	assert_int_equal(migrate_accept(tcp_l, -1, WAIT_MS, &conn), 0);
	assert_int_equal(migrate_ticket_check(conn, ticket), 0);
	assert_int_equal(migrate_connect_unix(path, &vmm), 0);
	assert_int_equal(migrate_accept(ulfd, -1, WAIT_MS, &sink), 0);
	/* Fits the socket buffers: the copy needs no reader to finish. */
	assert_int_equal(migrate_copy(conn, vmm, -1, WAIT_MS, &copied), 0);
	assert_int_equal(copied, sizeof(data));
	while (have < sizeof(got) && (n = read(sink, got + have, sizeof(got) - have)) > 0)
		have += (size_t)n;
	assert_int_equal(have, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	close(sink);
	close(vmm);
	close(conn);
	close(tcp_l);
	close(ulfd);
	unlink(path);
}

/*
 * A one-shot listener after a cancel (migrate_out's relay when the
 * migration is cancelled before pinvm-vmm connects): a peer already
 * waiting in the backlog is cut, and a later connect fails at once; the
 * listener is closed and its file gone.
 */
static void test_accept_once_cancelled(void **state)
{
	char path[PATH_MAX];
	uint64_t one = 1;
	int lfd = -1, early = -1, late = -1, conn = -1, efd = eventfd(0, EFD_CLOEXEC);
	ssize_t n = 0;

	(void)state;
	assert_true(efd >= 0);
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	assert_int_equal(migrate_listen_unix(path, &lfd), 0);
	assert_int_equal(migrate_connect_unix(path, &early), 0);
	assert_int_equal(write(efd, &one, sizeof(one)), (ssize_t)sizeof(one));
	assert_int_equal(migrate_accept_once(&lfd, path, efd, WAIT_MS, &conn), -ECANCELED);
	assert_int_equal(lfd, -1);
	assert_int_equal(access(path, F_OK), -1);
	/* The one that waited: its writes fail instead of filling a buffer
	 * no one reads (a bounded number of them, not forever). */
	for (int i = 0; i < 1024 && n >= 0; i++) {
		char buf[4096] = { 0 };

		n = send(early, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	assert_true(n < 0);
	assert_true(errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN);
	/* One that comes later: refused at once. */
	assert_int_equal(migrate_connect_unix(path, &late), -ENOENT);
	close(early);
	close(efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix_listen_connect),
		cmocka_unit_test(test_accept_once_cancelled),
		cmocka_unit_test(test_unix_path_too_long),
		cmocka_unit_test(test_ticketed_copy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
