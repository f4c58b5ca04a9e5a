/* cache: the LRU (fresh, stale, expired, eviction by count and bytes,
 * recency, memos) and Redis behind it (shared between two caches, values
 * and TTLs as stored, the prefix, down and back up) against a real
 * redis-server forked here on a private unix socket. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "net/cache.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "tap.h"

static int freed;

static void
count_free(void *p)
{
	freed++;
	free(p);
}

static void
at(long t)
{
	char s[32];

	snprintf(s, sizeof s, "%ld", t);
	setenv("INSIGHT_NOW", s, 1);
}

static const char *
get(struct cache *c, const char *k, enum cache_state *st)
{
	static char v[256];
	const char *p;
	size_t n;

	*st = cache_get(c, k, &p, &n);
	if (*st == CACHE_MISS)
		return NULL;
	snprintf(v, sizeof v, "%.*s", (int)n, p);
	return v;
}

/* Only the max_memos most recently used entries keep their memo. */
static void
memos(void)
{
	struct cache_opts o = { .max_entries = 100, .max_bytes = 1 << 20, .max_memos = 2 };
	struct cache *c = cache_new(&o);
	void *m1, *m2, *m3;
	const char *v;
	size_t n;
	int f0 = freed;

	at(1000);
	cache_put(c, "x", "X", 1, 10, 0);
	cache_put(c, "y", "Y", 1, 10, 0);
	cache_put(c, "z", "Z", 1, 10, 0);
	cache_set_memo(c, "x", strdup("mx"), count_free);
	cache_set_memo(c, "y", strdup("my"), count_free);
	cache_get_memo(c, "x", &v, &n, &m1);	/* x is now the newer memo */
	cache_set_memo(c, "z", strdup("mz"), count_free);
	is_int(freed - f0, 1, "a third memo over max_memos 2 releases one");
	cache_get_memo(c, "x", &v, &n, &m1);
	cache_get_memo(c, "y", &v, &n, &m2);
	cache_get_memo(c, "z", &v, &n, &m3);
	ok(m1 && !strcmp(m1, "mx") && !m2 && m3 && !strcmp(m3, "mz"),
	    "the least recently used memo went (y), the others stay");
	is_str(v, "Z", "the values stay whatever happens to memos");
	ok(cache_get(c, "y", &v, &n) == CACHE_FRESH && n == 1 && *v == 'Y',
	    "the entry that lost its memo still answers with its text");
	cache_free(c);
	is_int(freed - f0, 3, "freeing the cache releases the memos left");
}

/* The hash table grows as entries come: every entry stays reachable. */
static void
growth(void)
{
	struct cache_opts o = { .max_entries = 100000, .max_bytes = 64 << 20 };
	struct cache *c = cache_new(&o);
	enum cache_state st;
	char k[16], val[16];
	int found = 0;

	at(1000);
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "g%d", i);
		snprintf(val, sizeof val, "v%d", i);
		cache_put(c, k, val, strlen(val), 10, 0);
	}
	for (int i = 0; i < 5000; i++) {
		const char *g;

		snprintf(k, sizeof k, "g%d", i);
		snprintf(val, sizeof val, "v%d", i);
		found += (g = get(c, k, &st)) && !strcmp(g, val);
	}
	is_int(found, 5000, "5,000 entries over a table begun at 1,024 slots: all found");
	cache_free(c);
}

