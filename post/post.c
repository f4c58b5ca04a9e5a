/* post: the engine of the posters (see post.h): the loop, signals and
 * options.  Its parts: accepting pairs (accept.c), sending and answers
 * (send.c), receipts and dead letters (letter.c), the spool and its files
 * (spool.c), dedupe (dedupe.c), the webhooks with their queues, rate
 * limits and dead-hooks (hook.c).  State under
 * $STATE_DIR/<platform>/:
 *
 *   spool/<name>.ndjson a segment: the posts accepted in one turn of the
 *                       loop, one {"target","stream","killmail_id",
 *                       "accepted","body"} a line (body last), then a
 *                       {"done":N} line for the Nth post (from 0) once the
 *                       platform has answered it
 *   spool/<name>.json   one post put back by hand (a dead letter, or a spool
 *                       file of an older version): the replay makes it a
 *                       segment of its own, <name>.ndjson; a post with
 *                       "edit":"<message id>" (before its body) is an edit
 *                       of that message (a revised killmail), sent as PATCH
 *   dead/<name>.json    {"status","reason","http","attempts","time","post"}
 *   dedupe              "<unix time> <key> <fingerprint>" per accepted post,
 *                       key = hash of (webhook URL, killmail_id), the
 *                       fingerprint a hash of what zKillboard says of the
 *                       kill (dedupe.h; a different one is a revision);
 *                       compacted as it grows
 *   dead-hooks          "<webhook hash> <unix time> <label> <reason>" per dead
 *                       webhook
 *   messages            Discord: the messages made, their ids and bodies,
 *                       for the edits of revised killmails (sent.h)
 *
 * Ordering of the durable steps, and why (kill -9 may land anywhere):
 * accept = write the turn's posts to a new segment (a temporary file, ONE
 * fdatasync, a rename, one fsync of the directory), then append their
 * dedupe keys (one fdatasync), then queue them: a crash before the rename
 * loses the lines of that turn (read from the pipe, not yet spooled), a
 * crash after it leaves the segment, and the replay re-adds its keys.
 * Answer = append a done line to the segment, or unlink the segment with
 * its last post; these are synced together (spool_sync) before the next
 * request of any webhook is sent, so a power cut brings back no answered
 * post but the ones answered in the last turn, at most one per webhook.
 * Until then the post is pending and is replayed at start; a done line cut
 * short by the kill is dropped.  The one window left is a request the
 * platform took whose answer we never read; the replay then posts it a
 * second time.  With one request in flight per webhook it is at most one
 * post per webhook.
 *
 * Commit marks (json/mark.h) pass like any line that is not a pair, and
 * like them go out after the turn's posts are spooled.  With -C the poster
 * is the end of the pipeline: the newest mark of a turn whose epoch is the
 * pipeline's ($STATE_DIR/pipeline.epoch, read for each) is written to
 * $STATE_DIR/redisq-pull.commit after the turn's posts and their dedupe
 * keys are durable, where redisq-pull starts from.
 *
 * Memory: a queued post is a small job (where its line is, the stream and
 * killmail for its receipt); its body is read back from the segment when it
 * is sent, so a long queue costs page cache rather than heap. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <getopt.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "lib/opt.h"
#include "lib/sig.h"
#include "json/mark.h"
#include "post/dedupe.h"
#include "post/engine.h"
#include "post/fold.h"
#include "post/sent.h"
#include "post/spool.h"

#define BATCH 256		/* input pairs per turn (a bundle's count one
				 * each): one segment, one fdatasync */
#define TURN_BYTES (512 << 10)	/* ...or fewer: what a turn holds in memory */

struct engine engine;

/* ---- the loop ---- */

static struct line_reader lr;

