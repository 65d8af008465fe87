#include "vm_dir.h"

#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[VM_FILE_COUNT] = {
	[VM_FILE_CONFIG] = "config.json",   [VM_FILE_CONSOLE] = "console.log",
	[VM_FILE_VMM_LOG] = "vmm.log",      [VM_FILE_CONTROL] = "control.sock",
	[VM_FILE_EXIT] = "exit.json",       [VM_FILE_INCOMING] = "incoming.sock",
	[VM_FILE_PRERUN] = "prerun.json",
};

static int join(char *out, size_t len, const char *a, const char *b, const char *c)
{
	int n = snprintf(out, len, "%s/%s%s", a, b, c);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vm_dir_path(const char *state_dir, const char *id, char *out, size_t len)
{
	char vms[PATH_MAX];
	int ret = join(vms, sizeof(vms), state_dir, "vms", "");

	return ret ? ret : join(out, len, vms, id, "");
}

int vm_dir_file(const char *dir, enum vm_file f, char *out, size_t len)
{
	return join(out, len, dir, names[f], "");
}

int vm_dir_create(const char *dir)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(dir, '/');

	if (!slash || (size_t)(slash - dir) >= sizeof(parent))
		return -EINVAL;
	memcpy(parent, dir, (size_t)(slash - dir));
	parent[slash - dir] = '\0';
	if (mkdir(parent, 0700) < 0 && errno != EEXIST)
		return -errno;
	return mkdir(dir, 0700) < 0 ? -errno : 0;
}

void vm_dir_remove(const char *dir)
{
	char path[PATH_MAX];

	for (int f = 0; f < VM_FILE_COUNT; f++) {
		/* vmm_json_save() writes NAME.tmp, then renames it. */
		if (!join(path, sizeof(path), dir, names[f], ""))
			unlink(path);
		if (!join(path, sizeof(path), dir, names[f], ".tmp"))
			unlink(path);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		log_msg(LOG_WARN, "cannot remove %s: %s", dir, strerror(errno));
}
