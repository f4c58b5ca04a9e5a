/* pair: the validating scanner, the pair reader and the mail reader
 * against jansson (as ndjson_parse reads a line), on hand-written lines and
 * on many generated ones, valid and broken (big integers among them); the fast path for the mail read last; pair_mail_json's cache. */
#include <stdlib.h>

#include "lib/log.h"
#include "json/pair.h"
#include "json/scan.h"
#include "match/match.h"
#include "tap.h"

/* ------------------------------------------------------------ helpers */

/* jansson's reading of a member's text, the way ndjson_parse reads it. */
static json_t *
parse_value(const char *p, size_t n)
{
	struct buf b = { 0 };
	json_t *o, *v;

	buf_add(&b, "{\"v\":", 5);
	buf_add(&b, p, n);
	buf_addc(&b, '}');
	o = ndjson_parse(b.p, b.len, 0);
	v = json_incref(json_object_get(o, "v"));
	json_decref(o);
	buf_free(&b);
	return v;
}

/* json_equal, but a number is its value: ndjson_parse reads every long
 * integer of a line as a real when one of them is beyond int64. */
static int
same(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!a || !b)
		return a == b;
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v)
			if (!same(v, json_object_get(b, k)))
				return 0;
		return 1;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach(a, i, v)
			if (!same(v, json_array_get(b, i)))
				return 0;
		return 1;
	}
	return json_equal(a, b);
}

/* Is the span what jansson has for key (absent: n == 0)? */
static int
span_is(const json_t *obj, const char *key, struct pair_span sp)
{
	json_t *want = json_object_get(obj, key), *got;
	int eq;

	if (!sp.n)
		return !want;
	got = parse_value(sp.p, sp.n);
	eq = got && want && same(got, want);
	json_decref(got);
	return eq;
}

static int
blank(const char *p, size_t n)
{
	while (n && strchr(" \t\r\n", p[n - 1]) && p[n - 1])
		n--;
	return !n;
}

static int
same_spans(const char *a, const struct pair *x, const char *b, const struct pair *y)
{
#define SAME(f) (x->f.n == y->f.n && (!x->f.n || x->f.p - a == y->f.p - b))
	return SAME(stream) && SAME(mail) && SAME(match) && x->close == y->close;
#undef SAME
}

/* pair_read and jansson agree on line: both reject it, or both read it,
 * with the same members; when it is a pair, the fast path (its mail given
 * as the one read last) finds the same.  Returns 1 when they agree. */
static int
agree(const char *line, size_t len, int *valid)
{
	json_t *j = ndjson_parse(line, len, 0);
	struct pair pr, fast;
	struct match_mail m = { 0 };
	const char *why;
	size_t col;
	char *mail;
	int r = pair_read(line, len, NULL, 0, &pr), ok;

	*valid = j != NULL;
	/* the other readers of the one definition: the scanner, the mail */
	ok = scan_object(line, len, &why, &col) == *valid &&
	    (match_mail_parse(&m, line, len) >= 0) == *valid;
	match_mail_free(&m);
	if (!ok) {
		json_decref(j);
		return 0;
	}
	if (!j || r < 0) {
		json_decref(j);
		return !j && r < 0;
	}
	ok = span_is(j, "stream", pr.stream) && span_is(j, "mail", pr.mail) &&
	    span_is(j, "match", pr.match) && line[pr.close] == '}' && blank(line + pr.close + 1,
	    len - pr.close - 1);
	if (ok && pr.mail.n) {
		mail = malloc(pr.mail.n);
		memcpy(mail, pr.mail.p, pr.mail.n);
		ok = pair_read(line, len, mail, pr.mail.n, &fast) == 0 &&
		    same_spans(line, &pr, line, &fast);
		free(mail);
	}
	json_decref(j);
	return ok;
}

/* ------------------------------------------------------------ hand-written */

