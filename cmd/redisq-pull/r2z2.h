/* r2z2: the walk over zKillboard's R2Z2 sequence files, GET
 * /ephemeral/{n}.json from the cursor on, with the cursor kept in
 * $STATE_DIR and the commit marks of --marks (json/mark.h).  What it does
 * at the head, at holes and with sequence_updated is told in
 * redisq-pull.c's header. */
#ifndef R2Z2_H
#define R2Z2_H
#include "puller.h"

/* Where the walk starts: from (>= 0, given by --from), else the committed
 * position (--marks), else the cursor, else sequence.json.  0, or -1 when
 * told to stop before it knew. */
int r2z2_start(struct puller *p, long long from);
/* One request and what follows from its answer; -1 when it is time to
 * stop (told to, or --once at the head). */
int r2z2_step(struct puller *p);
#endif
