/* match: compile STREAMS.md conditions into trees, prepare mails, evaluate
 * three-valued, record the verdict, derive guards for the fanout's index.
 * See match.h for the contract. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "log.h"
#include "mem.h"
#include "match.h"

enum op {
	/* condition level */
	C_AND, C_ANY, C_NOT,
	C_VICTIM, C_ATTACKER, C_FINAL, C_INVOLVED,
	C_PLACE, C_SECURITY, C_SPACE, C_LOCATION, C_NEAR,
	C_MEASURE, C_FLAG, C_LABELS, C_AGE, C_HOUR, C_JQ,
	/* party level */
	P_AND, P_ANY, P_NOT, P_ENT, P_DAMAGE, P_SECSTATUS, P_NPC,
};

enum { PLACE_SYSTEM, PLACE_CONSTELLATION, PLACE_REGION };
enum { FLAG_NPC, FLAG_SOLO, FLAG_AWOX, FLAG_WAR };
enum role { R_VICTIM = 1, R_ATTACKER, R_FINAL, R_INVOLVED };

/* Entity lists: sorted ids, sorted lowercased names. */
struct ents {
	int64_t *id;
	size_t nid;
	char **name;
	size_t nname;
};

struct strs {
	char **v;
	size_t n;
};

struct node {
	enum op op;
	int field;			/* which place, measure, flag, party field */
	int rank;			/* evaluation order inside an AND */
	struct node **kid;
	size_t nkid;
	double lo, hi;			/* ranges (inclusive), hour from/to */
	int b;				/* flags */
	struct ents ents;		/* entity lists, locations */
	unsigned spaces;		/* bit per space class */
	struct strs any, all, none;	/* labels */
	int has_count, has_share;	/* attacker */
	double clo, chi, slo, shi;
	struct match_near *near;
	size_t nnear;
	jq_state *jq;
	char *path;			/* where the jq program is, for warnings */
};

struct match_cond {
	struct node *root;
	const struct match_near **nears;
	size_t nnears;
	char *stream_id;		/* for warnings */
	jv stream;			/* .stream for jq; valid when has_stream */
	int has_stream;
};

static const char *const spaces[] = { "highsec", "lowsec", "nullsec",
	"wormhole", "abyssal", "pochven", NULL };

/* ------------------------------------------------------------ helpers */

static char *
lowerdup(const char *s)
{
	char *d = mem_strdup(s);

	for (char *p = d; *p; p++)
		*p = tolower((unsigned char)*p);
	return d;
}

/* ASCII case-insensitive order (names); other bytes compare exactly. */
static int
ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;

		x += (x >= 'A' && x <= 'Z') ? 32 : 0;
		y += (y >= 'A' && y <= 'Z') ? 32 : 0;
		if (x != y || !x)
			return x - y;
	}
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
inr(double x, double lo, double hi)
{
	return !isnan(x) && x >= lo && x <= hi;
}

static int
ents_has_id(const struct ents *e, int64_t id)
{
	return id && e->nid && bsearch(&id, e->id, e->nid, sizeof *e->id, cmp_id);
}

static int
ents_has(const struct ents *e, const struct match_ent *x)
{
	size_t lo = 0, hi = e->nname;

	if (ents_has_id(e, x->id))
		return 1;
	if (!x->name)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = ascii_casecmp(x->name, e->name[mid]);

		if (!c)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static int
index_of(const char *k, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(k, list[i]))
			return i;
	return -1;
}

/* Damerau-Levenshtein (optimal string alignment), for "did you mean". */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[40][40];

	if (la > 38 || lb > 38)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t c = tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]), v = d[i - 1][j - 1] + c;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

const char *
match_nearest(const char *word, const char *const *valid)
{
	const char *best = valid[0];
	size_t bd = (size_t)-1;

	for (; *valid; valid++) {
		size_t d = distance(word, *valid);

		if (d < bd) {
			bd = d;
			best = *valid;
		}
	}
	return best;
}

/* ------------------------------------------------------------ compiling */

struct cc {
	match_err_fn *err;
	void *arg;
	char path[1024];
	size_t plen;
	int nerr;
	struct match_cond *c;
};

__attribute__((format(printf, 2, 3)))
static void
fail(struct cc *cc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cc->nerr++;
	if (cc->err)
		cc->err(cc->arg, cc->path, msg);
}

/* Extend the path by a key (".key", or ["key"] when not a plain word);
 * returns the old length for pop(). */
static size_t
push_key(struct cc *cc, const char *k)
{
	size_t old = cc->plen, room = sizeof cc->path - old;
	int plain = *k && strspn(k, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(k);
	int n = snprintf(cc->path + old, room, plain ? ".%s" : "[\"%s\"]", k);

	cc->plen = (size_t)n < room ? old + n : sizeof cc->path - 1;
	return old;
}

static size_t
push_index(struct cc *cc, size_t i)
{
	size_t old = cc->plen, room = sizeof cc->path - old;
	int n = snprintf(cc->path + old, room, "[%zu]", i);

	cc->plen = (size_t)n < room ? old + n : sizeof cc->path - 1;
	return old;
}

static void
pop(struct cc *cc, size_t old)
{
	cc->plen = old;
	cc->path[old] = 0;
}

static void
unknown_key(struct cc *cc, const char *k, const char *const *valid)
{
	size_t o = push_key(cc, k);

	fail(cc, "unknown key (did you mean \"%s\"?)", match_nearest(k, valid));
	pop(cc, o);
}

static struct node *
node_new(enum op op, int field)
{
	struct node *n = mem_calloc(1, sizeof *n);

	n->op = op;
	n->field = field;
	n->lo = -INFINITY;
	n->hi = INFINITY;
	return n;
}

static void
add_kid(struct node *n, struct node *k)
{
	if (!k)
		return;
	n->kid = mem_realloc(n->kid, (n->nkid + 1) * sizeof *n->kid);
	n->kid[n->nkid++] = k;
}

static void
node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkid; i++)
		node_free(n->kid[i]);
	free(n->kid);
	free(n->ents.id);
	for (size_t i = 0; i < n->ents.nname; i++)
		free(n->ents.name[i]);
	free(n->ents.name);
	for (struct strs *s = &n->any; s <= &n->none; s++) {
		for (size_t i = 0; i < s->n; i++)
			free(s->v[i]);
		free(s->v);
	}
	for (size_t i = 0; i < n->nnear; i++)
		free((char *)n->near[i].name);
	free(n->near);
	if (n->jq)
		jq_teardown(&n->jq);
	free(n->path);
	free(n);
}

