/*
 * Helpers shared by the api/ unit tests (cmocka): a test's literal JSON
 * into a value, a host register set or a profile. They fail the test (not
 * return) on bad input: the input is the test's own.
 */
#ifndef PINVM_TESTS_UNIT_TEST_JSON_H
#define PINVM_TESTS_UNIT_TEST_JSON_H

#include "hostset.h"
#include "profile.h"

#include <jansson.h>

/* A new reference; any JSON value, not only objects. */
static inline json_t *load_json(const char *text)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!doc)
		fail_msg("bad test JSON: %s at %d:%d: %s", jerr.text, jerr.line,
			 jerr.column, text);
	return doc;
}

static inline struct hostset load_host(const char *text)
{
	struct api_error err = { 0 };
	struct hostset h;
	json_t *doc = load_json(text);

	if (hostset_from_json(doc, &h, &err))
		fail_msg("hostset: %s %s: %s", err.code, err.field, err.detail);
	json_decref(doc);
	return h;
}

/* A profile document into a new profile (profile_free() it). */
static inline struct profile *load_profile(const char *text)
{
	struct api_error err = { 0 };
	struct profile *p;
	json_t *doc = load_json(text);

	if (profile_from_json(doc, &p, &err))
		fail_msg("profile: %s %s: %s", err.code, err.field, err.detail);
	json_decref(doc);
	return p;
}

#endif
