/* render: killmail posts for Discord and Slack; see render.h.  This file
 * holds what both platforms share (render-ctx.h); render-discord.c and
 * render-slack.c the envelopes and the checks of each.
 *
 * One description of the post serves both platforms; what differs is the
 * escaping of names (Discord markdown vs Slack's &<>), how a label or a link
 * is written, and the envelope (embed vs attachment with blocks).  Names come
 * from players, so every name is escaped and cut, and nothing a player wrote
 * can ping: mentions come only from match.mention. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"
#include "json/ndjson.h"
#include "post/render.h"
#include "post/render-ctx.h"

#define TOPN 5			/* fleet summary: the largest groups shown */
#define NAMECUT 100		/* any one name; EVE's are shorter, fakes are not */


const json_t *
render_at(const json_t *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof key, "%.*s", (int)n, path);
		o = json_is_object(o) ? json_object_get(o, key) : NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

const char *
render_str(const json_t *o, const char *path)
{
	return json_string_value(render_at(o, path));
}

/* display.show.KEY: true unless the stream says false. */
int
render_show(const struct render_ctx *c, const char *key)
{
	const json_t *v = json_object_get(json_object_get(c->display, "show"), key);

	return !json_is_false(v);
}

size_t
render_units(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if ((*s & 0xC0) != 0x80)
			n += ((unsigned char)*s >= 0xF0) ? 2 : 1;
	return n;
}

char *
render_cut(const char *s, size_t max)
{
	size_t n = 0, i = 0, keep = 0;
	char *r;

	if (render_units(s) <= max)
		return mem_strdup(s);
	/* Keep whole code points worth max-1 units, then the ellipsis. */
	while (s[i]) {
		size_t w = ((unsigned char)s[i] >= 0xF0) ? 2 : 1, j = i + 1;

		while ((s[j] & 0xC0) == 0x80)
			j++;
		if (n + w > max - 1)
			break;
		n += w;
		i = j;
		keep = i;
	}
	while (keep && s[keep - 1] == ' ')
		keep--;
	r = mem_calloc(keep + 4, 1);
	memcpy(r, s, keep);
	memcpy(r + keep, "\xe2\x80\xa6", 4);
	return r;
}

/* Append s cut to max units. */
static void
addcut(struct buf *b, const char *s, size_t max)
{
	char *t = render_cut(s, max);

	buf_add(b, t, strlen(t));
	free(t);
}

/* A name inside markdown: Discord gets backslashes and a zero-width space
 * after '@' (no "@everyone" in a name can ping); Slack gets &amp; &lt; &gt;. */
void
render_esc(const struct render_ctx *c, struct buf *b, const char *s)
{
	char *t = render_cut(s, NAMECUT);

	for (const char *p = t; *p; p++) {
		if (c->slack && (*p == '&' || *p == '<' || *p == '>'))
			buf_add(b, *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : "&gt;",
			    *p == '&' ? 5 : 4);
		else if (!c->slack && strchr("\\*_~`|[]<>", *p)) {
			buf_addc(b, '\\');
			buf_addc(b, *p);
		} else if (!c->slack && *p == '@')
			buf_add(b, "@\xe2\x80\x8b", 4);
		else
			buf_addc(b, *p);
	}
	free(t);
}

/* An entity's name; "#id" when ESI could not resolve it. */
static const char *
ename(const json_t *e, char *tmp, size_t n)
{
	const char *s = render_str(e, "name");

	if (s)
		return s;
	snprintf(tmp, n, "#%" JSON_INTEGER_FORMAT, json_integer_value(render_at(e, "id")));
	return tmp;
}

static void
label(const struct render_ctx *c, struct buf *b, const char *l)
{
	buf_add(b, c->slack ? "*" : "**", c->slack ? 1 : 2);
	buf_add(b, l, strlen(l));
	buf_add(b, c->slack ? ":* " : ":** ", c->slack ? 3 : 4);
}