/* A non-empty array, or an error; the caller then walks it. */
static int
want_list(struct cc *cc, const json_t *j, const char *what)
{
	if (!json_is_array(j)) {
		fail(cc, "expected a list of %s", what);
		return 0;
	}
	if (!json_array_size(j)) {
		fail(cc, "empty list (it would never match)");
		return 0;
	}
	return 1;
}

static int
want_bool(struct cc *cc, const json_t *j, int *b)
{
	if (!json_is_boolean(j)) {
		fail(cc, "expected true or false");
		return 0;
	}
	*b = json_is_true(j);
	return 1;
}

static void
ents_add_id(struct ents *e, int64_t id)
{
	e->id = mem_realloc(e->id, (e->nid + 1) * sizeof *e->id);
	e->id[e->nid++] = id;
}

static void
ents_add_name(struct ents *e, const char *name)
{
	e->name = mem_realloc(e->name, (e->nname + 1) * sizeof *e->name);
	e->name[e->nname++] = lowerdup(name);
}

static void
ents_sort(struct ents *e)
{
	if (e->nid)
		qsort(e->id, e->nid, sizeof *e->id, cmp_id);
	if (e->nname)
		qsort(e->name, e->nname, sizeof *e->name, cmp_str);
}

/* An entity list: ids (numbers) and names (strings), mixed.  Locations
 * (names_ok 0) take ids only. */
static int
compile_ents(struct cc *cc, const json_t *j, struct ents *e, int names_ok)
{
	size_t i, o;
	json_t *v;
	int ok = want_list(cc, j, names_ok ? "ids and names" : "ids");
	const json_t *list = ok ? j : NULL;

	json_array_foreach(list, i, v) {
		o = push_index(cc, i);
		if (json_is_integer(v) && json_integer_value(v) > 0)
			ents_add_id(e, json_integer_value(v));
		else if (names_ok && json_is_string(v) && json_string_length(v))
			ents_add_name(e, json_string_value(v));
		else if (names_ok) {
			fail(cc, "expected an id (a positive whole number) or a name (a string)");
			ok = 0;
		} else {
			fail(cc, "expected an id (a positive whole number)");
			ok = 0;
		}
		pop(cc, o);
	}
	ents_sort(e);
	return ok;
}

/* The value of a range end: a number, or for ages a duration. */
static int
range_end(struct cc *cc, const json_t *v, int durations, double *d)
{
	if (json_is_number(v)) {
		*d = json_number_value(v);
		return 1;
	}
	if (durations && json_is_string(v) && match_duration(v, d) == 0)
		return 1;
	fail(cc, durations ? "expected a duration (seconds, or \"90s\", \"30m\", "
	    "\"2h\", \"7d\")" : "expected a number");
	return 0;
}

enum { RANGE_ANY, RANGE_DURATION, RANGE_SHARE, RANGE_COUNT };

/* {"min": x, "max": y}, both inclusive, both optional. */
static int
compile_range(struct cc *cc, const json_t *j, int kind, double *lo, double *hi)
{
	static const char *const keys[] = { "min", "max", NULL };
	const char *k;
	json_t *v;
	int ok = 1;

	*lo = -INFINITY;
	*hi = INFINITY;
	if (!json_is_object(j)) {
		fail(cc, "expected a range {\"min\": .., \"max\": ..}");
		return 0;
	}
	json_object_foreach((json_t *)j, k, v) {
		size_t o;

		if (*k == '_')
			continue;
		if (strcmp(k, "min") && strcmp(k, "max")) {
			unknown_key(cc, k, keys);
			ok = 0;
			continue;
		}
		o = push_key(cc, k);
		if (!range_end(cc, v, kind == RANGE_DURATION, *k == 'm' && k[1] == 'i' ? lo : hi))
			ok = 0;
		else if (kind == RANGE_SHARE && !inr(k[1] == 'i' ? *lo : *hi, 0, 1))
			ok = 0, fail(cc, "a share is between 0 and 1");
		else if (kind == RANGE_COUNT && (k[1] == 'i' ? *lo : *hi) < 0)
			ok = 0, fail(cc, "a count is not negative");
		pop(cc, o);
	}
	if (ok && *lo > *hi)
		ok = 0, fail(cc, "min is greater than max");
	return ok;
}

static struct node *
compile_range_node(struct cc *cc, const json_t *v, enum op op, int field, int kind)
{
	struct node *n = node_new(op, field);

	compile_range(cc, v, kind, &n->lo, &n->hi);
	return n;
}

int
match_duration(const json_t *j, double *secs)
{
	const char *s;
	char *end;
	double d;

	if (json_is_number(j)) {
		*secs = json_number_value(j);
		return 0;
	}
	if (!json_is_string(j) || !*(s = json_string_value(j)) || isspace((unsigned char)*s))
		return -1;
	d = strtod(s, &end);
	if (end == s || !isfinite(d) || !*end || end[1])
		return -1;
	switch (*end) {
	case 's': break;
	case 'm': d *= 60; break;
	case 'h': d *= 3600; break;
	case 'd': d *= 86400; break;
	default: return -1;
	}
	*secs = d;
	return 0;
}

/* ------------------------------------------------- party conditions */

static const char *const party_keys[] = { "all", "any", "not", "character",
	"corporation", "alliance", "faction", "ship", "ship_group",
	"ship_category", "weapon", "weapon_group", "weapon_category", "damage",
	"security_status", "npc", "share", "count", NULL };

static struct node *compile_party(struct cc *, const json_t *, enum role, struct node *);

/* "all"/"any": a non-empty list of party conditions. */
static struct node *
party_list(struct cc *cc, const json_t *j, enum op op, enum role role)
{
	struct node *n = node_new(op, 0);
	size_t i, o;
	json_t *v;

	if (want_list(cc, j, "party conditions"))
		json_array_foreach(j, i, v) {
			o = push_index(cc, i);
			add_kid(n, compile_party(cc, v, role, NULL));
			pop(cc, o);
		}
	return n;
}

static int
party_field(const char *k)
{
	for (int f = 0; f < MATCH_NFIELDS; f++)
		if (!strcmp(k, party_keys[3 + f]))
			return f;
	return -1;
}

/* One key of a party condition.  attacker is the "attacker" node when the
 * party condition is directly inside it (share and count go there). */