static const char *const good[] = {
	"{\"stream\":{\"id\":\"a\"},\"mail\":{\"killmail_id\":1}}",
	"{\"stream\":{\"id\":\"a\"},\"mail\":{\"killmail_id\":1},\"match\":{\"kind\":\"kill\",\"attackers\":[0],\"pending\":true}}",
	"{\"match\":null,\"mail\":{\"x\":[1,2,{\"y\":\"}\"}]},\"stream\":{\"id\":\"b\"}}",
	"  { \"stream\" : { } ,\n\"mail\"\t:\r{ \"a\" : [ ] } , \"other\" : 5 }  \n",
	"{\"stream\":{\"n\":\"q\\\"uo\\\\te\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\\u0000\"},\"mail\":{}}",
	"{\"stream\":{\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"},\"mail\":{}}",
	"{\"stream\":{},\"mail\":{\"n\":[-0,0.5,-1.5e-3,1E+2,123456789012345678901234567890,1e-400]}}",
	"{\"str\\u0065am\":{\"id\":\"escaped key\"},\"mail\":{},\"m\\u0061tch\":{}}",
	"{\"stream\":{\"id\":\"first\"},\"mail\":{},\"stream\":{\"id\":\"last wins\"}}",
	"{\"stream\":\"not an object\",\"mail\":{}}",
	"{\"receipt\":{\"target\":\"discord\",\"status\":\"posted\"}}",
	"{}",
	"{\"mail\":{\"deep\":[[[[[[[[[[{\"a\":[{\"b\":{}}]}]]]]]]]]]]}}",
	/* a 100-digit integer: checked on a copy beyond the 64-byte buffer */
	"{\"stream\":{},\"mail\":{\"n\":1234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890,\"e\":1234567890123456789012345678901234567890123456789012345678901234567890e2}}",
	NULL
};

static const char *const bad[] = {
	"", " ", "[]", "\"string\"", "5", "null", "{", "}", "{\"stream\":{}",
	"{\"stream\":{}}}", "{\"stream\":{}} x", "{\"a\":1}{}", "{\"a\":[1,2,]}",
	"{\"a\":1,}", "{,\"a\":1}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
	"{\"a\":-}", "{\"a\":+1}", "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":tru}", "{\"a\":nul}",
	"{\"a\":NaN}", "{\"a\":Infinity}", "{'a':1}", "{a:1}", "{\"a\":\"\\x\"}",
	"{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"\t\"}", "{\"a\":\"\x01\"}",
	"{\"a\":\"unterminated}", "{\"a\":\"\\\"}", "{\"a\":\"\\uD800\"}",
	"{\"a\":\"\\uDC00\"}", "{\"a\":\"\\uD800\\u0041\"}", "{\"a\":\"\\uD800x\"}",
	"{\"a\\u0000\":1}", "{\"a\":{\"b\\u0000\":1}}", "{\"a\":\"\xc0\x80\"}",
	"{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}",
	"{\"a\":\"\x80\"}", "{\"a\":\"\xff\"}", "{\"a\":1e400}", "{\"a\":-1e400}",
	"\xef\xbb\xbf{\"a\":1}", "{\"a\":[}", "{\"a\":{]}", "{\"a\":[1 2]}", "{\"a\":{\"b\"}}",
	"{\"a\":\"x\"\"y\"}", "{\"stream\":{},\"mail\":{},\"match\":}",
	NULL
};

static void
hand_written(void)
{
	int i, v, all = 1;

	for (i = 0; good[i]; i++) {
		if (!agree(good[i], strlen(good[i]), &v) || !v) {
			all = 0;
			printf("# disagree on a valid line: %s\n", good[i]);
		}
	}
	ok(all, "valid lines: read as jansson reads them (%d lines)", i);
	for (all = 1, i = 0; bad[i]; i++) {
		if (!agree(bad[i], strlen(bad[i]), &v) || v) {
			all = 0;
			printf("# disagree on an invalid line: %s\n", bad[i]);
		}
	}
	ok(all, "invalid lines: rejected, as jansson rejects them (%d lines)", i);
}

/* The depth limit is jansson's (2048 values deep, scalars included). */
static void
depth(void)
{
	struct buf b = { 0 };
	int d, v, all = 1, seen_ok = 0, seen_bad = 0;

	for (d = 2040; d <= 2050; d++) {
		b.len = 0;
		buf_add(&b, "{\"mail\":", 8);
		for (int k = 0; k < d; k++)
			buf_addc(&b, '[');
		buf_addc(&b, '1');
		for (int k = 0; k < d; k++)
			buf_addc(&b, ']');
		buf_addc(&b, '}');
		all &= agree(b.p, b.len, &v);
		seen_ok |= v;
		seen_bad |= !v;
	}
	ok(all && seen_ok && seen_bad, "nesting: the same limit as jansson (both sides of it seen)");
	buf_free(&b);
}

/* ------------------------------------------------------------ generated */

