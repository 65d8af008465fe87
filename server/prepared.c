#include "prepared.h"

#include <stdlib.h>
#include <string.h>

struct prepared *prepared_new(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct prepared *p;
	size_t len;

	if (!text)
		return NULL;
	len = strlen(text);
	p = malloc(sizeof(*p) + len + 2);
	if (p) {
		atomic_init(&p->refs, 1);
		memcpy(p->text, text, len);
		etag_of(p->text, len, p->etag);
		/* A trailing newline keeps curl output readable (as http.c). */
		p->text[len++] = '\n';
		p->text[len] = '\0';
		p->len = len;
	}
	free(text);
	return p;
}

struct prepared *prepared_ref(struct prepared *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void prepared_unref(struct prepared *p)
{
	if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		free(p);
}
