/* pair: the members of a pair line, found by a validating scanner; see
 * pair.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "json/pair.h"

/* ---------------------------------------------------------- the scanner */

struct scan {
	const char *p, *end;
	int depth;
};

static void
ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
lit(struct scan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
		return 0;
	s->p += n;
	return 1;
}

static int
hex4(const char *p, unsigned *u)
{
	*u = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		if (c >= '0' && c <= '9')
			*u = *u << 4 | (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*u = *u << 4 | (unsigned)((c | 0x20) - 'a' + 10);
		else
			return 0;
	}
	return 1;
}

/* After "\u": four hex digits, and a surrogate only in a valid pair, as
 * jansson wants; \u0000 only outside keys (ndjson_parse allows it in
 * values, jansson never in keys). */
static int
uescape(struct scan *s, int key)
{
	unsigned u, lo;

	if (s->end - s->p < 4 || !hex4(s->p, &u))
		return 0;
	s->p += 4;
	if ((u >= 0xDC00 && u <= 0xDFFF) || (key && !u))
		return 0;
	if (u < 0xD800 || u > 0xDBFF)
		return 1;
	if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || !hex4(s->p + 2, &lo) ||
	    lo < 0xDC00 || lo > 0xDFFF)
		return 0;
	s->p += 6;
	return 1;
}

/* One UTF-8 sequence after its first byte c (>= 0x80): no overlong form,
 * no surrogate, nothing above U+10FFFF, as jansson checks. */
static int
utf8(struct scan *s, unsigned char c)
{
	int n = c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : -1;
	unsigned u = c & (n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07);

	if (n < 0 || s->end - s->p < n)
		return 0;
	for (int i = 0; i < n; i++) {
		unsigned char k = (unsigned char)*s->p++;

		if ((k & 0xC0) != 0x80)
			return 0;
		u = u << 6 | (k & 0x3F);
	}
	return !(n == 2 && u < 0x800) && !(n == 3 && u < 0x10000) && u <= 0x10FFFF &&
	    !(u >= 0xD800 && u <= 0xDFFF);
}

static int
string(struct scan *s, int key)
{
	if (s->p >= s->end || *s->p++ != '"')
		return 0;
	while (s->p < s->end) {
		unsigned char c = *s->p++;

		if (c == '"')
			return 1;
		if (c < 0x20 || (c >= 0x80 && !utf8(s, c)))
			return 0;
		if (c != '\\')
			continue;
		if (s->p >= s->end)
			return 0;
		c = *s->p++;
		if (c == 'u' ? !uescape(s, key) : !c || !strchr("\"\\/bfnrt", c))
			return 0;
	}
	return 0;
}

static size_t
digits(struct scan *s)
{
	const char *b = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return (size_t)(s->p - b);
}

/* Finite as a double?  ndjson_parse takes integers beyond int64 as reals
 * and refuses what overflows a double (1e400, 400 digits): only numbers
 * with an exponent or many digits can. */
static int
in_range(const char *b, size_t n, int exp)
{
	char small[64], *t = small;
	int ok;

	if (!exp && n < 300)
		return 1;
	if (n >= sizeof small)
		t = mem_realloc(NULL, n + 1);
	memcpy(t, b, n);
	t[n] = 0;
	ok = isfinite(strtod(t, NULL));
	if (t != small)
		free(t);
	return ok;
}

static int
number(struct scan *s)
{
	const char *b = s->p, *d;
	int exp = 0;

	lit(s, "-", 1);
	d = s->p;
	if (!digits(s) || (*d == '0' && s->p - d > 1))
		return 0;
	if (lit(s, ".", 1) && !digits(s))
		return 0;
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		exp = 1;
		if (!lit(s, "+", 1))
			lit(s, "-", 1);
		if (!digits(s))
			return 0;
	}
	return in_range(b, (size_t)(s->p - b), exp);
}

static int value(struct scan *s);

/* An object or an array: open, members, close. */
static int
compound(struct scan *s, char close)
{
	int first = 1;

	s->p++;
	for (ws(s); s->p < s->end; ws(s)) {
		if (*s->p == close && first) {
			s->p++;
			return 1;
		}
		if (close == '}' && (ws(s), !string(s, 1) || (ws(s), !lit(s, ":", 1))))
			return 0;
		if (!value(s))
			return 0;
		ws(s);
		if (lit(s, &close, 1))
			return 1;
		if (!lit(s, ",", 1))
			return 0;
		first = 0;
		ws(s);
		if (s->p < s->end && *s->p == close)
			return 0;	/* trailing comma */
	}
	return 0;
}

/* A value at depth s->depth + 1: jansson counts every value, scalars
 * too, and refuses one deeper than JSON_PARSER_MAX_DEPTH. */
static int
value(struct scan *s)
{
	int ok;

	ws(s);
	if (s->p >= s->end || ++s->depth > JSON_PARSER_MAX_DEPTH)
		return 0;
	switch (*s->p) {
	case '{': ok = compound(s, '}'); break;
	case '[': ok = compound(s, ']'); break;
	case '"': ok = string(s, 0); break;
	case 't': ok = lit(s, "true", 4); break;
	case 'f': ok = lit(s, "false", 5); break;
	case 'n': ok = lit(s, "null", 4); break;
	default: ok = number(s);
	}
	s->depth--;
	return ok;
}

