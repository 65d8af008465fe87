#include "migrate_recv.h"

#include "guest_mem.h"
#include "machine_layout.h"
#include "test_digest.h"
#include "vm.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_STOP 4

struct fd_reader {
	int fd;
	const int *stop_fds;
	unsigned nstop;
	int idle_ms;
};

/* Waits until fd is readable; -ECANCELED when a stop fd fires first. */
static int wait_readable(const struct fd_reader *r)
{
	struct pollfd pfd[1 + MAX_STOP];
	unsigned n = 1;

	pfd[0] = (struct pollfd){ .fd = r->fd, .events = POLLIN };
	for (unsigned i = 0; i < r->nstop && i < MAX_STOP; i++)
		pfd[n++] = (struct pollfd){ .fd = r->stop_fds[i], .events = POLLIN };
	for (;;) {
		int ret = poll(pfd, n, r->idle_ms);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -ETIMEDOUT;
		for (unsigned i = 1; i < n; i++)
			if (pfd[i].revents)
				return -ECANCELED;
		return 0;
	}
}

static int fd_read(void *ctx, void *buf, size_t n)
{
	const struct fd_reader *r = ctx;
	uint8_t *p = buf;

	while (n) {
		ssize_t got;
		int ret = wait_readable(r);

		if (ret < 0)
			return ret;
		got = recv(r->fd, p, n, MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EPIPE;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int migrate_incoming(const struct vmm_config *cfg, int console_fd, int lfd,
		     const int *stop_fds, unsigned nstop, int idle_ms, struct vm **out,
		     struct migrate_recv_stats *stats, struct vmm_error *err)
{
	struct migrate_header want = {
		.version = MIGRATE_VERSION, .page_size = MIGRATE_PAGE,
		.ram_base = MACHINE_RAM_BASE, .ram_size = cfg->memory_mib << 20,
		.vcpus = cfg->vcpus,
	};
	struct fd_reader fr = { .fd = lfd, .stop_fds = stop_fds, .nstop = nstop,
				.idle_ms = -1 };
	struct migrate_reader r = { .read = fd_read, .ctx = &fr };
	struct vm_state st;
	void *alloc, *ram;
	size_t alloc_size;
	int fd, ret;

	*out = NULL;
	memset(stats, 0, sizeof(*stats));
	/* The source may take its time to come (the controller decides). */
	if ((ret = wait_readable(&fr)) < 0)
		return vmm_error_set(err, "incoming", -ret, "waiting for the source: %s",
				     ret == -ECANCELED ? "stopped" : strerror(-ret));
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return vmm_error_sys(err, "accept");
	fr.fd = fd;
	fr.idle_ms = idle_ms;
	ret = guest_mem_alloc(want.ram_size, (size_t)2 << 20, &alloc, &alloc_size, &ram, err);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	ret = migrate_recv(&r, &want, ram, &st, stats, err);
	close(fd);
	if (ret < 0) {
		if (ret == -ECANCELED)
			vmm_error_set(err, "incoming", ECANCELED, "stopped during the stream");
		else if (ret == -ETIMEDOUT)
			vmm_error_set(err, "incoming", ETIMEDOUT,
				      "no byte from the source for %d ms", idle_ms);
		munmap(alloc, alloc_size);
		return ret;
	}
	ret = vm_create_incoming(cfg, console_fd, alloc, alloc_size, ram, &st, out, err);
	if (ret == 0)
		test_digest_ram("migrated in", ram, want.ram_size);
	vm_state_free(&st);
	return ret;
}
