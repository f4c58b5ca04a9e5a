/* match-text: match_mail_parse, a mail prepared straight from its line of
 * text, the same as match_mail_init would from jansson.  Part of the match
 * module. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "json/scan.h"
#include "match/match-int.h"

/* ---------------------------------------------------- reading mail text */

/* The mail straight from its text, for the two stages that see every mail:
 * jansson would build an object per entity (hundreds per mail) only for us
 * to read a few fields.  What is valid is the scanner's (json/scan.h), the
 * definition ndjson_parse and the pair reader share: an integer beyond 64
 * bits is a real here as in the tree.  A field of the wrong type is
 * missing, as in match_mail_init. */
struct rd {
	struct scan s;
	struct match_mail *m;
	size_t alen;		/* arena in use: unescaped strings */
	int is_mail, has_victim, has_stream;
	long fb;		/* the mail's "final_blow", -1 none */
	const char *space, *time;
};

enum { T_NULL, T_FALSE, T_TRUE, T_INT, T_REAL, T_STR, T_OTHER };

struct val {
	int t;
	int64_t i;
	double d;
	const char *s;		/* T_STR, when asked for */
};

/* Does a value beginning with c come next? */
static int
at(const struct rd *r, char c)
{
	return r->s.p < r->s.end && *r->s.p == c;
}

/* A string, checked, unescaped into the arena (NUL-terminated); its start,
 * or NULL when it is not a valid string.  Unescaped text is never longer
 * than its JSON, so the arena (the size of the text) has room for every
 * string of the mail.  A \u0000 ends it, as jansson's C string ends. */
static const char *
rd_str(struct rd *r, int key)
{
	char *s = r->m->arena + r->alen;
	size_t n;

	if (!scan_string(&r->s, key, s, &n))
		return NULL;
	r->alen += n + 1;
	return s;
}

/* A value we do not read: checked, nothing copied. */
static int
rd_skip(struct rd *r)
{
	return scan_value(&r->s);
}

/* The members of an object; fn reads (or skips) each value. */
static int
rd_obj(struct rd *r, int (*fn)(struct rd *, const char *, void *), void *arg)
{
	int more;

	if (!scan_open(&r->s, '{'))
		return 0;
	for (size_t i = 0; (more = scan_next(&r->s, '}', i)) > 0; i++) {
		size_t mark = r->alen, n;
		const char *k;
		char key[32];	/* every key we read is shorter */

		if (!(k = rd_str(r, 1)) || !scan_colon(&r->s))
			return 0;
		n = strlen(k);
		memcpy(key, n < sizeof key ? k : "\x01", n < sizeof key ? n + 1 : 2);
		r->alen = mark;
		if (!fn(r, key, arg))
			return 0;
	}
	return more == 0;
}

static int
rd_arr(struct rd *r, int (*fn)(struct rd *, size_t, void *), void *arg)
{
	int more;

	if (!scan_open(&r->s, '['))
		return 0;
	for (size_t i = 0; (more = scan_next(&r->s, ']', i)) > 0; i++)
		if (!fn(r, i, arg))
			return 0;
	return more == 0;
}

/* Any value; a scalar's value in *v (T_OTHER for objects and arrays). */
static int
rd_val(struct rd *r, struct val *v)
{
	struct scan_num n;
	int w;

	v->t = T_OTHER;
	if (at(r, '{') || at(r, '['))
		return scan_value(&r->s);
	if (at(r, '"')) {
		v->t = T_STR;
		return (v->s = rd_str(r, 0)) != NULL;
	}
	if (at(r, 't') || at(r, 'f') || at(r, 'n')) {
		if (!scan_word(&r->s, &w))
			return 0;
		v->t = w < 0 ? T_NULL : w ? T_TRUE : T_FALSE;
		return 1;
	}
	if (!scan_number(&r->s, &n))
		return 0;
	v->t = n.real ? T_REAL : T_INT;
	v->i = n.i;
	v->d = n.d;
	return 1;
}

static double
num_of(const struct val *v)
{
	return v->t == T_INT || v->t == T_REAL ? v->d : NAN;
}

/* {"id","name"}: what get_ent reads. */
static int
ent_member(struct rd *r, const char *k, void *arg)
{
	struct match_ent *e = arg;
	struct val v;

	if (strcmp(k, "id") && strcmp(k, "name"))
		return rd_skip(r);
	if (!rd_val(r, &v))
		return 0;
	if (*k == 'i')
		e->id = v.t == T_INT ? v.i : 0;
	else
		e->name = v.t == T_STR ? v.s : NULL;
	return 1;
}

