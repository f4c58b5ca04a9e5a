/* esi-send: HTTP requests (a want, or a batch of names), their answers,
 * retries and the split of refused batches; see esi.h and esi-int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/backoff.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/esi-int.h"


static struct req *
req_new(struct esi *e)
{
	struct req *q = mem_calloc(1, sizeof *q);

	q->e = e;
	if ((q->next = e->reqs))
		q->next->prevp = &q->next;
	q->prevp = &e->reqs;
	e->reqs = q;
	return q;
}

void
esi_req_free(struct req *q)
{
	if ((*q->prevp = q->next))
		q->next->prevp = q->prevp;
	free(q);
}

/* An answer from ESI. */
static void
complete(struct esi *e, struct want *w, enum esi_status st, json_t *j)
{
	esi_complete(e, w, st, j, 0);
}

/* ---- answers ---- */

static void
retry(struct esi *e, struct want *w)
{
	if (w->stale && esi_is_static(w)) {
		e->st.stale_served++;
		if (esi_from_cache(e, w, w->stale, w->stale_len, NULL, 0) == 0)
			return;
	}
	e->st.retries++;
	w->due = clock_mono() + backoff_next(&w->bo);
	esi_enqueue(e, w);
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
			esi_failed(e, r, "answer not JSON");
			retry(e, w);
			return;
		}
		esi_recovered(e, q);
		esi_slim(w->path, j);
		esi_store(e, w, j, r->ttl);
		complete(e, w, ESI_OK, j);
		json_decref(j);
		return;
	case HTTP_NOTFOUND:
	case HTTP_CLIENT:
		esi_recovered(e, q);
		e->st.errors++;
		log_debug("esi: not found status=%ld path=%s", r->status, w->path);
		esi_store(e, w, NULL, 0);
		complete(e, w, ESI_NOTFOUND, NULL);
		return;
	case HTTP_LIMITED:
		esi_limited(e, q, r);
		w->due = 0;
		esi_enqueue(e, w);
		return;
	default:
		esi_failed(e, r, r->error ? r->error : http_class_name(r->class));
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

void
esi_batch_free(struct batch *b)
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
		esi_store(e, b->w[0], NULL, 0);
		complete(e, b->w[0], ESI_NOTFOUND, NULL);
		esi_batch_free(b);
		return;
	}
	h = mem_calloc(1, sizeof *h);
	h->n = b->n / 2;
	h->w = mem_calloc(h->n, sizeof *h->w);
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
		esi_store(e, b->w[i], el, -1);
		complete(e, b->w[i], el ? ESI_OK : ESI_NOTFOUND, el);
	}
	json_decref(byid);
	esi_batch_free(b);
}

static void
batch_done(struct esi *e, struct req *q, struct http_resp *r)
{
	struct batch *b = q->b;
	json_t *j;

	switch (r->class) {
	case HTTP_OK:
		if ((j = json_loadb(r->body, r->len, 0, NULL)) && json_is_array(j)) {
			esi_recovered(e, q);
			batch_answer(e, b, j);
			json_decref(j);
			return;
		}
		json_decref(j);
		log_warn("esi: names answer is not a JSON array, retrying");
		esi_failed(e, r, "answer not JSON");
		break;
	case HTTP_NOTFOUND:
	case HTTP_CLIENT:
		esi_recovered(e, q);
		e->st.errors++;
		batch_split(e, b);
		return;
	case HTTP_LIMITED:
		esi_limited(e, q, r);
		batch_push(e, b, 0);
		return;
	default:
		esi_failed(e, r, r->error ? r->error : http_class_name(r->class));
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
	esi_learn(e, q, r);
	if (q->b)
		batch_done(e, q, r);
	else
		want_done(e, q, r);
	esi_req_free(q);
}

/* ---- sending ---- */

static void
send_want(struct esi *e, struct want *w, double now)
{
	struct req *q = req_new(e);
	const char *hdrs[] = { e->compat, "Accept: application/json",
		w->body ? "Content-Type: application/json" : NULL, NULL };
	size_t n = strlen(e->o.url) + strlen(w->path) + 1;
	char *url = mem_malloc(n);

	snprintf(url, n, "%s%s", e->o.url, w->path);
	q->e = e;
	q->w = w;
	q->group = esi_group_of(e, w->path);
	w->state = W_INFLIGHT;
	esi_sent(e, q, now);
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
	char *url = mem_malloc(n);
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
	q->group = esi_group_of(e, "/universe/names");
	esi_sent(e, q, now);
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
	int g = esi_group_of(e, "/universe/names");

	while (*pp && esi_can_send(e, g, now)) {
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
	int g = esi_group_of(e, "/universe/names");

	if (!e->nnames || (e->nnames < NAMES_MAX &&
	    now < e->names_since + e->o.batch_ms / 1000.0))
		return;
	while (e->nnames && esi_can_send(e, g, now)) {
		struct batch *b = mem_calloc(1, sizeof *b);

		b->n = e->nnames < NAMES_MAX ? e->nnames : NAMES_MAX;
		b->w = mem_calloc(b->n, sizeof *b->w);
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

	for (w = e->qhead; w && (e->failing || esi_can_send(e, -1, now)); w = nx) {
		int g = esi_group_of(e, w->path), stale = e->failing && w->stale && esi_is_static(w);

		nx = w->qnext;
		if (!stale && (w->due > now || !esi_can_send(e, g, now))) {
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
			if (esi_from_cache(e, w, w->stale, w->stale_len, NULL, 0) == 0)
				continue;
		}
		send_want(e, w, now);
	}
}

/* Send what may go: retried and split batches, new names, the queue. */
void
esi_pump(struct esi *e, double now)
{
	pump_batches(e, now);
	pump_names(e, now);
	pump_queue(e, now);
}
