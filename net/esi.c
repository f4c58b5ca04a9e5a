/* esi: see esi.h for the contract.
 *
 * Every question is a "want" keyed by its cache key; a second caller of the
 * same key joins the want as one more waiter, so nothing is asked twice.  A
 * want goes: LRU (answered at once) -> Redis (one pipeline per esi_run) ->
 * the send queue, or for names the names queue and a batch -> HTTP -> done:
 * every waiter gets a "ready" record, and esi_run() runs those.
 *
 * What may be sent is decided in one place, can_send(): a global hold (420,
 * the error limit running low, ESI failing), a per-group hold or pace
 * (X-Ratelimit-*, 429), and the bound on requests in flight, which drops to
 * one while ESI fails so that a storm of 5xx is probed, not hammered. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "net/esi.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "json/ndjson.h"

#define NAMES_MAX 1000		/* ESI's limit per POST /universe/names */
#define MAX_GROUPS 16

enum kind { K_GET, K_POST, K_NAME };
enum wstate { W_CACHE, W_QUEUED, W_NAMEQ, W_INFLIGHT };

struct waiter {
	esi_fn *fn;
	void *arg;
	struct waiter *next;
};

struct want {
	struct want *hnext, *qnext;
	enum kind kind;
	enum wstate state;
	char *key, *path, *body;
	int64_t id;
	struct waiter *waiters;
	char *stale;			/* a stale copy to fall back on */
	size_t stale_len;
	double due;			/* mono: not sent before (back-off) */
	struct backoff bo;
};

struct batch {
	struct batch *next;
	struct want **w;
	size_t n;
	double due;
	struct backoff bo;
};

struct ready {
	struct ready *next;
	esi_fn *fn;
	void *arg;
	enum esi_status st;
	json_t *j;
	int cached;		/* the answer came from the cache */
};

/* An HTTP request in flight (or a Redis read): a want, or a names batch. */
struct req {
	struct esi *e;
	struct want *w;
	struct batch *b;
	int group;
	double sent;			/* mono */
	struct req *next, **prevp;	/* in flight, so esi_free() can let go */
};

/* X-Ratelimit-* state of one group; routes learn their group from answers. */
struct group {
	char name[40];
	double hold_until, next_at, pace;
};

struct route {
	char name[32];
	int group;
};

struct esi {
	struct http *h;
	struct cache *c;
	int cached;		/* of the answer whose callback runs now */
	struct esi_opts o;
	char compat[64];
	struct want **tab;
	size_t tabn, nwants;
	struct want *qhead, *qtail;	/* GETs and POSTs to send */
	struct want **names;		/* names not yet in a batch */
	size_t nnames, anames;
	double names_since;
	struct batch *batches;		/* split or retried batches, first */
	struct ready *rhead, *rtail;
	struct req *reqs;		/* HTTP requests in flight */
	int inflight, pending;
	double hold_until;
	int failing;
	double fail_since;		/* mono: when the failing began */
	double err_max;			/* the most errors left ever seen */
	struct backoff bo;
	struct group groups[MAX_GROUPS];
	struct route routes[MAX_GROUPS];
	int ngroups, nroutes;
	struct esi_stats st;
};

static void *
xalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		log_fatal(EXIT_TEMP, "out of memory");
	return p;
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static struct req *
req_new(struct esi *e)
{
	struct req *q = xalloc(sizeof *q);

	q->e = e;
	if ((q->next = e->reqs))
		q->next->prevp = &q->next;
	q->prevp = &e->reqs;
	e->reqs = q;
	return q;
}

static void
req_free(struct req *q)
{
	if ((*q->prevp = q->next))
		q->next->prevp = q->prevp;
	free(q);
}

/* ---- the table of wants ---- */

static struct want **
find(struct esi *e, const char *key)
{
	struct want **pp = &e->tab[hash(key) & (e->tabn - 1)];

	while (*pp && strcmp((*pp)->key, key))
		pp = &(*pp)->hnext;
	return pp;
}

