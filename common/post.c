/* post: per-webhook queues, rate limits, spool, dead letters, dedupe and
 * receipts; see post.h.  State under $STATE_DIR/<platform>/:
 *
 *   spool/<name>.ndjson a segment: the posts accepted in one turn of the
 *                       loop, one {"target","stream","killmail_id",
 *                       "accepted","body"} a line (body last), then a
 *                       {"done":N} line for the Nth post (from 0) once the
 *                       platform has answered it
 *   spool/<name>.json   one post put back by hand (a dead letter, or a spool
 *                       file of an older version): the replay makes it a
 *                       segment of its own, <name>.ndjson
 *   dead/<name>.json    {"status","reason","http","attempts","time","post"}
 *   dedupe              "<unix time> <key>" per accepted post, key = hash of
 *                       (webhook URL, killmail_id); compacted as it grows
 *   dead-hooks          "<webhook hash> <unix time> <reason>" per dead webhook
 *
 * Ordering of the durable steps, and why (kill -9 may land anywhere):
 * accept = write the turn's posts to a new segment (a temporary file, ONE
 * fdatasync, a rename, one fsync of the directory), then append their
 * dedupe keys, then queue them: a crash before the rename loses the lines
 * of that turn (read from the pipe, not yet spooled), a crash after it
 * leaves the segment, and the replay re-adds its keys.  Answer = append a
 * done line to the segment, or unlink the segment with its last post, and
 * nothing else: not synced, as kill -9 keeps the page cache (a power cut may
 * bring a done post back, and it is sent again).  Until then the post is
 * pending and is replayed at start; a done line cut short by the kill is
 * dropped.  The one window left is a request the platform took whose
 * answer we never read; the replay then posts it a second time.  With one
 * request in flight per webhook it is at most one post per webhook.
 *
 * Memory: a queued post is a small job (where its line is, the stream and
 * killmail for its receipt); its body is read back from the segment when it
 * is sent, so a long queue costs page cache rather than heap. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <getopt.h>

#include "backoff.h"
#include "clock.h"
#include "conf.h"
#include "line.h"
#include "log.h"
#include "pair.h"
#include "post.h"
#include "sig.h"

#define NHASH 4096
#define BATCH 256		/* input lines per turn: one segment, one fdatasync */
#define TURN_BYTES (512 << 10)	/* ...or fewer: what a turn holds in memory */
#define SEG_FDS 64		/* segments that keep a descriptor open */

struct seg {			/* a spool segment with posts not yet answered */
	struct seg *next, **prevp;
	int fd;			/* -1: opened when needed */
	unsigned left;		/* posts not answered yet */
	char name[];
};

struct job {			/* a queued post; its text stays in the segment */
	struct job *next;
	struct hook *hook;
	struct seg *seg;	/* NULL until spooled */
	off_t off;		/* its line in the segment */
	unsigned len, boff;	/* the line's length; where the body starts in it */
	unsigned idx;		/* its number in the segment, for the done line */
	int attempts;
	json_int_t kill;
	double t0;		/* when accepted (monotonic), for receipts' ms */
	char stream[];		/* the stream id, for receipts */
};

struct bucket {			/* a Discord rate-limit bucket */
	struct bucket *next;
	char id[80];
	int remaining;
	double reset_at;
};

struct hook {
	struct hook *chain, *all;
	char *url, label[96];
	unsigned long long id;	/* post_hash of the URL */
	struct job *head, *tail;
	int busy, dead;
	double next_at, sent_at;
	struct bucket *bucket;
	struct backoff bo;
};

/* A set of 64-bit keys, each with a time: open addressing, linear probes. */
struct set {
	unsigned long long *k;
	unsigned *t;
	size_t cap, n;
};

static struct {
	const struct post_platform *pf;
	const struct post_conf *c;
	struct http *http;
	char dir[1024];
	struct hook *table[NHASH], *hooks;
	struct bucket *buckets;
	struct set seen, deadset, warned;
	FILE *dedupe;
	struct buf keys;	/* dedupe lines waiting for their segment's sync */
	struct buf out;		/* stdout, written once the turn's posts are spooled */
	struct seg *segs;
	int segfds;
	long appended, queued, queued_max;
	int reading, stopping, pending, sigfd;
	double deadline, global_until, invalid_since;
	long invalid;
	unsigned seq;
	unsigned long posted, limited, retried, dead, rejected, expired, dup;
} E;

/* The segment in the making: the posts of this turn, queued once durable. */
static struct {
	struct buf text;
	struct job *head, *tail;
	unsigned n;
} B;

