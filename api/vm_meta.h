/*
 * What a client names and tags its VMs with, for finding them again:
 * `name` (unique per pinvmd; the server checks uniqueness) and `labels`
 * (a flat map of short strings), and the label selector of
 * GET /v1/vms?label=. Pure validation, no I/O; allocates nothing.
 *
 *   name:   1..63 of [a-z0-9-], starting and ending with a letter or digit
 *           (a DNS label, so it can become a host name)
 *   labels: at most 32 members; keys 1..63 of [A-Za-z0-9._/-] starting with
 *           a letter or digit; values strings of 0..63 of [A-Za-z0-9._-]
 *   selector: terms separated by ',', each "key=value" (equal) or "key"
 *           (present); at most 8 terms
 */
#ifndef PINVM_API_VM_META_H
#define PINVM_API_VM_META_H

#include "api_error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define VM_NAME_MAX 63
#define VM_LABELS_MAX 32
#define VM_LABEL_KEY_MAX 63
#define VM_LABEL_VALUE_MAX 63
#define LABEL_SELECTOR_MAX_TERMS 8

/* 0, or -EINVAL with err: 422 bad_name "name". */
int vm_name_check(const char *name, struct api_error *err);

/*
 * labels (borrowed) must be a JSON object as above. 0, or -EINVAL with
 * err, checking in member order:
 *   422 too_many_labels  "labels"        more than VM_LABELS_MAX
 *   422 bad_label_key    "labels.<key>"  (the key cut to fit)
 *   400 wrong_type       "labels.<key>"  the value is not a string
 *   422 bad_label_value  "labels.<key>"
 */
int vm_labels_check(const json_t *labels, struct api_error *err);

struct label_selector {
	size_t n;
	struct {
		char key[VM_LABEL_KEY_MAX + 1];
		char value[VM_LABEL_VALUE_MAX + 1];
		bool present_only; /* "key": any value */
	} terms[LABEL_SELECTOR_MAX_TERMS];
};

/* Parses text (borrowed) into *sel. 0, or -EINVAL with *sel zeroed and
 * err: 400 bad_label_selector "label". */
int label_selector_parse(const char *text, struct label_selector *sel,
			 struct api_error *err);

/* Whether labels (a JSON object, or NULL for none) satisfy every term. */
bool label_selector_matches(const struct label_selector *sel, const json_t *labels);

#endif
