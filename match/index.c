/* index: an inverted index from guard keys to stream numbers, plus one
 * list of intervals per measure sorted by lower bound; see index.h. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match/index.h"
#include "lib/hash.h"
#include "lib/mem.h"

struct post {
	uint64_t key;
	unsigned no;
};

struct interval {
	double lo, hi;
	unsigned no;
};

struct index {
	struct post *posts;		/* sorted by key at seal */
	size_t nposts, capposts;
	struct hash first;		/* key -> 1 + its first post */
	struct interval *iv[MATCH_NMEASURES];
	size_t niv[MATCH_NMEASURES], capiv[MATCH_NMEASURES];
	unsigned *always;
	size_t nalways, capalways;
	unsigned *stamp;		/* stamp[no] == gen: already a candidate */
	unsigned gen, maxno;
	unsigned *out;			/* the lookup in progress */
	size_t nout;
};

static void *
grow(void *p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	if (*cap < need)
		*cap = need;
	return mem_realloc(p, *cap * sz);
}

struct index *
index_new(void)
{
	return mem_calloc(1, sizeof(struct index));
}

void
index_add(struct index *ix, unsigned no, const struct match_cond *c)
{
	struct match_guard g;

	if (no + 1 > ix->maxno)
		ix->maxno = no + 1;
	if (!match_guard(c, &g)) {
		ix->always = grow(ix->always, &ix->capalways, ix->nalways + 1, sizeof *ix->always);
		ix->always[ix->nalways++] = no;
		return;
	}
	for (size_t i = 0; i < g.n; i++) {
		struct match_atom *a = &g.atoms[i];
		int m = a->measure;

		if (m < 0) {
			ix->posts = grow(ix->posts, &ix->capposts, ix->nposts + 1, sizeof *ix->posts);
			ix->posts[ix->nposts++] = (struct post){ a->key, no };
			continue;
		}
		ix->iv[m] = grow(ix->iv[m], &ix->capiv[m], ix->niv[m] + 1, sizeof *ix->iv[m]);
		ix->iv[m][ix->niv[m]++] = (struct interval){ a->lo, a->hi, no };
	}
	free(g.atoms);
}

static int
cmp_post(const void *a, const void *b)
{
	const struct post *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->no > y->no) - (x->no < y->no);
}

static int
cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return (x->lo > y->lo) - (x->lo < y->lo);
}

/* The posts of a key follow its first one, sorted. */
void
index_seal(struct index *ix)
{
	if (ix->nposts)
		qsort(ix->posts, ix->nposts, sizeof *ix->posts, cmp_post);
	for (size_t i = 0; i < ix->nposts; i++)
		if (!i || ix->posts[i].key != ix->posts[i - 1].key)
			hash_put_int(&ix->first, ix->posts[i].key, HASH_INT(i + 1));
	for (int m = 0; m < MATCH_NMEASURES; m++)
		if (ix->niv[m])
			qsort(ix->iv[m], ix->niv[m], sizeof *ix->iv[m], cmp_interval);
	ix->stamp = mem_calloc(ix->maxno + 1, sizeof *ix->stamp);
}

static void
candidate(struct index *ix, unsigned no)
{
	if (ix->stamp[no] != ix->gen) {
		ix->stamp[no] = ix->gen;
		ix->out[ix->nout++] = no;
	}
}

static void
on_key(void *arg, uint64_t key)
{
	struct index *ix = arg;
	size_t i = HASH_UINT(hash_get_int(&ix->first, key));

	for (; i && i <= ix->nposts && ix->posts[i - 1].key == key; i++)
		candidate(ix, ix->posts[i - 1].no);
}

/* Intervals are sorted by lower bound: only a prefix can hold v. */
static void
on_measure(struct index *ix, int m, double v)
{
	size_t lo = 0, hi = ix->niv[m];

	if (isnan(v))
		return;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ix->iv[m][mid].lo <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = 0; i < lo; i++)
		if (ix->iv[m][i].hi >= v)
			candidate(ix, ix->iv[m][i].no);
}

static int
cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

size_t
index_lookup(struct index *ix, const struct match_mail *m, unsigned *out)
{
	if (++ix->gen == 0) {	/* wrapped: old stamps could look current */
		memset(ix->stamp, 0, (ix->maxno + 1) * sizeof *ix->stamp);
		ix->gen = 1;
	}
	ix->out = out;
	ix->nout = 0;
	if (ix->nposts)
		match_mail_keys(m, on_key, ix);
	for (int k = 0; k < MATCH_NMEASURES; k++)
		if (ix->niv[k])
			on_measure(ix, k, match_mail_measure(m, k));
	for (size_t i = 0; i < ix->nalways; i++)
		candidate(ix, ix->always[i]);
	qsort(out, ix->nout, sizeof *out, cmp_uint);
	return ix->nout;
}

size_t
index_unguarded(const struct index *ix)
{
	return ix->nalways;
}

void
index_free(struct index *ix)
{
	if (!ix)
		return;
	free(ix->posts);
	hash_free(&ix->first);
	for (int m = 0; m < MATCH_NMEASURES; m++)
		free(ix->iv[m]);
	free(ix->always);
	free(ix->stamp);
	free(ix);
}
