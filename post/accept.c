/* accept: input lines to posts in this turn's segment, and the spool read
 * back at start and on SIGHUP (see engine.h and the file formats in
 * post.c). */
#include <string.h>
#include <stdlib.h>

#include <time.h>

#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "json/ndjson.h"
#include "json/pair.h"
#include "json/scan.h"
#include "post/dedupe.h"
#include "post/engine.h"
#include "post/fold.h"
#include "post/keyset.h"
#include "post/sent.h"
#include "post/spool.h"

/* The posts of this turn, queued once their segment is durable. */
static struct {
	struct hook_job *head, *tail;
} B;

static struct keyset warned;	/* (stream, reason) said once */

/* ---- the segment of a turn ---- */

/* One post into the segment in the making. */
static void
batch_add(struct hook_job *j, const char *target, json_int_t accepted, const json_t *body)
{
	spool_add(target, j->stream, j->kill, accepted, j->edit[0] ? j->edit : NULL, body, &j->at);
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
void
accept_commit(const char *name)
{
	struct hook_job *j, *next;
	struct spool_seg *s;

	fold_flush();	/* the fights before the posts and edits of them */
	s = spool_commit(name);
	/* kills folded into a fight have no post, but their keys too */
	dedupe_flush();
	dedupe_sync();
	if (!s)
		return;
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
	unsigned long long k = hash_fnv1a_from(
	    hash_fnv1a(stream, strlen(stream)), why, strlen(why));

	if (keyset_get(&warned, k))
		return 0;
	keyset_put(&warned, k, 1);
	return 1;
}

/* A post refused before it was spooled: to dead/ as it would have been
 * spooled (body is stolen). */
static void
refuse(struct hook_job *j, const char *tw, json_t *body, const char *status,
    const char *why)
{
	json_t *e = json_pack("{s:s,s:s,s:I,s:I,s:o}", "target", tw, "stream", j->stream,
	    "killmail_id", j->kill, "accepted", (json_int_t)(unsigned)clock_wall(), "body", body);

	letter_dead(j, e, status, 0, why);
	json_decref(e);
}

/* Why a post for h cannot be queued now, or NULL; *status: its receipt's.
 * queue: new posts, bound by the webhook's queue (the spool's are not). */
static const char *
refusal(const struct hook *h, int queue, const char **status)
{
	*status = h->dead ? "dead" : "expired";
	if (h->dead)
		return "webhook is dead";
	if (h->down_until > clock_mono())
		return "webhook unreachable";
	if (queue && h->queued + h->batched >= engine.c->max_queue)
		return "webhook queue full";
	return NULL;
}

/* A revision of a killmail posted to h (key k) whose post now reads body
 * (fingerprint fp): an edit of the message that holds it, queued like a
 * post.  The message's body is what the edit makes it at once, so that a
 * later revision builds on this one.  -1 when there is no message to edit
 * (not known, or the platform cannot edit) or the edit would not fit. */
static int
revise(struct hook_job *j, struct hook *h, const char *tw, const json_t *body,
    unsigned long long k, uint64_t fp)
{
	char id[32], why[128];
	const char *status;
	size_t idx;
	json_t *msg, *patch = NULL;

	if (!engine.pf->edit || refusal(h, 1, &status) || !(msg = sent_get(k, id, sizeof id, &idx)))
		return -1;
	if (!(patch = engine.pf->edit(msg, idx, body)))
		log_warn("revised killmail not edited: its message would be over a limit "
		    "killmail_id=%" JSON_INTEGER_FORMAT " url=%s", j->kill, h->label);
	else if (json_object_update(msg, patch), engine.pf->check(msg, why, sizeof why) < 0) {
		log_warn("revised killmail not edited: %s killmail_id=%" JSON_INTEGER_FORMAT
		    " url=%s", why, j->kill, h->label);
		json_decref(patch);
		patch = NULL;
	}
	if (!patch) {
		json_decref(msg);
		return -1;
	}
	sent_update(k, msg);
	json_decref(msg);
	j->hook = h;
	snprintf(j->edit, sizeof j->edit, "%s", id);
	batch_add(j, tw, (json_int_t)(unsigned)clock_wall(), patch);
	json_decref(patch);
	dedupe_add(k, fp);
	engine.revised++;
	log_info("revised killmail, its message is edited killmail_id=%" JSON_INTEGER_FORMAT
	    " url=%s", j->kill, h->label);
	return 0;
}

/* A new post for h, unless its stream folds it into a fight (fold.h):
 * then it is that fight's message, or no post at all (body is stolen). */
static void
accept_new(struct hook_job *j, struct hook *h, const json_t *pair, const json_t *t,
    const char *tw, json_t *body)
{
	struct fight *f;
	enum fold_act a = engine.c->dry_run ? FOLD_NO : fold_add(pair, t, tw, h->id, &f);

	j->hook = h;
	if (a == FOLD_IN) {
		engine.folded++;
		letter_receipt(j, "folded", 0, NULL);
		free(j);
	} else if (a == FOLD_FIRST) {
		json_t *fb = fold_body(f);

		batch_add(j, tw, (json_int_t)(unsigned)clock_wall(), fb);
		fold_job(f, j);
		json_decref(fb);
	} else
		batch_add(j, tw, (json_int_t)(unsigned)clock_wall(), body);
	json_decref(body);
}

/* A post for h: dedupe (a revision edits the post made), then this
 * turn's segment (body is stolen). */
static void
accept_hook(struct hook_job *j, struct hook *h, const json_t *pair, const json_t *t,
    const char *tw, json_t *body)
{
	const char *status, *why;
	unsigned long long k = dedupe_key(h->id, j->kill);
	uint64_t fp = dedupe_print_of(json_object_get(pair, "mail")), was;

	if (dedupe_seen(k)) {
		was = dedupe_print(k);
		if (was && was != fp && revise(j, h, tw, body, k, fp) == 0) {
			json_decref(body);
			return;
		}
		if (was && was != fp)
			log_info("revised killmail not posted again: no message of it to edit "
			    "killmail_id=%" JSON_INTEGER_FORMAT " url=%s", j->kill, h->label);
		engine.dup++;
		letter_receipt(j, "duplicate", 0, NULL);
		json_decref(body);
		free(j);
	} else if ((why = refusal(h, 1, &status)))
		refuse(j, tw, body, status, why);
	else {
		dedupe_add(k, fp);
		accept_new(j, h, pair, t, tw, body);
	}
}

/* The time of the pair's kill (unix), 0 when it has none. */
static double
kill_time(const json_t *pair)
{
	const char *t = json_string_value(json_object_get(json_object_get(pair, "mail"),
	    "time"));
	struct tm tm = { 0 };

	return t && strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) ? (double)timegm(&tm) : 0;
}

