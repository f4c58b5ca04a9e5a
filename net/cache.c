/* cache: the LRU, a table and recency lists, and the calls that queue
 * work for Redis (cache-redis.c speaks to it); see cache.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/cache-int.h"

/* ---- the LRU ---- */

enum { RECENT, MEMOS };

static void
list_unlink(struct cache *c, int w, struct entry *e)
{
	struct link *l = &e->ln[w];

	if (l->prev)
		l->prev->ln[w].next = l->next;
	else
		c->list[w].head = l->next;
	if (l->next)
		l->next->ln[w].prev = l->prev;
	else
		c->list[w].tail = l->prev;
	l->prev = l->next = NULL;
}

static void
list_front(struct cache *c, int w, struct entry *e)
{
	e->ln[w].next = c->list[w].head;
	if (c->list[w].head)
		c->list[w].head->ln[w].prev = e;
	c->list[w].head = e;
	if (!c->list[w].tail)
		c->list[w].tail = e;
}

/* Memos are the big part of an entry (a parsed JSON object is several
 * times its text): only the max_memos most recently used entries keep one;
 * the others keep their text, and the caller parses it again on a hit. */
static void
memo_drop(struct cache *c, struct entry *e)
{
	if (!e->memo)
		return;
	list_unlink(c, MEMOS, e);
	e->memo_free(e->memo);
	e->memo = NULL;
	c->nmemos--;
}

static const void *
entry_key(const void *p, size_t *len)
{
	const struct entry *e = p;

	*len = e->klen;
	return e->key;
}

static struct entry *
find(const struct cache *c, const char *key)
{
	return hash_get(&c->tab, key, strlen(key));
}

/* What an entry weighs against max_bytes: itself, a pointer's worth for
 * its place in the table, its key and value. */
static size_t
cost(const struct entry *e)
{
	return sizeof *e + sizeof(void *) + e->klen + 1 + e->vlen + 1;
}

static void
drop(struct cache *c, struct entry *e)
{
	hash_del(&c->tab, e->key, e->klen);
	list_unlink(c, RECENT, e);
	c->st.entries--;
	c->st.bytes -= cost(e);
	memo_drop(c, e);
	free(e->val);
	free(e);
}

void
cache_lru_put(struct cache *c, const char *key, const char *val, size_t len,
    double fresh_until, double expire_at)
{
	size_t klen = strlen(key);
	struct entry *e = find(c, key);

	if (e)
		drop(c, e);
	e = mem_calloc(1, sizeof *e + klen + 1);
	memcpy(e->key, key, klen + 1);
	e->klen = klen;
	e->val = mem_strndup(val, len);
	e->vlen = len;
	e->fresh_until = fresh_until;
	e->expire_at = expire_at;
	hash_put(&c->tab, e);
	list_front(c, RECENT, e);
	c->st.entries++;
	c->st.bytes += cost(e);
	while (c->list[RECENT].tail &&
	    (c->st.entries > c->o.max_entries || c->st.bytes > c->o.max_bytes)) {
		drop(c, c->list[RECENT].tail);
		c->st.evictions++;
	}
}

enum cache_state
cache_get_memo(struct cache *c, const char *key, const char **val, size_t *len,
    void **memo)
{
	struct entry *e = find(c, key);
	double now = clock_wall();

	if (e && now >= e->expire_at) {
		drop(c, e);
		e = NULL;
	}
	if (!e) {
		c->st.misses++;
		return CACHE_MISS;
	}
	list_unlink(c, RECENT, e);
	list_front(c, RECENT, e);
	*val = e->val;
	*len = e->vlen;
	if (memo)
		*memo = e->memo;
	if (e->memo) {
		list_unlink(c, MEMOS, e);
		list_front(c, MEMOS, e);
	}
	if (now < e->fresh_until) {
		c->st.hits++;
		return CACHE_FRESH;
	}
	c->st.stale++;
	return CACHE_STALE;
}

enum cache_state
cache_get(struct cache *c, const char *key, const char **val, size_t *len)
{
	return cache_get_memo(c, key, val, len, NULL);
}

void
cache_set_memo(struct cache *c, const char *key, void *memo, void (*free_fn)(void *))
{
	struct entry *e = find(c, key);

	if (!e) {
		free_fn(memo);
		return;
	}
	memo_drop(c, e);
	e->memo = memo;
	e->memo_free = free_fn;
	list_front(c, MEMOS, e);
	if (++c->nmemos > c->o.max_memos)
		memo_drop(c, c->list[MEMOS].tail);
}

struct cache *
cache_new(const struct cache_opts *o)
{
	struct cache *c = mem_calloc(1, sizeof *c);

	c->o = *o;
	if (!c->o.prefix)
		c->o.prefix = "insight:esi:";
	if (!c->o.max_entries)
		c->o.max_entries = 200000;
	if (!c->o.max_bytes)
		c->o.max_bytes = 64u << 20;
	if (c->o.timeout_ms <= 0)
		c->o.timeout_ms = 250;
	if (!c->o.max_memos)
		c->o.max_memos = 4096;
	hash_init(&c->tab, entry_key);
	c->st.redis = -1;
	backoff_init(&c->bo, 0.5, 30);
	if (o->redis_url && *o->redis_url) {
		cache_redis_url(c, o->redis_url);
		c->st.redis = 2;	/* unknown: the first state is logged */
		cache_redis_connect(c);
	}
	return c;
}

void
cache_put(struct cache *c, const char *key, const char *val, size_t len,
    double ttl, double keep)
{
	double now = clock_wall(), fresh = now + ttl, expire = fresh + (keep > 0 ? keep : 0);
	struct write *w;
	char head[64];
	int hl;

	if (expire <= now)
		return;
	cache_lru_put(c, key, val, len, fresh, expire);
	if (c->st.redis < 0)
		return;
	if (c->nwrites == c->awrites) {
		c->awrites = c->awrites ? 2 * c->awrites : 64;
		c->writes = mem_realloc(c->writes, c->awrites * sizeof *c->writes);
	}
	w = &c->writes[c->nwrites++];
	hl = snprintf(head, sizeof head, "%.0f %.0f ", floor(fresh), ceil(expire));
	w->key = mem_strdup(key);
	w->vlen = hl + len;
	w->val = mem_malloc(w->vlen + 1);
	memcpy(w->val, head, hl);
	memcpy(w->val + hl, val, len);
	w->val[w->vlen] = 0;
	w->expire_at = expire;
}

void
cache_fetch(struct cache *c, const char *key, cache_fn *fn, void *arg)
{
	if (c->nreads == c->areads) {
		c->areads = c->areads ? 2 * c->areads : 64;
		c->reads = mem_realloc(c->reads, c->areads * sizeof *c->reads);
	}
	c->reads[c->nreads++] = (struct read){ mem_strdup(key), fn, arg };
}

int
cache_queued(const struct cache *c)
{
	return (int)(c->nreads + c->nwrites);
}

void
cache_stats(const struct cache *c, struct cache_stats *s)
{
	*s = c->st;
	if (s->redis > 1)
		s->redis = 0;
}

void
cache_free(struct cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nreads; i++)
		free(c->reads[i].key);
	c->nreads = 0;
	cache_flush(c);
	free(c->reads);
	while (c->list[RECENT].head)
		drop(c, c->list[RECENT].head);
	if (c->rc)
		redisFree(c->rc);
	hash_free(&c->tab);
	free(c->host);
	free(c->path);
	free(c->password);
	free(c);
}
