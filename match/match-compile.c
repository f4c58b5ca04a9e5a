/* match-compile: the machinery of compiling conditions into trees (struct
 * node of match-int.h): errors reported by their JSON path with a "did you
 * mean", nodes, lists, entity lists, ranges, durations, and the party
 * conditions; match-cond.c compiles the condition keys with it.  Part of
 * the match module. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "match/match-int.h"

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

__attribute__((format(printf, 2, 3)))
void
match_fail(struct cc *cc, const char *fmt, ...)
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
 * returns the old length for match_pop(). */
size_t
match_push_key(struct cc *cc, const char *k)
{
	size_t old = cc->plen, room = sizeof cc->path - old;
	int plain = *k && strspn(k, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(k);
	int n = snprintf(cc->path + old, room, plain ? ".%s" : "[\"%s\"]", k);

	cc->plen = (size_t)n < room ? old + n : sizeof cc->path - 1;
	return old;
}

size_t
match_push_index(struct cc *cc, size_t i)
{
	size_t old = cc->plen, room = sizeof cc->path - old;
	int n = snprintf(cc->path + old, room, "[%zu]", i);

	cc->plen = (size_t)n < room ? old + n : sizeof cc->path - 1;
	return old;
}

void
match_pop(struct cc *cc, size_t old)
{
	cc->plen = old;
	cc->path[old] = 0;
}

void
match_unknown_key(struct cc *cc, const char *k, const char *const *valid)
{
	size_t o = match_push_key(cc, k);

	match_fail(cc, "unknown key (did you mean \"%s\"?)", match_nearest(k, valid));
	match_pop(cc, o);
}

struct node *
match_node_new(enum op op, int field)
{
	struct node *n = mem_calloc(1, sizeof *n);

	n->op = op;
	n->field = field;
	n->lo = -INFINITY;
	n->hi = INFINITY;
	return n;
}

void
match_add_kid(struct node *n, struct node *k)
{
	if (!k)
		return;
	n->kid = mem_realloc(n->kid, (n->nkid + 1) * sizeof *n->kid);
	n->kid[n->nkid++] = k;
}

void
match_node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkid; i++)
		match_node_free(n->kid[i]);
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
	free(n->prog);
	free(n->path);
	free(n);
}

/* A non-empty array, or an error; the caller then walks it. */
int
match_want_list(struct cc *cc, const json_t *j, const char *what)
{
	if (!json_is_array(j)) {
		match_fail(cc, "expected a list of %s", what);
		return 0;
	}
	if (!json_array_size(j)) {
		match_fail(cc, "empty list (it would never match)");
		return 0;
	}
	return 1;
}

