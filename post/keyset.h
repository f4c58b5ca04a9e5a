/* keyset: a set of 64-bit keys, each with a 32-bit time (or any nonzero
 * mark), over the one hash table (lib/hash.h: integer keys, the time as
 * the item).  The caller owns the struct (zeroed to start) and frees it
 * with keyset_free.  Key 0 is stored as 1; a time of 0 means "absent", so
 * putting a key with time 0 takes it out. */
#ifndef KEYSET_H
#define KEYSET_H
#include <stddef.h>

#include "lib/hash.h"

struct keyset {
	struct hash h;		/* key -> HASH_INT(time) */
};

void keyset_put(struct keyset *s, unsigned long long k, unsigned t);
/* The time stored with k, or 0. */
unsigned keyset_get(const struct keyset *s, unsigned long long k);
/* Every key and its time, from *i = 0 on, in no useful order; 0 at the end.
 * No put while iterating. */
unsigned keyset_next(const struct keyset *s, size_t *i, unsigned long long *k);
size_t keyset_count(const struct keyset *s);
void keyset_free(struct keyset *s);
#endif