unsigned long long
post_hash(const char *s, size_t n, unsigned long long h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* ---- the key set ---- */

static size_t
set_find(const struct set *s, unsigned long long k)
{
	size_t i = (size_t)(k * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);

	while (s->k[i] && s->k[i] != k)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static void set_put(struct set *s, unsigned long long k, unsigned t);

static void
set_grow(struct set *s)
{
	struct set o = *s;

	s->cap = o.cap ? o.cap * 2 : 1024;
	s->n = 0;
	s->k = calloc(s->cap, sizeof *s->k);
	s->t = calloc(s->cap, sizeof *s->t);
	if (!s->k || !s->t)
		log_fatal(EXIT_TEMP, "out of memory");
	for (size_t i = 0; i < o.cap; i++)
		if (o.k[i])
			set_put(s, o.k[i], o.t[i]);
	free(o.k);
	free(o.t);
}

static void
set_put(struct set *s, unsigned long long k, unsigned t)
{
	size_t i;

	if (!k)
		k = 1;		/* 0 marks an empty slot */
	/* Three quarters full at most: short probes, and a day of keys (66,000
	 * with 1,000 streams) in 1.5 MB rather than 3. */
	if ((s->n + 1) * 4 > s->cap * 3)
		set_grow(s);
	i = set_find(s, k);
	if (!s->k[i])
		s->n++;
	s->k[i] = k;
	s->t[i] = t;
}

static unsigned
set_get(const struct set *s, unsigned long long k)
{
	if (!s->cap)
		return 0;
	k = k ? k : 1;
	return s->t[set_find(s, k)];
}

static void
set_free(struct set *s)
{
	free(s->k);
	free(s->t);
	memset(s, 0, sizeof *s);
}

/* ---- files ---- */

static const char *
path(char *buf, size_t n, const char *sub, const char *name)
{
	/* A path that does not fit is an error, never a silently cut name. */
	if ((size_t)snprintf(buf, n, "%s/%s%s%s", E.dir, sub, *name ? "/" : "", name) >= n)
		log_fatal(EXIT_PERM, "state path too long dir=%s", E.dir);
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
	int fd = open(path(p, sizeof p, sub, ""), O_RDONLY | O_DIRECTORY);

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
static void
write_atomic(const char *sub, const char *name, const char *text, size_t n, int *keep)
{
	char tmp[1200], dst[1200], dot[300];
	int fd;

	snprintf(dot, sizeof dot, ".%s.tmp", name);
	path(tmp, sizeof tmp, sub, dot);
	path(dst, sizeof dst, sub, name);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) < 0 ||
	    write_all(fd, text, n) < 0 || fdatasync(fd) < 0 || rename(tmp, dst) < 0 ||
	    (!keep && close(fd) < 0))
		log_fatal(EXIT_TEMP, "cannot write %s: %s", dst, strerror(errno));
	if (keep)
		*keep = fd;
	fsync_dir(sub);
}

static void
remove_file(const char *sub, const char *name)
{
	char p[1200];

	if (unlink(path(p, sizeof p, sub, name)) < 0 && errno != ENOENT)
		log_fatal(EXIT_TEMP, "unlink %s: %s", p, strerror(errno));
}

static json_t *
read_json(const char *p)
{
	json_error_t err;
	json_t *j = json_load_file(p, 0, &err);

	if (!j)
		log_warn("unreadable state file skipped file=%s error=\"%s\"", p, err.text);
	return j;
}

/* A new name that sorts by time of acceptance: the replay keeps the order. */
static const char *
new_name(char *buf, size_t n, const char *ext)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(buf, n, "%016llx-%08x-%08x%s",
	    (unsigned long long)tv.tv_sec * 1000000 + tv.tv_usec,
	    (unsigned)getpid(), E.seq++, ext);
	return buf;
}

/* ---- dedupe: (webhook, killmail_id) accepted within the window ---- */

static unsigned long long
dedupe_key(const struct hook *h, json_int_t kill)
{
	return post_hash((const char *)&kill, sizeof kill, h->id);
}

static unsigned
now_wall(void)
{
	return (unsigned)clock_wall();
}

static int
dedupe_live(unsigned t)
{
	return t && E.c->window > 0 && (double)now_wall() - t < E.c->window;
}

/* Rewrite the file with the live keys only (write + rename). */
static void
dedupe_compact(void)
{
	char p[1200], tmp[1200];
	struct set live = { 0 };
	FILE *f;

	path(tmp, sizeof tmp, ".dedupe.tmp", "");
	if (!(f = fopen(tmp, "w")))
		log_fatal(EXIT_TEMP, "cannot write %s: %s", tmp, strerror(errno));
	for (size_t i = 0; i < E.seen.cap; i++)
		if (E.seen.k[i] && dedupe_live(E.seen.t[i])) {
			fprintf(f, "%u %016llx\n", E.seen.t[i], E.seen.k[i]);
			set_put(&live, E.seen.k[i], E.seen.t[i]);
		}
	if (fflush(f) || fdatasync(fileno(f)) < 0 || fclose(f) ||
	    rename(tmp, path(p, sizeof p, "dedupe", "")) < 0)
		log_fatal(EXIT_TEMP, "cannot write %s: %s", p, strerror(errno));
	set_free(&E.seen);
	E.seen = live;
	if (E.dedupe)
		fclose(E.dedupe);
	if (!(E.dedupe = fopen(p, "a")))
		log_fatal(EXIT_TEMP, "cannot open %s: %s", p, strerror(errno));
	E.appended = 0;
}

static void
dedupe_load(void)
{
	char p[1200];
	unsigned t;
	unsigned long long k;
	FILE *f = fopen(path(p, sizeof p, "dedupe", ""), "r");

	while (f && fscanf(f, "%u %llx", &t, &k) == 2)
		if (dedupe_live(t))
			set_put(&E.seen, k, t);
	if (f)
		fclose(f);
	dedupe_compact();
}

/* The key counts at once; its line waits for dedupe_flush, after the
 * segment holding its post is durable. */
static void
dedupe_add(unsigned long long k)
{
	char line[40];
	unsigned t = now_wall();

	if (E.c->window <= 0)
		return;
	set_put(&E.seen, k, t);
	buf_add(&E.keys, line, snprintf(line, sizeof line, "%u %016llx\n", t, k ? k : 1));
	E.appended++;
}

/* Appended, not synced: kill -9 keeps it in the page cache; a power cut
 * may forget a key, and the spool still holds what was not answered. */
static void
dedupe_flush(void)
{
	if (!E.keys.len)
		return;
	if (fwrite(E.keys.p, 1, E.keys.len, E.dedupe) != E.keys.len || fflush(E.dedupe))
		log_fatal(EXIT_TEMP, "cannot append to dedupe: %s", strerror(errno));
	E.keys.len = 0;
	if (E.appended > 2 * (long)E.seen.n + 10000)
		dedupe_compact();
}

/* ---- dead webhooks ---- */

