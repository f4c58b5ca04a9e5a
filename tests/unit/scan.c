/* scan: one definition of a valid line.  The scanner, the pair reader and
 * the mail reader accept exactly what ndjson_parse (jansson) accepts, on
 * hand-written edge cases; numbers have the value and the kind (integer
 * or real) the tree has; the reasons of a rejected line are one line.
 * tests/unit/pair.c compares them on many generated lines. */
#include <stdlib.h>

#include "lib/log.h"
#include "json/ndjson.h"
#include "json/pair.h"
#include "json/scan.h"
#include "match/match.h"
#include "tap.h"

static char *
repeat(const char *pre, char c, size_t n, const char *post)
{
	size_t a = strlen(pre), b = strlen(post);
	char *s = malloc(a + n + b + 1);

	memcpy(s, pre, a);
	memset(s + a, c, n);
	memcpy(s + a + n, post, b + 1);
	return s;
}

/* Every reader agrees with ndjson_parse on line; 1 when they do. */
static int
agree(const char *line, size_t len, int *valid)
{
	json_t *j = ndjson_parse(line, len, 0);
	struct match_mail m = { 0 };
	struct pair pr;
	struct buf b = { 0 };
	const char *why = NULL;
	size_t col = 0;
	int v = j != NULL, ok;

	ok = scan_object(line, len, &why, &col) == v &&
	    (pair_read(line, len, NULL, 0, &pr) == 0) == v &&
	    (match_mail_parse(&m, line, len) >= 0) == v &&
	    scan_bigints(line, len, &b) == v;
	if (!v)		/* a reason, on one line, at a column of the line */
		ok &= why && !strchr(why, '\n') && col >= 1 && col <= len + 1 &&
		    pr.why && m.why;
	match_mail_free(&m);
	buf_free(&b);
	json_decref(j);
	*valid = v;
	return ok;
}

static void
lines(void)
{
	static const char *const good[] = {
		"{\"a\":-0}", "{\"a\":-0.0}", "{\"a\":1e-400}", "{\"a\":-1e-400}",
		"{\"a\":9223372036854775807}", "{\"a\":-9223372036854775808}",
		"{\"a\":9223372036854775808}", "{\"a\":-9223372036854775809}",
		"{\"a\":10000000000000000000}", "{\"a\":-12345000000000000000}",
		"{\"x\":-4500000000000000000,\"y\":123456789012345678901234,\"z\":1e+19}",
		"{\"a\":1.7976931348623157e308}", "{\"a\":12345678901234567890e10}",
		"{\"a\":\"\\u0000\"}", "{\"a\":[\"x\\u0000y\"]}", "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
		"{\"a\":\"\\ud83d\\ude80\\u00e9\\uffff\"}",
		"{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x80\xf4\x8f\xbf\xbf\"}",
		"{\"\\u0061\":1,\"a\":2}", " \t\r\n{ \"a\" : [ 1 , { } ] } \n",
		NULL
	};
	static const char *const bad[] = {
		"{\"a\":1e400}", "{\"a\":-1e400}", "{\"a\":1E309}", "{\"a\":01}", "{\"a\":-01}",
		"{\"a\":--1}", "{\"a\":+1}", "{\"a\":1.}", "{\"a\":.1}", "{\"a\":1e}", "{\"a\":0x10}",
		"{\"a\":\"\\u0000\",\"b\\u0000c\":1}", "{\"\\u0000\":1}", "{\"a\":{\"\\u0000\":1}}",
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\\ud800\"}", "{\"a\":\"\\ud800\\ud800\"}",
		"{\"a\":\"\\uzzzz\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\x7f\x80\"}", "{\"a\":\"\xc1\xbf\"}",
		"{\"a\":\"\xe0\x80\xaf\"}", "{\"a\":\"\xed\xbf\xbf\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
		"{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"\n\"}", "{\"a\":tRue}",
		"[1]", "1", "", "{\"a\":1,}", "{\"a\":[1,]}", "{\"a\" 1}", "{\"a\":1}}",
		NULL
	};
	char *big;
	int i, v, all;

	for (all = 1, i = 0; good[i]; i++)
		if (!agree(good[i], strlen(good[i]), &v) || !v)
			all = 0, printf("# disagree on a valid line: %s\n", good[i]);
	ok(all, "valid edge cases: every reader reads them (%d lines)", i);
	for (all = 1, i = 0; bad[i]; i++)
		if (!agree(bad[i], strlen(bad[i]), &v) || v)
			all = 0, printf("# disagree on an invalid line: %s\n", bad[i]);
	all &= agree("{\"a\":1}", 8, &v) && agree("{\"a\":1}", 8 + 1, &v) && !v;	/* its NUL */
	ok(all, "invalid edge cases: every reader refuses them, with a reason (%d lines)", i);

	/* integers of 19 to 400 digits: reals, up to a double's range */
	for (all = 1, i = 19; i <= 400; i++) {
		big = repeat("{\"a\":-", '9', (size_t)i, "}");	/* -10^i */
		if (!agree(big, strlen(big), &v) || v != (i <= 308))
			all = 0, printf("# -10^%d: disagree\n", i);
		free(big);
		big = repeat("{\"a\":1", '0', (size_t)i - 1, ".5e-2}");	/* 10^(i-3) */
		if (!agree(big, strlen(big), &v) || v != (i <= 311))
			all = 0, printf("# 10^%d: disagree\n", i - 3);
		free(big);
	}
	ok(all, "integers of 19 to 400 digits: read within a double's range, refused beyond");
}

