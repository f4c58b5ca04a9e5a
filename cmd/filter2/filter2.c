/* filter2: the distance conditions of streams, and their mentions.
 *
 * Reads pair lines ({"stream":..,"mail":..,"match":..}) or bundles of
 * them (json/pair.h) on stdin, writes pair lines on stdout; with --bundle
 * (as the pipeline runs it) the pairs that one line gives are written as
 * one bundle, the mail once, and a pair that waited goes out later alone.
 * A pair that filter1 marked "pending" (a `near` it
 * could not decide) is evaluated again, three-valued, with a distance
 * oracle (cmd/filter2/geo.h: light years from system positions, gate jumps by
 * breadth-first search, over ESI through net/esi.h, cached): false drops
 * it; true writes it with a new verdict whose "near" is the closest
 * reference that held; unknown keeps it until ESI has answered, without
 * holding up the pairs behind it, so the order of lines may change.  Every
 * pair written gets match.mention from its stream's mention rules
 * (cmd/filter2/mention.h; cooldowns survive a restart).  A pair written is the
 * line as it came with only its "match" member replaced (or added).  Pairs
 * that are not pending and whose stream has no mention rules pass byte for
 * byte, with no network work; other lines pass unchanged, but for the
 * commit marks (json/mark.h): one waits until every pair that came before
 * it has been written or dropped, and one that waits at SIGTERM is dropped
 * (the commit lags, nothing is lost).
 *
 * Speed: a line is split by pair.h's validating scanner, not parsed; a
 * stream is read once per text (its revision, cmd/filter2/rev.h) and compiled
 * only when one of its pairs needs it; a mail is parsed once for its
 * consecutive pairs, and only when one of them needs it; waiting pairs
 * share their mail (cmd/filter2/held.h); lines go out in big writes
 * (cmd/filter2/pairout.h).
 *
 * Reference systems written by name are resolved once per stream revision
 * (ESI POST /universe/ids); a name that does not resolve is a warning and
 * its entries never hold.  ESI failures are retried by esi.h: a pair waits
 * rather than be decided on missing data.  At most --max-waiting pairs
 * wait; at that bound stdin is not read (back-pressure).  What the gate
 * walks learn without asking (a stargate known from its other end) goes
 * into the ESI cache, so the next process asks ESI nothing it knew.
 *
 * State in $STATE_DIR: filter2.pending (the pairs waiting at SIGTERM,
 * replayed at start) and filter2.cooldowns.
 *
 * Exit: 0 at end of input once no pair waits, or at SIGTERM/SIGINT (after
 * saving the waiting pairs); 100 usage; 111 output closed or system error.
 *
 * Here: setup, the loop and the state file; the lines themselves, judged,
 * are take.c's (cmd/filter2/take.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/opt.h"
#include "lib/out.h"
#include "lib/sig.h"
#include "lib/state.h"
#include "filter2.h"
#include "pairout.h"
#include "take.h"

static const char usage_text[] =
    "usage: filter2 [-hVvq] [--bundle] [-m N] [-s DIR] [-u URL] [--redis-url URL]\n"
    "               < pairs > pairs\n"
    "\n"
    "Decides the pending distance conditions of pairs and picks mentions.\n"
    "      --bundle         write the pairs of each line read as one bundle\n"
    "  -m, --max-waiting N  pairs waiting for ESI at most (FILTER2_MAX_WAITING, 10000)\n"
    "  -s, --state-dir DIR  cooldowns and saved pairs (STATE_DIR, var)\n"
    "  -u, --esi-url URL    ESI (ESI_URL, https://esi.evetech.net)\n"
    "      --redis-url URL  shared cache (REDIS_URL; unset: in-process only)\n"
    "  -h, --help           this help, on stdout\n"
    "  -V, --version        the version\n"
    "  -v, --verbose        log more (debug lines); -q, --quiet: log less\n";

/* A stargate geo knows from its other end is cached as esi keeps an answer
 * that gives no lifetime: fresh a day, then stale (for when ESI fails) a
 * week more.  The map changes only with game patches. */
#define GATE_TTL (24 * 3600.0)
#define GATE_KEEP (7 * 24 * 3600.0)

struct filter2 F;

/* ------------------------------------------------------------ distances */

static void
geo_ask(void *arg, const char *path, esi_fn *fn, void *fnarg)
{
	esi_get(arg, path, fn, fnarg);
}

/* A gate inferred from the answer for its other end.  When that answer
 * came from the cache, whoever asked ESI for it kept this one then (or
 * asked ESI for it too): no write. */
static void
geo_keep(void *arg, const char *path, const char *json)
{
	if (!esi_answer_cached(F.esi))
		cache_put(arg, path, json, strlen(json), GATE_TTL, GATE_KEEP);
}

/* ------------------------------------------------------------ state */

/* The pairs a SIGTERM saved go first; the file stays until none of them
 * waits any more (a crash before that replays them again). */
