/* redisq-pull: every killmail zKillboard publishes, once, in order.
 *
 * Walks zKillboard's R2Z2 sequence files (GET /ephemeral/{n}.json) from the
 * cursor kept in $STATE_DIR, or from /ephemeral/sequence.json the first
 * time, and writes each package as one compact JSON line on stdout.  At the
 * head (404) it waits at least R2Z2_HEAD_WAIT seconds and asks for the same
 * number again; a number missing below the head is skipped after a few
 * tries with a warning; after a long run of such skips it re-reads
 * sequence.json and jumps forward.  A package of the forward walk carrying
 * sequence_updated makes it fetch that older number once more; what a
 * package fetched again names is not followed, so a chain of such files
 * costs one request each and a cycle ends.  Killmails already written are
 * dropped (bounded memory), unless their zkb changed (a revision: a new
 * value or label), which goes on.  The cursor (the next number to fetch) is saved
 * atomically after each line.
 *
 * With --marks it writes commit marks (json/mark.h) among the packages,
 * every MARK_EVERY packages, every second and at the head, and starts from
 * the committed position $STATE_DIR/redisq-pull.commit, which the end of
 * the pipeline writes once everything below it has left the pipeline:
 * what was read past it and not yet finished is read again (the stages
 * after make that cheap: cached ESI answers, deduplicated posts).  The
 * marks carry the epoch in $STATE_DIR/pipeline.epoch as read at start.
 *
 * With REDISQ_URL set it speaks the legacy RedisQ long-poll protocol
 * instead, and normalises its packages to the R2Z2 shape.
 *
 * Exit: 0 at SIGTERM/SIGINT (after the current line) or, with --once, at
 * the head; 100 usage; 111 output closed or system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/hash.h"
#include "lib/line.h"
#include "lib/out.h"
#include "net/http.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/opt.h"
#include "json/mark.h"
#include "json/ndjson.h"
#include "lib/out.h"
#include "lib/sig.h"
#include "lib/state.h"

static const char usage_text[] =
    "usage: redisq-pull [-hVvq] [-1] [-m] [-f SEQ] [-s DIR] > packages\n"
    "\n"
    "Pulls every killmail zKillboard publishes (R2Z2; RedisQ with REDISQ_URL).\n"
    "  -1, --once           stop at the head instead of waiting for more\n"
    "  -m, --marks          write commit marks; start at the committed position\n"
    "  -f, --from SEQ       start at sequence number SEQ, not at the cursor\n"
    "  -s, --state-dir DIR  where the cursor is kept (STATE_DIR, var)\n"
    "  -h, --help           this help, on stdout\n"
    "  -V, --version        the version\n"
    "  -v, --verbose        log more (debug lines); -q, --quiet: log less\n";

/* A mark after this many packages at most, and after a second. */
#define MARK_EVERY 64
#define MARK_SECONDS 1.0

struct opts {
	const char *from, *state_dir;
	int once, marks;
};

/* A bounded set of killmail ids: two generations of tables; when the
 * young one holds DEDUPE_N / 2 ids the old one is emptied and becomes the
 * young one, so memory stays fixed and the last DEDUPE_N / 2 ids at least
 * are always remembered. */
#define DEDUPE_N 65536
struct dedupe {
	struct hash gen[2];	/* integer keys: ids > 0 */
};

struct puller {
	struct http *http;
	int sigfd, stop;
	const char *base, *redisq, *cursor_path;
	long long next, head;		/* next number to fetch; best known head */
	int tries, skipped_run;
	long long refetch[64];		/* sequence_updated numbers to fetch again */
	int nrefetch;
	double head_wait, min_gap, last_req;
	int missing_tries, resync_after;
	struct backoff err, ban;
	struct dedupe seen;
	struct http_resp resp;		/* last answer; body owned here */
	int done, once;
	int marks, unmarked;		/* --marks; packages since the last mark */
	long long epoch, marked;	/* of the marks; the position marked last */
	double mark_t;			/* mono time of the last mark */
	char commit_path[4096], epoch_path[4096];
	char host[256];			/* of the base URL, for warnings */
	/* metrics: how far behind the head, and what it cost */
	unsigned long written, dups, revised, requests, failed, limited;
	double lag_seq, lag_sec, head_g, next_g, uploaded, head_every, head_at;
	double failing_since;		/* wall time the failures began; 0: none */
	int at_head;			/* the last answer was the head's 404 */
};

/* What dedupe_check found: a killmail new, written already as it is, or
 * written with another zkb (a revision zKillboard republished). */
