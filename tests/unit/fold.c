/* fold: golden renderings of a fight's message (post/render-fold.c) for
 * Discord, updating and over, and for Slack, compared byte for byte with
 * tests/golden/; a fight too big for one message still fits every limit.
 * FOLD_UPDATE=1 rewrites the golden files (review the diff!). */
#include <stdlib.h>
#include <string.h>

#include "json/ndjson.h"
#include "post/fold.h"
#include "post/render.h"
#include "tap.h"

#define DIR "tests/golden/"

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

static void
kill(struct fight *f, json_int_t id, long long t, double v, char kind, const char *ship,
    const char *victim)
{
	struct fold_kill *k;

	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->k = realloc(f->k, f->cap * sizeof *f->k);
	}
	k = &f->k[f->n++];
	memset(k, 0, sizeof *k);
	k->id = id;
	k->t = t;
	k->value = v;
	k->kind = kind;
	snprintf(k->ship, sizeof k->ship, "%s", ship);
	snprintf(k->victim, sizeof k->victim, "%s", victim);
}

/* Seven kills in Tama from 2026-07-04 18:02:05 to 18:16:40 UTC: four kills,
 * two losses, one neither; a victim whose name is markdown. */
static void
fight(struct fight *f)
{
	long long t0 = 1783188125;	/* 2026-07-04T18:02:05Z */

	memset(f, 0, sizeof *f);
	f->system = 30002813;
	f->sys = "Tama";
	f->region = "The Citadel";
	f->sname = "Staging fights";
	f->target = json_pack("{s:s,s:s}", "discord", "$STAGING", "username", "Insight");
	f->min = 5;
	kill(f, 131000101, t0, 45900000.5, 'k', "Rifter", "Some Pilot");
	kill(f, 131000102, t0 + 40, 1.25e9, 'l', "Loki", "Our *Best* Pilot");
	kill(f, 131000103, t0 + 95, 310e6, 'k', "Drake", "Drake Owner");
	kill(f, 131000104, t0 + 300, 12e6, 'n', "Rifter", "Third Party");
	kill(f, 131000105, t0 + 420, 4.2e9, 'k', "Naglfar", "Dread Pilot");
	kill(f, 131000106, t0 + 600, 80e6, 'l', "Caracal", "Another [Pilot]");
	kill(f, 131000107, t0 + 875, 22e6, 'k', "Rifter", "Last One");
}

static void
golden(const char *name, json_t *body, int slack)
{
	char path[256], why[200], *got = json_dumps(body, JSON_INDENT(1)), *want;
	int rc = slack ? render_slack_check(body, why, sizeof why) :
	    render_discord_check(body, why, sizeof why);

	snprintf(path, sizeof path, DIR "%s.json", name);
	if (getenv("FOLD_UPDATE")) {
		FILE *f = fopen(path, "w");

		fprintf(f, "%s\n", got);
		fclose(f);
	}
	ok(rc == 0, "%s within limits%s%s", path, rc ? ": " : "", rc ? why : "");
	want = slurp(path);
	if (want && *want)
		want[strlen(want) - 1] = 0;
	if (!ok(want && !strcmp(got, want), "%s matches", path))
		printf("# got:\n%s\n", got);
	free(got);
	free(want);
	json_decref(body);
}

/* 300 kills of 150 ships with long names, in a system whose name is too
 * long for a title: cut, never over a limit. */
static void
big(void)
{
	struct fight f;
	char ship[120], who[120];
	json_t *b, *fl;
	char why[200], name[400];
	const char *title, *ships;

	fight(&f);
	f.n = 0;
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = 0;
	f.sys = name;
	for (int i = 0; i < 300; i++) {
		snprintf(ship, sizeof ship, "Ship number %03d with a name far longer than "
		    "any ship of EVE has ever had, to fill the field", i % 150);
		snprintf(who, sizeof who, "Pilot %d", i);
		kill(&f, 1000 + i, 1783188125 + i, 1e6 * (i % 17), i % 3 ? 'k' : 'l', ship, who);
	}
	b = render_fold_discord(&f, f.n, 0);
	ok(render_discord_check(b, why, sizeof why) == 0, "300 kills: within Discord's limits");
	title = json_string_value(json_object_get(json_array_get(json_object_get(b, "embeds"), 0),
	    "title"));
	ok(title && render_units(title) == 256, "the title is cut to 256");
	fl = json_object_get(json_array_get(json_object_get(b, "embeds"), 0), "fields");
	ships = json_string_value(json_object_get(json_array_get(fl, json_array_size(fl) - 1),
	    "value"));
	ok(ships && strstr(ships, "\n+280 more") && render_units(ships) <= 1024,
	    "ship tallies: the ten most lost, the rest counted");
	json_decref(b);
	b = render_fold_slack(&f, f.n, 1);
	ok(render_slack_check(b, why, sizeof why) == 0, "300 kills: within Slack's limits");
	json_decref(b);
	json_decref(f.target);
	free(f.k);
}

int
main(void)
{
	struct fight f;

	fight(&f);
	golden("fold.discord-updating", render_fold_discord(&f, 5, 0), 0);
	golden("fold.discord-over", render_fold_discord(&f, f.n, 1), 0);
	golden("fold.slack-over", render_fold_slack(&f, f.n, 1), 1);
	json_decref(f.target);
	free(f.k);
	big();
	return done_testing();
}
