/*
 * Builds for a machine that is not arm64: pinvmd still serves its API
 * (profiles, compatibility checks) but reports that no hypervisor is here.
 */
#include "kvm_host.h"
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/utsname.h>

void kvm_host_probe(struct kvm_host_info *info)
{
	struct utsname u;

	memset(info, 0, sizeof(*info));
	if (uname(&u) == 0) {
		snprintf(info->arch, sizeof(info->arch), "%s", u.machine);
		snprintf(info->kernel_release, sizeof(info->kernel_release),
			 "%s", u.release);
	}
	snprintf(info->reason, sizeof(info->reason),
		 "this pinvmd was built for %s; arm64 KVM needs an aarch64 build "
		 "on an arm64 host", info->arch[0] ? info->arch : "another architecture");
}

int kvm_host_read_fwregs(struct kvm_fwreg **regs, size_t *nregs,
			 char *err, size_t errlen)
{
	*regs = NULL;
	*nregs = 0;
	snprintf(err, errlen, "no arm64 KVM in this build");
	return -ENODEV;
}

int kvm_host_read_idregs(struct id_regs *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	snprintf(err, errlen, "no arm64 KVM in this build");
	return -ENODEV;
}

int probe_run(const struct fw_pin *pins, struct fw_pin *readback, size_t npins,
	      bool pvtime, unsigned timeout_ms,
	      struct probe_result *res, size_t *failed_pin,
	      char *err, size_t errlen)
{
	return probe_run_filtered(pins, readback, npins, pvtime, NULL, 0, timeout_ms,
				  res, failed_pin, err, errlen);
}

int probe_run_filtered(const struct fw_pin *pins, struct fw_pin *readback, size_t npins,
		       bool pvtime,
		       const struct smccc_range *deny, size_t ndeny,
		       unsigned timeout_ms, struct probe_result *res,
		       size_t *failed_pin, char *err, size_t errlen)
{
	(void)deny;
	(void)ndeny;
	(void)pins;
	(void)readback;
	(void)npins;
	(void)pvtime;
	(void)timeout_ms;
	memset(res, 0, sizeof(*res));
	*failed_pin = SIZE_MAX;
	snprintf(err, errlen, "no arm64 KVM in this build");
	return -ENODEV;
}

int probe_image_write(const char *path, char *err, size_t errlen)
{
	(void)path;
	snprintf(err, errlen, "the probe guest is arm64 code; this build has none");
	return -ENODEV;
}
