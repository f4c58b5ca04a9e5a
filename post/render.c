/* render: killmail posts for Discord and Slack; see render.h.
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

#include "json/ndjson.h"
#include "post/render.h"

#define TOPN 5			/* fleet summary: the largest groups shown */
#define NAMECUT 100		/* any one name; EVE's are shorter, fakes are not */

struct ctx {
	const json_t *stream, *mail, *match, *target, *display;
	int slack;
};

static const json_t *
at(const json_t *o, const char *path)
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

static const char *
str(const json_t *o, const char *path)
{
	return json_string_value(at(o, path));
}

/* display.show.KEY: true unless the stream says false. */
static int
show(const struct ctx *c, const char *key)
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
		return strdup(s);
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
	r = malloc(keep + 4);
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
static void
esc(const struct ctx *c, struct buf *b, const char *s)
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
	const char *s = str(e, "name");

	if (s)
		return s;
	snprintf(tmp, n, "#%" JSON_INTEGER_FORMAT, json_integer_value(at(e, "id")));
	return tmp;
}

static void
label(const struct ctx *c, struct buf *b, const char *l)
{
	buf_add(b, c->slack ? "*" : "**", c->slack ? 1 : 2);
	buf_add(b, l, strlen(l));
	buf_add(b, c->slack ? ":* " : ":** ", c->slack ? 3 : 4);
}

/* "Pilot · Corp [TICK] · Alliance <ALLY>", each part when the party has it. */
static void
party(const struct ctx *c, struct buf *b, const json_t *p)
{
	static const char *keys[] = { "character", "corporation", "alliance", "faction" };
	char tmp[32];
	int any = 0;

	for (int i = 0; i < 4; i++) {
		const json_t *e = json_object_get(p, keys[i]);
		const char *tk = str(e, "ticker");

		if (!json_is_object(e) || (i == 3 && any))
			continue;
		if (any)
			buf_add(b, " \xc2\xb7 ", 4);
		esc(c, b, ename(e, tmp, sizeof tmp));
		if (tk) {
			esc(c, b, i == 2 ? " <" : " [");
			esc(c, b, tk);
			esc(c, b, i == 2 ? ">" : "]");
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
static void
title(const struct ctx *c, struct buf *b)
{
	char t1[32], t2[32];
	const json_t *sys = json_object_get(c->mail, "system");
	const char *region = str(sys, "region.name");

	addcut(b, ename(at(c->mail, "victim.ship"), t1, sizeof t1), NAMECUT);
	buf_add(b, " destroyed in ", 14);
	addcut(b, ename(sys, t2, sizeof t2), NAMECUT);
	if (region) {
		buf_add(b, " (", 2);
		addcut(b, region, NAMECUT);
		buf_addc(b, ')');
	}
}

static const char *
kill_url(const struct ctx *c, char *tmp, size_t n)
{
	const char *u = str(c->mail, "url");

	if (u && (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7)))
		return u;
	snprintf(tmp, n, "https://zkillboard.com/kill/%" JSON_INTEGER_FORMAT "/",
	    json_integer_value(json_object_get(c->mail, "killmail_id")));
	return tmp;
}

/* "🟠 Amamake 0.4 · Heimatar" */
static void
system_line(const struct ctx *c, struct buf *b)
{
	const json_t *sys = json_object_get(c->mail, "system");
	const json_t *sec = json_object_get(sys, "security");
	const char *region = str(sys, "region.name");
	char tmp[32];

	if (json_is_number(sec)) {
		buf_add(b, render_sec_dot(json_number_value(sec)), 4);
		buf_addc(b, ' ');
	}
	esc(c, b, ename(sys, tmp, sizeof tmp));
	if (json_is_number(sec)) {
		snprintf(tmp, sizeof tmp, " %.1f", render_security(json_number_value(sec)));
		buf_add(b, tmp, strlen(tmp));
	}
	if (region) {
		buf_add(b, " \xc2\xb7 ", 4);
		esc(c, b, region);
	}
}

/* "4.2 ly / 7 jumps from Amamake"; 0 when there is no distance to show. */
static int
distance_line(const struct ctx *c, struct buf *b)
{
	const json_t *near = json_object_get(c->match, "near");
	const json_t *ly = json_object_get(near, "lightyears");
	const json_t *j = json_object_get(near, "jumps");
	char tmp[48];

	if (!json_is_object(near) || !show(c, "distance") ||
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
	esc(c, b, json_is_object(json_object_get(near, "system")) ?
	    ename(json_object_get(near, "system"), tmp, sizeof tmp) :
	    json_is_string(json_object_get(near, "system")) ?
	    json_string_value(json_object_get(near, "system")) : "?");
	return 1;
}

/* The description: victim, final blow, system, distance. */
static void
body_text(const struct ctx *c, struct buf *b)
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
			esc(c, b, ename(json_object_get(fb, "ship"), tmp, sizeof tmp));
		}
	}
	buf_addc(b, '\n');
	label(c, b, "System");
	system_line(c, b);
	buf_addc(b, '\n');
	if (!distance_line(c, b))
		b->len--, b->p[b->len] = 0;
}

