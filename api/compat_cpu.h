/*
 * The "cpu_features" part of a compatibility report (compat.h), kept
 * apart from the register judgements: internal to compat.c.
 */
#ifndef PINVM_API_COMPAT_CPU_H
#define PINVM_API_COMPAT_CPU_H

#include "compat.h"

/* Fills r->cpu (and r's copies of both sides) for p on h; clears
 * r->compatible on a refusal. */
void compat_cpu_judge(struct compat_report *r, const struct profile *p,
		      const struct hostset *h);

/* r->cpu as the report's "cpu_features" member: a new reference, NULL
 * when out of memory. Only for verdicts other than COMPAT_CPU_NONE. */
json_t *compat_cpu_json(const struct compat_report *r);

#endif
