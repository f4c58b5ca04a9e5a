/* cache-int: what the LRU (cache.c) and the Redis half (cache-redis.c) of
 * the cache share; see cache.h for the contract. */
#ifndef CACHE_INT_H
#define CACHE_INT_H
#include <stddef.h>
#include <hiredis/hiredis.h>

#include "lib/backoff.h"
#include "lib/hash.h"
#include "net/cache.h"

struct entry {
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
	struct hash tab;		/* the entries by key */
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

/* Into the LRU, replacing the key's entry; evicts beyond the bounds. */
void cache_lru_put(struct cache *c, const char *key, const char *val, size_t len,
    double fresh_until, double expire_at);
/* Parse o.redis_url into c (a malformed one is fatal, 100), then connect. */
void cache_redis_url(struct cache *c, const char *url);
void cache_redis_connect(struct cache *c);
#endif