static void
grow(struct esi *e)
{
	struct want **old = e->tab;
	size_t n = e->tabn;

	e->tabn = n ? 2 * n : 1024;
	e->tab = xalloc(e->tabn * sizeof *e->tab);
	for (size_t i = 0; i < n; i++)
		for (struct want *w = old[i], *nx; w; w = nx) {
			struct want **pp = find(e, w->key);

			nx = w->hnext;
			w->hnext = *pp;
			*pp = w;
		}
	free(old);
}

static struct want *
want_new(struct esi *e, enum kind k, const char *key)
{
	struct want *w = xalloc(sizeof *w), **pp;

	if (e->nwants >= e->tabn)
		grow(e);
	w->kind = k;
	w->key = mem_strdup(key);
	backoff_init(&w->bo, e->o.backoff_min, e->o.backoff_max);
	pp = find(e, key);
	w->hnext = *pp;
	*pp = w;
	e->nwants++;
	return w;
}

static void
want_free(struct esi *e, struct want *w)
{
	struct want **pp = find(e, w->key);

	if (*pp == w) {
		*pp = w->hnext;
		e->nwants--;
	}
	while (w->waiters) {
		struct waiter *nx = w->waiters->next;

		free(w->waiters);
		w->waiters = nx;
	}
	free(w->key);
	free(w->path);
	free(w->body);
	free(w->stale);
	free(w);
}

static void
add_waiter(struct esi *e, struct want *w, esi_fn *fn, void *arg)
{
	struct waiter *wt = xalloc(sizeof *wt);

	wt->fn = fn;
	wt->arg = arg;
	wt->next = w->waiters;
	w->waiters = wt;
	e->pending++;
}

static void
ready(struct esi *e, esi_fn *fn, void *arg, enum esi_status st, json_t *j, int cached)
{
	struct ready *r = xalloc(sizeof *r);

	r->cached = cached;
	r->fn = fn;
	r->arg = arg;
	r->st = st;
	r->j = j ? json_incref(j) : NULL;
	if (e->rtail)
		e->rtail->next = r;
	else
		e->rhead = r;
	e->rtail = r;
}

/* Every waiter gets the answer; the want is done with. */
static void
complete_from(struct esi *e, struct want *w, enum esi_status st, json_t *j, int cached)
{
	for (struct waiter *wt = w->waiters; wt; wt = wt->next)
		ready(e, wt->fn, wt->arg, st, j, cached);
	if (st == ESI_NOTFOUND)
		e->st.notfound++;
	want_free(e, w);
}

/* An answer from ESI. */
static void
complete(struct esi *e, struct want *w, enum esi_status st, json_t *j)
{
	complete_from(e, w, st, j, 0);
}

/* ---- what the cache keeps ---- */

static int
prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Static universe data: may be served stale while ESI fails. */
static int
is_static(const struct want *w)
{
	return w->kind == K_GET && prefix(w->path, "/universe/");
}

/* Drop what no stage reads, so values stay small in the LRU and Redis. */
static void
slim(const char *path, json_t *j)
{
	static const char *drop[][3] = {
		{ "/universe/types/", "dogma_attributes", "dogma_effects" },
		{ "/universe/systems/", "planets", "stations" },
		{ "/universe/groups/", "types", NULL },
		{ "/universe/categories/", "groups", NULL },
		{ "/universe/constellations/", "systems", NULL },
		{ "/universe/regions/", "constellations", NULL },
	};

	if (!json_is_object(j))
		return;
	json_object_del(j, "description");
	for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
		if (prefix(path, drop[i][0]))
			for (int k = 1; k < 3 && drop[i][k]; k++)
				json_object_del(j, drop[i][k]);
	if (prefix(path, "/killmails/"))
		json_object_del(json_object_get(j, "victim"), "items");
}

static double
ttl_for(struct esi *e, const struct want *w, double ttl)
{
	if (w->kind == K_GET && prefix(w->path, "/killmails/"))
		return e->o.ttl_max;	/* a killmail never changes */
	if (ttl < 0)
		ttl = e->o.ttl_default;
	if (ttl < e->o.ttl_min)
		ttl = e->o.ttl_min;
	return ttl > e->o.ttl_max ? e->o.ttl_max : ttl;
}

static void
memo_free(void *j)
{
	json_decref(j);
}

