/* stream: validate and compile streams (insight-streams(5)); see stream.h.
 * Reading them from files and directories is stream-file.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/mem.h"
#include "json/ndjson.h"
#include "match/stream.h"

/* Where errors go while one stream is validated. */
struct ctx {
	const char *origin;
	stream_err_fn *err;
	void *arg;
	int nerr;
	char path[256];
};

__attribute__((format(printf, 3, 4)))
static void
fail(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->nerr++;
	if (c->err)
		c->err(c->arg, c->origin, path, msg);
}

/* match_compile reports through here. */
static void
cond_err(void *arg, const char *path, const char *msg)
{
	fail(arg, path, "%s", msg);
}

void
stream_err_print(void *arg, const char *origin, const char *path, const char *msg)
{
	fprintf(arg ? arg : stdout, "%s: %s: %s\n", origin, path, msg);
}

static const char *
pathf(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->path, sizeof c->path, fmt, ap);
	va_end(ap);
	return c->path;
}

static int
in_list(const char *k, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(k, *list))
			return 1;
	return 0;
}

/* Every key of obj that is neither a comment nor in valid is an error. */
static int
check_keys(struct ctx *c, const json_t *obj, const char *base,
    const char *const *valid)
{
	const char *k;
	json_t *v;
	int ok = 1;

	json_object_foreach((json_t *)obj, k, v)
		if (*k != '_' && !in_list(k, valid)) {
			fail(c, pathf(c, "%s.%s", base, k),
			    "unknown key (did you mean \"%s\"?)", match_nearest(k, valid));
			ok = 0;
		}
	return ok;
}

int
stream_id_valid(const char *id)
{
	if (!id || !((*id >= 'a' && *id <= 'z') || (*id >= '0' && *id <= '9')))
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(id);
}

int
stream_in_shard(const char *id, unsigned k, unsigned n)
{
	return n <= 1 || hash_fnv1a(id, strlen(id)) % n == k;
}

/* ------------------------------------------------------------- targets */

