/* spool-int.h: what spool.c lends spool-replay.c, and nothing else
 * includes: the segment itself and the few steps both make on it.
 * spool.h is the contract. */
#ifndef SPOOL_INT_H
#define SPOOL_INT_H
#include "post/spool.h"

struct spool_seg {
	struct spool_seg *next, **prevp;
	int fd;			/* -1: opened when needed */
	int dirty;		/* done lines appended and not synced */
	unsigned left;		/* posts not answered yet */
	char name[];
};

/* A segment of the spool, known from now on; fd -1: opened when needed. */
struct spool_seg *spool_seg_new(const char *name, int fd);
/* Is a segment of that name known? */
int spool_seg_known(const char *name);
/* One post fewer waits in s; the last one takes the segment with it. */
void spool_seg_drop(struct spool_seg *s);
/* Remove sub/name of the state directory; gone already is no error. */
void spool_remove(const char *sub, const char *name);
#endif