enum { DEDUPE_NEW, DEDUPE_SAME, DEDUPE_REVISED };

/* Was id written, and with the zkb of fingerprint fp?  Remembers fp. */
static int
dedupe_check(struct dedupe *d, long long id, uint64_t fp)
{
	void *item = HASH_INT(fp | 1);	/* never NULL */
	void *y = hash_get_int(&d->gen[0], (uint64_t)id);
	void *o = y ? y : hash_get_int(&d->gen[1], (uint64_t)id);

	if (o == item)
		return DEDUPE_SAME;
	if (y) {
		hash_put_int(&d->gen[0], (uint64_t)id, item);
		return DEDUPE_REVISED;
	}
	if (d->gen[0].n >= DEDUPE_N / 2) {
		struct hash old = d->gen[1];

		d->gen[1] = d->gen[0];
		d->gen[0] = old;
		hash_clear(&d->gen[0]);
	}
	hash_put_int(&d->gen[0], (uint64_t)id, item);
	return o ? DEDUPE_REVISED : DEDUPE_NEW;
}

/* The fingerprint of a package's zkb (value, labels, ...): what a
 * revision changes. */
static uint64_t
zkb_print(json_t *pkg)
{
	char *z = json_dumps(json_object_get(pkg, "zkb"), JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY);
	uint64_t h = hash_fnv1a(z ? z : "", z ? strlen(z) : 0);

	free(z);
	return h;
}

static void
on_signals(struct puller *p)
{
	int s;

	while ((s = sig_take(p->sigfd)))
		if (s == SIGTERM || s == SIGINT)
			p->stop = 1;
}

/* The gauges of the lag, then the metrics file if it is due.  At the head
 * nothing is behind; else the age of the last package written grows while
 * nothing comes (an unreachable server shows as a growing lag). */
static void
tick(struct puller *p)
{
	p->head_g = p->head;
	p->next_g = p->next;
	p->lag_seq = p->head > p->next ? p->head - p->next : 0;
	p->lag_sec = p->at_head || p->uploaded <= 0 ? 0 : clock_wall() - p->uploaded;
	if (p->lag_sec < 0)
		p->lag_sec = 0;
	metrics_tick();
}

/* Sleep until mono time t, awake for signals; 0, or -1 when told to stop. */
static int
pause_until(struct puller *p, double t)
{
	struct curl_waitfd w = { .fd = p->sigfd, .events = CURL_WAIT_POLLIN };
	double now;

	while (!p->stop && (now = clock_mono()) < t) {
		http_wait(p->http, &w, 1, metrics_wait_ms((int)((t - now) * 1000) + 1));
		on_signals(p);
		tick(p);
	}
	return p->stop ? -1 : 0;
}

static void
on_done(void *arg, struct http_resp *r)
{
	struct puller *p = arg;

	free(p->resp.body);
	p->resp = *r;
	r->body = NULL;		/* taken */
	p->resp.hdrs = NULL;
	p->resp.url = NULL;
	p->done = 1;
}

/* One GET, paced under the request-rate cap; -1 when told to stop. */
static int
fetch(struct puller *p, const char *url)
{
	struct curl_waitfd w = { .fd = p->sigfd, .events = CURL_WAIT_POLLIN };
	char shown[256];

	if (pause_until(p, p->last_req + p->min_gap) < 0)
		return -1;
	p->last_req = clock_mono();
	p->done = 0;
	p->requests++;
	log_debug("GET %s", log_url(url, shown, sizeof shown));
	http_request(p->http, "GET", url, NULL, 0, NULL, on_done, p);
	while (!p->done) {
		if (http_wait(p->http, &w, 1, metrics_wait_ms(1000)) < 0)
			log_fatal(EXIT_TEMP, "curl multi failed");
		on_signals(p);
		tick(p);
		if (p->stop)
			return -1;	/* the answer is not ours to write any more */
	}
	return 0;
}

static void
cursor_save(struct puller *p)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", p->cursor_path);
	if (!(f = state_create(tmp)))
		log_fatal(EXIT_TEMP, "cannot write cursor path=%s: %s", tmp, strerror(errno));
	fprintf(f, "%lld\n", p->next);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, p->cursor_path))
		log_fatal(EXIT_TEMP, "cannot save cursor path=%s: %s", p->cursor_path,
		    strerror(errno));
}