static unsigned long long rnd_state = 88172645463325252ull;

static unsigned
rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned)(rnd_state % n);
}

static void
gen_ws(struct buf *b, int pretty)
{
	static const char *const w[] = { " ", "\t", "\n", "\r\n", "  " };

	const char *s = w[rnd(5)];

	if (pretty && !rnd(3))
		buf_add(b, s, strlen(s));
}

static void
gen_string(struct buf *b)
{
	static const char *const bits[] = { "a", "Jita", " ", "\\\"", "\\\\", "\\/", "\\n",
		"\\t", "\\u00e9", "\\u0000", "\\uD83D\\uDE00", "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "}", "]", ",", ":", "{", "\\\"mail\\\":" };
	int n = (int)rnd(5);

	buf_addc(b, '"');
	while (n--) {
		const char *s = bits[rnd(20)];

		buf_add(b, s, strlen(s));
	}
	buf_addc(b, '"');
}

static void gen_value(struct buf *b, int d, int pretty);

static void
gen_compound(struct buf *b, int d, int pretty, int obj)
{
	int n = (int)rnd(4);

	buf_addc(b, obj ? '{' : '[');
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addc(b, ',');
		gen_ws(b, pretty);
		if (obj) {
			gen_string(b);
			gen_ws(b, pretty);
			buf_addc(b, ':');
			gen_ws(b, pretty);
		}
		gen_value(b, d + 1, pretty);
		gen_ws(b, pretty);
	}
	buf_addc(b, obj ? '}' : ']');
}

static void
gen_value(struct buf *b, int d, int pretty)
{
	static const char *const nums[] = { "0", "-0", "7", "-42", "3.25", "-0.5e-7",
		"1E+30", "9223372036854775807", "9223372036854775808", "-12345678901234567890",
		"1e308", "2.5e-400", "30000142", "1.7976931348623157e308",
		"10000000000000000000", "-4500000000000000000", "123456789012345690000000",
		"-9223372036854775809", "1e400", "-1000000000000000000000000000000000000000" };
	static const char *const lits[] = { "true", "false", "null" };
	unsigned k = rnd(d > 3 ? 3 : 6);
	const char *s = k == 1 ? nums[rnd(20)] : lits[rnd(3)];

	if (k == 0)
		gen_string(b);
	else if (k <= 2)
		buf_add(b, s, strlen(s));
	else
		gen_compound(b, d, pretty, k != 5);
}

/* A pair-like object: stream, mail, maybe match, maybe others, in a
 * random order; compact (as the stages write) or spaced. */
static void
gen_line(struct buf *b, const char *mail, size_t mn)
{
	static const char *const keys[] = { "\"stream\"", "\"mail\"", "\"match\"", "\"other\"",
		"\"str\\u0065am\"", "\"mail\"" };
	int pretty = rnd(4) == 0, order = rnd(3), n = 2 + (int)rnd(2) + (rnd(4) == 0);

	gen_ws(b, pretty);
	buf_addc(b, '{');
	for (int i = 0; i < n; i++) {
		int k = order ? i : (int)rnd(6);

		if (i)
			buf_addc(b, ',');
		gen_ws(b, pretty);
		buf_add(b, keys[k], strlen(keys[k]));
		gen_ws(b, pretty);
		buf_addc(b, ':');
		gen_ws(b, pretty);
		if (k == 1 && mail)
			buf_add(b, mail, mn);
		else if (k <= 1 && rnd(8))
			gen_compound(b, 1, pretty, 1);
		else
			gen_value(b, 1, pretty);
		gen_ws(b, pretty);
	}
	buf_addc(b, '}');
	gen_ws(b, pretty);
}

/* Break a valid line in one of the ways lines break. */
static void
mutate(struct buf *b)
{
	static const char junk[] = "{}[]\",:\\x0e-+.tfn \x01\x80\xc3\xff";
	size_t at = rnd((unsigned)b->len + 1);

	switch (rnd(4)) {
	case 0:				/* cut short */
		b->len = at;
		break;
	case 1:				/* a byte dropped */
		if (at < b->len) {
			memmove(b->p + at, b->p + at + 1, b->len - at - 1);
			b->len--;
		}
		break;
	case 2:				/* a byte changed */
		if (at < b->len)
			b->p[at] = junk[rnd(sizeof junk - 1)];
		break;
	default:			/* a byte inserted */
		buf_addc(b, 0);
		memmove(b->p + at + 1, b->p + at, b->len - at - 1);
		b->p[at] = junk[rnd(sizeof junk - 1)];
	}
}

