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

/* FNV-1a of n bytes from h (KEYSET_FNV_BASIS to start): the keys of the
 * posters' sets, and a webhook's identity in state files instead of its
 * URL. */
unsigned long long keyset_hash(const char *s, size_t n, unsigned long long h);
#define KEYSET_FNV_BASIS 14695981039346656037ULL

void keyset_put(struct keyset *s, unsigned long long k, unsigned t);
/* The time stored with k, or 0. */
unsigned keyset_get(const struct keyset *s, unsigned long long k);
void keyset_free(struct keyset *s);
#endif