/* The saved next number, or -1 (missing, or corrupt: then a warning). */
static long long
cursor_load(struct puller *p)
{
	char b[64], *end;
	long long n;
	FILE *f;

	state_private(p->cursor_path);
	if (!(f = fopen(p->cursor_path, "r"))) {
		if (errno != ENOENT)
			log_warn("cannot read cursor path=%s: %s", p->cursor_path, strerror(errno));
		return -1;
	}
	b[0] = 0;
	if (!fgets(b, sizeof b, f))
		b[0] = 0;
	fclose(f);
	n = strtoll(b, &end, 10);
	if (end == b || (*end && *end != '\n') || n < 0) {
		log_warn("corrupt cursor ignored, starting from sequence.json path=%s",
		    p->cursor_path);
		return -1;
	}
	return n;
}

/* The position below which every package has been written: the next
 * number, or an older one that sequence_updated will fetch again. */
static long long
position(const struct puller *p)
{
	long long pos = p->next;

	for (int i = 0; i < p->nrefetch; i++)
		if (p->refetch[i] < pos)
			pos = p->refetch[i];
	return pos;
}

/* A mark when MARK_EVERY packages or MARK_SECONDS went by since the last;
 * at the head (force) whenever the position moved, and every MARK_SECONDS
 * even when it did not: a mark dropped on the way (a spliced stage, a
 * stage restarted) is then made good without a new package. */
static void
mark_out(struct puller *p, int force)
{
	struct mark m = { position(p), p->epoch };
	char line[96];
	double now = clock_mono();

	if (!p->marks)
		return;
	if (force ? m.seq == p->marked && now - p->mark_t < MARK_SECONDS :
	    m.seq == p->marked || (p->unmarked < MARK_EVERY && now - p->mark_t < MARK_SECONDS))
		return;
	out_put(line, mark_line(line, sizeof line, &m));
	out_flush();
	p->marked = m.seq;
	p->unmarked = 0;
	p->mark_t = now;
}

/* Waits and warnings for the answers that are not 200 or 404; -1 to stop. */
static int
wait_after_failure(struct puller *p)
{
	struct http_resp *r = &p->resp;
	double d;

	p->at_head = 0;		/* no longer known */
	if (r->class != HTTP_LIMITED)
		p->failed++;
	if (!p->failing_since)
		p->failing_since = clock_wall();
	switch (r->class) {
	case HTTP_LIMITED:
		p->limited++;
		d = r->retry_after >= 0 ? r->retry_after : 10 + 10.0 * random() / RAND_MAX;
		log_warn("rate limited, waiting host=%s status=%ld seconds=%.1f", p->host,
		    r->status, d);
		/* Rounded up: the server counts whole seconds. */
		return pause_until(p, clock_mono() + d + 0.05);
	case HTTP_FORBIDDEN:
		d = backoff_next(&p->ban);
		log_warn("FORBIDDEN by zKillboard (banned? check USER_AGENT and request rate), "
		    "backing off host=%s status=%ld seconds=%.0f", p->host, r->status, d);
		return pause_until(p, clock_mono() + d);
	default:
		d = backoff_next(&p->err);
		log_warn("%s %s, retrying status=%ld class=%s error=\"%s\" seconds=%.1f",
		    r->class == HTTP_NET ? "cannot reach" : "request failed at", p->host,
		    r->status, http_class_name(r->class), r->error ? r->error : "", d);
		return pause_until(p, clock_mono() + d);
	}
}

/* Read sequence.json into p->head, retrying until it answers; -1 when stopped. */
static int
read_head(struct puller *p)
{
	char url[2048];
	json_t *j;
	json_int_t n;

	snprintf(url, sizeof url, "%s/ephemeral/sequence.json", p->base);
	for (;;) {
		if (fetch(p, url) < 0)
			return -1;
		if (p->resp.class != HTTP_OK) {
			if (wait_after_failure(p) < 0)
				return -1;
			continue;
		}
		j = json_loads(p->resp.body, 0, NULL);
		n = json_integer_value(json_object_get(j, "sequence"));
		json_decref(j);
		if (n > 0)
			break;
		log_warn("sequence.json without a sequence number");
		if (pause_until(p, clock_mono() + backoff_next(&p->err)) < 0)
			return -1;
	}
	backoff_reset(&p->err);
	backoff_reset(&p->ban);
	if (n > p->head)
		p->head = n;
	return 0;
}

/* Write a package unless its killmail was written already, or it is not
 * one the next stages can read: an id that is not a positive integer, or a
 * line over the limit every reader has (lib/line.h). */