/* Counting attackers by a name, most frequent first. */
struct tally {
	const char *name[600];
	int n[600], len, rest;
};

static void
tally_add(struct tally *t, const char *name)
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

/* "12× Heavy Assault Cruiser\n5× Logistics\n+3 more": the TOPN largest. */
static void
tally_text(const struct ctx *c, struct buf *b, struct tally *t)
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
		if (shown++ < TOPN) {
			buf_add(b, tmp, snprintf(tmp, sizeof tmp, "%s%d\xc3\x97 ",
			    shown > 1 ? "\n" : "", t->n[best]));
			esc(c, b, t->name[best]);
		} else
			others += t->n[best];
		t->n[best] = -t->n[best];
	}
	if (others)
		buf_add(b, tmp, snprintf(tmp, sizeof tmp, "\n+%d more", others));
}

/* Ship groups (what = 0) or alliances (what = 1) of the attackers. */
static void
fleet_text(const struct ctx *c, struct buf *b, int what)
{
	static struct tally t;
	const json_t *x;
	size_t i;

	memset(&t, 0, sizeof t);
	json_array_foreach(json_object_get(c->mail, "attackers"), i, x) {
		const char *n = what ? str(x, "alliance.name") : str(x, "ship.group.name");

		/* Pilots without an alliance count under their corporation. */
		if (!n && what)
			n = str(x, "corporation.name") ? str(x, "corporation.name") :
			    str(x, "faction.name") ? str(x, "faction.name") : "unknown";
		if (!n)
			n = str(x, "ship.name") ? str(x, "ship.name") : "unknown";
		tally_add(&t, n);
	}
	tally_text(c, b, &t);
}

/* The fields both platforms show: (name, value) pairs into names/values. */
static int
fields(const struct ctx *c, struct buf *names, struct buf *values)
{
	const json_t *v = at(c->mail, "value.total");
	long n = attacker_count(c->mail);
	char tmp[48];
	int k = 0;

	if (show(c, "value") && json_is_number(v)) {
		buf_add(&names[k], "Value", 5);
		render_isk(json_number_value(v), tmp, sizeof tmp);
		buf_add(&values[k], tmp, strlen(tmp));
		buf_add(&values[k++], " ISK", 4);
	}
	buf_add(&names[k], "Attackers", 9);
	buf_add(&values[k++], tmp, snprintf(tmp, sizeof tmp, "%ld%s", n,
	    n == 1 ? " (solo)" : ""));
	if (show(c, "fleet") && n > 1 &&
	    json_array_size(json_object_get(c->mail, "attackers")) > 1) {
		buf_add(&names[k], "Ships", 5);
		fleet_text(c, &values[k++], 0);
		buf_add(&names[k], "Alliances", 9);
		fleet_text(c, &values[k++], 1);
	}
	return k;
}

static const char *
stream_name(const struct ctx *c)
{
	const char *n = str(c->stream, "name");

	return n ? n : str(c->stream, "id") ? str(c->stream, "id") : "stream";
}

