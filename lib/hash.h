/* hash: the one hash function (FNV-1a, 64 bits) and the one hash table.
 *
 * The table is an index of the caller's items by key: open addressing,
 * linear probes, at most three quarters full (it doubles beyond), and
 * deletion by backward shift, so that a table that churns (a cache, the
 * questions in flight) has no tombstones and stays as fast as a new one.
 * A slot is a 64-bit word and an item pointer; NULL marks an empty slot,
 * so an item is never NULL.  The slot of a word w is the top bits of
 * w * 2^64/phi (Fibonacci hashing): integer keys that differ only in their
 * high or low bits still spread.
 *
 * Two kinds of keys, chosen by hash_init:
 *   byte strings (key_of given): the key lives in the item and key_of
 *	tells where; the slot keeps its FNV-1a, so most mismatches are told
 *	without looking at the item.  Nothing is copied: the key's bytes
 *	must stay as they are while the item is in the table.
 *   64-bit integers (key_of NULL; a zeroed struct hash is such a table,
 *	empty): the slot keeps the key itself, and the item is anything
 *	non-NULL, often a small number (HASH_INT, HASH_UINT).
 *
 * Iteration (hash_next) is in slot order: an order that depends on the
 * hash, not on insertion; callers that write what they iterate sort it.
 * No insert or delete while iterating (hash_clear forgets everything).
 *
 * Ownership: the table owns its slots, never the items or their keys.
 * Out of memory is fatal (mem.h). */
#ifndef HASH_H
#define HASH_H
#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_BASIS 14695981039346656037ULL	/* 0xcbf29ce484222325 */
#define HASH_FNV_PRIME 1099511628211ULL		/* 0x100000001b3 */

/* FNV-1a of n bytes; hash_fnv1a_from continues from an earlier value. */
uint64_t hash_fnv1a(const void *p, size_t n);
uint64_t hash_fnv1a_from(uint64_t h, const void *p, size_t n);

/* Where an item's key is, and its length. */
typedef const void *hash_key_fn(const void *item, size_t *len);

struct hash {
	struct hash_slot {
		uint64_t w;	/* the key's FNV-1a, or the integer key */
		void *item;	/* NULL: empty */
	} *slot;
	size_t cap, n;		/* cap: 0 or a power of two */
	unsigned shift;		/* 64 - log2(cap) */
	hash_key_fn *key_of;	/* NULL: integer keys */
};

/* An integer carried as an item (never 0), and back. */
#define HASH_INT(v) ((void *)(uintptr_t)(v))
#define HASH_UINT(p) ((uintptr_t)(p))

/* An empty table; key_of NULL: integer keys. */
void hash_init(struct hash *t, hash_key_fn *key_of);
/* The slots go; the items stay the caller's.  The table is empty after. */
void hash_free(struct hash *t);
/* Forget every item, keep the slots. */
void hash_clear(struct hash *t);

/* Byte-string keys.  hash_put adds item under its key, replacing and
 * returning the item that had it (NULL when none). */
void *hash_get(const struct hash *t, const void *key, size_t len);
void *hash_put(struct hash *t, void *item);
void *hash_del(struct hash *t, const void *key, size_t len);	/* the item, or NULL */

/* Integer keys, the same. */
void *hash_get_int(const struct hash *t, uint64_t key);
void *hash_put_int(struct hash *t, uint64_t key, void *item);
void *hash_del_int(struct hash *t, uint64_t key);

/* Every item, from *i = 0 on: for (i = 0; (it = hash_next(t, &i));).
 * hash_next_key also gives the slot's word (the key of an integer table). */
void *hash_next(const struct hash *t, size_t *i);
void *hash_next_key(const struct hash *t, size_t *i, uint64_t *w);
#endif