static void
emit(struct puller *p, json_t *pkg, long long seq)
{
	static struct buf line;	/* reused: one allocation for the whole run */
	json_t *idv = json_object_get(pkg, "killmail_id");
	json_int_t id = json_integer_value(idv);

	if (!json_is_integer(idv) || id <= 0) {
		log_warn("package skipped: killmail_id is not a positive integer sequence=%lld", seq);
		return;
	}
	line.len = 0;
	ndjson_dump(&line, pkg);
	if (line.len > LINE_MAX_DEFAULT) {
		log_warn("package skipped: its line is over the limit killmail_id=%lld "
		    "sequence=%lld bytes=%zu max=%u", (long long)id, seq, line.len,
		    LINE_MAX_DEFAULT);
		return;
	}
	switch (dedupe_check(&p->seen, id, zkb_print(pkg))) {
	case DEDUPE_SAME:
		p->dups++;
		log_info("duplicate killmail dropped killmail_id=%lld sequence=%lld",
		    (long long)id, seq);
		return;
	case DEDUPE_REVISED:
		p->revised++;
		log_info("revised killmail passed on killmail_id=%lld sequence=%lld",
		    (long long)id, seq);
		break;
	}
	log_trace("out", (long long)id, NULL);
	buf_addc(&line, '\n');
	out_put(line.p, line.len);
	out_flush();
	p->unmarked++;
	p->written++;
}

/* When a package was published: uploaded_at, else its killmail's time. */
static double
package_time(json_t *pkg)
{
	json_t *u = json_object_get(pkg, "uploaded_at");
	const char *kt = json_string_value(json_object_get(
	    json_object_get(pkg, "esi"), "killmail_time"));
	struct tm tm = { 0 };

	if (json_is_number(u))
		return json_number_value(u);
	if (kt && strptime(kt, "%Y-%m-%dT%H:%M:%S", &tm))
		return (double)timegm(&tm);
	return clock_wall();
}

/* sequence.json once, without retrying: the head grows while we walk to it,
 * and the lag is measured against it. */
static void
peek_head(struct puller *p)
{
	char url[2048];
	json_t *j;
	json_int_t n;

	p->head_at = clock_mono() + p->head_every;
	snprintf(url, sizeof url, "%s/ephemeral/sequence.json", p->base);
	if (fetch(p, url) < 0 || p->resp.class != HTTP_OK)
		return;
	j = json_loads(p->resp.body, 0, NULL);
	n = json_integer_value(json_object_get(j, "sequence"));
	json_decref(j);
	if (n > p->head)
		p->head = n;
}

/* again: seq was fetched once more, for a sequence_updated. */
static void
take_package(struct puller *p, long long seq, int again)
{
	json_t *pkg = ndjson_parse(p->resp.body, p->resp.len, (unsigned long)seq);
	json_int_t upd;

	if (!pkg)
		return;		/* warned; a broken file is skipped like a missing one */
	emit(p, pkg, seq);
	p->uploaded = package_time(pkg);
	upd = json_integer_value(json_object_get(pkg, "sequence_updated"));
	/* Only the forward walk sends us back: each rewrite is announced by a
	 * newer file, and following what a refetched file names would walk a
	 * chain N -> N-1 -> ... again from every link (quadratic) and two
	 * files naming each other forever. */
	if (!again && upd > 0 && upd < seq && p->nrefetch < 64)
		p->refetch[p->nrefetch++] = upd;
	if (seq > p->head)
		p->head = seq;
	json_decref(pkg);
}

static void
skip_missing(struct puller *p)
{
	log_warn("missing file below the head skipped sequence=%lld tries=%d",
	    p->next, p->tries);
	p->next++;
	p->tries = 0;
	cursor_save(p);
	if (++p->skipped_run < p->resync_after)
		return;
	/* Files live about a day: a long run of holes means we fell behind. */
	p->skipped_run = 0;
	if (read_head(p) == 0 && p->head > p->next) {
		log_warn("resync: jumping forward from=%lld to=%lld skipped=%lld",
		    p->next, p->head, p->head - p->next);
		p->next = p->head;
		cursor_save(p);
	}
}

/* A 404: the head (wait, same number) or a hole below it (skip). */
static int
on_missing(struct puller *p)
{
	p->tries++;
	p->at_head = p->next >= p->head;
	if (p->next >= p->head && (p->tries >= p->missing_tries || p->once))
		if (read_head(p) < 0)
			return -1;
	if (p->next < p->head && p->tries >= p->missing_tries) {
		skip_missing(p);
		return 0;
	}
	mark_out(p, 1);
	if (p->once && p->next >= p->head)
		return -1;	/* at the head: --once is done */
	return pause_until(p, clock_mono() + p->head_wait);
}

