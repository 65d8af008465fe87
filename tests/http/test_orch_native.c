/*
 * What an orchestrator relies on besides events, on a machine without KVM
 * (VMs are fake-vmm processes re-adopted from seeded records, as in
 * test_records_native): names and labels, GET /v1/vms filters and pages,
 * the timestamps and exit reason of every VM, name uniqueness on create,
 * and the refusals of each.
 * usage: test_orch_native PINVMD FAKE_VMM
 */
#include "check.h"
#include "client.h"
#include "daemon.h"
#include "fake_vm.h"
#include "sse.h"
#include "store.h"
#include "vmm_client.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct client c;
static char state[128], images[128], logpath[160], listen_spec[64];
static int port;

static void seed(struct store *s, const char *id, const char *st, const char *name,
		 const char *labels)
{
	char err[256];
	json_t *doc = json_pack("{s:s, s:s, s:{s:i, s:i, s:s}, s:n, s:s, s:s, s:s, s:i}",
				"id", id, "created_at", "2026-11-25T00:00:00Z", "spec",
				"vcpus", 1, "memory_mib", 64, "kernel", "guest.Image", "abi",
				"profile", "", "state", st, "reason", st[0] == 's' ? "poweroff" : "",
				"pid", 4242);
	json_t *spec = json_object_get(doc, "spec");

	if (name)
		json_object_set_new(spec, "name", json_string(name));
	if (labels)
		json_object_set_new(spec, "labels", json_loads(labels, 0, NULL));
	check(store_vm_put(s, id, doc, err, sizeof(err)) == 0, "seed a record", "%s", err);
	json_decref(doc);
}

/* The ids GET path lists, comma-separated in order, into out; the status. */
static long ids_of(const char *path, char *out, size_t len, char *cursor, size_t clen)
{
	struct response r;
	json_t *vm;
	size_t i, n = 0;
	long status;

	out[0] = '\0';
	if (cursor)
		cursor[0] = '\0';
	client_call(&c, "GET", path, NULL, NULL, 0, NULL, &r);
	status = r.status;
	json_array_foreach(json_object_get(r.json, "vms"), i, vm)
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", i ? "," : "",
				      json_string_value(json_object_get(vm, "id")));
	if (cursor && json_string_value(json_object_get(r.json, "next_cursor")))
		snprintf(cursor, clen, "%s", json_string_value(json_object_get(r.json, "next_cursor")));
	if (status != 200)
		fprintf(stderr, "# %s: %ld %s\n", path, status, r.body ? r.body : "");
	response_free(&r);
	return status;
}