/* One target of this platform: render, check, then accept_hook. */
static void
accept_target(const json_t *pair, const json_t *target, const char *tw,
    const char *sid, json_int_t kill)
{
	char why[300], w2[256];
	const char *url = hook_resolve(tw, why, sizeof why);
	json_t *body = engine.pf->render(pair, target);
	struct hook_job *j = hook_job_new(sid, kill);

	j->ktime = kill_time(pair);

	if (engine.c->dry_run) {	/* "$NAME" unset is no fault of the post */
		letter_render(sid, kill, tw, url, body, !url && tw[0] != '$' ? why :
		    engine.pf->check(body, w2, sizeof w2) < 0 ? w2 : NULL);
		json_decref(body);
		free(j);
	} else if (!url) {
		if (warn_once(sid, why))
			log_warn("stream cannot post stream=%s reason=\"%s\"", sid, why);
		refuse(j, tw, body, "rejected", why);
	} else if (engine.pf->check(body, w2, sizeof w2) < 0) {
		log_warn("rendered post out of limits (a bug) stream=%s killmail_id=%"
		    JSON_INTEGER_FORMAT " reason=\"%s\"", sid, kill, w2);
		refuse(j, tw, body, "rejected", w2);
	} else
		accept_hook(j, hook_get(url), pair, target, tw, body);
}

/* Is this target's platform handled here or by an earlier stage? */
static int
handled(const json_t *t, int *mine)
{
	*mine = json_is_string(json_object_get(t, engine.pf->name));
	if (*mine)
		return 1;
	for (const char *const *b = engine.pf->before; b && *b; b++)
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
			accept_target(pair, t, json_string_value(json_object_get(t, engine.pf->name)),
			    sid ? sid : "?", json_integer_value(json_object_get(
			    json_object_get(pair, "mail"), "killmail_id")));
	}
	json_decref(pair);
	return later;
}

/* Accept a pair: 1 when it goes on (a later stage has a target in it, or
 * it names no targets), 0 when it stops here or its stream does not parse
 * (warned). */
static int
accept_one(const struct pair *pr, unsigned long lineno)
{
	json_t *j = ndjson_parse(pr->stream.p, pr->stream.n, lineno);
	int on;

	if (!j)
		return 0;
	on = !json_is_array(json_object_get(j, "targets")) || accept_pair(pr, j, lineno);
	json_decref(j);
	return on;
}

/* The pairs of a bundle that later stages post. */
static struct pair_bundle later_b;
static struct buf later_line;

struct bundled {
	const struct pair *pr;	/* the bundle */
	unsigned long lineno;
	size_t n, later;
};

/* A pair of a bundle, accepted as its pair line would be; when a later
 * stage has a target in it, it goes on: into the bundle for them
 * (--bundle), else as its pair line. */
static void
accept_bundled(void *arg, struct pair_span stream, struct pair_span match, size_t i)
{
	struct bundled *b = arg;
	struct pair pr = { .stream = stream, .mail = b->pr->mail, .match = match };

	(void)i;
	b->n++;
	/* a stream that is not an object is no pair: not ours, it goes on */
	if (*stream.p == '{' && !accept_one(&pr, b->lineno))
		return;
	b->later++;
	if (engine.c->bundle)
		pair_bundle_add(&later_b, stream, match);
	else {
		later_line.len = 0;
		pair_line(&later_line, stream, pr.mail, match);
		letter_pass(later_line.p, later_line.len);
	}
}

