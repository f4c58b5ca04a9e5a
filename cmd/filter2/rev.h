/* rev: the revisions of streams that pairs carry (filter2), each read once
 * by its text, with its reference systems written by name resolved once.
 *
 * A pair carries its stream's whole text; a revision is one such text,
 * found again by its bytes (a table by text, lib/hash), so a stream is read
 * once per revision and compiled only when one of its pairs needs it.
 * Compiling asks ESI (POST /universe/ids, through esi.h) for the id of
 * every `near` reference written by name; a name that does not resolve is
 * a warning and its entries never hold (rev_near answers false).
 *
 * Ownership: the set owns its revisions.  A new revision of a stream id
 * frees the older ones whose refs are 0; refs counts the name questions in
 * flight, and the caller adds what keeps a revision (filter2: the pairs
 * waiting for it).  esi_free must come before rev_set_free: an answer
 * still to come writes into its revision. */
#ifndef REV_H
#define REV_H
#include <stdint.h>
#include "lib/hash.h"
#include "net/esi.h"
#include "geo.h"
#include "match/match.h"
#include "json/pair.h"
#include "match/stream.h"

struct rev_set;
struct rev_name;

struct rev {			/* one revision of one stream: its text */
	char *text, *id;	/* the text as pairs carry it; its "id" ("" none) */
	size_t len;
	int mentions;		/* it has mention rules: its pairs are looked at */
	int compiled;		/* s is what compiling gave (NULL: it does not) */
	struct stream *s;
	struct rev_name *names;
	size_t nnames;
	int refs;		/* waiting pairs and name questions in flight */
	struct rev *idnext;	/* the older revisions of its id */
	struct rev_set *set;
};

struct rev_set *rev_set_new(struct esi *esi);
void rev_set_free(struct rev_set *rs);
/* The revision of a stream's text sp (lineno names the line in warnings);
 * compiled at once when it has mention rules. */
struct rev *rev_of(struct rev_set *rs, struct pair_span sp, unsigned long lineno);
/* The compiled stream of a revision, or NULL when it does not compile. */
struct stream *rev_stream(struct rev *r, unsigned long lineno);
/* How many name questions have been answered: it grows at each answer. */
unsigned long rev_answers(const struct rev_set *rs);

/* The oracle of match.h (arg: a struct rev_octx) for the pairs of rev:
 * references by name take the revision's ids, distances come from geo. */
struct rev_octx {
	struct rev *rev;
	struct geo *geo;
	int unknown;		/* entries it could not answer yet */
};
enum match_tv rev_near(void *arg, const struct match_mail *m,
    const struct match_near *ref, struct match_distance *d);
#endif