/* "Pilot · Corp [TICK] · Alliance <ALLY>", each part when the party has it. */
static void
party(const struct render_ctx *c, struct buf *b, const json_t *p)
{
	static const char *keys[] = { "character", "corporation", "alliance", "faction" };
	char tmp[32];
	int any = 0;

	for (int i = 0; i < 4; i++) {
		const json_t *e = json_object_get(p, keys[i]);
		const char *tk = render_str(e, "ticker");

		if (!json_is_object(e) || (i == 3 && any))
			continue;
		if (any)
			buf_add(b, " \xc2\xb7 ", 4);
		render_esc(c, b, ename(e, tmp, sizeof tmp));
		if (tk) {
			render_esc(c, b, i == 2 ? " <" : " [");
			render_esc(c, b, tk);
			render_esc(c, b, i == 2 ? ">" : "]");
		}
		any = 1;
	}
	if (!any)
		buf_add(b, "unknown", 7);
}

static const json_t *
final_blow(const json_t *mail)
{
	const json_t *a = json_object_get(mail, "attackers"), *x;
	const json_t *fb = json_object_get(mail, "final_blow");
	size_t i;

	if (json_is_integer(fb) && (x = json_array_get(a, json_integer_value(fb))))
		return x;
	json_array_foreach(a, i, x)
		if (json_is_true(json_object_get(x, "final_blow")))
			return x;
	return json_array_get(a, 0);
}

static long
attacker_count(const json_t *mail)
{
	const json_t *n = json_object_get(mail, "attacker_count");

	if (json_is_integer(n))
		return (long)json_integer_value(n);
	return (long)json_array_size(json_object_get(mail, "attackers"));
}

const char *
render_isk(double v, char *buf, size_t n)
{
	static const char units[] = " kmbt";
	int u = 0;

	while (u < 4 && fabs(v) >= 999.5) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, fabs(v) < 9.995 ? "%.2f%c" : fabs(v) < 99.95 ?
		    "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

double
render_security(double s)
{
	if (s > 0 && s < 0.05)
		return 0.1;
	return round(s * 10) / 10;
}

const char *
render_sec_hex(double s)
{
	static const char *hex[] = { "#8D3163", "#731F1F", "#BB1116", "#CE440F",
		"#DC6C06", "#F5FF83", "#71E754", "#60DBA3", "#4ECEF8", "#399AEB",
		"#2C75E1" };
	int i = (int)lround(render_security(s) * 10);

	return hex[i < 0 ? 0 : i > 10 ? 10 : i];
}

const char *
render_sec_dot(double s)
{
	static const char *dot[] = { "\xf0\x9f\x9f\xa3", "\xf0\x9f\x94\xb4",
		"\xf0\x9f\x94\xb4", "\xf0\x9f\x9f\xa0", "\xf0\x9f\x9f\xa0",
		"\xf0\x9f\x9f\xa1", "\xf0\x9f\x9f\xa2", "\xf0\x9f\x9f\xa2",
		"\xf0\x9f\x94\xb5", "\xf0\x9f\x94\xb5", "\xf0\x9f\x94\xb5" };
	int i = (int)lround(render_security(s) * 10);

	return dot[i < 0 ? 0 : i > 10 ? 10 : i];
}

/* "<Ship> destroyed in <System> (<Region>)", plain text. */
void
render_title(const struct render_ctx *c, struct buf *b)
{
	char t1[32], t2[32];
	const json_t *sys = json_object_get(c->mail, "system");
	const char *region = render_str(sys, "region.name");

	addcut(b, ename(render_at(c->mail, "victim.ship"), t1, sizeof t1), NAMECUT);
	buf_add(b, " destroyed in ", 14);
	addcut(b, ename(sys, t2, sizeof t2), NAMECUT);
	if (region) {
		buf_add(b, " (", 2);
		addcut(b, region, NAMECUT);
		buf_addc(b, ')');
	}
}

const char *
render_kill_url(const struct render_ctx *c, char *tmp, size_t n)
{
	const char *u = render_str(c->mail, "url");

	if (u && (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7)))
		return u;
	snprintf(tmp, n, "https://zkillboard.com/kill/%" JSON_INTEGER_FORMAT "/",
	    json_integer_value(json_object_get(c->mail, "killmail_id")));
	return tmp;
}