/* A line goes on (unchanged) unless it is a pair whose targets are all
 * handled here or before.  Only the stream and match of a pair are parsed
 * for it; its mail once for all the pairs of that mail in a row.  How many
 * pairs the line held (1 for any other line). */
size_t
accept_line(const char *line, size_t len, unsigned long lineno)
{
	struct pair pr;

	if (pair_read(line, len, last.text.p, last.text.len, &pr) < 0) {
		scan_warn_line(lineno, pr.why, pr.col);
		engine.malformed++;
		return 1;
	}
	if (pair_is_bundle(&pr)) {
		struct bundled b = { &pr, lineno, 0, 0 };

		pair_each(&pr, accept_bundled, &b);
		later_line.len = 0;	/* --bundle: what goes on is in later_b */
		if (!pair_bundle_line(&later_b, pr.mail, &later_line))
			;		/* nothing goes on, or it went as pair lines */
		else if (b.later < b.n)
			letter_pass(later_line.p, later_line.len - 1);
		else
			letter_pass(line, len);		/* all of it: as it came */
		return b.n ? b.n : 1;
	}
	if (!pair_is(&pr)) {
		if (engine.c->commit && mark_read(line, len, &engine.mark))
			engine.marked = 1;
		letter_pass(line, len);	/* a receipt, a mark, or unknown: not ours */
		return 1;
	}
	if (accept_one(&pr, lineno))
		letter_pass(line, len);
	return 1;
}

/* ---- the spool at start (and on SIGHUP: posts put back by hand) ---- */

/* Queue a post read back from the spool (entry: borrowed), as
 * accept_target would have; its dedupe key is added when missing. */
static void
requeue(struct hook_job *j, json_t *entry)
{
	char why[300];
	const char *url, *status, *w;
	struct hook *h;

	url = hook_resolve(json_string_value(json_object_get(entry, "target")), why, sizeof why);
	if (!url) {
		letter_dead(j, entry, "rejected", 0, why);
		return;
	}
	h = hook_get(url);
	if ((w = refusal(h, 0, &status))) {
		letter_dead(j, entry, status, 0, w);
		return;
	}
	if (!fold_replayed(h->id, j)) {
		/* its fight needs it no more: done without a request */
		hook_job_done(j);
		free(j);
		return;
	}
	if (!dedupe_known(dedupe_key(h->id, j->kill)))
		dedupe_add(dedupe_key(h->id, j->kill), 0);
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
	const char *edit = json_string_value(json_object_get(e, "edit"));
	struct hook_job *j = hook_job_new(sid ? sid : "?",
	    json_integer_value(json_object_get(e, "killmail_id")));

	if (edit)
		snprintf(j->edit, sizeof j->edit, "%s", edit);
	return j;
}

/* A post of a segment, back in its queue. */
static void
replay_post(struct spool_seg *s, const struct spool_pos *at, json_t *e, int ok)
{
	struct hook_job *j = entry_job(e);

	j->seg = s;
	j->at = *at;
	if (!ok)
		letter_dead(j, e, "rejected", 0, "spool line unreadable");
	else
		requeue(j, e);
}

/* A post put back by hand: a segment of its own, named seg. */
static void
replay_single(const char *seg, json_t *e, int ok)
{
	struct hook_job *j = entry_job(e);

	if (!ok)
		letter_dead(j, e, "rejected", 0, "spool entry without target or body");
	else
		requeue(j, e);
	accept_commit(seg);
}

void
accept_replay(void)
{
	long q = hook_queued();

	spool_replay(replay_post, replay_single);
	dedupe_flush();
	if (hook_queued() > q)
		log_info("spooled posts queued count=%ld", hook_queued() - q);
}

/* A post (edit: NULL) or an edit of fight f's message, its body rendered
 * again when it is sent. */
static void
queue_fold(struct fight *f, const char *edit)
{
	char why[300];
	const char *url = hook_resolve(f->tw, why, sizeof why), *status, *w;
	struct hook_job *j = hook_job_new(f->stream, f->k[f->n - 1].id);
	json_t *body = fold_body(f);

	if (edit)
		snprintf(j->edit, sizeof j->edit, "%s", edit);
	fold_job(f, j);
	if (!url)
		refuse(j, f->tw, body, "rejected", why);
	else if ((w = refusal(j->hook = hook_get(url), 0, &status)))
		refuse(j, f->tw, body, status, w);
	else {
		batch_add(j, f->tw, (json_int_t)(unsigned)clock_wall(), body);
		json_decref(body);
	}
}

void
accept_folds(void)
{
	fold_tick(clock_wall(), queue_fold);
	accept_commit(NULL);
}

void
accept_free(void)
{
	pair_bundle_free(&later_b);
	buf_free(&later_line);
	pair_mail_free(&last);
	keyset_free(&warned);
}
