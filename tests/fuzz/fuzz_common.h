/*
 * Shared by the fuzz targets: the lab kernels' register sets (from
 * tests/unit/lab_hostsets.h) parsed once, and checks on api_error values.
 */
#ifndef PINVM_TESTS_FUZZ_COMMON_H
#define PINVM_TESTS_FUZZ_COMMON_H

#include "fuzz.h"
#include "hostset.h"
#include "lab_hostsets.h"

#include <errno.h>
#include <string.h>

#define FUZZ_NLAB 4

static inline const struct hostset *fuzz_lab_hosts(void)
{
	static struct hostset lab[FUZZ_NLAB];
	static int ready;
	static const char *const texts[FUZZ_NLAB] = {
		LAB_5_10_JSON, LAB_6_1_JSON, LAB_6_12_OBSERVED_JSON,
		LAB_7_3_JSON
	};

	if (!ready) {
		for (size_t i = 0; i < FUZZ_NLAB; i++) {
			json_t *doc = json_loads(texts[i], 0, NULL);

			FUZZ_CHECK(doc);
			FUZZ_CHECK(hostset_from_json(doc, &lab[i], NULL) == 0);
			json_decref(doc);
		}
		ready = 1;
	}
	return lab;
}

/* What every refusal of a parser must look like. */
static inline void fuzz_check_error(int ret, const struct api_error *err)
{
	FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
	if (ret == -ENOMEM) {
		FUZZ_CHECK(err->status == 500);
		return;
	}
	FUZZ_CHECK(err->status == 400 || err->status == 422);
	FUZZ_CHECK(err->code[0] != '\0');
	FUZZ_CHECK(err->detail[0] != '\0');
	FUZZ_CHECK(memchr(err->field, '\0', sizeof(err->field)) != NULL);
}

#endif
