/* Fetching the peer hosts of a fleet check, failures named per host. */
#include "peer_hosts.h"

#include "peer.h"
#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

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

/* One peer asked on a thread of its own. */
struct fetch {
	const struct peer_ref *ref;
	const char *ca;
	struct hostset *out;
	struct api_error err;
	json_t *problem;
	int ret;
	pthread_t thread;
	bool threaded;
};

static void *fetch_run(void *arg)
{
	struct fetch *f = arg;

	f->ret = peer_fetch_hostset(f->ref, f->ca, f->out, &f->err, &f->problem);
	return NULL;
}

int peer_hosts_fill(struct request *req, struct reply *rep,
		    const struct peer_ref *peers, struct hostset *hosts,
		    size_t n, bool single)
{
	struct api_error first = { 0 }, e;
	struct fetch *fetches;
	json_t *list = json_array();
	size_t failed = 0, asked = 0;
	bool all_local = true;
	int ret = 0;

	fetches = calloc(n ? n : 1, sizeof(*fetches));
	if (!list || !fetches) {
		json_decref(list);
		free(fetches);
		reply_json(rep, 500, NULL);
		return -ENOMEM;
	}
	/* All at once, so a request waits for its slowest peer, not for the
	 * sum of them; a thread that cannot start asks on this one. */
	for (size_t i = 0; i < n; i++) {
		struct fetch *f = &fetches[i];

		if (!peers[i].url)
			continue;
		asked++;
		f->ref = &peers[i];
		f->ca = req->srv->peer_ca;
		f->out = &hosts[i];
		f->threaded = pthread_create(&f->thread, NULL, fetch_run, f) == 0;
		if (!f->threaded)
			fetch_run(f);
	}
	for (size_t i = 0; i < n; i++)
		if (fetches[i].threaded)
			pthread_join(fetches[i].thread, NULL);
	for (size_t i = 0; i < n; i++) {
		struct fetch *f = &fetches[i];
		char field[32];

		if (!f->ref || f->ret == 0)
			continue;
		if (single)
			snprintf(field, sizeof(field), "host");
		else
			snprintf(field, sizeof(field), "hosts[%zu]", i);
		api_error_nest(&f->err, field);
		if (!failed++)
			first = f->err;
		all_local = all_local && f->err.status == 422;
		if (json_array_append_new(list, failure_json(field, f->ref->url, &f->err,
							     f->problem)))
			ret = -ENOMEM;
		f->problem = NULL;
	}
	free(fetches);
	if (ret) {
		json_decref(list);
		reply_json(rep, 500, NULL);
		return ret;
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
