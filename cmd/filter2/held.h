/* held: the pairs that wait for ESI (filter2), with the mails they share.
 *
 * A waiting pair keeps its line without the mail's text, and the mail
 * once for the pairs of it held in a row: its text and what match.h read
 * from it, much smaller than a parsed tree.  held_line() puts the line
 * back together as it came, and held_save() writes those lines to the
 * state file at SIGTERM.
 *
 * Ownership: the set owns the waiting pairs and their mails; each pair
 * holds one ref of its revision (rev.h), given back by held_release(). */
#ifndef HELD_H
#define HELD_H
#include <jansson.h>
#include "match/match.h"
#include "json/ndjson.h"
#include "json/pair.h"
#include "rev.h"

struct held_mail {		/* the mail of waiting pairs, shared by them */
	int refs;
	json_t *j;		/* NULL: m was read from text alone */
	struct match_mail m;
	size_t len;
	char text[];
};

struct held {			/* a pair waiting for ESI */
	char *rest;		/* its line without the mail's text, which */
	size_t len, at;		/* goes back in at offset at */
	struct held_mail *mail;
	struct rev *rev;
	int pending, replayed;
	unsigned long serial;	/* the input line it came as (for the marks) */
};

struct held_set {
	struct held *v;		/* in the order they came */
	size_t n, cap, most;	/* most: the largest n seen */
	size_t replayed_left;	/* pairs of the state file still waiting */
	struct held_mail *last;	/* the mail of the pair held last */
};

/* Hold the pair pr of line for revision r.  mj: the mail's tree as
 * match_mail_init() read it, for a mail match_mail_parse() refuses. */
void held_add(struct held_set *hs, const char *line, size_t len, const struct pair *pr,
    struct rev *r, int pending, int replayed, json_t *mj);
/* Free what h holds (it leaves the array to the caller). */
void held_release(struct held_set *hs, struct held *h);
/* A waiting pair's line as it came, in b. */
void held_line(const struct held *h, struct buf *b);
/* Write the waiting pairs' lines to path atomically (write, fsync,
 * rename), or remove it when none waits; b is scratch.  Fatal (111) when
 * it cannot. */
void held_save(const struct held_set *hs, const char *path, struct buf *b);
void held_free(struct held_set *hs);
#endif