static int
turn_full(void)
{
	return spool_pending() + engine.out.len >= TURN_BYTES;
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

/* -C: the turn's mark, once its posts are spooled, unless a stage died
 * since it was written (the epoch moved on: what it covered may be lost,
 * and redisq-pull reads it again). */
static void
commit(void)
{
	char path[1200];
	long long epoch;

	if (!engine.marked || engine.mark.seq == engine.committed)
		return;		/* none, or the same again (redisq-pull at the head) */
	engine.marked = 0;
	snprintf(path, sizeof path, "%s/pipeline.epoch", engine.c->state_dir);
	if ((epoch = mark_file_read(path)) < 0)
		epoch = 0;
	if (epoch != engine.mark.epoch) {
		log_debug("mark of an older epoch not committed sequence=%lld epoch=%lld now=%lld",
		    engine.mark.seq, engine.mark.epoch, epoch);
		return;
	}
	snprintf(path, sizeof path, "%s/redisq-pull.commit", engine.c->state_dir);
	if (mark_file_write(path, engine.mark.seq) < 0)
		log_fatal(EXIT_TEMP, "cannot write path=%s: %s", path, strerror(errno));
	engine.committed = engine.mark.seq;
	log_debug("committed sequence=%lld", engine.mark.seq);
}

/* Up to BATCH pairs per turn, so that answers and sends keep flowing; the
 * posts of the turn are spooled together. */
static void
read_input(int readable)
{
	char *line;
	size_t len, k = 0;
	int r = 0;

	if (readable && !engine.pending)
		fill();
	while (k < BATCH && (!k || !turn_full()))
		if ((r = line_next(&lr, &line, &len)) == 1) {
			k += len ? accept_line(line, len, lr.lineno) : 1;
		} else if (r < 0 || !more())
			break;
	accept_commit(NULL);
	commit();
	engine.pending = r == 1 && (k >= BATCH || turn_full());
	if (r < 0) {
		engine.reading = 0;
		log_info("end of input, draining queued=%ld", hook_queued());
	}
}

static void
on_signal(void)
{
	int s;

	while ((s = sig_take(engine.sigfd)))
		if (s == SIGHUP) {
			log_info("SIGHUP: reloading dead-hooks, requeueing spool");
			hook_dead_load();
			accept_replay();
		} else if (!engine.stopping) {
			/* Stop reading at a line boundary; what is queued stays
			 * in the spool for the next start. */
			engine.stopping = 1;
			engine.reading = 0;
			engine.deadline = clock_mono() + engine.c->grace;
			log_info("stopping inflight=%d queued=%ld", http_inflight(engine.http), hook_queued());
		}
}

/* jansson's allocations too are checked: out of memory is fatal (mem.h). */
static void *
json_mem(size_t n)
{
	return mem_calloc(1, n);
}

/* Posts queued per webhook, named as the logs name it (never the token). */
static void
put_queues(FILE *f, void *arg)
{
	(void)arg;
	for (struct hook *h = hook_all(); h; h = h->all)
		metrics_line(f, "queue", "webhook", h->label, h->queued);
}

static void
put_dead(FILE *f, void *arg)
{
	(void)arg;
	metrics_line(f, "dead_webhooks", NULL, NULL, hook_dead_count());
}

static void
put_k2p(FILE *f, void *arg)
{
	(void)arg;
	metrics_line(f, "kill_to_post_seconds_sum", NULL, NULL, engine.k2p_sum);
	metrics_line(f, "kill_to_post_seconds_count", NULL, NULL, engine.k2p_n);
}

static void
metrics_setup(void)
{
	metrics_init();
	metrics_counter("lines_in", NULL, &lr.lineno, "lines read");
	metrics_counter("posted", NULL, &engine.posted, "posts delivered");
	metrics_counter("rate_limited", NULL, &engine.limited, "429 answers");
	metrics_counter("retried", NULL, &engine.retried, "posts sent again after a failure");
	metrics_counter("dead_lettered", NULL, &engine.dead,
	    "posts to a dead webhook, put in dead/");
	metrics_counter("rejected", NULL, &engine.rejected,
	    "posts refused (by us or the platform)");
	metrics_counter("expired", NULL, &engine.expired, "posts given up after their attempts");
	metrics_counter("duplicates", NULL, &engine.dup, "posts dropped by the dedupe window");
	metrics_counter("revised", NULL, &engine.revised,
	    "revised killmails whose message is queued for an edit");
	metrics_counter("edited", NULL, &engine.edited,
	    "messages edited for a revised killmail or a fight");
	metrics_counter("folded", NULL, &engine.folded, "kills folded into a fight's message");
	metrics_gauge("kill_to_post_last_seconds", NULL, &engine.k2p_last,
	    "from the last posted kill to its post");
	metrics_custom("kill_to_post_seconds", "summary",
	    "from a kill (the mail's time) to its post", put_k2p, NULL);
	metrics_custom("queue", "gauge", "posts queued per webhook", put_queues, NULL);
	metrics_custom("dead_webhooks", "gauge", "webhooks found gone (dead-hooks)",
	    put_dead, NULL);
}

static void
setup(const struct post_platform *pf, const struct post_conf *c)
{
	struct http_opts o = { 0 };

	json_set_alloc_funcs(json_mem, free);
	engine.pf = pf;
	engine.c = c;
	hook_init(c->backoff, c->backoff_max, c->wait_max, pf->hosts);
	snprintf(engine.dir, sizeof engine.dir, "%s/%s", c->state_dir, pf->name);
	spool_open(engine.dir);
	o.useragent = conf_useragent();
	o.timeout_ms = c->timeout_ms;
	o.max_host_conns = c->parallel;
	engine.http = http_new(&o);
	engine.sigfd = sig_init(0);
	engine.reading = 1;
	engine.committed = -1;
	line_init(&lr, 0, 0);
	metrics_setup();
	dedupe_open(c->window);
	if (pf->edit)
		sent_open(c->window);
	fold_open(pf->edit != NULL);
	hook_dead_load();
	spool_clean();
	accept_replay();
	log_info("started state=%s queued=%ld dedupe=%zu dead_hooks=%zu",
	    engine.dir, hook_queued(), dedupe_count(), hook_dead_count());
}

static int
finished(double now)
{
	if (engine.stopping)
		return http_inflight(engine.http) == 0 || now >= engine.deadline;
	return !engine.reading && !engine.pending && hook_queued() == 0 && http_inflight(engine.http) == 0;
}

/* Poll stdin (unless stopping or too much is queued), signals and curl. */
static void
turn(double wait)
{
	struct curl_waitfd fd[2] = { { engine.sigfd, CURL_WAIT_POLLIN, 0 },
		{ 0, CURL_WAIT_POLLIN, 0 } };
	int rd = engine.reading;
	int ms = engine.pending && rd ? 0 : (int)(wait * 1000) + 1;

	letter_flush();
	if (engine.stopping && (engine.deadline - clock_mono()) * 1000 + 1 < ms)
		ms = (int)((engine.deadline - clock_mono()) * 1000) + 1;
	if (http_wait(engine.http, fd, rd && !engine.pending ? 2 : 1,
	    metrics_wait_ms(ms < 0 ? 0 : ms)) < 0)
		log_fatal(EXIT_TEMP, "curl multi failed");
	metrics_tick();
	if (fd[0].revents)
		on_signal();
	if (rd && (engine.pending || fd[1].revents))
		read_input(fd[1].revents != 0);
}

int
post_run(const struct post_platform *pf, const struct post_conf *c)
{
	double wait;

	setup(pf, c);
	for (;;) {
		if (!engine.stopping && !c->dry_run)
			accept_folds();
		wait = send_schedule(clock_mono());
		if (finished(clock_mono()))
			break;
		turn(wait);
	}
	letter_flush();
	log_info("done posted=%lu limited=%lu retried=%lu dead=%lu rejected=%lu "
	    "expired=%lu duplicate=%lu left=%ld invalid=%ld queued_max=%ld malformed=%lu",
	    engine.posted, engine.limited, engine.retried, engine.dead, engine.rejected,
	    engine.expired, engine.dup, hook_queued(), engine.invalid, hook_queued_max(),
	    engine.malformed);
	metrics_close();
	if (!http_inflight(engine.http))
		http_free(engine.http);
	dedupe_close();
	sent_close();
	fold_close();
	line_free(&lr);
	accept_free();
	return EXIT_DONE;
}

/* %1$s is the tool's name. */
static const char usage_fmt[] =
    "usage: %1$s [-hVvqCn] [-s DIR] [-p N] [-a N] [-b SECONDS] [-B SECONDS]\n"
    "       %3$*2$s [-i SECONDS] [-w DURATION] [-g DURATION] [-t SECONDS]\n"
    "       %3$*2$s [-Q N] [-I N] [-G DURATION] [-W DURATION] [--unreachable N]\n"
    "       %3$*2$s [--batch N] [--bundle] < pairs > receipts\n"
    "\n"
    "Delivers each pair to its webhooks, through a spool on disk.\n"
    "  -s, --state-dir DIR     spool, dead letters, dedupe (STATE_DIR, var);\n"
    "                          -d DIR is an old spelling\n"
    "  -p, --parallel N        requests in flight, all webhooks together (64)\n"
    "  -a, --attempts N        tries of a post on 5xx and network errors (8)\n"
    "  -b, --backoff SECONDS   first wait after a failure, doubled each time (1)\n"
    "  -B, --backoff-max SECONDS  longest wait after a failure; also how long\n"
    "                          an unreachable webhook's posts go to dead/ (300)\n"
    "  -i, --interval SECONDS  least time between two posts to one webhook\n"
    "                          (0 Discord, 1 Slack)\n"
    "  -w, --window DURATION   one post per webhook and killmail within it; 0: off (24h)\n"
    "  -g, --grace DURATION    at SIGTERM, time for requests in flight (5s)\n"
    "  -t, --timeout SECONDS   one request (15)\n"
    "  -Q, --max-queue N       posts queued per webhook; more go to dead/ (10000)\n"
    "  -I, --invalid-max N     401, 403 and 429 answers in 10 minutes before\n"
    "                          every webhook pauses (1000)\n"
    "  -G, --global-max DURATION  longest pause for a global 429 of the\n"
    "                          platform's own host (60s)\n"
    "  -W, --wait-max DURATION longest wait of one webhook for its 429 or its\n"
    "                          rate-limit bucket (300s)\n"
    "      --unreachable N     requests without an answer in a row before a\n"
    "                          webhook counts as unreachable (3)\n"
    "      --batch N           most posts in one message when a webhook's queue\n"
    "                          holds several (10, the most Discord takes); 1: one\n"
    "                          post per message\n"
    "  -C, --commit            the end of the pipeline: the commit marks'\n"
    "                          positions to STATE_DIR/redisq-pull.commit\n"
    "  -n, --dry-run           send nothing: write each post as it would be\n"
    "                          sent, {\"render\":{..}}, among the other lines\n"
    "      --bundle            the pairs of a bundle that later stages post\n"
    "                          go on as one bundle (else as pair lines)\n"
    "  -h, --help              this help, on stdout\n"
    "  -V, --version           the version\n"
    "  -v, --verbose           log more (debug lines); -q, --quiet: log less\n";

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
	static const struct option lo[] = {
		{ "state-dir", 1, NULL, 's' }, { "parallel", 1, NULL, 'p' },
		{ "attempts", 1, NULL, 'a' }, { "backoff", 1, NULL, 'b' },
		{ "backoff-max", 1, NULL, 'B' }, { "interval", 1, NULL, 'i' },
		{ "window", 1, NULL, 'w' }, { "grace", 1, NULL, 'g' },
		{ "timeout", 1, NULL, 't' }, { "max-queue", 1, NULL, 'Q' },
		{ "invalid-max", 1, NULL, 'I' }, { "global-max", 1, NULL, 'G' },
		{ "wait-max", 1, NULL, 'W' }, { "unreachable", 1, NULL, 'u' },
		{ "commit", 0, NULL, 'C' }, { "dry-run", 0, NULL, 'n' },
		{ "batch", 1, NULL, 'm' }, { "bundle", 0, NULL, OPT_BUNDLE }, OPT_LONG, { 0 } };
	struct post_conf c = { conf_str(NULL, "STATE_DIR", "var"), 64, 8, 1, 300,
		interval, 86400, 5, 15000, 10000, 1000, 60, 300, 3, 0, 0, 10, 0 };
	char usage[3072];
	int o;

	snprintf(usage, sizeof usage, usage_fmt, log_prog, (int)strlen(log_prog), "");
	while ((o = getopt_long(argc, argv, "a:b:B:Cd:g:G:i:I:np:Q:s:t:w:W:" OPT_SHORT,
	    lo, NULL)) != -1)
		switch (o) {
		case 'C': c.commit = 1; break;
		case 'n': c.dry_run = 1; break;
		case OPT_BUNDLE: c.bundle = 1; break;
		case 'a': c.attempts = conf_long(optarg, NULL, 0); break;
		case 'b': c.backoff = conf_num(optarg, NULL, 0); break;
		case 'B': c.backoff_max = conf_num(optarg, NULL, 0); break;
		case 's': case 'd': c.state_dir = optarg; break;	/* -d: old */
		case 'g': c.grace = duration(optarg, "-g"); break;
		case 'G': c.global_max = duration(optarg, "-G"); break;
		case 'i': c.interval = conf_num(optarg, NULL, 0); break;
		case 'I': c.invalid_max = conf_long(optarg, NULL, 0); break;
		case 'm': c.batch = conf_long(optarg, NULL, 0); break;
		case 'p': c.parallel = conf_long(optarg, NULL, 0); break;
		case 'Q': c.max_queue = conf_long(optarg, NULL, 0); break;
		case 't': c.timeout_ms = conf_num(optarg, NULL, 0) * 1000; break;
		case 'u': c.unreachable = conf_long(optarg, NULL, 0); break;
		case 'w': c.window = duration(optarg, "-w"); break;
		case 'W': c.wait_max = duration(optarg, "-W"); break;
		default: opt_common(o, usage);
		}
	if (optind != argc)
		opt_usage(usage);
	if (c.parallel < 1 || c.attempts < 1 || c.max_queue < 1 || c.unreachable < 1 ||
	    c.batch < 1 || c.batch > 10)
		log_fatal(EXIT_PERM, "--parallel, --attempts, --max-queue, --unreachable and "
		    "--batch must be at least 1, --batch at most 10");
	return post_run(pf, &c);
}
