/* spool-replay: the spool at start, and on SIGHUP (posts put back by hand):
 * the segments an earlier run left, their posts not marked done back in
 * their queues, and single post files made segments.  See spool.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "post/spool.h"
#include "post/spool-int.h"

static json_t *
read_json(const char *p)
{
	json_error_t err;
	json_t *j = json_load_file(p, 0, &err);

	if (!j)
		log_warn("unreadable state file skipped file=%s error=\"%s\"", p, err.text);
	return j;
}

static void (*on_post)(struct spool_seg *, const struct spool_pos *, json_t *, int);
static void (*on_single)(const char *, json_t *, int);

static int
ends(const char *s, const char *ext)
{
	size_t n = strlen(s), e = strlen(ext);

	return n > e && !strcmp(s + n - e, ext);
}

static int
replay_name(const struct dirent *d)
{
	return d->d_name[0] != '.' && (ends(d->d_name, ".json") || ends(d->d_name, ".ndjson"));
}

/* A post with a target and a body. */
static int
entry_ok(json_t *e)
{
	return json_is_string(json_object_get(e, "target")) &&
	    json_is_object(json_object_get(e, "body"));
}

/* Is the body of this line where spool_add puts it?  Sending reads it
 * from there. */
static int
body_at(const char *line, size_t len, json_t *e, unsigned *boff)
{
	const char *b = memmem(line, len, ",\"body\":", 8);
	json_t *body;
	int same;

	if (!b || line[len - 1] != '}')
		return 0;
	*boff = (unsigned)(b + 8 - line);
	body = json_loadb(b + 8, len - *boff - 1, JSON_ALLOW_NUL, NULL);
	same = json_equal(body, json_object_get(e, "body"));
	json_decref(body);
	return same;
}

/* Post idx of segment s, a line at off, back in its queue. */
static void
replay_post(struct spool_seg *s, const char *line, size_t len, unsigned idx, off_t off)
{
	json_t *e = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
	struct spool_pos at = { off, (unsigned)len, 0, idx };
	int ok = entry_ok(e) && body_at(line, len, e, &at.boff);

	if (!e)
		e = json_stringn(line, len);	/* dead/ keeps what there was */
	on_post(s, &at, e, ok);
	json_decref(e);
}

/* A line of a segment: 0 empty, 1 a done line, 2 a post. */
static int
line_kind(const char *p, const char *e)
{
	return p == e ? 0 : strncmp(p, "{\"done\":", 8) ? 2 : 1;
}

/* The posts of segment s (text: n bytes read from it, ending in '\n')
 * without a done line, in order. */
static void
replay_lines(struct spool_seg *s, const char *text, size_t n)
{
	const char *p, *e, *end = text + n;
	unsigned posts = 0, idx = 0;
	unsigned long k;
	unsigned char *done;

	for (p = text; p < end; p = e + 1)
		posts += line_kind(p, e = memchr(p, '\n', (size_t)(end - p))) == 2;
	done = mem_calloc(posts + 1, 1);
	for (p = text; p < end; p = e + 1)
		if (line_kind(p, e = memchr(p, '\n', (size_t)(end - p))) == 1 &&
		    (k = strtoul(p + 8, NULL, 10)) < posts)
			done[k] = 1;
	for (p = text; p < end; p = e + 1)
		if (line_kind(p, e = memchr(p, '\n', (size_t)(end - p))) == 2 && !done[idx++]) {
			s->left++;
			replay_post(s, p, (size_t)(e - p), idx - 1, (off_t)(p - text));
		}
	free(done);
}

/* A segment left by an earlier run: its posts not marked done go back in
 * their queues. */
static void
replay_seg(const char *name)
{
	char p[1200];
	struct stat st;
	char *text;
	size_t n = 0;
	ssize_t r;
	int fd = open(spool_path(p, sizeof p, "spool", name), O_RDWR | O_APPEND | O_CLOEXEC);
	struct spool_seg *s;

	if (fd < 0 || fstat(fd, &st) < 0)
		log_fatal(EXIT_TEMP, "cannot read %s: %s", p, strerror(errno));
	text = mem_calloc((size_t)st.st_size + 1, 1);
	while (n < (size_t)st.st_size) {
		if ((r = pread(fd, text + n, (size_t)st.st_size - n, (off_t)n)) <= 0 &&
		    !(r < 0 && errno == EINTR))
			log_fatal(EXIT_TEMP, "cannot read %s: %s", p, r ? strerror(errno) : "cut short");
		n += r > 0 ? (size_t)r : 0;
	}
	/* A done line cut short by a kill: gone, so the next starts a line. */
	while (n && text[n - 1] != '\n')
		n--;
	if (n < (size_t)st.st_size && ftruncate(fd, (off_t)n) < 0)
		log_fatal(EXIT_TEMP, "cannot truncate %s: %s", p, strerror(errno));
	s = spool_seg_new(name, fd);
	s->left = 1;		/* held while its posts are read */
	replay_lines(s, text, n);
	free(text);
	spool_idle(s);
	spool_seg_drop(s);
}

/* A post put back by hand (or spooled by an older version) becomes a
 * segment named after it, then the file goes: after a crash between the
 * two, the segment exists and the file is only removed. */
static void
replay_single(const char *name)
{
	char p[1200], seg[300];
	json_t *e, *post;

	snprintf(seg, sizeof seg, "%.*s.ndjson", (int)(strlen(name) - 5), name);
	if (access(spool_path(p, sizeof p, "spool", seg), F_OK) == 0) {
		spool_remove("spool", name);
		return;
	}
	if (!(e = read_json(spool_path(p, sizeof p, "spool", name))))
		return;
	/* A dead letter moved back by hand carries the post inside. */
	if ((post = json_object_get(e, "post"))) {
		json_incref(post);
		json_decref(e);
		e = post;
	}
	on_single(seg, e, entry_ok(e));
	spool_remove("spool", name);
	json_decref(e);
}

void
spool_replay(void (*post)(struct spool_seg *s, const struct spool_pos *at, json_t *e,
    int ok), void (*single)(const char *seg, json_t *e, int ok))
{
	char p[1200];
	struct dirent **d;
	int n = scandir(spool_path(p, sizeof p, "spool", ""), &d, replay_name, alphasort);

	if (n < 0)
		log_fatal(EXIT_TEMP, "scandir %s: %s", p, strerror(errno));
	on_post = post;
	on_single = single;
	for (int i = 0; i < n; i++) {
		if (ends(d[i]->d_name, ".json"))
			replay_single(d[i]->d_name);
		else if (!spool_seg_known(d[i]->d_name))
			replay_seg(d[i]->d_name);
		free(d[i]);
	}
	free(d);
}

void
spool_clean(void)
{
	char p[1200];
	struct dirent *e;
	DIR *d = opendir(spool_path(p, sizeof p, "spool", ""));

	while (d && (e = readdir(d)))
		if (e->d_name[0] == '.' && ends(e->d_name, ".tmp"))
			spool_remove("spool", e->d_name);
	if (d)
		closedir(d);
}
