/* match: evaluate a compiled condition on a prepared mail, three-valued,
 * and record the verdict.  Compiling is in match-cond.c and match-compile.c,
 * preparing mails in match-mail.c (from jansson) and match-text.c (from the
 * line), the fanout's guards in match-guard.c; their shared types in
 * match-int.h.
 * See match.h for the contract. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "match/match-int.h"

const char *const match_spaces[] = { "highsec", "lowsec", "nullsec",
	"wormhole", "abyssal", "pochven", NULL };

/* ---------------------------------------------------------- evaluation */

/* The verdict is a log of what held, kept only for branches that hold:
 * a branch that fails is cut back to where it began. */
enum { MARK_LOSS = -1, MARK_KILL = -2 };

struct ev {
	const struct match_cond *c;
	struct match_mail *m;
	const struct match_ctx *cx;
	struct match_verdict *v;
};

struct mark {
	size_t len, nnear;
};

static void
vlog(struct ev *e, long what)
{
	struct match_verdict *v = e->v;

	if (!v)
		return;
	if (v->len == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->log = mem_realloc(v->log, v->cap * sizeof *v->log);
	}
	v->log[v->len++] = what;
}

static void
vnear(struct ev *e, const struct match_distance *d)
{
	struct match_verdict *v = e->v;

	if (!v)
		return;
	if (v->nnear == v->capnear) {
		v->capnear = v->capnear ? v->capnear * 2 : 4;
		v->near = mem_realloc(v->near, v->capnear * sizeof *v->near);
	}
	v->near[v->nnear++] = *d;
}

static struct mark
vmark(struct ev *e)
{
	struct mark k = { 0, 0 };

	if (e->v)
		k = (struct mark){ e->v->len, e->v->nnear };
	return k;
}

static void
vcut(struct ev *e, struct mark k)
{
	if (e->v) {
		e->v->len = k.len;
		e->v->nnear = k.nnear;
	}
}

/* Drop the part of the log from a to b (a branch of an "any" that stayed
 * unknown while another one held). */
static void
vdrop(struct ev *e, struct mark a, struct mark b)
{
	struct match_verdict *v = e->v;

	if (!v)
		return;
	if (b.len > a.len)
		memmove(v->log + a.len, v->log + b.len, (v->len - b.len) * sizeof *v->log);
	v->len -= b.len - a.len;
	if (b.nnear > a.nnear)
		memmove(v->near + a.nnear, v->near + b.nnear,
		    (v->nnear - b.nnear) * sizeof *v->near);
	v->nnear -= b.nnear - a.nnear;
}

/* Party conditions are two-valued.  *ent is set when an entity test held
 * in positive position. */
static int
eval_party(const struct node *n, const struct match_party *p, int *ent)
{
	int e = 0, k, r;

	switch (n->op) {
	case P_AND:
		for (size_t i = 0; i < n->nkid; i++) {
			k = 0;
			if (!eval_party(n->kid[i], p, &k))
				return 0;
			e |= k;
		}
		*ent |= e;
		return 1;
	case P_ANY:
		r = 0;
		for (size_t i = 0; i < n->nkid; i++)
			if ((k = 0), eval_party(n->kid[i], p, &k))
				r = 1, e |= k;
		*ent |= e;
		return r;
	case P_NOT: return !eval_party(n->kid[0], p, &k);
	case P_ENT: return (*ent = ents_has(&n->ents, &p->ent[n->field])) != 0;
	case P_DAMAGE: return inr(p->damage, n->lo, n->hi);
	case P_SECSTATUS: return inr(p->security_status, n->lo, n->hi);
	case P_NPC: return p->npc == n->b;
	default: return 0;
	}
}

/* The attackers that satisfy the party condition: logged, counted. */
static size_t
eval_attackers(struct ev *e, const struct node *party, int *ent)
{
	size_t count = 0;

	for (size_t i = 0; i < e->m->nattackers; i++) {
		int k = 0;

		if (eval_party(party, &e->m->attackers[i], &k)) {
			vlog(e, (long)i);
			count++;
			*ent |= k;
		}
	}
	return count;
}