/* "🟠 Amamake 0.4 · Heimatar" */
static void
system_line(const struct render_ctx *c, struct buf *b)
{
	const json_t *sys = json_object_get(c->mail, "system");
	const json_t *sec = json_object_get(sys, "security");
	const char *region = render_str(sys, "region.name");
	char tmp[32];

	if (json_is_number(sec)) {
		buf_add(b, render_sec_dot(json_number_value(sec)), 4);
		buf_addc(b, ' ');
	}
	render_esc(c, b, ename(sys, tmp, sizeof tmp));
	if (json_is_number(sec)) {
		snprintf(tmp, sizeof tmp, " %.1f", render_security(json_number_value(sec)));
		buf_add(b, tmp, strlen(tmp));
	}
	if (region) {
		buf_add(b, " \xc2\xb7 ", 4);
		render_esc(c, b, region);
	}
}

/* "4.2 ly / 7 jumps from Amamake"; 0 when there is no distance to show. */
static int
distance_line(const struct render_ctx *c, struct buf *b)
{
	const json_t *near = json_object_get(c->match, "near");
	const json_t *ly = json_object_get(near, "lightyears");
	const json_t *j = json_object_get(near, "jumps");
	char tmp[48];

	if (!json_is_object(near) || !render_show(c, "distance") ||
	    (!json_is_number(ly) && !json_is_integer(j)))
		return 0;
	if (json_is_number(ly))
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, "%.1f ly", json_number_value(ly)));
	if (json_is_number(ly) && json_is_integer(j))
		buf_add(b, " / ", 3);
	if (json_is_integer(j))
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT " jump%s",
		    json_integer_value(j), json_integer_value(j) == 1 ? "" : "s"));
	buf_add(b, " from ", 6);
	render_esc(c, b, json_is_object(json_object_get(near, "system")) ?
	    ename(json_object_get(near, "system"), tmp, sizeof tmp) :
	    json_is_string(json_object_get(near, "system")) ?
	    json_string_value(json_object_get(near, "system")) : "?");
	return 1;
}

/* The description: victim, final blow, system, distance. */
void
render_body_text(const struct render_ctx *c, struct buf *b)
{
	const json_t *fb = final_blow(c->mail);
	char tmp[32];

	label(c, b, "Victim");
	party(c, b, json_object_get(c->mail, "victim"));
	if (fb) {
		buf_addc(b, '\n');
		label(c, b, "Final blow");
		party(c, b, fb);
		if (json_is_object(json_object_get(fb, "ship"))) {
			buf_add(b, " in ", 4);
			render_esc(c, b, ename(json_object_get(fb, "ship"), tmp, sizeof tmp));
		}
	}
	buf_addc(b, '\n');
	label(c, b, "System");
	system_line(c, b);
	buf_addc(b, '\n');
	if (!distance_line(c, b))
		b->len--, b->p[b->len] = 0;
}

void
render_tally_add(struct render_tally *t, const char *name)
{
	for (int i = 0; i < t->len; i++)
		if (!strcmp(t->name[i], name)) {
			t->n[i]++;
			return;
		}
	if (t->len == (int)(sizeof t->n / sizeof t->n[0])) {
		t->rest++;
		return;
	}
	t->name[t->len] = name;
	t->n[t->len++] = 1;
}

/* "12× Heavy Assault Cruiser\n5× Logistics\n+3 more": the top largest. */
void
render_tally_text(const struct render_ctx *c, struct buf *b, struct render_tally *t, int top)
{
	char tmp[32];
	int shown = 0, others = t->rest;

	for (int k = 0; k < t->len; k++) {
		int best = -1;

		for (int i = 0; i < t->len; i++)
			if (t->n[i] > 0 && (best < 0 || t->n[i] > t->n[best]))
				best = i;
		if (best < 0)
			break;
		if (shown++ < top) {
			buf_add(b, tmp, snprintf(tmp, sizeof tmp, "%s%d\xc3\x97 ",
			    shown > 1 ? "\n" : "", t->n[best]));
			render_esc(c, b, t->name[best]);
		} else
			others += t->n[best];
		t->n[best] = -t->n[best];
	}
	if (others)
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, "\n+%d more", others));
}

/* Ship groups (what = 0) or alliances (what = 1) of the attackers. */
static void
fleet_text(const struct render_ctx *c, struct buf *b, int what)
{
	static struct render_tally t;
	const json_t *x;
	size_t i;

	memset(&t, 0, sizeof t);
	json_array_foreach(json_object_get(c->mail, "attackers"), i, x) {
		const char *n = what ? render_str(x, "alliance.name") : render_str(x, "ship.group.name");

		/* Pilots without an alliance count under their corporation. */
		if (!n && what)
			n = render_str(x, "corporation.name") ? render_str(x, "corporation.name") :
			    render_str(x, "faction.name") ? render_str(x, "faction.name") : "unknown";
		if (!n)
			n = render_str(x, "ship.name") ? render_str(x, "ship.name") : "unknown";
		render_tally_add(&t, n);
	}
	render_tally_text(c, b, &t, TOPN);
}

