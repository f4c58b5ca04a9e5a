/* spool: see spool.h; the files and the order of the durable steps are
 * described at the top of post.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "json/ndjson.h"
#include "post/spool.h"
#include "post/spool-int.h"

#define SEG_FDS 64		/* segments that keep a descriptor open */

static struct {
	char dir[1024];
	struct spool_seg *segs;
	int segfds;
	int dirty, removed;	/* done lines, removals not yet synced */
	unsigned seq;
	struct buf text;	/* the segment in the making */
	unsigned n;		/* its posts */
} S;

/* ---- files ---- */

const char *
spool_path(char *buf, size_t n, const char *sub, const char *name)
{
	/* A path that does not fit is an error, never a silently cut name. */
	if ((size_t)snprintf(buf, n, "%s/%s%s%s", S.dir, sub, *name ? "/" : "", name) >= n)
		log_fatal(EXIT_PERM, "state path too long dir=%s", S.dir);
	return buf;
}

static void
mkdirs(const char *p)
{
	char tmp[1200];

	for (const char *s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		snprintf(tmp, sizeof tmp, "%.*s", (int)(s - p), p);
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			log_fatal(EXIT_TEMP, "mkdir %s: %s", tmp, strerror(errno));
		if (!*s)
			break;
	}
}

static void
fsync_dir(const char *sub)
{
	char p[1200];
	int fd = open(spool_path(p, sizeof p, sub, ""), O_RDONLY | O_DIRECTORY);

	if (fd < 0 || fsync(fd) < 0)
		log_fatal(EXIT_TEMP, "fsync %s: %s", p, strerror(errno));
	close(fd);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write text to sub/name atomically and durably: a reader (or a replay)
 * sees all or nothing.  The descriptor stays open when keep is not NULL. */
void
spool_write(const char *sub, const char *name, const char *text, size_t n, int *keep)
{
	char tmp[1200], dst[1200], dot[300];
	int fd;

	snprintf(dot, sizeof dot, ".%s.tmp", name);
	spool_path(tmp, sizeof tmp, sub, dot);
	spool_path(dst, sizeof dst, sub, name);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) < 0 ||
	    write_all(fd, text, n) < 0 || fdatasync(fd) < 0 || rename(tmp, dst) < 0 ||
	    (!keep && close(fd) < 0))
		log_fatal(EXIT_TEMP, "cannot write %s: %s", dst, strerror(errno));
	if (keep)
		*keep = fd;
	fsync_dir(sub);
}

void
spool_remove(const char *sub, const char *name)
{
	char p[1200];

	if (unlink(spool_path(p, sizeof p, sub, name)) < 0 && errno != ENOENT)
		log_fatal(EXIT_TEMP, "unlink %s: %s", p, strerror(errno));
}

/* A new name that sorts by time of acceptance: the replay keeps the order. */
static const char *
new_name(char *buf, size_t n, const char *ext)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(buf, n, "%016llx-%08x-%08x%s",
	    (unsigned long long)tv.tv_sec * 1000000 + tv.tv_usec,
	    (unsigned)getpid(), S.seq++, ext);
	return buf;
}

void
spool_dead_name(char *buf, size_t n, const struct spool_seg *s, unsigned idx)
{
	if (s)
		snprintf(buf, n, "%.*s-%04x.json", (int)(strlen(s->name) - 7), s->name, idx);
	else
		new_name(buf, n, ".json");
}

void
spool_open(const char *dir)
{
	char p[1200];

	snprintf(S.dir, sizeof S.dir, "%s", dir);
	mkdirs(spool_path(p, sizeof p, "spool", ""));
	mkdirs(spool_path(p, sizeof p, "dead", ""));
}

/* ---- segments ---- */

struct spool_seg *
spool_seg_new(const char *name, int fd)
{
	size_t n = strlen(name) + 1;
	struct spool_seg *s = mem_calloc(1, sizeof *s + n);

	memcpy(s->name, name, n);
	s->fd = fd;
	S.segfds += fd >= 0;
	if ((s->next = S.segs))
		S.segs->prevp = &s->next;
	S.segs = s;
	s->prevp = &S.segs;
	return s;
}

int
spool_seg_known(const char *name)
{
	for (struct spool_seg *s = S.segs; s; s = s->next)
		if (!strcmp(s->name, name))
			return 1;
	return 0;
}

static int
seg_fd(struct spool_seg *s)
{
	char p[1200];

	if (s->fd < 0) {
		s->fd = open(spool_path(p, sizeof p, "spool", s->name), O_RDWR | O_APPEND | O_CLOEXEC);
		if (s->fd < 0)
			log_fatal(EXIT_TEMP, "cannot open %s: %s", p, strerror(errno));
		S.segfds++;
	}
	return s->fd;
}