/* The LRU keeps the parsed answer beside its bytes (see cache_set_memo). */
static void
store(struct esi *e, const struct want *w, json_t *j, double ttl)
{
	char *s = j ? ndjson_str(j) : mem_strdup("null");

	cache_put(e->c, w->key, s, strlen(s), j ? ttl_for(e, w, ttl) : e->o.neg_ttl,
	    j && is_static(w) ? e->o.stale_max : 0);
	if (j)
		cache_set_memo(e->c, w->key, json_incref(j), memo_free);
	free(s);
}

/* A cached value answers the want: "null" is a remembered not-found.
 * memo: the parsed form the LRU holds, if any; memoize: give it one. */
static int
answer_cached(struct esi *e, struct want *w, const char *val, size_t len,
    json_t *memo, int memoize)
{
	json_t *j = memo ? json_incref(memo) : json_loadb(val, len, 0, NULL);

	if (!j && (len != 4 || memcmp(val, "null", 4)))
		return -1;
	if (j && !memo && memoize)
		cache_set_memo(e->c, w->key, json_incref(j), memo_free);
	e->st.cached++;
	complete_from(e, w, j ? ESI_OK : ESI_NOTFOUND, j, 1);
	json_decref(j);
	return 0;
}

/* ---- queues ---- */

static void
enqueue(struct esi *e, struct want *w)
{
	if (w->stale && e->failing && is_static(w)) {
		e->st.stale_served++;
		answer_cached(e, w, w->stale, w->stale_len, NULL, 0);
		return;
	}
	if (w->kind == K_NAME) {
		if (e->nnames == e->anames) {
			e->anames = e->anames ? 2 * e->anames : 256;
			e->names = realloc(e->names, e->anames * sizeof *e->names);
			if (!e->names)
				log_fatal(EXIT_TEMP, "out of memory");
		}
		if (!e->nnames)
			e->names_since = clock_mono();
		e->names[e->nnames++] = w;
		w->state = W_NAMEQ;
		return;
	}
	w->state = W_QUEUED;
	w->qnext = NULL;
	if (e->qtail)
		e->qtail->qnext = w;
	else
		e->qhead = w;
	e->qtail = w;
}

/* The Redis answer for a want (arg is a struct req with no request). */
static void
on_redis(void *arg, enum cache_state st, const char *val, size_t len)
{
	struct req *q = arg;
	struct esi *e = q->e;
	struct want *w = q->w;

	free(q);
	if (st == CACHE_FRESH && answer_cached(e, w, val, len, NULL, 1) == 0)
		return;
	if (st == CACHE_STALE && !w->stale) {
		w->stale = malloc(len + 1);
		memcpy(w->stale, val, len);
		w->stale[len] = 0;
		w->stale_len = len;
	}
	enqueue(e, w);
}

/* A new question: joins a want, or is answered by the LRU, or starts one. */
static void
ask(struct esi *e, enum kind k, const char *key, esi_fn *fn, void *arg,
    struct want **neww)
{
	struct want *w = *find(e, key);
	enum cache_state st;
	const char *val;
	size_t len;
	void *memo = NULL;

	*neww = NULL;
	e->st.asked++;
	if (w) {
		e->st.shared++;
		add_waiter(e, w, fn, arg);
		return;
	}
	w = want_new(e, k, key);
	add_waiter(e, w, fn, arg);
	st = cache_get_memo(e->c, key, &val, &len, &memo);
	if (st == CACHE_FRESH && answer_cached(e, w, val, len, memo, 1) == 0)
		return;
	if (st == CACHE_STALE) {
		w->stale = malloc(len + 1);
		memcpy(w->stale, val, len);
		w->stale[len] = 0;
		w->stale_len = len;
	}
	*neww = w;
}

/* After ask(): fill in the request, then Redis or the queue. */
static void
start(struct esi *e, struct want *w)
{
	struct cache_stats cs;

	cache_stats(e->c, &cs);
	if (cs.redis < 0) {
		enqueue(e, w);
		return;
	}
	struct req *q = xalloc(sizeof *q);

	q->e = e;
	q->w = w;
	w->state = W_CACHE;
	cache_fetch(e->c, w->key, on_redis, q);
}

