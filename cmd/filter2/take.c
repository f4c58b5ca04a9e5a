/* take: see take.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "json/scan.h"
#include "filter2.h"
#include "pairout.h"
#include "take.h"

enum { WAIT, DROP, WRITE };

/* The mail of a pair, prepared for evaluation: parsed once while its
 * pairs come. */
static struct match_mail *
mail_of(struct pair_span sp, unsigned long lineno)
{
	json_t *j = pair_mail_json(&F.pm, sp, lineno);

	if (!j)
		return NULL;
	if (j != F.mj) {	/* our reference: the address is not reused */
		json_decref(F.mj);
		F.mj = json_incref(j);
		match_mail_init(&F.m, j);
	}
	return &F.m;
}

/* Judge a pair: WRITE (with mention rule *k, or -1), DROP or WAIT. */
static int
judge(struct rev *r, struct match_mail *m, int pending, int *k)
{
	struct rev_octx o = { r, F.geo, 0 };
	struct match_ctx cx = { .now = clock_wall(), .oracle = rev_near, .oracle_arg = &o };
	enum match_tv t = MATCH_TRUE;

	*k = -1;
	if (pending)
		t = match_eval(r->s->match, m, &cx, &F.v);
	/* True already, but a reference still unknown may be the closest one,
	 * which the verdict reports: wait for every distance. */
	if (t == MATCH_TRUE && o.unknown)
		t = MATCH_UNKNOWN;
	if (t == MATCH_TRUE && r->s->nmentions)
		*k = mention_choose(F.ms, r->s, m, &cx);
	return t == MATCH_FALSE ? DROP : t == MATCH_UNKNOWN || *k == MENTION_WAIT ? WAIT : WRITE;
}

/* Write (or drop) a pair judged. */
static void
finish(int res, struct rev *r, struct match_mail *m, int pending, int k,
    const char *line, size_t len, const struct pair *pr)
{
	const char *mention = k >= 0 ? r->s->mentions[k].content : NULL;
	json_t *verdict;

	if (res == DROP) {
		F.dropped++;
		return;
	}
	F.matched += pending;
	F.passed += !pending;
	F.mentions += mention != NULL;
	log_trace("out", (long long)m->killmail_id, r->id);	/* before a flush */
	if (!pending && !mention) {
		pairout_same(line, len, pr);
		return;
	}
	verdict = pending ? match_verdict_json(&F.v, m) : NULL;
	pairout_match(&F.mt, pr->match, verdict, mention);
	json_decref(verdict);
	pairout_pair(line, len, pr, &F.mt);
}

/* The marks no waiting pair came before: written now, the newest only. */
static void
marks_out(void)
{
	struct mark m;
	char line[96];

	if (mark_wait_free(&F.marks, F.held.n ? F.held.v[0].serial : ULONG_MAX, &m))
		pairout_line(line, mark_line(line, sizeof line, &m) - 1);
}

void
take_retry(void)
{
	unsigned long now = geo_changes(F.geo) + rev_answers(F.revs);
	size_t i, n = 0;
	struct pair pr;
	int res, k;

	if (now == F.seen)
		return;
	F.seen = now;
	for (i = 0; i < F.held.n; i++) {
		struct held *h = &F.held.v[i];

		if ((res = judge(h->rev, &h->mail->m, h->pending, &k)) == WAIT) {
			F.held.v[n++] = *h;
			continue;
		}
		held_line(h, &F.line);
		if (pair_read(F.line.p, F.line.len, h->mail->text, h->mail->len, &pr) < 0)
			log_fatal(EXIT_BUG, "a waiting pair no longer reads");
		finish(res, h->rev, &h->mail->m, h->pending, k, F.line.p, F.line.len, &pr);
		held_release(&F.held, h);
	}
	F.held.n = n;
	marks_out();
}

/* Is the match "pending"?  Parsed only when its text may say so. */
static int
is_pending(struct pair_span sp)
{
	json_t *j;
	int p;

	if (!sp.n || *sp.p != '{' ||
	    (!memmem(sp.p, sp.n, "\"pending\"", 9) && !memchr(sp.p, '\\', sp.n)))
		return 0;
	j = ndjson_parse(sp.p, sp.n, 0);
	p = json_is_true(json_object_get(j, "pending"));
	json_decref(j);
	return p;
}

