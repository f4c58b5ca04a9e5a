/* match-guard: the guards of a condition (atoms of which one must be in
 * a mail for it to hold) and the keys of a mail, for the fanout's index.
 * Part of the match module. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/mem.h"
#include "match/match-int.h"

/* -------------------------------------------------------------- guards */

/* Key codes: what an id or name is (party keys: role * 16 + field). */
enum { K_VICTIM = 1 << 4, K_ATTACKER = 2 << 4, K_PLACE = 0x100,
	K_SPACE = 0x200, K_LOCATION = 0x300, K_LABEL = 0x400, K_WAR = 0x500,
	K_HOUR = 0x600 };

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
key_id(unsigned code, int64_t id)
{
	return mix(mix((uint64_t)id) ^ ((uint64_t)code << 1));
}

/* Names fold ASCII case as the evaluator does; labels (fold 0) do not.
 * FNV-1a of the folded bytes, folded a buffer at a time. */
static uint64_t
key_name(unsigned code, const char *s, int fold)
{
	uint64_t h = HASH_FNV_BASIS;
	char b[64];
	size_t n = 0;

	for (; *s; s++) {
		b[n++] = fold && *s >= 'A' && *s <= 'Z' ? *s + 32 : *s;
		if (n == sizeof b) {
			h = hash_fnv1a_from(h, b, n);
			n = 0;
		}
	}
	h = hash_fnv1a_from(h, b, n);
	return mix(h ^ ((uint64_t)code << 1 | 1));
}

struct gs {
	struct match_atom *a;
	size_t n, cap;
	double cost;
};

static void
gs_add(struct gs *g, struct match_atom at, double cost)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->a = mem_realloc(g->a, g->cap * sizeof *g->a);
	}
	g->a[g->n++] = at;
	g->cost += cost;
}

static void
gs_key(struct gs *g, uint64_t key, double cost)
{
	gs_add(g, (struct match_atom){ .measure = -1, .key = key }, cost);
}

static void
gs_append(struct gs *g, struct gs *o)
{
	for (size_t i = 0; i < o->n; i++)
		gs_add(g, o->a[i], 0);
	g->cost += o->cost;
	free(o->a);
}

static void
gs_ents(struct gs *g, unsigned code, const struct ents *e, double cost)
{
	for (size_t i = 0; i < e->nid; i++)
		gs_key(g, key_id(code, e->id[i]), cost);
	for (size_t i = 0; i < e->nname; i++)
		gs_key(g, key_name(code, e->name[i], 1), cost);
}

typedef int guard_fn(const struct node *, unsigned, struct gs *);

/* AND: the kid with the cheapest guard.  ANY: the union of every kid's
 * guard, or none if one kid has none. */
static int
guard_kids(const struct node *n, unsigned roles, struct gs *out, guard_fn *fn, int any)
{
	int have = 0;

	for (size_t i = 0; i < n->nkid; i++) {
		struct gs g = { 0 };
		int ok = fn(n->kid[i], roles, &g);

		if (any && !ok) {
			free(g.a);
			free(out->a);
			*out = (struct gs){ 0 };
			return 0;
		}
		if (any)
			gs_append(out, &g);
		else if (ok && (!have || g.cost < out->cost)) {
			free(out->a);
			*out = g;
		} else
			free(g.a);
		have |= ok;
	}
	return any ? n->nkid > 0 : have;
}

/* The share of mails with an entity of this field (a rough guess). */
static const double field_cost[MATCH_NFIELDS] = { .002, .005, .01, .03,
	.01, .04, .3, .02, .05, .3 };

static int
guard_party(const struct node *n, unsigned roles, struct gs *g)
{
	switch (n->op) {
	case P_AND: return guard_kids(n, roles, g, guard_party, 0);
	case P_ANY: return guard_kids(n, roles, g, guard_party, 1);
	case P_ENT:
		if (roles & K_VICTIM)
			gs_ents(g, K_VICTIM + n->field, &n->ents, field_cost[n->field]);
		if (roles & K_ATTACKER)
			gs_ents(g, K_ATTACKER + n->field, &n->ents, 3 * field_cost[n->field]);
		return 1;
	default: return 0;
	}
}

static int
guard_measure(const struct node *n, int measure, struct gs *g)
{
	double cost = .5;

	if (measure <= MATCH_M_DESTROYED && n->lo > 0)
		cost = 2e7 / n->lo;
	else if (measure == MATCH_M_ATTACKERS && n->lo > 1)
		cost = 2 / n->lo;
	gs_add(g, (struct match_atom){ .measure = measure, .lo = n->lo, .hi = n->hi },
	    cost < .001 ? .001 : cost > 1 ? 1 : cost);
	return 1;
}

