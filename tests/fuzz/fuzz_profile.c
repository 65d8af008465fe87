/*
 * profile_from_json() on arbitrary JSON text. On success the profile must
 * survive the canonical round trip (in memory and as text) and give a
 * self-consistent compatibility report on each lab kernel.
 */
#include "fuzz_common.h"

#include "compat.h"
#include "profile.h"

static struct profile *reparse(const json_t *doc)
{
	struct api_error err;
	struct profile *q;
	int ret = profile_from_json(doc, &q, &err);

	if (ret)
		fprintf(stderr, "canonical form refused: %s %s: %s\n",
			err.code, err.field, err.detail);
	FUZZ_CHECK(ret == 0);
	return q;
}

static void check_report(const struct profile *p, const struct hostset *h)
{
	static struct compat_report r;
	struct api_error err;
	size_t refused = 0, writes = 0;
	json_t *doc;

	FUZZ_CHECK(compat_check(p, h, &r) == 0);
	for (size_t i = 0; i < r.nentries; i++) {
		const struct compat_entry *e = &r.entries[i];

		FUZZ_CHECK(i == 0 || r.entries[i - 1].id < e->id);
		FUZZ_CHECK(e->pinned || e->host_present);
		FUZZ_CHECK(e->reason[0] != '\0');
		FUZZ_CHECK((e->verdict == COMPAT_REFUSED) == (e->rule != NULL));
		FUZZ_CHECK(!e->writes || e->host_present);
		refused += e->verdict == COMPAT_REFUSED;
		writes += e->writes;
	}
	FUZZ_CHECK(r.compatible == (refused == 0));
	FUZZ_CHECK(r.nwrites == writes);
	FUZZ_CHECK((compat_refusal(&r, p->name, &err) == 0) == r.compatible);
	if (!r.compatible)
		FUZZ_CHECK(err.status == 409);
	doc = compat_report_to_json(&r);
	FUZZ_CHECK(doc);
	json_decref(doc);
}

int fuzz_run(const uint8_t *data, size_t size)
{
	const struct hostset *lab = fuzz_lab_hosts();
	struct api_error err;
	struct profile *p, *q;
	json_t *doc, *canon, *again;
	char *text;
	int ret;

	doc = json_loadb((const char *)data, size, 0, NULL);
	if (!doc)
		return -1;
	ret = profile_from_json(doc, &p, &err);
	json_decref(doc);
	if (ret) {
		fuzz_check_error(ret, &err);
		FUZZ_CHECK(p == NULL);
		return 0;
	}

	canon = profile_to_json(p);
	FUZZ_CHECK(canon);
	q = reparse(canon);
	FUZZ_CHECK(profile_equal(p, q));
	profile_free(q);

	text = json_dumps(canon, JSON_COMPACT);
	FUZZ_CHECK(text);
	again = json_loads(text, 0, NULL);
	FUZZ_CHECK(again);
	q = reparse(again);
	FUZZ_CHECK(profile_equal(p, q));
	profile_free(q);
	json_decref(again);
	free(text);
	json_decref(canon);

	for (size_t i = 0; i < FUZZ_NLAB; i++)
		check_report(p, &lab[i]);
	profile_free(p);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
