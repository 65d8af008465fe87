/*
 * label_selector_parse() on arbitrary text (up to its first NUL). An
 * accepted selector has 1..8 terms with keys and values a VM's labels may
 * have, and matches the labels it names; a refusal is 400
 * bad_label_selector "label" with *sel zeroed.
 */
#include "fuzz_common.h"

#include "vm_meta.h"

#include <stdlib.h>

int fuzz_run(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct label_selector sel;
	struct api_error err;
	json_t *labels;
	int ret;

	FUZZ_CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&sel, 0xa5, sizeof(sel));
	ret = label_selector_parse(text, &sel, &err);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL);
		fuzz_check_error(ret, &err);
		FUZZ_CHECK(err.status == 400 && !strcmp(err.code, "bad_label_selector") &&
			   !strcmp(err.field, "label") && sel.n == 0);
		free(text);
		return 0;
	}
	FUZZ_CHECK(sel.n >= 1 && sel.n <= LABEL_SELECTOR_MAX_TERMS);
	labels = json_object();
	FUZZ_CHECK(labels);
	for (size_t i = 0; i < sel.n; i++) {
		FUZZ_CHECK(sel.terms[i].key[0]);
		/* The selector's own terms, as labels: valid, and matched (a key
		 * given twice with two values cannot be). */
		if (!json_object_get(labels, sel.terms[i].key))
			FUZZ_CHECK(!json_object_set_new(labels, sel.terms[i].key,
							json_string(sel.terms[i].value)));
	}
	FUZZ_CHECK(vm_labels_check(labels, NULL) == 0);
	{
		bool consistent = true;

		for (size_t i = 0; i < sel.n; i++)
			for (size_t j = 0; j < sel.n; j++)
				if (!strcmp(sel.terms[i].key, sel.terms[j].key) &&
				    !sel.terms[i].present_only && !sel.terms[j].present_only &&
				    strcmp(sel.terms[i].value, sel.terms[j].value))
					consistent = false;
		/* present_only terms before a valued one set "" first. */
		if (consistent) {
			for (size_t i = 0; i < sel.n; i++)
				if (!sel.terms[i].present_only)
					json_object_set_new(labels, sel.terms[i].key,
							    json_string(sel.terms[i].value));
			FUZZ_CHECK(label_selector_matches(&sel, labels));
		}
	}
	json_decref(labels);
	free(text);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
