/* pair: the members of a pair line, found by a validating scanner; see
 * pair.h. */
#include <string.h>

#include "pair.h"

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
string(struct scan *s)
{
	if (s->p >= s->end || *s->p++ != '"')
		return 0;
	while (s->p < s->end) {
		unsigned char c = *s->p++;

		if (c == '"')
			return 1;
		if (c < 0x20)
			return 0;
		if (c != '\\' || s->p >= s->end)
			continue;
		c = *s->p++;
		if (c == 'u') {
			if (s->end - s->p < 4 || strspn(s->p, "0123456789abcdefABCDEF") < 4)
				return 0;
			s->p += 4;
		} else if (!strchr("\"\\/bfnrt", c) || !c)
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

static int
number(struct scan *s)
{
	const char *b;

	lit(s, "-", 1);
	b = s->p;
	if (!digits(s) || (*b == '0' && s->p - b > 1))
		return 0;
	if (lit(s, ".", 1) && !digits(s))
		return 0;
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (!lit(s, "+", 1))
			lit(s, "-", 1);
		if (!digits(s))
			return 0;
	}
	return 1;
}

static int value(struct scan *s);

/* An object or an array: open, members, close. */
static int
compound(struct scan *s, char close)
{
	int first = 1;

	if (++s->depth > 512)
		return 0;
	s->p++;
	for (ws(s); s->p < s->end; ws(s)) {
		if (*s->p == close && first) {
			s->p++;
			return s->depth--, 1;
		}
		if (close == '}' && (ws(s), !string(s) || (ws(s), !lit(s, ":", 1))))
			return 0;
		if (!value(s))
			return 0;
		ws(s);
		if (lit(s, &close, 1))
			return s->depth--, 1;
		if (!lit(s, ",", 1))
			return 0;
		first = 0;
		ws(s);
		if (s->p < s->end && *s->p == close)
			return 0;	/* trailing comma */
	}
	return 0;
}

static int
value(struct scan *s)
{
	ws(s);
	if (s->p >= s->end)
		return 0;
	switch (*s->p) {
	case '{': return compound(s, '}');
	case '[': return compound(s, ']');
	case '"': return string(s);
	case 't': return lit(s, "true", 4);
	case 'f': return lit(s, "false", 5);
	case 'n': return lit(s, "null", 4);
	default: return number(s);
	}
}

/* ------------------------------------------------------------- pairs */

static void
member(struct pair *pr, const char *k, size_t kn, struct pair_span v)
{
	if (kn == 8 && !memcmp(k, "\"stream\"", 8))
		pr->stream = v;
	else if (kn == 6 && !memcmp(k, "\"mail\"", 6))
		pr->mail = v;
	else if (kn == 7 && !memcmp(k, "\"match\"", 7))
		pr->match = v;
}

/* Check that line is one JSON object and find its members. */
static int
split(const char *line, size_t len, struct pair *pr)
{
	struct scan s = { line, line + len, 0 };

	memset(pr, 0, sizeof *pr);
	ws(&s);
	if (!lit(&s, "{", 1))
		return -1;
	for (ws(&s); s.p < s.end && *s.p != '}'; ws(&s)) {
		const char *k = s.p, *v;
		size_t kn;

		if (!string(&s))
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
	const char *b = s->p;

	return value(s) ? (struct pair_span){ b, (size_t)(s->p - b) } : (struct pair_span){ 0 };
}

/* The compact layout the stages write, {"stream":S,"mail":M} or
 * {"stream":S,"mail":M,"match":X}, with M the mail read last: S and X are
 * scanned, M is compared. */
static int
same_mail(const char *line, size_t len, const char *mail, size_t mn, struct pair *pr)
{
	struct scan s = { line + 10, line + len, 0 };

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
