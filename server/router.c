#include "router.h"

#include "handlers.h"
#include "metrics.h"
#include "vms.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const struct route router_routes[] = {
	{ "GET", "/metrics", handle_metrics_get },
	{ "GET", "/v1/health", handle_health_get },
	{ "GET", "/v1/ready", handle_ready_get },
	{ "GET", "/v1/host", handle_host_get },
	{ "GET", "/v1/host/firmware-registers", handle_host_fwregs_get },
	{ "GET", "/v1/host/observed-abi", handle_host_observed_abi_get },
	{ "GET", "/v1/profiles", handle_profiles_list },
	{ "POST", "/v1/profiles", handle_profiles_post },
	{ "GET", "/v1/profiles/{name}", handle_profile_get },
	{ "DELETE", "/v1/profiles/{name}", handle_profile_delete },
	{ "GET", "/v1/profiles/{name}/compatibility", handle_profile_compat_get },
	{ "GET", "/v1/profiles/{name}/observed-abi", handle_profile_observed_abi_get },
	{ "POST", "/v1/compatibility", handle_compat_post },
	{ "POST", "/v1/baselines", handle_baselines_post },
	{ "GET", "/v1/images", handle_images_list },
	{ "GET", "/v1/vms", handle_vms_list },
	{ "POST", "/v1/vms", handle_vms_post },
	{ "GET", "/v1/vms/{id}", handle_vm_get },
	{ "DELETE", "/v1/vms/{id}", handle_vm_delete },
	{ "POST", "/v1/vms/{id}/actions", handle_vm_action },
	{ "GET", "/v1/vms/{id}/console", handle_vm_console },
};
const size_t router_nroutes = sizeof(router_routes) / sizeof(router_routes[0]);

/*
 * Matches path against pattern segment by segment. On a match, and when
 * req is given, stores copies of the {x} segments in req->params.
 */
static bool match(const char *pattern, const char *path, struct request *req)
{
	const char *p = pattern, *s = path;
	size_t n = 0;

	while (*p && *s) {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		const char *pend = strchrnul(p, '/');
		const char *send = strchrnul(s, '/');

		if (*p == '{') {
			if (send == s || n >= REQUEST_MAX_PARAMS)
				return false;
			if (req) {
				req->params[n] = strndup(s, (size_t)(send - s));
				if (!req->params[n])
					return false;
			}
			n++;
		} else if (pend - p != send - s || strncmp(p, s, (size_t)(pend - p))) {
			return false;
		}
		p = pend;
		s = send;
	}
	if (*p || *s)
		return false;
	if (req)
		req->nparams = n;
	return true;
}

static void free_params(struct request *req)
{
	for (size_t i = 0; i < req->nparams; i++) {
		free(req->params[i]);
		req->params[i] = NULL;
	}
	req->nparams = 0;
}

void router_dispatch(struct request *req, struct reply *rep)
{
	/* HEAD is GET without a body; libmicrohttpd drops the body itself. */
	const char *method = strcmp(req->method, "HEAD") ? req->method : "GET";
	bool path_known = false;
	size_t i, used = 0;

	for (i = 0; i < router_nroutes; i++) {
		const struct route *r = &router_routes[i];

		if (!match(r->pattern, req->path, NULL))
			continue;
		path_known = true;
		if (strcmp(r->method, method))
			continue;
		if (!match(r->pattern, req->path, req)) {
			free_params(req);
			reply_problem(rep, 500, "out_of_memory", NULL,
				      "out of memory while routing");
			return;
		}
		req->route = r->pattern;
		r->handler(req, rep);
		free_params(req);
		return;
	}
	if (!path_known) {
		reply_problem(rep, 404, "not_found", NULL,
			      "no resource at %s", req->path);
		return;
	}
	rep->allow[0] = '\0';
	for (i = 0; i < router_nroutes; i++) {
		const struct route *r = &router_routes[i];
		size_t len = strlen(r->method);

		if (!match(r->pattern, req->path, NULL) ||
		    used + len + 3 > sizeof(rep->allow))
			continue;
		if (used) {
			memcpy(rep->allow + used, ", ", 2);
			used += 2;
		}
		memcpy(rep->allow + used, r->method, len + 1);
		used += len;
	}
	reply_problem(rep, 405, "method_not_allowed", NULL,
		      "%s is not allowed on %s (allowed: %s)", req->method,
		      req->path, rep->allow);
}
