/* post: the engine of the posters (see post.h): accepting pairs, sending,
 * answers, dead letters, receipts and the loop.  Its parts of their own:
 * the spool and its files (spool.c), dedupe (dedupe.c), the webhooks with
 * their queues, rate limits and dead-hooks (hook.c).  State under
 * $STATE_DIR/<platform>/:
 *
 *   spool/<name>.ndjson a segment: the posts accepted in one turn of the
 *                       loop, one {"target","stream","killmail_id",
 *                       "accepted","body"} a line (body last), then a
 *                       {"done":N} line for the Nth post (from 0) once the
 *                       platform has answered it
 *   spool/<name>.json   one post put back by hand (a dead letter, or a spool
 *                       file of an older version): the replay makes it a
 *                       segment of its own, <name>.ndjson
 *   dead/<name>.json    {"status","reason","http","attempts","time","post"}
 *   dedupe              "<unix time> <key>" per accepted post, key = hash of
 *                       (webhook URL, killmail_id); compacted as it grows
 *   dead-hooks          "<webhook hash> <unix time> <label> <reason>" per dead
 *                       webhook
 *
 * Ordering of the durable steps, and why (kill -9 may land anywhere):
 * accept = write the turn's posts to a new segment (a temporary file, ONE
 * fdatasync, a rename, one fsync of the directory), then append their
 * dedupe keys, then queue them: a crash before the rename loses the lines
 * of that turn (read from the pipe, not yet spooled), a crash after it
 * leaves the segment, and the replay re-adds its keys.  Answer = append a
 * done line to the segment, or unlink the segment with its last post, and
 * nothing else: not synced, as kill -9 keeps the page cache (a power cut may
 * bring a done post back, and it is sent again).  Until then the post is
 * pending and is replayed at start; a done line cut short by the kill is
 * dropped.  The one window left is a request the platform took whose
 * answer we never read; the replay then posts it a second time.  With one
 * request in flight per webhook it is at most one post per webhook.
 *
 * Memory: a queued post is a small job (where its line is, the stream and
 * killmail for its receipt); its body is read back from the segment when it
 * is sent, so a long queue costs page cache rather than heap. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <getopt.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "post/dedupe.h"
#include "post/hook.h"
#include "post/keyset.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/out.h"
#include "lib/mem.h"
#include "json/pair.h"
#include "post/post.h"
#include "lib/sig.h"
#include "post/spool.h"

#define BATCH 256		/* input lines per turn: one segment, one fdatasync */
#define TURN_BYTES (512 << 10)	/* ...or fewer: what a turn holds in memory */

static struct {
	const struct post_platform *pf;
	const struct post_conf *c;
	struct http *http;
	char dir[1024];
	struct keyset warned;
	struct buf out;		/* stdout, written once the turn's posts are spooled */
	int reading, stopping, pending, sigfd;
	double deadline, global_until, invalid_since;
	long invalid;
	unsigned long posted, limited, retried, dead, rejected, expired, dup;
} E;

/* The posts of this turn, queued once their segment is durable. */
static struct {
	struct hook_job *head, *tail;
} B;

unsigned long long
post_hash(const char *s, size_t n, unsigned long long h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static unsigned
now_wall(void)
{
	return (unsigned)clock_wall();
}

/* ---- output: receipts and lines for later stages ---- */

/* Output waits in E.out until the posts of the turn are spooled: a pair
 * goes on only then.  The loop writes it out before it waits (turn). */
static void
receipt(const struct hook_job *j, const char *status, long http, const char *why)
{
	json_t *r = json_object(), *e;

	json_object_set_new(r, "target", json_string(E.pf->name));
	json_object_set_new(r, "stream", json_string(j->stream));
	json_object_set_new(r, "killmail_id", json_integer(j->kill));
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "http", http ? json_integer(http) : json_null());
	json_object_set_new(r, "attempts", json_integer(j->attempts));
	json_object_set_new(r, "ms", json_integer((json_int_t)((clock_mono() - j->t0) * 1000)));
	if (why)
		json_object_set_new(r, "reason", json_string(why));
	e = json_pack("{s:o}", "receipt", r);
	ndjson_dump(&E.out, e);
	buf_addc(&E.out, '\n');
	json_decref(e);
}

