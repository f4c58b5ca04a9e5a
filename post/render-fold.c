/* render-fold: the message of a fight (fold.h), for Discord (an embed) and
 * for Slack (blocks in an attachment): the kills and losses from the
 * stream's point of view with their ISK, the three costliest kills, the
 * ships lost, and the time it covers.  Names come from players: escaped
 * and cut as in every post (render-ctx.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/ndjson.h"
#include "post/fold.h"
#include "post/render.h"
#include "post/render-ctx.h"

#define TOP 3			/* the costliest kills shown */
#define SHIPS 10		/* ship lines before "+N more" */

/* "Fight in SYSTEM (REGION)", plain text. */
static void
title(const struct fight *f, struct buf *b)
{
	char tmp[48];

	buf_add(b, "Fight in ", 9);
	if (f->sys)
		buf_add(b, f->sys, strlen(f->sys));
	else
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, "#%" JSON_INTEGER_FORMAT, f->system));
	if (f->region) {
		buf_add(b, " (", 2);
		buf_add(b, f->region, strlen(f->region));
		buf_addc(b, ')');
	}
}

static long long
first_t(const struct fight *f, size_t n, int last)
{
	long long t = f->k[0].t;

	for (size_t i = 1; i < n; i++)
		if (last ? f->k[i].t > t : f->k[i].t < t)
			t = f->k[i].t;
	return t;
}

/* zKillboard's page of the kills around a system and an hour. */
static const char *
related_url(const struct fight *f, size_t n, char *buf, size_t len)
{
	time_t t = (time_t)first_t(f, n, 0);
	struct tm tm;
	char h[16];

	gmtime_r(&t, &tm);
	strftime(h, sizeof h, "%Y%m%d%H00", &tm);
	snprintf(buf, len, "https://zkillboard.com/related/%" JSON_INTEGER_FORMAT "/%s/",
	    f->system, h);
	return buf;
}

/* "7 · 1.20b ISK" for the kills of a kind. */
static void
side(const struct fight *f, size_t n, char kind, struct buf *b, int *count)
{
	char tmp[48], isk[32];
	double v = 0;
	int c = 0;

	for (size_t i = 0; i < n; i++)
		if (f->k[i].kind == kind) {
			c++;
			v += f->k[i].value;
		}
	*count = c;
	buf_add(b, tmp, snprintf(tmp, sizeof tmp, "%d \xc2\xb7 %s ISK", c,
	    render_isk(v, isk, sizeof isk)));
}

/* The TOP costliest, one a line: "[Ship](url) · Victim · 1.20b ISK". */
static void
biggest(const struct render_ctx *c, const struct fight *f, size_t n, struct buf *b)
{
	size_t pick[TOP], k = 0;
	char tmp[96], isk[32];

	for (; k < TOP && k < n; k++) {
		size_t best = (size_t)-1;

		for (size_t i = 0; i < n; i++) {
			int taken = 0;

			for (size_t j = 0; j < k; j++)
				taken |= pick[j] == i;
			if (!taken && (best == (size_t)-1 || f->k[i].value > f->k[best].value))
				best = i;
		}
		pick[k] = best;
	}
	for (size_t j = 0; j < k; j++) {
		const struct fold_kill *x = &f->k[pick[j]];

		snprintf(tmp, sizeof tmp, "https://zkillboard.com/kill/%" JSON_INTEGER_FORMAT "/",
		    x->id);
		if (j)
			buf_addc(b, '\n');
		buf_add(b, c->slack ? "<" : "[", 1);
		if (c->slack) {
			buf_add(b, tmp, strlen(tmp));
			buf_addc(b, '|');
		}
		render_esc(c, b, x->ship);
		if (!c->slack) {
			buf_add(b, "](", 2);
			buf_add(b, tmp, strlen(tmp));
		}
		buf_add(b, c->slack ? ">" : ")", 1);
		buf_add(b, " \xc2\xb7 ", 4);
		render_esc(c, b, x->victim);
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, " \xc2\xb7 %s ISK",
		    render_isk(x->value, isk, sizeof isk)));
	}
}

