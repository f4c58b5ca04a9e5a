/* match-cond: match_compile, a stream's conditions (insight-streams(5)) into a tree
 * with the machinery of match-compile.c, ANDs ranked by cost, and
 * match_free.  Part of the match module. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "match/match-int.h"

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
	struct node *n = match_node_new(op, 0);
	size_t i, o;
	json_t *v;

	if (match_want_list(cc, j, "conditions"))
		json_array_foreach(j, i, v) {
			o = match_push_index(cc, i);
			match_add_kid(n, compile_cond(cc, v));
			match_pop(cc, o);
		}
	return n;
}

static struct node *
compile_who(struct cc *cc, const json_t *v, enum op op)
{
	static const enum role roles[] = { [C_VICTIM] = R_VICTIM,
		[C_ATTACKER] = R_ATTACKER, [C_FINAL] = R_FINAL,
		[C_INVOLVED] = R_INVOLVED };
	struct node *n = match_node_new(op, 0);

	match_add_kid(n, match_compile_party(cc, v, roles[op], op == C_ATTACKER ? n : NULL));
	return n;
}

static struct node *
compile_space(struct cc *cc, const json_t *j)
{
	struct node *n = match_node_new(C_SPACE, 0);
	size_t i, o;
	json_t *v;

	if (match_want_list(cc, j, "space classes"))
		json_array_foreach(j, i, v) {
			int s = json_is_string(v) ? index_of(json_string_value(v), match_spaces) : -1;

			o = match_push_index(cc, i);
			if (s >= 0)
				n->spaces |= 1u << s;
			else if (json_is_string(v))
				match_fail(cc, "unknown space \"%s\" (did you mean \"%s\"?)",
				    json_string_value(v), match_nearest(json_string_value(v), match_spaces));
			else
				match_fail(cc, "expected one of highsec, lowsec, nullsec, "
				    "wormhole, abyssal, pochven");
			match_pop(cc, o);
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
		match_fail(cc, "expected a system id (a positive whole number) or a name (a string)");
	else if (!strcmp(k, "jumps") && json_is_integer(v) && json_integer_value(v) >= 0)
		e->jumps = json_integer_value(v);
	else if (!strcmp(k, "jumps"))
		match_fail(cc, "expected a number of jumps (a whole number, 0 or more)");
	else if (json_is_number(v) && json_number_value(v) >= 0)
		e->lightyears = json_number_value(v);
	else
		match_fail(cc, "expected a distance in light years (a number, 0 or more)");
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
		match_fail(cc, "expected {\"system\": .., \"jumps\": .., \"lightyears\": ..}");
		return;
	}
	json_object_foreach((json_t *)j, k, v) {
		size_t o;

		if (*k == '_')
			continue;
		if (index_of(k, near_keys) < 0) {
			match_unknown_key(cc, k, near_keys);
			continue;
		}
		o = match_push_key(cc, k);
		near_key(cc, e, k, v);
		match_pop(cc, o);
	}
	if (!e->system && !e->name && !json_object_get(j, "system"))
		match_fail(cc, "a near entry needs \"system\"");
	if (e->jumps < 0 && e->lightyears < 0 && !json_object_get(j, "jumps") &&
	    !json_object_get(j, "lightyears"))
		match_fail(cc, "a near entry needs \"jumps\" or \"lightyears\" (or both)");
}

static struct node *
compile_near(struct cc *cc, const json_t *j)
{
	struct node *n = match_node_new(C_NEAR, 0);
	size_t i, o;
	json_t *v;

	if (!match_want_list(cc, j, "{\"system\", \"jumps\", \"lightyears\"} entries"))
		return n;
	n->near = mem_calloc(json_array_size(j), sizeof *n->near);
	json_array_foreach(j, i, v) {
		o = match_push_index(cc, i);
		near_entry(cc, v, &n->near[n->nnear++]);
		match_pop(cc, o);
	}
	return n;
}

static int
compile_strs(struct cc *cc, const json_t *j, struct strs *s)
{
	size_t i, o;
	json_t *v;

	if (!match_want_list(cc, j, "labels"))
		return 0;
	s->v = mem_calloc(json_array_size(j), sizeof *s->v);
	json_array_foreach(j, i, v) {
		o = match_push_index(cc, i);
		if (json_is_string(v))
			s->v[s->n++] = mem_strdup(json_string_value(v));
		else
			match_fail(cc, "expected a label (a string)");
		match_pop(cc, o);
	}
	return 1;
}

/* A list (= any) or {"any": [..], "all": [..], "none": [..]}. */
static struct node *
compile_labels(struct cc *cc, const json_t *j)
{
	static const char *const keys[] = { "any", "all", "none", NULL };
	struct node *n = match_node_new(C_LABELS, 0);
	const char *k;
	json_t *v;

	if (json_is_array(j)) {
		compile_strs(cc, j, &n->any);
		return n;
	}
	if (!json_is_object(j)) {
		match_fail(cc, "expected a list of labels or {\"any\", \"all\", \"none\"}");
		return n;
	}
	json_object_foreach((json_t *)j, k, v) {
		int i = index_of(k, keys);
		size_t o;

		if (*k == '_')
			continue;
		if (i < 0) {
			match_unknown_key(cc, k, keys);
			continue;
		}
		o = match_push_key(cc, k);
		compile_strs(cc, v, i == 0 ? &n->any : i == 1 ? &n->all : &n->none);
		match_pop(cc, o);
	}
	return n;
}

