/* pairout: pair lines written to stdout (filter2): as they came, or with
 * only their "match" member replaced.
 *
 * Lines go to stdout through stdio (ndjson_put): the caller gives stdout
 * a big buffer (pairs are big: fewer wake-ups downstream) and flushes it
 * with out_flush() before it waits for input and before anything that
 * must come after the lines it wrote.  A write that fails is fatal (111).
 *
 * Ownership: the caller owns the buffers; nothing here keeps a pointer. */
#ifndef PAIROUT_H
#define PAIROUT_H
#include <jansson.h>
#include "json/ndjson.h"
#include "json/pair.h"

/* A line as it came (len bytes, no newline). */
void pairout_line(const char *line, size_t len);
/* The pair pr of line with mt in place of its "match" (or added before
 * its end). */
void pairout_pair(const char *line, size_t len, const struct pair *pr, const struct buf *mt);
/* The new "match" in mt: verdict (a pending pair's), else the old one
 * (any other than an object is dropped); with "mention" when not NULL. */
void pairout_match(struct buf *mt, struct pair_span old, json_t *verdict, const char *mention);
#endif
