/*
 * DELETE racing every other request on the same VM, in the lab (real KVM,
 * and under ASan+UBSan in the ASan lab step): each round creates a VM from
 * a tiny spinning kernel, lets threads GET it, act on it and read its
 * console while the main thread deletes it, then checks that every answer
 * was one a client can expect (200, 404, 409; never a 5xx or a dropped
 * connection), that the VM is gone, and at the end that pinvmd lives and
 * left no pinvm-vmm and no VM directory behind. A use of a freed VM would
 * be an ASan report there.
 * usage: test_lab_races URL CONTROL_URL ROUNDS
 */
#include "check.h"
#include "client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Writes /images/spin.Image: an arm64 Image header whose first instruction
 * is "b ." (a guest that only spins), 4 KiB in all. */
static const char *make_image =
	"f=/images/spin.Image; "
	"printf '\\000\\000\\000\\024\\000\\000\\000\\000' > $f; "        /* code0: b . */
	"printf '\\000\\000\\000\\000\\000\\000\\000\\000' >> $f; "       /* text_offset 0 */
	"printf '\\000\\020\\000\\000\\000\\000\\000\\000' >> $f; "       /* image_size 4096 */
	"printf '\\002\\000\\000\\000\\000\\000\\000\\000' >> $f; "       /* flags: LE, 4K */
	"head -c 24 /dev/zero >> $f; printf 'ARM\\144' >> $f; "          /* magic at 56 */
	"head -c 4036 /dev/zero >> $f; wc -c < $f";

static struct client c, ctl;

/* "vmm=N dirs=M": live VMs' pinvm-vmm processes and VM directories in the
 * lab (caller frees), so the end can be compared with the start. A
 * standby (pinvmd's --standby-vmms) is named pinvm-standby until a VM
 * takes it: not counted. */
static char *leftovers(void)
{
	const char *cmd = "n=0; for p in $(pidof pinvm-vmm); do "
			  "[ \"$(cat /proc/$p/comm 2>/dev/null)\" = pinvm-vmm ] || continue; "
			  "grep -q '^State:.*Z' /proc/$p/status || n=$((n+1)); done; "
			  "echo vmm=$n dirs=$(ls /var/lib/pinvm/vms 2>/dev/null | wc -l)";
	struct response r;
	char *out;

	client_call(&ctl, "POST", "/cgi-bin/run", "text/plain", cmd, strlen(cmd), NULL, &r);
	out = strdup(r.status == 200 && r.body ? r.body : "(control port failed)");
	response_free(&r);
	return out;
}

struct racer {
	pthread_t thread;
	char id[64];
	int kind;                /* 0 GET, 1 actions, 2 console */
	unsigned seed;
	atomic_bool *deleted;
	unsigned calls, ok, gone, conflict, bad;
	long bad_status;
	char bad_body[420];
};