static void
pass(const char *line, size_t len)
{
	buf_add(&E.out, line, len);
	buf_addc(&E.out, '\n');
}

static void
pass_flush(void)
{
	if (E.out.len)
		out_put(E.out.p, E.out.len);
	out_flush();
	E.out.len = 0;
}

/* ---- jobs ---- */

static struct hook_job *
job_new(const char *stream, json_int_t kill)
{
	size_t n = strlen(stream) + 1;
	struct hook_job *j = mem_calloc(1, sizeof *j + n);

	memcpy(j->stream, stream, n);
	j->kill = kill;
	j->t0 = clock_mono();
	return j;
}

/* The post as spooled, read back: {"target",...,"body"} (new reference). */
static json_t *
job_entry(struct hook_job *j)
{
	const char *line = spool_read(j->seg, &j->at, 0, j->at.len);

	return json_loadb(line, j->at.len, JSON_ALLOW_NUL, NULL);
}

/* The platform answered (or the post went to dead/). */
static void
job_done(struct hook_job *j)
{
	struct spool_seg *s = j->seg;

	if (!s)
		return;
	j->seg = NULL;
	spool_done(s, j->at.idx);
}

/* Keep the post with its reason in dead/, out of the spool; a receipt.
 * entry: the post when it is not in a segment (borrowed), else NULL. */
static void
dead_letter(struct hook_job *j, json_t *entry, const char *status, long http,
    const char *why)
{
	char name[300];
	struct buf b = { 0 };
	json_t *post = entry ? json_incref(entry) : j->seg ? job_entry(j) : NULL;
	json_t *d = json_pack("{s:s,s:s,s:o,s:i,s:I,s:o}", "status", status,
	    "reason", why, "http", http ? json_integer(http) : json_null(),
	    "attempts", j->attempts, "time", (json_int_t)now_wall(),
	    "post", post ? post : json_null());

	spool_dead_name(name, sizeof name, j->seg, j->at.idx);
	ndjson_dump(&b, d);
	buf_addc(&b, '\n');
	spool_write("dead", name, b.p, b.len, NULL);
	buf_free(&b);
	json_decref(d);
	job_done(j);
	receipt(j, status, http, why);
	if (!strcmp(status, "dead"))
		E.dead++;
	else if (!strcmp(status, "rejected"))
		E.rejected++;
	else
		E.expired++;
	free(j);
}

/* The webhook is gone: say so once, loudly; everything queued for it and
 * everything that comes later goes to dead/ without a request. */
static void
kill_hook(struct hook *h, long http, const char *why)
{
	if (!h->dead) {
		log_warn("webhook is gone, its posts go to dead/ url=%s http=%ld reason=\"%s\"",
		    h->label, http, why);
		hook_dead_add(h, why);
		h->dead = 1;
	}
	while (h->head)
		dead_letter(hook_pop(h), NULL, "dead", http, why);
}

/* ---- the segment of a turn ---- */

/* One post into the segment in the making. */
static void
batch_add(struct hook_job *j, const char *target, json_int_t accepted, const json_t *body)
{
	spool_add(target, j->stream, j->kill, accepted, body, &j->at);
	j->hook->batched++;
	if (B.tail)
		B.tail->next = j;
	else
		B.head = j;
	B.tail = j;
}

/* Make the turn's posts durable together (one fdatasync, one fsync of the
 * directory), then their dedupe keys, then queue them.  name: the
 * segment's name, or NULL for a new one. */
static void
batch_commit(const char *name)
{
	struct hook_job *j, *next;
	struct spool_seg *s;

	if (!(s = spool_commit(name)))
		return;
	dedupe_flush();
	for (j = B.head; j; j = next) {
		next = j->next;
		j->next = NULL;
		j->seg = s;
		j->hook->batched--;
		hook_push(j);
		log_trace("spooled", (long long)j->kill, j->stream);
	}
	spool_idle(s);
	B.head = B.tail = NULL;
}

/* ---- accepting pairs ---- */

