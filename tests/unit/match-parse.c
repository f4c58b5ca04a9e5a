/* match_mail_parse: reading a mail from its text agrees with ndjson_parse
 * (jansson, \u0000 allowed, integers beyond 64 bits read as reals) plus
 * match_mail_init, on what is valid JSON and on every field it fills.
 * MATCH_PARSE_MAILS=FILE also compares every line of FILE (real mails). */
#include <math.h>
#include <stdlib.h>

#include "lib/log.h"
#include "match/match.h"
#include "json/ndjson.h"
#include "tap.h"

static int
same_num(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int
same_ent(const struct match_ent *a, const struct match_ent *b)
{
	return a->id == b->id && same_str(a->name, b->name);
}

static int
same_party(const struct match_party *a, const struct match_party *b)
{
	for (int f = 0; f < MATCH_NFIELDS; f++)
		if (!same_ent(&a->ent[f], &b->ent[f]))
			return 0;
	return same_num(a->damage, b->damage) && a->npc == b->npc &&
	    same_num(a->security_status, b->security_status);
}

/* The first field that differs, or NULL. */
static const char *
differ(const struct match_mail *a, const struct match_mail *b)
{
	if (a->killmail_id != b->killmail_id) return "killmail_id";
	if (!same_num(a->time, b->time)) return "time";
	if (!same_ent(&a->system, &b->system)) return "system";
	if (!same_ent(&a->constellation, &b->constellation)) return "constellation";
	if (!same_ent(&a->region, &b->region)) return "region";
	if (!same_num(a->security, b->security)) return "security";
	if (!same_str(a->space, b->space)) return "space";
	if (a->location != b->location) return "location";
	if (!same_party(&a->victim, &b->victim)) return "victim";
	if (a->nattackers != b->nattackers) return "nattackers";
	for (size_t i = 0; i < a->nattackers; i++)
		if (!same_party(&a->attackers[i], &b->attackers[i])) return "attackers";
	if (a->final_blow != b->final_blow) return "final_blow";
	for (int i = 0; i < 4; i++)
		if (!same_num(a->value[i], b->value[i])) return "value";
	if (!same_num(a->points, b->points)) return "points";
	if (a->npc != b->npc || a->solo != b->solo || a->awox != b->awox) return "flags";
	if (a->war != b->war) return "war";
	if (!a->labels != !b->labels || a->nlabels != b->nlabels) return "labels";
	for (size_t i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i], b->labels[i])) return "labels";
	return NULL;
}

/* Parse text both ways; they must agree on validity and on the fields. */
static void
agree(const char *text, size_t len, const char *what)
{
	json_t *j = ndjson_parse(text, len, 0);
	struct match_mail a = { 0 }, b = { 0 };
	int r = match_mail_parse(&b, text, len), valid = j != NULL;
	const char *d = NULL;

	if (!ok((r >= 0) == valid, "%s: %s as ndjson_parse says", what, valid ? "valid" : "invalid"))
		printf("#   scanner: %s\n", r >= 0 ? "ok" : b.why);
	if (valid && r >= 0) {
		match_mail_init(&a, j);
		if (!ok(!(d = differ(&a, &b)), "%s: the same fields", what))
			printf("#   differs at %s\n", d);
	}
	match_mail_free(&a);
	match_mail_free(&b);
	json_decref(j);
}

static void
validity(void)
{
	static const char *const texts[] = {
		"{}", " {\"a\" : [ 1 , 2 ] } ", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1.}",
		"{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":1e+5}", "{\"a\":-0}",
		"{\"a\":\"\x80\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"é€🚀\"}",
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud83d\\ude80\"}",
		"{\"a\":\"\\ud83dx\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\u00e9\\n\\/\"}",
		"{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\t\"}", "{\"a\":\"x",
		"{\"a\":9223372036854775807}", "{\"a\":9223372036854775808}",
		"{\"a\":-9223372036854775808}", "{\"a\":-9223372036854775809}",
		"{\"a\":1e999}", "{\"a\":1e-999}", "{\"a\":tru}", "{\"a\":nul}",
		"{\"a\":true false}", "[1]", "\"s\"", "", "{} x", "{}{}", "{\"a\"}",
		"{\"a\":{\"b\":[{}]}}", "{a:1}", "{\"a\":1 \"b\":2}", "{\"a\":[1,]}",
		"{\"killmail_id\":1,\"victim\":{}}", "{\"victim\":[1,{\"x\":{\"y\":[[[\"\\u00ff\"]]]}}]}",
		"{\"a\":\"\xef\xbf\xbf\"}", "{\"a\":\"\xf0\x8f\xbf\xbf\"}", "{\"\\u0061\":1}",
	};
	char deep[2 * 2100 + 16];
	size_t n = 0;

	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
		agree(texts[i], strlen(texts[i]), texts[i]);
	for (int depth = 2047; depth <= 2049; depth++) {
		n = 0;
		deep[n++] = '{';
		memcpy(deep + n, "\"a\":", 4), n += 4;
		for (int i = 1; i < depth; i++)
			deep[n++] = '[';
		for (int i = 1; i < depth; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		agree(deep, n, depth == 2048 ? "nesting 2048" : depth < 2048 ? "nesting 2047" : "nesting 2049");
	}
}

/* The base mails, and variants that trip a reader: wrong types, escapes,
 * duplicate keys, fields missing or null. */
