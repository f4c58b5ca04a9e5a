/* render: golden renderings of synthetic pairs in every style for both
 * platforms, each checked against the platform limits, plus the helpers.
 * RENDER_UPDATE=1 rewrites the golden files (review the diff!). */
#include <stdlib.h>
#include <string.h>

#include "json/ndjson.h"
#include "post/render.h"
#include "tap.h"

#define DIR "tests/data/render/"

static json_t *
load(const char *name)
{
	char path[256];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof path, DIR "%s.pair.json", name);
	if (!(j = json_load_file(path, 0, &err)))
		printf("# %s: %s\n", path, err.text);
	return j;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b = { 0 };
	char tmp[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	return b.p ? b.p : strdup("");
}

/* The 500-attacker fleet fight: built here rather than stored. */
static json_t *
big(void)
{
	json_t *p = load("basic"), *mail = json_object_get(p, "mail");
	json_t *as = json_array(), *proto = json_array_get(json_object_get(mail, "attackers"), 0);

	for (int i = 0; i < 500; i++) {
		json_t *a = json_deep_copy(proto);
		json_t *ship = json_object_get(a, "ship");

		json_object_set_new(json_object_get(ship, "group"), "name",
		    json_sprintf("Group %02d", (i * 7) % 37));
		json_object_set_new(a, "alliance", i % 5 == 0 ? json_null() :
		    json_pack("{s:i,s:s++}", "id", 99000100 + i % 23, "name", "Alliance ",
		    (i % 23) < 10 ? "0" : "1", i % 2 ? " odd" : " even"));
		json_object_set_new(a, "final_blow", json_boolean(i == 321));
		json_array_append_new(as, a);
	}
	json_object_set_new(mail, "attackers", as);
	json_object_set_new(mail, "attacker_count", json_integer(500));
	json_object_set_new(mail, "final_blow", json_integer(321));
	json_object_set_new(json_object_get(mail, "value"), "total", json_real(1.234e12));
	json_object_set_new(json_object_get(mail, "system"), "security", json_real(0.95));
	json_object_set_new(json_object_get(p, "match"), "kind", json_string("kill"));
	json_object_set_new(json_object_get(p, "match"), "mention",
	    json_string("<@&123456789012345678> <@!42>"));
	return p;
}

static void
golden(const char *name, const json_t *pair, int slack, const char *style)
{
	json_t *t = json_pack("{s:s,s:s}", slack ? "slack" : "discord", "x", "style", style);
	json_t *body = slack ? render_slack(pair, t) : render_discord(pair, t);
	char path[256], why[200], *got = json_dumps(body, JSON_INDENT(1)), *want;
	int rc = slack ? render_slack_check(body, why, sizeof why) :
	    render_discord_check(body, why, sizeof why);

	snprintf(path, sizeof path, DIR "%s.%s-%s.json", name, slack ? "slack" : "discord", style);
	if (getenv("RENDER_UPDATE")) {
		FILE *f = fopen(path, "w");

		fprintf(f, "%s\n", got);
		fclose(f);
	}
	ok(rc == 0, "%s within limits%s%s", path, rc ? ": " : "", rc ? why : "");
	want = slurp(path);
	if (want)
		want[strcspn(want, "\n") == strlen(want) ? strlen(want) : strlen(want) - 1] = 0;
	if (!ok(want && !strcmp(got, want), "%s matches", path))
		printf("# got:\n%s\n", got);
	free(got);
	free(want);
	json_decref(body);
	json_decref(t);
}

static void
goldens(void)
{
	static const char *cases[] = { "basic", "long", "sparse", "big" };
	static const char *styles[] = { "embed", "compact", "link" };

	for (int c = 0; c < 4; c++) {
		json_t *p = c == 3 ? big() : load(cases[c]);

		for (int s = 0; s < 3; s++) {
			golden(cases[c], p, 0, styles[s]);
			golden(cases[c], p, 1, styles[s]);
		}
		json_decref(p);
	}
}