static struct node *
party_key(struct cc *cc, const char *k, const json_t *v, enum role role,
    struct node *attacker)
{
	int f = party_field(k);
	struct node *n;

	if (f >= MATCH_WEAPON && role == R_VICTIM)
		return fail(cc, "a weapon is for attackers, not the victim"), NULL;
	if (f >= 0) {
		compile_ents(cc, v, &(n = node_new(P_ENT, f))->ents, 1);
		return n;
	}
	if (!strcmp(k, "all") || !strcmp(k, "any"))
		return party_list(cc, v, k[1] == 'l' ? P_AND : P_ANY, role);
	if (!strcmp(k, "not")) {
		add_kid(n = node_new(P_NOT, 0), compile_party(cc, v, role, NULL));
		return n;
	}
	if (!strcmp(k, "damage"))
		return compile_range_node(cc, v, P_DAMAGE, 0, RANGE_ANY);
	if (!strcmp(k, "security_status") && role == R_VICTIM)
		return fail(cc, "security_status is for attackers, not the victim"), NULL;
	if (!strcmp(k, "security_status"))
		return compile_range_node(cc, v, P_SECSTATUS, 0, RANGE_ANY);
	if (!strcmp(k, "npc")) {
		want_bool(cc, v, &(n = node_new(P_NPC, 0))->b);
		return n;
	}
	if (!attacker)
		fail(cc, "share and count belong directly inside \"attacker\"");
	else if (!strcmp(k, "share"))
		attacker->has_share = compile_range(cc, v, RANGE_SHARE, &attacker->slo, &attacker->shi);
	else
		attacker->has_count = compile_range(cc, v, RANGE_COUNT, &attacker->clo, &attacker->chi);
	return NULL;
}

/* A party condition: an object whose keys all hold (an implicit "all"). */
static struct node *
compile_party(struct cc *cc, const json_t *j, enum role role, struct node *attacker)
{
	struct node *n = node_new(P_AND, 0);
	const char *k;
	json_t *v;

	if (!json_is_object(j)) {
		fail(cc, "expected an object (a party condition)");
		return n;
	}
	json_object_foreach((json_t *)j, k, v) {
		size_t o;

		if (*k == '_')
			continue;
		if (index_of(k, party_keys) >= 0) {
			o = push_key(cc, k);
			add_kid(n, party_key(cc, k, v, role, attacker));
			pop(cc, o);
		} else
			unknown_key(cc, k, party_keys);
	}
	return n;
}

/* --------------------------------------------------------- conditions */

static const char *const cond_keys[] = { "all", "any", "not", "victim",
	"attacker", "final_blow", "involved", "system", "constellation",
	"region", "security", "space", "location", "near", "value",
	"fitted_value", "dropped_value", "destroyed_value", "points",
	"attacker_count", "npc", "solo", "awox", "war", "labels", "age", "hour",
	"jq", NULL };

static const char *const measure_keys[] = { "value", "fitted_value",
	"dropped_value", "destroyed_value", "points", "attacker_count", NULL };
static const char *const flag_keys[] = { "npc", "solo", "awox", "war", NULL };
static const char *const place_keys[] = { "system", "constellation", "region", NULL };

static struct node *compile_cond(struct cc *, const json_t *);

static struct node *
cond_list(struct cc *cc, const json_t *j, enum op op)
{
	struct node *n = node_new(op, 0);
	size_t i, o;
	json_t *v;

	if (want_list(cc, j, "conditions"))
		json_array_foreach(j, i, v) {
			o = push_index(cc, i);
			add_kid(n, compile_cond(cc, v));
			pop(cc, o);
		}
	return n;
}

static struct node *
compile_who(struct cc *cc, const json_t *v, enum op op)
{
	static const enum role roles[] = { [C_VICTIM] = R_VICTIM,
		[C_ATTACKER] = R_ATTACKER, [C_FINAL] = R_FINAL,
		[C_INVOLVED] = R_INVOLVED };
	struct node *n = node_new(op, 0);

	add_kid(n, compile_party(cc, v, roles[op], op == C_ATTACKER ? n : NULL));
	return n;
}

static struct node *
compile_space(struct cc *cc, const json_t *j)
{
	struct node *n = node_new(C_SPACE, 0);
	size_t i, o;
	json_t *v;

	if (want_list(cc, j, "space classes"))
		json_array_foreach(j, i, v) {
			int s = json_is_string(v) ? index_of(json_string_value(v), spaces) : -1;

			o = push_index(cc, i);
			if (s >= 0)
				n->spaces |= 1u << s;
			else if (json_is_string(v))
				fail(cc, "unknown space \"%s\" (did you mean \"%s\"?)",
				    json_string_value(v), match_nearest(json_string_value(v), spaces));
			else
				fail(cc, "expected one of highsec, lowsec, nullsec, "
				    "wormhole, abyssal, pochven");
			pop(cc, o);
		}
	return n;
}

static const char *const near_keys[] = { "system", "jumps", "lightyears", NULL };

static void
near_key(struct cc *cc, struct match_near *e, const char *k, const json_t *v)
{
	if (!strcmp(k, "system") && json_is_integer(v) && json_integer_value(v) > 0)
		e->system = json_integer_value(v);
	else if (!strcmp(k, "system") && json_is_string(v) && json_string_length(v))
		e->name = mem_strdup(json_string_value(v));
	else if (!strcmp(k, "system"))
		fail(cc, "expected a system id (a positive whole number) or a name (a string)");
	else if (!strcmp(k, "jumps") && json_is_integer(v) && json_integer_value(v) >= 0)
		e->jumps = json_integer_value(v);
	else if (!strcmp(k, "jumps"))
		fail(cc, "expected a number of jumps (a whole number, 0 or more)");
	else if (json_is_number(v) && json_number_value(v) >= 0)
		e->lightyears = json_number_value(v);
	else
		fail(cc, "expected a distance in light years (a number, 0 or more)");
}

/* One {"system": id or name, "jumps": N, "lightyears": X}. */
static void
near_entry(struct cc *cc, const json_t *j, struct match_near *e)
{
	const char *k;
	json_t *v;

	e->jumps = -1;
	e->lightyears = -1;
	if (!json_is_object(j)) {
		fail(cc, "expected {\"system\": .., \"jumps\": .., \"lightyears\": ..}");
		return;
	}
	json_object_foreach((json_t *)j, k, v) {
		size_t o;

		if (*k == '_')
			continue;
		if (index_of(k, near_keys) < 0) {
			unknown_key(cc, k, near_keys);
			continue;
		}
		o = push_key(cc, k);
		near_key(cc, e, k, v);
		pop(cc, o);
	}
	if (!e->system && !e->name && !json_object_get(j, "system"))
		fail(cc, "a near entry needs \"system\"");
	if (e->jumps < 0 && e->lightyears < 0 && !json_object_get(j, "jumps") &&
	    !json_object_get(j, "lightyears"))
		fail(cc, "a near entry needs \"jumps\" or \"lightyears\" (or both)");
}