static int
warn_once(const char *stream, const char *why)
{
	unsigned long long k = post_hash(why, strlen(why),
	    post_hash(stream, strlen(stream), POST_FNV_BASIS));

	if (keyset_get(&E.warned, k))
		return 0;
	keyset_put(&E.warned, k, 1);
	return 1;
}

/* A post refused before it was spooled: to dead/ as it would have been
 * spooled (body is stolen). */
static void
refuse(struct hook_job *j, const char *tw, json_t *body, const char *status,
    const char *why)
{
	json_t *e = json_pack("{s:s,s:s,s:I,s:I,s:o}", "target", tw, "stream", j->stream,
	    "killmail_id", j->kill, "accepted", (json_int_t)now_wall(), "body", body);

	dead_letter(j, e, status, 0, why);
	json_decref(e);
}

/* One target of this platform: render, dedupe, add to this turn's segment. */
static void
accept_target(const json_t *pair, const json_t *target, const char *tw,
    const char *sid, json_int_t kill)
{
	char why[300], w2[256];
	const char *url = hook_resolve(tw, why, sizeof why);
	json_t *body = E.pf->render(pair, target);
	struct hook_job *j = job_new(sid, kill);
	struct hook *h;

	if (!url) {
		if (warn_once(sid, why))
			log_warn("stream cannot post stream=%s reason=\"%s\"", sid, why);
		return refuse(j, tw, body, "rejected", why);
	}
	if (E.pf->check(body, w2, sizeof w2) < 0) {
		log_warn("rendered post out of limits (a bug) stream=%s killmail_id=%"
		    JSON_INTEGER_FORMAT " reason=\"%s\"", sid, kill, w2);
		return refuse(j, tw, body, "rejected", w2);
	}
	h = hook_get(url);
	if (dedupe_seen(dedupe_key(h->id, kill))) {
		E.dup++;
		receipt(j, "duplicate", 0, NULL);
		json_decref(body);
		return free(j);
	}
	if (h->dead)
		return refuse(j, tw, body, "dead", "webhook is dead");
	if (h->down_until > clock_mono())
		return refuse(j, tw, body, "expired", "webhook unreachable");
	if (h->queued + h->batched >= E.c->max_queue)
		return refuse(j, tw, body, "expired", "webhook queue full");
	j->hook = h;
	batch_add(j, tw, (json_int_t)now_wall(), body);
	json_decref(body);
	dedupe_add(dedupe_key(h->id, kill));
}

/* Is this target's platform handled here or by an earlier stage? */
static int
handled(const json_t *t, int *mine)
{
	*mine = json_is_string(json_object_get(t, E.pf->name));
	if (*mine)
		return 1;
	for (const char *const *b = E.pf->before; b && *b; b++)
		if (json_object_get(t, *b))
			return 1;
	return 0;
}

static struct pair_mail last;	/* the mail of the pairs read last, parsed once */

/* The pair render reads: the small members parsed from this line, the mail
 * shared with the pairs around it (never modified).  NULL when the mail
 * does not parse (warned). */
static json_t *
pair_build(const struct pair *pr, json_t *stream, unsigned long lineno)
{
	json_t *m = pair_mail_json(&last, pr->mail, lineno), *p;

	if (!m)
		return NULL;
	p = json_object();
	json_object_set(p, "stream", stream);
	json_object_set(p, "mail", m);
	if (pr->match.n)
		json_object_set_new(p, "match",
		    json_loadb(pr->match.p, pr->match.n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL));
	return p;
}

/* Accept this platform's targets of a pair; 1 when a later stage has a
 * target in it too. */
static int
accept_pair(const struct pair *pr, json_t *stream, unsigned long lineno)
{
	const json_t *ts = json_object_get(stream, "targets"), *t;
	const char *sid = json_string_value(json_object_get(stream, "id"));
	json_t *pair = NULL;
	int later = 0, mine, bad = 0;
	size_t i;

	json_array_foreach(ts, i, t) {
		if (!handled(t, &mine))
			later = 1;
		if (!mine || bad)
			continue;
		/* A mail that does not parse was warned about: nothing to post. */
		if (!pair && !(pair = pair_build(pr, stream, lineno)))
			bad = 1;
		else
			accept_target(pair, t, json_string_value(json_object_get(t, E.pf->name)),
			    sid ? sid : "?", json_integer_value(json_object_get(
			    json_object_get(pair, "mail"), "killmail_id")));
	}
	json_decref(pair);
	return later;
}

