/* post: per-webhook queues, rate limits, spool, dead letters, dedupe and
 * receipts; see post.h.  State under $STATE_DIR/<platform>/:
 *
 *   spool/<name>.json   one accepted post not yet answered (written, synced
 *                       and renamed into place before it is queued)
 *   dead/<name>.json    {"status","reason","http","attempts","time","post"}
 *   dedupe              "<unix time> <key>" per accepted post, key = hash of
 *                       (webhook URL, killmail_id); compacted as it grows
 *   dead-hooks          "<webhook hash> <unix time> <reason>" per dead webhook
 *
 * Ordering of the durable steps, and why (kill -9 may land anywhere):
 * accept = write spool file, then append the dedupe key: a crash between the
 * two leaves a spool entry, and the replay re-adds its key.  Answer = remove
 * the spool file and nothing else: until that unlink the post is pending and
 * is replayed at start.  The one window left is a request the platform took
 * whose answer we never read; the replay then posts it a second time.  With
 * one request in flight per webhook it is at most one post per webhook. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <getopt.h>

#include "backoff.h"
#include "clock.h"
#include "conf.h"
#include "line.h"
#include "log.h"
#include "post.h"
#include "sig.h"

#define NHASH 4096
#define BATCH 256		/* input lines per turn of the loop */

struct job {
	struct job *next;
	char name[64];		/* spool file name */
	json_t *entry;		/* {"target","stream","killmail_id","accepted","body"} */
	char *body;		/* the compact body we POST */
	size_t len;
	int attempts;
	double t0;		/* when accepted (monotonic), for receipts' ms */
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
	long appended, queued;
	int dirty, reading, stopping, pending, sigfd;
	double deadline, global_until, invalid_since;
	long invalid;
	unsigned seq;
	unsigned long posted, limited, retried, dead, rejected, expired, dup;
} E;

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
	if ((s->n + 1) * 2 > s->cap)
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

/* Write j to sub/name atomically: a reader (or a replay) sees all or nothing. */
static void
write_atomic(const char *sub, const char *name, const json_t *j)
{
	char tmp[1200], dst[1200], dot[80];
	struct buf b = { 0 };
	int fd;

	snprintf(dot, sizeof dot, ".%s.tmp", name);
	path(tmp, sizeof tmp, sub, dot);
	path(dst, sizeof dst, sub, name);
	ndjson_dump(&b, j);
	buf_addc(&b, '\n');
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, b.p, b.len) != (ssize_t)b.len || fdatasync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, dst) < 0)
		log_fatal(EXIT_TEMP, "cannot write %s: %s", dst, strerror(errno));
	buf_free(&b);
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

static void
dedupe_add(unsigned long long k)
{
	unsigned t = now_wall();

	if (E.c->window <= 0)
		return;
	set_put(&E.seen, k, t);
	/* Appended, not synced: kill -9 keeps it in the page cache; a power cut
	 * may forget a key, and the spool still holds what was not answered. */
	if (fprintf(E.dedupe, "%u %016llx\n", t, k) < 0 || fflush(E.dedupe))
		log_fatal(EXIT_TEMP, "cannot append to dedupe: %s", strerror(errno));
	if (++E.appended > 2 * (long)E.seen.n + 10000)
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

static void
receipt(const struct job *j, const char *status, long http, const char *why)
{
	json_t *e = j->entry, *r = json_object();

	json_object_set_new(r, "target", json_string(E.pf->name));
	json_object_set(r, "stream", json_object_get(e, "stream"));
	json_object_set(r, "killmail_id", json_object_get(e, "killmail_id"));
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "http", http ? json_integer(http) : json_null());
	json_object_set_new(r, "attempts", json_integer(j->attempts));
	json_object_set_new(r, "ms", json_integer((json_int_t)((clock_mono() - j->t0) * 1000)));
	if (why)
		json_object_set_new(r, "reason", json_string(why));
	e = json_pack("{s:o}", "receipt", r);
	ndjson_out(e);
	json_decref(e);
}

static void
pass(const char *line, size_t len)
{
	if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF || fflush(stdout))
		log_fatal(EXIT_TEMP, "write to stdout failed: %s",
		    errno == EPIPE ? "output closed (EPIPE)" : strerror(errno));
}

/* ---- jobs ---- */