static void
helpers(void)
{
	char b[32], *s;

	is_str(render_isk(1.234e9, b, sizeof b), "1.23b", "isk billions");
	is_str(render_isk(45900000.5, b, sizeof b), "45.9m", "isk millions");
	is_str(render_isk(999.6e6, b, sizeof b), "1.00b", "isk rounds up a unit");
	is_str(render_isk(123456, b, sizeof b), "123k", "isk thousands");
	is_str(render_isk(12, b, sizeof b), "12", "isk small");
	is_str(render_isk(2.5e13, b, sizeof b), "25.0t", "isk trillions");
	ok(render_security(0.04) == 0.1, "0 < s < 0.05 shows 0.1");
	ok(render_security(-0.38) == -0.4, "negative rounds");
	ok(render_security(0.449) == 0.4, "0.449 is 0.4");
	is_str(render_sec_hex(1.0), "#2C75E1", "1.0 colour");
	is_str(render_sec_hex(0.45), "#F5FF83", "0.45 shows 0.5 colour");
	is_str(render_sec_hex(-0.9), "#8D3163", "nullsec colour");
	is_int(render_units("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x80"), 5, "units: astral counts 2");
	s = render_cut("abcdef", 4);
	is_str(s, "abc\xe2\x80\xa6", "cut with ellipsis");
	free(s);
	s = render_cut("ab\xf0\x9f\x9a\x80", 3);
	is_str(s, "ab\xe2\x80\xa6", "cut never splits a code point");
	free(s);
	s = render_cut("abc", 3);
	is_str(s, "abc", "no cut at the limit");
	free(s);
}

/* Mentions: exactly what match.mention names can ping. */
static void
mentions(void)
{
	json_t *p = load("basic"), *t = json_pack("{s:s}", "discord", "x"), *b;
	json_t *m = json_object_get(p, "match");
	char *am;

	b = render_discord(p, t);
	am = json_dumps(json_object_get(b, "allowed_mentions"), JSON_COMPACT);
	is_str(am, "{\"parse\":[\"everyone\"],\"roles\":[],\"users\":[]}", "@here allows everyone");
	is_str(json_string_value(json_object_get(b, "content")), "@here", "mention is the content");
	free(am);
	json_decref(b);
	json_object_del(m, "mention");
	b = render_discord(p, t);
	am = json_dumps(json_object_get(b, "allowed_mentions"), JSON_COMPACT);
	is_str(am, "{\"parse\":[],\"roles\":[],\"users\":[]}", "no mention, nothing pings");
	ok(!json_object_get(b, "content"), "no content without a mention");
	free(am);
	json_decref(b);
	json_object_set_new(m, "mention", json_string("<@&77> <@!88> hello"));
	b = render_discord(p, t);
	am = json_dumps(json_object_get(b, "allowed_mentions"), JSON_COMPACT);
	is_str(am, "{\"parse\":[],\"roles\":[\"77\"],\"users\":[\"88\"]}", "role and user ids");
	free(am);
	json_decref(b);
	json_decref(t);
	t = json_pack("{s:s}", "slack", "x");
	json_object_set_new(m, "mention", json_string("@here <@&77>"));
	b = render_slack(p, t);
	ok(!strncmp(json_string_value(json_object_get(b, "text")), "<!here> <", 9),
	    "slack: @here becomes <!here> first, Discord role dropped");
	json_decref(b);
	json_decref(t);
	json_decref(p);
}

/* An embed of d units of description and a title. */
static json_t *
post_of(size_t d, const char *user)
{
	char *desc = malloc(d + 1);
	json_t *b;

	memset(desc, 'x', d);
	desc[d] = 0;
	b = json_pack("{s:[{s:s,s:s}]}", "embeds", "title", "t", "description", desc);
	if (user)
		json_object_set_new(b, "username", json_string(user));
	free(desc);
	return b;
}

/* Batching: a message of posts within every limit, or no merge. */
static void
batching(void)
{
	json_t *m = post_of(100, NULL), *p = post_of(100, NULL), *big = post_of(3000, NULL);
	json_t *other = post_of(100, "someone"), *c = json_pack("{s:s}", "content", "x");
	char why[128];
	int i, n = 0;

	for (i = 0; i < 12; i++)
		n += render_discord_merge(m, p, 10) == 0;
	is_int(n, 9, "discord: nine posts join the first, ten embeds in all");
	is_int(json_array_size(json_object_get(m, "embeds")), 10, "ten embeds");
	ok(render_discord_check(m, why, sizeof why) == 0, "the batch is within the limits");
	json_decref(m);
	m = post_of(2900, NULL);
	ok(render_discord_merge(m, big, 10) == 0, "2,901 + 3,001 units: fits 6,000");
	ok(render_discord_merge(m, p, 10) < 0, "one more would pass 6,000: refused");
	is_int(json_array_size(json_object_get(m, "embeds")), 2, "... and the batch is unchanged");
	ok(render_discord_merge(m, other, 10) < 0, "another name: not in the same message");
	ok(render_discord_merge(c, c, 10) < 0, "content-only posts (compact, link) go alone");
	json_decref(m);
	m = post_of(100, NULL);
	ok(render_discord_merge(m, p, 1) < 0, "--batch 1: no merge");
	json_decref(m);
	json_decref(p);
	json_decref(big);
	json_decref(other);
	json_decref(c);
}

int
main(void)
{
	helpers();
	mentions();
	goldens();
	batching();
	return done_testing();
}
