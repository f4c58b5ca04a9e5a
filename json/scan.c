/* scan: the validating JSON scanner; see scan.h.  Each rule below is
 * jansson's (load.c, utf.c), as ndjson_parse calls it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "json/scan.h"

static const char DEEP[] = "maximum nesting depth reached";

void
scan_init(struct scan *s, const char *p, size_t n, int depth)
{
	memset(s, 0, sizeof *s);
	s->p = s->begin = p;
	s->end = p + n;
	s->depth = depth;
}

int
scan_fail(struct scan *s, const char *why)
{
	if (!s->why) {
		s->why = why;
		s->at = s->p;
	}
	return 0;
}

static int
fail_at(struct scan *s, const char *at, const char *why)
{
	s->p = at;
	return scan_fail(s, why);
}

/* ------------------------------------------------------------ strings */

/* The length of the UTF-8 sequence at p, 0 when it is not a valid one
 * (overlong, a surrogate, beyond U+10FFFF, cut short). */
static int
utf8_len(const unsigned char *p, const unsigned char *e)
{
	unsigned c = *p, n, cp, min;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if ((size_t)(e - p) < n)
		return 0;
	for (unsigned i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return (int)n;
}

static int
hex4(const unsigned char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return 0;
		*v = *v << 4 | (unsigned)d;
	}
	return 1;
}

static char *
put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80)
		*d++ = (char)cp;
	else if (cp < 0x800)
		*d++ = (char)(0xc0 | cp >> 6), *d++ = (char)(0x80 | (cp & 0x3f));
	else if (cp < 0x10000)
		*d++ = (char)(0xe0 | cp >> 12), *d++ = (char)(0x80 | (cp >> 6 & 0x3f)),
		*d++ = (char)(0x80 | (cp & 0x3f));
	else
		*d++ = (char)(0xf0 | cp >> 18), *d++ = (char)(0x80 | (cp >> 12 & 0x3f)),
		*d++ = (char)(0x80 | (cp >> 6 & 0x3f)), *d++ = (char)(0x80 | (cp & 0x3f));
	return d;
}

/* After "\u" at *pp: the code point of one escape, or of a surrogate pair
 * of two; -1 for a lone surrogate or a bad hex digit. */
static long
uescape(const unsigned char **pp, const unsigned char *e)
{
	const unsigned char *p = *pp;
	unsigned hi, lo;

	if (e - p < 4 || !hex4(p, &hi) || (hi >= 0xdc00 && hi <= 0xdfff))
		return -1;
	p += 4;
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (e - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return -1;
		p += 6;
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	}
	*pp = p;
	return hi;
}

int
scan_string(struct scan *s, int key, char *out, size_t *n)
{
	static const char esc[] = "\"\\/bfnrt", unesc[] = "\"\\/\b\f\n\r\t";
	const unsigned char *p = (const unsigned char *)s->p, *e = (const unsigned char *)s->end;
	char *d = out;

	if (!key && s->depth >= SCAN_MAX_DEPTH)
		return scan_fail(s, DEEP);
	if (p >= e || *p != '"')
		return scan_fail(s, key ? "string key expected" : "string expected");
	for (p++;;) {
		const unsigned char *run = p, *x;
		unsigned char c;
		long cp;
		int k;

		while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (d) {
			memcpy(d, run, (size_t)(p - run));
			d += p - run;
		}
		if (p >= e)
			return fail_at(s, (const char *)p, "string not closed");
		c = *p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail_at(s, (const char *)p, "control character in string");
		if (c >= 0x80) {
			if (!(k = utf8_len(p, e)))
				return fail_at(s, (const char *)p, "invalid UTF-8 in string");
			if (d)
				memcpy(d, p, (size_t)k), d += k;
			p += k;
			continue;
		}
		x = p++;	/* a backslash */
		c = p < e ? *p++ : 0;
		if (c == 'u') {
			if ((cp = uescape(&p, e)) < 0)
				return fail_at(s, (const char *)x, "invalid \\u escape");
			if (!cp && key)
				return fail_at(s, (const char *)x, "\\u0000 in an object key");
			if (d)
				d = put_utf8(d, (unsigned)cp);
		} else if (c && strchr(esc, c)) {
			if (d)
				*d++ = unesc[strchr(esc, c) - esc];
		} else
			return fail_at(s, (const char *)x, "invalid escape");
	}
	s->p = (const char *)p + 1;
	if (d) {
		*d = 0;
		*n = (size_t)(d - out);
	}
	return 1;
}

/* ------------------------------------------------------------ numbers */

static size_t
digits(struct scan *s)
{
	const char *b = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return (size_t)(s->p - b);
}

/* strtod of n bytes at b (not NUL-terminated in the line). */
static double
to_double(const char *b, size_t n)
{
	char small[64], *t = n < sizeof small ? small : mem_realloc(NULL, n + 1);
	double d;

	memcpy(t, b, n);
	t[n] = 0;
	d = strtod(t, NULL);
	if (t != small)
		free(t);
	return d;
}

/* The integer of nd digits at d, known to fit in 64 bits. */
static int64_t
to_int(const char *d, size_t nd, int neg)
{
	uint64_t u = 0;

	for (size_t i = 0; i < nd; i++)
		u = u * 10 + (uint64_t)(d[i] - '0');
	return neg ? -(int64_t)(u - 1) - 1 : (int64_t)u;
}

