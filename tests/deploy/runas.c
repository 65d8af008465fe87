/*
 * runas UID GID GROUPS PROGRAM [ARGS...]: runs PROGRAM as UID:GID with the
 * comma-separated supplementary GROUPS and no capability left, as a
 * container runtime starts an image's process for "User: UID:GID" (groups
 * from the image's /etc/group). tests/deploy/images.sh builds it statically
 * for aarch64 to start the pinvmd image's root file system inside the lab,
 * where there is no container runtime. Test helper only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno || end == s || *end) ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long uid, gid, g;
	gid_t groups[32];
	size_t n = 0;
	char *list, *tok, *save = NULL;

	if (argc < 5 || parse_id(argv[1], &uid) || parse_id(argv[2], &gid)) {
		fprintf(stderr, "usage: runas UID GID GROUP[,GROUP...] PROGRAM [ARGS...]\n");
		return 2;
	}
	list = argv[3];
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == sizeof(groups) / sizeof(groups[0]) || parse_id(tok, &g)) {
			fprintf(stderr, "runas: bad group list\n");
			return 2;
		}
		groups[n++] = (gid_t)g;
	}
	if (setgroups(n, groups) || setgid((gid_t)gid) || setuid((uid_t)uid)) {
		perror("runas: setgroups/setgid/setuid");
		return 1;
	}
	/* A non-zero uid after setuid() has no capabilities; no regaining any. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("runas: PR_SET_NO_NEW_PRIVS");
		return 1;
	}
	execv(argv[4], &argv[4]);
	perror("runas: execv");
	return 127;
}
