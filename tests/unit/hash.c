/* hash: FNV-1a against its published test vectors; the table against a
 * brute-force model over many random inserts, lookups and deletes, with
 * integer keys and with byte-string keys, through growth and clearing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/log.h"
#include "tap.h"

#define NKEYS 700	/* a small key space: many repeats, long probe runs */
#define NOPS 200000

/* xorshift64: the same sequence on every run */
static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fnv_vectors(void)
{
	/* From the FNV reference (isthe.com/chongo/tech/comp/fnv). */
	ok(hash_fnv1a("", 0) == 0xcbf29ce484222325ULL,
	    "fnv1a64(\"\") = cbf29ce484222325, the offset basis");
	ok(hash_fnv1a("a", 1) == 0xaf63dc4c8601ec8cULL, "fnv1a64(\"a\") = af63dc4c8601ec8c");
	ok(hash_fnv1a("foobar", 6) == 0x85944171f73967e8ULL, "fnv1a64(\"foobar\") = 85944171f73967e8");
	ok(hash_fnv1a_from(hash_fnv1a("foo", 3), "bar", 3) == hash_fnv1a("foobar", 6),
	    "fnv1a64 continued over two pieces is fnv1a64 of the whole");
	ok(HASH_FNV_BASIS == 14695981039346656037ULL && HASH_FNV_PRIME == 1099511628211ULL,
	    "the basis and prime are FNV's 64-bit ones");
}

/* Integer keys: model[k] is the value under key k (0: absent). */
static void
int_table(void)
{
	static uintptr_t model[NKEYS];
	struct hash t = { 0 };
	size_t n = 0, bad = 0, i, seen;
	uint64_t w;
	void *it;

	for (long op = 0; op < NOPS; op++) {
		/* keys far apart in value, 0 included */
		uint64_t k = rnd() % NKEYS, key = k * 0x100000001ULL;
		uintptr_t v = (uintptr_t)(rnd() % 1000) + 1, got;

		switch (rnd() % 4) {
		case 0: case 1:
			got = HASH_UINT(hash_put_int(&t, key, HASH_INT(v)));
			bad += got != model[k];
			n += !model[k];
			model[k] = v;
			break;
		case 2:
			got = HASH_UINT(hash_del_int(&t, key));
			bad += got != model[k];
			n -= !!model[k];
			model[k] = 0;
			break;
		default:
			bad += HASH_UINT(hash_get_int(&t, key)) != model[k];
		}
		bad += t.n != n;
		if (op == NOPS / 2) {	/* every key, present or not, by lookup */
			for (k = 0; k < NKEYS; k++)
				bad += HASH_UINT(hash_get_int(&t, k * 0x100000001ULL)) != model[k];
		}
	}
	is_int(bad, 0, "integer keys: %d random operations agree with the model", NOPS);
	ok(t.cap >= 16 && t.n * 4 <= t.cap * 3, "at most three quarters full (n=%zu cap=%zu)", t.n, t.cap);
	seen = bad = 0;
	for (i = 0; (it = hash_next_key(&t, &i, &w));) {
		seen++;
		bad += w % 0x100000001ULL || w / 0x100000001ULL >= NKEYS ||
		    model[w / 0x100000001ULL] != HASH_UINT(it);
	}
	ok(seen == n && !bad, "iteration gives each item once with its key (%zu of %zu)", seen, n);
	hash_clear(&t);
	ok(t.n == 0 && !hash_get_int(&t, 0) && !hash_next(&t, &(size_t){ 0 }), "cleared: empty");
	hash_free(&t);
	ok(!hash_get_int(&t, 1) && !hash_del_int(&t, 1), "freed: empty, and lookups answer NULL");
}

/* Byte-string keys: items are strings of varied lengths, NUL bytes in
 * some, their own keys. */
struct item {
	size_t len;
	char key[24];
};

static const void *
item_key(const void *p, size_t *len)
{
	const struct item *it = p;

	*len = it->len;
	return it->key;
}

static void
make_key(struct item *it, unsigned k)
{
	memset(it->key, 0, sizeof it->key);
	it->len = (size_t)snprintf(it->key, sizeof it->key, "k%u", k);
	if (k % 3 == 0)
		it->len += 1 + k % 5;	/* trailing NULs: "k3" and "k3\0" differ */
}

static void
byte_table(void)
{
	static struct item items[NKEYS];
	static int in[NKEYS];
	struct hash t;
	size_t n = 0, bad = 0, i, seen;
	struct item probe, *it;

	for (unsigned k = 0; k < NKEYS; k++)
		make_key(&items[k], k);
	hash_init(&t, item_key);
	for (long op = 0; op < NOPS; op++) {
		unsigned k = rnd() % NKEYS;

		make_key(&probe, k);	/* a key in other memory than the item's */
		switch (rnd() % 4) {
		case 0: case 1:
			it = hash_put(&t, &items[k]);
			bad += it != (in[k] ? &items[k] : NULL);
			n += !in[k];
			in[k] = 1;
			break;
		case 2:
			it = hash_del(&t, probe.key, probe.len);
			bad += it != (in[k] ? &items[k] : NULL);
			n -= in[k];
			in[k] = 0;
			break;
		default:
			it = hash_get(&t, probe.key, probe.len);
			bad += it != (in[k] ? &items[k] : NULL);
		}
		bad += t.n != n;
	}
	is_int(bad, 0, "byte keys: %d random operations agree with the model", NOPS);
	seen = bad = 0;
	for (i = 0; (it = hash_next(&t, &i));) {
		seen++;
		bad += !in[it - items];
	}
	ok(seen == n && !bad, "iteration gives each item once (%zu of %zu)", seen, n);
	hash_free(&t);
	ok(!hash_get(&t, "k1", 2), "freed: empty");

	struct item a = { 2, "ab" }, b = { 3, "ab" };	/* "ab" and "ab\0" */
	hash_init(&t, item_key);
	hash_put(&t, &a);
	ok(!hash_put(&t, &b) && hash_get(&t, "ab", 2) == &a && hash_get(&t, "ab", 3) == &b,
	    "a key is told from the same bytes and a NUL after them");
	hash_free(&t);
}

int
main(void)
{
	log_init("hash-test");
	fnv_vectors();
	int_table();
	byte_table();
	return done_testing();
}
