/*
 * What the user sees: human tables on stdout, errors as one line on
 * stderr, and the mapping from an HTTP outcome to an exit status.
 */
#ifndef PINVM_CLI_OUTPUT_H
#define PINVM_CLI_OUTPUT_H

#include "exit_codes.h"
#include "transport.h"

#include <jansson.h>
#include <stdio.h>

/* The exit status for an HTTP status (2xx -> EXIT_OK). */
enum pinvm_exit exit_for_status(long status);

/*
 * Prints why a request failed as one line on stderr: the problem+json's
 * detail, code, field and request id, or the transport error, or the raw
 * status. Returns the exit status to end with.
 */
enum pinvm_exit report_failure(const struct response *r);

/* Prints "pinvm: " and the message on stderr. */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a JSON value, indented, on stdout (--json). */
void print_json(const json_t *v);

/*
 * A left-aligned text table. Cells are copied; the table owns them. A
 * table that failed to grow remembers it and table_print reports -1.
 */
struct table;

struct table *table_new(int columns, const char *const *headers);

/* Appends one row of `columns` cells (NULL prints as "-"). */
void table_row(struct table *t, const char *const *cells);

/* Prints the table (headers first) on f; 0 or -1 when memory ran out. */
int table_print(struct table *t, FILE *f);

void table_free(struct table *t);

/*
 * Short text for a JSON value in a cell: strings as they are, decoded
 * objects as "k=v k=v", null as "-". Returns a malloc'd string or NULL.
 */
char *json_cell(const json_t *v);

/* A JSON member of obj as a string cell, or NULL (borrowed). */
const char *json_str(const json_t *obj, const char *key);

/* The same for printing: "-" when absent (borrowed or static). */
const char *json_text(const json_t *obj, const char *key);

/* A JSON integer as text in buf, or NULL when v is none. */
const char *int_cell(char *buf, size_t len, const json_t *v);

#endif