void
esi_get(struct esi *e, const char *path, esi_fn *fn, void *arg)
{
	struct want *w;

	ask(e, K_GET, path, fn, arg, &w);
	if (!w)
		return;
	w->path = mem_strdup(path);
	start(e, w);
}

void
esi_post(struct esi *e, const char *path, const char *body, esi_fn *fn, void *arg)
{
	size_t n = strlen(path) + strlen(body) + 2;
	char *key = malloc(n);
	struct want *w;

	snprintf(key, n, "%s?%s", path, body);
	ask(e, K_POST, key, fn, arg, &w);
	free(key);
	if (!w)
		return;
	w->path = mem_strdup(path);
	w->body = mem_strdup(body);
	start(e, w);
}

void
esi_name(struct esi *e, int64_t id, esi_fn *fn, void *arg)
{
	char key[40];
	struct want *w;

	if (id <= 0) {
		e->st.asked++;
		e->st.notfound++;
		e->pending++;
		ready(e, fn, arg, ESI_NOTFOUND, NULL, 0);
		return;
	}
	snprintf(key, sizeof key, "names/%lld", (long long)id);
	ask(e, K_NAME, key, fn, arg, &w);
	if (!w)
		return;
	w->id = id;
	start(e, w);
}

/* ---- limits ---- */

static int
group_index(struct esi *e, const char *name)
{
	int i;

	for (i = 0; i < e->ngroups; i++)
		if (!strcmp(e->groups[i].name, name))
			return i;
	if (i == MAX_GROUPS)
		return -1;
	snprintf(e->groups[i].name, sizeof e->groups[i].name, "%.39s", name);
	return e->ngroups++;
}

/* The route of a path is its first segment: "/killmails/1/ab" -> "killmails". */
static struct route *
route_of(struct esi *e, const char *path, int create)
{
	char name[32];
	size_t n = strcspn(path + 1, "/");

	snprintf(name, sizeof name, "%.*s", (int)n, path + 1);
	for (int i = 0; i < e->nroutes; i++)
		if (!strcmp(e->routes[i].name, name))
			return &e->routes[i];
	if (!create || e->nroutes == MAX_GROUPS)
		return NULL;
	snprintf(e->routes[e->nroutes].name, sizeof e->routes[0].name, "%s", name);
	e->routes[e->nroutes].group = -1;
	return &e->routes[e->nroutes++];
}

static int
group_of(struct esi *e, const char *path)
{
	struct route *r = route_of(e, path, 0);

	return r ? r->group : -1;
}

/* Stop sending anything for secs; one log line when a pause begins. */
static void
hold(struct esi *e, double secs, const char *why, int quiet)
{
	double now = clock_mono(), until = now + secs;

	if (until <= e->hold_until)
		return;
	if (!quiet && now >= e->hold_until)
		log_warn("esi: pausing requests s=%.1f why=\"%s\"", secs, why);
	e->hold_until = until;
}

static double
header_num(struct http_resp *r, const char *name, double def)
{
	char v[64];

	return http_header(r, name, v, sizeof v) ? strtod(v, NULL) : def;
}

/* "150/15m": tokens per window. */
static void
parse_limit(const char *v, double *tokens, double *window)
{
	char *end;

	*tokens = strtod(v, &end);
	*window = 900;
	if (*end == '/') {
		double n = strtod(end + 1, &end);

		*window = n * (*end == 'h' ? 3600 : *end == 's' ? 1 : 60);
	}
}

/* The bucket of a group is running low: space its requests so that the
 * tokens we spend come back (a 2xx costs 2) as fast as we use them. */
static void
learn_bucket(struct esi *e, struct req *q, struct http_resp *r, const char *gname)
{
	struct route *rt = route_of(e, q->w ? q->w->path : "/universe/names", 1);
	char v[64];
	double tokens = 0, window = 900, remain;
	struct group *g;
	int gi = group_index(e, gname);

	if (gi < 0)
		return;
	if (rt)
		rt->group = gi;
	q->group = gi;
	g = &e->groups[gi];
	if (http_header(r, "X-Ratelimit-Limit", v, sizeof v))
		parse_limit(v, &tokens, &window);
	remain = header_num(r, "X-Ratelimit-Remaining", -1);
	if (tokens > 0 && remain >= 0 && remain < (tokens / 10 > 10 ? tokens / 10 : 10)) {
		if (!g->pace)
			log_info("esi: slowing down group=%s remaining=%.0f limit=%s",
			    g->name, remain, v);
		g->pace = window / (tokens / 2);
	} else
		g->pace = 0;
}

