/* cache: an LRU (hash table + recency list) in front of an optional Redis.
 *
 * Redis is spoken to synchronously, with short time-outs, in one pipeline
 * per cache_flush().  Why not hiredis' async API: the cache is local to a
 * fleet (same host or LAN), so a pipeline of every read and write a loop
 * turn produced costs one round trip of well under a millisecond, and the
 * worst case, a Redis that hangs, costs one time-out before we mark it down
 * and leave it alone for the back-off.  In exchange, no second event source
 * in the loop, no adapter for curl_multi_poll, and no callbacks racing the
 * ones of http. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "lib/backoff.h"
#include "net/cache.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"

struct entry {
	struct entry *hnext;		/* hash chain */
	struct link {
		struct entry *prev, *next;
	} ln[2];			/* in the lists RECENT and MEMOS */
	double fresh_until, expire_at;
	size_t klen, vlen;
	char *val;
	void *memo;
	void (*memo_free)(void *);
	char key[];
};

struct read {
	char *key;
	cache_fn *fn;
	void *arg;
};

struct write {
	char *key, *val;	/* val is "<fresh_until> <expire_at> <bytes>" */
	size_t vlen;
	double expire_at;
};

struct cache {
	struct cache_opts o;
	struct entry **tab;
	size_t mask;
	struct list {
		struct entry *head, *tail;	/* head is the newest */
	} list[2];	/* RECENT: every entry; MEMOS: the entries with a memo */
	size_t nmemos;
	struct cache_stats st;