static void
seg_sync(struct spool_seg *s)
{
	char p[1200];

	if (s->dirty && fdatasync(s->fd) < 0)
		log_fatal(EXIT_TEMP, "cannot sync %s: %s", spool_path(p, sizeof p, "spool",
		    s->name), strerror(errno));
	s->dirty = 0;
}

int
spool_sync(void)
{
	char p[1200];
	int fd;

	if (!S.dirty && !S.removed)
		return 0;
	if (S.dirty)
		for (struct spool_seg *s = S.segs; s; s = s->next)
			if (s->fd >= 0)
				seg_sync(s);
	if (S.removed) {
		fd = open(spool_path(p, sizeof p, "spool", ""), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			log_fatal(EXIT_TEMP, "cannot sync %s: %s", p, strerror(errno));
		close(fd);
	}
	S.dirty = S.removed = 0;
	return 1;
}

/* Only so many segments keep a descriptor: a webhook that lags behind may
 * hold a post in each of thousands. */
void
spool_idle(struct spool_seg *s)
{
	if (s->fd >= 0 && S.segfds > SEG_FDS) {
		seg_sync(s);
		close(s->fd);
		s->fd = -1;
		S.segfds--;
	}
}

void
spool_seg_drop(struct spool_seg *s)
{
	if (--s->left)
		return;
	spool_remove("spool", s->name);
	S.removed = 1;
	if (s->fd >= 0) {
		close(s->fd);
		S.segfds--;
	}
	if ((*s->prevp = s->next))
		s->next->prevp = s->prevp;
	free(s);
}

/* The platform answered (or the post went to dead/): a done line, unless
 * the segment goes with it. */
void
spool_done(struct spool_seg *s, unsigned idx)
{
	char mark[32], p[1200];
	int n;

	if (s->left > 1) {
		n = snprintf(mark, sizeof mark, "{\"done\":%u}\n", idx);
		if (write_all(seg_fd(s), mark, (size_t)n) < 0)
			log_fatal(EXIT_TEMP, "cannot append to %s: %s",
			    spool_path(p, sizeof p, "spool", s->name), strerror(errno));
		s->dirty = S.dirty = 1;
		spool_idle(s);
	}
	spool_seg_drop(s);
}

char *
spool_read(struct spool_seg *s, const struct spool_pos *pos, size_t at, size_t n)
{
	static char *b;
	static size_t cap;
	char p[1200];
	size_t got = 0;
	ssize_t r;

	if (n + 1 > cap)
		b = mem_realloc(b, cap = n + 1);
	while (got < n) {
		r = pread(seg_fd(s), b + got, n - got, pos->off + (off_t)(at + got));
		if (r <= 0 && !(r < 0 && errno == EINTR))
			log_fatal(EXIT_TEMP, "cannot read %s: %s", spool_path(p, sizeof p, "spool",
			    s->name), r ? strerror(errno) : "cut short");
		got += r > 0 ? (size_t)r : 0;
	}
	b[n] = 0;
	spool_idle(s);
	return b;
}

/* ---- the segment of a turn ---- */

/* Body last, so that its offset is known: sending reads the body alone
 * back. */
void
spool_add(const char *target, const char *stream, json_int_t kill,
    json_int_t accepted, const char *edit, const json_t *body, struct spool_pos *at)
{
	json_t *head = json_pack("{s:s,s:s,s:I,s:I}", "target", target,
	    "stream", stream, "killmail_id", kill, "accepted", accepted);

	if (edit)
		json_object_set_new(head, "edit", json_string(edit));

	at->off = (off_t)S.text.len;
	ndjson_dump(&S.text, head);
	S.text.len--;		/* its '}' */
	buf_add(&S.text, ",\"body\":", 8);
	at->boff = (unsigned)(S.text.len - (size_t)at->off);
	ndjson_dump(&S.text, body);
	buf_addc(&S.text, '}');
	at->len = (unsigned)(S.text.len - (size_t)at->off);
	buf_addc(&S.text, '\n');
	at->idx = S.n++;
	json_decref(head);
}

size_t
spool_pending(void)
{
	return S.text.len;
}

/* One fdatasync and one fsync of the directory for all the turn's posts. */
struct spool_seg *
spool_commit(const char *name)
{
	char gen[64];
	struct spool_seg *s;
	int fd;

	if (!S.n)
		return NULL;
	if (!name)
		name = new_name(gen, sizeof gen, ".ndjson");
	spool_write("spool", name, S.text.p, S.text.len, &fd);
	s = spool_seg_new(name, fd);
	s->left = S.n;
	S.n = 0;
	S.text.len = 0;
	return s;
}