/* A line goes on (unchanged) unless it is a pair whose targets are all
 * handled here or before.  Only the stream and match of a pair are parsed
 * for it; its mail once for all the pairs of that mail in a row. */
static void
accept_line(const char *line, size_t len, unsigned long lineno)
{
	struct pair pr;
	json_t *j;

	if (pair_read(line, len, last.text.p, last.text.len, &pr) < 0) {
		/* Not one JSON object: ndjson_parse says why, once (and were the
		 * scanner ever stricter than jansson, the line is no pair). */
		if ((j = ndjson_parse(line, len, lineno)))
			pass(line, len);
		json_decref(j);
		return;
	}
	if (!pair_is(&pr))
		return pass(line, len);	/* a receipt, or unknown: not ours */
	if (!(j = ndjson_parse(pr.stream.p, pr.stream.n, lineno)))
		return;
	if (!json_is_array(json_object_get(j, "targets")) || accept_pair(&pr, j, lineno))
		pass(line, len);
	json_decref(j);
}

/* ---- sending ---- */

static void on_answer(void *arg, struct http_resp *r);

static void
send_head(struct hook *h, double now)
{
	static const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct hook_job *j = h->head;
	struct buf u = { 0 };

	const char *body = spool_read(j->seg, &j->at, j->at.boff, j->at.len - j->at.boff - 1);

	E.pf->url(h->url, &u);
	j->attempts++;
	hook_sent(h, now);
	log_trace("send", (long long)j->kill, j->stream);
	http_request(E.http, "POST", u.p, body, j->at.len - j->at.boff - 1, hdrs, on_answer, h);
	buf_free(&u);
}

/* 401, 403 and 429 count against Discord's 10,000 per 10 minutes per IP:
 * stop everything well before that. */
static void
invalid_count(double now)
{
	if (now - E.invalid_since > 600) {
		E.invalid_since = now;
		E.invalid = 0;
	}
	if (++E.invalid == E.c->invalid_max) {
		log_warn("too many invalid requests, pausing all sends count=%ld seconds=%.0f",
		    E.invalid, E.invalid_since + 600 - now);
		if (E.global_until < E.invalid_since + 600)
			E.global_until = E.invalid_since + 600;
	}
}

/* A 429.  Only the platform's own hosts may stop every webhook: a "global"
 * answer from any other host (a stream may name any URL) is that webhook's
 * own.  No wait is longer than its cap, whatever the answer asks. */
static void
answer_wait(struct hook *h, const struct post_answer *a, double now)
{
	int global = a->global && h->platform;
	double max = global ? E.c->global_max : E.c->wait_max;
	double w = a->wait < max ? a->wait : max;

	E.limited++;
	if (a->global && !h->platform && !h->warned) {
		h->warned = 1;
		log_warn("global rate limit from a host that is not the platform's host, "
		    "taken as the webhook's own url=%s", h->label);
	}
	if (global) {
		log_info("global rate limit seconds=%.3f asked=%.3f", w, a->wait);
		if (E.global_until < now + w)
			E.global_until = now + w;
	} else if (h->next_at < now + w)
		h->next_at = now + w;
	if (w < a->wait && !global)
		log_info("rate limited url=%s seconds=%.3f asked=%.3f", h->label, w, a->wait);
	else
		log_debug("rate limited url=%s seconds=%.3f", h->label, w);
}

