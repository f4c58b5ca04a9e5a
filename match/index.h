/* index: which streams could match a mail, from their guards (match.h).
 *
 * Streams are added by number (their place in the fanout's set); a lookup
 * returns, in ascending order and without repeats, every stream whose guard
 * the mail meets plus every stream that has no guard.  It never leaves out
 * a stream whose condition could be true or unknown on the mail.
 *
 * Ownership: index_new returns a new index (index_free); the conditions
 * given to index_add are only read while it runs. */
#ifndef INDEX_H
#define INDEX_H
#include <stddef.h>

#include "match/match.h"

struct index;

struct index *index_new(void);
void index_add(struct index *ix, unsigned no, const struct match_cond *c);
/* After the last index_add, before the first lookup. */
void index_seal(struct index *ix);
/* The candidates for m into out (room for every stream added); how many. */
size_t index_lookup(struct index *ix, const struct match_mail *m, unsigned *out);
/* Streams with no guard: candidates for every mail. */
size_t index_unguarded(const struct index *ix);
void index_free(struct index *ix);
#endif