static enum match_tv
eval_attacker(struct ev *e, const struct node *n)
{
	struct mark k = vmark(e);
	int ent = 0, holds;
	size_t count = eval_attackers(e, n->kid[0], &ent), all = e->m->nattackers;

	if (!n->has_count && !n->has_share)
		holds = count > 0;
	else
		holds = (!n->has_count || inr((double)count, n->clo, n->chi)) &&
		    (!n->has_share || (all && inr((double)count / all, n->slo, n->shi)));
	if (!holds) {
		vcut(e, k);
		return MATCH_FALSE;
	}
	if (ent && count)
		vlog(e, MARK_KILL);
	return MATCH_TRUE;
}

static enum match_tv
eval_who(struct ev *e, const struct node *n)
{
	const struct match_mail *m = e->m;
	struct mark k = vmark(e);
	int ent = 0, aent = 0, victim;
	size_t count = 0;

	switch (n->op) {
	case C_ATTACKER:
		return eval_attacker(e, n);
	case C_FINAL:
		if (m->final_blow < 0 || !eval_party(n->kid[0], &m->attackers[m->final_blow], &aent))
			return MATCH_FALSE;
		vlog(e, m->final_blow);
		break;
	default:	/* victim, involved */
		victim = eval_party(n->kid[0], &m->victim, &ent);
		if (n->op == C_INVOLVED)
			count = eval_attackers(e, n->kid[0], &aent);
		if (!victim && !count) {
			vcut(e, k);
			return MATCH_FALSE;
		}
		if (victim && ent)
			vlog(e, MARK_LOSS);
	}
	if (aent)
		vlog(e, MARK_KILL);
	return MATCH_TRUE;
}

static enum match_tv
tv(int b)
{
	return b ? MATCH_TRUE : MATCH_FALSE;
}

static enum match_tv
eval_near(struct ev *e, const struct node *n)
{
	enum match_tv r = MATCH_FALSE;

	if (!e->m->system.id)
		return MATCH_FALSE;
	if (!e->cx || !e->cx->oracle)
		return MATCH_UNKNOWN;
	for (size_t i = 0; i < n->nnear; i++) {
		struct match_distance d = { .jumps = -1, .lightyears = -1 };
		enum match_tv t = e->cx->oracle(e->cx->oracle_arg, e->m, &n->near[i], &d);

		if (t == MATCH_TRUE) {
			vnear(e, &d);
			r = MATCH_TRUE;
		} else if (t == MATCH_UNKNOWN && r == MATCH_FALSE)
			r = MATCH_UNKNOWN;
	}
	return r;
}

static int
labels_has(const struct match_mail *m, const char *s)
{
	for (size_t i = 0; i < m->nlabels; i++)
		if (!strcmp(m->labels[i], s))
			return 1;
	return 0;
}

static int
eval_labels(const struct node *n, const struct match_mail *m)
{
	int any = !n->any.n;

	if (!m->labels)
		return 0;
	for (size_t i = 0; i < n->any.n && !any; i++)
		any = labels_has(m, n->any.v[i]);
	for (size_t i = 0; i < n->all.n; i++)
		if (!labels_has(m, n->all.v[i]))
			return 0;
	for (size_t i = 0; i < n->none.n; i++)
		if (labels_has(m, n->none.v[i]))
			return 0;
	return any;
}

static int
eval_hour(const struct node *n, double t)
{
	long h;

	if (isnan(t))
		return 0;
	h = hour_of(t);
	if (n->lo <= n->hi)
		return h >= n->lo && h <= n->hi;
	return h >= n->lo || h <= n->hi;	/* wraps past midnight */
}

/* A jq test: its first output on {"stream":..,"mail":..} is true.  It runs
 * in the worker, under the budget; over it, the test does not hold, and
 * after three times in a row it rests (does not hold, is not run, no
 * warning) for rest_s seconds. */
