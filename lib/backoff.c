#include <stdlib.h>

#include "lib/backoff.h"

void
backoff_init(struct backoff *b, double base, double max)
{
	b->base = base;
	b->max = max;
	backoff_reset(b);
}

void
backoff_reset(struct backoff *b)
{
	b->cur = 0;
	b->fails = 0;
}

double
backoff_next(struct backoff *b)
{
	double ceil, r = (double)random() / RAND_MAX;

	b->cur = b->cur ? b->cur * 2 : b->base;
	if (b->cur > b->max)
		b->cur = b->max;
	b->fails++;
	ceil = b->cur;
	/* "Equal jitter": never less than half, so back-off still grows. */
	return ceil / 2 + r * ceil / 2;
}
