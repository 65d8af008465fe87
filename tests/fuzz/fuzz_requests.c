/*
 * The request bodies of api/requests.h and api/vm_action.h on arbitrary
 * JSON text (hosts inline or by URL), and the two bodies of a live migration
 * (api/migrate_request.h). The first byte picks the parser ('c' capture, 'k'
 * compatibility, 'b' baseline, 'a' action, 'm' migrate, 'i' incoming), the
 * rest is the body. A refusal
 * is one of the errors the headers list; an acceptance holds what the body
 * says; whatever a request owns is released by its _clear (ASan's leak
 * check watches), also after a refusal.
 */
#include "fuzz_common.h"

#include "baseline.h"
#include "accept_rule.h"
#include "migrate_request.h"
#include "requests.h"
#include "vm_action.h"

static int capture(const json_t *doc)
{
	struct capture_request r;
	struct api_error err;
	int ret = capture_request_parse(doc, &r, &err);

	if (ret) {
		fuzz_check_error(ret, &err);
		return 0;
	}
	FUZZ_CHECK(r.name && r.name == json_string_value(json_object_get(doc, "name")));
	FUZZ_CHECK(!strcmp(json_string_value(json_object_get(doc, "capture")), "host"));
	FUZZ_CHECK(r.smccc_deny == (json_object_get(doc, "smccc") != NULL));
	FUZZ_CHECK(!r.smccc_degrade || r.smccc_deny);
	return 1;
}

static int compat(const json_t *doc)
{
	struct compat_request r;
	struct api_error err;
	int ret = compat_request_parse(doc, &r, &err);

	if (ret) {
		fuzz_check_error(ret, &err);
		FUZZ_CHECK(!r.profile);
		compat_request_clear(&r);
		return 0;
	}
	/* A stored name or an inline document, never both, never neither. */
	FUZZ_CHECK(!r.profile_name != !r.profile);
	FUZZ_CHECK(json_is_string(json_object_get(doc, "profile")) == (r.profile_name != NULL));
	compat_request_clear(&r);
	FUZZ_CHECK(!r.profile);
	return 1;
}

static int baseline(const json_t *doc)
{
	struct baseline_request r;
	struct api_error err;
	int ret = baseline_request_parse(doc, &r, &err);

	if (ret) {
		fuzz_check_error(ret, &err);
		FUZZ_CHECK(!r.hosts && !r.imports && !r.peers && !r.nhosts);
		baseline_request_clear(&r);
		return 0;
	}
	FUZZ_CHECK(r.name && r.nhosts == json_array_size(json_object_get(doc, "hosts")));
	FUZZ_CHECK(r.nhosts <= BASELINE_MAX_HOSTS);
	FUZZ_CHECK(r.hosts && r.imports && r.peers);
	/* A host given by URL is a peer to ask, with a URL fit to send. */
	for (size_t i = 0; i < r.nhosts; i++) {
		const json_t *h = json_array_get(json_object_get(doc, "hosts"), i);

		FUZZ_CHECK(!r.peers[i].url == !json_object_get(h, "url"));
		FUZZ_CHECK(!r.peers[i].url || peer_url_check(r.peers[i].url, "url", &err) == 0);
		FUZZ_CHECK(!r.peers[i].token || !r.peers[i].token_file);
	}
	baseline_request_clear(&r);
	return 1;
}

static int action(const json_t *doc)
{
	struct vm_action_req req = { .action = VM_ACTION_COUNT };
	enum vm_action a;
	struct api_error err;
	int ret = vm_action_parse_req(doc, &req, &err);

	if (ret) {
		fuzz_check_error(ret, &err);
		return 0;
	}
	a = req.action;
	FUZZ_CHECK(a < VM_ACTION_COUNT);
	FUZZ_CHECK(a == VM_ACTION_SHUTDOWN ? req.timeout_s >= 1 &&
		   req.timeout_s <= VM_ACTION_SHUTDOWN_TIMEOUT_MAX : req.timeout_s == 0);
	FUZZ_CHECK(!strcmp(vm_action_name(a),
			   json_string_value(json_object_get(doc, "action"))));
	return 1;
}

static int migrate(const json_t *doc)
{
	struct migrate_request r;
	struct api_error err;
	int ret = migrate_request_parse(doc, &r, &err);

	if (ret) {
		fuzz_check_error(ret, &err);
		return 0;
	}
	FUZZ_CHECK(r.dest.url && !strcmp(r.dest.url, json_string_value(json_object_get(doc,
										  "destination"))));
	FUZZ_CHECK(peer_url_check(r.dest.url, "destination", &err) == 0);
	FUZZ_CHECK(!r.dest.token || !r.dest.token_file);
	FUZZ_CHECK(!(r.accept & ~ACCEPT_RULES_ALL));
	return 1;
}

static int incoming(const json_t *doc)
{
	struct migrate_incoming in;
	struct api_error err;
	json_t *again;
	int ret = migrate_incoming_parse(doc, &in, &err);

	if (ret) {
		fuzz_check_error(ret, &err);
		return 0;
	}
	FUZZ_CHECK(in.g.vcpus >= 1 && in.g.memory_mib >= 1 && json_is_object(in.spec));
	FUZZ_CHECK(in.g.nfw <= HOSTSET_MAX_REGS);
	/* The pre-run image is the body's own object, or none. */
	FUZZ_CHECK(in.prerun ? in.prerun == json_object_get(doc, "prerun") &&
				       json_is_object(in.prerun)
			     : !json_is_object(json_object_get(doc, "prerun")));
	for (size_t i = 1; i < in.g.nfw; i++)
		FUZZ_CHECK(in.g.fw[i - 1].id < in.g.fw[i].id);
	/* What the source builds, the destination takes back unchanged. */
	again = migrate_incoming_build(&in);
	if (again) {
		struct migrate_incoming back;

		FUZZ_CHECK(migrate_incoming_parse(again, &back, &err) == 0);
		FUZZ_CHECK(back.g.nfw == in.g.nfw && back.g.vcpus == in.g.vcpus &&
			   back.g.memory_mib == in.g.memory_mib);
		FUZZ_CHECK(!back.prerun == !in.prerun &&
			   (!in.prerun || json_equal(back.prerun, in.prerun)));
		FUZZ_CHECK(back.accept == in.accept && !(in.accept & ~ACCEPT_RULES_ALL));
		for (size_t i = 0; i < in.g.nfw; i++)
			FUZZ_CHECK(back.g.fw[i].id == in.g.fw[i].id &&
				   back.g.fw[i].value == in.g.fw[i].value);
		json_decref(again);
	}
	return 1;
}

int fuzz_run(const uint8_t *data, size_t size)
{
	json_t *doc;
	int ret;

	if (size < 1)
		return -1;
	doc = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
	if (!doc)
		return -1;
	switch (data[0]) {
	case 'c': ret = capture(doc); break;
	case 'k': ret = compat(doc); break;
	case 'b': ret = baseline(doc); break;
	case 'a': ret = action(doc); break;
	case 'm': ret = migrate(doc); break;
	case 'i': ret = incoming(doc); break;
	default: ret = -1; break;
	}
	json_decref(doc);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