static void
ships(const struct render_ctx *c, const struct fight *f, size_t n, struct buf *b)
{
	static struct render_tally t;

	memset(&t, 0, sizeof t);
	for (size_t i = 0; i < n; i++)
		render_tally_add(&t, f->k[i].ship);
	render_tally_text(c, b, &t, SHIPS);
}

/* "Stream · 12 kills · 2026-12-03 19:03–19:17 UTC · updating". */
static void
footer(const struct render_ctx *c, const struct fight *f, size_t n, int over, struct buf *b)
{
	time_t t0 = (time_t)first_t(f, n, 0), t1 = (time_t)first_t(f, n, 1);
	long long s = (long long)(t1 - t0);
	struct tm a, z;
	char d0[32], d1[32], tmp[64];

	gmtime_r(&t0, &a);
	gmtime_r(&t1, &z);
	strftime(d0, sizeof d0, "%Y-%m-%d %H:%M", &a);
	strftime(d1, sizeof d1, a.tm_yday == z.tm_yday && a.tm_year == z.tm_year ?
	    "%H:%M" : "%Y-%m-%d %H:%M", &z);
	if (f->sname && c->slack) {
		render_esc(c, b, f->sname);
		buf_add(b, " \xc2\xb7 ", 4);
	} else if (f->sname) {	/* a footer is plain text on Discord */
		char *cut = render_cut(f->sname, 100);

		buf_add(b, cut, strlen(cut));
		buf_add(b, " \xc2\xb7 ", 4);
		free(cut);
	}
	buf_add(b, tmp, snprintf(tmp, sizeof tmp, "%zu kill%s \xc2\xb7 %s\xe2\x80\x93%s UTC"
	    " \xc2\xb7 ", n, n == 1 ? "" : "s", d0, d1));
	if (!over)
		buf_add(b, "updating", 8);
	else if (s < 60)
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, "fight over, lasted %llds", s));
	else if (s < 3600)
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, "fight over, lasted %lldm", s / 60));
	else
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, "fight over, lasted %lldh%02lldm",
		    s / 3600, s / 60 % 60));
}

/* Kills outnumber losses: the stream's kill colour, else its loss colour. */
static long
color(const struct fight *f, size_t n)
{
	const json_t *v;
	int k = 0, l = 0;

	for (size_t i = 0; i < n; i++) {
		k += f->k[i].kind == 'k';
		l += f->k[i].kind == 'l';
	}
	v = json_object_get(f->color, k >= l ? "kill" : "loss");
	if (json_is_string(v) && json_string_value(v)[0] == '#')
		return strtol(json_string_value(v) + 1, NULL, 16) & 0xffffff;
	return k >= l ? 0x2ecc71 : 0xe74c3c;
}

/* The fields both platforms show: names and values; how many. */
static int
fields(const struct render_ctx *c, const struct fight *f, size_t n, struct buf *names,
    struct buf *values)
{
	static const char kinds[] = "kln";
	static const char *const label[] = { "Kills", "Losses", "Others" };
	int k = 0, count;

	for (int i = 0; i < 3; i++) {
		side(f, n, kinds[i], &values[k], &count);
		if (i < 2 || count) {
			buf_add(&names[k], label[i], strlen(label[i]));
			k++;
		} else
			buf_free(&values[k]);
	}
	buf_add(&names[k], "Biggest kills", 13);
	biggest(c, f, n, &values[k++]);
	buf_add(&names[k], "Ships lost", 10);
	ships(c, f, n, &values[k++]);
	return k;
}

