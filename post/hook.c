/* hook: see hook.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/hash.h"
#include "lib/clock.h"
#include "lib/conf.h"
#include "post/hook.h"
#include "post/keyset.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "post/spool.h"

#define NHOSTS 32

static const void *
hook_url_key(const void *item, size_t *len)
{
	const struct hook *h = item;

	*len = strlen(h->url);
	return h->url;
}

static struct {
	double backoff, backoff_max;	/* the first back-off and the longest */
	double wait_max;		/* the longest wait of a bucket */
	const char *hosts[NHOSTS + 1];	/* the platform's own, then the setting's */
	char *extra;			/* $POST_PLATFORM_HOSTS, cut in place */
	struct hash byurl;		/* every webhook by its URL */
	struct hook *hooks;
	struct hook_bucket *buckets;
	struct keyset deadset;
	long queued, queued_max;
} H = { .byurl = { .key_of = hook_url_key } };

void
hook_init(double backoff, double backoff_max, double wait_max,
    const char *const *hosts)
{
	size_t n = 0;
	char *t;

	H.backoff = backoff;
	H.backoff_max = backoff_max;
	H.wait_max = wait_max;
	while (hosts && hosts[n] && n < NHOSTS)
		H.hosts[n] = hosts[n], n++;
	free(H.extra);
	H.extra = mem_strdup(conf_str(NULL, "POST_PLATFORM_HOSTS", ""));
	for (t = strtok(H.extra, ", \t"); t && n < NHOSTS; t = strtok(NULL, ", \t"))
		H.hosts[n++] = t;
	if (t)
		log_warn("POST_PLATFORM_HOSTS: more than %d hosts, the rest ignored", NHOSTS);
	H.hosts[n] = NULL;
}

/* Is the host of url one of the platform's?  The host is what lies between
 * "://" and the path, without user information or port; compared whole
 * and without case, so that "discord.com.example" is not "discord.com". */
static int
hook_platform(const char *url)
{
	const char *a = strstr(url, "://"), *e, *p;
	size_t n;

	if (!a)
		return 0;
	a += 3;
	e = a + strcspn(a, "/?#");
	for (p = a; p < e; p++)	/* user:password@ */
		if (*p == '@')
			a = p + 1;
	if (*a == '[') {	/* [v6]:port */
		p = memchr(a, ']', e - a);
		e = p ? p + 1 : e;
	} else if ((p = memchr(a, ':', e - a)))
		e = p;
	n = e - a;
	for (const char *const *h = H.hosts; *h; h++)
		if (strlen(*h) == n && !strncasecmp(*h, a, n))
			return 1;
	return 0;
}

/* ---- webhooks ---- */

struct hook *
hook_get(const char *url)
{
	size_t n = strlen(url);
	struct hook *h = hash_get(&H.byurl, url, n);

	if (h)
		return h;
	h = mem_calloc(1, sizeof *h);
	h->url = mem_strdup(url);
	h->id = hash_fnv1a(url, n);
	log_url(url, h->label, sizeof h->label);
	h->dead = keyset_get(&H.deadset, h->id) != 0;
	h->platform = hook_platform(url);
	backoff_init(&h->bo, H.backoff, H.backoff_max);
	hash_put(&H.byurl, h);
	h->all = H.hooks;
	H.hooks = h;
	return h;
}

const char *
hook_resolve(const char *t, char *why, size_t n)
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

struct hook *
hook_all(void)
{
	return H.hooks;
}

/* ---- jobs and queues ---- */

struct hook_job *
hook_job_new(const char *stream, json_int_t kill)
{
	size_t n = strlen(stream) + 1;
	struct hook_job *j = mem_calloc(1, sizeof *j + n);

	memcpy(j->stream, stream, n);
	j->kill = kill;
	j->t0 = clock_mono();
	return j;
}

/* The post as spooled, read back: {"target",...,"body"} (new reference). */
json_t *
hook_job_entry(struct hook_job *j)
{
	const char *line = spool_read(j->seg, &j->at, 0, j->at.len);

	return json_loadb(line, j->at.len, JSON_ALLOW_NUL, NULL);
}