/* A number's value and kind: those of the tree. */
static void
numbers(void)
{
	static const char *const nums[] = { "0", "-0", "7", "-42", "999999999999999999",
		"1000000000000000000", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "18446744073709551616",
		"-12345000000000000000", "3.25", "-0.5e-7", "1E+30", "1e-400", "1.7976931348623157e308", NULL };
	int all = 1, i;

	for (i = 0; nums[i]; i++) {
		char line[64];
		json_t *j, *x;
		struct scan s;
		struct scan_num v;

		snprintf(line, sizeof line, "{\"v\":%s}", nums[i]);
		j = ndjson_parse(line, strlen(line), 0);
		x = json_object_get(j, "v");
		scan_init(&s, nums[i], strlen(nums[i]), 0);
		if (!x || !scan_number(&s, &v) || s.p != s.end || v.real != json_is_real(x) ||
		    (v.real ? v.d != json_real_value(x) : v.i != json_integer_value(x))) {
			all = 0;
			printf("# %s: the scanner and the tree differ\n", nums[i]);
		}
		json_decref(j);
	}
	ok(all, "numbers: the scanner's value and kind are the tree's (%d numbers)", i);
}

/* Only the integers beyond 64 bits become reals; their neighbours stay. */
static void
rule(void)
{
	const char *line = "{\"a\":1000000000000000000,\"b\":99999999999999999999,"
	    "\"c\":[-9223372036854775808]}";
	json_t *j = ndjson_parse(line, strlen(line), 0);

	ok(json_is_integer(json_object_get(j, "a")) &&
	    json_integer_value(json_object_get(j, "a")) == 1000000000000000000,
	    "a 19-digit integer within 64 bits stays an integer beside a bigger one");
	ok(json_is_real(json_object_get(j, "b")) && json_real_value(json_object_get(j, "b")) == 1e20,
	    "the integer beyond 64 bits is a real");
	ok(json_is_integer(json_array_get(json_object_get(j, "c"), 0)), "so is not -2^63");
	json_decref(j);
}

/* jansson's depth: 2048 values, scalars counted. */
static void
depth(void)
{
	int all = 1, v, seen[2] = { 0, 0 };

	for (int d = 2045; d <= 2050; d++) {
		char *open = repeat("{\"a\":", '[', (size_t)d - 2, "");
		char *line = repeat(open, ']', (size_t)d - 2, "}");
		char *mid = strstr(line, "[]");
		struct buf b = { 0 };

		buf_add(&b, line, (size_t)(mid - line + 1));
		buf_add(&b, "\"s\"", 3);
		buf_add(&b, mid + 1, strlen(mid + 1));
		all &= agree(line, strlen(line), &v);
		seen[v] = 1;
		all &= agree(b.p, b.len, &v);
		seen[v] = 1;
		free(open);
		free(line);
		buf_free(&b);
	}
	ok(all && seen[0] && seen[1], "nesting: every reader stops where jansson does");
}

static void
warning(void)
{
	const char *why = NULL;
	size_t col = 0;
	int r;

	r = scan_object("{\"a\":\"\xff\"}", 9, &why, &col);
	ok(!r && col == 7 && !strcmp(why, "invalid UTF-8 in string"),
	    "the reason and its column (%s at %zu)", why, col);
	r = scan_object("{\"a\":1e999}", 11, &why, &col);
	ok(!r && col == 6 && !strcmp(why, "number out of range"), "out of range (%s at %zu)",
	    why, col);
	r = scan_object("{\"a\":1} x", 10, &why, &col);
	ok(!r && col == 9 && !strcmp(why, "text after the end"), "trailing text (%s at %zu)",
	    why, col);
}

int
main(void)
{
	log_init("scan.t");
	log_level = LOG_FATAL;	/* ndjson_parse warns on every broken line */
	lines();
	numbers();
	rule();
	depth();
	warning();
	return done_testing();
}