static bool refused(const char *method, const char *path, const char *body, long status,
		    const char *code, const char *field)
{
	struct response r;
	bool ok;

	client_call(&c, method, path, NULL, body, body ? strlen(body) : 0, NULL, &r);
	ok = r.status == status && !strcmp(response_str(&r, "code") ?: "", code) &&
	     (!field || !strcmp(response_str(&r, "field") ?: "", field));
	if (!ok)
		fprintf(stderr, "# %s %s: %ld %s\n", method, path, r.status, r.body ? r.body : "");
	response_free(&r);
	return ok;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

int main(int argc, char **argv)
{
	char tmpdir[] = "/tmp/pinvm-orch-XXXXXX", ready[160];
	char dir[256], path[300], err[256], ids[512], cur[64], all[512], etag_running[64] = "";
	struct vmm_client web1;
	struct store *s;
	json_t *o;
	pid_t pid;
	int status;
	FILE *f;

	if (argc != 3 || !mkdtemp(tmpdir))
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(images, sizeof(images), "%s/images", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	mkdir(state, 0700);
	mkdir(images, 0755);
	snprintf(path, sizeof(path), "%s/guest.Image", images);
	f = fopen(path, "w");
	if (f) {
		fputs("not a kernel", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/vms", state);
	mkdir(path, 0700);
	/* Port 0: the port pinvmd took is read from its ready file. */
	snprintf(listen_spec, sizeof(listen_spec), "tcp:127.0.0.1:0");
	snprintf(ready, sizeof(ready), "%s/ready", tmpdir);

	if (store_open(state, &s, err, sizeof(err)) < 0) {
		check(false, "open the store", "%s", err);
		return check_summary();
	}
	/* Oldest first, as a store lists them. */
	snprintf(dir, sizeof(dir), "%s/vms/web1", state);
	mkdir(dir, 0700);
	check(fake_vm_spawn_running(argv[2], dir, &web1), "a live VM (fake-vmm)", "no fake-vmm");
	seed(s, "web1", "running", "web-1", "{\"tier\":\"web\",\"env\":\"prod\"}");
	seed(s, "web2", "stopped", "web-2", "{\"tier\":\"web\",\"env\":\"dev\"}");
	seed(s, "db1", "stopped", "db-1", "{\"tier\":\"db\",\"env\":\"prod\"}");
	seed(s, "anon", "failed", NULL, NULL);
	for (const char *const *id = (const char *const[]){ "web2", "db1", "anon", NULL }; *id; id++) {
		snprintf(dir, sizeof(dir), "%s/vms/%s", state, *id);
		mkdir(dir, 0700);
	}
	store_close(s);
	{
		const char *args[] = { "--listen", listen_spec, "--state-dir", state, "--image-dir",
				       images, "--ready-file", ready, NULL };

		pid = daemon_spawn(argv[1], args, logpath);
	}
	port = daemon_wait_ready(ready, pid);
	if (!check(port > 0, "pinvmd starts", "see %s", logpath))
		return check_summary();
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);

	/* Names and labels on every VM. */
	o = client_get_vm(&c, "web1");
	check(!strcmp(str(o, "name"), "web-1") &&
		      !strcmp(str(json_object_get(o, "labels"), "tier"), "web"),
	      "a VM shows its name and labels", "%s %s", str(o, "name"), str(o, "id"));
	check(*str(o, "updated_at") && *str(o, "created_at") && !json_object_get(o, "exited_at"),
	      "a running VM has updated_at, no exited_at", "-");
	json_decref(o);
	o = client_get_vm(&c, "anon");
	check(json_is_object(json_object_get(o, "labels")) &&
		      json_object_size(json_object_get(o, "labels")) == 0 &&
		      !json_object_get(o, "name"),
	      "a VM without them: labels {}, no name", "-");
	json_decref(o);

	/* Selection. */
	check(ids_of("/v1/vms", all, sizeof(all), NULL, 0) == 200 &&
		      !strcmp(all, "anon,db1,web2,web1"), "GET /v1/vms: every VM, newest first",
	      "%s", all);
	check(ids_of("/v1/vms?state=stopped", ids, sizeof(ids), NULL, 0) == 200 &&
		      !strcmp(ids, "db1,web2"), "?state=stopped", "%s", ids);
	check(ids_of("/v1/vms?label=tier=web", ids, sizeof(ids), NULL, 0) == 200 &&
		      !strcmp(ids, "web2,web1"), "?label=tier=web", "%s", ids);
	check(ids_of("/v1/vms?label=tier=web,env=prod", ids, sizeof(ids), NULL, 0) == 200 &&
		      !strcmp(ids, "web1"), "?label=tier=web,env=prod: both terms", "%s", ids);
	check(ids_of("/v1/vms?label=env", ids, sizeof(ids), NULL, 0) == 200 &&
		      !strcmp(ids, "db1,web2,web1"), "?label=env: the key is present", "%s", ids);
	check(ids_of("/v1/vms?name=db-1", ids, sizeof(ids), NULL, 0) == 200 &&
		      !strcmp(ids, "db1"), "?name=db-1", "%s", ids);
	check(ids_of("/v1/vms?state=running&label=tier=db", ids, sizeof(ids), NULL, 0) == 200 &&
		      !ids[0], "filters combine: none is running and tier=db", "%s", ids);
	{
		char got[1200] = "", page[128];
		int pages = 0;

		snprintf(page, sizeof(page), "/v1/vms?limit=3");
		for (;;) {
			check(ids_of(page, ids, sizeof(ids), cur, sizeof(cur)) == 200, "a page", "-");
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.500s",
				 got[0] && ids[0] ? "," : "", ids);
			pages++;
			if (!cur[0] || pages > 4)
				break;
			snprintf(page, sizeof(page), "/v1/vms?limit=3&cursor=%s", cur);
		}
		check(pages == 2 && !strcmp(got, all), "?limit=3: two pages, every VM once, in order",
		      "%d pages: %s", pages, got);
		check(ids_of("/v1/vms?label=tier=web&limit=1", ids, sizeof(ids), cur, sizeof(cur)) ==
			      200 && !strcmp(ids, "web2") && cur[0],
		      "a filtered page of 1, with a next_cursor", "%s", ids);
		snprintf(page, sizeof(page), "/v1/vms?label=tier=web&limit=1&cursor=%s", cur);
		check(ids_of(page, ids, sizeof(ids), cur, sizeof(cur)) == 200 && !strcmp(ids, "web1") &&
			      !cur[0], "its next page: the other, and no cursor", "%s", ids);
	}
	check(refused("GET", "/v1/vms?state=sleeping", NULL, 400, "bad_state", "state"),
	      "?state=sleeping: 400 bad_state", "-");
	check(refused("GET", "/v1/vms?label=a=b=c", NULL, 400, "bad_label_selector", "label"),
	      "?label=a=b=c: 400 bad_label_selector", "-");
	check(refused("GET", "/v1/vms?name=Web", NULL, 400, "bad_name", "name"),
	      "?name=Web: 400 bad_name", "-");
	check(refused("GET", "/v1/vms?limit=0", NULL, 400, "bad_limit", "limit"),
	      "?limit=0: 400 bad_limit", "-");
	check(refused("GET", "/v1/vms?cursor=x", NULL, 400, "bad_cursor", "cursor"),
	      "?cursor=x: 400 bad_cursor", "-");
	check(refused("GET", "/v1/vms?label=a&label=b", NULL, 400, "duplicate_parameter", "label"),
	      "label twice: 400 duplicate_parameter", "-");

	/* Names are unique, checked first; a refused create gives its name back. */
	check(refused("POST", "/v1/vms",
		      "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"guest.Image\",\"name\":\"web-1\"}",
		      409, "name_taken", "name"), "a taken name: 409 name_taken", "-");
	check(refused("POST", "/v1/vms",
		      "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"guest.Image\",\"name\":\"new-1\"}",
		      503, "no_hypervisor", NULL) &&
		      refused("POST", "/v1/vms",
			      "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"guest.Image\",\"name\":\"new-1\"}",
			      503, "no_hypervisor", NULL),
	      "a free name on a refused create is free again", "-");
	check(refused("POST", "/v1/vms",
		      "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"guest.Image\",\"name\":\"Web 1\"}",
		      422, "bad_name", "name"), "a bad name: 422 bad_name", "-");
	check(refused("POST", "/v1/vms",
		      "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"guest.Image\",\"labels\":{\"k\":1}}",
		      400, "wrong_type", "labels.k"), "a label that is no string: 400 labels.k", "-");
	check(refused("POST", "/v1/vms",
		      "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"guest.Image\",\"labels\":[]}",
		      400, "wrong_type", "labels"), "labels not an object: 400", "-");

	/* ETags: the same tag while nothing changes, 304 for If-None-Match. */
	{
		struct response r1, r2, r3;
		char inm[96];

		client_call(&c, "GET", "/v1/vms/web1", NULL, NULL, 0, NULL, &r1);
		client_call(&c, "GET", "/v1/vms/web1", NULL, NULL, 0, NULL, &r2);
		check(r1.status == 200 && r1.etag[0] == '"' && !strcmp(r1.etag, r2.etag),
		      "GET /v1/vms/{id} has an ETag, the same while the VM is unchanged", "'%s' '%s'",
		      r1.etag, r2.etag);
		snprintf(inm, sizeof(inm), "If-None-Match: W/\"x\", %s", r1.etag);
		client_call(&c, "GET", "/v1/vms/web1", NULL, NULL, 0, inm, &r3);
		check(r3.status == 304 && r3.len == 0 && !strcmp(r3.etag, r1.etag),
		      "If-None-Match with it: 304, no body, the tag", "%ld %zu", r3.status, r3.len);
		snprintf(etag_running, sizeof(etag_running), "%s", r1.etag);
		response_free(&r1);
		response_free(&r2);
		response_free(&r3);
		client_call(&c, "GET", "/v1/profiles/idem-none", NULL, NULL, 0,
			    "If-None-Match: *", &r1);
		check(r1.status == 404 && !r1.etag[0], "a 404 has no ETag and is no 304", "%ld",
		      r1.status);
		response_free(&r1);
	}
	/* Long-poll: answered when the state comes, or at the deadline. */
	{
		struct sse lp, lp2, lp3;
		struct sse_event ev;
		struct response r;
		json_t *got = NULL;

		check(sse_open(&lp, port, "/v1/vms/web2?wait_for=stopped", NULL, 10000) &&
			      lp.status == 200 && sse_next(&lp, 10000, &ev) == 0 &&
			      (got = json_loads(lp.buf ? lp.buf : "", 0, NULL)) &&
			      !strcmp(str(got, "state"), "stopped"),
		      "wait_for a state it is in: answered at once", "%ld", lp.status);
		json_decref(got);
		got = NULL;
		sse_close(&lp);
		check(sse_open(&lp, port, "/v1/vms/web2?wait_for=running&timeout=60", NULL, 10000) &&
			      lp.status == 200 && sse_next(&lp, 10000, &ev) == 0,
		      "wait_for running on a stopped VM: answered at once (it cannot get there)",
		      "%ld", lp.status);
		sse_close(&lp);
		check(sse_open(&lp, port, "/v1/vms/web1?wait_for=stopped&timeout=60", NULL, 10000) &&
			      lp.status == 200, "wait_for stopped on a running VM: 200, waiting",
		      "%ld", lp.status);
		check(sse_open(&lp2, port, "/v1/vms/web1?wait_for=paused&timeout=1", NULL, 10000) &&
			      lp2.status == 200, "a second waiter with a 1 s timeout", "%ld", lp2.status);
		check(sse_next(&lp2, 30000, &ev) == 0 && (got = json_loads(lp2.buf ?: "", 0, NULL)) &&
			      !strcmp(str(got, "state"), "running"),
		      "the 1 s waiter is answered at its deadline, with the state then (running)",
		      "%s", lp2.buf ? lp2.buf : "");
		json_decref(got);
		check(sse_next(&lp, 200, &ev) == -1, "the other still waits", "it ended");
		client_call(&c, "POST", "/v1/vms/web1/actions", NULL, "{\"action\":\"stop\"}", 17,
			    NULL, &r);
		check(r.status == 200, "stop web1 while it is waited on", "%ld", r.status);
		response_free(&r);
		got = NULL;
		check(sse_next(&lp, 30000, &ev) == 0 && (got = json_loads(lp.buf ?: "", 0, NULL)) &&
			      !strcmp(str(got, "state"), "stopped"),
		      "the waiter is answered by the stop: stopped", "%s", lp.buf ? lp.buf : "");
		json_decref(got);
		sse_close(&lp);
		sse_close(&lp2);
		check(refused("GET", "/v1/vms/web1?wait_for=sleeping", NULL, 400, "bad_state",
			      "wait_for") &&
			      refused("GET", "/v1/vms/web1?wait_for=running&timeout=0", NULL, 400,
				      "bad_timeout", "timeout") &&
			      refused("GET", "/v1/vms/web1?timeout=5", NULL, 400, "missing_parameter",
				      "wait_for") &&
			      refused("GET", "/v1/vms/nope?wait_for=running", NULL, 404, "vm_not_found",
				      NULL),
		      "bad wait_for, timeout 0, timeout alone, unknown VM: 400, 400, 400, 404", "-");
		/* A waiter at shutdown is answered, not cut off. */
		(void)lp3;
	}
	/* After a change (the long-poll above stopped web1) the tag is another. */
	{
		struct response r1;
		char inm[96];

		snprintf(inm, sizeof(inm), "If-None-Match: %s", etag_running);
		client_call(&c, "GET", "/v1/vms/web1", NULL, NULL, 0, inm, &r1);
		check(r1.status == 200 && r1.etag[0] && strcmp(r1.etag, etag_running),
		      "once the VM changed: 200 with another ETag", "%ld '%s'", r1.status, r1.etag);
		response_free(&r1);
	}
	/* Timestamps and the exit reason follow the VM's life. */
	o = client_get_vm(&c, "web1");
	check(!strcmp(str(o, "state"), "stopped") && !strcmp(str(o, "exit_reason"), "stopped") &&
		      *str(o, "exited_at") && !strcmp(str(o, "exited_at"), str(o, "updated_at")),
	      "a stopped VM: exited_at, exit_reason stopped, updated_at with it", "%s %s %s",
	      str(o, "state"), str(o, "exit_reason"), str(o, "exited_at"));
	json_decref(o);
	waitpid(web1.pid, &status, 0);
	/* start of a stopped VM is a cold boot: here, without KVM, refused
	 * like a create, and the VM stays as it was. */
	check(refused("POST", "/v1/vms/web1/actions", "{\"action\":\"start\"}", 503,
		      "no_hypervisor", NULL), "start of a stopped VM without KVM: 503", "-");
	o = client_get_vm(&c, "web1");
	check(!strcmp(str(o, "state"), "stopped") && !strcmp(str(o, "exit_reason"), "stopped"),
	      "and it stays stopped, with its reason", "%s %s", str(o, "state"), str(o, "reason"));
	json_decref(o);
	check(refused("POST", "/v1/vms/web1/actions", "{\"action\":\"pause\"}", 409,
		      "illegal_transition", "action"), "pause of a stopped VM: 409", "-");
	o = client_get_vm(&c, "db1");
	check(!strcmp(str(o, "exit_reason"), "poweroff"), "a record's poweroff: exit_reason poweroff",
	      "%s", str(o, "exit_reason"));
	json_decref(o);
	/* Deleting a VM frees its name (the claim is gone with it). */
	check(refused("DELETE", "/v1/vms/db1", NULL, 204, "", NULL), "DELETE db1", "-");
	check(refused("POST", "/v1/vms",
		      "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"guest.Image\",\"name\":\"db-1\"}",
		      503, "no_hypervisor", NULL), "its name is free again", "-");

	/* Idempotency-Key: a retried POST gets the first answer, not a second
	 * profile; another body under the same key is refused. */
	{
		static const char prof[] = "{\"name\":\"idem-1\",\"unknown_registers\":\"disable\","
					   "\"registers\":{\"PSCI_VERSION\":\"1.0\"}}";
		static const char other[] = "{\"name\":\"idem-2\",\"unknown_registers\":\"disable\","
					    "\"registers\":{\"PSCI_VERSION\":\"1.0\"}}";
		struct response r1, r2, r3, r4;
		char *first;

		client_call(&c, "POST", "/v1/profiles", NULL, prof, strlen(prof),
			    "Idempotency-Key: k-1", &r1);
		check(r1.status == 201, "POST with Idempotency-Key: 201", "%ld %s", r1.status, r1.body);
		first = r1.json ? json_dumps(r1.json, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		client_call(&c, "POST", "/v1/profiles", NULL, prof, strlen(prof),
			    "Idempotency-Key: k-1", &r2);
		{
			char *again = r2.json ? json_dumps(r2.json, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

			check(r2.status == 201 && first && again && !strcmp(first, again),
			      "the same POST again: the first answer replayed (not 409 exists)",
			      "%ld %s", r2.status, r2.body);
			free(again);
		}
		client_call(&c, "POST", "/v1/profiles", NULL, other, strlen(other),
			    "Idempotency-Key: k-1", &r3);
		check(r3.status == 422 &&
			      !strcmp(response_str(&r3, "code") ?: "", "idempotency_key_reused") &&
			      !strcmp(response_str(&r3, "field") ?: "", "Idempotency-Key"),
		      "the same key with another body: 422 idempotency_key_reused", "%ld %s",
		      r3.status, r3.body);
		client_call(&c, "GET", "/v1/profiles/idem-2", NULL, NULL, 0, NULL, &r4);
		check(r4.status == 404, "and it had no effect", "%ld", r4.status);
		response_free(&r1);
		response_free(&r2);
		response_free(&r3);
		response_free(&r4);
		free(first);
		client_call(&c, "POST", "/v1/profiles", NULL, prof, strlen(prof),
			    "Idempotency-Key: k\x01", &r1);
		check(r1.status == 400 && !strcmp(response_str(&r1, "code") ?: "", "bad_idempotency_key"),
		      "a key with a control character: 400 bad_idempotency_key", "%ld %s", r1.status,
		      r1.body);
		response_free(&r1);
		/* A 5xx is not kept: the retry runs again (503 again, no replay). */
		check(refused("POST", "/v1/vms",
			      "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"guest.Image\"}", 503,
			      "no_hypervisor", NULL), "a create refused with 503", "-");
	}
	/* Kept across a restart. */
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	{
		const char *args[] = { "--listen", listen_spec, "--state-dir", state, "--image-dir",
				       images, "--ready-file", ready, NULL };
		static const char prof[] = "{\"name\":\"idem-1\",\"unknown_registers\":\"disable\","
					   "\"registers\":{\"PSCI_VERSION\":\"1.0\"}}";
		struct response r;

		pid = daemon_spawn(argv[1], args, logpath);
		port = daemon_wait_ready(ready, pid);
		check(port > 0, "pinvmd starts again", "see %s", logpath);
		snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);
		client_call(&c, "POST", "/v1/profiles", NULL, prof, strlen(prof),
			    "Idempotency-Key: k-1", &r);
		check(r.status == 201, "after a restart the key still replays its 201", "%ld %s",
		      r.status, r.body);
		response_free(&r);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	curl_global_cleanup();
	return check_summary();
}
