#include "vm_meta.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* n bytes of s: each alnum or in extra; first (and, if last_alnum, last)
 * alnum. */
static bool token_ok(const char *s, size_t n, size_t max, const char *extra, bool last_alnum)
{
	if (!n || n > max || !alnum(s[0]) || (last_alnum && !alnum(s[n - 1])))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && (!s[i] || !strchr(extra, s[i])))
			return false;
	return true;
}

static bool value_ok(const char *s, size_t n)
{
	return n == 0 || token_ok(s, n, VM_LABEL_VALUE_MAX, "._-", true);
}

static bool key_ok(const char *s, size_t n)
{
	return token_ok(s, n, VM_LABEL_KEY_MAX, "._/-", false);
}

int vm_name_check(const char *name, struct api_error *err)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			goto bad;
	if (token_ok(name, n, VM_NAME_MAX, "-", true))
		return 0;
bad:
	return api_fail(err, 422, "bad_name", "name",
			"name must be 1..%d lowercase letters, digits and '-', starting and "
			"ending with a letter or digit", VM_NAME_MAX);
}

int vm_labels_check(const json_t *labels, struct api_error *err)
{
	const char *key;
	size_t key_len;
	json_t *v;

	if (json_object_size(labels) > VM_LABELS_MAX)
		return api_fail(err, 422, "too_many_labels", "labels",
				"a VM takes at most %d labels", VM_LABELS_MAX);
	json_object_keylen_foreach((json_t *)labels, key, key_len, v) {
		char field[80];
		const char *value;

		snprintf(field, sizeof(field), "labels.%.*s",
			 (int)(key_len < 64 ? key_len : 64), key);
		if (!key_ok(key, key_len) || strlen(key) != key_len)
			return api_fail(err, 422, "bad_label_key", field,
					"a label key is 1..%d of letters, digits and ._/- "
					"starting with a letter or digit", VM_LABEL_KEY_MAX);
		value = json_string_value(v);
		if (!value)
			return api_fail(err, 400, "wrong_type", field, "a label value is a string");
		if (!value_ok(value, strlen(value)) ||
		    strlen(value) != json_string_length(v))
			return api_fail(err, 422, "bad_label_value", field,
					"a label value is 0..%d of letters, digits and ._- "
					"starting and ending with a letter or digit",
					VM_LABEL_VALUE_MAX);
	}
	return 0;
}

int label_selector_parse(const char *text, struct label_selector *sel,
			 struct api_error *err)
{
	const char *p = text;

	memset(sel, 0, sizeof(*sel));
	for (;;) {
		size_t n = strcspn(p, ","), k = strcspn(p, "=");
		bool has_value = k < n;

		if (sel->n == LABEL_SELECTOR_MAX_TERMS)
			goto bad;
		if (!has_value)
			k = n;
		if (!key_ok(p, k) || (has_value && !value_ok(p + k + 1, n - k - 1)))
			goto bad;
		memcpy(sel->terms[sel->n].key, p, k);
		if (has_value)
			memcpy(sel->terms[sel->n].value, p + k + 1, n - k - 1);
		sel->terms[sel->n].present_only = !has_value;
		sel->n++;
		if (!p[n])
			return 0;
		p += n + 1;
	}
bad:
	memset(sel, 0, sizeof(*sel));
	return api_fail(err, 400, "bad_label_selector", "label",
			"label takes key=value or key terms separated by ',' (at most %d), "
			"keys and values as on a VM", LABEL_SELECTOR_MAX_TERMS);
}

bool label_selector_matches(const struct label_selector *sel, const json_t *labels)
{
	for (size_t i = 0; i < sel->n; i++) {
		const char *v = json_string_value(json_object_get(labels, sel->terms[i].key));

		if (!v || (!sel->terms[i].present_only && strcmp(v, sel->terms[i].value)))
			return false;
	}
	return true;
}