/* Headers every answer may carry: the error window and the buckets. */
static void
learn(struct esi *e, struct req *q, struct http_resp *r)
{
	char v[64];
	double remain = header_num(r, "X-ESI-Error-Limit-Remain", -1);

	/* The window is fixed and shared with every request in flight: stop
	 * with a fifth of it left (20 of ESI's 100) rather than meet a 420. */
	if (remain > e->err_max)
		e->err_max = remain;
	if (remain >= 0 && remain <= (e->err_max / 5 > 2 ? e->err_max / 5 : 2))
		hold(e, header_num(r, "X-ESI-Error-Limit-Reset", 60) + 0.5,
		    "error limit running low", 0);
	if (http_header(r, "X-Ratelimit-Group", v, sizeof v))
		learn_bucket(e, q, r, v);
}

/* 420: every route waits for the error window; 429: the group (or, when
 * ESI does not say which, everything) waits Retry-After. */
static void
limited(struct esi *e, struct req *q, struct http_resp *r)
{
	double s;

	e->st.errors++;
	if (r->status == 420) {
		hold(e, header_num(r, "X-ESI-Error-Limit-Reset", 60) + 0.5,
		    "420 error limited", 0);
		return;
	}
	s = r->retry_after >= 0 ? r->retry_after : 10;
	if (q->group < 0) {
		hold(e, s, "429 rate limited", 0);
		return;
	}
	if (clock_mono() >= e->groups[q->group].hold_until)
		log_warn("esi: pausing group=%s s=%.1f why=\"429 rate limited\"",
		    e->groups[q->group].name, s);
	e->groups[q->group].hold_until = clock_mono() + s;
}

/* 5xx, time-outs, garbage: while this lasts, one request at a time probes. */
static void
failed(struct esi *e, struct http_resp *r, const char *why)
{
	e->st.errors++;
	if (!e->failing) {
		log_warn("esi: failing, backing off status=%ld why=\"%s\"", r->status, why);
		e->fail_since = clock_mono();
	}
	e->failing = 1;
	if (clock_mono() >= e->hold_until)
		hold(e, backoff_next(&e->bo), why, 1);
}

/* Only an answer to a request sent after the failing began says that ESI
 * is back: the others were on their way already. */
static void
recovered(struct esi *e, struct req *q)
{
	if (e->failing && q->sent < e->fail_since)
		return;
	if (e->failing)
		log_info("esi: answering again");
	e->failing = 0;
	backoff_reset(&e->bo);
}

static int
can_send(struct esi *e, int group, double now)
{
	if (now < e->hold_until || e->inflight >= (e->failing ? 1 : e->o.max_inflight))
		return 0;
	if (group < 0)
		return 1;
	return now >= e->groups[group].hold_until && now >= e->groups[group].next_at;
}

static void
sent(struct esi *e, struct req *q, double now)
{
	int group = q->group;

	q->sent = now;
	e->inflight++;
	e->st.requests++;
	if (group >= 0 && e->groups[group].pace)
		e->groups[group].next_at = now + e->groups[group].pace;
}

/* ---- answers ---- */

static void
retry(struct esi *e, struct want *w)
{
	if (w->stale && is_static(w)) {
		e->st.stale_served++;
		if (answer_cached(e, w, w->stale, w->stale_len, NULL, 0) == 0)
			return;
	}
	e->st.retries++;
	w->due = clock_mono() + backoff_next(&w->bo);
	enqueue(e, w);
}

