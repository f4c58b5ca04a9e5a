/* emit: a package onto stdout, once.  A package is written unless the next
 * stages could not read it (an id that is not a positive integer, a line
 * over the limit every reader has) or its killmail was written already
 * with the same zkb; with another zkb it is a revision and goes on.
 *
 * Written killmails are kept in a bounded set: two generations of tables;
 * when the young one holds EMIT_SEEN_N / 2 ids the old one is emptied and
 * becomes the young one, so memory stays fixed and the last
 * EMIT_SEEN_N / 2 ids at least are always remembered. */
#ifndef EMIT_H
#define EMIT_H
#include <jansson.h>

#include "lib/hash.h"

#define EMIT_SEEN_N 65536

struct emit_seen {
	struct hash gen[2];	/* id (> 0) -> fingerprint of its zkb | 1 */
};

struct puller;

/* Write pkg (from sequence number seq, 0 for RedisQ) unless it is dropped;
 * counts in p's metrics. */
void emit(struct puller *p, json_t *pkg, long long seq);
/* When a package was published: uploaded_at, else its killmail's time,
 * else now (unix seconds). */
double emit_time(json_t *pkg);
void emit_free(struct emit_seen *s);
#endif