static struct node *
compile_near(struct cc *cc, const json_t *j)
{
	struct node *n = node_new(C_NEAR, 0);
	size_t i, o;
	json_t *v;

	if (!want_list(cc, j, "{\"system\", \"jumps\", \"lightyears\"} entries"))
		return n;
	n->near = mem_calloc(json_array_size(j), sizeof *n->near);
	json_array_foreach(j, i, v) {
		o = push_index(cc, i);
		near_entry(cc, v, &n->near[n->nnear++]);
		pop(cc, o);
	}
	return n;
}

static int
compile_strs(struct cc *cc, const json_t *j, struct strs *s)
{
	size_t i, o;
	json_t *v;

	if (!want_list(cc, j, "labels"))
		return 0;
	s->v = mem_calloc(json_array_size(j), sizeof *s->v);
	json_array_foreach(j, i, v) {
		o = push_index(cc, i);
		if (json_is_string(v))
			s->v[s->n++] = mem_strdup(json_string_value(v));
		else
			fail(cc, "expected a label (a string)");
		pop(cc, o);
	}
	return 1;
}

/* A list (= any) or {"any": [..], "all": [..], "none": [..]}. */
static struct node *
compile_labels(struct cc *cc, const json_t *j)
{
	static const char *const keys[] = { "any", "all", "none", NULL };
	struct node *n = node_new(C_LABELS, 0);
	const char *k;
	json_t *v;

	if (json_is_array(j)) {
		compile_strs(cc, j, &n->any);
		return n;
	}
	if (!json_is_object(j)) {
		fail(cc, "expected a list of labels or {\"any\", \"all\", \"none\"}");
		return n;
	}
	json_object_foreach((json_t *)j, k, v) {
		int i = index_of(k, keys);
		size_t o;

		if (*k == '_')
			continue;
		if (i < 0) {
			unknown_key(cc, k, keys);
			continue;
		}
		o = push_key(cc, k);
		compile_strs(cc, v, i == 0 ? &n->any : i == 1 ? &n->all : &n->none);
		pop(cc, o);
	}
	return n;
}

static int
hour_end(struct cc *cc, const json_t *j, const char *k, double *h)
{
	const json_t *v = json_object_get(j, k);
	size_t o = push_key(cc, k);
	int ok = json_is_integer(v) && inr(json_integer_value(v), 0, 23);

	if (!v)
		fail(cc, "missing (an hour needs \"from\" and \"to\")");
	else if (!ok)
		fail(cc, "expected an hour, a whole number from 0 to 23");
	else
		*h = json_integer_value(v);
	pop(cc, o);
	return ok;
}

static struct node *
compile_hour(struct cc *cc, const json_t *j)
{
	static const char *const keys[] = { "from", "to", NULL };
	struct node *n = node_new(C_HOUR, 0);
	const char *k;
	json_t *v;

	if (!json_is_object(j)) {
		fail(cc, "expected {\"from\": hour, \"to\": hour}");
		return n;
	}
	json_object_foreach((json_t *)j, k, v)
		if (*k != '_' && index_of(k, keys) < 0)
			unknown_key(cc, k, keys);
	hour_end(cc, j, "from", &n->lo);
	hour_end(cc, j, "to", &n->hi);
	return n;
}

static void
jq_compile_error(void *arg, jv msg)
{
	char *first = arg;

	if (!*first && jv_get_kind(msg) == JV_KIND_STRING)
		snprintf(first, 512, "%s", jv_string_value(msg));
	jv_free(msg);
}

static void
jq_quiet(void *arg, jv msg)
{
	(void)arg;
	jv_free(msg);
}

/* jansson to jq, once per stream (and once per mail that meets a jq test). */
static jv
tojv(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	jv r;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		r = jv_object();
		json_object_foreach((json_t *)j, k, v)
			r = jv_object_set(r, jv_string(k), tojv(v));
		return r;
	case JSON_ARRAY:
		r = jv_array();
		json_array_foreach(j, i, v)
			r = jv_array_append(r, tojv(v));
		return r;
	case JSON_STRING:
		return jv_string_sized(json_string_value(j), (int)json_string_length(j));
	case JSON_INTEGER: return jv_number((double)json_integer_value(j));
	case JSON_REAL: return jv_number(json_real_value(j));
	case JSON_TRUE: return jv_true();
	case JSON_FALSE: return jv_false();
	default: return jv_null();
	}
}

static struct node *
compile_jq(struct cc *cc, const json_t *j)
{
	struct node *n = node_new(C_JQ, 0);
	char err[512] = "", *nl;

	if (!json_is_string(j) || !json_string_length(j)) {
		fail(cc, "expected a jq program (a string)");
		return n;
	}
	n->jq = jq_init();
	if (!n->jq)
		log_fatal(EXIT_TEMP, "out of memory");
	jq_set_error_cb(n->jq, jq_compile_error, err);
	if (!jq_compile(n->jq, json_string_value(j))) {
		if ((nl = strchr(err, '\n')))
			*nl = 0;
		if ((nl = strstr(err, " (Unix shell quoting issues?)")))
			memmove(nl, nl + 29, strlen(nl + 29) + 1);
		if ((nl = strrchr(err, ':')) && !nl[1])
			*nl = 0;
		fail(cc, "jq: %s", *err ? (strncmp(err, "jq: error: ", 11) ?
		    err : err + 11) : "does not compile");
	}
	jq_set_error_cb(n->jq, jq_quiet, NULL);
	n->path = mem_strdup(cc->path);
	return n;
}

