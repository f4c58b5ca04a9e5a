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

typedef void line_fn(void *arg, char *line, size_t len, unsigned long lineno);
/* Signals are ready on sigfd: take them; nonzero means stop. */
typedef int line_sig_fn(void *arg, int sigfd);
/* The loop of a simple filter: poll stdin and sigfd, hand every line to
 * fn, flush stdout before blocking (fatal 111 when that fails).  When sig
 * says stop, the line begun is finished first.  Returns at the end of
 * input or after a stop. */
void line_filter(int sigfd, line_fn *fn, line_sig_fn *sig, void *arg);
#endif
