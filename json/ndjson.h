/* ndjson: one compact JSON object per line.
 *
 * Ownership: ndjson_parse returns a new reference (or NULL); the dump and
 * write functions borrow their argument. */
#ifndef NDJSON_H
#define NDJSON_H
#include <stdio.h>
#include <jansson.h>

#include "lib/buf.h"


/* Parse one line; anything but an object gets one warning naming the line
 * number and NULL. */
json_t *ndjson_parse(const char *line, size_t len, unsigned long lineno);
/* json_loadb of an object's text, an integer beyond 64 bits read as a real
 * (the rule of json/scan.h); ndjson_parse is this with JSON_ALLOW_NUL. */
json_t *ndjson_load(const char *text, size_t len, size_t flags, json_error_t *err);
/* Append j compactly, reals in their shortest round-trip form, no '\n'. */
void ndjson_dump(struct buf *b, const json_t *j);
/* Write j and '\n' to f and flush; -1 with errno on failure. */
int ndjson_write(FILE *f, const json_t *j);
/* ndjson_write to stdout; a failed write is fatal (lib/out.h). */
void ndjson_out(const json_t *j);
/* A new compact string of j (free it). */
char *ndjson_str(const json_t *j);
#endif
