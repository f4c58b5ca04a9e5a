/* line: a line reader over a file descriptor, for blocking loops and for
 * event loops alike.  Lines longer than the cap are skipped with one warning;
 * a last line without '\n' is still returned (lr->partial is then set). */
#ifndef LINE_H
#define LINE_H
#include <stddef.h>
#include <sys/types.h>

#define LINE_MAX_DEFAULT (16u << 20)	/* 16 MiB */

struct line_reader {
	int fd;
	char *buf;
	size_t cap, start, len;	/* unread bytes are buf[start .. start+len) */
	size_t max;
	size_t scanned;		/* bytes of the current line known to hold no '\n' */
	int eof, skipping, partial;
	unsigned long lineno;
};

void line_init(struct line_reader *lr, int fd, size_t max);
void line_free(struct line_reader *lr);
/* Next complete line from the buffer, NUL-terminated, '\n' removed.
 * 1: a line; 0: need more input (call line_fill); -1: end of input. */
int line_next(struct line_reader *lr, char **line, size_t *len);
/* One read(2) into the buffer: >0 bytes, 0 end of file, -1 error (errno). */
ssize_t line_fill(struct line_reader *lr);
/* Blocking: line_next + line_fill until a line or the end; -1 also on error. */
int line_get(struct line_reader *lr, char **line, size_t *len);
#endif
