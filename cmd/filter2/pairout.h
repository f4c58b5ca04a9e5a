/* pairout: pair lines written to stdout (filter2): as they came, or with
 * only their "match" member replaced; or, between pairout_begin and
 * pairout_end (--bundle), the pairs of one mail gathered into a bundle.
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
/* The pair pr of line as it came. */
void pairout_same(const char *line, size_t len, const struct pair *pr);
/* The pair pr of line with mt in place of its "match" (or added before
 * its end). */
void pairout_pair(const char *line, size_t len, const struct pair *pr, const struct buf *mt);
/* The pairs written from here to pairout_end go out as one bundle with
 * mail (pair.h), when there are any. */
void pairout_begin(void);
void pairout_end(struct pair_span mail);
void pairout_free(void);
/* The new "match" in mt: verdict (a pending pair's), else the old one
 * (any other than an object is dropped); with "mention" when not NULL. */
void pairout_match(struct buf *mt, struct pair_span old, json_t *verdict, const char *mention);
#endif