static enum match_tv
eval_jq(struct ev *e, const struct node *n)
{
	struct match_mail *m = e->m;
	char msg[MATCH_JQ_MSG], rest[64] = "";
	size_t len;
	const char *text = match_jq_mail(m, &len);
	int secs;
	enum match_jq_r r = match_jq_eval(n->prog, e->c->stream, e->c->stream_len,
	    text, len, msg, &secs);

	if (secs)
		snprintf(rest, sizeof rest, " rest_s=%d", secs);
	if (r == JQ_ERROR)
		log_warn("jq error, the test does not hold stream=%s path=%s "
		    "killmail_id=%lld error=\"%s\"", e->c->stream_id, n->path,
		    (long long)m->killmail_id, match_jq_clean(msg));
	else if (r == JQ_LATE)
		log_warn("jq test over its time budget, it does not hold stream=%s "
		    "path=%s killmail_id=%lld budget_ms=%ld%s", e->c->stream_id, n->path,
		    (long long)m->killmail_id, match_jq_ms(), rest);
	else if (r == JQ_DIED)
		log_warn("jq test died (over its memory budget, or a crash of jq), it "
		    "does not hold stream=%s path=%s killmail_id=%lld budget_mb=%ld%s",
		    e->c->stream_id, n->path, (long long)m->killmail_id, match_jq_mb(), rest);
	return tv(r == JQ_TRUE);
}

static enum match_tv eval(struct ev *, const struct node *);

static enum match_tv
eval_and(struct ev *e, const struct node *n)
{
	struct mark k = vmark(e);
	enum match_tv r = MATCH_TRUE;

	for (size_t i = 0; i < n->nkid; i++)
		switch (eval(e, n->kid[i])) {
		case MATCH_FALSE:
			vcut(e, k);
			return MATCH_FALSE;
		case MATCH_UNKNOWN:
			r = MATCH_UNKNOWN;
			break;
		default:
			break;
		}
	return r;
}

/* Every true branch counts; an unknown one counts only while the whole
 * is unknown. */
static enum match_tv
eval_any(struct ev *e, const struct node *n)
{
	enum match_tv r = MATCH_FALSE;
	struct mark k;
	size_t nunk = 0;
	struct mark unk[2 * n->nkid];	/* where each unknown branch logged */

	for (size_t i = 0; i < n->nkid; i++) {
		enum match_tv t;

		k = vmark(e);
		if ((t = eval(e, n->kid[i])) == MATCH_FALSE)
			vcut(e, k);
		else if (t == MATCH_TRUE)
			r = MATCH_TRUE;
		else {
			r = r == MATCH_FALSE ? MATCH_UNKNOWN : r;
			unk[nunk++] = k;
			unk[nunk++] = vmark(e);
		}
	}
	while (r == MATCH_TRUE && nunk) {
		nunk -= 2;
		vdrop(e, unk[nunk], unk[nunk + 1]);
	}
	return r;
}

static enum match_tv
eval_not(struct ev *e, const struct node *n)
{
	struct mark k = vmark(e);
	enum match_tv t = eval(e, n->kid[0]);

	vcut(e, k);	/* nothing under "not" counts */
	return t == MATCH_UNKNOWN ? t : tv(t == MATCH_FALSE);
}

static int
eval_flag(const struct node *n, const struct match_mail *m)
{
	int v = n->field == FLAG_NPC ? m->npc : n->field == FLAG_SOLO ? m->solo :
	    n->field == FLAG_AWOX ? m->awox : m->war;

	return v >= 0 && v == n->b;
}

static enum match_tv
eval(struct ev *e, const struct node *n)
{
	const struct match_mail *m = e->m;
	static const size_t place_off[] = { offsetof(struct match_mail, system),
		offsetof(struct match_mail, constellation),
		offsetof(struct match_mail, region) };

	switch (n->op) {
	case C_AND: return eval_and(e, n);
	case C_ANY: return eval_any(e, n);
	case C_NOT: return eval_not(e, n);
	case C_VICTIM: case C_ATTACKER: case C_FINAL: case C_INVOLVED:
		return eval_who(e, n);
	case C_PLACE:
		return tv(ents_has(&n->ents, (const struct match_ent *)
		    ((const char *)m + place_off[n->field])));
	case C_SECURITY: return tv(inr(m->security, n->lo, n->hi));
	case C_SPACE:
		return tv(m->space && (n->spaces >> index_of(m->space, match_spaces) & 1));
	case C_LOCATION: return tv(ents_has_id(&n->ents, m->location));
	case C_NEAR: return eval_near(e, n);
	case C_MEASURE:
		return tv(inr(match_mail_measure(m, n->field), n->lo, n->hi));
	case C_FLAG: return tv(eval_flag(n, m));
	case C_LABELS: return tv(eval_labels(n, m));
	case C_AGE:
		if (e->cx && e->cx->mail_only)
			return MATCH_UNKNOWN;
		return tv(inr(e->cx ? e->cx->now - m->time : NAN, n->lo, n->hi));
	case C_HOUR: return tv(eval_hour(n, m->time));
	case C_JQ:
		return e->cx && e->cx->mail_only ? MATCH_UNKNOWN : eval_jq(e, n);
	default: return MATCH_FALSE;
	}
}