static int
hour_end(struct cc *cc, const json_t *j, const char *k, double *h)
{
	const json_t *v = json_object_get(j, k);
	size_t o = match_push_key(cc, k);
	int ok = json_is_integer(v) && inr(json_integer_value(v), 0, 23);

	if (!v)
		match_fail(cc, "missing (an hour needs \"from\" and \"to\")");
	else if (!ok)
		match_fail(cc, "expected an hour, a whole number from 0 to 23");
	else
		*h = json_integer_value(v);
	match_pop(cc, o);
	return ok;
}

static struct node *
compile_hour(struct cc *cc, const json_t *j)
{
	static const char *const keys[] = { "from", "to", NULL };
	struct node *n = match_node_new(C_HOUR, 0);
	const char *k;
	json_t *v;

	if (!json_is_object(j)) {
		match_fail(cc, "expected {\"from\": hour, \"to\": hour}");
		return n;
	}
	json_object_foreach((json_t *)j, k, v)
		if (*k != '_' && index_of(k, keys) < 0)
			match_unknown_key(cc, k, keys);
	hour_end(cc, j, "from", &n->lo);
	hour_end(cc, j, "to", &n->hi);
	return n;
}

/* jq's first compile error, as one short line. */
static void
jq_message(char *err)
{
	char *nl;

	if ((nl = strchr(err, '\n')))
		*nl = 0;
	if ((nl = strstr(err, " (Unix shell quoting issues?)")))
		memmove(nl, nl + 29, strlen(nl + 29) + 1);
	if ((nl = strrchr(err, ':')) && !nl[1])
		*nl = 0;
	if (!strncmp(err, "jq: error: ", 11))
		memmove(err, err + 11, strlen(err + 11) + 1);
}

/* A tiny mail for the trial run of --check. */
static const char trial_mail[] = "{\"killmail_id\":1,\"killmail_time\":"
    "\"2026-01-01T00:00:00Z\",\"solar_system_id\":30000142,\"victim\":"
    "{\"ship_type_id\":670,\"character_id\":1},\"attackers\":[{"
    "\"ship_type_id\":670,\"final_blow\":true}],\"zkb\":{\"totalValue\":1}}";

/* --check runs the program once, under ten times the budget: a program
 * that cannot finish on this mail will not finish on real ones. */
static void
jq_trial(struct cc *cc, const char *prog)
{
	char msg[MATCH_JQ_MSG];
	enum match_jq_r r = match_jq_ask('E', prog, cc->c->stream, cc->c->stream_len,
	    trial_mail, sizeof trial_mail - 1, match_jq_ms() * 10 / 1000.0, msg);

	if (r == JQ_LATE)
		match_fail(cc, "jq: does not finish on a small test mail within "
		    "%ld ms (ten times JQ_TIME_MS)", match_jq_ms() * 10);
	else if (r == JQ_DIED)
		match_fail(cc, "jq: dies on a small test mail: over the memory "
		    "budget of %ld MiB (JQ_MEMORY_MB), or a crash of jq", match_jq_mb());
}

