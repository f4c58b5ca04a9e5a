/* send: requests to the webhooks and their answers (see engine.h): one
 * request in flight per webhook, rate limits followed, failures retried,
 * dead and unreachable webhooks dead-lettered. */
#include <stdio.h>
#include <stdlib.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "json/ndjson.h"
#include "post/dedupe.h"
#include "post/engine.h"
#include "post/fold.h"
#include "post/sent.h"
#include "post/spool.h"

static void on_answer(void *arg, struct http_resp *r);

/* The body of job j as spooled (a buffer the next read reuses). */
static const char *
job_body(struct hook_job *j, size_t *n)
{
	*n = j->at.len - j->at.boff - 1;
	return spool_read(j->seg, &j->at, j->at.boff, *n);
}

/* The posts at the head of h's queue that fit one message with the head,
 * in order, into out; how many (1: the head alone, out untouched).  A
 * queue of one, or posts to send alone since a batch was refused, make
 * no batch. */
static int
batch(struct hook *h, struct buf *out)
{
	json_t *b, *p;
	size_t n;
	const char *t;
	int k = 1;

	if (!engine.pf->merge || engine.c->batch < 2 || h->solo || !h->head->next ||
	    h->head->edit[0] || fold_of(h->id, h->head))
		return 1;
	t = job_body(h->head, &n);
	if (!(b = json_loadb(t, n, JSON_ALLOW_NUL, NULL)))
		return 1;
	for (struct hook_job *j = h->head->next; j && !j->edit[0] && k < engine.c->batch &&
	    !fold_of(h->id, j); j = j->next, k++) {
		t = job_body(j, &n);
		p = json_loadb(t, n, JSON_ALLOW_NUL, NULL);
		if (!p || engine.pf->merge(b, p, engine.c->batch) < 0) {
			json_decref(p);
			break;
		}
		json_decref(p);
	}
	if (k > 1)
		ndjson_dump(out, b);
	json_decref(b);
	return k;
}

/* A fight's message as it stands now, into out (fold.h): the kills that
 * came while it waited are in it.  An edit names only what it changes. */
static int
fight_body(struct hook *h, struct buf *out)
{
	struct fight *f = fold_of(h->id, h->head);
	json_t *b;

	if (!f)
		return 0;
	b = fold_body(f);
	if (h->head->edit[0]) {
		json_object_del(b, "username");
		json_object_del(b, "avatar_url");
	}
	ndjson_dump(out, b);
	json_decref(b);
	return 1;
}

static void
send_head(struct hook *h, double now)
{
	static const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct hook_job *j = h->head;
	struct buf u = { 0 }, b = { 0 };
	const char *body;
	size_t n;
	int k = fight_body(h, &b) ? 1 : batch(h, &b);

	body = b.len ? b.p : job_body(j, &n);
	n = b.len ? b.len : n;
	if (j->edit[0])
		engine.pf->edit_url(h->url, j->edit, &u);
	else
		engine.pf->url(h->url, &u);
	/* A new message's body, kept for its id to come (edits). */
	h->sent.len = 0;
	if (engine.pf->edit && !j->edit[0])
		buf_add(&h->sent, body, n);
	h->sending = k;
	for (int i = 0; i < k; i++, j = j->next) {
		j->attempts++;
		log_trace("send", (long long)j->kill, j->stream);
	}
	if (k > 1)
		log_debug("batch url=%s posts=%d bytes=%zu", h->label, k, n);
	hook_sent(h, now);
	http_request(engine.http, h->head->edit[0] ? "PATCH" : "POST", u.p, body, n, hdrs,
	    on_answer, h);
	buf_free(&u);
	buf_free(&b);
}

/* 401, 403 and 429 count against Discord's 10,000 per 10 minutes per IP:
 * stop everything well before that. */
static void
invalid_count(double now)
{
	if (now - engine.invalid_since > 600) {
		engine.invalid_since = now;
		engine.invalid = 0;
	}
	if (++engine.invalid == engine.c->invalid_max) {
		log_warn("too many invalid requests, pausing all sends count=%ld seconds=%.0f",
		    engine.invalid, engine.invalid_since + 600 - now);
		if (engine.global_until < engine.invalid_since + 600)
			engine.global_until = engine.invalid_since + 600;
	}
}

/* A 429.  Only the platform's own hosts may stop every webhook: a "global"
 * answer from any other host (a stream may name any URL) is that webhook's
 * own.  No wait is longer than its cap, whatever the answer asks. */
static void
answer_wait(struct hook *h, const struct post_answer *a, double now)
{
	int global = a->global && h->platform;
	double max = global ? engine.c->global_max : engine.c->wait_max;
	double w = a->wait < max ? a->wait : max;

	engine.limited++;
	if (a->global && !h->platform && !h->warned) {
		h->warned = 1;
		log_warn("global rate limit from a host that is not the platform's host, "
		    "taken as the webhook's own url=%s", h->label);
	}
	if (global) {
		log_info("global rate limit seconds=%.3f asked=%.3f", w, a->wait);
		if (engine.global_until < now + w)
			engine.global_until = now + w;
	} else if (h->next_at < now + w)
		h->next_at = now + w;
	if (w < a->wait && !global)
		log_info("rate limited url=%s seconds=%.3f asked=%.3f", h->label, w, a->wait);
	else
		log_debug("rate limited url=%s seconds=%.3f", h->label, w);
}

/* No answer engine.c->unreachable times in a row: the webhook is unreachable.
 * Its posts go to dead/ now, and those that come for it until backoff_max
 * has passed; then one post is tried again, and one more silence is
 * enough.  So a host that never answers costs a few time-outs, not a
 * time-out per post. */
