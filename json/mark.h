/* mark: the commit mark, {"mark":{"seq":N,"epoch":E}}.
 *
 * redisq-pull writes one now and then: every package below sequence N has
 * been written before it.  A stage passes a mark on only once every line
 * that came before it has been written on, dropped or decided, so a mark
 * that reaches the end of the pipe says that everything below N has left
 * it.  Dropping a mark is always safe (the commit lags); writing one ahead
 * of work still held is not.  E is the pipeline's epoch: a stage that dies
 * without finishing bumps it, which voids every mark written before. */
#ifndef MARK_H
#define MARK_H
#include <stddef.h>

struct mark {
	long long seq, epoch;
};

/* Is the line a mark?  1 and *m filled, else 0; cheap for other lines. */
int mark_read(const char *line, size_t len, struct mark *m);
/* The line of m, '\n' included, NUL-terminated, in b (64 bytes do); its
 * length. */
size_t mark_line(char *b, size_t n, const struct mark *m);

/* Marks that wait for the lines before them.  A mark waits for the input
 * lines numbered below its own (after: the number of the line it came
 * as); full, the newest waiting absorbs the next, which only delays it. */
#define MARK_WAIT 32
struct mark_wait {
	struct {
		unsigned long after;
		struct mark m;
	} v[MARK_WAIT];
	int n;
};
void mark_wait_add(struct mark_wait *w, unsigned long after, const struct mark *m);
/* The newest mark whose lines before it are all gone (oldest: the number
 * of the oldest line still held, ULONG_MAX when none is): 1 and *m,
 * the older ones dropped with it; 0 when none is free. */
int mark_wait_free(struct mark_wait *w, unsigned long oldest, struct mark *m);

/* The small state files of the commit, one decimal number a line: read
 * one (-1 when missing or unreadable, with a warning when corrupt); write
 * one atomically and durably (write, fsync, rename, fsync of the
 * directory); -1 with errno. */
long long mark_file_read(const char *path);
int mark_file_write(const char *path, long long n);
#endif
