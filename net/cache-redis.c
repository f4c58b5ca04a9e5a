/* cache-redis: the shared Redis behind the LRU; see cache.h.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/cache-int.h"

static int
parse_unix(struct cache *c, const char *u)
{
	const char *q = strchr(u, '?');

	c->path = mem_strndup(u, q ? (size_t)(q - u) : strlen(u));
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
			c->password = mem_strndup(pc + 1, at - pc - 1);
		u = at + 1;
	}
	slash = strchr(u, '/');
	if (!slash)
		slash = u + strlen(u);
	colon = memchr(u, ':', slash - u);
	c->host = mem_strndup(u, (colon ? colon : slash) - u);
	c->port = colon ? atoi(colon + 1) : 6379;
	if (*slash == '/' && slash[1])
		c->db = atoi(slash + 1);
	return *c->host && c->port > 0 && c->port < 65536;
}

void
cache_redis_url(struct cache *c, const char *u)
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

void
cache_redis_connect(struct cache *c)
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
	cache_lru_put(c, key, *val, *len, fresh, expire);
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
		cache_redis_connect(c);
	if (!nr && !nw)
		return 0;
	/* Callbacks may queue more: they go to fresh arrays, next flush. */
	c->reads = NULL, c->nreads = c->areads = 0;
	c->writes = NULL, c->nwrites = c->awrites = 0;
	rep = mem_calloc(nr + 1, sizeof *rep);
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