int
match_want_bool(struct cc *cc, const json_t *j, int *b)
{
	if (!json_is_boolean(j)) {
		match_fail(cc, "expected true or false");
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
int
match_compile_ents(struct cc *cc, const json_t *j, struct ents *e, int names_ok)
{
	size_t i, o;
	json_t *v;
	int ok = match_want_list(cc, j, names_ok ? "ids and names" : "ids");
	const json_t *list = ok ? j : NULL;

	json_array_foreach(list, i, v) {
		o = match_push_index(cc, i);
		if (json_is_integer(v) && json_integer_value(v) > 0)
			ents_add_id(e, json_integer_value(v));
		else if (names_ok && json_is_string(v) && json_string_length(v))
			ents_add_name(e, json_string_value(v));
		else if (names_ok) {
			match_fail(cc, "expected an id (a positive whole number) or a name (a string)");
			ok = 0;
		} else {
			match_fail(cc, "expected an id (a positive whole number)");
			ok = 0;
		}
		match_pop(cc, o);
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
	match_fail(cc, durations ? "expected a duration (seconds, or \"90s\", \"30m\", "
	    "\"2h\", \"7d\")" : "expected a number");
	return 0;
}

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
		match_fail(cc, "expected a range {\"min\": .., \"max\": ..}");
		return 0;
	}
	json_object_foreach((json_t *)j, k, v) {
		size_t o;

		if (*k == '_')
			continue;
		if (strcmp(k, "min") && strcmp(k, "max")) {
			match_unknown_key(cc, k, keys);
			ok = 0;
			continue;
		}
		o = match_push_key(cc, k);
		if (!range_end(cc, v, kind == RANGE_DURATION, *k == 'm' && k[1] == 'i' ? lo : hi))
			ok = 0;
		else if (kind == RANGE_SHARE && !inr(k[1] == 'i' ? *lo : *hi, 0, 1))
			ok = 0, match_fail(cc, "a share is between 0 and 1");
		else if (kind == RANGE_COUNT && (k[1] == 'i' ? *lo : *hi) < 0)
			ok = 0, match_fail(cc, "a count is not negative");
		match_pop(cc, o);
	}
	if (ok && *lo > *hi)
		ok = 0, match_fail(cc, "min is greater than max");
	return ok;
}

struct node *
match_compile_range_node(struct cc *cc, const json_t *v, enum op op, int field, int kind)
{
	struct node *n = match_node_new(op, field);

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

/* "all"/"any": a non-empty list of party conditions. */
static struct node *
party_list(struct cc *cc, const json_t *j, enum op op, enum role role)
{
	struct node *n = match_node_new(op, 0);
	size_t i, o;
	json_t *v;

	if (match_want_list(cc, j, "party conditions"))
		json_array_foreach(j, i, v) {
			o = match_push_index(cc, i);
			match_add_kid(n, match_compile_party(cc, v, role, NULL));
			match_pop(cc, o);
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
		return match_fail(cc, "a weapon is for attackers, not the victim"), NULL;
	if (f >= 0) {
		match_compile_ents(cc, v, &(n = match_node_new(P_ENT, f))->ents, 1);
		return n;
	}
	if (!strcmp(k, "all") || !strcmp(k, "any"))
		return party_list(cc, v, k[1] == 'l' ? P_AND : P_ANY, role);
	if (!strcmp(k, "not")) {
		match_add_kid(n = match_node_new(P_NOT, 0), match_compile_party(cc, v, role, NULL));
		return n;
	}
	if (!strcmp(k, "damage"))
		return match_compile_range_node(cc, v, P_DAMAGE, 0, RANGE_ANY);
	if (!strcmp(k, "security_status") && role == R_VICTIM)
		return match_fail(cc, "security_status is for attackers, not the victim"), NULL;
	if (!strcmp(k, "security_status"))
		return match_compile_range_node(cc, v, P_SECSTATUS, 0, RANGE_ANY);
	if (!strcmp(k, "npc")) {
		match_want_bool(cc, v, &(n = match_node_new(P_NPC, 0))->b);
		return n;
	}
	if (!attacker)
		match_fail(cc, "share and count belong directly inside \"attacker\"");
	else if (!strcmp(k, "share"))
		attacker->has_share = compile_range(cc, v, RANGE_SHARE, &attacker->slo, &attacker->shi);
	else
		attacker->has_count = compile_range(cc, v, RANGE_COUNT, &attacker->clo, &attacker->chi);
	return NULL;
}

/* A party condition: an object whose keys all hold (an implicit "all"). */
struct node *
match_compile_party(struct cc *cc, const json_t *j, enum role role, struct node *attacker)
{
	struct node *n = match_node_new(P_AND, 0);
	const char *k;
	json_t *v;

	if (!json_is_object(j)) {
		match_fail(cc, "expected an object (a party condition)");
		return n;
	}
	json_object_foreach((json_t *)j, k, v) {
		size_t o;

		if (*k == '_')
			continue;
		if (index_of(k, match_party_keys) >= 0) {
			o = match_push_key(cc, k);
			match_add_kid(n, party_key(cc, k, v, role, attacker));
			match_pop(cc, o);
		} else
			match_unknown_key(cc, k, match_party_keys);
	}
	return n;
}