/* One key of a condition. */
static struct node *
cond_key(struct cc *cc, const char *k, const json_t *v)
{
	struct node *n;
	int i;

	if (!strcmp(k, "all") || !strcmp(k, "any"))
		return cond_list(cc, v, k[1] == 'l' ? C_AND : C_ANY);
	if (!strcmp(k, "not")) {
		add_kid(n = node_new(C_NOT, 0), compile_cond(cc, v));
		return n;
	}
	if (!strcmp(k, "victim") || !strcmp(k, "attacker") ||
	    !strcmp(k, "final_blow") || !strcmp(k, "involved"))
		return compile_who(cc, v, *k == 'v' ? C_VICTIM : *k == 'a' ?
		    C_ATTACKER : *k == 'f' ? C_FINAL : C_INVOLVED);
	if ((i = index_of(k, place_keys)) >= 0) {
		compile_ents(cc, v, &(n = node_new(C_PLACE, i))->ents, 1);
		return n;
	}
	if ((i = index_of(k, measure_keys)) >= 0)
		return compile_range_node(cc, v, C_MEASURE, i, RANGE_ANY);
	if ((i = index_of(k, flag_keys)) >= 0) {
		want_bool(cc, v, &(n = node_new(C_FLAG, i))->b);
		return n;
	}
	if (!strcmp(k, "security"))
		return compile_range_node(cc, v, C_SECURITY, 0, RANGE_ANY);
	if (!strcmp(k, "age"))
		return compile_range_node(cc, v, C_AGE, 0, RANGE_DURATION);
	if (!strcmp(k, "location")) {
		compile_ents(cc, v, &(n = node_new(C_LOCATION, 0))->ents, 0);
		return n;
	}
	if (!strcmp(k, "space"))
		return compile_space(cc, v);
	if (!strcmp(k, "near"))
		return compile_near(cc, v);
	if (!strcmp(k, "labels"))
		return compile_labels(cc, v);
	if (!strcmp(k, "hour"))
		return compile_hour(cc, v);
	return compile_jq(cc, v);
}

/* A condition: an object whose keys all hold. */
static struct node *
compile_cond(struct cc *cc, const json_t *j)
{
	struct node *n = node_new(C_AND, 0);
	const char *k;
	json_t *v;

	if (!json_is_object(j)) {
		fail(cc, "expected an object (a condition)");
		return n;
	}
	json_object_foreach((json_t *)j, k, v) {
		size_t o;

		if (*k == '_')
			continue;
		if (index_of(k, cond_keys) < 0) {
			unknown_key(cc, k, cond_keys);
			continue;
		}
		o = push_key(cc, k);
		add_kid(n, cond_key(cc, k, v));
		pop(cc, o);
	}
	return n;
}

/* Cheap tests first inside an AND: a false one spares the attacker loops,
 * the oracle and jq. */
static int
rank(struct node *n)
{
	int r = 0;

	for (size_t i = 0; i < n->nkid; i++) {
		int k = rank(n->kid[i]);

		r = k > r ? k : r;
	}
	if (n->op == C_AND || n->op == P_AND)
		for (size_t i = 1; i < n->nkid; i++)	/* stable insertion sort */
			for (size_t j = i; j && n->kid[j - 1]->rank > n->kid[j]->rank; j--) {
				struct node *t = n->kid[j];

				n->kid[j] = n->kid[j - 1];
				n->kid[j - 1] = t;
			}
	switch (n->op) {
	case C_VICTIM: case C_FINAL: r = 1; break;
	case C_ATTACKER: case C_INVOLVED: r = 2; break;
	case C_NEAR: r = 3; break;
	case C_JQ: r = 4; break;
	default: break;
	}
	return n->rank = r;
}

static void
collect_nears(struct match_cond *c, const struct node *n)
{
	for (size_t i = 0; i < n->nnear; i++) {
		c->nears = mem_realloc(c->nears, (c->nnears + 1) * sizeof *c->nears);
		c->nears[c->nnears++] = &n->near[i];
	}
	for (size_t i = 0; i < n->nkid; i++)
		collect_nears(c, n->kid[i]);
}

static int
has_jq(const struct node *n)
{
	for (size_t i = 0; i < n->nkid; i++)
		if (has_jq(n->kid[i]))
			return 1;
	return n->op == C_JQ;
}

struct match_cond *
match_compile(const json_t *j, const char *path, const json_t *stream,
    match_err_fn *err, void *arg)
{
	struct match_cond *c = mem_calloc(1, sizeof *c);
	struct cc cc = { .err = err, .arg = arg, .c = c };
	const char *id = json_string_value(json_object_get(stream, "id"));
	json_t *empty = json_object();

	snprintf(cc.path, sizeof cc.path, "%s", path ? path : "$");
	cc.plen = strlen(cc.path);
	c->root = compile_cond(&cc, j ? j : empty);
	json_decref(empty);
	c->stream_id = mem_strdup(id ? id : "-");
	rank(c->root);
	collect_nears(c, c->root);
	if (has_jq(c->root)) {
		c->stream = stream ? tojv(stream) : jv_null();
		c->has_stream = 1;
	}
	if (cc.nerr) {
		match_free(c);
		return NULL;
	}
	return c;
}

void
match_free(struct match_cond *c)
{
	if (!c)
		return;
	node_free(c->root);
	free(c->nears);
	free(c->stream_id);
	if (c->has_stream)
		jv_free(c->stream);
	free(c);
}

const struct match_near *const *
match_nears(const struct match_cond *c, size_t *n)
{
	*n = c->nnears;
	return c->nears;
}

/* --------------------------------------------------------------- mails */

static void
get_ent(const json_t *j, struct match_ent *e)
{
	const json_t *id = json_object_get(j, "id");

	e->id = json_is_integer(id) ? json_integer_value(id) : 0;
	e->name = json_string_value(json_object_get(j, "name"));
	if (!e->id)
		e->name = NULL;
}

