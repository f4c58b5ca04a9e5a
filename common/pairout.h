/* pairout: pair lines written to stdout (filter2): as they came, or with
 * only their "match" member replaced.
 *
 * Lines gather in a buffer of the caller's and go out in big writes
 * (pairs are big: fewer wake-ups downstream), at 64 KiB or when the
 * caller flushes: before it waits for input, and before anything that
 * must come after the lines it wrote.  A write that fails is fatal (111).
 *
 * Ownership: the caller owns the buffers; nothing here keeps a pointer. */
#ifndef PAIROUT_H
#define PAIROUT_H
#include <jansson.h>
#include "ndjson.h"
#include "pair.h"

/* Write out what it holds, and empty it. */
void pairout_flush(struct buf *out);
/* A line as it came (len bytes, no newline). */
void pairout_line(struct buf *out, const char *line, size_t len);
/* The pair pr of line with mt in place of its "match" (or added before
 * its end). */
void pairout_pair(struct buf *out, const char *line, size_t len, const struct pair *pr,
    const struct buf *mt);
/* The new "match" in mt: verdict (a pending pair's), else the old one
 * (any other than an object is dropped); with "mention" when not NULL. */
void pairout_match(struct buf *mt, struct pair_span old, json_t *verdict, const char *mention);
#endif