/* For the latency benchmark: the killmail of a pair passed unread. */
static void
trace_pass(const struct rev *r, struct pair_span mail)
{
	long long id = 0;

	if (log_level < LOG_DEBUG)
		return;
	if (mail.n > 15 && !memcmp(mail.p, "{\"killmail_id\":", 15))
		id = strtoll(mail.p + 15, NULL, 10);	/* a digit or '}' ends it */
	log_trace("out", id, r->id);
}

static void
take_pair(const char *line, size_t len, const struct pair *pr, unsigned long lineno,
    int replayed)
{
	struct rev *r = rev_of(F.revs, pr->stream, lineno);
	int pending = is_pending(pr->match), res, k;
	struct match_mail *m;

	if (!pending && !r->mentions) {
		F.passed++;
		trace_pass(r, pr->mail);
		pairout_same(line, len, pr);	/* no business here: the very bytes */
	} else if (!rev_stream(r, lineno)) {
		if (pending)
			F.dropped++;
		else
			pairout_same(line, len, pr);
	} else if ((m = mail_of(pr->mail, lineno))) {
		F.pending += pending;
		if ((res = judge(r, m, pending, &k)) == WAIT) {
			held_add(&F.held, line, len, pr, r, pending, replayed, F.mj);
			F.held.v[F.held.n - 1].serial = F.lines;
		} else
			finish(res, r, m, pending, k, line, len, pr);
	}
}

struct element {
	unsigned long lineno;
	int replayed;
};

/* A pair of a bundle, taken as its pair line would be. */
static void
take_element(void *arg, struct pair_span stream, struct pair_span match, size_t i)
{
	struct element *e = arg;
	struct pair pr;

	(void)i;
	F.in++;
	if (*stream.p != '{') {
		log_warn("pair dropped: a stream of the bundle is not an object line=%lu", e->lineno);
		F.dropped++;
		return;
	}
	F.eline.len = 0;
	pair_line(&F.eline, stream, (struct pair_span){ F.last.p, F.last.len }, match);
	if (pair_read(F.eline.p, F.eline.len, F.last.p, F.last.len, &pr) < 0)
		log_fatal(EXIT_BUG, "a pair of a bundle does not read");
	take_pair(F.eline.p, F.eline.len, &pr, e->lineno, e->replayed);
}

void
take_line(const char *line, size_t len, unsigned long lineno, int replayed)
{
	struct pair pr;
	struct mark mk;
	int bundle;

	F.lines++;
	if (pair_read(line, len, F.last.p, F.last.len, &pr) < 0) {
		scan_warn_line(lineno, pr.why, pr.col);
		F.malformed++;
		return;
	}
	bundle = pair_is_bundle(&pr);
	if (!bundle && !pair_is(&pr)) {
		F.in++;
		F.other++;
		if (!mark_read(line, len, &mk))
			pairout_line(line, len);
		else {
			mark_wait_add(&F.marks, F.lines, &mk);
			marks_out();
		}
		return;
	}
	if (pr.mail.n != F.last.len || memcmp(pr.mail.p, F.last.p, pr.mail.n)) {
		F.last.len = 0;		/* a new mail: the next pairs will be its */
		buf_add(&F.last, pr.mail.p, pr.mail.n);
	}
	if (F.bundling)
		pairout_begin();
	if (bundle) {
		struct element e = { lineno, replayed };

		F.bundles++;
		pair_each(&pr, take_element, &e);
	} else {
		F.in++;
		take_pair(line, len, &pr, lineno, replayed);
	}
	if (F.bundling)
		pairout_end(pr.mail);
}

int
take_lines(struct line_reader *lr, int all)
{
	char *line;
	size_t len;
	int r;

	while (all || F.held.n < F.max_held) {
		if ((r = line_next(lr, &line, &len)) != 1)
			return r;
		take_line(line, len, lr->lineno, 0);
	}
	if (!F.full)
		log_warn("waiting pairs at the bound, input paused waiting=%zu", F.held.n);
	F.full = 1;
	return 0;
}
