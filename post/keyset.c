/* keyset: see keyset.h. */
#include <stdlib.h>
#include <string.h>

#include "post/keyset.h"
#include "lib/mem.h"

static size_t
keyset_find(const struct keyset *s, unsigned long long k)
{
	size_t i = (size_t)(k * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);

	while (s->k[i] && s->k[i] != k)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static void
keyset_grow(struct keyset *s)
{
	struct keyset o = *s;

	s->cap = o.cap ? o.cap * 2 : 1024;
	s->n = 0;
	s->k = mem_calloc(s->cap, sizeof *s->k);
	s->t = mem_calloc(s->cap, sizeof *s->t);
	for (size_t i = 0; i < o.cap; i++)
		if (o.k[i])
			keyset_put(s, o.k[i], o.t[i]);
	free(o.k);
	free(o.t);
}

void
keyset_put(struct keyset *s, unsigned long long k, unsigned t)
{
	size_t i;

	if (!k)
		k = 1;		/* 0 marks an empty slot */
	/* Three quarters full at most: short probes, and a day of keys (66,000
	 * with 1,000 streams) in 1.5 MB rather than 3. */
	if ((s->n + 1) * 4 > s->cap * 3)
		keyset_grow(s);
	i = keyset_find(s, k);
	if (!s->k[i])
		s->n++;
	s->k[i] = k;
	s->t[i] = t;
}

unsigned
keyset_get(const struct keyset *s, unsigned long long k)
{
	if (!s->cap)
		return 0;
	k = k ? k : 1;
	return s->t[keyset_find(s, k)];
}

void
keyset_free(struct keyset *s)
{
	free(s->k);
	free(s->t);
	memset(s, 0, sizeof *s);
}