/* ------------------------------------------------------------- pairs */

/* The member a key names, or NULL; k is the key as written, quotes
 * included. */
static struct pair_span *
slot(struct pair *pr, const char *k, size_t kn)
{
	if (kn == 8 && !memcmp(k, "\"stream\"", 8))
		return &pr->stream;
	if (kn == 6 && !memcmp(k, "\"mail\"", 6))
		return &pr->mail;
	if (kn == 7 && !memcmp(k, "\"match\"", 7))
		return &pr->match;
	return NULL;
}

/* A key written with escapes ("str\u0065am") is the same key to jansson:
 * it is compared decoded. */
static void
member(struct pair *pr, const char *k, size_t kn, struct pair_span v)
{
	struct pair_span *sp = slot(pr, k, kn);
	json_t *j;
	char q[10];
	size_t n;

	if (!sp && memchr(k, '\\', kn) && (j = json_loadb(k, kn, JSON_DECODE_ANY, NULL))) {
		if ((n = json_string_length(j)) + 2 <= sizeof q) {
			q[0] = q[n + 1] = '"';
			memcpy(q + 1, json_string_value(j), n);
			sp = slot(pr, q, n + 2);
		}
		json_decref(j);
	}
	if (sp)
		*sp = v;
}

/* Check that line is one JSON object and find its members. */
static int
split(const char *line, size_t len, struct pair *pr)
{
	struct scan s = { line, line + len, 1 };	/* the members are at depth 2 */

	memset(pr, 0, sizeof *pr);
	ws(&s);
	if (!lit(&s, "{", 1))
		return -1;
	for (ws(&s); s.p < s.end && *s.p != '}'; ws(&s)) {
		const char *k = s.p, *v;
		size_t kn;

		if (!string(&s, 1))
			return -1;
		kn = (size_t)(s.p - k);
		ws(&s);
		if (!lit(&s, ":", 1))
			return -1;
		ws(&s);
		v = s.p;
		if (!value(&s))
			return -1;
		member(pr, k, kn, (struct pair_span){ v, (size_t)(s.p - v) });
		ws(&s);
		if (!lit(&s, ",", 1))
			break;
		ws(&s);
		if (s.p < s.end && *s.p == '}')
			return -1;
	}
	if (!lit(&s, "}", 1))
		return -1;
	pr->close = (size_t)(s.p - 1 - line);
	ws(&s);
	return s.p == s.end ? 0 : -1;
}

/* A value scanned in place: its span, or n == 0 when it is not valid. */
static struct pair_span
scan_value(struct scan *s)
{
	const char *b;

	ws(s);		/* the span begins with the value, as split() has it */
	b = s->p;
	return value(s) ? (struct pair_span){ b, (size_t)(s->p - b) } : (struct pair_span){ 0 };
}

/* The compact layout the stages write, {"stream":S,"mail":M} or
 * {"stream":S,"mail":M,"match":X}, with M the mail read last: S and X are
 * scanned, M is compared. */
static int
same_mail(const char *line, size_t len, const char *mail, size_t mn, struct pair *pr)
{
	struct scan s = { line + 10, line + len, 1 };

	memset(pr, 0, sizeof *pr);
	if (!mail || len < mn + 20 || memcmp(line, "{\"stream\":{", 11) ||
	    line[len - 1] != '}')
		return -1;
	if (!(pr->stream = scan_value(&s)).n || !lit(&s, ",\"mail\":", 8) ||
	    (size_t)(s.end - s.p) < mn + 1 || memcmp(s.p, mail, mn))
		return -1;
	pr->mail = (struct pair_span){ s.p, mn };
	s.p += mn;
	if (lit(&s, ",\"match\":", 9) && !(pr->match = scan_value(&s)).n)
		return -1;
	if (s.p != s.end - 1 || *s.p != '}')
		return -1;
	pr->close = len - 1;
	return 0;
}

int
pair_read(const char *line, size_t len, const char *mail, size_t mn, struct pair *pr)
{
	if (same_mail(line, len, mail, mn, pr) == 0)
		return 0;
	return split(line, len, pr);
}

int
pair_is(const struct pair *pr)
{
	return pr->stream.n && pr->mail.n && *pr->stream.p == '{' && *pr->mail.p == '{';
}

/* ------------------------------------------------------------- mails */

json_t *
pair_mail_json(struct pair_mail *pm, struct pair_span sp, unsigned long lineno)
{
	if (pm->j && pm->text.len == sp.n && !memcmp(pm->text.p, sp.p, sp.n))
		return pm->j;
	json_decref(pm->j);
	pm->text.len = 0;
	buf_add(&pm->text, sp.p, sp.n);
	if (!(pm->j = ndjson_parse(sp.p, sp.n, lineno)))
		pm->text.len = 0;
	return pm->j;
}

void
pair_mail_free(struct pair_mail *pm)
{
	json_decref(pm->j);
	buf_free(&pm->text);
	pm->j = NULL;
}
