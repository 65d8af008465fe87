/*
 * The WHAT column of `pinvm events` for every kind of event, from the
 * data pinvmd sends (server/vm_events.c; a migration's fields are
 * vm_entry.c's migration_json): most of these cannot be made to happen
 * without KVM (a migration needs two hosts), so their text is checked
 * here, from the JSON alone.
 * usage: test_event_text
 */
#include "check.h"
#include "event_text.h"

#include <string.h>

static void expect(const char *json, const char *want, const char *name)
{
	json_t *ev = json_loads(json, 0, NULL);
	char out[512] = "unset";

	if (ev)
		event_text(ev, out, sizeof(out));
	check(ev && strcmp(out, want) == 0, name, "got '%s', want '%s'", out, want);
	json_decref(ev);
}

int main(void)
{
	static const char m[] = "\"type\": \"vm.migration\", \"destination\": "
				"\"http://169.254.105.10:8080\", ";
	char j[1024];

	expect("{\"type\": \"vm.snapshot\", \"phase\": \"started\"}", "started",
	       "vm.snapshot started");
	expect("{\"type\": \"vm.snapshot\", \"phase\": \"completed\", \"snapshot\": "
	       "\"6f1c0b52-8d0e-4c43-9a43-0a3e6c1d9e11\", \"size_bytes\": 134250123}",
	       "completed: snapshot 6f1c0b52-8d0e-4c43-9a43-0a3e6c1d9e11 (134250123 bytes)",
	       "vm.snapshot completed: the snapshot and its size");
	expect("{\"type\": \"vm.snapshot\", \"phase\": \"failed\", \"code\": "
	       "\"insufficient_storage\", \"detail\": \"write mem.raw: No space left on device\"}",
	       "failed: insufficient_storage: write mem.raw: No space left on device",
	       "vm.snapshot failed: the code and the detail");

	snprintf(j, sizeof(j), "{%s\"phase\": \"checking\", \"rounds\": 0, \"bytes_sent\": 0}", m);
	expect(j, "checking to http://169.254.105.10:8080", "vm.migration checking");
	snprintf(j, sizeof(j), "{%s\"phase\": \"precopy\", \"destination_vm\": \"d3b0\", "
		 "\"rounds\": 0, \"bytes_sent\": 0}", m);
	expect(j, "precopy to http://169.254.105.10:8080 as VM d3b0",
	       "vm.migration precopy before its first round: where, as which VM");
	snprintf(j, sizeof(j), "{%s\"phase\": \"precopy\", \"destination_vm\": \"d3b0\", "
		 "\"rounds\": 3, \"bytes_sent\": 1048576, \"dirty_pages\": 17}", m);
	expect(j, "precopy round 3 to http://169.254.105.10:8080 (1048576 bytes sent, 17 pages "
	       "dirty)", "vm.migration precopy round 3: bytes sent, pages dirty");
	snprintf(j, sizeof(j), "{%s\"phase\": \"handover\", \"rounds\": 4, \"bytes_sent\": 2000, "
		 "\"paused_ms\": 114}", m);
	expect(j, "handover to http://169.254.105.10:8080 after 4 rounds (2000 bytes sent, "
	       "paused 114 ms)", "vm.migration handover");
	snprintf(j, sizeof(j), "{%s\"phase\": \"resuming\", \"destination_vm\": \"d3b0\"}", m);
	expect(j, "resuming at http://169.254.105.10:8080 as VM d3b0", "vm.migration resuming");
	snprintf(j, sizeof(j), "{%s\"phase\": \"completed\", \"destination_vm\": \"d3b0\", "
		 "\"rounds\": 2, \"bytes_sent\": 32928, \"downtime_ms\": 534}", m);
	expect(j, "completed to http://169.254.105.10:8080 as VM d3b0, downtime 534 ms "
	       "(2 rounds, 32928 bytes sent)", "vm.migration completed: the downtime");
	snprintf(j, sizeof(j), "{%s\"phase\": \"failed\", \"error\": \"the stream was cut\"}", m);
	expect(j, "failed to http://169.254.105.10:8080: the stream was cut",
	       "vm.migration failed: the error");
	snprintf(j, sizeof(j), "{%s\"phase\": \"cancelled\"}", m);
	expect(j, "cancelled to http://169.254.105.10:8080", "vm.migration cancelled");

	expect("{\"type\": \"vm.state\", \"state\": \"paused\", \"previous\": \"running\"}",
	       "paused (was running)", "vm.state: the state and the one before");
	expect("{\"type\": \"vm.state\", \"state\": \"stopped\", \"previous\": \"running\", "
	       "\"reason\": \"poweroff\", \"cause\": \"poweroff\"}",
	       "stopped (was running): poweroff", "vm.state: why it ended");
	expect("{\"type\": \"profile.refused\", \"profile\": \"p\", \"code\": \"profile_refused\", "
	       "\"register\": \"PSCI_VERSION\", \"rule\": \"psci_version_unsupported\"}",
	       "profile p: PSCI_VERSION (rule psci_version_unsupported)", "profile.refused");
	expect("{\"type\": \"vm.deleted\"}", "", "vm.deleted: nothing to add");
	return check_summary();
}
