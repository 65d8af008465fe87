/* A VMM process's memory in the lab (lab_memory.h). */
#include "lab_memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lab_memory_read(const struct client *ctl, long pid, long guest_kb, struct lab_memory *m,
		    char *err, size_t err_len)
{
	char cmd[1024], *out, *total, *guest;
	int ret = -1;

	memset(m, 0, sizeof(*m));
	/* A smaps header line is "start-end perms offset dev inode [path]":
	 * five fields for an anonymous mapping. */
	snprintf(cmd, sizeof(cmd),
		 "p=%ld; [ -r /proc/$p/smaps_rollup ] || { echo 'no process'; exit 0; }; "
		 "awk '/^Rss:/ {r = $2} /^Pss:/ {p = $2} END {print \"total\", r, p}' "
		 "/proc/$p/smaps_rollup; "
		 "awk -v want=%ld '$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ {anon = NF == 5; sz = -1; next} "
		 "/^Size:/ {sz = $2} /^Rss:/ {r = $2} "
		 "/^Pss:/ {if (anon && sz == want && !done) {print \"guest\", r, $2; done = 1}}' "
		 "/proc/$p/smaps",
		 pid, guest_kb);
	out = client_lab_sh(ctl, cmd);
	if (!out) {
		snprintf(err, err_len, "the control port did not answer");
		return -1;
	}
	total = strstr(out, "total ");
	guest = strstr(out, "guest ");
	if (!total || sscanf(total, "total %ld %ld", &m->rss_kb, &m->pss_kb) != 2)
		snprintf(err, err_len, "pid %ld: %s", pid, out);
	else if (!guest || sscanf(guest, "guest %ld %ld", &m->guest_rss_kb, &m->guest_pss_kb) != 2)
		snprintf(err, err_len, "pid %ld has no anonymous mapping of %ld kB", pid, guest_kb);
	else
		ret = 0;
	free(out);
	return ret;
}

char *lab_memory_largest(const struct client *ctl, long pid, long guest_kb, int n)
{
	char cmd[1024], *out, *res;
	size_t len = 0, cap;

	snprintf(cmd, sizeof(cmd),
		 "awk -v want=%ld '$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ "
		 "{name = NF >= 6 ? $6 : \"anonymous\"; sub(/.*\\//, \"\", name); sz = -1; next} "
		 "/^Size:/ {sz = $2} "
		 "/^Rss:/ {if (!(name == \"anonymous\" && sz == want)) kb[name] += $2} "
		 "END {for (m in kb) if (kb[m]) print kb[m], m}' /proc/%ld/smaps | sort -rn | head -n %d",
		 guest_kb, pid, n);
	out = client_lab_sh(ctl, cmd);
	if (!out || !*out) {
		free(out);
		return NULL;
	}
	cap = strlen(out) * 2 + 16;
	res = malloc(cap);
	if (!res) {
		free(out);
		return NULL;
	}
	res[0] = '\0';
	for (char *line = out, *next; *line; line = next) {
		long kb;
		char name[128];

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (sscanf(line, "%ld %127s", &kb, name) == 2) {
			int w = snprintf(res + len, cap - len, "%s%s %ld kB", len ? ", " : "", name, kb);

			if (w < 0 || (size_t)w >= cap - len)
				break;
			len += (size_t)w;
		}
	}
	free(out);
	return res;
}
