#include "route_query.h"

#include "handlers.h"
#include "handlers_snapshots.h"

#include <stddef.h>

static const char *const profiles_list[] = { "limit", "cursor" };
static const char *const vm_console[] = { "offset", "follow" };
static const char *const events[] = { "last_event_id", "vm", "type" };
static const char *const vms_list[] = { "state", "name", "label", "limit", "cursor" };
static const char *const vm_get[] = { "wait_for", "timeout" };
static const char *const snapshots_list[] = { "limit", "cursor" };

static const struct {
	route_handler handler;
	const char *const *known;
	size_t n;
} takes[] = {
#define TAKES(h, list) { h, list, sizeof(list) / sizeof(list[0]) }
	TAKES(handle_profiles_list, profiles_list),
	TAKES(handle_vm_console, vm_console),
	TAKES(handle_events_get, events),
	TAKES(handle_vms_list, vms_list),
	TAKES(handle_snapshots_list, snapshots_list),
	TAKES(handle_vm_get, vm_get),
#undef TAKES
};

bool route_query_check(route_handler handler, const struct request *req,
		       struct reply *rep)
{
	for (size_t i = 0; i < sizeof(takes) / sizeof(takes[0]); i++)
		if (takes[i].handler == handler)
			return request_query_check(req, rep, takes[i].known, takes[i].n);
	return request_query_check(req, rep, NULL, 0);
}
