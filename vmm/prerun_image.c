#include "prerun_image.h"

#include "vm_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STEP "prerun"

/* json_dumpb's callback: counts, stopping past the bound. */
static int count(const char *buf, size_t size, void *data)
{
	size_t *n = data;

	(void)buf;
	*n += size;
	return *n > PRERUN_IMAGE_MAX_BYTES ? -1 : 0;
}

int prerun_image_check(const json_t *img, uint64_t memory_mib, struct vmm_error *err)
{
	struct vmm_error local;
	struct vm_state st;
	size_t bytes = 0;
	int ret;

	if (!err)
		err = &local;
	if (!json_is_object(img))
		return vmm_error_set(err, STEP, EINVAL, "(top level): must be an object");
	/* Before the decoder allocates anything for it. */
	if (json_dump_callback(img, count, &bytes, JSON_COMPACT) < 0)
		return vmm_error_set(err, STEP, EINVAL,
				     "(top level): larger than %u bytes", PRERUN_IMAGE_MAX_BYTES);
	ret = vm_state_from_json(img, &st, err);
	if (ret < 0) {
		snprintf(err->step, sizeof(err->step), STEP);
		return ret;
	}
	if (st.vcpus != 1)
		ret = vmm_error_set(err, STEP, EINVAL,
				    "vcpus: %u; a pre-run image holds vCPU 0 only", st.vcpus);
	else if (st.memory_mib != memory_mib)
		ret = vmm_error_set(err, STEP, EINVAL,
				    "memory_mib: %" PRIu64 ", the VM has %" PRIu64, st.memory_mib,
				    memory_mib);
	vm_state_free(&st);
	return ret;
}

int prerun_image_load(const char *path, uint64_t memory_mib, json_t **out,
		      struct vmm_error *err)
{
	json_error_t jerr;
	struct stat sb;
	json_t *img;
	char *buf;
	ssize_t n;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_error_set(err, STEP, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0) {
		ret = vmm_error_set(err, STEP, errno, "%s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > PRERUN_IMAGE_MAX_BYTES) {
		ret = vmm_error_set(err, STEP, S_ISREG(sb.st_mode) ? EFBIG : EINVAL,
				    "%s: not a regular file of at most %u bytes", path,
				    PRERUN_IMAGE_MAX_BYTES);
		close(fd);
		return ret;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return vmm_error_set(err, STEP, ENOMEM, "out of memory");
	}
	n = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (n != (ssize_t)sb.st_size) {
		free(buf);
		return vmm_error_set(err, STEP, EIO, "%s: short read", path);
	}
	img = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!img)
		return vmm_error_set(err, STEP, EINVAL, "%s: %s (line %d)", path, jerr.text,
				     jerr.line);
	ret = prerun_image_check(img, memory_mib, err);
	if (ret < 0) {
		json_decref(img);
		return ret;
	}
	*out = img;
	return 0;
}