/* No answer -c->unreachable times in a row: the webhook is unreachable.
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
	    "reason=\"%s\"", E.c->backoff_max, h->label, h->silent, a->why);
	h->down_until = now + E.c->backoff_max;
	backoff_reset(&h->bo);
	while (h->head)
		dead_letter(hook_pop(h), NULL, "expired", 0, why);
}

static void
answer_retry(struct hook *h, const struct http_resp *r, const struct post_answer *a,
    double now)
{
	double d;

	if (h->head->attempts >= E.c->attempts) {
		log_warn("giving up after %d attempts url=%s http=%ld reason=\"%s\"",
		    h->head->attempts, h->label, r->status, a->why);
		dead_letter(hook_pop(h), NULL, "expired", r->status, a->why);
		return;
	}
	E.retried++;
	d = backoff_next(&h->bo);
	h->next_at = now + d;
	log_info("retrying url=%s http=%ld attempt=%d in=%.2fs reason=\"%s\"",
	    h->label, r->status, h->head->attempts, d, a->why);
}

static void
on_answer(void *arg, struct http_resp *r)
{
	struct hook *h = arg;
	struct post_answer a = { 0 };
	double now = clock_mono();
	struct hook_job *j;

	h->busy = 0;
	if (E.pf->ratelimit_headers)
		hook_ratelimit(h, r, now);
	if (h->next_at < h->sent_at + E.c->interval)
		h->next_at = h->sent_at + E.c->interval;
	E.pf->judge(r, &a);
	for (char *c = a.why; *c; c++)	/* one log line per event */
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	if (a.invalid)
		invalid_count(now);
	h->silent = r->status ? 0 : h->silent + 1;
	if (!r->status && h->silent >= E.c->unreachable)
		answer_silent(h, &a, now);
	else if (a.v == POST_OK) {
		backoff_reset(&h->bo);
		j = hook_pop(h);
		job_done(j);
		E.posted++;
		receipt(j, "posted", r->status, NULL);
		free(j);
	} else if (a.v == POST_WAIT)
		answer_wait(h, &a, now);
	else if (a.v == POST_RETRY)
		answer_retry(h, r, &a, now);
	else if (a.v == POST_GONE)
		kill_hook(h, r->status, a.why);
	else {
		log_warn("post rejected url=%s http=%ld reason=\"%s\"", h->label, r->status, a.why);
		dead_letter(hook_pop(h), NULL, "rejected", r->status, a.why);
	}
}

/* Start what may start; the seconds until something else may. */
static double
schedule(double now)
{
	double next = 1;

	if (E.stopping)
		return next;
	if (now < E.global_until)
		return E.global_until - now;
	for (struct hook *h = hook_all(); h; h = h->all) {
		double at;

		if (!h->head || h->busy || h->dead)
			continue;
		if ((at = hook_ready_at(h, now)) > now) {
			next = at - now < next ? at - now : next;
			continue;
		}
		if (http_inflight(E.http) >= E.c->parallel)
			break;
		send_head(h, now);
	}
	return next;
}

/* ---- the spool at start (and on SIGHUP: posts put back by hand) ---- */

/* Queue a post read back from the spool (entry: borrowed), as
 * accept_target would have; its dedupe key is added when missing. */
static void
requeue(struct hook_job *j, json_t *entry)
{
	char why[300];
	const char *url;
	struct hook *h;

	url = hook_resolve(json_string_value(json_object_get(entry, "target")), why, sizeof why);
	if (!url)
		return dead_letter(j, entry, "rejected", 0, why);
	h = hook_get(url);
	if (h->dead)
		return dead_letter(j, entry, "dead", 0, "webhook is dead");
	if (h->down_until > clock_mono())
		return dead_letter(j, entry, "expired", 0, "webhook unreachable");
	if (!dedupe_known(dedupe_key(h->id, j->kill)))
		dedupe_add(dedupe_key(h->id, j->kill));
	j->hook = h;
	if (j->seg)
		hook_push(j);
	else
		batch_add(j, json_string_value(json_object_get(entry, "target")),
		    json_integer_value(json_object_get(entry, "accepted")),
		    json_object_get(entry, "body"));
}

/* The stream and killmail of a post read back, for a job. */
static struct hook_job *
entry_job(json_t *e)
{
	const char *sid = json_string_value(json_object_get(e, "stream"));

	return job_new(sid ? sid : "?",
	    json_integer_value(json_object_get(e, "killmail_id")));
}

