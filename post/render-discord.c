/* render-discord: a pair as a Discord webhook body (embed, compact, link)
 * and the check of a body against Discord's limits; see render.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/ndjson.h"
#include "post/render.h"
#include "post/render-ctx.h"

/* ---- Discord ---- */

/* Mentions: "@here"/"@everyone" (or Slack's <!here>), "<@&role>", "<@user>".
 * allowed_mentions names exactly these; anything else in content is inert. */
static void
discord_mentions(const json_t *match, struct buf *content, json_t *body)
{
	const char *m = render_str(match, "mention");
	json_t *parse = json_array(), *roles = json_array(), *users = json_array();
	char tok[128];

	while (m && *m) {
		size_t n = strcspn(m, " \t\n");
		unsigned long long id;
		char tail;

		snprintf(tok, sizeof tok, "%.*s", (int)(n < 127 ? n : 127), m);
		m += n + strspn(m + n, " \t\n");
		if (!*tok)
			continue;
		if (!strcmp(tok, "<!here>") || !strcmp(tok, "<!channel>") ||
		    !strcmp(tok, "<!everyone>"))
			snprintf(tok, sizeof tok, "%s", strcmp(tok, "<!here>") ? "@everyone" : "@here");
		if (!strcmp(tok, "@here") || !strcmp(tok, "@everyone")) {
			if (!json_array_size(parse))
				json_array_append_new(parse, json_string("everyone"));
		} else if (sscanf(tok, "<@&%llu%c", &id, &tail) == 2 && tail == '>') {
			if (json_array_size(roles) < 100)
				json_array_append_new(roles, json_sprintf("%llu", id));
		} else if ((sscanf(tok, "<@%llu%c", &id, &tail) == 2 ||
		    sscanf(tok, "<@!%llu%c", &id, &tail) == 2) && tail == '>') {
			if (json_array_size(users) < 100)
				json_array_append_new(users, json_sprintf("%llu", id));
		}
		if (content->len)
			buf_addc(content, ' ');
		buf_add(content, tok, strlen(tok));
	}
	json_object_set_new(body, "allowed_mentions",
	    json_pack("{s:o,s:o,s:o}", "parse", parse, "roles", roles, "users", users));
}

static json_t *
discord_fields(const struct render_ctx *c, size_t *units)
{
	struct buf names[4] = { 0 }, values[4] = { 0 };
	int n = render_fields(c, names, values);
	json_t *a = json_array();

	for (int i = 0; i < n; i++) {
		char *name = render_cut(names[i].p, 256), *val = render_cut(values[i].p, 1024);

		*units += render_units(name) + render_units(val);
		json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "name", name,
		    "value", val, "inline", i < 2));
		free(name);
		free(val);
		buf_free(&names[i]);
		buf_free(&values[i]);
	}
	return a;
}

static json_t *
discord_embed(const struct render_ctx *c)
{
	struct buf t = { 0 }, d = { 0 };
	char tmp[64], *cut;
	size_t used = 0;
	json_t *e = json_object();
	const json_t *ship = render_at(c->mail, "victim.ship.id"), *time = render_at(c->mail, "time");

	render_title(c, &t);
	cut = render_cut(t.p, 256);
	used += render_units(cut);
	json_object_set_new(e, "title", json_string(cut));
	free(cut);
	json_object_set_new(e, "url", json_string(render_kill_url(c, tmp, sizeof tmp)));
	json_object_set_new(e, "color", json_integer(render_color(c)));
	json_object_set_new(e, "fields", discord_fields(c, &used));
	if (render_show(c, "stream_name")) {
		cut = render_cut(render_stream_name(c), 256);
		used += render_units(cut);
		json_object_set_new(e, "footer", json_pack("{s:s}", "text", cut));
		free(cut);
	}
	if (json_is_string(time))
		json_object_set_new(e, "timestamp", json_string(json_string_value(time)));
	if (json_is_integer(ship))
		json_object_set_new(e, "thumbnail", json_pack("{s:o}", "url", json_sprintf(
		    "https://images.evetech.net/types/%" JSON_INTEGER_FORMAT "/render?size=128",
		    json_integer_value(ship))));
	render_body_text(c, &d);
	/* The 6000-unit total over the whole message is what remains for it. */
	cut = render_cut(d.p, used + 4096 > 6000 ? 6000 - used : 4096);
	json_object_set_new(e, "description", json_string(cut));
	free(cut);
	buf_free(&t);
	buf_free(&d);
	return e;
}

void
render_discord_identity(const json_t *target, json_t *body)
{
	const char *u = render_str(target, "username"), *a = render_str(target, "avatar_url");

	/* Discord refuses names holding "clyde" or "discord": drop, don't 400. */
	if (u && *u && !strcasestr(u, "clyde") && !strcasestr(u, "discord")) {
		char *cut = render_cut(u, 80);

		json_object_set_new(body, "username", json_string(cut));
		free(cut);
	}
	if (a && (!strncmp(a, "https://", 8) || !strncmp(a, "http://", 7)))
		json_object_set_new(body, "avatar_url", json_string(a));
}