/* The fields both platforms show: (name, value) pairs into names/values. */
int
render_fields(const struct render_ctx *c, struct buf *names, struct buf *values)
{
	const json_t *v = render_at(c->mail, "value.total");
	long n = attacker_count(c->mail);
	char tmp[48];
	int k = 0;

	if (render_show(c, "value") && json_is_number(v)) {
		buf_add(&names[k], "Value", 5);
		render_isk(json_number_value(v), tmp, sizeof tmp);
		buf_add(&values[k], tmp, strlen(tmp));
		buf_add(&values[k++], " ISK", 4);
	}
	buf_add(&names[k], "Attackers", 9);
	buf_add(&values[k++], tmp, snprintf(tmp, sizeof tmp, "%ld%s", n,
	    n == 1 ? " (solo)" : ""));
	if (render_show(c, "fleet") && n > 1 &&
	    json_array_size(json_object_get(c->mail, "attackers")) > 1) {
		buf_add(&names[k], "Ships", 5);
		fleet_text(c, &values[k++], 0);
		buf_add(&names[k], "Alliances", 9);
		fleet_text(c, &values[k++], 1);
	}
	return k;
}

const char *
render_stream_name(const struct render_ctx *c)
{
	const char *n = render_str(c->stream, "name");

	return n ? n : render_str(c->stream, "id") ? render_str(c->stream, "id") : "stream";
}

/* The verdict's colour: display.color[kind] ("#rrggbb" or a number). */
long
render_color(const struct render_ctx *c)
{
	static const char *kinds[] = { "kill", "loss", "neutral" };
	static const long defs[] = { 0x2ecc71, 0xe74c3c, 0x3498db };
	const char *kind = render_str(c->match, "kind");
	const json_t *v;
	int i = 2;

	for (int k = 0; kind && k < 3; k++)
		if (!strcmp(kind, kinds[k]))
			i = k;
	v = json_object_get(json_object_get(c->display, "color"), kinds[i]);
	if (json_is_integer(v))
		return (long)json_integer_value(v) & 0xffffff;
	if (json_is_string(v) && json_string_value(v)[0] == '#')
		return strtol(json_string_value(v) + 1, NULL, 16) & 0xffffff;
	return defs[i];
}

/* The one-line summary of the compact style, without the link. */
void
render_compact_text(const struct render_ctx *c, struct buf *b)
{
	const json_t *v = render_at(c->mail, "value.total");
	char tmp[48];

	buf_add(b, " \xc2\xb7 ", 4);
	party(c, b, json_object_get(c->mail, "victim"));
	if (render_show(c, "value") && json_is_number(v)) {
		buf_add(b, " \xc2\xb7 ", 4);
		buf_add(b, tmp, strlen(render_isk(json_number_value(v), tmp, sizeof tmp)));
		buf_add(b, " ISK", 4);
	}
	buf_add(b, " \xc2\xb7 ", 4);
	if (!distance_line(c, b))
		b->len -= 4, b->p[b->len] = 0;
}

void
render_ctx_init(struct render_ctx *c, const json_t *pair, const json_t *target, int slack)
{
	c->stream = json_object_get(pair, "stream");
	c->mail = json_object_get(pair, "mail");
	c->match = json_object_get(pair, "match");
	c->display = json_object_get(c->stream, "display");
	c->target = target;
	c->slack = slack;
}

const char *
render_style(const json_t *target)
{
	const char *s = render_str(target, "style");

	return s && (!strcmp(s, "compact") || !strcmp(s, "link")) ? s : "embed";
}

/* ---- Checks ---- */

/* Length of the string at key (0 when absent); *total accumulates it. */
size_t
render_len_of(const json_t *o, const char *key, size_t *total)
{
	const char *s = render_str(o, key);
	size_t u = s ? render_units(s) : 0;

	if (total)
		*total += u;
	return u;
}