static void
deadhooks_load(void)
{
	char p[1200], line[512];
	unsigned long long id;
	unsigned t;
	FILE *f = fopen(path(p, sizeof p, "dead-hooks", ""), "r");

	set_free(&E.deadset);
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%llx %u", &id, &t) == 2)
			set_put(&E.deadset, id, t ? t : 1);
	if (f)
		fclose(f);
	for (struct hook *h = E.hooks; h; h = h->all)
		h->dead = set_get(&E.deadset, h->id) != 0;
}

static void
deadhooks_add(const struct hook *h, const char *why)
{
	char p[1200];
	FILE *f = fopen(path(p, sizeof p, "dead-hooks", ""), "a");

	set_put(&E.deadset, h->id, now_wall());
	if (!f || fprintf(f, "%016llx %u %s %s\n", h->id, now_wall(), h->label, why) < 0 ||
	    fclose(f))
		log_fatal(EXIT_TEMP, "cannot append to %s: %s", p, strerror(errno));
}

/* ---- webhooks ---- */

static struct hook *
hook_get(const char *url)
{
	unsigned long long id = post_hash(url, strlen(url), POST_FNV_BASIS);
	struct hook **slot = &E.table[id % NHASH], *h;

	for (h = *slot; h; h = h->chain)
		if (!strcmp(h->url, url))
			return h;
	if (!(h = calloc(1, sizeof *h)) || !(h->url = strdup(url)))
		log_fatal(EXIT_TEMP, "out of memory");
	h->id = id;
	log_url(url, h->label, sizeof h->label);
	h->dead = set_get(&E.deadset, id) != 0;
	backoff_init(&h->bo, E.c->backoff, E.c->backoff_max);
	h->chain = *slot;
	*slot = h;
	h->all = E.hooks;
	E.hooks = h;
	return h;
}

/* "$NAME" is read from the environment, so stream files hold no secret. */
static const char *
resolve(const char *t, char *why, size_t n)
{
	const char *v = t;

	if (t[0] == '$' && !((v = getenv(t + 1)) && *v)) {
		snprintf(why, n, "environment variable %s is not set", t + 1);
		return NULL;
	}
	if (strncmp(v, "https://", 8) && strncmp(v, "http://", 7)) {
		snprintf(why, n, "target %s is not an http(s) URL", t[0] == '$' ? t : "");
		return NULL;
	}
	return v;
}

/* ---- output: receipts and lines for later stages ---- */

/* Output waits in E.out until the posts of the turn are spooled: a pair
 * goes on only then.  The loop writes it out before it waits (turn). */
static void
receipt(const struct job *j, const char *status, long http, const char *why)
{
	json_t *r = json_object(), *e;

	json_object_set_new(r, "target", json_string(E.pf->name));
	json_object_set_new(r, "stream", json_string(j->stream));
	json_object_set_new(r, "killmail_id", json_integer(j->kill));
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "http", http ? json_integer(http) : json_null());
	json_object_set_new(r, "attempts", json_integer(j->attempts));
	json_object_set_new(r, "ms", json_integer((json_int_t)((clock_mono() - j->t0) * 1000)));
	if (why)
		json_object_set_new(r, "reason", json_string(why));
	e = json_pack("{s:o}", "receipt", r);
	ndjson_dump(&E.out, e);
	buf_addc(&E.out, '\n');
	json_decref(e);
}

static void
pass(const char *line, size_t len)
{
	buf_add(&E.out, line, len);
	buf_addc(&E.out, '\n');
}

static void
out_flush(void)
{
	if (E.out.len)
		ndjson_put(E.out.p, E.out.len);
	ndjson_flush();
	E.out.len = 0;
}

/* ---- segments ---- */

static struct seg *
seg_new(const char *name, int fd)
{
	size_t n = strlen(name) + 1;
	struct seg *s = calloc(1, sizeof *s + n);

	if (!s)
		log_fatal(EXIT_TEMP, "out of memory");
	memcpy(s->name, name, n);
	s->fd = fd;
	E.segfds += fd >= 0;
	if ((s->next = E.segs))
		E.segs->prevp = &s->next;
	E.segs = s;
	s->prevp = &E.segs;
	return s;
}

static int
seg_known(const char *name)
{
	for (struct seg *s = E.segs; s; s = s->next)
		if (!strcmp(s->name, name))
			return 1;
	return 0;
}

static int
seg_fd(struct seg *s)
{
	char p[1200];

	if (s->fd < 0) {
		s->fd = open(path(p, sizeof p, "spool", s->name), O_RDWR | O_APPEND | O_CLOEXEC);
		if (s->fd < 0)
			log_fatal(EXIT_TEMP, "cannot open %s: %s", p, strerror(errno));
		E.segfds++;
	}
	return s->fd;
}

/* Only so many segments keep a descriptor: a webhook that lags behind may
 * hold a post in each of thousands. */
static void
seg_idle(struct seg *s)
{
	if (s->fd >= 0 && E.segfds > SEG_FDS) {
		close(s->fd);
		s->fd = -1;
		E.segfds--;
	}
}

/* One post fewer waits in s; the last one takes the segment with it. */
static void
seg_drop(struct seg *s)
{
	if (--s->left)
		return;
	remove_file("spool", s->name);
	if (s->fd >= 0) {
		close(s->fd);
		E.segfds--;
	}
	if ((*s->prevp = s->next))
		s->next->prevp = s->prevp;
	free(s);
}

/* The platform answered (or the post went to dead/): a done line, unless
 * the segment goes with it. */
static void
seg_done(struct job *j)
{
	struct seg *s = j->seg;
	char mark[32], p[1200];
	int n;

	if (!s)
		return;
	j->seg = NULL;
	if (s->left > 1) {
		n = snprintf(mark, sizeof mark, "{\"done\":%u}\n", j->idx);
		if (write_all(seg_fd(s), mark, (size_t)n) < 0)
			log_fatal(EXIT_TEMP, "cannot append to %s: %s",
			    path(p, sizeof p, "spool", s->name), strerror(errno));
		seg_idle(s);
	}
	seg_drop(s);
}

