/* match-compile: compile STREAMS.md conditions into trees (struct node of
 * match-int.h), with every error reported by its JSON path and a "did you
 * mean"; match_free releases a tree.  Part of the match module. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "log.h"
#include "mem.h"
#include "match-int.h"

/* ------------------------------------------------------------ helpers */

static char *
lowerdup(const char *s)
{
	char *d = mem_strdup(s);

	for (char *p = d; *p; p++)
		*p = tolower((unsigned char)*p);
	return d;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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

const char *const match_party_keys[] = { "all", "any", "not", "character",
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

int
match_party_field(const char *k)
{
	for (int f = 0; f < MATCH_NFIELDS; f++)
		if (!strcmp(k, match_party_keys[3 + f]))
			return f;
	return -1;
}

/* One key of a party condition.  attacker is the "attacker" node when the
 * party condition is directly inside it (share and count go there). */
static struct node *
party_key(struct cc *cc, const char *k, const json_t *v, enum role role,
    struct node *attacker)
{
	int f = match_party_field(k);
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
		if (index_of(k, match_party_keys) >= 0) {
			o = push_key(cc, k);
			add_kid(n, party_key(cc, k, v, role, attacker));
			pop(cc, o);
		} else
			unknown_key(cc, k, match_party_keys);
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
			int s = json_is_string(v) ? index_of(json_string_value(v), match_spaces) : -1;

			o = push_index(cc, i);
			if (s >= 0)
				n->spaces |= 1u << s;
			else if (json_is_string(v))
				fail(cc, "unknown space \"%s\" (did you mean \"%s\"?)",
				    json_string_value(v), match_nearest(json_string_value(v), match_spaces));
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
jv
match_tojv(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	jv r;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		r = jv_object();
		json_object_foreach((json_t *)j, k, v)
			r = jv_object_set(r, jv_string(k), match_tojv(v));
		return r;
	case JSON_ARRAY:
		r = jv_array();
		json_array_foreach(j, i, v)
			r = jv_array_append(r, match_tojv(v));
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
		c->stream = stream ? match_tojv(stream) : jv_null();
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
