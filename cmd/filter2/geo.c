/* geo: light years and lazy breadth-first gate walks; see geo.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/mem.h"

/* Systems and gates are allocated one by one, so a pointer to one is a
 * stable callback argument; the tables map ids to them. */
enum { ST_NONE, ST_ASKED, ST_DONE, ST_MISSING };

struct gate {
	struct geo *g;
	int64_t id, from, to;	/* to: 0 until known */
	int state;
};

struct sys {
	struct geo *g;
	int64_t id;
	int state, want_adj, has_pos;
	double pos[3];
	char *name;
	struct gate **gates;
	size_t ngates;
};

/* A breadth-first walk from ref: order[] holds the systems reached, level
 * by level; those of the level being expanded start at order[level]. */
struct walk {
	int64_t ref;
	long radius;		/* every system within radius jumps is in dist */
	int complete;		/* nothing beyond: the walk covers any limit */
	int64_t *order;
	size_t n, cap, level;
	struct hash dist;		/* system id -> jumps + 1 */
	unsigned long blocked_at;	/* geo->changes when it last had to wait */
	int blocked;
};

struct geo {
	geo_get_fn *get;
	void *get_arg;
	geo_keep_fn *keep;
	void *keep_arg;
	struct hash sys, gate, walk;	/* by id (a walk: by its ref) */
	unsigned long changes;
	struct geo_stats st;
};

/* A table entry, created on first sight. */
static struct sys *
sys_get(struct geo *g, int64_t id)
{
	struct sys *s = hash_get_int(&g->sys, (uint64_t)id);

	if (s)
		return s;
	s = mem_calloc(1, sizeof *s);
	s->g = g;
	s->id = id;
	hash_put_int(&g->sys, (uint64_t)id, s);
	return s;
}

static struct gate *
gate_get(struct geo *g, int64_t id)
{
	struct gate *t = hash_get_int(&g->gate, (uint64_t)id);

	if (t)
		return t;
	t = mem_calloc(1, sizeof *t);
	t->g = g;
	t->id = id;
	hash_put_int(&g->gate, (uint64_t)id, t);
	return t;
}

struct geo *
geo_new(geo_get_fn *get, void *arg)
{
	struct geo *g = mem_calloc(1, sizeof *g);

	g->get = get;
	g->get_arg = arg;
	return g;
}

void
geo_set_keep(struct geo *g, geo_keep_fn *keep, void *arg)
{
	g->keep = keep;
	g->keep_arg = arg;
}

void
geo_free(struct geo *g)
{
	struct sys *s;
	struct gate *t;
	struct walk *w;
	size_t i;

	if (!g)
		return;
	for (i = 0; (s = hash_next(&g->sys, &i));) {
		free(s->name);
		free(s->gates);
		free(s);
	}
	for (i = 0; (t = hash_next(&g->gate, &i));)
		free(t);
	for (i = 0; (w = hash_next(&g->walk, &i));) {
		free(w->order);
		hash_free(&w->dist);
		free(w);
	}
	hash_free(&g->sys);
	hash_free(&g->gate);
	hash_free(&g->walk);
	free(g);
}

/* ------------------------------------------------------------ answers */

static void ask_gates(struct sys *s);

/* The answer ESI would give for gate r, which geo inferred: kept, so that
 * a walk in another process (whose answers come in another order) need
 * not ask for it. */
static void
gate_keep(struct geo *g, const struct gate *r, int64_t back_to)
{
	char path[64], json[160];

	if (!g->keep)
		return;
	snprintf(path, sizeof path, "/universe/stargates/%lld", (long long)r->id);
	snprintf(json, sizeof json, "{\"stargate_id\":%lld,\"system_id\":%lld,"
	    "\"destination\":{\"stargate_id\":%lld,\"system_id\":%lld}}", (long long)r->id,
	    (long long)r->from, (long long)back_to, (long long)r->to);
	g->keep(g->keep_arg, path, json);
	g->st.kept++;
}

/* What the gate says also tells the gate at the other end: it sits in the
 * destination system and leads back here.  That halves the gate requests
 * of a walk, since both ends of most gates lie inside it. */
static void
gate_learn(struct gate *t, int64_t to, int64_t back)
{
	struct gate *r;

	t->to = to;
	t->state = to > 0 ? ST_DONE : ST_MISSING;
	if (to <= 0 || back <= 0 || t->from <= 0)
		return;
	r = gate_get(t->g, back);
	if (r->state == ST_DONE)
		return;
	r->from = to;
	r->to = t->from;
	if (r->state == ST_NONE) {	/* asked: esi caches its answer */
		t->g->st.gates_inferred++;
		gate_keep(t->g, r, t->id);
	}
	r->state = ST_DONE;
}

