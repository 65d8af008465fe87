/*
 * What another pinvmd sends back (api/peer_ref.h peer_answer_hostset()):
 * the first byte picks the HTTP status from a table, the rest is the body,
 * as outside input. A failure is one 502 of the listed codes naming the
 * peer, with the peer's problem object handed back only for a refusal; an
 * acceptance is a register set with only values a kernel reports. Also
 * peer_ref_parse() on the same bytes as JSON.
 */
#include "fuzz_common.h"

#include "peer_ref.h"

#define URL "http://169.254.1.2:8080"

static void answer(long status, const char *body, size_t len)
{
	struct api_error err;
	struct hostset h;
	json_t *problem = (json_t *)1;
	int ret = peer_answer_hostset(URL, status, body, len, &h, &err, &problem);

	if (ret == 0) {
		FUZZ_CHECK(status == 200 && !problem);
		FUZZ_CHECK(hostset_check(&h, NULL, &err) == 0);
		return;
	}
	FUZZ_CHECK(ret == -EINVAL && err.status == 502);
	FUZZ_CHECK(!strcmp(err.code, "peer_unauthorized") || !strcmp(err.code, "peer_refused") ||
		   !strcmp(err.code, "peer_bad_answer"));
	FUZZ_CHECK(strstr(err.detail, URL) != NULL);
	FUZZ_CHECK(!problem || (json_is_object(problem) && !strcmp(err.code, "peer_refused")));
	FUZZ_CHECK((status == 401) == !strcmp(err.code, "peer_unauthorized"));
	json_decref(problem);
}

static void reference(const char *body, size_t len)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	struct api_error err;
	struct peer_ref r;
	int ret;

	if (!doc)
		return;
	ret = peer_ref_parse(doc, &r, &err);
	if (ret) {
		fuzz_check_error(ret, &err);
	} else {
		FUZZ_CHECK(r.url && peer_url_check(r.url, "url", &err) == 0);
		FUZZ_CHECK(!r.token || peer_token_check(r.token, strlen(r.token), "t", &err) == 0);
		FUZZ_CHECK(!r.token || !r.token_file);
	}
	json_decref(doc);
}

int fuzz_run(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 401, 403, 404, 409, 500, 502, 503 };

	if (size < 1)
		return -1;
	answer(statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))],
	       (const char *)data + 1, size - 1);
	reference((const char *)data + 1, size - 1);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