static void
replay(void)
{
	struct line_reader lr;
	char *line;
	size_t len;
	int fd = open(F.pending_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno != ENOENT)
			log_fatal(EXIT_TEMP, "cannot read path=%s: %s", F.pending_path, strerror(errno));
		return;
	}
	line_init(&lr, fd, 0);
	while (line_get(&lr, &line, &len) == 1)
		take_line(line, len, lr.lineno, 1);
	line_free(&lr);
	close(fd);
	log_info("waiting pairs replayed pairs=%lu still_waiting=%zu", lr.lineno, F.held.n);
}

static void
replay_done(void)
{
	static int done;

	if (done || F.held.replayed_left)
		return;
	out_flush();	/* written before the file that held them goes */
	if (unlink(F.pending_path) < 0 && errno != ENOENT)
		log_warn("cannot remove path=%s: %s", F.pending_path, strerror(errno));
	done = 1;
}

/* ------------------------------------------------------------ loop */

static void
on_signals(void)
{
	int s;

	while ((s = sig_take(F.sigfd)))
		if (s == SIGTERM || s == SIGINT)
			F.stop = 1;
}

/* The rest of a line of which only the beginning was read, byte by byte
 * so as to take nothing of the next line; 0 once it is whole. */
static int
read_rest(struct buf *b, double end)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	ssize_t r;
	char c;
	int ms;

	while ((ms = (end - clock_mono()) * 1000) > 0) {
		if (poll(&p, 1, ms) <= 0)
			continue;
		if ((r = read(0, &c, 1)) == 1 && c == '\n')
			return 0;
		if (r == 1)
			buf_addc(b, c);
		else if (r == 0 || (errno != EAGAIN && errno != EINTR))
			return r == 0 ? 0 : -1;
	}
	return -1;
}

/* SIGTERM: the lines read are held or written, and the last one, when only
 * its beginning was read, is read to its end (for a while: its rest would
 * be a malformed line for whoever reads next); then the waiting pairs are
 * saved. */
static void
stop_reading(struct line_reader *lr)
{
	struct buf rest = { 0 };

	if (take_lines(lr, 1) == 0 && lr->len && !lr->skipping) {
		buf_add(&rest, lr->buf + lr->start, lr->len);
		if (read_rest(&rest, clock_mono() + F.drain) == 0)
			take_line(rest.p, rest.len, lr->lineno + 1, 0);
		else
			log_warn("stopping inside a line: its beginning is lost bytes=%zu", rest.len);
		buf_free(&rest);
	}
	out_flush();
	held_save(&F.held, F.pending_path, &F.line);
}

/* A transfer that ends inside http_wait()'s first curl_multi_perform() is
 * reported only after its poll, which then sleeps for nothing: look once
 * without sleeping, then sleep only if nothing came. */
static void
wait_events(struct curl_waitfd *w, unsigned n)
{
	int r = http_wait(F.http, w, n, 0), t;

	if (r == 0 && (t = metrics_wait_ms(esi_timeout(F.esi, 1000))) > 0)
		r = http_wait(F.http, w, n, t);
	if (r < 0)
		log_fatal(EXIT_TEMP, "curl multi failed");
}

static void
run(void)
{
	struct line_reader lr;
	struct curl_waitfd w[2];
	int ended = 0, room;

	line_init(&lr, 0, 0);
	while (!F.stop) {
		take_retry();	/* first: it may make room for the lines read */
		if (!ended && take_lines(&lr, 0) < 0)
			ended = 1;
		replay_done();
		if (mention_save(F.ms) < 0)
			log_warn("cannot save cooldowns: %s", strerror(errno));
		out_flush();
		if (ended && !F.held.n)
			break;
		room = F.held.n < F.max_held;
		if (room && F.full)
			log_info("input resumed waiting=%zu", F.held.n);
		F.full = !room;
		w[0] = (struct curl_waitfd){ .fd = F.sigfd, .events = CURL_WAIT_POLLIN };
		w[1] = (struct curl_waitfd){ .fd = 0, .events = CURL_WAIT_POLLIN };
		wait_events(w, room && !F.eof ? 2 : 1);
		on_signals();
		if (room && !F.eof && w[1].revents && line_fill(&lr) <= 0) {
			if (!lr.eof && errno != EAGAIN)
				log_fatal(EXIT_TEMP, "cannot read input: %s", strerror(errno));
			F.eof = lr.eof;
		}
		esi_run(F.esi);
		metrics_tick();
	}
	if (F.stop)
		stop_reading(&lr);
	line_free(&lr);
}

/* ------------------------------------------------------------ main */

static void
report(void)
{
	struct esi_stats es;
	struct geo_stats gs;

	esi_stats(F.esi, &es);
	geo_stats(F.geo, &gs);
	log_info("done pairs=%lu bundles=%lu passed=%lu pending=%lu matched=%lu dropped=%lu "
	    "mentions=%lu other=%lu waiting=%zu most_waiting=%zu systems_asked=%lu "
	    "gates_asked=%lu gates_inferred=%lu gates_kept=%lu walks=%lu reached=%lu "
	    "esi_asked=%lu esi_cached=%lu esi_requests=%lu malformed=%lu", F.in, F.bundles, F.passed,
	    F.pending, F.matched, F.dropped, F.mentions, F.other, F.held.n, F.held.most, gs.systems,
	    gs.gates, gs.gates_inferred, gs.kept, gs.walks, gs.reached, es.asked, es.cached,
	    es.requests, F.malformed);
}