static struct job *
job_new(json_t *entry, const char *name)
{
	struct job *j = calloc(1, sizeof *j);
	struct timeval tv;

	if (!j)
		log_fatal(EXIT_TEMP, "out of memory");
	j->entry = entry;
	j->t0 = clock_mono();
	if (name)
		snprintf(j->name, sizeof j->name, "%s", name);
	else {
		/* Names sort by time of acceptance: the replay keeps the order. */
		gettimeofday(&tv, NULL);
		snprintf(j->name, sizeof j->name, "%016llx-%08x-%08x.json",
		    (unsigned long long)tv.tv_sec * 1000000 + tv.tv_usec,
		    (unsigned)getpid(), E.seq++);
	}
	return j;
}

static void
job_free(struct job *j)
{
	json_decref(j->entry);
	free(j->body);
	free(j);
}

static void
enqueue(struct hook *h, struct job *j)
{
	j->body = ndjson_str(json_object_get(j->entry, "body"));
	j->len = strlen(j->body);
	if (h->tail)
		h->tail->next = j;
	else
		h->head = j;
	h->tail = j;
	E.queued++;
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

static void
unspool(struct job *j)
{
	char p[1200];

	if (unlink(path(p, sizeof p, "spool", j->name)) < 0 && errno != ENOENT)
		log_fatal(EXIT_TEMP, "unlink %s: %s", p, strerror(errno));
	E.dirty = 1;
}

/* Keep the post with its reason in dead/, out of the spool; a receipt. */
static void
dead_letter(struct job *j, const char *status, long http, const char *why)
{
	json_t *d = json_pack("{s:s,s:s,s:o,s:i,s:I,s:O}", "status", status,
	    "reason", why, "http", http ? json_integer(http) : json_null(),
	    "attempts", j->attempts, "time", (json_int_t)now_wall(), "post", j->entry);

	write_atomic("dead", j->name, d);
	json_decref(d);
	fsync_dir("dead");
	unspool(j);
	receipt(j, status, http, why);
	if (!strcmp(status, "dead"))
		E.dead++;
	else if (!strcmp(status, "rejected"))
		E.rejected++;
	else
		E.expired++;
	job_free(j);
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
		dead_letter(dequeue(h), "dead", http, why);
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

/* One target of this platform: render, dedupe, spool, queue. */
static void
accept_target(const json_t *pair, const json_t *target, const char *tw)
{
	const json_t *stream = json_object_get(pair, "stream");
	const char *sid = json_string_value(json_object_get(stream, "id"));
	json_int_t kill = json_integer_value(json_object_get(json_object_get(pair, "mail"),
	    "killmail_id"));
	char why[300], w2[256];
	const char *url = resolve(tw, why, sizeof why);
	json_t *body = E.pf->render(pair, target);
	struct job *j = job_new(json_pack("{s:s,s:s,s:I,s:I,s:o}", "target", tw,
	    "stream", sid ? sid : "?", "killmail_id", kill,
	    "accepted", (json_int_t)now_wall(), "body", body), NULL);
	struct hook *h;

	if (!url) {
		if (warn_once(sid ? sid : "?", why))
			log_warn("stream cannot post stream=%s reason=\"%s\"", sid ? sid : "?", why);
		return dead_letter(j, "rejected", 0, why);
	}
	if (E.pf->check(body, w2, sizeof w2) < 0) {
		log_warn("rendered post out of limits (a bug) stream=%s killmail_id=%"
		    JSON_INTEGER_FORMAT " reason=\"%s\"", sid ? sid : "?", kill, w2);
		return dead_letter(j, "rejected", 0, w2);
	}
	h = hook_get(url);
	if (dedupe_live(set_get(&E.seen, dedupe_key(h, kill)))) {
		E.dup++;
		receipt(j, "duplicate", 0, NULL);
		return job_free(j);
	}
	if (h->dead)
		return dead_letter(j, "dead", 0, "webhook is dead");
	write_atomic("spool", j->name, j->entry);
	E.dirty = 1;
	dedupe_add(dedupe_key(h, kill));
	enqueue(h, j);
	log_trace("spooled", (long long)kill, sid);
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

/* A pair goes on (unchanged) when a later stage has a target in it. */
static void
accept_line(const char *line, size_t len, unsigned long lineno)
{
	json_t *j = ndjson_parse(line, len, lineno), *t;
	const json_t *stream = json_object_get(j, "stream");
	const json_t *ts = json_object_get(stream, "targets");
	int later = 0, mine;
	size_t i;

	if (!j)
		return;
	if (!json_is_object(json_object_get(j, "mail")) || !json_is_array(ts))
		later = 1;	/* not a pair: a receipt or unknown, not ours */
	json_array_foreach(ts, i, t) {
		if (!handled(t, &mine))
			later = 1;
		else if (mine)
			accept_target(j, t, json_string_value(json_object_get(t, E.pf->name)));
	}
	if (later)
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

	E.pf->url(h->url, &u);
	j->attempts++;
	h->busy = 1;
	h->sent_at = now;
	if (h->bucket && h->bucket->remaining > 0)
		h->bucket->remaining--;
	log_trace("send", (long long)json_integer_value(json_object_get(j->entry, "killmail_id")),
	    json_string_value(json_object_get(j->entry, "stream")));
	http_request(E.http, "POST", u.p, j->body, j->len, hdrs, on_answer, h);
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
		dead_letter(dequeue(h), "expired", r->status, a->why);
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
		unspool(j);
		E.posted++;
		receipt(j, "posted", r->status, NULL);
		job_free(j);
	} else if (a.v == POST_WAIT)
		answer_wait(h, &a, now);
	else if (a.v == POST_RETRY)
		answer_retry(h, r, &a, now);
	else if (a.v == POST_GONE)
		hook_kill(h, r->status, a.why);
	else {
		log_warn("post rejected url=%s http=%ld reason=\"%s\"", h->label, r->status, a.why);
		dead_letter(dequeue(h), "rejected", r->status, a.why);
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
spool_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

static int
queued(const char *name)
{
	for (struct hook *h = E.hooks; h; h = h->all)
		for (struct job *j = h->head; j; j = j->next)
			if (!strcmp(j->name, name))
				return 1;
	return 0;
}

static void
replay_one(const char *name)
{
	char p[1200], why[300];
	json_t *e = read_json(path(p, sizeof p, "spool", name)), *post;
	const char *url;
	struct job *j;
	struct hook *h;

	if (!e)
		return;
	/* A dead letter moved back by hand carries the post inside. */
	if ((post = json_object_get(e, "post"))) {
		json_incref(post);
		json_decref(e);
		e = post;
	}
	j = job_new(e, name);
	if (!json_is_object(json_object_get(e, "body")) ||
	    !json_is_string(json_object_get(e, "target")))
		return dead_letter(j, "rejected", 0, "spool entry without target or body");
	if (!(url = resolve(json_string_value(json_object_get(e, "target")), why, sizeof why)))
		return dead_letter(j, "rejected", 0, why);
	h = hook_get(url);
	if (h->dead)
		return dead_letter(j, "dead", 0, "webhook is dead");
	if (!set_get(&E.seen, dedupe_key(h, json_integer_value(json_object_get(e, "killmail_id")))))
		dedupe_add(dedupe_key(h, json_integer_value(json_object_get(e, "killmail_id"))));
	enqueue(h, j);
}

static void
replay(void)
{
	char p[1200];
	struct dirent **d;
	int n = scandir(path(p, sizeof p, "spool", ""), &d, spool_name, alphasort), k = 0;

	if (n < 0)
		log_fatal(EXIT_TEMP, "scandir %s: %s", p, strerror(errno));
	for (int i = 0; i < n; i++) {
		if (!E.queued || !queued(d[i]->d_name)) {
			replay_one(d[i]->d_name);
			k++;
		}
		free(d[i]);
	}
	free(d);
	if (k)
		log_info("spooled posts queued count=%d", k);
}

/* ---- the loop ---- */

static struct line_reader lr;

/* Up to BATCH lines per turn, so that answers and sends keep flowing. */
static void
read_input(int readable)
{
	char *line;
	size_t len;
	int r = 0, k;

	if (readable && !E.pending && line_fill(&lr) < 0 &&
	    errno != EINTR && errno != EAGAIN)
		log_fatal(EXIT_TEMP, "read stdin: %s", strerror(errno));
	for (k = 0; k < BATCH && (r = line_next(&lr, &line, &len)) == 1; k++)
		if (len)
			accept_line(line, len, lr.lineno);
	E.pending = k == BATCH;
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
		if (E.dirty) {
			fsync_dir("spool");
			E.dirty = 0;
		}
		if (finished(clock_mono()))
			break;
		turn(wait);
	}
	log_info("done posted=%lu limited=%lu retried=%lu dead=%lu rejected=%lu "
	    "expired=%lu duplicate=%lu left=%ld invalid=%ld", E.posted, E.limited,
	    E.retried, E.dead, E.rejected, E.expired, E.dup, E.queued, E.invalid);
	if (!http_inflight(E.http))
		http_free(E.http);
	fclose(E.dedupe);
	line_free(&lr);
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
		interval, 86400, 5, 15000, 100000, 1000 };
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