/* n bytes of j's line from at, NUL-terminated, in a buffer reused by the
 * next call. */
static char *
seg_read(struct job *j, size_t at, size_t n)
{
	static char *b;
	static size_t cap;
	char p[1200];
	size_t got = 0;
	ssize_t r;

	if (n + 1 > cap && !(b = realloc(b, cap = n + 1)))
		log_fatal(EXIT_TEMP, "out of memory");
	while (got < n) {
		r = pread(seg_fd(j->seg), b + got, n - got, j->off + (off_t)(at + got));
		if (r <= 0 && !(r < 0 && errno == EINTR))
			log_fatal(EXIT_TEMP, "cannot read %s: %s", path(p, sizeof p, "spool",
			    j->seg->name), r ? strerror(errno) : "cut short");
		got += r > 0 ? (size_t)r : 0;
	}
	b[n] = 0;
	seg_idle(j->seg);
	return b;
}

/* ---- jobs ---- */

static struct job *
job_new(const char *stream, json_int_t kill)
{
	size_t n = strlen(stream) + 1;
	struct job *j = calloc(1, sizeof *j + n);

	if (!j)
		log_fatal(EXIT_TEMP, "out of memory");
	memcpy(j->stream, stream, n);
	j->kill = kill;
	j->t0 = clock_mono();
	return j;
}

static void
enqueue(struct job *j)
{
	struct hook *h = j->hook;

	if (h->tail)
		h->tail->next = j;
	else
		h->head = j;
	h->tail = j;
	if (++E.queued > E.queued_max)
		E.queued_max = E.queued;
}

static struct job *
dequeue(struct hook *h)
{
	struct job *j = h->head;

	if (!(h->head = j->next))
		h->tail = NULL;
	j->next = NULL;
	E.queued--;
	return j;
}

/* The post as spooled, read back: {"target",...,"body"} (new reference). */
static json_t *
job_entry(struct job *j)
{
	const char *line = seg_read(j, 0, j->len);

	return json_loadb(line, j->len, JSON_ALLOW_NUL, NULL);
}

/* Keep the post with its reason in dead/, out of the spool; a receipt.
 * entry: the post when it is not in a segment (borrowed), else NULL. */
static void
dead_letter(struct job *j, json_t *entry, const char *status, long http, const char *why)
{
	char name[300];
	struct buf b = { 0 };
	json_t *post = entry ? json_incref(entry) : j->seg ? job_entry(j) : NULL;
	json_t *d = json_pack("{s:s,s:s,s:o,s:i,s:I,s:o}", "status", status,
	    "reason", why, "http", http ? json_integer(http) : json_null(),
	    "attempts", j->attempts, "time", (json_int_t)now_wall(),
	    "post", post ? post : json_null());

	/* Named after its place in the segment: a replay that lands here
	 * again rewrites the same letter. */
	if (j->seg)
		snprintf(name, sizeof name, "%.*s-%04x.json",
		    (int)(strlen(j->seg->name) - 7), j->seg->name, j->idx);
	else
		new_name(name, sizeof name, ".json");
	ndjson_dump(&b, d);
	buf_addc(&b, '\n');
	write_atomic("dead", name, b.p, b.len, NULL);
	buf_free(&b);
	json_decref(d);
	seg_done(j);
	receipt(j, status, http, why);
	if (!strcmp(status, "dead"))
		E.dead++;
	else if (!strcmp(status, "rejected"))
		E.rejected++;
	else
		E.expired++;
	free(j);
}

/* The webhook is gone: say so once, loudly; everything queued for it and
 * everything that comes later goes to dead/ without a request. */
static void
hook_kill(struct hook *h, long http, const char *why)
{
	if (!h->dead) {
		log_warn("webhook is gone, its posts go to dead/ url=%s http=%ld reason=\"%s\"",
		    h->label, http, why);
		deadhooks_add(h, why);
		h->dead = 1;
	}
	while (h->head)
		dead_letter(dequeue(h), NULL, "dead", http, why);
}

/* ---- the segment of a turn ---- */

/* One post into the segment in the making, body last so that its offset
 * is known: sending reads the body alone back. */
static void
batch_add(struct job *j, const char *target, json_int_t accepted, const json_t *body)
{
	json_t *head = json_pack("{s:s,s:s,s:I,s:I}", "target", target,
	    "stream", j->stream, "killmail_id", j->kill, "accepted", accepted);

	j->off = (off_t)B.text.len;
	ndjson_dump(&B.text, head);
	B.text.len--;		/* its '}' */
	buf_add(&B.text, ",\"body\":", 8);
	j->boff = (unsigned)(B.text.len - (size_t)j->off);
	ndjson_dump(&B.text, body);
	buf_addc(&B.text, '}');
	j->len = (unsigned)(B.text.len - (size_t)j->off);
	buf_addc(&B.text, '\n');
	j->idx = B.n++;
	if (B.tail)
		B.tail->next = j;
	else
		B.head = j;
	B.tail = j;
	json_decref(head);
}

/* Make the turn's posts durable together (one fdatasync, one fsync of the
 * directory), then their dedupe keys, then queue them.  name: the
 * segment's name, or NULL for a new one. */
static void
batch_commit(const char *name)
{
	char gen[64];
	struct job *j, *next;
	struct seg *s;
	int fd;

	if (!B.n)
		return;
	if (!name)
		name = new_name(gen, sizeof gen, ".ndjson");
	write_atomic("spool", name, B.text.p, B.text.len, &fd);
	dedupe_flush();
	s = seg_new(name, fd);
	s->left = B.n;
	for (j = B.head; j; j = next) {
		next = j->next;
		j->next = NULL;
		j->seg = s;
		enqueue(j);
		log_trace("spooled", (long long)j->kill, j->stream);
	}
	seg_idle(s);
	B.head = B.tail = NULL;
	B.n = 0;
	B.text.len = 0;
}

