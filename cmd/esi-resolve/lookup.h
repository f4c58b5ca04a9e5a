/* lookup: what one mail asks ESI (esi-resolve).  Every id its killmail
 * names is asked once (esi_get, or esi_name for names, which ESI batches
 * across the mails in flight), and an answer asks what it leads to: a
 * system its constellation and region, a type its group and category.
 * When the last answer is in, done(arg) is called.
 *
 * Ownership: the lookup owns its answers until lookup_free; lookup_got
 * lends them (for mailbuild_mail). */
#ifndef LOOKUP_H
#define LOOKUP_H
#include <jansson.h>

#include "lib/hash.h"
#include "net/esi.h"
#include "mailbuild.h"

struct lookup {
	struct hash slots;	/* by (kind, id): struct lookup_slot */
	int pending;		/* questions without their answer */
	int tickers;		/* ask for corporations' and alliances' tickers */
	struct esi *esi;
	void (*done)(void *arg);
	void *arg;
};

void lookup_init(struct lookup *l, struct esi *esi, int tickers,
    void (*done)(void *arg), void *arg);
/* Ask for everything the killmail km names, at once, so that the names of
 * all mails in flight share batches.  done may be called before it returns. */
void lookup_start(struct lookup *l, json_t *km);
/* A mailbuild_got: the answer for (k, id), NULL when none; arg is the lookup. */
json_t *lookup_got(void *arg, enum mailbuild_kind k, int64_t id);
/* The answers go; questions still in flight must not be (their answers
 * would come to freed memory). */
void lookup_free(struct lookup *l);
#endif