static int
step_r2z2(struct puller *p)
{
	char url[2048];
	long long seq;
	int again;

	if (!p->once && clock_mono() >= p->head_at)
		peek_head(p);
	if (p->stop)
		return -1;
	seq = p->nrefetch ? p->refetch[--p->nrefetch] : p->next;
	again = seq != p->next;
	snprintf(url, sizeof url, "%s/ephemeral/%lld.json", p->base, seq);
	if (fetch(p, url) < 0)
		return -1;
	if (p->resp.class == HTTP_OK || p->resp.class == HTTP_NOTFOUND)
		p->failing_since = 0;	/* it answers */
	if (p->resp.class == HTTP_OK) {
		backoff_reset(&p->err);
		backoff_reset(&p->ban);
		p->at_head = 0;
		take_package(p, seq, again);
		if (!again) {
			p->next++;
			p->tries = p->skipped_run = 0;
			cursor_save(p);
		}
		mark_out(p, 0);
		return 0;
	}
	if (again && p->resp.class == HTTP_NOTFOUND)
		return 0;	/* the rewritten file is gone again: nothing to add */
	if (again)
		p->refetch[p->nrefetch++] = seq;
	if (p->resp.class == HTTP_NOTFOUND)
		return on_missing(p);
	return wait_after_failure(p);
}

static int
start_r2z2(struct puller *p, const struct opts *o)
{
	char *end;

	if (o->from) {
		p->next = strtoll(o->from, &end, 10);
		if (end == o->from || *end || p->next < 0)
			opt_usage(usage_text);
	} else if (p->marks && (p->next = mark_file_read(p->commit_path)) >= 0) {
		long long read = cursor_load(p);

		log_info("starting at the committed position sequence=%lld read=%lld again=%lld",
		    p->next, read, read > p->next ? read - p->next : 0);
	} else if ((p->next = cursor_load(p)) < 0) {
		if (read_head(p) < 0)
			return -1;
		p->next = p->head;
		log_info("no cursor, starting at sequence.json sequence=%lld", p->next);
	}
	return 0;
}

/* RedisQ {"package":{"killID","killmail"?,"zkb"}} in the R2Z2 shape. */
static json_t *
normalise(json_t *pkg)
{
	json_t *zkb = json_object_get(pkg, "zkb"), *esi = json_object_get(pkg, "killmail");
	json_t *out = json_object();

	json_object_set(out, "killmail_id", json_object_get(pkg, "killID"));
	json_object_set(out, "hash", json_object_get(zkb, "hash"));
	if (esi)
		json_object_set(out, "esi", esi);
	if (zkb)
		json_object_set(out, "zkb", zkb);
	json_object_set_new(out, "uploaded_at", json_integer((json_int_t)clock_wall()));
	json_object_set_new(out, "sequence_id", json_null());
	return out;
}

static int
step_redisq(struct puller *p, const char *url)
{
	json_t *j, *pkg, *out;

	if (fetch(p, url) < 0)
		return -1;
	if (p->resp.class != HTTP_OK)
		return wait_after_failure(p);
	backoff_reset(&p->err);
	backoff_reset(&p->ban);
	if (!(j = ndjson_parse(p->resp.body, p->resp.len, 0)))
		return pause_until(p, clock_mono() + backoff_next(&p->err));
	pkg = json_object_get(j, "package");
	p->at_head = !json_is_object(pkg);
	if (json_is_object(pkg)) {
		out = normalise(pkg);
		emit(p, out, 0);
		p->uploaded = package_time(out);
		json_decref(out);
	} else if (p->once) {
		p->stop = 1;	/* nothing waiting: --once is done */
	}
	json_decref(j);
	return p->stop ? -1 : 0;
}

