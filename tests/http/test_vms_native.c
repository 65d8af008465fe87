/*
 * /v1/images and /v1/vms on a machine without arm64 KVM: everything that
 * must be refused before anything is created (bad fields, image names that
 * leave the image directory, no hypervisor) and the 404s.
 * usage: test_vms_native PINVMD
 */
#include "check.h"
#include "client.h"
#include "daemon.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct client c;

static void expect(const char *method, const char *path, const char *body,
		   long status, const char *code, const char *field, const char *name)
{
	struct response r;
	const char *f;

	client_call(&c, method, path, NULL, body, body ? strlen(body) : 0, NULL, &r);
	f = response_str(&r, "field");
	check(r.status == status && !strcmp(response_str(&r, "code") ?: "", code) &&
		      (field ? f && !strcmp(f, field) : !f),
	      name, "got %ld %s", r.status, r.body ? r.body : "");
	response_free(&r);
}

int main(int argc, char **argv)
{
	char tmpdir[] = "/tmp/pinvm-vms-XXXXXX";
	char state[128], images[128], logpath[128], listen[64], path[256], outside[160];
	char ready[160];
	struct response r;
	pid_t pid;
	int port, status;
	FILE *f;

	if (argc != 2 || !mkdtemp(tmpdir))
		return 2;
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(images, sizeof(images), "%s/images", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	mkdir(images, 0755);
	snprintf(path, sizeof(path), "%s/guest.Image", images);
	f = fopen(path, "w");
	if (f) {
		fputs("not really a kernel", f);
		fclose(f);
	}
	snprintf(outside, sizeof(outside), "%s/secret", tmpdir);
	f = fopen(outside, "w");
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/escape", images);
	if (symlink(outside, path) < 0)
		perror("symlink");
	snprintf(path, sizeof(path), "%s/alias.Image", images);
	if (symlink("guest.Image", path) < 0)
		perror("symlink");
	mkdir(images, 0755);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* Port 0: pinvmd takes a free port and says which in its ready file. */
	snprintf(listen, sizeof(listen), "tcp:127.0.0.1:0");
	snprintf(ready, sizeof(ready), "%s/ready", tmpdir);
	{
		const char *args[] = { "--listen", listen, "--state-dir", state,
				       "--image-dir", images, "--ready-file", ready, NULL };

		pid = daemon_spawn(argv[1], args, logpath);
	}
	port = daemon_wait_ready(ready, pid);
	if (!check(port > 0, "pinvmd starts with an image directory", "see %s", logpath))
		return check_summary();
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);

	client_call(&c, "GET", "/v1/images", NULL, NULL, 0, NULL, &r);
	check(r.status == 200 && strstr(r.body ?: "", "guest.Image") &&
		      strstr(r.body ?: "", "\"size\": 19") == NULL && strstr(r.body ?: "", "\"size\":19"),
	      "GET /v1/images lists the file with its size", "%s", r.body);
	check(r.status == 200 && !strstr(r.body ?: "", "\"escape\""),
	      "GET /v1/images leaves out a symlink leading out of the directory", "%s", r.body);
	check(r.status == 200 && strstr(r.body ?: "", "\"alias.Image\""),
	      "GET /v1/images lists a symlink that stays inside", "%s", r.body);
	response_free(&r);
	client_call(&c, "GET", "/v1/vms", NULL, NULL, 0, NULL, &r);
	check(r.status == 200 && json_array_size(json_object_get(r.json, "vms")) == 0,
	      "GET /v1/vms: none yet", "%s", r.body);
	response_free(&r);

	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64}", 422, "missing_field", "kernel",
	       "no kernel: 422 missing_field kernel");
	expect("POST", "/v1/vms", "{\"vcpus\": \"1\", \"memory_mib\": 64, \"kernel\": \"guest.Image\"}",
	       400, "wrong_type", "vcpus", "vcpus as a string: 400 wrong_type");
	expect("POST", "/v1/vms", "{\"vcpus\": 0, \"memory_mib\": 64, \"kernel\": \"guest.Image\"}",
	       422, "out_of_range", "vcpus", "0 vCPUs: 422");
	expect("POST", "/v1/vms", "{\"vcpus\": -3, \"memory_mib\": 64, \"kernel\": \"guest.Image\"}",
	       422, "out_of_range", "vcpus", "negative vCPUs: 422");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 4, \"kernel\": \"guest.Image\"}",
	       422, "out_of_range", "memory_mib", "4 MiB: 422");
	expect("POST", "/v1/vms", "{\"vcpus\": 513, \"memory_mib\": 64, \"kernel\": \"guest.Image\"}",
	       422, "out_of_range", "vcpus", "513 vCPUs: 422");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 9223372036854775807, \"kernel\": \"guest.Image\"}",
	       422, "out_of_range", "memory_mib", "memory_mib 2^63-1: 422");
	expect("POST", "/v1/vms", "{\"vcpus\": 1e3, \"memory_mib\": 64, \"kernel\": \"guest.Image\"}",
	       400, "wrong_type", "vcpus", "vcpus 1e3 (a real): 400 wrong_type");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": null}",
	       400, "wrong_type", "kernel", "kernel null: 400 wrong_type");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\", \"gpu\": true}",
	       422, "unknown_field", "gpu", "an unknown field: 422");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\", "
	       "\"cpu_features\": {\"pmu\": \"yes\"}}",
	       400, "wrong_type", "cpu_features.pmu", "cpu_features.pmu a string: 400 wrong_type");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\", "
	       "\"cpu_features\": {\"mte\": true}}",
	       422, "unknown_field", "cpu_features.mte", "an unknown cpu feature: 422 unknown_field");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\", "
	       "\"cpu_features\": {\"sve\": {\"vector_length\": 100}}}",
	       422, "out_of_range", "cpu_features.sve.vector_length",
	       "an SVE vector length not a multiple of 128: 422 out_of_range");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"/etc/passwd\"}",
	       400, "bad_image_name", "kernel", "an absolute kernel path: 400");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"..\"}",
	       400, "bad_image_name", "kernel", "kernel \"..\": 400");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"../secret\"}",
	       400, "bad_image_name", "kernel", "kernel ../secret: 400");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"escape\"}",
	       400, "image_outside_image_dir", "kernel", "a symlink out of the image directory: 400");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\", \"initrd\": \"nope\"}",
	       422, "image_not_found", "initrd", "a missing initrd: 422");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\"}",
	       503, "no_hypervisor", NULL, "a valid VM without KVM: 503 no_hypervisor");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\", "
	       "\"start\": \"yes\"}", 400, "wrong_type", "start", "start as a string: 400 wrong_type");
	expect("POST", "/v1/vms", "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\", "
	       "\"start\": true}", 503, "no_hypervisor", NULL,
	       "start: true is taken as an instruction, not an unknown field (503 without KVM)");
	{
		static const char body[] = "{\"vcpus\": 1, \"memory_mib\": 64, "
					   "\"kernel\": \"guest.Image\", \"start\": true}";

		client_call(&c, "POST", "/v1/vms", NULL, body, strlen(body),
			    "Prefer: respond-async", &r);
		check(r.status == 422 && !strcmp(response_str(&r, "code") ?: "", "bad_value") &&
			      !strcmp(response_str(&r, "field") ?: "", "start"),
		      "start: true with Prefer: respond-async: 422 bad_value naming start",
		      "got %ld %s", r.status, r.body ? r.body : "");
		response_free(&r);
	}
	expect("GET", "/v1/vms/nope", NULL, 404, "vm_not_found", NULL, "GET an unknown VM: 404");
	expect("DELETE", "/v1/vms/nope", NULL, 404, "vm_not_found", NULL, "DELETE an unknown VM: 404");
	expect("POST", "/v1/vms/nope/actions", "{\"action\": \"start\"}", 404, "vm_not_found", NULL,
	       "an action on an unknown VM: 404");
	expect("GET", "/v1/vms/nope/console", NULL, 404, "vm_not_found", NULL,
	       "the console of an unknown VM: 404");

	client_call(&c, "GET", "/v1/vms", NULL, NULL, 0, NULL, &r);
	check(json_array_size(json_object_get(r.json, "vms")) == 0,
	      "no refused request created a VM", "%s", r.body);
	response_free(&r);
	snprintf(path, sizeof(path), "%s/vms", state);
	{
		struct stat st;

		check(stat(path, &st) != 0, "no VM directory was created", "%s exists", path);
	}

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pinvmd stops cleanly", "0x%x", status);
	if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	curl_global_cleanup();
	return check_summary();
}
