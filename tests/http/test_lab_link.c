/*
 * Two labs on one --link (issue 11, items 3 and 4): lab A's pinvmd asks
 * lab B's over the emulated link, and every answer must equal the same
 * request with B's register set given inline.
 *
 *   test_lab_link pair URL_A URL_B LINK_B
 *     URL_A, URL_B: the labs' APIs on this machine's loopback; LINK_B:
 *     B's pinvmd as A reaches it (http://169.254.X.Y:8080, the lab's
 *     "pinvm lab link:" line). A baseline of A and B (B by URL vs inline),
 *     the verdict of that baseline and of A's own capture on B (same
 *     comparison), a wrong scheme refused before anything is sent. Prints
 *     the time of each request by URL beside the same one inline.
 *
 *   test_lab_link down URL_A LINK_DOWN
 *     LINK_DOWN: a link address whose lab is down: a baseline naming it is
 *     one 502 peer_unreachable naming hosts[1] and the URL, within the
 *     peer client's bounds (5 s to connect, 30 s in all; printed).
 */
#include "check.h"
#include "client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct client ca, cb;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* POST body (stolen) to c; returns the seconds it took. */
static double post(const struct client *c, const char *path, json_t *body, struct response *r)
{
	char *text = json_dumps(body, JSON_COMPACT);
	double t0 = now_s();

	json_decref(body);
	client_call(c, "POST", path, NULL, text, text ? strlen(text) : 0, NULL, r);
	free(text);
	return now_s() - t0;
}

static const char *rs(const struct response *r, const char *key)
{
	const char *s = response_str(r, key);

	return s ? s : "";
}

/* GET /v1/host/firmware-registers of c, or NULL. */
static json_t *registers(const struct client *c)
{
	struct response r;
	json_t *doc = NULL;

	client_call(c, "GET", "/v1/host/firmware-registers", NULL, NULL, 0, NULL, &r);
	if (r.status == 200)
		doc = json_incref(r.json);
	response_free(&r);
	return doc;
}

/* A stored profile without what differs by name and time. */
static json_t *comparable(const json_t *doc)
{
	json_t *c = json_deep_copy(doc);

	json_object_del(c, "name");
	json_object_del(c, "created_at");
	return c;
}

static void del_profile(const char *name)
{
	struct response r;
	char path[128];

	snprintf(path, sizeof(path), "/v1/profiles/%s", name);
	client_call(&ca, "DELETE", path, NULL, NULL, 0, NULL, &r);
	response_free(&r);
}

static void verdict(const char *profile, const char *link_b, const json_t *set_b)
{
	struct response by_url, inl;
	double t_url, t_inl;

	t_url = post(&ca, "/v1/compatibility",
		     json_pack("{s:s, s:{s:s}}", "profile", profile, "host", "url", link_b),
		     &by_url);
	t_inl = post(&ca, "/v1/compatibility",
		     json_pack("{s:s, s:O}", "profile", profile, "host", set_b), &inl);
	check(by_url.status == 200 && inl.status == 200 && json_equal(by_url.json, inl.json),
	      "the verdict on B by URL over the link is the verdict on B's set inline",
	      "profile %s: %ld %s\nvs %ld %s", profile, by_url.status, by_url.body, inl.status,
	      inl.body);
	printf("# verdict of %s on B: by URL %.3f s, inline %.3f s (compatible: %s)\n", profile,
	       t_url, t_inl, json_is_true(json_object_get(inl.json, "compatible")) ? "yes" : "no");
	response_free(&by_url);
	response_free(&inl);
}