/* ---- accepting pairs ---- */

static int
warn_once(const char *stream, const char *why)
{
	unsigned long long k = post_hash(why, strlen(why),
	    post_hash(stream, strlen(stream), POST_FNV_BASIS));

	if (set_get(&E.warned, k))
		return 0;
	set_put(&E.warned, k, 1);
	return 1;
}

/* A post refused before it was spooled: to dead/ as it would have been
 * spooled (body is stolen). */
static void
refuse(struct job *j, const char *tw, json_t *body, const char *status, const char *why)
{
	json_t *e = json_pack("{s:s,s:s,s:I,s:I,s:o}", "target", tw, "stream", j->stream,
	    "killmail_id", j->kill, "accepted", (json_int_t)now_wall(), "body", body);

	dead_letter(j, e, status, 0, why);
	json_decref(e);
}

/* One target of this platform: render, dedupe, add to this turn's segment. */
static void
accept_target(const json_t *pair, const json_t *target, const char *tw,
    const char *sid, json_int_t kill)
{
	char why[300], w2[256];
	const char *url = resolve(tw, why, sizeof why);
	json_t *body = E.pf->render(pair, target);
	struct job *j = job_new(sid, kill);
	struct hook *h;

	if (!url) {
		if (warn_once(sid, why))
			log_warn("stream cannot post stream=%s reason=\"%s\"", sid, why);
		return refuse(j, tw, body, "rejected", why);
	}
	if (E.pf->check(body, w2, sizeof w2) < 0) {
		log_warn("rendered post out of limits (a bug) stream=%s killmail_id=%"
		    JSON_INTEGER_FORMAT " reason=\"%s\"", sid, kill, w2);
		return refuse(j, tw, body, "rejected", w2);
	}
	h = hook_get(url);
	if (dedupe_live(set_get(&E.seen, dedupe_key(h, kill)))) {
		E.dup++;
		receipt(j, "duplicate", 0, NULL);
		json_decref(body);
		return free(j);
	}
	if (h->dead)
		return refuse(j, tw, body, "dead", "webhook is dead");
	j->hook = h;
	batch_add(j, tw, (json_int_t)now_wall(), body);
	json_decref(body);
	dedupe_add(dedupe_key(h, kill));
}

/* Is this target's platform handled here or by an earlier stage? */
static int
handled(const json_t *t, int *mine)
{
	*mine = json_is_string(json_object_get(t, E.pf->name));
	if (*mine)
		return 1;
	for (const char *const *b = E.pf->before; b && *b; b++)
		if (json_object_get(t, *b))
			return 1;
	return 0;
}

static struct pair_mail last;	/* the mail of the pairs read last, parsed once */

/* The pair render reads: the small members parsed from this line, the mail
 * shared with the pairs around it (never modified).  NULL when the mail
 * does not parse (warned). */
static json_t *
pair_build(const struct pair *pr, json_t *stream, unsigned long lineno)
{
	json_t *m = pair_mail_json(&last, pr->mail, lineno), *p;

	if (!m)
		return NULL;
	p = json_object();
	json_object_set(p, "stream", stream);
	json_object_set(p, "mail", m);
	if (pr->match.n)
		json_object_set_new(p, "match",
		    json_loadb(pr->match.p, pr->match.n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL));
	return p;
}

/* Accept this platform's targets of a pair; 1 when a later stage has a
 * target in it too. */
static int
accept_pair(const struct pair *pr, json_t *stream, unsigned long lineno)
{
	const json_t *ts = json_object_get(stream, "targets"), *t;
	const char *sid = json_string_value(json_object_get(stream, "id"));
	json_t *pair = NULL;
	int later = 0, mine, bad = 0;
	size_t i;

	json_array_foreach(ts, i, t) {
		if (!handled(t, &mine))
			later = 1;
		if (!mine || bad)
			continue;
		/* A mail that does not parse was warned about: nothing to post. */
		if (!pair && !(pair = pair_build(pr, stream, lineno)))
			bad = 1;
		else
			accept_target(pair, t, json_string_value(json_object_get(t, E.pf->name)),
			    sid ? sid : "?", json_integer_value(json_object_get(
			    json_object_get(pair, "mail"), "killmail_id")));
	}
	json_decref(pair);
	return later;
}

/* A line goes on (unchanged) unless it is a pair whose targets are all
 * handled here or before.  Only the stream and match of a pair are parsed
 * for it; its mail once for all the pairs of that mail in a row. */
static void
accept_line(const char *line, size_t len, unsigned long lineno)
{
	struct pair pr;
	json_t *j;

	if (pair_read(line, len, last.text.p, last.text.len, &pr) < 0) {
		/* Not one JSON object: ndjson_parse says why, once (and were the
		 * scanner ever stricter than jansson, the line is no pair). */
		if ((j = ndjson_parse(line, len, lineno)))
			pass(line, len);
		json_decref(j);
		return;
	}
	if (!pair_is(&pr))
		return pass(line, len);	/* a receipt, or unknown: not ours */
	if (!(j = ndjson_parse(pr.stream.p, pr.stream.n, lineno)))
		return;
	if (!json_is_array(json_object_get(j, "targets")) || accept_pair(&pr, j, lineno))
		pass(line, len);
	json_decref(j);
}

/* ---- sending ---- */

static void on_answer(void *arg, struct http_resp *r);

static void
send_head(struct hook *h, double now)
{
	static const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct job *j = h->head;
	struct buf u = { 0 };

	const char *body = seg_read(j, j->boff, j->len - j->boff - 1);

	E.pf->url(h->url, &u);
	j->attempts++;
	h->busy = 1;
	h->sent_at = now;
	if (h->bucket && h->bucket->remaining > 0)
		h->bucket->remaining--;
	log_trace("send", (long long)j->kill, j->stream);
	http_request(E.http, "POST", u.p, body, j->len - j->boff - 1, hdrs, on_answer, h);
	buf_free(&u);
}