/* A post of a segment, back in its queue. */
static void
replay_post(struct spool_seg *s, const struct spool_pos *at, json_t *e, int ok)
{
	struct hook_job *j = entry_job(e);

	j->seg = s;
	j->at = *at;
	if (!ok)
		dead_letter(j, e, "rejected", 0, "spool line unreadable");
	else
		requeue(j, e);
}

/* A post put back by hand: a segment of its own, named seg. */
static void
replay_single(const char *seg, json_t *e, int ok)
{
	struct hook_job *j = entry_job(e);

	if (!ok)
		dead_letter(j, e, "rejected", 0, "spool entry without target or body");
	else
		requeue(j, e);
	batch_commit(seg);
}

static void
replay(void)
{
	long q = hook_queued();

	spool_replay(replay_post, replay_single);
	dedupe_flush();
	if (hook_queued() > q)
		log_info("spooled posts queued count=%ld", hook_queued() - q);
}

/* ---- the loop ---- */

static struct line_reader lr;

static int
turn_full(void)
{
	return spool_pending() + E.out.len >= TURN_BYTES;
}

static void
fill(void)
{
	if (line_fill(&lr) < 0 && errno != EINTR && errno != EAGAIN)
		log_fatal(EXIT_TEMP, "read stdin: %s", strerror(errno));
}

/* More input without waiting for it?  A read from a pipe gives 64 KB at
 * most, a dozen pairs of 5 KB: the turn reads on while lines are there. */
static int
more(void)
{
	struct pollfd p = { 0, POLLIN, 0 };

	return !lr.eof && poll(&p, 1, 0) == 1 && (fill(), 1);
}

/* Up to BATCH lines per turn, so that answers and sends keep flowing; the
 * posts of the turn are spooled together. */
static void
read_input(int readable)
{
	char *line;
	size_t len;
	int r = 0, k = 0;

	if (readable && !E.pending)
		fill();
	while (k < BATCH && (!k || !turn_full()))
		if ((r = line_next(&lr, &line, &len)) == 1) {
			if (len)
				accept_line(line, len, lr.lineno);
			k++;
		} else if (r < 0 || !more())
			break;
	batch_commit(NULL);
	E.pending = r == 1 && (k == BATCH || turn_full());
	if (r < 0) {
		E.reading = 0;
		log_info("end of input, draining queued=%ld", hook_queued());
	}
}

static void
on_signal(void)
{
	int s;

	while ((s = sig_take(E.sigfd)))
		if (s == SIGHUP) {
			log_info("SIGHUP: reloading dead-hooks, requeueing spool");
			hook_dead_load();
			replay();
		} else if (!E.stopping) {
			/* Stop reading at a line boundary; what is queued stays
			 * in the spool for the next start. */
			E.stopping = 1;
			E.reading = 0;
			E.deadline = clock_mono() + E.c->grace;
			log_info("stopping inflight=%d queued=%ld", http_inflight(E.http), hook_queued());
		}
}

static void
setup(const struct post_platform *pf, const struct post_conf *c)
{
	struct http_opts o = { 0 };

	E.pf = pf;
	E.c = c;
	hook_init(c->backoff, c->backoff_max, c->wait_max, pf->hosts);
	snprintf(E.dir, sizeof E.dir, "%s/%s", c->state_dir, pf->name);
	spool_open(E.dir);
	o.useragent = conf_useragent();
	o.timeout_ms = c->timeout_ms;
	o.max_host_conns = c->parallel;
	E.http = http_new(&o);
	E.sigfd = sig_init(0);
	E.reading = 1;
	line_init(&lr, 0, 0);
	dedupe_open(c->window);
	hook_dead_load();
	spool_clean();
	replay();
	log_info("started state=%s queued=%ld dedupe=%zu dead_hooks=%zu",
	    E.dir, hook_queued(), dedupe_count(), hook_dead_count());
}

static int
finished(double now)
{
	if (E.stopping)
		return http_inflight(E.http) == 0 || now >= E.deadline;
	return !E.reading && !E.pending && hook_queued() == 0 && http_inflight(E.http) == 0;
}