static double
get_num(const json_t *j, const char *k)
{
	const json_t *v = json_object_get(j, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int
get_flag(const json_t *j, const char *k)
{
	const json_t *v = json_object_get(j, k);

	return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* A ship or weapon: {"id","name","group":E,"category":E}. */
static void
get_hull(const json_t *j, struct match_ent *e)
{
	get_ent(j, &e[0]);
	get_ent(json_object_get(j, "group"), &e[1]);
	get_ent(json_object_get(j, "category"), &e[2]);
}

/* zKillboard's NPC rule: no player character, corporation or alliance. */
static int
party_npc(const struct match_party *p)
{
	int64_t ch = p->ent[MATCH_CHARACTER].id, co = p->ent[MATCH_CORPORATION].id;

	return (!ch || (ch >= 3000000 && ch < 4000000)) &&
	    (!co || (co >= 1000000 && co < 2000000)) && !p->ent[MATCH_ALLIANCE].id;
}

static void
get_party(const json_t *j, struct match_party *p, int victim)
{
	memset(p, 0, sizeof *p);
	for (int f = MATCH_CHARACTER; f <= MATCH_FACTION; f++)
		get_ent(json_object_get(j, party_keys[3 + f]), &p->ent[f]);
	get_hull(json_object_get(j, "ship"), &p->ent[MATCH_SHIP]);
	if (!victim)
		get_hull(json_object_get(j, "weapon"), &p->ent[MATCH_WEAPON]);
	p->damage = get_num(j, victim ? "damage_taken" : "damage_done");
	p->security_status = victim ? NAN : get_num(j, "security_status");
	p->npc = party_npc(p);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm): no
 * time zone, no locale. */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + (long)(yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468;
}

/* "2021-11-29T12:34:56Z" (fractions of a second allowed) to unix seconds. */
static double
get_time_str(const char *s)
{
	int y, mo, d, h, mi, n = 0;
	double sec;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    strcmp(s + n, "Z") || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
		return NAN;
	return days_from_civil(y, mo, d) * 86400.0 + h * 3600 + mi * 60 + sec;
}

/* The mail's space class, else the one STREAMS.md derives. */
static const char *
space_of(const char *s, const struct match_mail *m)
{
	int64_t id = m->system.id;

	if (s && index_of(s, spaces) >= 0)
		return s;
	if (id >= 31000000 && id < 32000000)
		return "wormhole";
	if (id >= 32000000 && id < 33000000)
		return "abyssal";
	if (m->region.id == 10000070)
		return "pochven";
	if (isnan(m->security))
		return NULL;
	return m->security >= 0.45 ? "highsec" : m->security > 0 ? "lowsec" : "nullsec";
}

static void
get_place(struct match_mail *m, const json_t *mail)
{
	const json_t *sys = json_object_get(mail, "system"), *loc;

	get_ent(sys, &m->system);
	get_ent(json_object_get(sys, "constellation"), &m->constellation);
	get_ent(json_object_get(sys, "region"), &m->region);
	m->security = get_num(sys, "security");
	m->space = space_of(json_string_value(json_object_get(sys, "space")), m);
	loc = json_object_get(mail, "location_id");
	m->location = json_is_integer(loc) ? json_integer_value(loc) : 0;
}

static void
get_attackers(struct match_mail *m, const json_t *mail)
{
	const json_t *a = json_object_get(mail, "attackers"), *fb;
	size_t i;
	json_t *v;

	m->nattackers = json_is_array(a) ? json_array_size(a) : 0;
	if (m->nattackers > m->cap) {
		m->cap = m->nattackers;
		m->attackers = mem_realloc(m->attackers, m->cap * sizeof *m->attackers);
	}
	m->final_blow = -1;
	json_array_foreach(a, i, v) {
		get_party(v, &m->attackers[i], 0);
		if (m->final_blow < 0 && json_is_true(json_object_get(v, "final_blow")))
			m->final_blow = (long)i;
	}
	fb = json_object_get(mail, "final_blow");
	if (json_is_integer(fb) && json_integer_value(fb) >= 0 &&
	    (size_t)json_integer_value(fb) < m->nattackers)
		m->final_blow = (long)json_integer_value(fb);
}

static void
mail_jq_free(struct match_mail *m)
{
	if (m->jq) {
		jv_free(*(jv *)m->jq);
		free(m->jq);
		m->jq = NULL;
	}
}

/* labels: NULL (missing) until the mail shows a list. */
static void
no_labels(struct match_mail *m)
{
	m->labels = NULL;
	m->nlabels = 0;
}

static void
add_label(struct match_mail *m, const char *l)
{
	if (m->nlabels + 1 >= m->caplabels) {
		m->caplabels = m->caplabels ? m->caplabels * 2 : 8;
		m->labelstore = mem_realloc(m->labelstore, m->caplabels * sizeof *m->labelstore);
	}
	m->labels = m->labelstore;
	if (l)
		m->labelstore[m->nlabels++] = l;
}

/* Strings only. */
static void
get_labels(struct match_mail *m, const json_t *j)
{
	size_t i;
	json_t *l;

	no_labels(m);
	if (!json_is_array(j))
		return;
	add_label(m, NULL);
	json_array_foreach(j, i, l)
		if (json_is_string(l))
			add_label(m, json_string_value(l));
}

int
match_mail_init(struct match_mail *m, const json_t *mail)
{
	static const char *const values[] = { "total", "fitted", "dropped", "destroyed" };
	const json_t *value = json_object_get(mail, "value"), *war;

	mail_jq_free(m);
	if (!json_is_object(mail))
		return -1;
	m->json = mail;
	m->text = NULL;
	m->killmail_id = json_integer_value(json_object_get(mail, "killmail_id"));
	m->time = get_time_str(json_string_value(json_object_get(mail, "time")));
	get_place(m, mail);
	get_party(json_object_get(mail, "victim"), &m->victim, 1);
	get_attackers(m, mail);
	for (int i = 0; i < 4; i++)
		m->value[i] = get_num(value, values[i]);
	m->points = get_num(mail, "points");
	m->npc = get_flag(mail, "npc");
	m->solo = get_flag(mail, "solo");
	m->awox = get_flag(mail, "awox");
	war = json_object_get(mail, "war_id");
	m->war = war && !json_is_null(war) && !(json_is_integer(war) && !json_integer_value(war));
	get_labels(m, json_object_get(mail, "labels"));
	return 0;
}

void
match_mail_free(struct match_mail *m)
{
	mail_jq_free(m);
	free(m->attackers);
	free(m->labelstore);
	free(m->arena);
	memset(m, 0, sizeof *m);
}

double
match_mail_measure(const struct match_mail *m, int measure)
{
	switch (measure) {
	case MATCH_M_VALUE: case MATCH_M_FITTED:
	case MATCH_M_DROPPED: case MATCH_M_DESTROYED:
		return m->value[measure - MATCH_M_VALUE];
	case MATCH_M_POINTS: return m->points;
	case MATCH_M_ATTACKERS: return (double)m->nattackers;
	case MATCH_M_SECURITY: return m->security;
	}
	return NAN;
}

/* ---------------------------------------------------- reading mail text */

/* The mail straight from its text, for the two stages that see every mail:
 * jansson would build an object per entity (hundreds per mail) only for us
 * to read a few fields.  Validity follows jansson's (which the other stages
 * use): UTF-8, escapes and surrogates, integers within int64, finite reals,
 * nesting depth; a field of the wrong type is missing, as in
 * match_mail_init. */
struct rd {
	const char *p, *e;
	struct match_mail *m;
	int depth;
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

static void
rd_ws(struct rd *r)
{
	while (r->p < r->e && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
rd_lit(struct rd *r, const char *w, size_t n)
{
	if ((size_t)(r->e - r->p) < n || memcmp(r->p, w, n))
		return 0;
	r->p += n;
	return 1;
}

/* The length of the UTF-8 sequence at p, 0 when it is not a valid one
 * (overlong, a surrogate, beyond U+10FFFF, cut short). */
static int
utf8_len(const unsigned char *p, const unsigned char *e)
{
	unsigned c = *p, n, cp, min;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if ((size_t)(e - p) < n)
		return 0;
	for (unsigned i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return (int)n;
}

static int
hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return 0;
		*v = *v << 4 | (unsigned)d;
	}
	return 1;
}

static char *
put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80)
		*d++ = (char)cp;
	else if (cp < 0x800)
		*d++ = (char)(0xc0 | cp >> 6), *d++ = (char)(0x80 | (cp & 0x3f));
	else if (cp < 0x10000)
		*d++ = (char)(0xe0 | cp >> 12), *d++ = (char)(0x80 | (cp >> 6 & 0x3f)),
		*d++ = (char)(0x80 | (cp & 0x3f));
	else
		*d++ = (char)(0xf0 | cp >> 18), *d++ = (char)(0x80 | (cp >> 12 & 0x3f)),
		*d++ = (char)(0x80 | (cp >> 6 & 0x3f)), *d++ = (char)(0x80 | (cp & 0x3f));
	return d;
}

/* \uXXXX, or a surrogate pair of two; the code point, 0 when invalid
 * (\u0000 too: jansson refuses it unless asked). */
static unsigned
rd_escape_u(struct rd *r)
{
	unsigned hi, lo;

	if (r->e - r->p < 4 || !hex4(r->p, &hi))
		return 0;
	r->p += 4;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return 0;
	if (hi < 0xd800 || hi > 0xdbff)
		return hi;
	if (r->e - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || !hex4(r->p + 2, &lo) ||
	    lo < 0xdc00 || lo > 0xdfff)
		return 0;
	r->p += 6;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* A string, checked; unescaped into the arena (NUL-terminated) and its
 * start returned, or NULL when it is not a valid string.  Unescaped text
 * is never longer than its JSON, so the arena (the size of the text) has
 * room for every string of the mail. */
static const char *
rd_str(struct rd *r)
{
	char *s = r->m->arena + r->alen, *d = s;
	static const char esc[] = "\"\\/bfnrt", out[] = "\"\\/\b\f\n\r\t";

	if (!rd_lit(r, "\"", 1))
		return NULL;
	while (r->p < r->e) {
		unsigned char c = *r->p++;
		const char *x;
		unsigned cp;
		int n;

		if (c == '"') {
			*d++ = 0;
			r->alen = (size_t)(d - r->m->arena);
			return s;
		}
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (r->p >= r->e)
				return NULL;
			c = *r->p++;
			if (c == 'u') {
				if (!(cp = rd_escape_u(r)))
					return NULL;
				d = put_utf8(d, cp);
			} else if (c && (x = strchr(esc, c)))
				*d++ = out[x - esc];
			else
				return NULL;
		} else if (c < 0x80)
			*d++ = (char)c;
		else if ((n = utf8_len((const unsigned char *)r->p - 1, (const unsigned char *)r->e))) {
			memcpy(d, r->p - 1, (size_t)n);
			d += n;
			r->p += n - 1;
		} else
			return NULL;
	}
	return NULL;
}

static size_t
rd_digits(struct rd *r)
{
	const char *b = r->p;

	while (r->p < r->e && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return (size_t)(r->p - b);
}

/* A number: an integer (no fraction, no exponent) within int64, or a
 * finite real. */
static int
rd_num(struct rd *r, struct val *v)
{
	const char *b = r->p, *d;
	char buf[512], *end;
	int real = 0;

	rd_lit(r, "-", 1);
	d = r->p;
	if (!rd_digits(r) || (*d == '0' && r->p - d > 1))
		return 0;
	if (rd_lit(r, ".", 1) && (real = 1) && !rd_digits(r))
		return 0;
	if (r->p < r->e && (*r->p == 'e' || *r->p == 'E')) {
		real = 1;
		r->p++;
		if (!rd_lit(r, "+", 1))
			rd_lit(r, "-", 1);
		if (!rd_digits(r))
			return 0;
	}
	if ((size_t)(r->p - b) >= sizeof buf)
		return 0;
	memcpy(buf, b, (size_t)(r->p - b));
	buf[r->p - b] = 0;
	errno = 0;
	if (real) {
		v->t = T_REAL;
		v->d = strtod(buf, &end);
		return isfinite(v->d);
	}
	v->t = T_INT;
	v->i = strtoll(buf, &end, 10);
	v->d = (double)v->i;
	return errno != ERANGE;
}

static int rd_skip(struct rd *r);

/* The members of an object; fn reads (or skips) each value. */
static int
rd_obj(struct rd *r, int (*fn)(struct rd *, const char *, void *), void *arg)
{
	if (!rd_lit(r, "{", 1) || ++r->depth > 2048)
		return 0;
	rd_ws(r);
	if (rd_lit(r, "}", 1))
		return r->depth--, 1;
	for (;;) {
		size_t mark = r->alen, n;
		const char *k;
		char key[32];	/* every key we read is shorter */

		rd_ws(r);
		if (!(k = rd_str(r)))
			return 0;
		n = strlen(k);
		memcpy(key, n < sizeof key ? k : "\x01", n < sizeof key ? n + 1 : 2);
		r->alen = mark;
		rd_ws(r);
		if (!rd_lit(r, ":", 1))
			return 0;
		rd_ws(r);
		if (!fn(r, key, arg))
			return 0;
		rd_ws(r);
		if (rd_lit(r, "}", 1))
			return r->depth--, 1;
		if (!rd_lit(r, ",", 1))
			return 0;
	}
}

static int
rd_arr(struct rd *r, int (*fn)(struct rd *, size_t, void *), void *arg)
{
	size_t i = 0;

	if (!rd_lit(r, "[", 1) || ++r->depth > 2048)
		return 0;
	rd_ws(r);
	if (rd_lit(r, "]", 1))
		return r->depth--, 1;
	for (;; i++) {
		rd_ws(r);
		if (!fn(r, i, arg))
			return 0;
		rd_ws(r);
		if (rd_lit(r, "]", 1))
			return r->depth--, 1;
		if (!rd_lit(r, ",", 1))
			return 0;
	}
}

static int
skip_member(struct rd *r, const char *k, void *arg)
{
	(void)k, (void)arg;
	return rd_skip(r);
}

static int
skip_item(struct rd *r, size_t i, void *arg)
{
	(void)i, (void)arg;
	return rd_skip(r);
}

/* Any value; a scalar's value in *v (T_OTHER for objects and arrays). */
static int
rd_val(struct rd *r, struct val *v)
{
	v->t = T_OTHER;
	if (r->p >= r->e)
		return 0;
	switch (*r->p) {
	case '{': return rd_obj(r, skip_member, NULL);
	case '[': return rd_arr(r, skip_item, NULL);
	case '"': v->t = T_STR; return (v->s = rd_str(r)) != NULL;
	case 't': v->t = T_TRUE; return rd_lit(r, "true", 4);
	case 'f': v->t = T_FALSE; return rd_lit(r, "false", 5);
	case 'n': v->t = T_NULL; return rd_lit(r, "null", 4);
	default: return rd_num(r, v);
	}
}

static int
rd_skip(struct rd *r)
{
	struct val v;
	size_t mark = r->alen;
	int ok = rd_val(r, &v);

	r->alen = mark;
	return ok;
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
	if (r->p < r->e && *r->p == '{') {
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
	if (r->p < r->e && *r->p == '{') {
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
	int f = party_field(k);
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
	if (r->p < r->e && *r->p == '{') {
		if (!rd_obj(r, party_member, &pr))
			return 0;
	} else if (!rd_skip(r))
		return 0;
	p->npc = party_npc(p);
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
	if (r->p < r->e && *r->p == '[')
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
	if (r->p < r->e && *r->p == '{') {
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
	if (r->p < r->e && *r->p == '{')
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
		add_label(r->m, v.s);
	return 1;
}

static int
rd_labels(struct rd *r)
{
	no_labels(r->m);
	if (r->p < r->e && *r->p == '[') {
		add_label(r->m, NULL);
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
		r->has_victim = r->p < r->e && *r->p == '{';
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
	none.npc = party_npc(&none);
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
	no_labels(m);
}

int
match_mail_parse(struct match_mail *m, const char *text, size_t len)
{
	struct rd r = { text, text + len, m, 0, 0, 0, 0, 0, -1, NULL, NULL };

	mail_jq_free(m);
	if (len + 1 > m->caparena) {
		m->caparena = len + 1;
		free(m->arena);
		m->arena = mem_calloc(1, m->caparena);
	}
	m->json = NULL;
	m->text = text;
	m->len = len;
	mail_clear(m);
	rd_ws(&r);
	if (r.p >= r.e || *r.p != '{' || !rd_obj(&r, top_member, NULL))
		return -1;
	rd_ws(&r);
	if (r.p != r.e)
		return -1;
	m->time = get_time_str(r.time);
	if (r.fb >= 0 && (size_t)r.fb < m->nattackers)
		m->final_blow = r.fb;
	m->space = space_of(r.space, m);
	return r.is_mail && r.has_victim && !r.has_stream;
}

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

/* The UTC hour of a unix time, 0..23 (times before 1970 too). */
static long
hour_of(double t)
{
	long h = (long)fmod(floor(t / 3600), 24);

	return h < 0 ? h + 24 : h;
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

/* A jq test: its first output on {"stream":..,"mail":..} is true. */
static enum match_tv
eval_jq(struct ev *e, const struct node *n)
{
	struct match_mail *m = e->m;
	jv in, out, msg;
	int r;

	if (!m->jq) {
		m->jq = mem_calloc(1, sizeof(jv));
		*(jv *)m->jq = m->json ? tojv(m->json) : jv_parse_sized(m->text, (int)m->len);
	}
	in = jv_object_set(jv_object(), jv_string("stream"), jv_copy(e->c->stream));
	in = jv_object_set(in, jv_string("mail"), jv_copy(*(jv *)m->jq));
	jq_start(n->jq, in, 0);
	out = jq_next(n->jq);
	r = jv_get_kind(out) == JV_KIND_TRUE;
	if (!jv_is_valid(out) && jv_invalid_has_msg(jv_copy(out))) {
		msg = jv_invalid_get_msg(jv_copy(out));
		msg = jv_get_kind(msg) == JV_KIND_STRING ? msg : jv_dump_string(msg, 0);
		log_warn("jq error, the test does not hold stream=%s path=%s "
		    "killmail_id=%lld error=\"%s\"", e->c->stream_id, n->path,
		    (long long)m->killmail_id, jv_string_value(msg));
		jv_free(msg);
	}
	jv_free(out);
	return tv(r);
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
		return tv(m->space && (n->spaces >> index_of(m->space, spaces) & 1));
	case C_LOCATION: return tv(ents_has_id(&n->ents, m->location));
	case C_NEAR: return eval_near(e, n);
	case C_MEASURE:
		return tv(inr(match_mail_measure(m, n->field), n->lo, n->hi));
	case C_FLAG: return tv(eval_flag(n, m));
	case C_LABELS: return tv(eval_labels(n, m));
	case C_AGE: return tv(inr(e->cx ? e->cx->now - m->time : NAN, n->lo, n->hi));
	case C_HOUR: return tv(eval_hour(n, m->time));
	case C_JQ: return eval_jq(e, n);
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

/* Names fold ASCII case as the evaluator does; labels (fold 0) do not. */
static uint64_t
key_name(unsigned code, const char *s, int fold)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		unsigned char c = *s;

		h = (h ^ (fold && c >= 'A' && c <= 'Z' ? c + 32 : c)) * 0x100000001b3ULL;
	}
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
		for (int s = 0; spaces[s]; s++)
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
		fn(arg, key_id(K_SPACE + index_of(m->space, spaces), 1));
	if (m->location)
		fn(arg, key_id(K_LOCATION, m->location));
	for (i = 0; i < m->nlabels; i++)
		fn(arg, key_name(K_LABEL, m->labels[i], 0));
	if (m->war)
		fn(arg, key_id(K_WAR, 1));
	if (!isnan(m->time))
		fn(arg, key_id(K_HOUR + hour_of(m->time), 1));
}
