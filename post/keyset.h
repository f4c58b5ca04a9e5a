/* keyset: a set of 64-bit keys, each with a 32-bit time (or any nonzero
 * mark): open addressing, linear probes, grown at three quarters full.
 * The caller owns the struct (zeroed to start) and frees it with
 * keyset_free; key 0 is stored as 1, a time of 0 means "absent". */
#ifndef KEYSET_H
#define KEYSET_H
#include <stddef.h>

struct keyset {
	unsigned long long *k;	/* cap slots; 0 marks an empty one */
	unsigned *t;
	size_t cap, n;
};

void keyset_put(struct keyset *s, unsigned long long k, unsigned t);
/* The time stored with k, or 0. */
unsigned keyset_get(const struct keyset *s, unsigned long long k);
void keyset_free(struct keyset *s);
#endif