static int
env_name(const char *s)
{
	if (*s++ != '$' || !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") == strlen(s);
}

static int
http_url(const char *s)
{
	return (!strncmp(s, "http://", 7) && s[7]) || (!strncmp(s, "https://", 8) && s[8]);
}

static const char *
url_of(struct ctx *c, const json_t *v, const char *path, int env_ok)
{
	const char *s = json_string_value(v);

	if (s && (http_url(s) || (env_ok && env_name(s))))
		return s;
	fail(c, path, env_ok ? "expected an http(s) URL or \"$NAME\" (read from the "
	    "poster's environment)" : "expected an http(s) URL");
	return NULL;
}

static const char *const target_keys[] = { "discord", "slack", "stdout",
	"style", "username", "avatar_url", NULL };

static void
target_kind(struct ctx *c, const json_t *j, struct stream_target *t, const char *base)
{
	const json_t *d = json_object_get(j, "discord"), *s = json_object_get(j, "slack");
	const json_t *o = json_object_get(j, "stdout");

	if (!!d + !!s + !!o != 1) {
		fail(c, base, d || s || o ? "a target has only one of \"discord\", "
		    "\"slack\", \"stdout\"" : "a target needs one of \"discord\", "
		    "\"slack\", \"stdout\"");
		return;
	}
	t->kind = d ? STREAM_DISCORD : s ? STREAM_SLACK : STREAM_STDOUT;
	if (o && !json_is_true(o))
		fail(c, pathf(c, "%s.stdout", base), "expected true");
	else if (!o)
		t->url = url_of(c, d ? d : s, pathf(c, "%s.%s", base, d ? "discord" : "slack"), 1);
}

static void
target_extras(struct ctx *c, const json_t *j, struct stream_target *t, const char *base)
{
	static const char *const styles[] = { "embed", "compact", "link", NULL };
	const json_t *style = json_object_get(j, "style"), *u = json_object_get(j, "username");
	const json_t *av = json_object_get(j, "avatar_url");

	t->style = "embed";
	if (style && !(json_is_string(style) && in_list(json_string_value(style), styles)))
		fail(c, pathf(c, "%s.style", base), "expected \"embed\", \"compact\" or \"link\"");
	else if (style)
		t->style = json_string_value(style);
	if ((u || av) && t->kind != STREAM_DISCORD)
		fail(c, pathf(c, "%s.%s", base, u ? "username" : "avatar_url"),
		    "only Discord targets take a username and an avatar_url");
	else if (u && !(t->username = json_string_value(u)))
		fail(c, pathf(c, "%s.username", base), "expected a string");
	if (av && t->kind == STREAM_DISCORD)
		t->avatar_url = url_of(c, av, pathf(c, "%s.avatar_url", base), 0);
}

static void
load_targets(struct ctx *c, struct stream *s, const json_t *j)
{
	size_t i;
	json_t *v;
	char base[64];

	if (!j) {
		fail(c, "$", "missing \"targets\" (at least one target)");
		return;
	}
	if (!json_is_array(j) || !json_array_size(j)) {
		fail(c, "$.targets", "expected a list of at least one target");
		return;
	}
	s->targets = mem_calloc(json_array_size(j), sizeof *s->targets);
	json_array_foreach(j, i, v) {
		struct stream_target *t = &s->targets[s->ntargets++];

		snprintf(base, sizeof base, "$.targets[%zu]", i);
		if (!json_is_object(v)) {
			fail(c, base, "expected a target object");
			continue;
		}
		check_keys(c, v, base, target_keys);
		target_kind(c, v, t, base);
		target_extras(c, v, t, base);
	}
}

/* ------------------------------------------------------------ mentions */

static const char *const mention_keys[] = { "when", "content", "max_age",
	"cooldown", NULL };

static double
duration_of(struct ctx *c, const json_t *j, const char *k, const char *base, double def)
{
	const json_t *v = json_object_get(j, k);
	double d;

	if (!v)
		return def;
	if (match_duration(v, &d) < 0 || d < 0) {
		fail(c, pathf(c, "%s.%s", base, k), "expected a duration, 0 or more "
		    "(seconds, or \"90s\", \"30m\", \"2h\", \"7d\")");
		return def;
	}
	return d;
}

static void
load_mention(struct ctx *c, struct stream *s, const json_t *j, const char *base)
{
	struct stream_mention *m = &s->mentions[s->nmentions++];
	const json_t *when = json_object_get(j, "when");
	char path[300];

	m->max_age = -1;
	if (!json_is_object(j)) {
		fail(c, base, "expected a mention rule {\"when\", \"content\", "
		    "\"max_age\", \"cooldown\"}");
		return;
	}
	check_keys(c, j, base, mention_keys);
	m->content = json_string_value(json_object_get(j, "content"));
	if (!m->content || !*m->content)
		fail(c, pathf(c, "%s.content", base), "expected a non-empty string");
	snprintf(path, sizeof path, "%s.when", base);
	if (when)
		m->when = match_compile(when, path, s->json, cond_err, c);
	m->max_age = duration_of(c, j, "max_age", base, -1);
	m->cooldown = duration_of(c, j, "cooldown", base, 0);
}

static void
load_mentions(struct ctx *c, struct stream *s, const json_t *j)
{
	size_t i;
	json_t *v;
	char base[64];

	if (!j)
		return;
	if (!json_is_array(j)) {
		fail(c, "$.mentions", "expected a list of mention rules");
		return;
	}
	s->mentions = mem_calloc(json_array_size(j), sizeof *s->mentions);
	json_array_foreach(j, i, v) {
		snprintf(base, sizeof base, "$.mentions[%zu]", i);
		load_mention(c, s, v, base);
	}
}

/* ------------------------------------------------------------- display */

static int
color_ok(const char *s)
{
	return s && strlen(s) == 7 && *s == '#' &&
	    strspn(s + 1, "0123456789abcdefABCDEF") == 6;
}

static void
load_colors(struct ctx *c, struct stream *s, const json_t *j)
{
	static const char *const keys[] = { "kill", "loss", "neutral", NULL };

	if (!json_is_object(j)) {
		fail(c, "$.display.color", "expected {\"kill\", \"loss\", \"neutral\"}");
		return;
	}
	check_keys(c, j, "$.display.color", keys);
	for (int k = 0; keys[k]; k++) {
		const json_t *v = json_object_get(j, keys[k]);

		if (v && !color_ok(json_string_value(v)))
			fail(c, pathf(c, "$.display.color.%s", keys[k]),
			    "expected a colour \"#rrggbb\"");
		else if (v)
			s->display.color[k] = json_string_value(v);
	}
}

static void
load_show(struct ctx *c, struct stream *s, const json_t *j)
{
	static const char *const keys[] = { "value", "distance", "fleet",
		"stream_name", NULL };
	int *flags[] = { &s->display.show_value, &s->display.show_distance,
		&s->display.show_fleet, &s->display.show_stream_name };

	if (!json_is_object(j)) {
		fail(c, "$.display.show", "expected {\"value\", \"distance\", "
		    "\"fleet\", \"stream_name\"}");
		return;
	}
	check_keys(c, j, "$.display.show", keys);
	for (int k = 0; keys[k]; k++) {
		const json_t *v = json_object_get(j, keys[k]);

		if (v && !json_is_boolean(v))
			fail(c, pathf(c, "$.display.show.%s", keys[k]), "expected true or false");
		else if (v)
			*flags[k] = json_is_true(v);
	}
}

static void
load_display(struct ctx *c, struct stream *s, const json_t *j)
{
	static const char *const keys[] = { "color", "show", NULL };
	static const char *const colors[] = { "#2ecc71", "#e74c3c", "#3498db" };

	for (int k = 0; k < 3; k++)
		s->display.color[k] = colors[k];
	s->display.show_value = s->display.show_distance = 1;
	s->display.show_fleet = s->display.show_stream_name = 1;
	if (!j)
		return;
	if (!json_is_object(j)) {
		fail(c, "$.display", "expected {\"color\", \"show\"}");
		return;
	}
	check_keys(c, j, "$.display", keys);
	if (json_object_get(j, "color"))
		load_colors(c, s, json_object_get(j, "color"));
	if (json_object_get(j, "show"))
		load_show(c, s, json_object_get(j, "show"));
}

/* ---------------------------------------------------------------- fold */

/* "fold": {"window": DURATION, "min": N}: a fight's kills become one
 * message in the posters (post/fold.c reads it from the pair's stream). */
static void
load_fold(struct ctx *c, const json_t *j)
{
	static const char *const keys[] = { "window", "min", NULL };
	const json_t *w = json_object_get(j, "window"), *m = json_object_get(j, "min");
	double d;

	if (!j)
		return;
	if (!json_is_object(j)) {
		fail(c, "$.fold", "expected {\"window\": DURATION, \"min\": N}");
		return;
	}
	check_keys(c, j, "$.fold", keys);
	if (!w)
		fail(c, "$.fold.window", "missing: the fight's window, a duration");
	else if (match_duration(w, &d) < 0 || d < 1 || d > 86400)
		fail(c, "$.fold.window", "expected a duration from 1s to 24h "
		    "(seconds, or \"90s\", \"10m\", \"2h\")");
	if (m && (!json_is_integer(m) || json_integer_value(m) < 2 ||
	    json_integer_value(m) > 1000))
		fail(c, "$.fold.min", "expected an integer from 2 to 1000");
}

/* ------------------------------------------------------------ a stream */

/* "id" is added to a file's object by stream_parse, which refuses a file
 * that has one. */
static const char *const top_keys[] = { "name", "enabled", "match", "targets",
	"mentions", "display", "description", "fold", "id", NULL };

static const char *
string_of(struct ctx *c, const json_t *j, const char *k)
{
	const json_t *v = json_object_get(j, k);

	if (v && !(json_is_string(v) && json_string_length(v)))
		fail(c, pathf(c, "$.%s", k), "expected a non-empty string");
	return json_string_value(v);
}

static void
load_top(struct ctx *c, struct stream *s)
{
	const json_t *j = s->json, *en = json_object_get(j, "enabled");

	s->name = string_of(c, j, "name");
	s->name = s->name && *s->name ? s->name : s->id;
	s->description = string_of(c, j, "description");
	s->enabled = 1;
	if (en && !json_is_boolean(en))
		fail(c, "$.enabled", "expected true or false");
	else if (en)
		s->enabled = json_is_true(en);
	s->match = match_compile(json_object_get(j, "match"), "$.match", j, cond_err, c);
	load_targets(c, s, json_object_get(j, "targets"));
	load_mentions(c, s, json_object_get(j, "mentions"));
	load_display(c, s, json_object_get(j, "display"));
	load_fold(c, json_object_get(j, "fold"));
}

/* Validate s->json (which carries "id" already) and fill s in. */
static struct stream *
finish(struct ctx *c, struct stream *s)
{
	struct buf b = { 0 };

	if (!json_is_object(s->json)) {
		fail(c, "$", "expected an object (a stream)");
		stream_free(s);
		return NULL;
	}
	check_keys(c, s->json, "$", top_keys);
	load_top(c, s);
	if (c->nerr) {
		stream_free(s);
		return NULL;
	}
	ndjson_dump(&b, s->json);
	s->text = b.p;
	s->len = b.len;
	s->rev = hash_fnv1a(s->text, s->len);
	return s;
}

static struct stream *
stream_new(const char *id)
{
	struct stream *s = mem_calloc(1, sizeof *s);

	s->id = mem_strdup(id);
	return s;
}

struct stream *
stream_parse(const char *id, const json_t *obj, const char *origin,
    stream_err_fn *err, void *arg)
{
	struct ctx c = { origin, err, arg, 0, "" };
	struct stream *s = stream_new(id);

	if (!stream_id_valid(id))
		fail(&c, "$", "the file name is not a valid stream id "
		    "([a-z0-9][a-z0-9._-]*, then .json)");
	if (json_object_get(obj, "id"))
		fail(&c, "$.id", "not allowed: the id is the file name");
	s->json = json_deep_copy(obj);
	if (json_is_object(s->json))
		json_object_set_new(s->json, "id", json_string(id));
	return finish(&c, s);
}

struct stream *
stream_from_pair(json_t *obj, const char *origin, stream_err_fn *err, void *arg)
{
	struct ctx c = { origin, err, arg, 0, "" };
	const char *id = json_string_value(json_object_get(obj, "id"));
	struct stream *s = stream_new(id ? id : "");

	if (!stream_id_valid(id))
		fail(&c, "$.id", "expected the stream id ([a-z0-9][a-z0-9._-]*)");
	s->json = json_incref(obj);
	return finish(&c, s);
}

void
stream_free(struct stream *s)
{
	if (!s)
		return;
	match_free(s->match);
	for (size_t i = 0; i < s->nmentions; i++)
		match_free(s->mentions[i].when);
	free(s->mentions);
	free(s->targets);
	free(s->text);
	json_decref(s->json);
	free(s->id);
	free(s);
}
