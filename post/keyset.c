/* keyset: see keyset.h. */
#include "post/keyset.h"

void
keyset_put(struct keyset *s, unsigned long long k, unsigned t)
{
	k = k ? k : 1;		/* key 0 is key 1, as files written before hold it */
	if (t)
		hash_put_int(&s->h, k, HASH_INT(t));
	else
		hash_del_int(&s->h, k);
}

unsigned
keyset_get(const struct keyset *s, unsigned long long k)
{
	return (unsigned)HASH_UINT(hash_get_int(&s->h, k ? k : 1));
}

unsigned
keyset_next(const struct keyset *s, size_t *i, unsigned long long *k)
{
	uint64_t w = 0;
	void *t = hash_next_key(&s->h, i, &w);

	*k = w;
	return (unsigned)HASH_UINT(t);
}

size_t
keyset_count(const struct keyset *s)
{
	return s->h.n;
}

void
keyset_free(struct keyset *s)
{
	hash_free(&s->h);
}