static void
lru(void)
{
	struct cache_opts o = { .max_entries = 3, .max_bytes = 1 << 20 };
	struct cache *c = cache_new(&o);
	enum cache_state st;
	void *memo;
	const char *v;
	size_t n;

	at(1000);
	cache_put(c, "a", "AAA", 3, 10, 100);
	is_str(get(c, "a", &st), "AAA", "a value put is got");
	is_int(st, CACHE_FRESH, "fresh within its ttl");
	at(1011);
	get(c, "a", &st);
	is_int(st, CACHE_STALE, "stale after its ttl, while kept");
	at(1111);
	ok(!get(c, "a", &st) && st == CACHE_MISS, "gone after ttl + keep");
	at(1000);
	cache_put(c, "b", "B", 1, 10, 0);
	cache_put(c, "c", "C", 1, 10, 0);
	cache_put(c, "d", "D", 1, 10, 0);
	get(c, "b", &st);		/* b is now the most recent */
	cache_put(c, "e", "E", 1, 10, 0);
	ok(get(c, "b", &st) && !get(c, "c", &st) && get(c, "d", &st) && get(c, "e", &st),
	    "over max_entries the least recently used goes");
	cache_put(c, "b", "B2", 2, 10, 0);
	is_str(get(c, "b", &st), "B2", "a put replaces");

	cache_set_memo(c, "b", strdup("memo"), count_free);
	cache_get_memo(c, "b", &v, &n, &memo);
	is_str(memo, "memo", "a memo comes back with its entry");
	cache_put(c, "b", "B3", 2, 10, 0);
	is_int(freed, 1, "replacing the value releases the memo");
	cache_get_memo(c, "b", &v, &n, &memo);
	ok(memo == NULL, "the new value has no memo");
	cache_set_memo(c, "nope", strdup("x"), count_free);
	is_int(freed, 2, "a memo for a missing key is released at once");
	cache_set_memo(c, "b", strdup("m"), count_free);
	cache_put(c, "f", "F", 1, 10, 0);
	cache_put(c, "g", "G", 1, 10, 0);
	cache_put(c, "h", "H", 1, 10, 0);
	is_int(freed, 3, "evicting an entry releases its memo");
	cache_free(c);

	o = (struct cache_opts){ .max_entries = 100, .max_bytes = 4096 };
	c = cache_new(&o);
	for (int i = 0; i < 40; i++) {
		char k[16], val[200];

		snprintf(k, sizeof k, "k%d", i);
		memset(val, 'x', sizeof val);
		cache_put(c, k, val, sizeof val, 10, 0);
	}
	struct cache_stats s;

	cache_stats(c, &s);
	ok(s.bytes <= 4096 && s.entries < 40 && s.evictions > 0,
	    "max_bytes bounds the LRU (%zu bytes, %zu entries)", s.bytes, s.entries);
	ok(get(c, "k39", &st) && !get(c, "k0", &st), "the newest stay, the oldest go");
	is_int(s.redis, -1, "no Redis configured");
	cache_free(c);
	memos();
	growth();
}

/* ---- Redis ---- */

static char dir[] = "/tmp/cache-test.XXXXXX", sock[128], url[160];
static pid_t rpid;

static int
redis_ping(void)
{
	struct timeval tv = { 0, 200000 };
	redisContext *r = redisConnectUnixWithTimeout(sock, tv);
	redisReply *rep = r && !r->err ? redisCommand(r, "PING") : NULL;
	int ok = rep && rep->type == REDIS_REPLY_STATUS;

	if (rep)
		freeReplyObject(rep);
	if (r)
		redisFree(r);
	return ok;
}