static void
fields(void)
{
	static const char *const edits[][2] = {
		{ "", "" },
		{ "\"victim\":{", "\"victim\":{\"character\":{\"id\":\"1\",\"name\":\"x\"},\"ship\":5," },
		{ "\"attackers\":[", "\"attackers\":[7,{\"final_blow\":true,\"weapon\":{\"group\":{\"id\":9}}}," },
		{ "\"system\":{", "\"system\":{\"space\":\"elsewhere\",\"security\":\"0.5\"," },
		{ "\"killmail_id\":", "\"killmail_id\":1.5,\"killmail_id\":" },
		{ "\"time\":", "\"ti\\u006de\":\"2026-11-28T18:10:00.5Z\",\"x\":" },
		{ "\"value\":{", "\"value\":{\"total\":\"1\",\"total\":2e9," },
		{ "\"final_blow\":", "\"final_blow\":99,\"x\":" },
		{ "\"labels\":", "\"labels\":[1,\"a\\u00e9\",null,\"b\"],\"x\":" },
		{ "\"war_id\":", "\"war_id\":0.0,\"x\":" },
		{ "\"victim\":", "\"victim\":null,\"victim\":" },
		{ "\"attackers\":", "\"attackers\":{},\"x\":" },
		{ "\"system\":", "\"system\":[],\"x\":" },
		{ "\"name\":\"", "\"name\":\"\\\"Q\\\" \\ud83d\\ude80 " },
		{ "\"npc\":", "\"npc\":1,\"solo\":\"true\",\"awox\":null,\"x\":" },
		{ "\"location_id\":", "\"location_id\":1.5,\"x\":" },
		{ "\"alliance\":{\"id\":", "\"alliance\":{\"name\":\"Ghost\"},\"x\":{\"id\":" },
		{ "\"group\":{\"id\":", "\"group\":{\"id\":null,\"name\":\"G\"},\"x\":{\"id\":" },
		{ "\"region\":{", "\"region\":{\"id\":-3,\"x\":[{\"id\":1}]," },
		{ "\"damage_done\":", "\"damage_done\":true,\"security_status\":[],\"x\":" },
		/* integers beyond 64 bits, as jq writes big reals: reals */
		{ "\"killmail_id\":", "\"x\":-12345000000000000000,\"killmail_id\":" },
		{ "\"security\":", "\"security\":9223372036854775808,\"x\":" },
		{ "\"damage_done\":", "\"damage_done\":-9223372036854775809,\"y\":1000000000000000000,\"x\":" },
		{ "\"total\":", "\"total\":100000000000000000000000000000000000000,\"x\":" },
		{ "\"id\":", "\"id\":9223372036854775807,\"x\":99999999999999999999,\"i\":" },
		/* \u0000 in values: allowed (a C string ends there) */
		{ "\"name\":\"", "\"name\":\"a\\u0000b" },
	};
	FILE *f = fopen("tests/data/match/mails.ndjson", "r");
	char *line = NULL, what[128];
	size_t cap = 0;
	ssize_t len;

	if (!ok(f != NULL, "open the base mails"))
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		json_t *j = ndjson_parse(line, len, 0);
		char *text = ndjson_str(json_object_get(j, "mail"));
		const char *name = json_string_value(json_object_get(j, "name"));

		for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
			struct buf b = { 0 };
			char *at = *edits[i][0] ? strstr(text, edits[i][0]) : text;

			if (!at)
				continue;
			buf_add(&b, text, at - text);
			buf_add(&b, edits[i][1], strlen(edits[i][1]));
			buf_add(&b, at + strlen(edits[i][0]), strlen(at + strlen(edits[i][0])));
			snprintf(what, sizeof what, "%s, edit %zu", name, i);
			agree(b.p, b.len, what);
			buf_free(&b);
		}
		free(text);
		json_decref(j);
	}
	free(line);
	fclose(f);
}

static void
classify(void)
{
	struct match_mail m = { 0 };
	static const struct { const char *text; int want; } c[] = {
		{ "{\"killmail_id\":1,\"victim\":{}}", 1 },
		{ "{\"killmail_id\":null,\"victim\":{\"character\":null}}", 1 },
		{ "{\"killmail_id\":1}", 0 },
		{ "{\"killmail_id\":1,\"victim\":null}", 0 },
		{ "{\"killmail_id\":1,\"victim\":{},\"stream\":{}}", 0 },
		{ "{\"receipt\":{}}", 0 },
		{ "{\"killmail_id\":1,\"victim\":{}", -1 },
	};

	for (size_t i = 0; i < sizeof c / sizeof *c; i++)
		is_int(match_mail_parse(&m, c[i].text, strlen(c[i].text)), c[i].want,
		    "classify %s", c[i].text);
	match_mail_free(&m);
}

static void
from_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, what[64];
	size_t cap = 0, n = 0, bad = 0;
	ssize_t len;

	while (f && (len = getline(&line, &cap, f)) > 0) {
		json_t *j = ndjson_parse(line, len, n + 1);
		struct match_mail a = { 0 }, b = { 0 };

		n++;
		if (!j || match_mail_parse(&b, line, len) < 0 || match_mail_init(&a, j) < 0 ||
		    differ(&a, &b)) {
			snprintf(what, sizeof what, "line %zu", n);
			agree(line, len, what);
			bad++;
		}
		match_mail_free(&a);
		match_mail_free(&b);
		json_decref(j);
	}
	ok(f && n && !bad, "%s: %zu mails read alike (%zu differ)", path, n, bad);
	free(line);
	if (f)
		fclose(f);
}

int
main(void)
{
	log_init("match-parse-test");
	log_level = LOG_FATAL;	/* ndjson_parse warns on every broken line */
	validity();
	fields();
	classify();
	if (getenv("MATCH_PARSE_MAILS"))
		from_file(getenv("MATCH_PARSE_MAILS"));
	return done_testing();
}