/* Poll stdin (unless stopping or too much is queued), signals and curl. */
static void
turn(double wait)
{
	struct curl_waitfd fd[2] = { { E.sigfd, CURL_WAIT_POLLIN, 0 },
		{ 0, CURL_WAIT_POLLIN, 0 } };
	int rd = E.reading;
	int ms = E.pending && rd ? 0 : (int)(wait * 1000) + 1;

	pass_flush();
	if (E.stopping && (E.deadline - clock_mono()) * 1000 + 1 < ms)
		ms = (int)((E.deadline - clock_mono()) * 1000) + 1;
	if (http_wait(E.http, fd, rd && !E.pending ? 2 : 1, ms < 0 ? 0 : ms) < 0)
		log_fatal(EXIT_TEMP, "curl multi failed");
	if (fd[0].revents)
		on_signal();
	if (rd && (E.pending || fd[1].revents))
		read_input(fd[1].revents != 0);
}

int
post_run(const struct post_platform *pf, const struct post_conf *c)
{
	double wait;

	setup(pf, c);
	for (;;) {
		wait = schedule(clock_mono());
		if (finished(clock_mono()))
			break;
		turn(wait);
	}
	pass_flush();
	log_info("done posted=%lu limited=%lu retried=%lu dead=%lu rejected=%lu "
	    "expired=%lu duplicate=%lu left=%ld invalid=%ld queued_max=%ld", E.posted,
	    E.limited, E.retried, E.dead, E.rejected, E.expired, E.dup, hook_queued(),
	    E.invalid, hook_queued_max());
	if (!http_inflight(E.http))
		http_free(E.http);
	dedupe_close();
	line_free(&lr);
	pair_mail_free(&last);
	return EXIT_DONE;
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-qv] [-d statedir] [-p parallel] "
	    "[-a attempts] [-b backoff] [-B maxbackoff]\n"
	    "       [-i interval] [-w window] [-g grace] [-t timeout] "
	    "[-Q maxqueue] [-I invalidmax]\n"
	    "       [-G globalwait] [-W wait] [-u silent]\n", log_prog);
	exit(EXIT_PERM);
}

static double
duration(const char *flag, const char *what)
{
	double d = conf_duration(flag);

	if (d < 0)
		log_fatal(EXIT_PERM, "bad duration for %s: %s", what, flag);
	return d;
}

int
post_main(int argc, char **argv, const struct post_platform *pf, double interval)
{
	struct post_conf c = { conf_str(NULL, "STATE_DIR", "var"), 64, 8, 1, 300,
		interval, 86400, 5, 15000, 10000, 1000, 60, 300, 3 };
	int o;

	while ((o = getopt(argc, argv, "a:b:B:d:g:G:i:I:p:qQ:t:u:vw:W:")) != -1)
		switch (o) {
		case 'a': c.attempts = conf_long(optarg, NULL, 0); break;
		case 'b': c.backoff = conf_num(optarg, NULL, 0); break;
		case 'B': c.backoff_max = conf_num(optarg, NULL, 0); break;
		case 'd': c.state_dir = optarg; break;
		case 'g': c.grace = duration(optarg, "-g"); break;
		case 'G': c.global_max = duration(optarg, "-G"); break;
		case 'i': c.interval = conf_num(optarg, NULL, 0); break;
		case 'I': c.invalid_max = conf_long(optarg, NULL, 0); break;
		case 'p': c.parallel = conf_long(optarg, NULL, 0); break;
		case 'q': log_verbose(-1); break;
		case 'Q': c.max_queue = conf_long(optarg, NULL, 0); break;
		case 't': c.timeout_ms = conf_num(optarg, NULL, 0) * 1000; break;
		case 'u': c.unreachable = conf_long(optarg, NULL, 0); break;
		case 'v': log_verbose(1); break;
		case 'w': c.window = duration(optarg, "-w"); break;
		case 'W': c.wait_max = duration(optarg, "-W"); break;
		default: usage();
		}
	if (optind != argc || c.parallel < 1 || c.attempts < 1 || c.max_queue < 1 ||
	    c.unreachable < 1)
		usage();
	return post_run(pf, &c);
}