static void *race(void *arg)
{
	static const char *const acts[] = { "start", "pause", "resume", "stop" };
	struct racer *r = arg;
	char path[160];

	/* Until the VM is gone (and a few calls after DELETE answered, so
	 * requests really cross it), with a cap for safety. */
	for (unsigned i = 0; i < 400; i++) {
		struct response resp;
		long status;

		if (r->kind == 0) {
			snprintf(path, sizeof(path), "/v1/vms/%s", r->id);
			client_call(&c, "GET", path, NULL, NULL, 0, NULL, &resp);
		} else if (r->kind == 1) {
			char body[64];

			snprintf(path, sizeof(path), "/v1/vms/%s/actions", r->id);
			snprintf(body, sizeof(body), "{\"action\": \"%s\"}",
				 acts[rand_r(&r->seed) % 4]);
			client_call(&c, "POST", path, NULL, body, strlen(body), NULL, &resp);
		} else {
			snprintf(path, sizeof(path), "/v1/vms/%s/console?offset=0", r->id);
			client_call(&c, "GET", path, NULL, NULL, 0, NULL, &resp);
		}
		r->calls++;
		if (resp.status == 200)
			r->ok++;
		else if (resp.status == 404)
			r->gone++;
		else if (resp.status == 409)
			r->conflict++;
		else if (!r->bad++) {
			r->bad_status = resp.status;
			snprintf(r->bad_body, sizeof(r->bad_body), "%.100s %.100s: %.200s", path,
				 resp.error[0] ? resp.error : "", resp.body ? resp.body : "");
		}
		status = resp.status;
		response_free(&resp);
		if (status == 404 && atomic_load(r->deleted))
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned rounds, created = 0, deleted_ok = 0, gone_after = 0, bad = 0;
	unsigned calls = 0, ok = 0, gone = 0, conflict = 0;
	char first_bad[512] = "", *out, *before, *after;
	struct response r;

	if (argc != 4 || (rounds = (unsigned)atoi(argv[3])) == 0) {
		fprintf(stderr, "usage: %s URL CONTROL_URL ROUNDS\n", argv[0]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(c.base, sizeof(c.base), "%s", argv[1]);
	snprintf(ctl.base, sizeof(ctl.base), "%s", argv[2]);
	client_call(&ctl, "POST", "/cgi-bin/run", "text/plain", make_image,
		    strlen(make_image), NULL, &r);
	out = r.body ? r.body : "";
	if (!check(r.status == 200 && atoi(out) == 4096, "the spinning test kernel is in /images",
		   "%ld %s", r.status, out)) {
		response_free(&r);
		return check_summary();
	}
	response_free(&r);
	before = leftovers();

	for (unsigned round = 0; round < rounds; round++) {
		const char *spec = "{\"vcpus\": 1, \"memory_mib\": 32, \"kernel\": \"spin.Image\"}";
		struct racer racers[3];
		atomic_bool deleted = false;
		char id[64], path[128];

		client_call(&c, "POST", "/v1/vms", NULL, spec, strlen(spec), NULL, &r);
		if (r.status != 201 || !response_str(&r, "id")) {
			if (!bad++)
				snprintf(first_bad, sizeof(first_bad), "round %u: create %ld %s",
					 round, r.status, r.body ? r.body : r.error);
			response_free(&r);
			continue;
		}
		created++;
		snprintf(id, sizeof(id), "%s", response_str(&r, "id"));
		response_free(&r);
		for (int k = 0; k < 3; k++) {
			memset(&racers[k], 0, sizeof(racers[k]));
			snprintf(racers[k].id, sizeof(racers[k].id), "%s", id);
			racers[k].kind = k;
			racers[k].seed = round * 3 + (unsigned)k;
			racers[k].deleted = &deleted;
			pthread_create(&racers[k].thread, NULL, race, &racers[k]);
		}
		/* Let some requests start first, a different amount each round. */
		usleep((useconds_t)(round % 10) * 2000);
		snprintf(path, sizeof(path), "/v1/vms/%s", id);
		client_call(&c, "DELETE", path, NULL, NULL, 0, NULL, &r);
		atomic_store(&deleted, true);
		if (r.status == 204)
			deleted_ok++;
		else if (!bad++)
			snprintf(first_bad, sizeof(first_bad), "round %u: DELETE %ld %s", round,
				 r.status, r.body ? r.body : r.error);
		response_free(&r);
		for (int k = 0; k < 3; k++) {
			pthread_join(racers[k].thread, NULL);
			calls += racers[k].calls;
			ok += racers[k].ok;
			gone += racers[k].gone;
			conflict += racers[k].conflict;
			if (racers[k].bad && !bad++)
				snprintf(first_bad, sizeof(first_bad), "round %u: %ld %s", round,
					 racers[k].bad_status, racers[k].bad_body);
			else
				bad += racers[k].bad ? racers[k].bad - 1 : 0;
		}
		client_call(&c, "GET", path, NULL, NULL, 0, NULL, &r);
		gone_after += r.status == 404;
		response_free(&r);
	}
	printf("# %u rounds: %u requests raced DELETE: %u answered 200, %u 404, %u 409\n",
	       rounds, calls, ok, gone, conflict);
	check(created == rounds, "every round created its VM", "%u of %u", created, rounds);
	check(deleted_ok == created, "every DELETE answered 204 while others used the VM",
	      "%u of %u", deleted_ok, created);
	check(bad == 0, "every racing request answered 200, 404 or 409", "%u others; first: %s",
	      bad, first_bad);
	check(gone_after == created, "each VM is gone after its DELETE", "%u of %u", gone_after,
	      created);
	client_call(&c, "GET", "/v1/health", NULL, NULL, 0, NULL, &r);
	check(r.status == 200, "pinvmd still answers", "%ld %s", r.status, r.error);
	response_free(&r);
	after = leftovers();
	check(!strcmp(before, after), "no pinvm-vmm and no VM directory left behind",
	      "before: %s after: %s", before, after);
	free(before);
	free(after);
	client_call(&ctl, "POST", "/cgi-bin/run", "text/plain", "rm -f /images/spin.Image", 24,
		    NULL, &r);
	response_free(&r);
	curl_global_cleanup();
	return check_summary();
}
