/*
 * --ready-file: once pinvmd serves, the addresses it bound (one --listen
 * spec a line, port 0 resolved) go to a file, so a script or test starts
 * pinvmd on tcp:127.0.0.1:0 and reads where it is instead of guessing a
 * free port. The file appears complete or not at all: written next to its
 * place under a temporary name, then renamed.
 *
 * Threading: no shared state. Errors: a negative errno with err set; the
 * temporary file is removed on every failure.
 */
#ifndef PINVM_SERVER_READY_FILE_H
#define PINVM_SERVER_READY_FILE_H

#include <stddef.h>

/* Writes lines[0..n) to path, each ended by '\n', mode 0644. */
int ready_file_write(const char *path, const char *const *lines, size_t n,
		     char *err, size_t errlen);

#endif