static void
want_done(struct esi *e, struct req *q, struct http_resp *r)
{
	struct want *w = q->w;
	json_t *j;

	switch (r->class) {
	case HTTP_OK:
		if (!(j = json_loadb(r->body, r->len, 0, NULL))) {
			log_warn("esi: answer is not JSON, retrying path=%s", w->path);
			failed(e, r, "answer not JSON");
			retry(e, w);
			return;
		}
		recovered(e, q);
		slim(w->path, j);
		store(e, w, j, r->ttl);
		complete(e, w, ESI_OK, j);
		json_decref(j);
		return;
	case HTTP_NOTFOUND:
	case HTTP_CLIENT:
		recovered(e, q);
		e->st.errors++;
		log_debug("esi: not found status=%ld path=%s", r->status, w->path);
		store(e, w, NULL, 0);
		complete(e, w, ESI_NOTFOUND, NULL);
		return;
	case HTTP_LIMITED:
		limited(e, q, r);
		w->due = 0;
		enqueue(e, w);
		return;
	default:
		failed(e, r, r->error ? r->error : http_class_name(r->class));
		retry(e, w);
	}
}

static void
batch_push(struct esi *e, struct batch *b, double due)
{
	b->due = due;
	b->next = e->batches;
	e->batches = b;
}

static void
batch_free(struct batch *b)
{
	free(b->w);
	free(b);
}

/* ESI refused the batch for one id it cannot resolve: halve it until that
 * id is alone; each half is retried at once, before new batches. */
static void
batch_split(struct esi *e, struct batch *b)
{
	struct batch *h;

	if (b->n == 1) {
		log_info("esi: name unresolvable id=%lld", (long long)b->w[0]->id);
		store(e, b->w[0], NULL, 0);
		complete(e, b->w[0], ESI_NOTFOUND, NULL);
		batch_free(b);
		return;
	}
	h = xalloc(sizeof *h);
	h->n = b->n / 2;
	h->w = xalloc(h->n * sizeof *h->w);
	memcpy(h->w, b->w + (b->n - h->n), h->n * sizeof *h->w);
	b->n -= h->n;
	backoff_init(&h->bo, e->o.backoff_min, e->o.backoff_max);
	batch_push(e, h, 0);
	batch_push(e, b, 0);
}

/* 200: each id of the batch gets its element of the answer. */
static void
batch_answer(struct esi *e, struct batch *b, json_t *arr)
{
	json_t *byid = json_object(), *el;
	char k[32];
	size_t i;

	json_array_foreach(arr, i, el) {
		snprintf(k, sizeof k, "%lld", (long long)json_integer_value(json_object_get(el, "id")));
		json_object_set(byid, k, el);
	}
	for (i = 0; i < b->n; i++) {
		snprintf(k, sizeof k, "%lld", (long long)b->w[i]->id);
		el = json_object_get(byid, k);
		store(e, b->w[i], el, -1);
		complete(e, b->w[i], el ? ESI_OK : ESI_NOTFOUND, el);
	}
	json_decref(byid);
	batch_free(b);
}

static void
batch_done(struct esi *e, struct req *q, struct http_resp *r)
{
	struct batch *b = q->b;
	json_t *j;

	switch (r->class) {
	case HTTP_OK:
		if ((j = json_loadb(r->body, r->len, 0, NULL)) && json_is_array(j)) {
			recovered(e, q);
			batch_answer(e, b, j);
			json_decref(j);
			return;
		}
		json_decref(j);
		log_warn("esi: names answer is not a JSON array, retrying");
		failed(e, r, "answer not JSON");
		break;
	case HTTP_NOTFOUND:
	case HTTP_CLIENT:
		recovered(e, q);
		e->st.errors++;
		batch_split(e, b);
		return;
	case HTTP_LIMITED:
		limited(e, q, r);
		batch_push(e, b, 0);
		return;
	default:
		failed(e, r, r->error ? r->error : http_class_name(r->class));
	}
	e->st.retries++;
	batch_push(e, b, clock_mono() + backoff_next(&b->bo));
}

static void
on_http(void *arg, struct http_resp *r)
{
	struct req *q = arg;
	struct esi *e = q->e;

	e->inflight--;
	log_debug("esi: %s status=%ld ms=%.0f", q->b ? "/universe/names" : q->w->path,
	    r->status, r->ms);
	q->group = -1;		/* a 429 without X-Ratelimit-Group holds everything */
	learn(e, q, r);
	if (q->b)
		batch_done(e, q, r);
	else
		want_done(e, q, r);
	req_free(q);
}