static struct bucket *
bucket_get(const char *id)
{
	struct bucket *b;

	for (b = E.buckets; b; b = b->next)
		if (!strcmp(b->id, id))
			return b;
	if (!(b = calloc(1, sizeof *b)))
		log_fatal(EXIT_TEMP, "out of memory");
	snprintf(b->id, sizeof b->id, "%s", id);
	b->next = E.buckets;
	return E.buckets = b;
}

/* Discord tells each answer's bucket, what is left of it and when it
 * refills: follow that rather than any number of our own. */
static void
ratelimit_headers(struct hook *h, const struct http_resp *r, double now)
{
	char id[80], v[64];
	struct bucket *b;

	if (!http_header(r, "X-RateLimit-Bucket", id, sizeof id))
		return;
	b = h->bucket = bucket_get(id);
	if (http_header(r, "X-RateLimit-Remaining", v, sizeof v))
		b->remaining = atoi(v);
	if (http_header(r, "X-RateLimit-Reset-After", v, sizeof v))
		b->reset_at = now + strtod(v, NULL);
}

/* 401, 403 and 429 count against Discord's 10,000 per 10 minutes per IP:
 * stop everything well before that. */
static void
invalid_count(double now)
{
	if (now - E.invalid_since > 600) {
		E.invalid_since = now;
		E.invalid = 0;
	}
	if (++E.invalid == E.c->invalid_max) {
		log_warn("too many invalid requests, pausing all sends count=%ld seconds=%.0f",
		    E.invalid, E.invalid_since + 600 - now);
		if (E.global_until < E.invalid_since + 600)
			E.global_until = E.invalid_since + 600;
	}
}

static void
answer_wait(struct hook *h, const struct post_answer *a, double now)
{
	E.limited++;
	if (a->global) {
		log_info("global rate limit seconds=%.3f", a->wait);
		if (E.global_until < now + a->wait)
			E.global_until = now + a->wait;
	} else if (h->next_at < now + a->wait)
		h->next_at = now + a->wait;
	log_debug("rate limited url=%s seconds=%.3f", h->label, a->wait);
}

static void
answer_retry(struct hook *h, const struct http_resp *r, const struct post_answer *a,
    double now)
{
	double d;

	if (h->head->attempts >= E.c->attempts) {
		log_warn("giving up after %d attempts url=%s http=%ld reason=\"%s\"",
		    h->head->attempts, h->label, r->status, a->why);
		dead_letter(dequeue(h), NULL, "expired", r->status, a->why);
		return;
	}
	E.retried++;
	d = backoff_next(&h->bo);
	h->next_at = now + d;
	log_info("retrying url=%s http=%ld attempt=%d in=%.2fs reason=\"%s\"",
	    h->label, r->status, h->head->attempts, d, a->why);
}

static void
on_answer(void *arg, struct http_resp *r)
{
	struct hook *h = arg;
	struct post_answer a = { 0 };
	double now = clock_mono();
	struct job *j;

	h->busy = 0;
	if (E.pf->ratelimit_headers)
		ratelimit_headers(h, r, now);
	if (h->next_at < h->sent_at + E.c->interval)
		h->next_at = h->sent_at + E.c->interval;
	E.pf->judge(r, &a);
	for (char *c = a.why; *c; c++)	/* one log line per event */
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	if (a.invalid)
		invalid_count(now);
	if (a.v == POST_OK) {
		backoff_reset(&h->bo);
		j = dequeue(h);
		seg_done(j);
		E.posted++;
		receipt(j, "posted", r->status, NULL);
		free(j);
	} else if (a.v == POST_WAIT)
		answer_wait(h, &a, now);
	else if (a.v == POST_RETRY)
		answer_retry(h, r, &a, now);
	else if (a.v == POST_GONE)
		hook_kill(h, r->status, a.why);
	else {
		log_warn("post rejected url=%s http=%ld reason=\"%s\"", h->label, r->status, a.why);
		dead_letter(dequeue(h), NULL, "rejected", r->status, a.why);
	}
}

/* When may this webhook send next: its own pause and its bucket's. */
static double
ready_at(struct hook *h, double now)
{
	struct bucket *b = h->bucket;
	double t = h->next_at;

	if (b && b->remaining <= 0) {
		if (b->reset_at > now && b->reset_at > t)
			t = b->reset_at;
		else if (b->reset_at <= now)
			b->remaining = 1;	/* refilled; the next answer says by how much */
	}
	return t;
}

/* Start what may start; the seconds until something else may. */
static double
schedule(double now)
{
	double next = 1;

	if (E.stopping)
		return next;
	if (now < E.global_until)
		return E.global_until - now;
	for (struct hook *h = E.hooks; h; h = h->all) {
		double at;

		if (!h->head || h->busy || h->dead)
			continue;
		if ((at = ready_at(h, now)) > now) {
			next = at - now < next ? at - now : next;
			continue;
		}
		if (http_inflight(E.http) >= E.c->parallel)
			break;
		send_head(h, now);
	}
	return next;
}

/* ---- the spool at start (and on SIGHUP: posts put back by hand) ---- */

static int
ends(const char *s, const char *ext)
{
	size_t n = strlen(s), e = strlen(ext);

	return n > e && !strcmp(s + n - e, ext);
}

static int
spool_name(const struct dirent *d)
{
	return d->d_name[0] != '.' && (ends(d->d_name, ".json") || ends(d->d_name, ".ndjson"));
}

/* Queue a post read back from the spool (entry: borrowed), as
 * accept_target would have; its dedupe key is added when missing. */
