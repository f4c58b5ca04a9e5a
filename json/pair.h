/* pair: find the members of a pair line without building it.
 *
 * A pair is {"stream":STREAM,"mail":MAIL} with, after filter1,
 * "match":MATCH.  A bundle, {"streams":[STREAM,...],"mail":MAIL} with,
 * after filter1, "matches":[MATCH,...] (the i-th match is the i-th
 * stream's; null: none), is the pairs of one mail carrying it once
 * (the --bundle of stream-fanout, filter1, filter2 and the posters; every
 * stage after stream-fanout reads both forms).  The stages after stream-fanout read many pairs of one
 * mail in a row, each carrying the whole mail (24 KB for a big fight):
 * pair_read checks a line against the mail read last with one memcmp and
 * scans only the rest, and pair_mail parses a mail's text once for all its
 * pairs.  pair_read still rejects every line that is not one valid JSON
 * object (json/scan.h: valid as ndjson_parse has it, no tree built). */
#ifndef PAIR_H
#define PAIR_H
#include <stddef.h>
#include <jansson.h>
#include "json/ndjson.h"

struct pair_span {
	const char *p;		/* inside the line */
	size_t n;		/* 0: the member is absent */
};

struct pair {
	struct pair_span stream, mail, match, streams, matches;
	size_t close;		/* offset of the object's closing brace */
	const char *why;	/* when pair_read fails: what is wrong, */
	size_t col;		/* and where (from 1) */
};

/* Split line (len bytes, one JSON object) into its members; mail, mn: the
 * text of the mail read last (NULL for none), for the fast path.  0, or -1
 * when the line is not one valid JSON object (pr->why and pr->col say
 * why, for scan_warn_line). */
int pair_read(const char *line, size_t len, const char *mail, size_t mn, struct pair *pr);
/* Both "stream" and "mail" are objects: a pair. */
int pair_is(const struct pair *pr);
/* "streams" is an array, "mail" an object, "matches" an array or absent,
 * and there is no "stream" and no "match": a bundle. */
int pair_is_bundle(const struct pair *pr);
/* Calls fn for each pair of a bundle (valid: pair_read checked it): the
 * i-th element of "streams" and of "matches" (n == 0 when there is none,
 * or it is null); how many there were. */
size_t pair_each(const struct pair *pr,
    void (*fn)(void *arg, struct pair_span stream, struct pair_span match, size_t i),
    void *arg);
/* Appends the pair line {"stream":S,"mail":M} or, with a match,
 * {"stream":S,"mail":M,"match":X}: the layout every stage writes, and
 * what a bundle's pair is as a line.  No newline. */
void pair_line(struct buf *b, struct pair_span stream, struct pair_span mail,
    struct pair_span match);

/* The pairs of one mail gathered into a bundle line. */
struct pair_bundle {
	struct buf streams, matches;	/* the elements, comma-separated */
	size_t n, matched;		/* pairs; of which with a match */
};
void pair_bundle_add(struct pair_bundle *b, struct pair_span stream, struct pair_span match);
/* Appends to out the bundle of the pairs added, with mail, and a newline
 * ("matches" only when one of them has a match); nothing when none was
 * added.  How many pairs it holds; b is empty again. */
size_t pair_bundle_line(struct pair_bundle *b, struct pair_span mail, struct buf *out);
void pair_bundle_free(struct pair_bundle *b);

/* A mail's text and its parse, kept while the pairs of that mail come. */
struct pair_mail {
	struct buf text;
	json_t *j;
};
/* The mail of sp parsed (borrowed: valid until the next call or the free),
 * parsed again only when the text differs; NULL, with ndjson_parse's
 * warning naming lineno, when it does not parse. */
json_t *pair_mail_json(struct pair_mail *pm, struct pair_span sp, unsigned long lineno);
void pair_mail_free(struct pair_mail *pm);
#endif