enum match_tv
match_eval(const struct match_cond *c, struct match_mail *m,
    const struct match_ctx *cx, struct match_verdict *v)
{
	struct ev e = { c, m, cx, v };
	enum match_tv r;

	if (v)
		v->len = v->nnear = 0;
	r = eval(&e, c->root);
	if (v)
		v->result = r;
	return r;
}

/* ------------------------------------------------------------- verdict */

const char *
match_kind(const struct match_verdict *v)
{
	int kill = 0;

	for (size_t i = 0; i < v->len; i++) {
		if (v->log[i] == MARK_LOSS)
			return "loss";	/* loss beats kill */
		kill |= v->log[i] == MARK_KILL;
	}
	return kill ? "kill" : "neutral";
}

size_t
match_attackers(const struct match_verdict *v, size_t *out, size_t n)
{
	unsigned char *seen = mem_calloc(n, 1);
	size_t k = 0;

	/* The log repeats an attacker once per test it met: mark, then list. */
	for (size_t i = 0; i < v->len; i++)
		if (v->log[i] >= 0 && (size_t)v->log[i] < n)
			seen[v->log[i]] = 1;
	for (size_t i = 0; i < n; i++)
		if (seen[i])
			out[k++] = i;
	free(seen);
	return k;
}

/* Closer: fewer jumps (a known count beats an unknown one), then fewer
 * light years. */
static int
closer(const struct match_distance *a, const struct match_distance *b)
{
	double ja = a->jumps < 0 ? INFINITY : a->jumps, jb = b->jumps < 0 ? INFINITY : b->jumps;
	double la = a->lightyears < 0 ? INFINITY : a->lightyears;
	double lb = b->lightyears < 0 ? INFINITY : b->lightyears;

	return ja < jb || (ja == jb && la < lb);
}

const struct match_distance *
match_near_found(const struct match_verdict *v)
{
	const struct match_distance *best = NULL;

	for (size_t i = 0; i < v->nnear; i++)
		if (!best || closer(&v->near[i], best))
			best = &v->near[i];
	return best;
}

static json_t *
near_json(const struct match_distance *d)
{
	json_t *sys = d->system ? json_pack("{s:I,s:o}", "id", (json_int_t)d->system,
	    "name", *d->name ? json_string(d->name) : json_null()) : json_null();

	return json_pack("{s:o,s:o,s:o}", "system", sys,
	    "jumps", d->jumps >= 0 ? json_integer(d->jumps) : json_null(),
	    "lightyears", d->lightyears >= 0 ? json_real(d->lightyears) : json_null());
}

json_t *
match_verdict_json(const struct match_verdict *v, const struct match_mail *m)
{
	size_t n = m->nattackers, *idx = mem_calloc(n, sizeof *idx);
	json_t *a = json_array(), *j;
	const struct match_distance *d = match_near_found(v);

	n = match_attackers(v, idx, n);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)idx[i]));
	free(idx);
	j = json_pack("{s:s,s:o}", "kind", match_kind(v), "attackers", a);
	if (v->result == MATCH_UNKNOWN)
		json_object_set_new(j, "pending", json_true());
	if (d)
		json_object_set_new(j, "near", near_json(d));
	return j;
}

void
match_verdict_free(struct match_verdict *v)
{
	free(v->log);
	free(v->near);
	memset(v, 0, sizeof *v);
}