static struct node *
compile_jq(struct cc *cc, const json_t *j)
{
	struct node *n = match_node_new(C_JQ, 0);
	const char *prog = json_string_value(j);
	char err[MATCH_JQ_MSG] = "";
	enum match_jq_r r;

	n->path = mem_strdup(cc->path);
	if (!prog || !*prog) {
		match_fail(cc, "expected a jq program (a string)");
		return n;
	}
	if (strlen(prog) != json_string_length(j)) {
		match_fail(cc, "jq: a program may not hold a NUL character");
		return n;
	}
	if (match_jq_refused(prog, err, sizeof err)) {
		match_fail(cc, "jq: %s", err);
		return n;
	}
	r = match_jq_ask('C', prog, cc->c->stream, cc->c->stream_len, NULL, 0,
	    match_jq_ms() * 10 / 1000.0, err);
	jq_message(err);
	if (r == JQ_ERROR)
		match_fail(cc, "jq: %s", *err ? err : "does not compile");
	else if (r == JQ_LATE || r == JQ_DIED)
		match_fail(cc, "jq: cannot be compiled within its budget (10 s or "
		    "ten times JQ_TIME_MS, and %ld MiB)", match_jq_mb());
	else if (match_jq_trying())
		jq_trial(cc, prog);
	n->prog = mem_strdup(prog);
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
		match_add_kid(n = match_node_new(C_NOT, 0), compile_cond(cc, v));
		return n;
	}
	if (!strcmp(k, "victim") || !strcmp(k, "attacker") ||
	    !strcmp(k, "final_blow") || !strcmp(k, "involved"))
		return compile_who(cc, v, *k == 'v' ? C_VICTIM : *k == 'a' ?
		    C_ATTACKER : *k == 'f' ? C_FINAL : C_INVOLVED);
	if ((i = index_of(k, place_keys)) >= 0) {
		match_compile_ents(cc, v, &(n = match_node_new(C_PLACE, i))->ents, 1);
		return n;
	}
	if ((i = index_of(k, measure_keys)) >= 0)
		return match_compile_range_node(cc, v, C_MEASURE, i, RANGE_ANY);
	if ((i = index_of(k, flag_keys)) >= 0) {
		match_want_bool(cc, v, &(n = match_node_new(C_FLAG, i))->b);
		return n;
	}
	if (!strcmp(k, "security"))
		return match_compile_range_node(cc, v, C_SECURITY, 0, RANGE_ANY);
	if (!strcmp(k, "age"))
		return match_compile_range_node(cc, v, C_AGE, 0, RANGE_DURATION);
	if (!strcmp(k, "location")) {
		match_compile_ents(cc, v, &(n = match_node_new(C_LOCATION, 0))->ents, 0);
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
	struct node *n = match_node_new(C_AND, 0);
	const char *k;
	json_t *v;

	if (!json_is_object(j)) {
		match_fail(cc, "expected an object (a condition)");
		return n;
	}
	json_object_foreach((json_t *)j, k, v) {
		size_t o;

		if (*k == '_')
			continue;
		if (index_of(k, cond_keys) < 0) {
			match_unknown_key(cc, k, cond_keys);
			continue;
		}
		o = match_push_key(cc, k);
		match_add_kid(n, cond_key(cc, k, v));
		match_pop(cc, o);
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

/* Does the condition hold a "jq" key anywhere (before compiling it)? */
static int
has_jq_key(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(j))
		json_array_foreach(j, i, v)
			if (has_jq_key(v))
				return 1;
	if (json_is_object(j))
		json_object_foreach((json_t *)j, k, v)
			if (!strcmp(k, "jq") || has_jq_key(v))
				return 1;
	return 0;
}

/* .stream as jq sees it: the webhook URLs written in the file cut as in
 * the logs ("discord:…/1234"), since a program could print them through
 * error().  A "$NAME" stays: the URL is in the poster's environment. */
static char *
stream_text(const json_t *stream)
{
	static const char *const kinds[] = { "discord", "slack" };
	json_t *c = json_deep_copy(stream), *t;
	char buf[256], *s;
	size_t i;

	json_array_foreach(json_object_get(c, "targets"), i, t)
		for (int k = 0; k < 2; k++) {
			const char *u = json_string_value(json_object_get(t, kinds[k]));

			if (u && *u != '$')
				json_object_set_new(t, kinds[k], json_string(log_url(u, buf, sizeof buf)));
		}
	s = c ? mem_check(json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY)) : mem_strdup("null");
	json_decref(c);
	return s;
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
	if (j && has_jq_key(j)) {
		c->stream = stream_text(stream);
		c->stream_len = strlen(c->stream);
	}
	c->root = compile_cond(&cc, j ? j : empty);
	json_decref(empty);
	c->stream_id = mem_strdup(id ? id : "-");
	rank(c->root);
	collect_nears(c, c->root);
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
	match_node_free(c->root);
	free(c->nears);
	free(c->stream_id);
	free(c->stream);
	free(c);
}

const struct match_near *const *
match_nears(const struct match_cond *c, size_t *n)
{
	*n = c->nnears;
	return c->nears;
}