static void
requeue(struct job *j, json_t *entry)
{
	char why[300];
	const char *url;
	struct hook *h;

	if (!(url = resolve(json_string_value(json_object_get(entry, "target")), why, sizeof why)))
		return dead_letter(j, entry, "rejected", 0, why);
	h = hook_get(url);
	if (h->dead)
		return dead_letter(j, entry, "dead", 0, "webhook is dead");
	if (!set_get(&E.seen, dedupe_key(h, j->kill)))
		dedupe_add(dedupe_key(h, j->kill));
	j->hook = h;
	if (j->seg)
		enqueue(j);
	else
		batch_add(j, json_string_value(json_object_get(entry, "target")),
		    json_integer_value(json_object_get(entry, "accepted")),
		    json_object_get(entry, "body"));
}

/* A post with a target and a body; its stream and killmail for a job. */
static struct job *
entry_job(json_t *e, int *ok)
{
	const char *sid = json_string_value(json_object_get(e, "stream"));

	*ok = json_is_string(json_object_get(e, "target")) &&
	    json_is_object(json_object_get(e, "body"));
	return job_new(sid ? sid : "?",
	    json_integer_value(json_object_get(e, "killmail_id")));
}

/* Is the body of this line where batch_add puts it?  Sending reads it
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
replay_post(struct seg *s, const char *line, size_t len, unsigned idx, off_t off)
{
	json_t *e = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
	int ok = 0;
	struct job *j = entry_job(e, &ok);

	j->seg = s;
	j->idx = idx;
	j->off = off;
	j->len = (unsigned)len;
	if (!e)
		e = json_stringn(line, len);	/* dead/ keeps what there was */
	if (!ok || !body_at(line, len, e, &j->boff))
		dead_letter(j, e, "rejected", 0, "spool line unreadable");
	else
		requeue(j, e);
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
replay_lines(struct seg *s, const char *text, size_t n)
{
	const char *p, *e, *end = text + n;
	unsigned posts = 0, idx = 0;
	unsigned long k;
	unsigned char *done;

	for (p = text; p < end; p = e + 1)
		posts += line_kind(p, e = memchr(p, '\n', (size_t)(end - p))) == 2;
	if (!(done = calloc(posts + 1, 1)))
		log_fatal(EXIT_TEMP, "out of memory");
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
	int fd = open(path(p, sizeof p, "spool", name), O_RDWR | O_APPEND | O_CLOEXEC);
	struct seg *s;

	if (fd < 0 || fstat(fd, &st) < 0 || !(text = malloc((size_t)st.st_size + 1)))
		log_fatal(EXIT_TEMP, "cannot read %s: %s", p, strerror(errno));
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
	s = seg_new(name, fd);
	s->left = 1;		/* held while its posts are read */
	replay_lines(s, text, n);
	free(text);
	seg_idle(s);
	seg_drop(s);
}

/* A post put back by hand (or spooled by an older version) becomes a
 * segment named after it, then the file goes: after a crash between the
 * two, the segment exists and the file is only removed. */
static void
replay_single(const char *name)
{
	char p[1200], seg[300];
	json_t *e, *post;
	struct job *j;
	int ok;

	snprintf(seg, sizeof seg, "%.*s.ndjson", (int)(strlen(name) - 5), name);
	if (access(path(p, sizeof p, "spool", seg), F_OK) == 0)
		return remove_file("spool", name);
	if (!(e = read_json(path(p, sizeof p, "spool", name))))
		return;
	/* A dead letter moved back by hand carries the post inside. */
	if ((post = json_object_get(e, "post"))) {
		json_incref(post);
		json_decref(e);
		e = post;
	}
	j = entry_job(e, &ok);
	if (!ok)
		dead_letter(j, e, "rejected", 0, "spool entry without target or body");
	else
		requeue(j, e);
	batch_commit(seg);
	remove_file("spool", name);
	json_decref(e);
}

static void
replay(void)
{
	char p[1200];
	struct dirent **d;
	long q = E.queued;
	int n = scandir(path(p, sizeof p, "spool", ""), &d, spool_name, alphasort);

	if (n < 0)
		log_fatal(EXIT_TEMP, "scandir %s: %s", p, strerror(errno));
	for (int i = 0; i < n; i++) {
		if (ends(d[i]->d_name, ".json"))
			replay_single(d[i]->d_name);
		else if (!seg_known(d[i]->d_name))
			replay_seg(d[i]->d_name);
		free(d[i]);
	}
	free(d);
	dedupe_flush();
	if (E.queued > q)
		log_info("spooled posts queued count=%ld", E.queued - q);
}

/* Temporary files of a run killed while it wrote them. */
static void
spool_clean(void)
{
	char p[1200];
	struct dirent *e;
	DIR *d = opendir(path(p, sizeof p, "spool", ""));

	while (d && (e = readdir(d)))
		if (e->d_name[0] == '.' && ends(e->d_name, ".tmp"))
			remove_file("spool", e->d_name);
	if (d)
		closedir(d);
}

/* ---- the loop ---- */

static struct line_reader lr;

static int
turn_full(void)
{
	return B.text.len + E.out.len >= TURN_BYTES;
}

static void
fill(void)
{
	if (line_fill(&lr) < 0 && errno != EINTR && errno != EAGAIN)
		log_fatal(EXIT_TEMP, "read stdin: %s", strerror(errno));
}

/* More input without waiting for it?  A read from a pipe gives 64 KB at
 * most, a dozen pairs of 5 KB: the turn reads on while lines are there. */
static int
more(void)
{
	struct pollfd p = { 0, POLLIN, 0 };

	return !lr.eof && poll(&p, 1, 0) == 1 && (fill(), 1);
}

/* Up to BATCH lines per turn, so that answers and sends keep flowing; the
 * posts of the turn are spooled together. */