/* The verdict's colour: display.color[kind] ("#rrggbb" or a number). */
static long
color(const struct ctx *c)
{
	static const char *kinds[] = { "kill", "loss", "neutral" };
	static const long defs[] = { 0x2ecc71, 0xe74c3c, 0x3498db };
	const char *kind = str(c->match, "kind");
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
static void
compact_text(const struct ctx *c, struct buf *b)
{
	const json_t *v = at(c->mail, "value.total");
	char tmp[48];

	buf_add(b, " \xc2\xb7 ", 4);
	party(c, b, json_object_get(c->mail, "victim"));
	if (show(c, "value") && json_is_number(v)) {
		buf_add(b, " \xc2\xb7 ", 4);
		buf_add(b, tmp, strlen(render_isk(json_number_value(v), tmp, sizeof tmp)));
		buf_add(b, " ISK", 4);
	}
	buf_add(b, " \xc2\xb7 ", 4);
	if (!distance_line(c, b))
		b->len -= 4, b->p[b->len] = 0;
}

static void
ctx_init(struct ctx *c, const json_t *pair, const json_t *target, int slack)
{
	c->stream = json_object_get(pair, "stream");
	c->mail = json_object_get(pair, "mail");
	c->match = json_object_get(pair, "match");
	c->display = json_object_get(c->stream, "display");
	c->target = target;
	c->slack = slack;
}

static const char *
style(const json_t *target)
{
	const char *s = str(target, "style");

	return s && (!strcmp(s, "compact") || !strcmp(s, "link")) ? s : "embed";
}

/* ---- Discord ---- */

/* Mentions: "@here"/"@everyone" (or Slack's <!here>), "<@&role>", "<@user>".
 * allowed_mentions names exactly these; anything else in content is inert. */
static void
discord_mentions(const json_t *match, struct buf *content, json_t *body)
{
	const char *m = str(match, "mention");
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
discord_fields(const struct ctx *c, size_t *units)
{
	struct buf names[4] = { 0 }, values[4] = { 0 };
	int n = fields(c, names, values);
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
discord_embed(const struct ctx *c)
{
	struct buf t = { 0 }, d = { 0 };
	char tmp[64], *cut;
	size_t used = 0;
	json_t *e = json_object();
	const json_t *ship = at(c->mail, "victim.ship.id"), *time = at(c->mail, "time");

	title(c, &t);
	cut = render_cut(t.p, 256);
	used += render_units(cut);
	json_object_set_new(e, "title", json_string(cut));
	free(cut);
	json_object_set_new(e, "url", json_string(kill_url(c, tmp, sizeof tmp)));
	json_object_set_new(e, "color", json_integer(color(c)));
	json_object_set_new(e, "fields", discord_fields(c, &used));
	if (show(c, "stream_name")) {
		cut = render_cut(stream_name(c), 256);
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
	body_text(c, &d);
	/* The 6000-unit total over the whole message is what remains for it. */
	cut = render_cut(d.p, used + 4096 > 6000 ? 6000 - used : 4096);
	json_object_set_new(e, "description", json_string(cut));
	free(cut);
	buf_free(&t);
	buf_free(&d);
	return e;
}

static void
discord_identity(const json_t *target, json_t *body)
{
	const char *u = str(target, "username"), *a = str(target, "avatar_url");

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
	struct ctx c;
	struct buf content = { 0 }, line = { 0 };
	const char *st = style(target);
	char tmp[64], *cut;
	json_t *body = json_object();

	ctx_init(&c, pair, target, 0);
	discord_identity(target, body);
	discord_mentions(c.match, &content, body);
	if (!strcmp(st, "embed"))
		json_object_set_new(body, "embeds", json_pack("[o]", discord_embed(&c)));
	else if (!strcmp(st, "link")) {
		/* A bare URL, so that Discord unfurls it. */
		const char *u = kill_url(&c, tmp, sizeof tmp);

		buf_add(&line, u, strlen(u));
	} else {
		buf_add(&line, "**", 2);
		title(&c, &line);
		buf_add(&line, "**", 2);
		compact_text(&c, &line);
		/* <url> stops the unfurl: one line stays one line. */
		const char *u = kill_url(&c, tmp, sizeof tmp);

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

/* ---- Slack ---- */

/* Discord spellings are translated; ids of Discord roles cannot ping here. */
static void
slack_mentions(const json_t *match, struct buf *b)
{
	const char *m = str(match, "mention");
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
slack_blocks(const struct ctx *c, const char *url)
{
	struct buf s = { 0 }, t = { 0 }, names[4] = { 0 }, values[4] = { 0 };
	json_t *blocks = json_array(), *fl = json_array(), *sec;
	const json_t *ship = at(c->mail, "victim.ship.id");
	int n = fields(c, names, values);
	char tmp[48];

	buf_add(&s, "*<", 2);
	buf_add(&s, url, strlen(url));
	buf_addc(&s, '|');
	title(c, &t);
	esc(c, &s, t.p);
	buf_add(&s, ">*\n", 3);
	body_text(c, &s);
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
	if (show(c, "stream_name"))
		esc(c, &s, stream_name(c));
	if (str(c->mail, "time")) {
		const char *tm = str(c->mail, "time");

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
	struct ctx c;
	struct buf text = { 0 }, line = { 0 };
	const char *st = style(target), *url;
	char tmp[64], hex[8], *cut;
	json_t *body = json_object();

	ctx_init(&c, pair, target, 1);
	url = kill_url(&c, tmp, sizeof tmp);
	slack_mentions(c.match, &text);
	if (!strcmp(st, "link")) {
		buf_addc(&line, '<');
		buf_add(&line, url, strlen(url));
		buf_addc(&line, '>');
	} else {
		struct buf t = { 0 };

		title(&c, &t);
		buf_addc(&line, '<');
		buf_add(&line, url, strlen(url));
		buf_addc(&line, '|');
		esc(&c, &line, t.p);
		buf_addc(&line, '>');
		if (!strcmp(st, "compact"))
			compact_text(&c, &line);
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
		snprintf(hex, sizeof hex, "#%06lx", color(&c));
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

/* Length of the string at key (0 when absent); *total accumulates it. */
static size_t
len_of(const json_t *o, const char *key, size_t *total)
{
	const char *s = str(o, key);
	size_t u = s ? render_units(s) : 0;

	if (total)
		*total += u;
	return u;
}

static int
discord_embed_check(const json_t *e, size_t *total, char *why, size_t n)
{
	const json_t *fs = json_object_get(e, "fields"), *f;
	size_t i;

	if (len_of(e, "title", total) > 256) FAIL("title over 256");
	if (len_of(e, "description", total) > 4096) FAIL("description over 4096");
	if (len_of(e, "footer.text", total) > 2048) FAIL("footer over 2048");
	if (len_of(e, "author.name", total) > 256) FAIL("author over 256");
	if (json_array_size(fs) > 25) FAIL("more than 25 fields");
	json_array_foreach(fs, i, f) {
		size_t nl = len_of(f, "name", total), vl = len_of(f, "value", total);

		if (nl == 0 || nl > 256) FAIL("field %zu name length %zu", i, nl);
		if (vl == 0 || vl > 1024) FAIL("field %zu value length %zu", i, vl);
	}
	return 0;
}

int
render_discord_check(const json_t *body, char *why, size_t n)
{
	const json_t *es = json_object_get(body, "embeds"), *e;
	size_t i, total = 0, c = len_of(body, "content", NULL);

	if (c > 2000) FAIL("content over 2000");
	if (json_array_size(es) > 10) FAIL("more than 10 embeds");
	if (!c && !json_array_size(es)) FAIL("empty message");
	if (len_of(body, "username", NULL) > 80) FAIL("username over 80");
	json_array_foreach(es, i, e)
		if (discord_embed_check(e, &total, why, n) < 0)
			return -1;
	if (total > 6000) FAIL("embeds total %zu over 6000", total);
	return 0;
}

static int
slack_blocks_check(const json_t *bs, int *count, char *why, size_t n)
{
	const json_t *b, *f;
	size_t i, j;

	json_array_foreach(bs, i, b) {
		const char *type = str(b, "type");

		if (++*count > 50) FAIL("more than 50 blocks");
		if (!type) FAIL("block %zu without type", i);
		if (!strcmp(type, "header") && len_of(b, "text.text", NULL) > 150)
			FAIL("header over 150");
		if (!strcmp(type, "section") && len_of(b, "text.text", NULL) > 3000)
			FAIL("section text over 3000");
		if (json_array_size(json_object_get(b, "fields")) > 10)
			FAIL("more than 10 fields");
		json_array_foreach(json_object_get(b, "fields"), j, f)
			if (len_of(f, "text", NULL) > 2000) FAIL("field over 2000");
		if (json_array_size(json_object_get(b, "elements")) > 10)
			FAIL("more than 10 context elements");
		if (len_of(b, "accessory.alt_text", NULL) > 2000) FAIL("alt_text over 2000");
	}
	return 0;
}

int
render_slack_check(const json_t *body, char *why, size_t n)
{
	const json_t *as = json_object_get(body, "attachments"), *a;
	int count = 0;
	size_t i;

	if (!len_of(body, "text", NULL)) FAIL("no text");
	if (len_of(body, "text", NULL) > 40000) FAIL("text over 40000");
	if (slack_blocks_check(json_object_get(body, "blocks"), &count, why, n) < 0)
		return -1;
	if (json_array_size(as) > 100) FAIL("too many attachments");
	json_array_foreach(as, i, a)
		if (slack_blocks_check(json_object_get(a, "blocks"), &count, why, n) < 0)
			return -1;
	return 0;
}
