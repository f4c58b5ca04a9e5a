/* pending: the lines of the mails held at a stop, saved and replayed.
 * See pending.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/state.h"
#include "json/ndjson.h"
#include "pending.h"

void
pending_init(struct pending *p, const char *dir, const char *name)
{
	state_dir(dir);
	snprintf(p->path, sizeof p->path, "%s/%s", dir, name);
	state_private(p->path);
}

/* The mails of the last stop, replayed before stdin; the file goes when
 * the last of them is written, so a crash before then replays them again. */
void
pending_load(struct pending *p)
{
	FILE *f = fopen(p->path, "r");
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return;
	while ((n = getline(&l, &cap, f)) > 0) {
		if (l[n - 1] == '\n')
			l[--n] = 0;
		p->lines = mem_realloc(p->lines, (p->n + 1) * sizeof *p->lines);
		p->lines[p->n++] = mem_strdup(l);
	}
	free(l);
	fclose(f);
	p->left = (int)p->n;
	log_info("replaying saved mails n=%zu file=%s", p->n, p->path);
	if (!p->n)
		unlink(p->path);
}

char *
pending_next(struct pending *p)
{
	char *l;

	if (p->next == p->n)
		return NULL;
	l = p->lines[p->next];
	p->lines[p->next++] = NULL;
	return l;
}

int
pending_waiting(const struct pending *p)
{
	return p->next < p->n;
}

void
pending_replayed(struct pending *p)
{
	if (--p->left == 0 && unlink(p->path) == 0)
		log_info("replayed the mails saved at the last stop");
}

void
pending_save_line(struct pending *p, const char *l, size_t n)
{
	if (fwrite(l, 1, n, p->f) != n || putc('\n', p->f) == EOF)
		log_fatal(EXIT_TEMP, "write %s: %s", p->path, strerror(errno));
	p->saved++;
}

/* The input stopped inside a line: read on to its end, a byte at a time
 * so that not one byte of the next line leaves the pipe.  0: done. */
static int
finish_line(struct line_reader *lr, struct buf *b, double deadline)
{
	struct pollfd p = { lr->fd, POLLIN, 0 };
	ssize_t r;
	char c;

	buf_add(b, lr->buf + lr->start, lr->len);
	for (;;) {
		int ms = (int)((deadline - clock_mono()) * 1000);

		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			return -1;
		if ((r = read(lr->fd, &c, 1)) < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0 || c == '\n')
			return r < 0 ? -1 : 0;	/* end of input ends the line too */
		buf_addc(b, c);
	}
}

void
pending_save_begin(struct pending *p)
{
	char tmp[4096 + 8];

	snprintf(tmp, sizeof tmp, "%s.tmp", p->path);
	if (!(p->f = state_create(tmp)))
		log_fatal(EXIT_TEMP, "open %s: %s", tmp, strerror(errno));
	p->saved = 0;
}

/* After the mails in flight: replay lines not taken yet, lines still in
 * the input buffer (the last one finished). */
void
pending_save_end(struct pending *p, struct line_reader *lr, double deadline)
{
	struct buf part = { 0 };
	char tmp[4096 + 8], *l;
	size_t n;

	for (; p->next < p->n; p->next++)
		pending_save_line(p, p->lines[p->next], strlen(p->lines[p->next]));
	while (line_next(lr, &l, &n) == 1)
		pending_save_line(p, l, n);
	if (lr->len && finish_line(lr, &part, deadline) == 0)
		pending_save_line(p, part.p, part.len);
	else if (lr->len)
		log_warn("a partial input line was lost at the stop bytes=%zu", part.len);
	buf_free(&part);
	snprintf(tmp, sizeof tmp, "%s.tmp", p->path);
	if (fflush(p->f) || fsync(fileno(p->f)) || fclose(p->f))
		log_fatal(EXIT_TEMP, "write %s: %s", tmp, strerror(errno));
	p->f = NULL;
	if (!p->saved)
		unlink(tmp), unlink(p->path);
	else if (rename(tmp, p->path))
		log_fatal(EXIT_TEMP, "rename %s: %s", p->path, strerror(errno));
	log_info("stopped, mails saved for the next start n=%zu", p->saved);
}

void
pending_free(struct pending *p)
{
	free(p->lines);
}