static void
setup(const char *url, const char *redis, const char *dir)
{
	struct http_opts ho = { .useragent = conf_useragent(), .timeout_ms = 30000,
		.max_host_conns = conf_long(NULL, "ESI_CONCURRENCY", 16) };
	/* geo keeps what it learned in its own tables and never asks twice:
	 * the LRU serves little here, and it keeps every answer parsed. */
	struct cache_opts co = { .redis_url = conf_str(redis, "REDIS_URL", NULL),
		.prefix = conf_str(NULL, "ESI_CACHE_PREFIX", "insight:esi:"),
		.max_entries = conf_long(NULL, "ESI_CACHE_ENTRIES", 1024),
		.max_bytes = conf_long(NULL, "ESI_CACHE_MB", 4) << 20 };
	struct esi_opts eo = { .url = conf_str(url, "ESI_URL", "https://esi.evetech.net"),
		.compat_date = conf_str(NULL, "ESI_COMPAT_DATE", ESI_COMPAT_DATE),
		.max_inflight = ho.max_host_conns };
	char path[4200];

	if (ho.max_host_conns < 1 || F.max_held < 1)
		log_fatal(EXIT_PERM, "ESI_CONCURRENCY and --max-waiting must be at least 1");
	F.sigfd = sig_init(0);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	fcntl(1, F_SETPIPE_SZ, 1 << 20);	/* pairs are big: fewer wake-ups */
	F.http = http_new(&ho);
	F.cache = cache_new(&co);
	F.esi = esi_new(F.http, F.cache, &eo);
	F.geo = geo_new(geo_ask, F.esi);
	F.revs = rev_set_new(F.esi);
	geo_set_keep(F.geo, geo_keep, F.cache);
	dir = conf_str(dir, "STATE_DIR", "var");
	state_dir(dir);
	snprintf(F.pending_path, sizeof F.pending_path, "%s/filter2.pending", dir);
	state_private(F.pending_path);
	snprintf(path, sizeof path, "%s/filter2.cooldowns", dir);
	F.ms = mention_open(path);
}

static void
metrics_setup(void)
{
	metrics_init();
	metrics_counter("lines_in", NULL, &F.in, "lines read (a bundle's pairs count one each)");
	metrics_counter("bundles", NULL, &F.bundles, "bundles read (one mail, its pairs)");
	metrics_counter("passed", NULL, &F.passed, "pairs written as filter1 decided them");
	metrics_counter("matched", NULL, &F.matched, "pairs written once their verdict came");
	metrics_counter("dropped", NULL, &F.dropped, "pairs whose stream does not match");
	metrics_counter("mentions", NULL, &F.mentions, "mention lines written");
	metrics_gauge_ul("waiting", NULL, &F.held.n, "pairs waiting for their lookups");
	esi_metrics(F.esi);
}

static void
cleanup(void)
{
	held_free(&F.held);
	esi_free(F.esi);	/* no callback runs after this */
	cache_free(F.cache);
	http_free(F.http);
	geo_free(F.geo);
	rev_set_free(F.revs);
	if (mention_save(F.ms) < 0)
		log_warn("cannot save cooldowns: %s", strerror(errno));
	mention_close(F.ms);
	pair_mail_free(&F.pm);
	json_decref(F.mj);
	match_mail_free(&F.m);
	match_verdict_free(&F.v);
	buf_free(&F.last);
	buf_free(&F.mt);
	buf_free(&F.line);
	buf_free(&F.eline);
	pairout_free();
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "max-waiting", 1, NULL, 'm' }, { "state-dir", 1, NULL, 's' },
		{ "esi-url", 1, NULL, 'u' }, { "redis-url", 1, NULL, 'r' },
		{ "bundle", 0, NULL, OPT_BUNDLE }, OPT_LONG, { 0 } };
	const char *maxw = NULL, *dir = NULL, *url = NULL, *redis = NULL;
	int c;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "m:s:u:" OPT_SHORT, lo, NULL)) != -1)
		switch (c) {
		case 'm': maxw = optarg; break;
		case 's': dir = optarg; break;
		case 'u': url = optarg; break;
		case 'r': redis = optarg; break;
		case OPT_BUNDLE: F.bundling = 1; break;
		default: opt_common(c, usage_text);
		}
	if (optind != argc)
		opt_usage(usage_text);
	F.max_held = conf_long(maxw, "FILTER2_MAX_WAITING", 10000);
	F.drain = conf_num(NULL, "FILTER2_DRAIN", 2);
	setup(url, redis, dir);
	metrics_setup();
	replay();
	run();
	report();
	metrics_close();
	cleanup();
	return EXIT_DONE;
}