static void
on_gate(void *arg, enum esi_status st, json_t *j)
{
	struct gate *t = arg;
	json_t *d = json_object_get(j, "destination");

	t->g->changes++;
	if (t->state == ST_DONE)
		return;		/* learned from the other end meanwhile */
	if (st != ESI_OK)
		t->g->st.notfound++;
	gate_learn(t, json_integer_value(json_object_get(d, "system_id")),
	    json_integer_value(json_object_get(d, "stargate_id")));
}

static void
sys_take(struct sys *s, json_t *j)
{
	json_t *p = json_object_get(j, "position"), *gs = json_object_get(j, "stargates");
	const char *name = json_string_value(json_object_get(j, "name"));
	size_t i, n = json_array_size(gs);

	if (name && !s->name)
		s->name = mem_strdup(name);
	if (!s->has_pos && json_is_number(json_object_get(p, "x"))) {
		s->pos[0] = json_number_value(json_object_get(p, "x"));
		s->pos[1] = json_number_value(json_object_get(p, "y"));
		s->pos[2] = json_number_value(json_object_get(p, "z"));
		s->has_pos = 1;
	}
	s->gates = mem_realloc(NULL, n * sizeof *s->gates);
	for (i = 0; i < n; i++) {
		struct gate *t = gate_get(s->g, json_integer_value(json_array_get(gs, i)));

		t->from = s->id;
		s->gates[s->ngates++] = t;
	}
}

static void
on_system(void *arg, enum esi_status st, json_t *j)
{
	struct sys *s = arg;

	s->g->changes++;
	if (st != ESI_OK) {
		s->g->st.notfound++;
		s->state = ST_MISSING;
		return;
	}
	sys_take(s, j);
	s->state = ST_DONE;
	if (s->want_adj)
		ask_gates(s);	/* the walk will need them: ask now, not next round */
}

/* ------------------------------------------------------------ questions */

static void
ask_system(struct sys *s)
{
	char path[64];

	if (s->state != ST_NONE)
		return;
	s->state = ST_ASKED;
	s->g->st.systems++;
	snprintf(path, sizeof path, "/universe/systems/%lld", (long long)s->id);
	s->g->get(s->g->get_arg, path, on_system, s);
}

static void
ask_gates(struct sys *s)
{
	char path[64];
	size_t i;

	for (i = 0; i < s->ngates; i++) {
		struct gate *t = s->gates[i];

		if (t->state != ST_NONE)
			continue;
		t->state = ST_ASKED;
		s->g->st.gates++;
		snprintf(path, sizeof path, "/universe/stargates/%lld", (long long)t->id);
		s->g->get(s->g->get_arg, path, on_gate, t);
	}
}

/* 1 when every gate of s leads somewhere known (or nowhere), else ask. */
static int
sys_adjacent_ready(struct sys *s)
{
	size_t i;

	s->want_adj = 1;
	if (s->state == ST_NONE || s->state == ST_ASKED) {
		ask_system(s);
		return 0;
	}
	ask_gates(s);
	for (i = 0; i < s->ngates; i++)
		if (s->gates[i]->state == ST_NONE || s->gates[i]->state == ST_ASKED)
			return 0;
	return 1;
}

/* GEO_OK and the position, GEO_WAIT (asked), or GEO_NONE. */
static enum geo_res
sys_position(struct geo *g, int64_t id, const double **pos)
{
	struct sys *s = sys_get(g, id);

	*pos = s->pos;
	if (s->has_pos)
		return GEO_OK;
	if (s->state == ST_DONE || s->state == ST_MISSING)
		return GEO_NONE;
	ask_system(s);
	return GEO_WAIT;
}

void
geo_set_position(struct geo *g, int64_t id, double x, double y, double z)
{
	struct sys *s = sys_get(g, id);

	if (s->has_pos)
		return;
	s->pos[0] = x;
	s->pos[1] = y;
	s->pos[2] = z;
	s->has_pos = 1;
}

enum geo_res
geo_lightyears(struct geo *g, int64_t a, int64_t b, double *ly)
{
	const double *pa, *pb;
	enum geo_res ra, rb;

	*ly = -1;
	if (a == b) {
		*ly = 0;
		return GEO_OK;
	}
	ra = sys_position(g, a, &pa);	/* both asked at once */
	rb = sys_position(g, b, &pb);
	if (ra == GEO_NONE || rb == GEO_NONE)
		return GEO_NONE;
	if (ra == GEO_WAIT || rb == GEO_WAIT)
		return GEO_WAIT;
	*ly = sqrt((pa[0] - pb[0]) * (pa[0] - pb[0]) + (pa[1] - pb[1]) * (pa[1] - pb[1]) +
	    (pa[2] - pb[2]) * (pa[2] - pb[2])) / GEO_LY;
	return GEO_OK;
}

/* ------------------------------------------------------------ walks */

static struct walk *
walk_get(struct geo *g, int64_t ref)
{
	struct walk *w = hash_get_int(&g->walk, (uint64_t)ref);

	if (w)
		return w;
	w = mem_calloc(1, sizeof *w);
	w->ref = ref;
	w->cap = 16;
	w->order = mem_realloc(NULL, w->cap * sizeof *w->order);
	w->order[w->n++] = ref;
	hash_put_int(&w->dist, (uint64_t)ref, HASH_INT(0 + 1));
	hash_put_int(&g->walk, (uint64_t)ref, w);
	g->st.walks++;
	g->st.reached++;
	return w;
}