/* ---- sending ---- */

static void
send_want(struct esi *e, struct want *w, double now)
{
	struct req *q = req_new(e);
	const char *hdrs[] = { e->compat, "Accept: application/json",
		w->body ? "Content-Type: application/json" : NULL, NULL };
	size_t n = strlen(e->o.url) + strlen(w->path) + 1;
	char *url = malloc(n);

	snprintf(url, n, "%s%s", e->o.url, w->path);
	q->e = e;
	q->w = w;
	q->group = group_of(e, w->path);
	w->state = W_INFLIGHT;
	sent(e, q, now);
	http_request(e->h, w->body ? "POST" : "GET", url, w->body,
	    w->body ? strlen(w->body) : 0, hdrs, on_http, q);
	free(url);
}

static void
send_batch(struct esi *e, struct batch *b, double now)
{
	struct req *q = req_new(e);
	const char *hdrs[] = { e->compat, "Accept: application/json",
		"Content-Type: application/json", NULL };
	size_t n = strlen(e->o.url) + 32;
	char *url = malloc(n);
	struct buf body = { 0 };
	char id[32];

	snprintf(url, n, "%s/universe/names", e->o.url);
	buf_addc(&body, '[');
	for (size_t i = 0; i < b->n; i++)
		buf_add(&body, id, snprintf(id, sizeof id, "%s%lld", i ? "," : "",
		    (long long)b->w[i]->id));
	buf_addc(&body, ']');
	q->e = e;
	q->b = b;
	q->group = group_of(e, "/universe/names");
	sent(e, q, now);
	e->st.names_requests++;
	http_request(e->h, "POST", url, body.p, body.len, hdrs, on_http, q);
	free(url);
	buf_free(&body);
}