static int
rd_ent(struct rd *r, struct match_ent *e)
{
	*e = (struct match_ent){ 0, NULL };
	if (at(r, '{')) {
		if (!rd_obj(r, ent_member, e))
			return 0;
		if (!e->id)
			e->name = NULL;
		return 1;
	}
	return rd_skip(r);
}

static int
hull_member(struct rd *r, const char *k, void *arg)
{
	struct match_ent *e = arg;

	if (!strcmp(k, "group"))
		return rd_ent(r, &e[1]);
	if (!strcmp(k, "category"))
		return rd_ent(r, &e[2]);
	return ent_member(r, k, e);
}

static int
rd_hull(struct rd *r, struct match_ent *e)
{
	e[0] = e[1] = e[2] = (struct match_ent){ 0, NULL };
	if (at(r, '{')) {
		if (!rd_obj(r, hull_member, e))
			return 0;
		if (!e[0].id)
			e[0].name = NULL;
		return 1;
	}
	return rd_skip(r);
}

struct party_rd {
	struct match_party *p;
	int victim, final_blow;
};

static int
party_member(struct rd *r, const char *k, void *arg)
{
	struct party_rd *pr = arg;
	struct match_party *p = pr->p;
	int f = match_party_field(k);
	struct val v;

	if (f >= MATCH_CHARACTER && f <= MATCH_FACTION)
		return rd_ent(r, &p->ent[f]);
	if (f == MATCH_SHIP || (f == MATCH_WEAPON && !pr->victim))
		return rd_hull(r, &p->ent[f]);
	if (!strcmp(k, pr->victim ? "damage_taken" : "damage_done") ||
	    (!pr->victim && (!strcmp(k, "security_status") || !strcmp(k, "final_blow")))) {
		if (!rd_val(r, &v))
			return 0;
		if (*k == 'd')
			p->damage = num_of(&v);
		else if (*k == 's')
			p->security_status = num_of(&v);
		else
			pr->final_blow = v.t == T_TRUE;
		return 1;
	}
	return rd_skip(r);
}

/* A party; anything but an object is a party with nothing known. */
static int
rd_party(struct rd *r, struct match_party *p, int victim, int *final_blow)
{
	struct party_rd pr = { p, victim, 0 };

	memset(p, 0, sizeof *p);
	p->damage = p->security_status = NAN;
	if (at(r, '{')) {
		if (!rd_obj(r, party_member, &pr))
			return 0;
	} else if (!rd_skip(r))
		return 0;
	p->npc = match_party_npc(p);
	if (final_blow)
		*final_blow = pr.final_blow;
	return 1;
}

static int
attacker_item(struct rd *r, size_t i, void *arg)
{
	struct match_mail *m = r->m;
	int fb;

	(void)arg;
	if (i >= m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->attackers = mem_realloc(m->attackers, m->cap * sizeof *m->attackers);
	}
	if (!rd_party(r, &m->attackers[i], 0, &fb))
		return 0;
	m->nattackers = i + 1;
	if (fb && m->final_blow < 0)
		m->final_blow = (long)i;
	return 1;
}

static int
rd_attackers(struct rd *r)
{
	r->m->nattackers = 0;
	r->m->final_blow = -1;
	if (at(r, '['))
		return rd_arr(r, attacker_item, NULL);
	return rd_skip(r);
}

static int
system_member(struct rd *r, const char *k, void *arg)
{
	struct match_mail *m = r->m;
	struct val v;

	(void)arg;
	if (!strcmp(k, "constellation"))
		return rd_ent(r, &m->constellation);
	if (!strcmp(k, "region"))
		return rd_ent(r, &m->region);
	if (strcmp(k, "security") && strcmp(k, "space"))
		return ent_member(r, k, &m->system);
	if (!rd_val(r, &v))
		return 0;
	if (!strcmp(k, "security"))
		m->security = num_of(&v);
	else
		r->space = v.t == T_STR ? v.s : NULL;
	return 1;
}

static int
rd_system(struct rd *r)
{
	struct match_mail *m = r->m;

	m->system = m->constellation = m->region = (struct match_ent){ 0, NULL };
	m->security = NAN;
	r->space = NULL;
	if (at(r, '{')) {
		if (!rd_obj(r, system_member, NULL))
			return 0;
		if (!m->system.id)
			m->system.name = NULL;
		return 1;
	}
	return rd_skip(r);
}

