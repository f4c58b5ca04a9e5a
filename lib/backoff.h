/* backoff: exponential back-off with jitter, so that many clients that
 * failed together do not retry together. */
#ifndef BACKOFF_H
#define BACKOFF_H
struct backoff {
	double base, max;	/* seconds */
	double cur;		/* next ceiling; 0 = not failing */
	int fails;
};
void backoff_init(struct backoff *b, double base, double max);
/* The delay before the next try: uniform in [ceil/2, ceil], then ceil doubles. */
double backoff_next(struct backoff *b);
void backoff_reset(struct backoff *b);
#endif