/* Retried and split batches first, while they are due. */
static void
pump_batches(struct esi *e, double now)
{
	struct batch **pp = &e->batches;
	int g = group_of(e, "/universe/names");

	while (*pp && can_send(e, g, now)) {
		struct batch *b = *pp;

		if (b->due > now) {
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		send_batch(e, b, now);
	}
}

/* New names go out when a batch is full or its first id waited batch_ms. */
static void
pump_names(struct esi *e, double now)
{
	int g = group_of(e, "/universe/names");

	if (!e->nnames || (e->nnames < NAMES_MAX &&
	    now < e->names_since + e->o.batch_ms / 1000.0))
		return;
	while (e->nnames && can_send(e, g, now)) {
		struct batch *b = xalloc(sizeof *b);

		b->n = e->nnames < NAMES_MAX ? e->nnames : NAMES_MAX;
		b->w = xalloc(b->n * sizeof *b->w);
		memcpy(b->w, e->names, b->n * sizeof *b->w);
		for (size_t i = 0; i < b->n; i++)
			b->w[i]->state = W_INFLIGHT;
		e->nnames -= b->n;
		memmove(e->names, e->names + b->n, e->nnames * sizeof *e->names);
		backoff_init(&b->bo, e->o.backoff_min, e->o.backoff_max);
		send_batch(e, b, now);
	}
	e->names_since = now;
}

/* While ESI fails, what was queued with a stale copy is answered with it
 * rather than sent to fail; the rest goes out as the limits allow. */
static void
pump_queue(struct esi *e, double now)
{
	struct want *w, *prev = NULL, *nx;

	for (w = e->qhead; w && (e->failing || can_send(e, -1, now)); w = nx) {
		int g = group_of(e, w->path), stale = e->failing && w->stale && is_static(w);

		nx = w->qnext;
		if (!stale && (w->due > now || !can_send(e, g, now))) {
			prev = w;
			continue;
		}
		if (prev)
			prev->qnext = nx;
		else
			e->qhead = nx;
		if (e->qtail == w)
			e->qtail = prev;
		if (stale) {
			e->st.stale_served++;
			if (answer_cached(e, w, w->stale, w->stale_len, NULL, 0) == 0)
				continue;
		}
		send_want(e, w, now);
	}
}

static void
run_ready(struct esi *e)
{
	struct ready *r = e->rhead;

	e->rhead = e->rtail = NULL;
	while (r) {
		struct ready *nx = r->next;

		e->pending--;
		e->cached = r->cached;
		r->fn(r->arg, r->st, r->j);
		e->cached = 0;
		json_decref(r->j);
		free(r);
		r = nx;
	}
}

int
esi_answer_cached(const struct esi *e)
{
	return e->cached;
}

void
esi_run(struct esi *e)
{
	do {
		double now;

		run_ready(e);
		cache_flush(e->c);
		now = clock_mono();
		pump_batches(e, now);
		pump_names(e, now);
		pump_queue(e, now);
	} while (e->rhead);
}

/* When the first thing queued may go, given its back-off and its group. */
static double
due_of(struct esi *e, double due, int g)
{
	if (g >= 0) {
		if (e->groups[g].hold_until > due)
			due = e->groups[g].hold_until;
		if (e->groups[g].next_at > due)
			due = e->groups[g].next_at;
	}
	return due;
}

int
esi_timeout(struct esi *e, int max_ms)
{
	double now = clock_mono(), t = now + max_ms / 1000.0, ms;
	int any = 0;

	if (e->rhead || cache_queued(e->c))
		return 0;
	/* Every slot in flight: only an answer frees one, and it wakes us. */
	if (e->inflight >= (e->failing ? 1 : e->o.max_inflight))
		return max_ms;
	for (struct want *w = e->qhead; w; w = w->qnext, any = 1)
		t = fmin(t, due_of(e, w->due, group_of(e, w->path)));
	for (struct batch *b = e->batches; b; b = b->next, any = 1)
		t = fmin(t, due_of(e, b->due, group_of(e, "/universe/names")));
	if (e->nnames) {
		any = 1;
		t = fmin(t, e->nnames >= NAMES_MAX ? now :
		    e->names_since + e->o.batch_ms / 1000.0);
	}
	if (any && e->hold_until > t)
		t = e->hold_until;
	ms = ceil((t - now) * 1000);
	return ms < 0 ? 0 : ms > max_ms ? max_ms : (int)ms;
}

int
esi_pending(const struct esi *e)
{
	return e->pending;
}

void
esi_stats(const struct esi *e, struct esi_stats *s)
{
	*s = e->st;
}

struct esi *
esi_new(struct http *h, struct cache *c, const struct esi_opts *o)
{
	struct esi *e = xalloc(sizeof *e);

	e->h = h;
	e->c = c;
	e->o = *o;
	if (!e->o.url)
		e->o.url = "https://esi.evetech.net";
	e->o.url = mem_strdup(e->o.url);
	if (*e->o.url && e->o.url[strlen(e->o.url) - 1] == '/')
		((char *)e->o.url)[strlen(e->o.url) - 1] = 0;
	snprintf(e->compat, sizeof e->compat, "X-Compatibility-Date: %s",
	    e->o.compat_date ? e->o.compat_date : ESI_COMPAT_DATE);
#define DEF(f, v) if (e->o.f <= 0) e->o.f = (v)
	DEF(ttl_min, 60);
	DEF(ttl_max, 30 * 86400);
	DEF(ttl_default, 86400);
	DEF(stale_max, 7 * 86400);
	DEF(neg_ttl, 3600);
	DEF(max_inflight, 16);
	DEF(batch_ms, 20);
	DEF(backoff_min, 1);
	DEF(backoff_max, 60);
#undef DEF
	if (e->o.ttl_min > e->o.ttl_max)
		e->o.ttl_min = e->o.ttl_max;
	backoff_init(&e->bo, e->o.backoff_min, e->o.backoff_max);
	grow(e);
	return e;
}

void
esi_free(struct esi *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->tabn; i++)
		while (e->tab[i])
			want_free(e, e->tab[i]);
	while (e->batches) {
		struct batch *b = e->batches;

		e->batches = b->next;
		batch_free(b);
	}
	while (e->reqs) {
		if (e->reqs->b)
			batch_free(e->reqs->b);
		req_free(e->reqs);
	}
	while (e->rhead) {
		struct ready *r = e->rhead;

		e->rhead = r->next;
		json_decref(r->j);
		free(r);
	}
	free(e->names);
	free(e->tab);
	free((char *)e->o.url);
	free(e);
}