static void
generated(void)
{
	struct buf b = { 0 }, mail = { 0 };
	int i, v, nvalid = 0, ninvalid = 0, bad = 0;

	for (i = 0; i < 30000; i++) {
		if (i % 50 == 0) {	/* a new "mail read last" for the fast path */
			mail.len = 0;
			gen_compound(&mail, 1, 0, 1);
		}
		b.len = 0;
		gen_line(&b, rnd(2) ? mail.p : NULL, mail.len);
		if (i % 2)
			mutate(&b);
		if (!agree(b.p, b.len, &v) && bad++ < 5)
			printf("# disagree (%s): %.*s\n", v ? "jansson reads it" : "jansson rejects it",
			    (int)b.len, b.p);
		nvalid += v;
		ninvalid += !v;
	}
	ok(!bad, "30000 generated lines: %d valid, %d broken, the scanner agrees with jansson on all",
	    nvalid, ninvalid);
	ok(nvalid > 10000 && ninvalid > 5000, "... and both kinds are well represented");
	buf_free(&b);
	buf_free(&mail);
}

/* ------------------------------------------------------------ fast path */

static void
fast_path(void)
{
	/* The fast path trusts the mail read last (it was checked then) and
	 * compares it: a text that was never valid shows which path ran. */
	const char *bogus = "{oops", *compact = "{\"stream\":{\"id\":\"a\"},\"mail\":{oops}",
	    *spaced = "{\"stream\":{\"id\":\"a\"}, \"mail\":{oops}";
	const char *m = "{\"killmail_id\":7}", *line =
	    "{\"stream\":{\"id\":\"a\"},\"mail\":{\"killmail_id\":7},\"match\":{\"pending\":true}}";
	struct pair pr, ref;

	ok(pair_read(compact, strlen(compact), bogus, 5, &pr) == 0 && pr.mail.n == 5 &&
	    pr.mail.p == compact + 28, "fast path hit: the compact layout with the mail read last");
	ok(pair_read(spaced, strlen(spaced), bogus, 5, &pr) < 0,
	    "fast path missed (another layout): the line is scanned whole, and rejected");
	ok(pair_read(compact, strlen(compact), "{oopt", 5, &pr) < 0,
	    "fast path missed (another mail): scanned whole");
	pair_read(line, strlen(line), NULL, 0, &ref);
	ok(pair_read(line, strlen(line), m, strlen(m), &pr) == 0 && same_spans(line, &pr, line, &ref),
	    "fast path: the same members as the whole scan");
	ok(pair_read(line, strlen(line) - 1, m, strlen(m), &pr) < 0, "fast path: a line cut short is rejected");
}

/* ------------------------------------------------------------ mails */

static struct pair_span
span(const char *s)
{
	return (struct pair_span){ s, strlen(s) };
}

static void
mails(void)
{
	struct pair_mail pm = { 0 };
	char a1[] = "{\"killmail_id\":1}", a2[] = "{\"killmail_id\":1}", b[] = "{\"killmail_id\":2}";
	json_t *j1, *j2;

	j1 = pair_mail_json(&pm, span(a1), 1);
	ok(j1 && json_integer_value(json_object_get(j1, "killmail_id")) == 1, "a mail is parsed");
	j2 = pair_mail_json(&pm, span(a2), 2);
	ok(j2 == j1, "the same text (elsewhere in memory): the same object, not parsed again");
	j2 = pair_mail_json(&pm, span(b), 3);
	ok(j2 && json_integer_value(json_object_get(j2, "killmail_id")) == 2, "another text: parsed anew");
	ok(pair_mail_json(&pm, span("{\"killmail_id\":"), 4) == NULL, "an invalid text: NULL");
	j1 = pair_mail_json(&pm, span(b), 5);
	ok(j1 && json_integer_value(json_object_get(j1, "killmail_id")) == 2,
	    "after an invalid one, a valid text is parsed again");
	pair_mail_free(&pm);
	ok(pm.j == NULL, "freed");
}

int
main(void)
{
	log_init("pair.t");
	log_level = LOG_FATAL;	/* jansson's side warns on every broken line */
	hand_written();
	depth();
	generated();
	fast_path();
	mails();
	return done_testing();
}
