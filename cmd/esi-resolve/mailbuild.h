/* mailbuild: a killmail package read, and its mail written (README
 * "Wire formats").
 *
 * mailbuild_normalise() brings the package shapes esi-resolve accepts to
 * one; mailbuild_mail() writes the resolved mail from the package, its ESI
 * body and the ESI answers, which the caller keeps and hands over through
 * a lookup function: this module asks ESI nothing.
 *
 * Ownership: every json_t * returned is a new reference for the caller;
 * the arguments are borrowed, never kept. */
#ifndef MAILBUILD_H
#define MAILBUILD_H
#include <stdint.h>
#include <jansson.h>

/* What an id is looked up as: the ESI answer a lookup function returns. */
enum mailbuild_kind { MB_BODY, MB_SYSTEM, MB_CONST, MB_REGION, MB_TYPE,
	MB_GROUP, MB_CAT, MB_NAME, MB_CORP, MB_ALLI };

/* The answer for id as kind k, borrowed; NULL: unknown or not found. */
typedef json_t *mailbuild_got(void *arg, enum mailbuild_kind k, int64_t id);

struct mailbuild_src {
	json_t *pkg, *km;	/* the normalised package, its ESI body */
	int tickers;		/* corporation and alliance tickers wanted */
	mailbuild_got *got;
	void *arg;
};

/* The integer at o.k, 0 when absent or not an integer. */
int64_t mailbuild_id(json_t *o, const char *k);
/* A killmail hash: 1 to 64 hex digits. */
int mailbuild_hexhash(const char *h);
/* A new package {killmail_id, hash, esi?, zkb?, sequence_id?}; NULL with
 * *pass set: a line for another stage (1) or an empty RedisQ poll (2). */
json_t *mailbuild_normalise(json_t *j, int *pass);
/* An ESI body with what a mail needs: system, victim, attackers, time. */
int mailbuild_body_ok(json_t *km);
/* The mail (README "Wire formats"); absent answers are nulls, never invented. */
json_t *mailbuild_mail(const struct mailbuild_src *m);
#endif