static int
redis_start(void)
{
	if ((rpid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock,
		    "--save", "", "--appendonly", "no", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (redis_ping())
			return 1;
		usleep(25000);
	}
	return 0;
}

static void
redis_stop(void)
{
	kill(rpid, SIGTERM);
	waitpid(rpid, NULL, 0);
}

static long long
redis_ttl(const char *key, char *val, size_t n)
{
	struct timeval tv = { 1, 0 };
	redisContext *r = redisConnectUnixWithTimeout(sock, tv);
	redisReply *rep = redisCommand(r, "TTL %s", key);
	long long t = rep->integer;

	freeReplyObject(rep);
	rep = redisCommand(r, "GET %s", key);
	snprintf(val, n, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "(nil)");
	freeReplyObject(rep);
	redisFree(r);
	return t;
}

struct got {
	int n;
	enum cache_state st;
	char v[64];
};

static void
on_fetch(void *arg, enum cache_state st, const char *val, size_t len)
{
	struct got *g = arg;

	g->n++;
	g->st = st;
	snprintf(g->v, sizeof g->v, "%.*s", (int)len, val ? val : "");
}

static void
shared(void)
{
	struct cache_opts o = { .redis_url = url, .prefix = "t:" };
	struct cache *a = cache_new(&o), *b = cache_new(&o);
	struct got g1 = { 0 }, g2 = { 0 }, g3 = { 0 };
	struct cache_stats s;
	enum cache_state st;
	char val[128];
	long long ttl;

	at(5000);
	cache_put(a, "x", "{\"name\":\"X\"}", 12, 100, 1000);
	cache_put(a, "old", "OLD", 3, 10, 1000);
	is_int(cache_queued(a), 2, "writes wait for the flush");
	cache_flush(a);
	ttl = redis_ttl("t:x", val, sizeof val);
	ok(ttl > 1000 && ttl <= 1100, "Redis keeps a value its whole life (TTL %lld)", ttl);
	is_str(val, "5100 6100 {\"name\":\"X\"}", "stored as fresh-until, expiry, bytes");
	at(5020);
	cache_fetch(b, "x", on_fetch, &g1);
	cache_fetch(b, "old", on_fetch, &g2);
	cache_fetch(b, "none", on_fetch, &g3);
	is_int(g1.n + g2.n + g3.n, 0, "reads wait for the flush");
	is_int(cache_flush(b), 3, "one flush answers the three reads");
	ok(g1.n == 1 && g1.st == CACHE_FRESH, "another cache reads a fresh value from Redis");
	is_str(g1.v, "{\"name\":\"X\"}", "the bytes as put");
	ok(g2.st == CACHE_STALE && !strcmp(g2.v, "OLD"), "stale stays stale through Redis");
	ok(g3.n == 1 && g3.st == CACHE_MISS, "a key Redis lacks is a miss");
	ok(get(b, "x", &st) && st == CACHE_FRESH, "a Redis hit lands in the LRU");
	cache_stats(b, &s);
	ok(s.redis == 1 && s.redis_hits == 2 && s.redis_misses == 1, "stats count Redis answers");

	redis_stop();
	cache_fetch(b, "x2", on_fetch, &g3);
	cache_put(b, "y", "Y", 1, 100, 0);
	cache_flush(b);
	cache_stats(b, &s);
	ok(g3.n == 2 && g3.st == CACHE_MISS && s.redis == 0, "Redis gone: reads miss, the cache says down");
	ok(get(b, "y", &st) && st == CACHE_FRESH, "Redis gone: the LRU still works");
	ok(redis_start(), "redis-server restarted");
	for (int i = 0; i < 100 && s.redis != 1; i++) {
		usleep(50000);
		cache_flush(b);
		cache_stats(b, &s);
	}
	is_int(s.redis, 1, "reconnected after the back-off, without a request");
	cache_put(b, "z", "Z", 1, 100, 0);
	cache_flush(b);
	ttl = redis_ttl("t:z", val, sizeof val);
	ok(ttl > 0, "writes reach the restarted Redis");
	cache_free(a);
	cache_free(b);
}

static int
exit_of(const char *u)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		struct cache_opts o = { .redis_url = u };

		freopen("/dev/null", "w", stderr);
		cache_new(&o);
		_exit(0);
	}
	waitpid(p, &st, 0);
	return WEXITSTATUS(st);
}

int
main(void)
{
	log_init("cache-test");
	log_level = LOG_FATAL;
	signal(SIGPIPE, SIG_IGN);	/* as sig_init() does in the tools */
	lru();
	is_int(exit_of("http://x"), 100, "a malformed REDIS_URL is fatal (100)");
	is_int(exit_of("unix://relative"), 100, "a relative socket path is refused");
	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(sock, sizeof sock, "%s/r.sock", dir);
	snprintf(url, sizeof url, "unix://%s", sock);
	if (!redis_start()) {
		printf("# skipped the Redis part: no redis-server\n");
	} else {
		shared();
		redis_stop();
	}
	unlink(sock);
	rmdir(dir);
	return done_testing();
}
