/* Fetching the peer hosts of a fleet check, failures named per host. */
#include "peer_hosts.h"

#include "peer.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>

/* {"field", "url", "code", "detail", "problem"?}, problem stolen. */
static json_t *failure_json(const char *field, const char *url,
			    const struct api_error *e, json_t *problem)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "field", field, "url",
			      url, "code", e->code, "detail", e->detail);

	if (o && problem && json_object_set_new(o, "problem", problem)) {
		json_decref(o);
		return NULL;
	}
	if (!o)
		json_decref(problem);
	return o;
}

int peer_hosts_fill(struct request *req, struct reply *rep,
		    const struct peer_ref *peers, struct hostset *hosts,
		    size_t n, bool single)
{
	struct api_error first = { 0 }, e;
	json_t *list = json_array();
	size_t failed = 0, asked = 0;
	bool all_local = true;

	if (!list) {
		reply_json(rep, 500, NULL);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *problem = NULL;
		char field[32];

		if (!peers[i].url)
			continue;
		asked++;
		if (peer_fetch_hostset(&peers[i], req->srv->peer_ca, &hosts[i],
				       &e, &problem) == 0)
			continue;
		if (single)
			snprintf(field, sizeof(field), "host");
		else
			snprintf(field, sizeof(field), "hosts[%zu]", i);
		api_error_nest(&e, field);
		if (!failed++)
			first = e;
		all_local = all_local && e.status == 422;
		if (json_array_append_new(list, failure_json(field, peers[i].url,
							     &e, problem))) {
			json_decref(list);
			reply_json(rep, 500, NULL);
			return -ENOMEM;
		}
	}
	if (!failed) {
		json_decref(list);
		return 0;
	}
	if (failed > 1 || asked > 1)
		api_fail(&e, all_local ? 422 : 502, first.code, first.field,
			 "%zu of %zu peers failed; the first: %.400s", failed,
			 asked, first.detail);
	else
		e = first;
	reply_api_error(rep, &e);
	if (rep->body && json_object_set_new(rep->body, "peers", list) == 0)
		return -EIO;
	if (!rep->body)
		json_decref(list);
	return -EIO;
}