static void
answer_silent(struct hook *h, const struct post_answer *a, double now)
{
	char why[400];

	snprintf(why, sizeof why, "webhook unreachable: %d requests in a row without "
	    "an answer (%s)", h->silent, a->why);
	log_warn("webhook unreachable, its posts go to dead/ for %.0fs url=%s requests=%d "
	    "reason=\"%s\"", engine.c->backoff_max, h->label, h->silent, a->why);
	h->down_until = now + engine.c->backoff_max;
	backoff_reset(&h->bo);
	while (h->head)
		letter_dead(hook_pop(h), NULL, "expired", 0, why);
}

static void
answer_retry(struct hook *h, const struct http_resp *r, const struct post_answer *a,
    double now)
{
	double d;

	if (h->head->attempts >= engine.c->attempts) {
		/* A post that joined the message on a retry has been tried fewer
		 * times than the head: it stays, and is tried again. */
		int n = 0, tries = h->head->attempts;

		while (n < h->sending && h->head && h->head->attempts >= engine.c->attempts) {
			letter_dead(hook_pop(h), NULL, "expired", r->status, a->why);
			n++;
		}
		log_warn("giving up after %d attempts url=%s http=%ld posts=%d reason=\"%s\"",
		    tries, h->label, r->status, n, a->why);
		if (n == h->sending || !h->head)
			return;
	}
	engine.retried++;
	d = backoff_next(&h->bo);
	h->next_at = now + d;
	log_info("retrying url=%s http=%ld attempt=%d in=%.2fs reason=\"%s\"",
	    h->label, r->status, h->head->attempts, d, a->why);
}

/* The platform made message id of the posts in flight on h: kept, so
 * that a revision of one of them edits it. */
static void
answer_message(struct hook *h, const char *id)
{
	unsigned long long keys[16];
	json_t *body;
	struct fight *f;
	int n = 0;

	if (*id && !h->head->edit[0] && (f = fold_of(h->id, h->head))) {
		fold_message(f, id);	/* a fight's: edited for its kills alone */
		return;
	}
	if (!engine.pf->edit || !*id || h->head->edit[0] || !h->sent.len ||
	    !(body = json_loadb(h->sent.p, h->sent.len, JSON_ALLOW_NUL, NULL)))
		return;
	for (struct hook_job *j = h->head; j && n < h->sending && n < 16; j = j->next)
		keys[n++] = dedupe_key(h->id, j->kill);
	sent_put(id, keys, (size_t)n, body);
	json_decref(body);
}

/* j was delivered: its receipt, and the time from its kill. */
static void
answer_posted(struct hook_job *j, const struct http_resp *r)
{
	hook_job_done(j);
	if (j->edit[0]) {
		engine.edited++;
		letter_receipt(j, "edited", r->status, NULL);
		free(j);
		return;
	}
	engine.posted++;
	if (j->ktime > 0) {
		engine.k2p_last = clock_wall() - j->ktime;
		engine.k2p_sum += engine.k2p_last;
		engine.k2p_n++;
	}
	letter_receipt(j, "posted", r->status, NULL);
	free(j);
}

static void
on_answer(void *arg, struct http_resp *r)
{
	struct hook *h = arg;
	struct post_answer a = { 0 };
	double now = clock_mono();
	h->busy = 0;
	if (engine.pf->ratelimit_headers)
		hook_ratelimit(h, r, now);
	if (h->next_at < h->sent_at + engine.c->interval)
		h->next_at = h->sent_at + engine.c->interval;
	engine.pf->judge(r, &a);
	for (char *c = a.why; *c; c++)	/* one log line per event */
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	if (a.invalid)
		invalid_count(now);
	h->silent = r->status ? 0 : h->silent + 1;
	if (!r->status && h->silent >= engine.c->unreachable)
		answer_silent(h, &a, now);
	else if (a.v == POST_OK) {
		backoff_reset(&h->bo);
		answer_message(h, a.id);
		for (int i = 0; i < h->sending && h->head; i++)
			answer_posted(hook_pop(h), r);
	} else if (a.v == POST_WAIT)
		answer_wait(h, &a, now);
	else if (a.v == POST_RETRY)
		answer_retry(h, r, &a, now);
	else if (a.v == POST_GONE)
		letter_kill_hook(h, r->status, a.why);
	else if (h->sending > 1) {
		/* One post may be what the platform refuses: each alone, so
		 * that the others are posted and only that one is rejected. */
		log_warn("batch rejected, its posts go one by one url=%s posts=%d http=%ld "
		    "reason=\"%s\"", h->label, h->sending, r->status, a.why);
		h->solo = h->sending;
	} else {
		log_warn("post rejected url=%s http=%ld reason=\"%s\"", h->label, r->status, a.why);
		letter_dead(hook_pop(h), NULL, "rejected", r->status, a.why);
	}
}

/* Start what may start; the seconds until something else may. */
double
send_schedule(double now)
{
	double next = 1;

	/* The answers so far on disk before anything more is sent: a power
	 * cut then sends again at most the one post per webhook in flight. */
	spool_sync();
	if (engine.stopping)
		return next;
	if (now < engine.global_until)
		return engine.global_until - now;
	for (struct hook *h = hook_all(); h; h = h->all) {
		double at;

		if (!h->head || h->busy || h->dead)
			continue;
		if ((at = hook_ready_at(h, now)) > now) {
			next = at - now < next ? at - now : next;
			continue;
		}
		if (http_inflight(engine.http) >= engine.c->parallel)
			break;
		send_head(h, now);
	}
	return next;
}

