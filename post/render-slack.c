/* render-slack: a pair as a Slack incoming-webhook body (blocks in an
 * attachment, compact, link) and the check of a body against Slack's
 * limits; see render.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/ndjson.h"
#include "post/render.h"
#include "post/render-ctx.h"

/* ---- Slack ---- */

/* Discord spellings are translated; ids of Discord roles cannot ping here. */
static void
slack_mentions(const json_t *match, struct buf *b)
{
	const char *m = render_str(match, "mention");
	char tok[128];

	while (m && *m) {
		size_t n = strcspn(m, " \t\n");
		const char *out = tok;

		snprintf(tok, sizeof tok, "%.*s", (int)(n < 127 ? n : 127), m);
		m += n + strspn(m + n, " \t\n");
		if (!strcmp(tok, "@here"))
			out = "<!here>";
		else if (!strcmp(tok, "@everyone") || !strcmp(tok, "@channel"))
			out = "<!channel>";
		else if (strncmp(tok, "<!", 2) && strncmp(tok, "<@U", 3) &&
		    strncmp(tok, "<@W", 3) && strncmp(tok, "<!subteam^", 10))
			continue;
		if (b->len)
			buf_addc(b, ' ');
		buf_add(b, out, strlen(out));
	}
}

static json_t *
mrkdwn(const char *text, size_t max)
{
	char *cut = render_cut(text, max);
	json_t *o = json_pack("{s:s,s:s}", "type", "mrkdwn", "text", cut);

	free(cut);
	return o;
}

static json_t *
slack_blocks(const struct render_ctx *c, const char *url)
{
	struct buf s = { 0 }, t = { 0 }, names[4] = { 0 }, values[4] = { 0 };
	json_t *blocks = json_array(), *fl = json_array(), *sec;
	const json_t *ship = render_at(c->mail, "victim.ship.id");
	int n = render_fields(c, names, values);
	char tmp[48];

	buf_add(&s, "*<", 2);
	buf_add(&s, url, strlen(url));
	buf_addc(&s, '|');
	render_title(c, &t);
	render_esc(c, &s, t.p);
	buf_add(&s, ">*\n", 3);
	render_body_text(c, &s);
	sec = json_pack("{s:s,s:o}", "type", "section", "text", mrkdwn(s.p, 3000));
	if (json_is_integer(ship)) {
		snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(ship));
		json_object_set_new(sec, "accessory", json_pack("{s:s,s:o,s:s}",
		    "type", "image", "image_url", json_sprintf(
		    "https://images.evetech.net/types/%s/render?size=128", tmp),
		    "alt_text", "ship"));
	}
	json_array_append_new(blocks, sec);
	for (int i = 0; i < n; i++) {
		buf_free(&s);
		buf_addc(&s, '*');
		buf_add(&s, names[i].p, names[i].len);
		buf_add(&s, "*\n", 2);
		buf_add(&s, values[i].p, values[i].len);
		json_array_append_new(fl, mrkdwn(s.p, 2000));
		buf_free(&names[i]);
		buf_free(&values[i]);
	}
	json_array_append_new(blocks, json_pack("{s:s,s:o}", "type", "section", "fields", fl));
	buf_free(&s);
	if (render_show(c, "stream_name"))
		render_esc(c, &s, render_stream_name(c));
	if (render_str(c->mail, "time")) {
		const char *tm = render_str(c->mail, "time");

		if (s.len)
			buf_add(&s, " \xc2\xb7 ", 4);
		buf_add(&s, tmp, snprintf(tmp, sizeof tmp, "%.10s %.5s UTC", tm,
		    strlen(tm) > 11 ? tm + 11 : ""));
	}
	if (s.len)
		json_array_append_new(blocks, json_pack("{s:s,s:[o]}", "type", "context",
		    "elements", mrkdwn(s.p, 2000)));
	buf_free(&s);
	buf_free(&t);
	return blocks;
}