static int
guard_attacker(const struct node *n, struct gs *g)
{
	/* A share or count that zero satisfies holds with no such attacker. */
	if ((n->has_count && n->clo <= 0) || (n->has_share && n->slo <= 0))
		return 0;
	return guard_party(n->kid[0], K_ATTACKER, g);
}

static int
guard_labels(const struct node *n, struct gs *g)
{
	if (n->all.n) {
		gs_key(g, key_name(K_LABEL, n->all.v[0], 0), .1);
		return 1;
	}
	for (size_t i = 0; i < n->any.n; i++)
		gs_key(g, key_name(K_LABEL, n->any.v[i], 0), .1);
	return n->any.n > 0;
}

static int
guard_cond(const struct node *n, unsigned roles, struct gs *g)
{
	static const double place_cost[] = { .001, .005, .02 };

	(void)roles;
	switch (n->op) {
	case C_AND: return guard_kids(n, 0, g, guard_cond, 0);
	case C_ANY: return guard_kids(n, 0, g, guard_cond, 1);
	case C_VICTIM: return guard_party(n->kid[0], K_VICTIM, g);
	case C_FINAL: return guard_party(n->kid[0], K_ATTACKER, g);
	case C_INVOLVED: return guard_party(n->kid[0], K_VICTIM | K_ATTACKER, g);
	case C_ATTACKER: return guard_attacker(n, g);
	case C_PLACE:
		gs_ents(g, K_PLACE + n->field, &n->ents, place_cost[n->field]);
		return 1;
	case C_LOCATION:
		gs_ents(g, K_LOCATION, &n->ents, .001);
		return 1;
	case C_SPACE:
		for (int s = 0; match_spaces[s]; s++)
			if (n->spaces >> s & 1)
				gs_key(g, key_id(K_SPACE + s, 1), .25);
		return 1;
	case C_MEASURE: return guard_measure(n, n->field, g);
	case C_SECURITY: return guard_measure(n, MATCH_M_SECURITY, g);
	case C_LABELS: return guard_labels(n, g);
	case C_FLAG:
		if (n->field != FLAG_WAR || !n->b)
			return 0;
		gs_key(g, key_id(K_WAR, 1), .02);
		return 1;
	case C_HOUR:
		for (long h = (long)n->lo; ; h = (h + 1) % 24) {
			gs_key(g, key_id(K_HOUR + h, 1), 1 / 24.0);
			if (h == (long)n->hi)
				break;
		}
		return 1;
	default: return 0;
	}
}

int
match_guard(const struct match_cond *c, struct match_guard *g)
{
	struct gs s = { 0 };

	if (!guard_cond(c->root, 0, &s)) {
		free(s.a);
		*g = (struct match_guard){ 0 };
		return 0;
	}
	*g = (struct match_guard){ s.a, s.n, s.cost > 1 ? 1 : s.cost };
	return 1;
}

static void
party_keys_of(const struct match_party *p, unsigned role,
    void (*fn)(void *, uint64_t), void *arg)
{
	for (int f = 0; f < MATCH_NFIELDS; f++) {
		const struct match_ent *e = &p->ent[f];

		if (e->id)
			fn(arg, key_id(role + f, e->id));
		if (e->name)
			fn(arg, key_name(role + f, e->name, 1));
	}
}

static void
place_key(const struct match_ent *e, unsigned code,
    void (*fn)(void *, uint64_t), void *arg)
{
	if (e->id)
		fn(arg, key_id(code, e->id));
	if (e->name)
		fn(arg, key_name(code, e->name, 1));
}

void
match_mail_keys(const struct match_mail *m,
    void (*fn)(void *arg, uint64_t key), void *arg)
{
	size_t i;

	party_keys_of(&m->victim, K_VICTIM, fn, arg);
	for (i = 0; i < m->nattackers; i++)
		party_keys_of(&m->attackers[i], K_ATTACKER, fn, arg);
	place_key(&m->system, K_PLACE + PLACE_SYSTEM, fn, arg);
	place_key(&m->constellation, K_PLACE + PLACE_CONSTELLATION, fn, arg);
	place_key(&m->region, K_PLACE + PLACE_REGION, fn, arg);
	if (m->space)
		fn(arg, key_id(K_SPACE + index_of(m->space, match_spaces), 1));
	if (m->location)
		fn(arg, key_id(K_LOCATION, m->location));
	for (i = 0; i < m->nlabels; i++)
		fn(arg, key_name(K_LABEL, m->labels[i], 0));
	if (m->war)
		fn(arg, key_id(K_WAR, 1));
	if (!isnan(m->time))
		fn(arg, key_id(K_HOUR + hour_of(m->time), 1));
}