/* The platform answered (or the post went to dead/). */
void
hook_job_done(struct hook_job *j)
{
	struct spool_seg *s = j->seg;

	if (!s)
		return;
	j->seg = NULL;
	spool_done(s, j->at.idx);
}


void
hook_push(struct hook_job *j)
{
	struct hook *h = j->hook;

	if (h->tail)
		h->tail->next = j;
	else
		h->head = j;
	h->tail = j;
	h->queued++;
	if (++H.queued > H.queued_max)
		H.queued_max = H.queued;
}

struct hook_job *
hook_pop(struct hook *h)
{
	struct hook_job *j = h->head;

	if (!(h->head = j->next))
		h->tail = NULL;
	j->next = NULL;
	h->solo -= h->solo > 0;
	h->queued--;
	H.queued--;
	return j;
}

long
hook_queued(void)
{
	return H.queued;
}

long
hook_queued_max(void)
{
	return H.queued_max;
}

/* ---- rate limits ---- */

void
hook_sent(struct hook *h, double now)
{
	h->busy = 1;
	h->sent_at = now;
	if (h->bucket && h->bucket->remaining > 0)
		h->bucket->remaining--;
}

static struct hook_bucket *
bucket_get(const char *id)
{
	struct hook_bucket *b;

	for (b = H.buckets; b; b = b->next)
		if (!strcmp(b->id, id))
			return b;
	b = mem_calloc(1, sizeof *b);
	snprintf(b->id, sizeof b->id, "%s", id);
	b->next = H.buckets;
	return H.buckets = b;
}

/* No bucket waits longer than wait_max, whatever it says: a webhook's own
 * host names the reset, and it may be anyone's. */
static double
wait_cap(double s)
{
	return s > H.wait_max ? H.wait_max : s;
}

/* Discord tells each answer's bucket, what is left of it and when it
 * refills: follow that rather than any number of our own. */
void
hook_ratelimit(struct hook *h, const struct http_resp *r, double now)
{
	char id[80], v[64];
	struct hook_bucket *b;

	if (!http_header(r, "X-RateLimit-Bucket", id, sizeof id))
		return;
	b = h->bucket = bucket_get(id);
	if (http_header(r, "X-RateLimit-Remaining", v, sizeof v))
		b->remaining = atoi(v);
	if (http_header(r, "X-RateLimit-Reset-After", v, sizeof v))
		b->reset_at = now + wait_cap(strtod(v, NULL));
}

double
hook_ready_at(struct hook *h, double now)
{
	struct hook_bucket *b = h->bucket;
	double t = h->next_at;

	if (b && b->remaining <= 0) {
		if (b->reset_at > now && b->reset_at > t)
			t = b->reset_at;
		else if (b->reset_at <= now)
			b->remaining = 1;	/* refilled; the next answer says by how much */
	}
	return t;
}

/* ---- dead webhooks ---- */

void
hook_dead_load(void)
{
	char p[1200], line[512];
	unsigned long long id;
	unsigned t;
	FILE *f = fopen(spool_path(p, sizeof p, "dead-hooks", ""), "r");

	keyset_free(&H.deadset);
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%llx %u", &id, &t) == 2)
			keyset_put(&H.deadset, id, t ? t : 1);
	if (f)
		fclose(f);
	for (struct hook *h = H.hooks; h; h = h->all)
		h->dead = keyset_get(&H.deadset, h->id) != 0;
}

void
hook_dead_add(const struct hook *h, const char *why)
{
	char p[1200];
	/* 0600 whatever the umask, as every state file */
	int fd = open(spool_path(p, sizeof p, "dead-hooks", ""),
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "a");
	unsigned t = (unsigned)clock_wall();

	keyset_put(&H.deadset, h->id, t);
	if (!f || fprintf(f, "%016llx %u %s %s\n", h->id, t, h->label, why) < 0 || fclose(f))
		log_fatal(EXIT_TEMP, "cannot append to %s: %s", p, strerror(errno));
}

size_t
hook_dead_count(void)
{
	return keyset_count(&H.deadset);
}
