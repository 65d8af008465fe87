/*
 * The "id_registers" part of a compatibility report (compat.h), kept
 * apart from the firmware register judgements: internal to compat.c.
 */
#ifndef PINVM_API_COMPAT_ID_H
#define PINVM_API_COMPAT_ID_H

#include "compat.h"

/* Fills r->ids for p on h; clears r->compatible on a refusal. */
void compat_id_judge(struct compat_report *r, const struct profile *p,
		     const struct hostset *h);

/* r->ids as the report's "id_registers" member: a new reference, NULL
 * when out of memory. Only for verdicts other than COMPAT_ID_NONE. */
json_t *compat_id_json(const struct compat_report *r);

/* The first refused pin's 409 (compat_refusal()); 0 when none. */
int compat_id_refusal(const struct compat_report *r, const char *profile_name,
		      struct api_error *err);

#endif