json_t *
render_slack(const json_t *pair, const json_t *target)
{
	struct render_ctx c;
	struct buf text = { 0 }, line = { 0 };
	const char *st = render_style(target), *url;
	char tmp[64], hex[8], *cut;
	json_t *body = json_object();

	render_ctx_init(&c, pair, target, 1);
	url = render_kill_url(&c, tmp, sizeof tmp);
	slack_mentions(c.match, &text);
	if (!strcmp(st, "link")) {
		buf_addc(&line, '<');
		buf_add(&line, url, strlen(url));
		buf_addc(&line, '>');
	} else {
		struct buf t = { 0 };

		render_title(&c, &t);
		buf_addc(&line, '<');
		buf_add(&line, url, strlen(url));
		buf_addc(&line, '|');
		render_esc(&c, &line, t.p);
		buf_addc(&line, '>');
		if (!strcmp(st, "compact"))
			render_compact_text(&c, &line);
		buf_free(&t);
	}
	if (text.len)
		buf_addc(&text, ' ');
	buf_add(&text, line.p, line.len);
	cut = render_cut(text.p, 3000);
	json_object_set_new(body, "text", json_string(cut));
	free(cut);
	json_object_set_new(body, "unfurl_links", json_boolean(!strcmp(st, "link")));
	if (!strcmp(st, "embed")) {
		snprintf(hex, sizeof hex, "#%06lx", render_color(&c));
		json_object_set_new(body, "attachments", json_pack("[{s:s,s:o,s:o}]",
		    "color", hex, "fallback", json_incref(json_object_get(body, "text")),
		    "blocks", slack_blocks(&c, url)));
	}
	buf_free(&text);
	buf_free(&line);
	return body;
}

/* ---- Checks ---- */

#define FAIL(...) do { snprintf(why, n, __VA_ARGS__); return -1; } while (0)

static int
slack_blocks_check(const json_t *bs, int *count, char *why, size_t n)
{
	const json_t *b, *f;
	size_t i, j;

	json_array_foreach(bs, i, b) {
		const char *type = render_str(b, "type");

		if (++*count > 50) FAIL("more than 50 blocks");
		if (!type) FAIL("block %zu without type", i);
		if (!strcmp(type, "header") && render_len_of(b, "text.text", NULL) > 150)
			FAIL("header over 150");
		if (!strcmp(type, "section") && render_len_of(b, "text.text", NULL) > 3000)
			FAIL("section text over 3000");
		if (json_array_size(json_object_get(b, "fields")) > 10)
			FAIL("more than 10 fields");
		json_array_foreach(json_object_get(b, "fields"), j, f)
			if (render_len_of(f, "text", NULL) > 2000) FAIL("field over 2000");
		if (json_array_size(json_object_get(b, "elements")) > 10)
			FAIL("more than 10 context elements");
		if (render_len_of(b, "accessory.alt_text", NULL) > 2000) FAIL("alt_text over 2000");
	}
	return 0;
}

int
render_slack_check(const json_t *body, char *why, size_t n)
{
	const json_t *as = json_object_get(body, "attachments"), *a;
	int count = 0;
	size_t i;

	if (!render_len_of(body, "text", NULL)) FAIL("no text");
	if (render_len_of(body, "text", NULL) > 40000) FAIL("text over 40000");
	if (slack_blocks_check(json_object_get(body, "blocks"), &count, why, n) < 0)
		return -1;
	if (json_array_size(as) > 100) FAIL("too many attachments");
	json_array_foreach(as, i, a)
		if (slack_blocks_check(json_object_get(a, "blocks"), &count, why, n) < 0)
			return -1;
	return 0;
}

/* ---- Batching ---- */

/* The attachments of posts with the same settings; their texts (the
 * notification, and the line above the attachments) one per line. */
int
render_slack_merge(json_t *batch, const json_t *body, int max)
{
	json_t *as = json_object_get(batch, "attachments"), *more = json_object_get(body, "attachments");
	const char *t0 = render_str(batch, "text"), *t1 = render_str(body, "text");
	size_t n = json_array_size(as), i;
	json_t *old;
	char why[128];

	if (!json_array_size(more) || !n || !t0 || !t1 || json_object_get(batch, "blocks") ||
	    json_object_get(body, "blocks") || n + json_array_size(more) > (size_t)max ||
	    !json_equal(json_object_get(batch, "unfurl_links"), json_object_get(body, "unfurl_links")))
		return -1;
	old = json_incref(json_object_get(batch, "text"));
	json_object_set_new(batch, "text", json_sprintf("%s\n%s", t0, t1));
	json_array_extend(as, more);
	if (render_len_of(batch, "text", NULL) > 3000 || render_slack_check(batch, why, sizeof why) < 0) {
		for (i = json_array_size(as); i > n; i--)
			json_array_remove(as, i - 1);
		json_object_set_new(batch, "text", old);
		return -1;
	}
	json_decref(old);
	return 0;
}