json_t *
render_fold_discord(const struct fight *f, size_t n, int over)
{
	struct render_ctx c = { 0 };
	struct buf t = { 0 }, ft = { 0 }, names[5] = { 0 }, values[5] = { 0 };
	char url[128], when[32], *cut, *fcut;
	json_t *e = json_object(), *fl = json_array(), *body = json_object();
	time_t t0 = (time_t)first_t(f, n, 0);
	size_t used;
	struct tm tm;
	int k = fields(&c, f, n, names, values);

	title(f, &t);
	cut = render_cut(t.p, 256);
	footer(&c, f, n, over, &ft);
	fcut = render_cut(ft.p, 256);
	used = render_units(cut) + render_units(fcut);
	json_object_set_new(e, "title", json_string(cut));
	json_object_set_new(e, "url", json_string(related_url(f, n, url, sizeof url)));
	json_object_set_new(e, "color", json_integer(color(f, n)));
	for (int i = 0; i < k; i++) {
		/* the last field, the ships, takes what the total leaves */
		size_t room = i == k - 1 && 6000 - used - names[i].len < 1024 ?
		    6000 - used - names[i].len : 1024;
		char *v = render_cut(values[i].p, room);

		used += render_units(names[i].p) + render_units(v);
		json_array_append_new(fl, json_pack("{s:s,s:s,s:b}", "name", names[i].p,
		    "value", v, "inline", i < k - 2));
		free(v);
		buf_free(&names[i]);
		buf_free(&values[i]);
	}
	json_object_set_new(e, "fields", fl);
	json_object_set_new(e, "footer", json_pack("{s:s}", "text", fcut));
	gmtime_r(&t0, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(e, "timestamp", json_string(when));
	render_discord_identity(f->target, body);
	/* nothing in a fight's message pings */
	json_object_set_new(body, "allowed_mentions", json_pack("{s:[]}", "parse"));
	json_object_set_new(body, "embeds", json_pack("[o]", e));
	free(cut);
	free(fcut);
	buf_free(&t);
	buf_free(&ft);
	return body;
}

static json_t *
mrkdwn(const char *text, size_t max)
{
	char *cut = render_cut(text, max);
	json_t *o = json_pack("{s:s,s:s}", "type", "mrkdwn", "text", cut);

	free(cut);
	return o;
}

json_t *
render_fold_slack(const struct fight *f, size_t n, int over)
{
	struct render_ctx c = { .slack = 1 };
	struct buf t = { 0 }, s = { 0 }, names[5] = { 0 }, values[5] = { 0 };
	char url[128], hex[8], *cut;
	json_t *blocks = json_array(), *fl = json_array(), *body;
	int k = fields(&c, f, n, names, values);

	title(f, &t);
	buf_add(&s, "*<", 2);
	buf_add(&s, related_url(f, n, url, sizeof url), strlen(url));
	buf_addc(&s, '|');
	render_esc(&c, &s, t.p);
	buf_add(&s, ">*", 2);
	json_array_append_new(blocks, json_pack("{s:s,s:o}", "type", "section", "text",
	    mrkdwn(s.p, 3000)));
	for (int i = 0; i < k; i++) {
		buf_free(&s);
		buf_addc(&s, '*');
		buf_add(&s, names[i].p, names[i].len);
		buf_add(&s, "*\n", 2);
		buf_add(&s, values[i].p, values[i].len);
		if (i < k - 2)
			json_array_append_new(fl, mrkdwn(s.p, 2000));
		else {
			if (i == k - 2)
				json_array_append_new(blocks, json_pack("{s:s,s:O}", "type",
				    "section", "fields", fl));
			json_array_append_new(blocks, json_pack("{s:s,s:o}", "type", "section",
			    "text", mrkdwn(s.p, 3000)));
		}
		buf_free(&names[i]);
		buf_free(&values[i]);
	}
	buf_free(&s);
	footer(&c, f, n, over, &s);
	cut = render_cut(s.p, 2000);
	json_array_append_new(blocks, json_pack("{s:s,s:[{s:s,s:s}]}", "type", "context",
	    "elements", "type", "mrkdwn", "text", cut));
	free(cut);
	buf_free(&s);
	render_esc(&c, &s, t.p);
	buf_add(&s, ": ", 2);
	buf_add(&s, url, snprintf(url, sizeof url, "%zu kill%s", n, n == 1 ? "" : "s"));
	cut = render_cut(s.p, 3000);
	snprintf(hex, sizeof hex, "#%06lx", color(f, n));
	body = json_pack("{s:s,s:b,s:[{s:s,s:s,s:o}]}", "text", cut, "unfurl_links", 0,
	    "attachments", "color", hex, "fallback", cut, "blocks", blocks);
	json_decref(fl);
	free(cut);
	buf_free(&s);
	buf_free(&t);
	return body;
}
