#include "vmm_control.h"

#include "vmm_config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int sockaddr_for(const char *path, struct sockaddr_un *sa,
			struct vmm_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return vmm_error_set(err, "control-socket", ENAMETOOLONG,
				     "%s: longer than a Unix socket path may be (%zu)",
				     path, sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int vmm_control_listen(const char *path, int *lfd, struct vmm_error *err)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, ret;

	*lfd = -1;
	ret = sockaddr_for(path, &sa, err);
	if (ret < 0)
		return ret;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return vmm_error_set(err, "control-socket", EEXIST,
					     "%s exists and is not a socket", path);
		unlink(path); /* left by a pinvm-vmm that was killed */
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vmm_error_sys(err, "control-socket");
	/* Only pinvmd's user may take the VM over: no window with a wider mode. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0 || listen(fd, 4) < 0) {
		ret = vmm_error_set(err, "control-socket", errno, "%s: %s", path,
				    strerror(errno));
		close(fd);
		return ret;
	}
	*lfd = fd;
	return 0;
}

int vmm_control_accept(int lfd, int *ctl, const char *state,
		       struct vmm_error *err)
{
	struct vmm_event ev = { .type = VMM_EVENT_ATTACHED };
	int fd, ret;

	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return vmm_error_sys(err, "accept");
	if (*ctl >= 0) {
		ev.type = VMM_EVENT_REJECTED;
		snprintf(ev.op, sizeof(ev.op), "attach");
		snprintf(ev.error.detail, sizeof(ev.error.detail),
			 "another pinvmd controls this VM");
		vmm_proto_send_event(fd, &ev);
		close(fd);
		return vmm_error_set(err, "accept", EBUSY,
				     "a second controller was turned away");
	}
	snprintf(ev.state, sizeof(ev.state), "%s", state);
	ret = vmm_proto_send_event(fd, &ev);
	if (ret < 0) {
		close(fd);
		return vmm_error_set(err, "accept", -ret, "sending \"attached\": %s",
				     strerror(-ret));
	}
	*ctl = fd;
	return 0;
}

int vmm_exit_file_write(const char *path, const struct vmm_event *ev,
			struct vmm_error *err)
{
	json_t *obj = vmm_event_to_json(ev);
	int ret;

	if (!obj)
		return vmm_error_set(err, "exit-file", ENOMEM, "out of memory");
	ret = vmm_json_save(obj, JSON_COMPACT, path, "exit-file", err);
	json_decref(obj);
	return ret;
}

int vmm_exit_file_read(const char *path, struct vmm_event *ev,
		       struct vmm_error *err)
{
	json_error_t jerr;
	json_t *obj;
	int ret;

	memset(ev, 0, sizeof(*ev));
	obj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return vmm_error_set(err, "exit-file", ENOENT, "%s: none", path);
		return vmm_error_set(err, "exit-file", EPROTO, "%s: %s", path, jerr.text);
	}
	ret = vmm_event_from_json(obj, ev, err);
	json_decref(obj);
	if (ret < 0)
		return ret;
	if (ev->type != VMM_EVENT_EXITED && ev->type != VMM_EVENT_ERROR) {
		vmm_event_clear(ev);
		return vmm_error_set(err, "exit-file", EPROTO,
				     "%s holds no exited or error event", path);
	}
	return 0;
}