/* Append the text up to p, and ".0" after it: an integer that jansson
 * would refuse becomes a real it reads. */
static void
copy_big(struct scan *s)
{
	buf_add(s->big, s->copied, (size_t)(s->p - s->copied));
	buf_add(s->big, ".0", 2);
	s->copied = s->p;
}

int
scan_number(struct scan *s, struct scan_num *v)
{
	const char *b = s->p, *d;
	size_t nd, n;
	int neg, real = 0, big;
	double x;

	if (s->depth >= SCAN_MAX_DEPTH)
		return scan_fail(s, DEEP);
	neg = s->p < s->end && *s->p == '-';
	s->p += neg;
	d = s->p;
	if (!(nd = digits(s)) || (*d == '0' && nd > 1))
		return fail_at(s, b, "invalid number");
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!digits(s))
			return fail_at(s, b, "invalid number");
		real = 1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!digits(s))
			return fail_at(s, b, "invalid number");
		real = 2;
	}
	n = (size_t)(s->p - b);
	big = !real && (nd > 19 || (nd == 19 &&
	    memcmp(d, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0));
	if (!real && !big) {
		if (v) {
			v->real = 0;
			v->i = to_int(d, nd, neg);
			v->d = (double)v->i;
		}
		return 1;
	}
	if (big && s->big)
		copy_big(s);
	/* only an exponent or 309 digits reach beyond a double's range */
	if (!v && real != 2 && n < 300)
		return 1;
	x = to_double(b, n);
	if (!isfinite(x))
		return fail_at(s, b, "number out of range");
	if (v)
		*v = (struct scan_num){ 1, 0, x };
	return 1;
}

/* ------------------------------------------------------------ structure */

int
scan_word(struct scan *s, int *v)
{
	static const char *const w[] = { "null", "false", "true" };

	if (s->depth >= SCAN_MAX_DEPTH)
		return scan_fail(s, DEEP);
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(w[i]);

		if ((size_t)(s->end - s->p) >= n && !memcmp(s->p, w[i], n)) {
			s->p += n;
			if (v)
				*v = i - 1;
			return 1;
		}
	}
	return scan_fail(s, "invalid literal");
}

int
scan_open(struct scan *s, char open)
{
	if (s->depth >= SCAN_MAX_DEPTH)
		return scan_fail(s, DEEP);
	if (s->p >= s->end || *s->p != open)
		return scan_fail(s, open == '{' ? "'{' expected" : "'[' expected");
	s->p++;
	s->depth++;
	return 1;
}

int
scan_next(struct scan *s, char close, size_t i)
{
	scan_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth--;
		return 0;
	}
	if (!i)
		return 1;
	if (s->p < s->end && *s->p == ',') {
		s->p++;
		scan_ws(s);
		return 1;
	}
	scan_fail(s, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
	return -1;
}

int
scan_colon(struct scan *s)
{
	scan_ws(s);
	if (s->p >= s->end || *s->p != ':')
		return scan_fail(s, "':' expected");
	s->p++;
	scan_ws(s);
	return 1;
}

int
scan_key(struct scan *s, char *out, size_t *n)
{
	return scan_string(s, 1, out, n) && scan_colon(s);
}

static int
compound(struct scan *s, char open)
{
	char close = open == '{' ? '}' : ']';
	int r;

	if (!scan_open(s, open))
		return 0;
	for (size_t i = 0; (r = scan_next(s, close, i)) > 0; i++)
		if ((open == '{' && !scan_key(s, NULL, NULL)) || !scan_value(s))
			return 0;
	return r == 0;
}

int
scan_value(struct scan *s)
{
	scan_ws(s);
	if (s->p >= s->end)
		return scan_fail(s, s->depth >= SCAN_MAX_DEPTH ? DEEP : "value expected");
	switch (*s->p) {
	case '{': return compound(s, '{');
	case '[': return compound(s, '[');
	case '"': return scan_string(s, 0, NULL, NULL);
	case 't': case 'f': case 'n': return scan_word(s, NULL);
	case '-': return scan_number(s, NULL);
	default:
		if (*s->p >= '0' && *s->p <= '9')
			return scan_number(s, NULL);
		return scan_fail(s, s->depth >= SCAN_MAX_DEPTH ? DEEP : "value expected");
	}
}

int
scan_end(struct scan *s)
{
	scan_ws(s);
	return s->p == s->end ? 1 : scan_fail(s, "text after the end");
}

/* ------------------------------------------------------------ lines */

static int
scan_line(struct scan *s)
{
	scan_ws(s);
	return compound(s, '{') && scan_end(s);
}

int
scan_bigints(const char *line, size_t len, struct buf *out)
{
	struct scan s;

	scan_init(&s, line, len, 0);
	s.big = out;
	s.copied = line;
	if (!scan_line(&s))
		return 0;
	buf_add(out, s.copied, (size_t)(s.end - s.copied));
	return 1;
}

int
scan_object(const char *line, size_t len, const char **why, size_t *col)
{
	struct scan s;

	scan_init(&s, line, len, 0);
	if (scan_line(&s))
		return 1;
	*why = s.why;
	*col = (size_t)(s.at - s.begin) + 1;
	return 0;
}

void
scan_warn_line(unsigned long lineno, const char *why, size_t col)
{
	log_warn("malformed line skipped line=%lu col=%zu error=\"%s\"", lineno, col, why);
}