json_t *
render_discord(const json_t *pair, const json_t *target)
{
	struct render_ctx c;
	struct buf content = { 0 }, line = { 0 };
	const char *st = render_style(target);
	char tmp[64], *cut;
	json_t *body = json_object();

	render_ctx_init(&c, pair, target, 0);
	render_discord_identity(target, body);
	discord_mentions(c.match, &content, body);
	if (!strcmp(st, "embed"))
		json_object_set_new(body, "embeds", json_pack("[o]", discord_embed(&c)));
	else if (!strcmp(st, "link")) {
		/* A bare URL, so that Discord unfurls it. */
		const char *u = render_kill_url(&c, tmp, sizeof tmp);

		buf_add(&line, u, strlen(u));
	} else {
		buf_add(&line, "**", 2);
		render_title(&c, &line);
		buf_add(&line, "**", 2);
		render_compact_text(&c, &line);
		/* <url> stops the unfurl: one line stays one line. */
		const char *u = render_kill_url(&c, tmp, sizeof tmp);

		buf_add(&line, " <", 2);
		buf_add(&line, u, strlen(u));
		buf_addc(&line, '>');
	}
	if (line.len) {
		if (content.len)
			buf_addc(&content, ' ');
		buf_add(&content, line.p, line.len);
	}
	if (content.len) {
		cut = render_cut(content.p, 2000);
		json_object_set_new(body, "content", json_string(cut));
		free(cut);
	}
	buf_free(&content);
	buf_free(&line);
	return body;
}

/* ---- Checks ---- */

#define FAIL(...) do { snprintf(why, n, __VA_ARGS__); return -1; } while (0)

static int
discord_embed_check(const json_t *e, size_t *total, char *why, size_t n)
{
	const json_t *fs = json_object_get(e, "fields"), *f;
	size_t i;

	if (render_len_of(e, "title", total) > 256) FAIL("title over 256");
	if (render_len_of(e, "description", total) > 4096) FAIL("description over 4096");
	if (render_len_of(e, "footer.text", total) > 2048) FAIL("footer over 2048");
	if (render_len_of(e, "author.name", total) > 256) FAIL("author over 256");
	if (json_array_size(fs) > 25) FAIL("more than 25 fields");
	json_array_foreach(fs, i, f) {
		size_t nl = render_len_of(f, "name", total), vl = render_len_of(f, "value", total);

		if (nl == 0 || nl > 256) FAIL("field %zu name length %zu", i, nl);
		if (vl == 0 || vl > 1024) FAIL("field %zu value length %zu", i, vl);
	}
	return 0;
}

int
render_discord_check(const json_t *body, char *why, size_t n)
{
	const json_t *es = json_object_get(body, "embeds"), *e;
	size_t i, total = 0, c = render_len_of(body, "content", NULL);

	if (c > 2000) FAIL("content over 2000");
	if (json_array_size(es) > 10) FAIL("more than 10 embeds");
	if (!c && !json_array_size(es)) FAIL("empty message");
	if (render_len_of(body, "username", NULL) > 80) FAIL("username over 80");
	json_array_foreach(es, i, e)
		if (discord_embed_check(e, &total, why, n) < 0)
			return -1;
	if (total > 6000) FAIL("embeds total %zu over 6000", total);
	return 0;
}

/* ---- Batching ---- */

/* Everything but the embeds is the same: one name, avatar, content and
 * mentions for the whole message. */
static int
discord_alike(const json_t *a, const json_t *b)
{
	const char *k;
	const json_t *v;

	if (json_object_size(a) != json_object_size(b))
		return 0;
	json_object_foreach((json_t *)a, k, v)
		if (strcmp(k, "embeds") && !json_equal(v, json_object_get(b, k)))
			return 0;
	return 1;
}

int
render_discord_merge(json_t *batch, const json_t *body, int max)
{
	json_t *es = json_object_get(batch, "embeds"), *more = json_object_get(body, "embeds");
	size_t n = json_array_size(es), i;
	char why[128];

	if (!json_array_size(more) || !n || !discord_alike(batch, body) ||
	    n + json_array_size(more) > (size_t)max)
		return -1;
	json_array_extend(es, more);
	if (render_discord_check(batch, why, sizeof why) < 0) {
		for (i = json_array_size(es); i > n; i--)
			json_array_remove(es, i - 1);
		return -1;
	}
	return 0;
}

/* ---- Edits ---- */

json_t *
render_discord_edit(const json_t *msg, size_t idx, const json_t *body)
{
	const json_t *es = json_object_get(msg, "embeds"), *be = json_object_get(body, "embeds");
	json_t *n;

	if (json_array_size(es) && json_array_size(be) == 1 && idx < json_array_size(es)) {
		n = json_deep_copy(es);
		json_array_set(n, idx, json_array_get(be, 0));
		return json_pack("{s:o}", "embeds", n);
	}
	if (!json_array_size(es) && !json_array_size(be) && idx == 0 &&
	    json_is_string(json_object_get(body, "content")))
		return json_pack("{s:O}", "content", json_object_get(body, "content"));
	return NULL;
}
