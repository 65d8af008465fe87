/* Shared between profile.c and profile_parse.c; not a public interface. */
#ifndef PINVM_API_PROFILE_INTERNAL_H
#define PINVM_API_PROFILE_INTERNAL_H

#include "profile.h"

/*
 * Adds *pin to p, keeping pins sorted; refuses non-firmware ids,
 * duplicates and more than PROFILE_MAX_PINS (field names the pin in
 * errors). Does not run profile_check_value(). p unchanged on error.
 */
int profile_insert_pin(struct profile *p, const struct profile_pin *pin,
		       const char *field, struct api_error *err);

/* "registers.PSCI_VERSION" or "registers.0x6030000000160007" */
void profile_pin_field(char *buf, size_t size, uint64_t id);

/* Field paths built by the parsers. */
#define FIELD_MAX 160

struct fwreg_desc;

/*
 * profile_decode.c. One value of the object form ("host", "0x..", a
 * decoded string or object) for register id (d its catalogue entry or
 * NULL) into *pin, checked with profile_check_value().
 */
int profile_object_value(const struct fwreg_desc *d, uint64_t id,
			 const json_t *v, const char *field,
			 struct profile_pin *pin, struct api_error *err);

/* A decoded object (d catalogued) into its value, checked. */
int profile_decoded_value(const struct fwreg_desc *d, const json_t *obj,
			  const char *field, uint64_t *value,
			  struct api_error *err);

/* Refuses raw hex setting bits a catalogued bitmap does not define. */
int profile_check_raw_bits(const struct fwreg_desc *d, uint64_t value,
			   const char *field, struct api_error *err);

#endif
