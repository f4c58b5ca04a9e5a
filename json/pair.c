/* pair: the members of a pair line, found by the validating scanner
 * (json/scan.h); see pair.h. */
#include <string.h>

#include "json/pair.h"
#include "json/scan.h"

/* ------------------------------------------------------------- pairs */

/* Why the line is not one JSON object, for the caller's warning. */
static int
fail(struct pair *pr, const struct scan *s)
{
	pr->why = s->why ? s->why : "not a JSON object";
	pr->col = (size_t)((s->why ? s->at : s->p) - s->begin) + 1;
	return -1;
}

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
	if (kn == 9 && !memcmp(k, "\"streams\"", 9))
		return &pr->streams;
	if (kn == 9 && !memcmp(k, "\"matches\"", 9))
		return &pr->matches;
	return NULL;
}

/* A key written with escapes ("str\u0065am") is the same key to jansson:
 * it is compared decoded (the longest spelling of "stream" is 38 bytes). */
static void
member(struct pair *pr, const char *k, size_t kn, struct pair_span v)
{
	struct pair_span *sp = slot(pr, k, kn);
	char q[64];
	struct scan s;
	size_t n;

	if (!sp && kn < sizeof q - 1 && memchr(k, '\\', kn)) {
		scan_init(&s, k, kn, 0);
		if (scan_string(&s, 1, q + 1, &n) && n + 2 < sizeof q) {
			q[0] = q[n + 1] = '"';
			sp = slot(pr, q, n + 2);
		}
	}
	if (sp)
		*sp = v;
}

/* Check that line is one JSON object and find its members. */
static int
split(const char *line, size_t len, struct pair *pr)
{
	struct scan s;
	int r;

	memset(pr, 0, sizeof *pr);
	scan_init(&s, line, len, 0);
	scan_ws(&s);
	if (!scan_open(&s, '{'))
		return fail(pr, &s);
	for (size_t i = 0; (r = scan_next(&s, '}', i)) > 0; i++) {
		const char *k = s.p, *v;
		size_t kn;

		if (!scan_string(&s, 1, NULL, NULL))
			return fail(pr, &s);
		kn = (size_t)(s.p - k);
		if (!scan_colon(&s))
			return fail(pr, &s);
		v = s.p;
		if (!scan_value(&s))
			return fail(pr, &s);
		member(pr, k, kn, (struct pair_span){ v, (size_t)(s.p - v) });
	}
	if (r < 0)
		return fail(pr, &s);
	pr->close = (size_t)(s.p - 1 - line);
	return scan_end(&s) ? 0 : fail(pr, &s);
}

/* A value scanned in place: its span, or n == 0 when it is not valid. */
static struct pair_span
value_span(struct scan *s)
{
	const char *b;

	scan_ws(s);		/* the span begins with the value, as split() has it */
	b = s->p;
	return scan_value(s) ? (struct pair_span){ b, (size_t)(s->p - b) } : (struct pair_span){ 0 };
}

static int
lit(struct scan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
		return 0;
	s->p += n;
	return 1;
}

/* The compact layout the stages write, {"stream":S,"mail":M} or
 * {"stream":S,"mail":M,"match":X}, with M the mail read last: S and X are
 * scanned, M is compared. */
static int
same_mail(const char *line, size_t len, const char *mail, size_t mn, struct pair *pr)
{
	struct scan s;

	memset(pr, 0, sizeof *pr);
	if (!mail || len < mn + 20 || memcmp(line, "{\"stream\":{", 11) ||
	    line[len - 1] != '}')
		return -1;
	scan_init(&s, line + 10, len - 10, 1);	/* the members are at depth 2 */
	if (!(pr->stream = value_span(&s)).n || !lit(&s, ",\"mail\":", 8) ||
	    (size_t)(s.end - s.p) < mn + 1 || memcmp(s.p, mail, mn))
		return -1;
	pr->mail = (struct pair_span){ s.p, mn };
	s.p += mn;
	if (lit(&s, ",\"match\":", 9) && !(pr->match = value_span(&s)).n)
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

int
pair_is_bundle(const struct pair *pr)
{
	return pr->streams.n && pr->mail.n && *pr->streams.p == '[' && *pr->mail.p == '{' &&
	    !pr->stream.n && !pr->match.n && (!pr->matches.n || *pr->matches.p == '[');
}

/* The next element of an array being scanned (n == 0 at its end). */
static struct pair_span
element(struct scan *s, size_t i, int *more)
{
	if (!*more || scan_next(s, ']', i) <= 0) {
		*more = 0;
		return (struct pair_span){ 0 };
	}
	return value_span(s);
}

size_t
pair_each(const struct pair *pr,
    void (*fn)(void *arg, struct pair_span stream, struct pair_span match, size_t i),
    void *arg)
{
	struct scan s, m;
	int more = 1, mmore = pr->matches.n != 0;
	size_t i;

	scan_init(&s, pr->streams.p, pr->streams.n, 1);
	scan_init(&m, pr->matches.p, pr->matches.n, 1);
	if (!scan_open(&s, '[') || (mmore && !scan_open(&m, '[')))
		return 0;
	for (i = 0;; i++) {
		struct pair_span sp = element(&s, i, &more), mp = element(&m, i, &mmore);

		if (!sp.n)
			break;
		if (mp.n == 4 && !memcmp(mp.p, "null", 4))
			mp.n = 0;
		fn(arg, sp, mp, i);
	}
	return i;
}

void
pair_line(struct buf *b, struct pair_span stream, struct pair_span mail, struct pair_span match)
{
	buf_add(b, "{\"stream\":", 10);
	buf_add(b, stream.p, stream.n);
	buf_add(b, ",\"mail\":", 8);
	buf_add(b, mail.p, mail.n);
	if (match.n) {
		buf_add(b, ",\"match\":", 9);
		buf_add(b, match.p, match.n);
	}
	buf_addc(b, '}');
}

/* ------------------------------------------------------------- bundles */

void
pair_bundle_add(struct pair_bundle *b, struct pair_span stream, struct pair_span match)
{
	if (b->n) {
		buf_addc(&b->streams, ',');
		buf_addc(&b->matches, ',');
	}
	buf_add(&b->streams, stream.p, stream.n);
	if (match.n)
		buf_add(&b->matches, match.p, match.n);
	else
		buf_add(&b->matches, "null", 4);
	b->matched += match.n != 0;
	b->n++;
}

size_t
pair_bundle_line(struct pair_bundle *b, struct pair_span mail, struct buf *out)
{
	size_t n = b->n;

	if (!n)
		return 0;
	buf_add(out, "{\"streams\":[", 12);
	buf_add(out, b->streams.p, b->streams.len);
	buf_add(out, "],\"mail\":", 9);
	buf_add(out, mail.p, mail.n);
	if (b->matched) {
		buf_add(out, ",\"matches\":[", 12);
		buf_add(out, b->matches.p, b->matches.len);
		buf_addc(out, ']');
	}
	buf_add(out, "}\n", 2);
	b->streams.len = b->matches.len = 0;
	b->n = b->matched = 0;
	return n;
}

void
pair_bundle_free(struct pair_bundle *b)
{
	buf_free(&b->streams);
	buf_free(&b->matches);
	b->n = b->matched = 0;
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
