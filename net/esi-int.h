/* esi-int: what the parts of the ESI client share (esi.h is the contract):
 *   esi.c         questions: the wants by key, their waiters and answers
 *   esi-cache.c   what the cache keeps, and answers from it
 *   esi-limits.c  what may be sent: holds, error window, rate groups
 *   esi-send.c    HTTP requests, names batches, and their answers
 * How a question goes from one to the next: esi.c. */
#ifndef ESI_INT_H
#define ESI_INT_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/backoff.h"
#include "lib/hash.h"
#include "net/esi.h"
#include "net/http.h"

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
	struct want *qnext;
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
	struct hash wants;		/* by key */
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
	char host[128];			/* of the URL, for warnings */
};

/* esi.c: every waiter of w gets the answer (cached: it came from the cache);
 * w is freed.  esi_enqueue: w to the send or names queue. */
void esi_complete(struct esi *e, struct want *w, enum esi_status st, json_t *j, int cached);
void esi_enqueue(struct esi *e, struct want *w);

/* esi-cache.c */
int esi_is_static(const struct want *w);
void esi_slim(const char *path, json_t *j);
void esi_store(struct esi *e, const struct want *w, json_t *j, double ttl);
int esi_from_cache(struct esi *e, struct want *w, const char *val, size_t len,
    json_t *memo, int memoize);

/* esi-limits.c */
int esi_group_of(struct esi *e, const char *path);
void esi_learn(struct esi *e, struct req *q, struct http_resp *r);
void esi_limited(struct esi *e, struct req *q, struct http_resp *r);
void esi_failed(struct esi *e, struct http_resp *r, const char *why);
void esi_recovered(struct esi *e, struct req *q);
int esi_can_send(struct esi *e, int group, double now);
void esi_sent(struct esi *e, struct req *q, double now);

/* esi-send.c: esi_pump sends what the limits allow. */
void esi_req_free(struct req *q);
void esi_batch_free(struct batch *b);
void esi_pump(struct esi *e, double now);
#endif