	/* Redis: host/port or path, and where we are in reconnecting. */
	char *host, *path, *password;
	int port, db;
	redisContext *rc;
	struct backoff bo;
	double next_try;
	struct read *reads;
	size_t nreads, areads;
	struct write *writes;
	size_t nwrites, awrites;
};

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void *
xalloc(void *p, size_t n)
{
	if (!(p = realloc(p, n ? n : 1)))
		log_fatal(EXIT_TEMP, "out of memory");
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *p = xalloc(NULL, n + 1);

	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* ---- the LRU ---- */

static struct entry **
slot(struct cache *c, const char *key, size_t klen)
{
	struct entry **pp = &c->tab[hash(key, klen) & c->mask];

	while (*pp && ((*pp)->klen != klen || memcmp((*pp)->key, key, klen)))
		pp = &(*pp)->hnext;
	return pp;
}

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

/* Twice the slots when the entries outnumber them: the table grows with
 * what is cached, not with the bound. */
static void
grow(struct cache *c)
{
	size_t n = (c->mask + 1) * 2;
	struct entry **tab = mem_calloc(n, sizeof *tab), *e, *next;

	for (size_t i = 0; i <= c->mask; i++)
		for (e = c->tab[i]; e; e = next) {
			next = e->hnext;
			e->hnext = tab[hash(e->key, e->klen) & (n - 1)];
			tab[hash(e->key, e->klen) & (n - 1)] = e;
		}
	free(c->tab);
	c->tab = tab;
	c->mask = n - 1;
}

static size_t
cost(const struct entry *e)
{
	return sizeof *e + e->klen + 1 + e->vlen + 1;
}

static void
drop(struct cache *c, struct entry *e)
{
	struct entry **pp = slot(c, e->key, e->klen);

	*pp = e->hnext;
	list_unlink(c, RECENT, e);
	c->st.entries--;
	c->st.bytes -= cost(e);
	memo_drop(c, e);
	free(e->val);
	free(e);
}

static void
lru_put(struct cache *c, const char *key, const char *val, size_t len,
    double fresh_until, double expire_at)
{
	size_t klen = strlen(key);
	struct entry **pp = slot(c, key, klen), *e = *pp;

	if (e)
		drop(c, e);
	e = xalloc(NULL, sizeof *e + klen + 1);
	memset(e, 0, sizeof *e);
	memcpy(e->key, key, klen + 1);
	e->klen = klen;
	e->val = xstrndup(val, len);
	e->vlen = len;
	e->fresh_until = fresh_until;
	e->expire_at = expire_at;
	pp = slot(c, key, klen);
	e->hnext = *pp;
	*pp = e;
	list_front(c, RECENT, e);
	c->st.entries++;
	c->st.bytes += cost(e);
	if (c->st.entries > c->mask + 1 && c->mask < (1u << 24) - 1)
		grow(c);
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
	size_t klen = strlen(key);
	struct entry *e = *slot(c, key, klen);
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
	struct entry *e = *slot(c, key, strlen(key));

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

/* ---- Redis ---- */

static int
parse_unix(struct cache *c, const char *u)
{
	const char *q = strchr(u, '?');

	c->path = xstrndup(u, q ? (size_t)(q - u) : strlen(u));
	if (q && strncmp(q, "?db=", 4) == 0)
		c->db = atoi(q + 4);
	return *c->path == '/';
}

/* redis://[[user]:password@]host[:port][/db] */
static int
parse_tcp(struct cache *c, const char *u)
{
	const char *at = strchr(u, '@'), *slash, *colon;

	if (at) {
		const char *pc = memchr(u, ':', at - u);

		if (pc)
			c->password = xstrndup(pc + 1, at - pc - 1);
		u = at + 1;
	}
	slash = strchr(u, '/');
	if (!slash)
		slash = u + strlen(u);
	colon = memchr(u, ':', slash - u);
	c->host = xstrndup(u, (colon ? colon : slash) - u);
	c->port = colon ? atoi(colon + 1) : 6379;
	if (*slash == '/' && slash[1])
		c->db = atoi(slash + 1);
	return *c->host && c->port > 0 && c->port < 65536;
}

static void
parse_url(struct cache *c, const char *u)
{
	int ok = 0;

	if (!strncmp(u, "unix://", 7))
		ok = parse_unix(c, u + 7);
	else if (!strncmp(u, "redis://", 8))
		ok = parse_tcp(c, u + 8);
	if (!ok)
		log_fatal(EXIT_PERM, "REDIS_URL: want redis://host[:port][/db] or unix:///path");
}

static const char *
where(const struct cache *c, char *buf, size_t n)
{
	if (c->path)
		snprintf(buf, n, "unix:%s", c->path);
	else
		snprintf(buf, n, "%s:%d", c->host, c->port);
	return buf;
}

static void
went_down(struct cache *c, const char *reason)
{
	char w[256], why[128];

	snprintf(why, sizeof why, "%s", reason);	/* it may live in c->rc */
	if (c->rc)
		redisFree(c->rc);
	c->rc = NULL;
	c->next_try = clock_mono() + backoff_next(&c->bo);
	if (c->st.redis != 0)
		log_warn("redis: down, in-process cache only redis=%s error=\"%s\"",
		    where(c, w, sizeof w), why);
	c->st.redis = 0;
}

/* One command, synchronously; 0 when Redis answered without an error. */
static int
command(struct cache *c, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(c->rc, fmt, arg);
	int bad = !r || r->type == REDIS_REPLY_ERROR;

	if (r)
		freeReplyObject(r);
	return bad ? -1 : 0;
}

static void
connect_redis(struct cache *c)
{
	struct timeval tv = { c->o.timeout_ms / 1000, c->o.timeout_ms % 1000 * 1000 };
	char w[256], db[16];

	c->rc = c->path ? redisConnectUnixWithTimeout(c->path, tv) :
	    redisConnectWithTimeout(c->host, c->port, tv);
	if (!c->rc || c->rc->err) {
		went_down(c, c->rc ? c->rc->errstr : "out of memory");
		return;
	}
	redisSetTimeout(c->rc, tv);
	snprintf(db, sizeof db, "%d", c->db);
	if ((c->password && command(c, "AUTH %s", c->password)) ||
	    (c->db && command(c, "SELECT %s", db))) {
		went_down(c, c->rc->err ? c->rc->errstr : "AUTH or SELECT refused");
		return;
	}
	backoff_reset(&c->bo);
	if (c->st.redis != 1)
		log_info("redis: up redis=%s prefix=%s", where(c, w, sizeof w), c->o.prefix);
	c->st.redis = 1;
}

struct cache *
cache_new(const struct cache_opts *o)
{
	struct cache *c = xalloc(NULL, sizeof *c);
	size_t n = 1024;

	memset(c, 0, sizeof *c);
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
	c->tab = calloc(n, sizeof *c->tab);
	if (!c->tab)
		log_fatal(EXIT_TEMP, "out of memory");
	c->mask = n - 1;
	c->st.redis = -1;
	backoff_init(&c->bo, 0.5, 30);
	if (o->redis_url && *o->redis_url) {
		parse_url(c, o->redis_url);
		c->st.redis = 2;	/* unknown: the first state is logged */
		connect_redis(c);
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
	lru_put(c, key, val, len, fresh, expire);
	if (c->st.redis < 0)
		return;
	if (c->nwrites == c->awrites) {
		c->awrites = c->awrites ? 2 * c->awrites : 64;
		c->writes = xalloc(c->writes, c->awrites * sizeof *c->writes);
	}
	w = &c->writes[c->nwrites++];
	hl = snprintf(head, sizeof head, "%.0f %.0f ", floor(fresh), ceil(expire));
	w->key = strdup(key);
	w->vlen = hl + len;
	w->val = xalloc(NULL, w->vlen + 1);
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
		c->reads = xalloc(c->reads, c->areads * sizeof *c->reads);
	}
	c->reads[c->nreads++] = (struct read){ strdup(key), fn, arg };
}

int
cache_queued(const struct cache *c)
{
	return (int)(c->nreads + c->nwrites);
}

/* Append the pipeline: reads first, then writes. */
static void
append_all(struct cache *c, struct read *rd, size_t nr, struct write *wr, size_t nw)
{
	double now = clock_wall();
	const char *p = c->o.prefix;

	for (size_t i = 0; i < nr; i++)
		redisAppendCommand(c->rc, "GET %s%s", p, rd[i].key);
	for (size_t i = 0; i < nw; i++) {
		long long ex = (long long)ceil(wr[i].expire_at - now);

		redisAppendCommand(c->rc, "SET %s%s %b EX %lld", p, wr[i].key,
		    wr[i].val, wr[i].vlen, ex > 0 ? ex : 1);
	}
}

/* A stored value "<fresh_until> <expire_at> <bytes>" into the LRU, and its
 * state now; MISS when it does not parse or has expired. */
static enum cache_state
take_value(struct cache *c, const char *key, const char *s, size_t n,
    const char **val, size_t *len)
{
	char *e1, *e2;
	double fresh = strtod(s, &e1), expire, now = clock_wall();

	if (e1 == s || *e1 != ' ')
		return CACHE_MISS;
	expire = strtod(e1 + 1, &e2);
	if (e2 == e1 + 1 || *e2 != ' ' || expire <= now)
		return CACHE_MISS;
	*val = e2 + 1;
	*len = n - (size_t)(*val - s);
	lru_put(c, key, *val, *len, fresh, expire);
	return now < fresh ? CACHE_FRESH : CACHE_STALE;
}

/* Collect the replies of the reads; on a broken connection the rest are
 * misses.  Replies are kept until every read is answered, so that the
 * callbacks run after the pipeline is done with. */
static void
read_replies(struct cache *c, redisReply **rep, size_t nr, size_t nw)
{
	for (size_t i = 0; i < nr + nw && c->rc; i++) {
		void *r = NULL;

		if (redisGetReply(c->rc, &r) != REDIS_OK) {
			went_down(c, c->rc->errstr[0] ? c->rc->errstr : strerror(errno));
			break;
		}
		if (i < nr)
			rep[i] = r;
		else
			freeReplyObject(r);
	}
}

static void
free_writes(struct write *wr, size_t nw)
{
	for (size_t i = 0; i < nw; i++) {
		free(wr[i].key);
		free(wr[i].val);
	}
	free(wr);
}

static void
answer(struct cache *c, struct read *rd, redisReply *r)
{
	enum cache_state st = CACHE_MISS;
	const char *val = NULL;
	size_t len = 0;

	if (r && r->type == REDIS_REPLY_STRING)
		st = take_value(c, rd->key, r->str, r->len, &val, &len);
	if (st == CACHE_MISS) {
		c->st.redis_misses++;
		val = NULL;
		len = 0;
	} else
		c->st.redis_hits++;
	rd->fn(rd->arg, st, val, len);
}

int
cache_flush(struct cache *c)
{
	struct read *rd = c->reads;
	struct write *wr = c->writes;
	size_t nr = c->nreads, nw = c->nwrites;
	redisReply **rep;

	/* Reconnect when the back-off is over, idle or not. */
	if (!c->rc && c->st.redis >= 0 && clock_mono() >= c->next_try)
		connect_redis(c);
	if (!nr && !nw)
		return 0;
	/* Callbacks may queue more: they go to fresh arrays, next flush. */
	c->reads = NULL, c->nreads = c->areads = 0;
	c->writes = NULL, c->nwrites = c->awrites = 0;
	rep = calloc(nr + 1, sizeof *rep);
	if (c->rc) {
		append_all(c, rd, nr, wr, nw);
		read_replies(c, rep, nr, nw);
		if (c->rc)
			c->st.redis_writes += nw;
	}
	free_writes(wr, nw);
	for (size_t i = 0; i < nr; i++) {
		answer(c, &rd[i], rep[i]);
		if (rep[i])
			freeReplyObject(rep[i]);
		free(rd[i].key);
	}
	free(rep);
	free(rd);
	return (int)nr;
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
	free(c->tab);
	free(c->host);
	free(c->path);
	free(c->password);
	free(c);
}
