/*
 * The Prefer request header (RFC 7240): whether a preference is asked
 * for, e.g. "respond-async" in `Prefer: wait=10, respond-async`. Pure
 * parsing of outside input; allocates nothing.
 */
#ifndef PINVM_API_PREFER_H
#define PINVM_API_PREFER_H

#include <stdbool.h>

/*
 * Whether header (NULL: absent) names token as a preference: one of its
 * comma-separated elements whose name (up to '=' or ';', spaces and tabs
 * around it ignored) equals token, case-insensitively. Unknown
 * preferences are ignored, as the RFC asks.
 */
bool prefer_has(const char *header, const char *token);

#endif
