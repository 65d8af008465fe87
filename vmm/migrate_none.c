/*
 * Live migration on a build without arm64 KVM: there is no VM to send or
 * receive, so these only say so (vm_none.c's counterpart).
 */
#include "migrate_recv.h"
#include "migrate_send.h"

#include <errno.h>
#include <stddef.h>

int migrate_incoming(const struct vmm_config *cfg, int console_fd, int lfd,
		     const int *stop_fds, unsigned nstop, int idle_ms, struct vm **out,
		     struct migrate_recv_stats *stats, struct vmm_error *err)
{
	(void)cfg, (void)console_fd, (void)lfd, (void)stop_fds, (void)nstop, (void)idle_ms;
	*out = NULL;
	*stats = (struct migrate_recv_stats){ 0 };
	return vmm_error_set(err, "kvm", ENODEV,
			     "this pinvm-vmm was built without arm64 KVM support");
}

int migrate_send_start(struct vm *vm, const char *path,
		       const struct migrate_send_limits *limits,
		       struct migrate_send **out, struct vmm_error *err)
{
	(void)vm, (void)path, (void)limits;
	*out = NULL;
	return vmm_error_set(err, "kvm", ENODEV,
			     "this pinvm-vmm was built without arm64 KVM support");
}

int migrate_send_fd(const struct migrate_send *ms)
{
	(void)ms;
	return -1;
}

void migrate_send_progress(struct migrate_send *ms, struct migrate_progress *p)
{
	(void)ms;
	*p = (struct migrate_progress){ .done = true };
}

void migrate_send_cancel(struct migrate_send *ms)
{
	(void)ms;
}

void migrate_send_finish(struct migrate_send *ms, struct migrate_progress *last)
{
	(void)ms;
	if (last)
		*last = (struct migrate_progress){ .done = true };
}
