/* esi: questions and their answers; see esi.h for the contract.
 *
 * Every question is a "want" keyed by its cache key; a second caller of the
 * same key joins the want as one more waiter, so nothing is asked twice.  A
 * want goes: LRU (answered at once) -> Redis (one pipeline per esi_run) ->
 * the send queue, or for names the names queue and a batch -> HTTP -> done:
 * every waiter gets a "ready" record, and esi_run() runs those.
 *
 * What may be sent is decided in one place, esi_can_send() (esi-limits.c):
 * a global hold (420, the error limit running low, ESI failing), a
 * per-group hold or pace (X-Ratelimit-*, 429), and the bound on requests in
 * flight, which drops to one while ESI fails so that a storm of 5xx is
 * probed, not hammered. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "json/ndjson.h"
#include "net/esi-int.h"

/* ---- the table of wants ---- */


static const void *
want_key(const void *p, size_t *len)
{
	const struct want *w = p;

	*len = strlen(w->key);
	return w->key;
}

static struct want *
want_new(struct esi *e, enum kind k, const char *key)
{
	struct want *w = mem_calloc(1, sizeof *w);

	w->kind = k;
	w->key = mem_strdup(key);
	backoff_init(&w->bo, e->o.backoff_min, e->o.backoff_max);
	hash_put(&e->wants, w);
	return w;
}

static void
want_free(struct esi *e, struct want *w)
{
	size_t n = strlen(w->key);

	if (hash_get(&e->wants, w->key, n) == w)
		hash_del(&e->wants, w->key, n);
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
	struct waiter *wt = mem_calloc(1, sizeof *wt);

	wt->fn = fn;
	wt->arg = arg;
	wt->next = w->waiters;
	w->waiters = wt;
	e->pending++;
}

static void
ready(struct esi *e, esi_fn *fn, void *arg, enum esi_status st, json_t *j, int cached)
{
	struct ready *r = mem_calloc(1, sizeof *r);

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
void
esi_complete(struct esi *e, struct want *w, enum esi_status st, json_t *j, int cached)
{
	for (struct waiter *wt = w->waiters; wt; wt = wt->next)
		ready(e, wt->fn, wt->arg, st, j, cached);
	if (st == ESI_NOTFOUND)
		e->st.notfound++;
	want_free(e, w);
}

/* ---- queues ---- */

void
esi_enqueue(struct esi *e, struct want *w)
{
	if (w->stale && e->failing && esi_is_static(w)) {
		e->st.stale_served++;
		esi_from_cache(e, w, w->stale, w->stale_len, NULL, 0);
		return;
	}
	if (w->kind == K_NAME) {
		if (e->nnames == e->anames) {
			e->anames = e->anames ? 2 * e->anames : 256;
			e->names = mem_realloc(e->names, e->anames * sizeof *e->names);
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
	if (st == CACHE_FRESH && esi_from_cache(e, w, val, len, NULL, 1) == 0)
		return;
	if (st == CACHE_STALE && !w->stale) {
		w->stale = mem_strndup(val, len);
		w->stale_len = len;
	}
	esi_enqueue(e, w);
}

/* A new question: joins a want, or is answered by the LRU, or starts one. */
static void
ask(struct esi *e, enum kind k, const char *key, esi_fn *fn, void *arg,
    struct want **neww)
{
	struct want *w = hash_get(&e->wants, key, strlen(key));
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
	if (st == CACHE_FRESH && esi_from_cache(e, w, val, len, memo, 1) == 0)
		return;
	if (st == CACHE_STALE) {
		w->stale = mem_strndup(val, len);
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
		esi_enqueue(e, w);
		return;
	}
	struct req *q = mem_calloc(1, sizeof *q);

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
	char *key = mem_malloc(n);
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
		esi_pump(e, now);
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
		t = fmin(t, due_of(e, w->due, esi_group_of(e, w->path)));
	for (struct batch *b = e->batches; b; b = b->next, any = 1)
		t = fmin(t, due_of(e, b->due, esi_group_of(e, "/universe/names")));
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

double
esi_failing_for(const struct esi *e, double now)
{
	return e->failing ? now - e->fail_since : 0;
}

void
esi_stats(const struct esi *e, struct esi_stats *s)
{
	*s = e->st;
}

/* How long every request still waits: the error limit, a 429 without a
 * group, failures. */
static void
put_pause(FILE *f, void *arg)
{
	const struct esi *e = arg;
	double left = e->hold_until - clock_mono();

	metrics_line(f, "esi_paused_seconds", NULL, NULL, left > 0 ? left : 0);
}

void
esi_metrics(const struct esi *e)
{
	metrics_counter("esi_asked", NULL, &e->st.asked, "lookups asked of the ESI client");
	metrics_counter("esi_cache_hits", NULL, &e->st.cached,
	    "lookups answered from the cache (memory or Redis)");
	metrics_counter("esi_requests", NULL, &e->st.requests, "HTTP requests to ESI");
	metrics_counter("esi_errors", NULL, &e->st.errors,
	    "ESI answers that failed (non-2xx, network)");
	metrics_custom("esi_paused_seconds", "gauge",
	    "seconds every ESI request still waits (error limit, failures)", put_pause,
	    (void *)e);
}

struct esi *
esi_new(struct http *h, struct cache *c, const struct esi_opts *o)
{
	struct esi *e = mem_calloc(1, sizeof *e);

	e->h = h;
	e->c = c;
	e->o = *o;
	if (!e->o.url)
		e->o.url = "https://esi.evetech.net";
	e->o.url = mem_strdup(e->o.url);
	log_host(e->o.url, e->host, sizeof e->host);
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
	hash_init(&e->wants, want_key);
	return e;
}

void
esi_free(struct esi *e)
{
	struct want **v;
	size_t i, n = 0;

	if (!e)
		return;
	v = mem_calloc(e->wants.n + 1, sizeof *v);

	/* Out of the table first: want_free looks for the others' keys. */
	for (i = 0; (v[n] = hash_next(&e->wants, &i)); n++)
		;
	hash_clear(&e->wants);
	for (i = 0; i < n; i++)
		want_free(e, v[i]);
	free(v);
	while (e->batches) {
		struct batch *b = e->batches;

		e->batches = b->next;
		esi_batch_free(b);
	}
	while (e->reqs) {
		if (e->reqs->b)
			esi_batch_free(e->reqs->b);
		esi_req_free(e->reqs);
	}
	while (e->rhead) {
		struct ready *r = e->rhead;

		e->rhead = r->next;
		json_decref(r->j);
		free(r);
	}
	free(e->names);
	hash_free(&e->wants);
	free((char *)e->o.url);
	free(e);
}