static void
metrics_setup(struct puller *p)
{
	metrics_init();
	metrics_counter("lines_out", NULL, &p->written, "packages written");
	metrics_counter("duplicates", NULL, &p->dups, "killmails dropped as written already");
	metrics_counter("revised", NULL, &p->revised,
	    "killmails written again with a new zkb (value, labels)");
	metrics_counter("requests", NULL, &p->requests, "HTTP requests to zKillboard");
	metrics_counter("request_errors", NULL, &p->failed,
	    "requests that failed (network, 5xx, 403)");
	metrics_counter("rate_limited", NULL, &p->limited, "429 answers");
	metrics_gauge("head_sequence", NULL, &p->head_g, "the head as last known");
	metrics_gauge("next_sequence", NULL, &p->next_g, "the next number to fetch");
	metrics_gauge("lag_sequences", NULL, &p->lag_seq, "numbers behind the head");
	metrics_gauge("failing_since_seconds", NULL, &p->failing_since,
	    "when its requests began to fail (unix time), 0 while they succeed");
	metrics_gauge("lag_seconds", NULL, &p->lag_sec,
	    "age of the last package written (0 at the head)");
}

static void
setup(struct puller *p, const struct opts *o)
{
	static char path[4096];
	const char *dir = conf_str(o->state_dir, "STATE_DIR", "var");
	struct http_opts ho = { .useragent = conf_useragent(),
		.timeout_ms = conf_num(NULL, "R2Z2_TIMEOUT", 30) * 1000,
		.max_host_conns = 2, .follow = 1 };
	double rate;

	p->sigfd = sig_init(0);
	p->http = http_new(&ho);
	p->base = conf_str(NULL, "R2Z2_URL", "https://r2z2.zkillboard.com");
	p->redisq = conf_str(NULL, "REDISQ_URL", NULL);
	p->head_wait = conf_num(NULL, "R2Z2_HEAD_WAIT", 6);
	rate = conf_num(NULL, "R2Z2_RATE", p->redisq ? 2 : 10);
	p->min_gap = rate > 0 ? 1 / rate : 0;	/* 0: no cap (tests, mirrors) */
	p->missing_tries = conf_long(NULL, "R2Z2_MISSING_TRIES", 3);
	p->resync_after = conf_long(NULL, "R2Z2_RESYNC_AFTER", 10);
	p->once = o->once;
	p->last_req = -1e9;
	p->head_every = conf_num(NULL, "R2Z2_HEAD_EVERY", 60);
	log_host(p->redisq ? p->redisq : p->base, p->host, sizeof p->host);
	backoff_init(&p->err, conf_num(NULL, "R2Z2_BACKOFF", 1), 60);
	backoff_init(&p->ban, conf_num(NULL, "R2Z2_BAN_WAIT", 300), 3600);
	state_dir(dir);
	snprintf(path, sizeof path, "%s/redisq-pull.cursor", dir);
	p->cursor_path = path;
	p->marks = o->marks;
	p->marked = -1;
	snprintf(p->commit_path, sizeof p->commit_path, "%s/redisq-pull.commit", dir);
	snprintf(p->epoch_path, sizeof p->epoch_path, "%s/pipeline.epoch", dir);
	if (p->marks && (p->epoch = mark_file_read(p->epoch_path)) < 0)
		p->epoch = 0;
	srandom(getpid() ^ (unsigned)clock_mono());
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "once", no_argument, NULL, '1' },
		{ "marks", no_argument, NULL, 'm' },
		{ "from", required_argument, NULL, 'f' },
		{ "state-dir", required_argument, NULL, 's' },
		OPT_LONG, { 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "1mf:s:" OPT_SHORT, lo, NULL)) != -1)
		switch (c) {
		case '1': o->once = 1; break;
		case 'm': o->marks = 1; break;
		case 'f': o->from = optarg; break;
		case 's': o->state_dir = optarg; break;
		default: opt_common(c, usage_text);
		}
	if (optind != argc)
		opt_usage(usage_text);
}

int
main(int argc, char **argv)
{
	static struct puller p;
	struct opts o = { 0 };
	char url[2048];

	log_init(argv[0]);
	parse_opts(argc, argv, &o);
	setup(&p, &o);
	metrics_setup(&p);
	if (p.redisq) {
		snprintf(url, sizeof url, "%s%squeueID=%s&ttw=%ld", p.redisq,
		    strchr(p.redisq, '?') ? "&" : "?",
		    conf_str(NULL, "REDISQ_QUEUE", "insightcore-c"),
		    conf_long(NULL, "REDISQ_TTW", 10));
		while (step_redisq(&p, url) == 0)
			;
	} else if (start_r2z2(&p, &o) == 0) {
		while (step_r2z2(&p) == 0)
			;
	}
	if (p.stop || p.once)
		log_info("stopping next=%lld", p.next);
	tick(&p);
	metrics_close();
	free(p.resp.body);
	hash_free(&p.seen.gen[0]);
	hash_free(&p.seen.gen[1]);
	http_free(p.http);
	return EXIT_DONE;
}
