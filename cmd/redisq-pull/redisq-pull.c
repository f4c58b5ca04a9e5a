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
 *
 * Here: options, setup and the RedisQ long-poll.  The requests and their
 * waits are puller.c, the R2Z2 walk with its cursor and marks r2z2.c, what
 * is written (once) emit.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/opt.h"
#include "lib/sig.h"
#include "lib/state.h"
#include "json/mark.h"
#include "json/ndjson.h"
#include "emit.h"
#include "puller.h"
#include "r2z2.h"

static const char usage_text[] =
    "usage: redisq-pull [-hVvq] [-1] [--marks] [-f SEQ] [-s DIR] > packages\n"
    "\n"
    "Pulls every killmail zKillboard publishes (R2Z2; RedisQ with REDISQ_URL).\n"
    "  -1, --once           stop at the head instead of waiting for more\n"
    "      --marks          write commit marks; start at the committed position\n"
    "  -f, --from SEQ       start at sequence number SEQ, not at the cursor\n"
    "  -s, --state-dir DIR  where the cursor is kept (STATE_DIR, var)\n"
    "  -h, --help           this help, on stdout\n"
    "  -V, --version        the version\n"
    "  -v, --verbose        log more (debug lines); -q, --quiet: log less\n";

struct opts {
	const char *from, *state_dir;
	int once, marks;
};

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

	if (puller_fetch(p, url) < 0)
		return -1;
	if (p->resp.class != HTTP_OK)
		return puller_failed(p);
	backoff_reset(&p->err);
	backoff_reset(&p->ban);
	if (!(j = ndjson_parse(p->resp.body, p->resp.len, 0)))
		return puller_pause(p, clock_mono() + backoff_next(&p->err));
	pkg = json_object_get(j, "package");
	p->at_head = !json_is_object(pkg);
	if (json_is_object(pkg)) {
		out = normalise(pkg);
		emit(p, out, 0);
		p->uploaded = emit_time(out);
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

	while ((c = getopt_long(argc, argv, "1f:s:" OPT_SHORT, lo, NULL)) != -1)
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

/* The sequence number of --from, or -1 without it; a bad one is a usage
 * error. */
static long long
from_seq(const char *from)
{
	char *end;
	long long n;

	if (!from)
		return -1;
	n = strtoll(from, &end, 10);
	if (end == from || *end || n < 0)
		opt_usage(usage_text);
	return n;
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
	} else if (r2z2_start(&p, from_seq(o.from)) == 0) {
		while (r2z2_step(&p) == 0)
			;
	}
	if (p.stop || p.once)
		log_info("stopping next=%lld", p.next);
	puller_tick(&p);
	metrics_close();
	free(p.resp.body);
	emit_free(&p.seen);
	http_free(p.http);
	return EXIT_DONE;
}