static void
walk_add(struct geo *g, struct walk *w, int64_t id, long d)
{
	if (id <= 0 || hash_get_int(&w->dist, (uint64_t)id))
		return;
	if (w->n == w->cap) {
		w->cap *= 2;
		w->order = mem_realloc(w->order, w->cap * sizeof *w->order);
	}
	w->order[w->n++] = id;
	hash_put_int(&w->dist, (uint64_t)id, HASH_INT(d + 1));
	g->st.reached++;
}

/* Expand the walk level by level up to limit; GEO_WAIT while a level's
 * adjacency is being fetched (all of it asked at once). */
static enum geo_res
walk_extend(struct geo *g, struct walk *w, long limit)
{
	while (!w->complete && w->radius < limit) {
		size_t i, j, end = w->n;
		int ready = 1;

		for (i = w->level; i < end; i++)
			ready &= sys_adjacent_ready(sys_get(g, w->order[i]));
		if (!ready) {
			w->blocked = 1;
			w->blocked_at = g->changes;
			return GEO_WAIT;
		}
		for (i = w->level; i < end; i++) {
			struct sys *s = sys_get(g, w->order[i]);

			for (j = 0; j < s->ngates; j++)
				walk_add(g, w, s->gates[j]->to, w->radius + 1);
		}
		w->level = end;
		w->radius++;
		w->complete = w->n == end;
	}
	w->blocked = 0;
	return GEO_OK;
}

enum geo_res
geo_jumps(struct geo *g, int64_t ref, int64_t sys, long limit, long *jumps)
{
	struct walk *w;
	long d;

	*jumps = -1;
	if (ref == sys) {
		*jumps = 0;
		return GEO_OK;
	}
	w = walk_get(g, ref);
	d = (long)HASH_UINT(hash_get_int(&w->dist, (uint64_t)sys)) - 1;
	if (d < 0 && !w->complete && w->radius < limit) {
		/* Nothing new since it last had to wait: no need to rescan. */
		if (w->blocked && w->blocked_at == g->changes)
			return GEO_WAIT;
		if (walk_extend(g, w, limit) == GEO_WAIT)
			return GEO_WAIT;
		d = (long)HASH_UINT(hash_get_int(&w->dist, (uint64_t)sys)) - 1;
	}
	if (d >= 0 && d <= limit)
		*jumps = d;
	return GEO_OK;
}

/* The mail carries its system's position: no need to ask for it. */
static void
mail_position(struct geo *g, const struct match_mail *m)
{
	json_t *p = json_object_get(json_object_get(m->json, "system"), "position");
	json_t *x = json_object_get(p, "x"), *y = json_object_get(p, "y"),
	       *z = json_object_get(p, "z");

	if (m->system.id > 0 && json_is_number(x) && json_is_number(y) && json_is_number(z))
		geo_set_position(g, m->system.id, json_number_value(x),
		    json_number_value(y), json_number_value(z));
}

enum match_tv
geo_near(struct geo *g, int64_t at, const char *name, const struct match_mail *m,
    const struct match_near *ref, struct match_distance *d)
{
	int64_t sys = m->system.id;
	enum match_tv t = MATCH_TRUE;
	enum geo_res r;
	double ly;

	mail_position(g, m);
	d->system = at;
	if (ref->jumps >= 0) {
		if (geo_jumps(g, at, sys, ref->jumps, &d->jumps) == GEO_WAIT)
			t = MATCH_UNKNOWN;
		else if (d->jumps < 0)
			return MATCH_FALSE;
	} else if (at == sys) {
		d->jumps = 0;
	}
	/* Asked even without a limit, to report it: a walk has fetched the
	 * reference already, and the mail gave its own position. */
	if ((r = geo_lightyears(g, at, sys, &ly)) == GEO_OK)
		d->lightyears = ly;
	if (ref->lightyears >= 0 && (r == GEO_NONE || (r == GEO_OK && ly > ref->lightyears)))
		return MATCH_FALSE;
	if (ref->lightyears >= 0 && r == GEO_WAIT)
		t = MATCH_UNKNOWN;
	if (geo_name(g, at))
		name = geo_name(g, at);
	else if (at == sys && m->system.name)
		name = m->system.name;
	snprintf(d->name, sizeof d->name, "%s", name ? name : "");
	return t;
}

const char *
geo_name(const struct geo *g, int64_t id)
{
	const struct sys *s = hash_get_int(&g->sys, (uint64_t)id);

	return s ? s->name : NULL;
}

unsigned long
geo_changes(const struct geo *g)
{
	return g->changes;
}

void
geo_stats(const struct geo *g, struct geo_stats *s)
{
	*s = g->st;
}
