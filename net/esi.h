/* esi: an asynchronous client for CCP's ESI, over http.h and cache.h.
 *
 * esi_get(path), esi_post(path, body) and esi_name(id) answer through a
 * callback, later, from inside esi_run(), never from inside the call that
 * asked: from the cache when it holds a fresh answer, else over HTTP.
 *
 * Caching.  Every answer is cached for as long as ESI's Cache-Control or
 * Expires says, clamped to [ttl_min, ttl_max]; killmails, which never
 * change, for ttl_max.  Answers to the static universe routes
 * (/universe/... except names) are kept stale_max longer and served stale
 * when ESI fails.  Not-found answers are remembered for neg_ttl.  Bulky
 * fields no stage uses are dropped before caching (descriptions, the dogma
 * of types, planets and stations of systems, the member lists of groups, categories,
 * constellations and regions, the items of killmails): callers never see
 * them.  Cache keys are the path ("/universe/types/587"), "names/<id>" for
 * names, and "<path>?<body>" for posts.
 *
 * Sharing.  Identical requests waiting or in flight are one request: every
 * caller of it is called back with the same answer.  Names are batched
 * across callers into POST /universe/names of up to 1000 ids; a batch is
 * sent when full, or batch_ms after its first id.  ESI answers 404 to a
 * whole batch when one id cannot be resolved: the batch is split in halves
 * until that id is alone, and it alone answers ESI_NOTFOUND.
 *
 * Failures.  A request never fails for a passing reason.  5xx, network
 * errors, time-outs and answers that are not JSON are retried with back-off
 * (while failing, one request at a time probes ESI); 429 and 420 stop the
 * traffic they concern until Retry-After / X-ESI-Error-Limit-Reset; new
 * requests are held back until the window resets when
 * X-ESI-Error-Limit-Remain falls to a fifth of the most seen (20 of ESI's
 * 100), and paced
 * when X-Ratelimit-Remaining of their group does.  So a callback gets
 * ESI_OK with the JSON, or ESI_NOTFOUND: 404, or another definite 4xx such
 * as a killmail with a wrong hash (400, 422).
 *
 * Etiquette: X-Compatibility-Date on every request, the User-Agent of
 * http_opts, at most max_inflight requests at once (curl multiplexes them
 * over HTTP/2 where ESI offers it).
 *
 * The loop of a tool:
 *
 *	for (;;) {
 *		http_wait(h, fds, nfds, esi_timeout(e, 1000));
 *		... read input, call esi_get() / esi_name() ...
 *		esi_run(e);
 *	}
 *
 * Ownership: paths, bodies and ids are copied.  The json_t given to a
 * callback is borrowed (json_incref() it to keep it); it is NULL with
 * ESI_NOTFOUND.  Logging names routes, never the User-Agent. */
#ifndef ESI_H
#define ESI_H
#include <stdint.h>
#include <jansson.h>

#include "net/cache.h"
#include "net/http.h"

#define ESI_COMPAT_DATE "2026-08-18"	/* the spec this code was written to */

enum esi_status { ESI_OK, ESI_NOTFOUND };

typedef void esi_fn(void *arg, enum esi_status st, json_t *j);

struct esi_opts {
	const char *url;	/* base URL; default https://esi.evetech.net */
	const char *compat_date;	/* X-Compatibility-Date; default above */
	double ttl_min;		/* floor on cache lifetimes; default 60 s */
	double ttl_max;		/* ceiling; default 30 d */
	double ttl_default;	/* when ESI gives none (POSTs); default 1 d */
	double stale_max;	/* static data served stale this long; default 7 d */
	double neg_ttl;		/* a not-found is remembered; default 1 h */
	int max_inflight;	/* HTTP requests at once; default 16 */
	int batch_ms;		/* a names batch waits for more ids; default 20 */
	double backoff_min;	/* first retry delay after a failure; default 1 s */
	double backoff_max;	/* longest; default 60 s */
};

struct esi_stats {
	unsigned long asked;	/* esi_get + esi_post + esi_name calls */
	unsigned long cached;	/* answered from the LRU or Redis */
	unsigned long shared;	/* joined a request already waiting */
	unsigned long requests;	/* HTTP requests sent, retries included */
	unsigned long names_requests;	/* of which POST /universe/names */
	unsigned long retries, notfound, stale_served;
	unsigned long errors;	/* non-2xx answers and network failures */
};

/* Both h and c stay the caller's; free esi first. */
struct esi *esi_new(struct http *h, struct cache *c, const struct esi_opts *o);
/* Drops everything waiting without calling back.  Requests in flight are
 * let go: call http_free() next (it frees transfers without callbacks), or
 * at least never http_wait() again on h. */
void esi_free(struct esi *e);

/* GET base+path, path beginning with '/' ("/universe/types/587"). */
void esi_get(struct esi *e, const char *path, esi_fn *fn, void *arg);
/* POST a JSON body (e.g. "/universe/ids", "[\"Jita\"]"). */
void esi_post(struct esi *e, const char *path, const char *body, esi_fn *fn, void *arg);
/* The name of id, batched: j = {"id":N,"name":"..","category":".."}.
 * An id <= 0 answers ESI_NOTFOUND without asking. */
void esi_name(struct esi *e, int64_t id, esi_fn *fn, void *arg);

/* Run the callbacks of every answer ready (those may ask again: their
 * answers from the LRU run in the same call), flush the cache, and send
 * what the limits allow.  Call after every http_wait(). */
void esi_run(struct esi *e);
/* How long http_wait() may sleep before esi_run() has something to do, in
 * ms, at most max_ms: 0 when answers are ready. */
int esi_timeout(struct esi *e, int max_ms);
/* Questions not yet answered (waiting, in flight, or backing off). */
int esi_pending(const struct esi *e);
/* Seconds ESI has been failing (network errors, 5xx, time-outs: the
 * failures retried forever) at mono time now; 0 while it answers. */
double esi_failing_for(const struct esi *e, double now);
/* Inside an esi_fn: 1 when its answer came from the cache (the LRU or
 * Redis, fresh or served stale), 0 otherwise (from ESI, or an id that is
 * answered without asking) and outside callbacks. */
int esi_answer_cached(const struct esi *e);
void esi_stats(const struct esi *e, struct esi_stats *s);
/* Register its counters and its pause with lib/metrics (after metrics_init). */
void esi_metrics(const struct esi *e);
#endif
