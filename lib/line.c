#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/line.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "lib/out.h"

void
line_init(struct line_reader *lr, int fd, size_t max)
{
	memset(lr, 0, sizeof *lr);
	lr->fd = fd;
	lr->max = max ? max : LINE_MAX_DEFAULT;
}

void
line_free(struct line_reader *lr)
{
	free(lr->buf);
	lr->buf = NULL;
}

static char *
take(struct line_reader *lr, size_t n, size_t *len)
{
	char *l = lr->buf + lr->start;

	l[n] = 0;
	*len = n;
	lr->start += n + 1;
	lr->len -= n + 1;
	lr->scanned = 0;
	lr->lineno++;
	return l;
}

int
line_next(struct line_reader *lr, char **line, size_t *len)
{
	for (;;) {
		char *s = lr->buf + lr->start, *nl;

		nl = lr->len > lr->scanned ?
		    memchr(s + lr->scanned, '\n', lr->len - lr->scanned) : NULL;
		if (nl && lr->skipping) {
			/* The tail of an over-long line: drop it. */
			take(lr, nl - s, len);
			lr->skipping = 0;
			continue;
		}
		if (nl && (size_t)(nl - s) > lr->max) {
			log_warn("line too long, skipped line=%lu max=%zu",
			    lr->lineno + 1, lr->max);
			take(lr, nl - s, len);
			continue;
		}
		if (nl) {
			lr->partial = 0;
			*line = take(lr, nl - s, len);
			return 1;
		}
		lr->scanned = lr->len;
		if (lr->len > lr->max) {
			if (!lr->skipping)
				log_warn("line too long, skipped line=%lu max=%zu",
				    lr->lineno + 1, lr->max);
			lr->skipping = 1;
			lr->start += lr->len;
			lr->len = lr->scanned = 0;
		}
		if (!lr->eof)
			return 0;
		if (lr->len && !lr->skipping) {
			/* A last line without '\n': room for the NUL is kept by fill. */
			lr->partial = 1;
			*line = take(lr, lr->len, len);
			lr->len = 0;
			return 1;
		}
		return -1;
	}
}

ssize_t
line_fill(struct line_reader *lr)
{
	ssize_t r;

	if (lr->start && (lr->len == 0 || lr->start > lr->cap / 2)) {
		memmove(lr->buf, lr->buf + lr->start, lr->len);
		lr->start = 0;
	}
	if (lr->cap - lr->start - lr->len < 4096 + 1) {
		size_t cap = lr->cap ? lr->cap * 2 : 65536;

		lr->buf = mem_realloc(lr->buf, cap);
		lr->cap = cap;
	}
	do
		r = read(lr->fd, lr->buf + lr->start + lr->len,
		    lr->cap - lr->start - lr->len - 1);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		lr->len += r;
	else if (r == 0)
		lr->eof = 1;
	return r;
}

int
line_get(struct line_reader *lr, char **line, size_t *len)
{
	int r;

	while ((r = line_next(lr, line, len)) == 0)
		if (line_fill(lr) < 0)
			return -1;
	return r;
}

/* Every complete line in the buffer to fn; 1 at the end of input. */
static int
each(struct line_reader *lr, line_fn *fn, void *arg)
{
	char *line;
	size_t len;
	int r;

	while ((r = line_next(lr, &line, &len)) == 1)
		fn(arg, line, len, lr->lineno);
	return r < 0;
}

void
line_filter(int sigfd, line_fn *fn, line_sig_fn *sig, void *arg)
{
	struct line_reader lr;
	struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };

	line_init(&lr, 0, 0);
	for (;;) {
		out_flush();
		if (poll(p, 2, metrics_wait_ms(-1)) < 0 && errno != EINTR)
			log_fatal(EXIT_TEMP, "poll: %s", strerror(errno));
		metrics_tick();
		if (p[1].revents && sig(arg, sigfd)) {
			/* Stop at a line boundary: finish the line begun. */
			while (lr.len && !lr.eof && line_fill(&lr) > 0)
				if (each(&lr, fn, arg))
					break;
			each(&lr, fn, arg);
			break;
		}
		if (!p[0].revents)
			continue;
		if (line_fill(&lr) < 0 && errno != EINTR && errno != EAGAIN)
			log_fatal(EXIT_TEMP, "read from stdin failed: %s", strerror(errno));
		if (each(&lr, fn, arg))
			break;
	}
	out_flush();
	line_free(&lr);
}