static void
read_input(int readable)
{
	char *line;
	size_t len;
	int r = 0, k = 0;

	if (readable && !E.pending)
		fill();
	while (k < BATCH && (!k || !turn_full()))
		if ((r = line_next(&lr, &line, &len)) == 1) {
			if (len)
				accept_line(line, len, lr.lineno);
			k++;
		} else if (r < 0 || !more())
			break;
	batch_commit(NULL);
	E.pending = r == 1 && (k == BATCH || turn_full());
	if (r < 0) {
		E.reading = 0;
		log_info("end of input, draining queued=%ld", E.queued);
	}
}

static void
on_signal(void)
{
	int s;

	while ((s = sig_take(E.sigfd)))
		if (s == SIGHUP) {
			log_info("SIGHUP: reloading dead-hooks, requeueing spool");
			deadhooks_load();
			replay();
		} else if (!E.stopping) {
			/* Stop reading at a line boundary; what is queued stays
			 * in the spool for the next start. */
			E.stopping = 1;
			E.reading = 0;
			E.deadline = clock_mono() + E.c->grace;
			log_info("stopping inflight=%d queued=%ld", http_inflight(E.http), E.queued);
		}
}

static void
setup(const struct post_platform *pf, const struct post_conf *c)
{
	char p[1200];
	struct http_opts o = { 0 };

	E.pf = pf;
	E.c = c;
	snprintf(E.dir, sizeof E.dir, "%s/%s", c->state_dir, pf->name);
	mkdirs(path(p, sizeof p, "spool", ""));
	mkdirs(path(p, sizeof p, "dead", ""));
	o.useragent = conf_useragent();
	o.timeout_ms = c->timeout_ms;
	o.max_host_conns = c->parallel;
	E.http = http_new(&o);
	E.sigfd = sig_init(0);
	E.reading = 1;
	line_init(&lr, 0, 0);
	dedupe_load();
	deadhooks_load();
	spool_clean();
	replay();
	log_info("started state=%s queued=%ld dedupe=%zu dead_hooks=%zu",
	    E.dir, E.queued, E.seen.n, E.deadset.n);
}

static int
finished(double now)
{
	if (E.stopping)
		return http_inflight(E.http) == 0 || now >= E.deadline;
	return !E.reading && !E.pending && E.queued == 0 && http_inflight(E.http) == 0;
}

/* Poll stdin (unless stopping or too much is queued), signals and curl. */
static void
turn(double wait)
{
	struct curl_waitfd fd[2] = { { E.sigfd, CURL_WAIT_POLLIN, 0 },
		{ 0, CURL_WAIT_POLLIN, 0 } };
	int rd = E.reading && E.queued < E.c->max_queue;
	int ms = E.pending && rd ? 0 : (int)(wait * 1000) + 1;

	out_flush();
	if (E.stopping && (E.deadline - clock_mono()) * 1000 + 1 < ms)
		ms = (int)((E.deadline - clock_mono()) * 1000) + 1;
	if (http_wait(E.http, fd, rd && !E.pending ? 2 : 1, ms < 0 ? 0 : ms) < 0)
		log_fatal(EXIT_TEMP, "curl multi failed");
	if (fd[0].revents)
		on_signal();
	if (rd && (E.pending || fd[1].revents))
		read_input(fd[1].revents != 0);
}

int
post_run(const struct post_platform *pf, const struct post_conf *c)
{
	double wait;

	setup(pf, c);
	for (;;) {
		wait = schedule(clock_mono());
		if (finished(clock_mono()))
			break;
		turn(wait);
	}
	out_flush();
	log_info("done posted=%lu limited=%lu retried=%lu dead=%lu rejected=%lu "
	    "expired=%lu duplicate=%lu left=%ld invalid=%ld queued_max=%ld", E.posted,
	    E.limited, E.retried, E.dead, E.rejected, E.expired, E.dup, E.queued,
	    E.invalid, E.queued_max);
	if (!http_inflight(E.http))
		http_free(E.http);
	fclose(E.dedupe);
	line_free(&lr);
	pair_mail_free(&last);
	return EXIT_DONE;
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-qv] [-d statedir] [-p parallel] "
	    "[-a attempts] [-b backoff] [-B maxbackoff]\n"
	    "       [-i interval] [-w window] [-g grace] [-t timeout] "
	    "[-Q maxqueue] [-I invalidmax]\n", log_prog);
	exit(EXIT_PERM);
}

static double
duration(const char *flag, const char *what)
{
	double d = conf_duration(flag);

	if (d < 0)
		log_fatal(EXIT_PERM, "bad duration for %s: %s", what, flag);
	return d;
}

int
post_main(int argc, char **argv, const struct post_platform *pf, double interval)
{
	struct post_conf c = { conf_str(NULL, "STATE_DIR", "var"), 64, 8, 1, 300,
		interval, 86400, 5, 15000, 10000, 1000 };
	int o;

	while ((o = getopt(argc, argv, "a:b:B:d:g:i:I:p:qQ:t:vw:")) != -1)
		switch (o) {
		case 'a': c.attempts = conf_long(optarg, NULL, 0); break;
		case 'b': c.backoff = conf_num(optarg, NULL, 0); break;
		case 'B': c.backoff_max = conf_num(optarg, NULL, 0); break;
		case 'd': c.state_dir = optarg; break;
		case 'g': c.grace = duration(optarg, "-g"); break;
		case 'i': c.interval = conf_num(optarg, NULL, 0); break;
		case 'I': c.invalid_max = conf_long(optarg, NULL, 0); break;
		case 'p': c.parallel = conf_long(optarg, NULL, 0); break;
		case 'q': log_verbose(-1); break;
		case 'Q': c.max_queue = conf_long(optarg, NULL, 0); break;
		case 't': c.timeout_ms = conf_num(optarg, NULL, 0) * 1000; break;
		case 'v': log_verbose(1); break;
		case 'w': c.window = duration(optarg, "-w"); break;
		default: usage();
		}
	if (optind != argc || c.parallel < 1 || c.attempts < 1)
		usage();
	return post_run(pf, &c);
}