static int
value_member(struct rd *r, const char *k, void *arg)
{
	static const char *const values[] = { "total", "fitted", "dropped", "destroyed", NULL };
	int i = index_of(k, values);
	struct val v;

	(void)arg;
	if (i < 0)
		return rd_skip(r);
	if (!rd_val(r, &v))
		return 0;
	r->m->value[i] = num_of(&v);
	return 1;
}

static int
rd_value(struct rd *r)
{
	for (int i = 0; i < 4; i++)
		r->m->value[i] = NAN;
	if (at(r, '{'))
		return rd_obj(r, value_member, NULL);
	return rd_skip(r);
}

static int
label_item(struct rd *r, size_t i, void *arg)
{
	struct val v;

	(void)i, (void)arg;
	if (!rd_val(r, &v))
		return 0;
	if (v.t == T_STR)
		match_add_label(r->m, v.s);
	return 1;
}

static int
rd_labels(struct rd *r)
{
	match_no_labels(r->m);
	if (at(r, '[')) {
		match_add_label(r->m, NULL);
		return rd_arr(r, label_item, NULL);
	}
	return rd_skip(r);
}

/* The scalars at the top of a mail. */
static void
top_scalar(struct rd *r, const char *k, const struct val *v)
{
	struct match_mail *m = r->m;
	int flag = v->t == T_TRUE ? 1 : v->t == T_FALSE ? 0 : -1;

	if (!strcmp(k, "killmail_id"))
		m->killmail_id = v->t == T_INT ? v->i : 0;
	else if (!strcmp(k, "time"))
		r->time = v->t == T_STR ? v->s : NULL;
	else if (!strcmp(k, "location_id"))
		m->location = v->t == T_INT ? v->i : 0;
	else if (!strcmp(k, "final_blow"))
		r->fb = v->t == T_INT && v->i >= 0 ? (long)v->i : -1;
	else if (!strcmp(k, "points"))
		m->points = num_of(v);
	else if (!strcmp(k, "npc"))
		m->npc = flag;
	else if (!strcmp(k, "solo"))
		m->solo = flag;
	else if (!strcmp(k, "awox"))
		m->awox = flag;
	else if (!strcmp(k, "war_id"))
		m->war = v->t != T_NULL && !(v->t == T_INT && !v->i);
}

static int
top_member(struct rd *r, const char *k, void *arg)
{
	struct val v;

	(void)arg;
	r->has_stream |= !strcmp(k, "stream");
	if (!strcmp(k, "victim")) {
		r->has_victim = at(r, '{');
		return rd_party(r, &r->m->victim, 1, NULL);
	}
	if (!strcmp(k, "attackers"))
		return rd_attackers(r);
	if (!strcmp(k, "system"))
		return rd_system(r);
	if (!strcmp(k, "value"))
		return rd_value(r);
	if (!strcmp(k, "labels"))
		return rd_labels(r);
	r->is_mail |= !strcmp(k, "killmail_id");
	if (!rd_val(r, &v))
		return 0;
	top_scalar(r, k, &v);
	return 1;
}

/* What match_mail_init leaves in a mail that lacks every field. */
static void
mail_clear(struct match_mail *m)
{
	struct match_party none;

	memset(&none, 0, sizeof none);
	none.damage = none.security_status = NAN;
	none.npc = match_party_npc(&none);
	m->killmail_id = 0;
	m->system = m->constellation = m->region = (struct match_ent){ 0, NULL };
	m->security = m->points = NAN;
	m->location = 0;
	m->victim = none;
	m->nattackers = 0;
	m->final_blow = -1;
	for (int i = 0; i < 4; i++)
		m->value[i] = NAN;
	m->npc = m->solo = m->awox = -1;
	m->war = 0;
	match_no_labels(m);
}

int
match_mail_parse(struct match_mail *m, const char *text, size_t len)
{
	struct rd r = { .m = m, .fb = -1 };

	match_mail_jq_free(m);
	if (len + 1 > m->caparena) {
		m->caparena = len + 1;
		free(m->arena);
		m->arena = mem_calloc(1, m->caparena);
	}
	m->json = NULL;
	m->text = text;
	m->len = len;
	mail_clear(m);
	scan_init(&r.s, text, len, 0);
	scan_ws(&r.s);
	if (!rd_obj(&r, top_member, NULL) || !scan_end(&r.s)) {
		m->why = r.s.why;
		m->why_col = (size_t)(r.s.at - text) + 1;
		return -1;
	}
	m->time = match_time_str(r.time);
	if (r.fb >= 0 && (size_t)r.fb < m->nattackers)
		m->final_blow = r.fb;
	m->space = match_space_of(r.space, m);
	return r.is_mail && r.has_victim && !r.has_stream;
}