static int pair(const char *link_b)
{
	struct response by_url, inl, cap;
	json_t *set_a = registers(&ca), *set_b = registers(&cb), *x, *y;
	double t_url, t_inl;

	if (!check(set_a && set_b, "both labs give their register sets", "A %p B %p",
		   (void *)set_a, (void *)set_b))
		return check_summary();
	printf("# A: %s, B: %s, B over the link: %s\n",
	       json_string_value(json_object_get(set_a, "kernel_release")),
	       json_string_value(json_object_get(set_b, "kernel_release")), link_b);
	del_profile("link-by-url");
	del_profile("link-inline");
	del_profile("link-capture-a");

	t_url = post(&ca, "/v1/baselines",
		     json_pack("{s:s, s:[O, {s:s}]}", "name", "link-by-url", "hosts", set_a,
			       "url", link_b),
		     &by_url);
	t_inl = post(&ca, "/v1/baselines",
		     json_pack("{s:s, s:[O, O]}", "name", "link-inline", "hosts", set_a, set_b),
		     &inl);
	x = comparable(by_url.json);
	y = comparable(inl.json);
	check(by_url.status == 201 && inl.status == 201 && json_equal(x, y),
	      "the baseline of A and B by URL over the link is the baseline of both sets inline",
	      "%ld %s\nvs %ld %s", by_url.status, by_url.body, inl.status, inl.body);
	printf("# baseline of A and B: by URL %.3f s, inline %.3f s\n", t_url, t_inl);
	json_decref(x);
	json_decref(y);
	response_free(&by_url);
	response_free(&inl);

	verdict("link-inline", link_b, set_b);
	post(&ca, "/v1/profiles", json_pack("{s:s, s:s}", "capture", "host", "name",
					    "link-capture-a"), &cap);
	if (check(cap.status == 201, "A captures its own host as a profile", "%ld %s",
		  cap.status, cap.body))
		verdict("link-capture-a", link_b, set_b);
	response_free(&cap);

	post(&ca, "/v1/baselines",
	     json_pack("{s:s, s:[O, {s:s}]}", "name", "link-bad", "hosts", set_a, "url",
		       "ftp://169.254.1.1"),
	     &by_url);
	check(by_url.status == 422 && !strcmp(rs(&by_url, "code"), "bad_url") &&
	      !strcmp(rs(&by_url, "field"), "hosts[1].url"),
	      "a peer URL that is not http(s): 422 bad_url at hosts[1].url", "%ld %s",
	      by_url.status, by_url.body);
	response_free(&by_url);

	del_profile("link-by-url");
	del_profile("link-inline");
	del_profile("link-capture-a");
	json_decref(set_a);
	json_decref(set_b);
	return check_summary();
}

static int down(const char *link_down)
{
	struct response r;
	json_t *set_a = registers(&ca), *p0;
	double t;

	if (!check(set_a != NULL, "lab A gives its register set", "no set"))
		return check_summary();
	t = post(&ca, "/v1/baselines",
		 json_pack("{s:s, s:[O, {s:s}]}", "name", "link-down", "hosts", set_a, "url",
			   link_down),
		 &r);
	p0 = json_array_get(json_object_get(r.json, "peers"), 0);
	check(r.status == 502 && !strcmp(rs(&r, "code"), "peer_unreachable") &&
	      !strcmp(rs(&r, "field"), "hosts[1]") && strstr(rs(&r, "detail"), link_down) &&
	      json_array_size(json_object_get(r.json, "peers")) == 1 &&
	      json_is_string(json_object_get(p0, "url")) &&
	      !strcmp(json_string_value(json_object_get(p0, "url")), link_down),
	      "a lab that is down on the link: 502 peer_unreachable naming hosts[1] and its URL",
	      "%ld %s", r.status, r.body);
	/* The bound, not a timing assertion: the request ends on its own. */
	printf("# the down peer was given up after %.3f s (connect bound 5 s)\n", t);
	response_free(&r);
	json_decref(set_a);
	return check_summary();
}

int main(int argc, char **argv)
{
	int ret = 2;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc == 5 && !strcmp(argv[1], "pair")) {
		snprintf(ca.base, sizeof(ca.base), "%s", argv[2]);
		snprintf(cb.base, sizeof(cb.base), "%s", argv[3]);
		ret = pair(argv[4]);
	} else if (argc == 4 && !strcmp(argv[1], "down")) {
		snprintf(ca.base, sizeof(ca.base), "%s", argv[2]);
		ret = down(argv[3]);
	} else {
		fprintf(stderr, "usage: test_lab_link pair URL_A URL_B LINK_B\n"
				"       test_lab_link down URL_A LINK_DOWN\n");
	}
	curl_global_cleanup();
	return ret;
}
