/* hash: see hash.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/mem.h"

#define HASH_PHI 0x9E3779B97F4A7C15ULL	/* 2^64 / golden ratio */
#define HASH_MIN 16

uint64_t
hash_fnv1a_from(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--)
		h = (h ^ *s++) * HASH_FNV_PRIME;
	return h;
}

uint64_t
hash_fnv1a(const void *p, size_t n)
{
	return hash_fnv1a_from(HASH_FNV_BASIS, p, n);
}

static size_t
hash_home(const struct hash *t, uint64_t w)
{
	return (size_t)((w * HASH_PHI) >> t->shift);
}

/* Does slot s hold the key (w, key, len)?  key NULL: an integer table. */
static int
hash_is(const struct hash *t, const struct hash_slot *s, uint64_t w,
    const void *key, size_t len)
{
	const void *k;
	size_t n;

	if (s->w != w)
		return 0;
	if (!t->key_of)
		return 1;
	k = t->key_of(s->item, &n);
	return n == len && !memcmp(k, key, len);
}

/* The slot holding the key, or the empty slot where it would go. */
static size_t
hash_find(const struct hash *t, uint64_t w, const void *key, size_t len)
{
	size_t mask = t->cap - 1, i = hash_home(t, w);

	while (t->slot[i].item && !hash_is(t, &t->slot[i], w, key, len))
		i = (i + 1) & mask;
	return i;
}

void
hash_init(struct hash *t, hash_key_fn *key_of)
{
	memset(t, 0, sizeof *t);
	t->key_of = key_of;
}

void
hash_free(struct hash *t)
{
	free(t->slot);
	hash_init(t, t->key_of);
}

void
hash_clear(struct hash *t)
{
	if (t->cap)
		memset(t->slot, 0, t->cap * sizeof *t->slot);
	t->n = 0;
}

/* Twice the slots; an entry's place depends on the top bits of its word,
 * so every entry is placed again. */
static void
hash_grow(struct hash *t)
{
	struct hash_slot *old = t->slot;
	size_t ocap = t->cap, i, j;

	t->cap = ocap ? 2 * ocap : HASH_MIN;
	t->shift = 64;
	for (i = t->cap; i > 1; i >>= 1)
		t->shift--;
	t->slot = mem_calloc(t->cap, sizeof *t->slot);
	for (i = 0; i < ocap; i++)
		if (old[i].item) {
			for (j = hash_home(t, old[i].w); t->slot[j].item; j = (j + 1) & (t->cap - 1))
				;
			t->slot[j] = old[i];
		}
	free(old);
}

static void *
hash_insert(struct hash *t, uint64_t w, const void *key, size_t len, void *item)
{
	size_t i;
	void *had;

	if ((t->n + 1) * 4 > t->cap * 3)
		hash_grow(t);
	i = hash_find(t, w, key, len);
	had = t->slot[i].item;
	t->slot[i] = (struct hash_slot){ w, item };
	t->n += !had;
	return had;
}

/* Empty slot i, and move back the entries of the probe run after it that
 * may sit there (their home is not in (i, j]), so no lookup stops short. */
static void *
hash_remove(struct hash *t, size_t i)
{
	size_t mask = t->cap - 1, j, k;
	void *item = t->slot[i].item;

	if (!item)
		return NULL;
	for (j = (i + 1) & mask; t->slot[j].item; j = (j + 1) & mask) {
		k = hash_home(t, t->slot[j].w);
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i].item = NULL;
	t->n--;
	return item;
}

void *
hash_get(const struct hash *t, const void *key, size_t len)
{
	return t->cap ? t->slot[hash_find(t, hash_fnv1a(key, len), key, len)].item : NULL;
}

void *
hash_put(struct hash *t, void *item)
{
	size_t len;
	const void *key = t->key_of(item, &len);

	return hash_insert(t, hash_fnv1a(key, len), key, len, item);
}

void *
hash_del(struct hash *t, const void *key, size_t len)
{
	return t->cap ? hash_remove(t, hash_find(t, hash_fnv1a(key, len), key, len)) : NULL;
}

void *
hash_get_int(const struct hash *t, uint64_t key)
{
	return t->cap ? t->slot[hash_find(t, key, NULL, 0)].item : NULL;
}

void *
hash_put_int(struct hash *t, uint64_t key, void *item)
{
	return hash_insert(t, key, NULL, 0, item);
}

void *
hash_del_int(struct hash *t, uint64_t key)
{
	return t->cap ? hash_remove(t, hash_find(t, key, NULL, 0)) : NULL;
}

void *
hash_next_key(const struct hash *t, size_t *i, uint64_t *w)
{
	for (; *i < t->cap; ++*i)
		if (t->slot[*i].item) {
			if (w)
				*w = t->slot[*i].w;
			return t->slot[(*i)++].item;
		}
	return NULL;
}

void *
hash_next(const struct hash *t, size_t *i)
{
	return hash_next_key(t, i, NULL);
}
