/* cache: bytes by key, fresh for a while and then kept, stale, a while
 * longer; a bounded in-process LRU in front of an optional shared Redis.
 *
 * The LRU answers at once (cache_get).  Redis is asked in batches: a key the
 * LRU lacks is queued with cache_fetch(), and every queued read and write
 * goes out in one pipeline at the next cache_flush(), which then runs the
 * callbacks of the reads.  A value read from Redis is also put in the LRU.
 *
 * Redis is optional and may come and go.  While it is down the LRU alone
 * serves: reads answer CACHE_MISS, writes are dropped (the LRU has them), and
 * cache_flush() reconnects with back-off.  One log line per change of state
 * ("redis: up", "redis: down"), never one per failed command.
 *
 * Times are wall-clock seconds (clock_wall(), so INSIGHT_NOW pins them),
 * because Redis entries are shared by processes and hosts.  In Redis a value
 * is stored as "<fresh_until> <bytes>" under prefix+key with an EX of its
 * whole life (fresh + keep), so Redis itself forgets it.
 *
 * A Redis that went away is a write to a closed socket: SIGPIPE must be
 * ignored (sig_init() does).
 *
 * Ownership: keys and values are copied in; values handed out are borrowed
 * and valid until the next call into the cache. */
#ifndef CACHE_H
#define CACHE_H
#include <stddef.h>

enum cache_state { CACHE_MISS, CACHE_STALE, CACHE_FRESH };

struct cache_opts {
	/* NULL or "": in-process only.  redis://[:password@]host[:port][/db]
	 * or unix:///path/to/socket[?db=N].  The password is never logged. */
	const char *redis_url;
	const char *prefix;	/* Redis key prefix; default "insight:esi:" */
	size_t max_entries;	/* LRU bound; default 200000 */
	size_t max_bytes;	/* LRU bound on keys + values; default 64 MiB */
	size_t max_memos;	/* entries that keep a memo; default 4096 */
	long timeout_ms;	/* Redis connect and command time-out; default 250 */
};

struct cache_stats {
	unsigned long hits, stale, misses;	/* cache_get answers */
	unsigned long redis_hits, redis_misses;	/* cache_fetch answers */
	unsigned long redis_writes, evictions;
	size_t entries, bytes;			/* in the LRU now */
	int redis;				/* -1 not configured, 0 down, 1 up */
};

/* A cache_fetch answer, run from cache_flush(): st is CACHE_MISS (val NULL)
 * when Redis lacks the key or is down, else CACHE_FRESH or CACHE_STALE with
 * the value (borrowed, valid during the call). */
typedef void cache_fn(void *arg, enum cache_state st, const char *val, size_t len);

/* Connects to Redis at once when configured (a failure is not fatal: the
 * cache starts "down" and retries).  A malformed URL is fatal (exit 100). */
struct cache *cache_new(const struct cache_opts *o);
/* Queued reads are dropped without their callbacks; queued writes are sent. */
void cache_free(struct cache *c);

/* In-process lookup only.  FRESH or STALE set *val and *len. */
enum cache_state cache_get(struct cache *c, const char *key, const char **val, size_t *len);
/* Store val as fresh for ttl seconds, then kept stale for keep seconds more,
 * in the LRU and (queued) in Redis. */
void cache_put(struct cache *c, const char *key, const char *val, size_t len,
    double ttl, double keep);
/* A memo: a decoded form of an entry's value that the caller keeps with
 * it (esi keeps the parsed JSON, so that a thousand mails naming the same
 * pilot share one object and parse it once).  cache_get_memo() is
 * cache_get() that also gives the memo attached to the entry (NULL when
 * none); cache_set_memo() attaches one to the entry of key, releasing the
 * previous with its own free function; when key has no entry, memo is
 * released at once.  The cache releases a memo when its entry goes, and
 * keeps memos on the max_memos most recently used entries only (the
 * others answer with memo NULL: the caller decodes the value again). */
enum cache_state cache_get_memo(struct cache *c, const char *key, const char **val,
    size_t *len, void **memo);
void cache_set_memo(struct cache *c, const char *key, void *memo, void (*free_fn)(void *));
/* Queue a Redis read of key; fn runs from the next cache_flush(). */
void cache_fetch(struct cache *c, const char *key, cache_fn *fn, void *arg);
/* Send the queued reads and writes in one pipeline, run the reads'
 * callbacks (they may call cache_fetch again: those wait for the next
 * flush).  Reconnects first when Redis is down and its back-off is over.
 * Returns the number of callbacks run. */
int cache_flush(struct cache *c);
/* Reads and writes waiting for cache_flush(). */
int cache_queued(const struct cache *c);
void cache_stats(const struct cache *c, struct cache_stats *s);
#endif
