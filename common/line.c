#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line.h"
#include "log.h"

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
		char *b = realloc(lr->buf, cap);

		if (!b)
			log_fatal(EXIT_TEMP, "out of memory");
		lr->buf = b;
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
