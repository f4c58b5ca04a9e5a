/* scan: what a valid line is, defined once; a validating JSON scanner.
 *
 * Valid is what ndjson_parse reads: jansson's grammar; strings in UTF-8
 * (no overlong form, no surrogate, nothing above U+10FFFF), surrogate
 * escapes only in pairs, \u0000 in values but never in keys; at most
 * SCAN_MAX_DEPTH values deep, scalars counted; numbers finite as doubles.
 * An integer literal beyond 64 bits is read as a real (jq writes 1e19 as
 * 10000000000000000000), every other one as an integer.
 *
 * The scanner builds nothing.  The pair reader (json/pair.c) and the mail
 * reader (match/match-text.c) walk a line with it and take what they need;
 * ndjson_parse uses it for the integers jansson refuses.
 *
 * A scan stops at the first error: the functions return 0 (scan_next -1)
 * and s->why says what was wrong at s->at. */
#ifndef SCAN_H
#define SCAN_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/buf.h"

#define SCAN_MAX_DEPTH JSON_PARSER_MAX_DEPTH

struct scan {
	const char *p, *end;
	const char *begin;	/* the text, for the column of an error */
	int depth;		/* objects and arrays open around p */
	const char *why;	/* the first error, NULL while there is none */
	const char *at;		/* where it was */
	struct buf *big;	/* see scan_bigints */
	const char *copied;
};

struct scan_num {
	int real;		/* 0: an integer within 64 bits, in i */
	int64_t i;
	double d;		/* the value, either way */
};

/* A scan of n bytes at p, at depth (0 for a whole line). */
void scan_init(struct scan *s, const char *p, size_t n, int depth);

static inline void
scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* Record an error at s->p (the first one stays); 0. */
int scan_fail(struct scan *s, const char *why);

/* One value of any kind, checked and passed over. */
int scan_value(struct scan *s);
/* A string; unescaped into out when out is not NULL (room for as many
 * bytes as its JSON text; NUL-terminated, its length in *n).  key: an
 * object key, which is no value (no depth) and may not hold \u0000. */
int scan_string(struct scan *s, int key, char *out, size_t *n);
/* A number, its value in *v unless v is NULL. */
int scan_number(struct scan *s, struct scan_num *v);
/* true, false or null: 1, 0 or -1 in *v unless v is NULL. */
int scan_word(struct scan *s, int *v);

/* An object or an array: scan_open(s, '{'), then for i = 0, 1...
 * scan_next(s, '}', i): 1 when member i follows (read its key with
 * scan_key, then its value), 0 when the close was read, -1 on error. */
int scan_open(struct scan *s, char open);
int scan_next(struct scan *s, char close, size_t i);
/* A key and its colon; the key as scan_string has it.  scan_colon: the
 * colon alone, after a key read with scan_string. */
int scan_key(struct scan *s, char *out, size_t *n);
int scan_colon(struct scan *s);

/* Nothing but white space is left. */
int scan_end(struct scan *s);

/* The line (one JSON object) copied into out with ".0" after every integer
 * beyond 64 bits, so that jansson reads those as reals; 0 when the line is
 * not valid. */
int scan_bigints(const char *line, size_t len, struct buf *out);

/* Is the line one valid JSON object?  why and column (from 1) when not. */
int scan_object(const char *line, size_t len, const char **why, size_t *col);

/* The warning for a line that cannot be read, with the reason. */
void scan_warn_line(unsigned long lineno, const char *why, size_t col);
#endif
