/* esi-resolve: package lines in, mail lines out.
 *
 * Reads R2Z2 packages (RedisQ ones normalised to that shape, raw RedisQ
 * {"package":..} objects, bare ESI killmails as in EVE Ref dumps, and the
 * backfill line {"killmail_id":N,"hash":".."}), fetches the ESI killmail
 * when a package lacks it, resolves every id through ESI (net/esi.h:
 * cached, shared, batched, polite), and writes one mail per killmail in the
 * model of the README ("Wire formats").  Pairs, receipts and mails pass through unchanged.
 *
 * Many mails are in flight at once; a mail is written as soon as it is
 * complete, so output order may differ from input order unless --ordered.
 * A commit mark (json/mark.h) is the one line that keeps its place: it is
 * written once every line before it has been written or skipped.
 * When --max-mails are waiting, stdin is not read: the pipe fills and the
 * puller stops.  SIGTERM: stop reading at a line boundary, give lookups
 * --drain to finish, write the input lines of the mails still waiting to
 * $STATE_DIR/esi-resolve.pending and exit 0; the next start replays them
 * first.  A malformed line, or a package or mail whose killmail_id is not
 * a positive integer, is a warning and is skipped.  Exit: 0 done, 100 usage, 111 system or output error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/cache.h"
#include "lib/clock.h"
#include "lib/conf.h"
#include "net/esi.h"
#include "net/http.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/opt.h"
#include "lib/mem.h"
#include "lookup.h"
#include "mailbuild.h"
#include "json/mark.h"
#include "json/ndjson.h"
#include "names.h"
#include "pending.h"
#include "lib/sig.h"

static const char usage_text[] =
    "usage: esi-resolve [-hVvqOT] [-c N] [-m N] [-s DIR] [-u URL]\n"
    "                   [--redis-url URL] [--drain DURATION] [--give-up DURATION]\n"
    "                   < packages > mails\n"
    "       esi-resolve [-u URL] [--redis-url URL] --names < names > warnings\n"
    "\n"
    "Names every id of each killmail from ESI and writes one mail per killmail.\n"
    "  -O, --ordered        write mails in input order (ESI_ORDERED)\n"
    "  -T, --no-tickers     no corporation and alliance tickers (ESI_TICKERS=0)\n"
    "  -c, --concurrency N  ESI requests in flight (ESI_CONCURRENCY, 16)\n"
    "  -m, --max-waiting N  mails waiting before reading stops (ESI_MAX_MAILS, 128);\n"
    "                       --max-mails is an old spelling\n"
    "  -s, --state-dir DIR  where waiting mails are saved (STATE_DIR, var)\n"
    "  -u, --esi-url URL    ESI (ESI_URL, https://esi.evetech.net)\n"
    "      --redis-url URL  shared cache (REDIS_URL; unset: in-process only)\n"
    "      --drain DURATION time to finish at SIGTERM (ESI_DRAIN, 5s)\n"
    "      --give-up DURATION  exit 111 when ESI has failed that long with\n"
    "                       mails waiting (ESI_GIVE_UP; 0: never, the default)\n"
    "      --names          check that the names of stream-fanout --names exist;\n"
    "                       wait for ESI at most ESI_NAMES_WAIT (60s)\n"
    "  -h, --help           this help, on stdout\n"
    "  -V, --version        the version\n"
    "  -v, --verbose        log more (debug lines); -q, --quiet: log less\n";

struct mail {
	struct mail *prev, *next;	/* every mail alive, in input order */
	char *line;			/* as read, to save on SIGTERM */
	json_t *pkg, *km;		/* the package and its ESI body */
	struct lookup lk;		/* what it asks ESI */
	int done, replayed;
	json_t *out;
};

static struct {
	struct esi *esi;
	struct http *http;
	struct cache *cache;
	struct mail *head, *tail;
	int live, max_mails, ordered, tickers;
	unsigned long in, out, skipped, malformed;
	double waiting;		/* live, for the metrics */
	struct pending pend;	/* the lines saved at the last stop */
} g;

static void finish(void *arg);

/* ---- mails alive ---- */

static struct mail *
mail_new(const char *line, size_t len, int replayed)
{
	struct mail *m = mem_calloc(1, sizeof *m);

	m->line = mem_strndup(line, len);
	lookup_init(&m->lk, g.esi, g.tickers, finish, m);
	m->replayed = replayed;
	m->prev = g.tail;
	if (g.tail)
		g.tail->next = m;
	else
		g.head = m;
	g.tail = m;
	g.live++;
	return m;
}

static void
mail_free(struct mail *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		g.head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		g.tail = m->prev;
	lookup_free(&m->lk);
	if (m->replayed)
		pending_replayed(&g.pend);
	json_decref(m->pkg);
	json_decref(m->km);
	json_decref(m->out);
	free(m->line);
	free(m);
	g.live--;
}

static void
emit(struct mail *m)
{
	if (m->out) {
		log_trace("out", (long long)mailbuild_id(m->pkg, "killmail_id"), NULL);
		ndjson_out(m->out);
		g.out++;
	} else if (printf("%s\n", m->line) < 0 || fflush(stdout))
		log_fatal(EXIT_TEMP, "write to stdout failed: %s", strerror(errno));
	mail_free(m);
}

/* The lines at the head that are done.  A mail is written as soon as it
 * is complete (finish), or in input order with --ordered; a mark always
 * waits here for the lines before it. */
static void
flush_done(void)
{
	while (g.head && g.head->done)
		emit(g.head);
}

/* Every answer is in (lookup.h). */
static void
finish(void *arg)
{
	struct mail *m = arg;
	struct mailbuild_src b = { m->pkg, m->km, g.tickers, lookup_got, &m->lk };

	m->out = mailbuild_mail(&b);
	m->done = 1;
	if (!g.ordered)
		emit(m);
	flush_done();	/* and the marks it held back */
}

static void
on_body(void *arg, enum esi_status st, json_t *j)
{
	struct mail *m = arg;

	if (st != ESI_OK || !mailbuild_body_ok(j)) {
		log_warn("killmail not at ESI or malformed, skipped killmail_id=%" PRId64,
		    mailbuild_id(m->pkg, "killmail_id"));
		g.skipped++;
		m->done = 1;
		mail_free(m);
		flush_done();
		return;
	}
	m->km = json_incref(j);
	lookup_start(&m->lk, m->km);
}

/* One input line: a mail started, a line passed on, or a warning. */
static void
take(char *line, size_t len, unsigned long lineno, int replayed)
{
	json_t *j, *pkg, *km;
	struct mail *m;
	struct mark mk;
	int pass;
	char path[160];

	g.in++;
	if (mark_read(line, len, &mk)) {
		(m = mail_new(line, len, replayed))->done = 1;
		flush_done();	/* now, or when the mails before it are out */
		return;
	}
	j = ndjson_parse(line, len, lineno);
	if (!j) {		/* ndjson_parse said why */
		g.skipped++;
		g.malformed++;
		return;
	}
	pkg = mailbuild_normalise(j, &pass);
	/* A mail passes unchanged, but only with an id the posters can use. */
	if (pass == 1 && !json_object_get(j, "receipt") && !json_object_get(j, "stream") &&
	    mailbuild_id(j, "killmail_id") <= 0)
		pass = 3;
	json_decref(j);
	if (pass >= 2) {
		if (pass == 3)
			log_warn("mail skipped: killmail_id is not a positive integer line=%lu",
			    lineno);
		g.skipped++;
		return;
	}
	if (pass) {
		(m = mail_new(line, len, replayed))->done = 1;
		g.ordered ? flush_done() : emit(m);
		return;
	}
	km = json_object_get(pkg, "esi");
	if (mailbuild_id(pkg, "killmail_id") <= 0) {
		log_warn("package skipped: killmail_id is not a positive integer line=%lu", lineno);
		g.skipped++;
		json_decref(pkg);
		return;
	}
	if (km ? !mailbuild_body_ok(km) :
	    !mailbuild_hexhash(json_string_value(json_object_get(pkg, "hash")))) {
		log_warn("not a package (no killmail body or hash), skipped line=%lu", lineno);
		g.skipped++;
		json_decref(pkg);
		return;
	}
	m = mail_new(line, len, replayed);
	m->pkg = pkg;
	json_object_del(json_object_get(km, "victim"), "items");	/* not carried */
	if (km) {
		m->km = json_incref(km);
		lookup_start(&m->lk, m->km);
		return;
	}
	snprintf(path, sizeof path, "/killmails/%" PRId64 "/%s", mailbuild_id(pkg, "killmail_id"),
	    json_string_value(json_object_get(pkg, "hash")));
	esi_get(g.esi, path, on_body, m);
}

/* ---- stopping ---- */

/* Every line read and not yet written out: mails in flight, then what
 * pending.h saves after them. */
static void
save(struct line_reader *lr, double deadline)
{
	pending_save_begin(&g.pend);
	for (struct mail *m = g.head; m; m = m->next)
		pending_save_line(&g.pend, m->line, strlen(m->line));
	pending_save_end(&g.pend, lr, deadline);
}

/* ---- the loop ---- */

/* Lines are taken, replay first, while fewer than max_mails are alive. */
static int
take_lines(struct line_reader *lr)
{
	char *l;
	size_t n;
	int r = 0;

	while (g.live < g.max_mails && (l = pending_next(&g.pend))) {
		take(l, strlen(l), 0, 1);
		free(l);
	}
	while (g.live < g.max_mails && !pending_waiting(&g.pend) &&
	    (r = line_next(lr, &l, &n)) == 1)
		take(l, n, lr->lineno, 0);
	return r;
}

static void
report(void)
{
	struct esi_stats s;
	struct cache_stats c;

	esi_stats(g.esi, &s);
	cache_stats(g.cache, &c);
	log_info("done lines=%lu mails=%lu skipped=%lu esi_requests=%lu names_requests=%lu "
	    "retries=%lu asked=%lu cached=%lu shared=%lu stale_served=%lu "
	    "lru_entries=%zu lru_bytes=%zu redis_hits=%lu malformed=%lu",
	    g.in, g.out, g.skipped, s.requests, s.names_requests, s.retries, s.asked,
	    s.cached, s.shared, s.stale_served, c.entries, c.bytes, c.redis_hits, g.malformed);
}

struct loop {
	struct line_reader lr;
	int sigfd, term, eof;
	double drain, deadline, give_up;
};

/* --give-up: a run by hand (insight try) would otherwise wait for ESI as
 * long as the pipeline does, which is for ever. */
static void
give_up(const struct loop *L)
{
	double f = esi_failing_for(g.esi, clock_mono());

	if (L->give_up > 0 && g.live && f >= L->give_up)
		log_fatal(EXIT_TEMP, "ESI failing for %.0fs, giving up (--give-up) mails_waiting=%d",
		    f, g.live);
}

static void
on_signal(struct loop *L)
{
	int s;

	while ((s = sig_take(L->sigfd)))
		if ((s == SIGTERM || s == SIGINT) && !L->term) {
			L->term = 1;
			L->deadline = clock_mono() + L->drain;
			log_info("stopping: no more input; lookups in flight get s=%.1f", L->drain);
		}
}

/* One turn: wait for ESI, stdin or a signal, then let everything move. */
static void
turn(struct loop *L)
{
	struct curl_waitfd fds[2] = { { L->sigfd, CURL_WAIT_POLLIN, 0 },
		{ 0, CURL_WAIT_POLLIN, 0 } };
	int r = L->term ? 0 : take_lines(&L->lr);
	int ms = metrics_wait_ms(esi_timeout(g.esi, 1000));
	int want_in = !L->eof && r == 0 && g.live < g.max_mails && !L->term;

	if (L->term)
		ms = ms < 100 ? ms : 100;
	if (http_wait(g.http, fds, want_in ? 2 : 1, ms) < 0)
		log_fatal(EXIT_TEMP, "curl_multi_poll failed");
	if (fds[0].revents)
		on_signal(L);
	if (want_in && fds[1].revents) {
		ssize_t n = line_fill(&L->lr);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			log_fatal(EXIT_TEMP, "read stdin: %s", strerror(errno));
		L->eof = L->lr.eof;
	}
	esi_run(g.esi);
	g.waiting = g.live;
	metrics_tick();
}

static void
run(struct loop *L)
{
	for (;;) {
		turn(L);
		give_up(L);
		if (L->term && (!g.live || clock_mono() >= L->deadline)) {
			save(&L->lr, L->deadline + 1);
			return;
		}
		if (L->eof && !g.live && !pending_waiting(&g.pend) &&
		    take_lines(&L->lr) == -1 && !g.live)
			return;
	}
}

static double
duration(const char *flag, const char *env, const char *def)
{
	const char *v = conf_str(flag, env, def);
	double d = conf_duration(v);

	if (d < 0)
		log_fatal(EXIT_PERM, "not a duration: %s=%s", env, v);
	return d;
}

static void
metrics_setup(void)
{
	metrics_init();
	metrics_counter("lines_in", NULL, &g.in, "packages read");
	metrics_counter("lines_out", NULL, &g.out, "mails written");
	metrics_counter("skipped", NULL, &g.skipped, "packages skipped (invalid)");
	metrics_gauge("waiting", NULL, &g.waiting, "mails waiting for their lookups");
	esi_metrics(g.esi);
}

static void
setup(const char *url, const char *redis, long conc)
{
	struct http_opts ho = { .useragent = conf_useragent(),
		.timeout_ms = duration(NULL, "ESI_TIMEOUT", "30s") * 1000,
		.max_host_conns = conc };
	const char *rurl = conf_str(redis, "REDIS_URL", NULL);
	/* With Redis the LRU is a near cache of what is hot; without it, the
	 * only cache. */
	struct cache_opts co = { .redis_url = rurl,
		.prefix = conf_str(NULL, "ESI_CACHE_PREFIX", "insight:esi:"),
		.max_entries = conf_long(NULL, "ESI_CACHE_ENTRIES", 200000),
		.max_bytes = conf_long(NULL, "ESI_CACHE_MB", rurl && *rurl ? 2 : 128) << 20,
		.max_memos = conf_long(NULL, "ESI_CACHE_PARSED", 1024) };
	struct esi_opts eo = { .url = conf_str(url, "ESI_URL", "https://esi.evetech.net"),
		.compat_date = conf_str(NULL, "ESI_COMPAT_DATE", ESI_COMPAT_DATE),
		.ttl_min = duration(NULL, "ESI_TTL_MIN", "60s"),
		.ttl_max = duration(NULL, "ESI_TTL_MAX", "30d"),
		.ttl_default = duration(NULL, "ESI_TTL_DEFAULT", "1d"),
		.stale_max = duration(NULL, "ESI_STALE_MAX", "7d"),
		.neg_ttl = duration(NULL, "ESI_NEGATIVE_TTL", "1h"),
		.max_inflight = conc,
		.batch_ms = conf_long(NULL, "ESI_BATCH_MS", 20),
		.backoff_min = duration(NULL, "ESI_BACKOFF_MIN", "1s"),
		.backoff_max = duration(NULL, "ESI_BACKOFF_MAX", "60s") };

	if (conc < 1 || g.max_mails < 1)
		log_fatal(EXIT_PERM, "concurrency and max-mails must be at least 1");
	g.http = http_new(&ho);
	g.cache = cache_new(&co);
	g.esi = esi_new(g.http, g.cache, &eo);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ordered", 0, NULL, 'O' }, { "no-tickers", 0, NULL, 'T' },
		{ "concurrency", 1, NULL, 'c' }, { "max-waiting", 1, NULL, 'm' }, { "max-mails", 1, NULL, 'm' },
		{ "drain", 1, NULL, 'd' }, { "give-up", 1, NULL, 'g' },
		{ "esi-url", 1, NULL, 'u' },
		{ "redis-url", 1, NULL, 'r' }, { "state-dir", 1, NULL, 's' },
		{ "names", 0, NULL, 'N' },
		OPT_LONG, { 0 } };
	const char *conc = NULL, *maxm = NULL, *drain = NULL, *url = NULL,
	      *redis = NULL, *dir = NULL, *giveup = NULL;
	static struct loop L;
	int c, names = 0;

	log_init(argv[0]);
	g.tickers = conf_long(NULL, "ESI_TICKERS", 1) != 0;
	g.ordered = conf_long(NULL, "ESI_ORDERED", 0) != 0;
	while ((c = getopt_long(argc, argv, "OTc:m:u:s:" OPT_SHORT, lo, NULL)) != -1)
		switch (c) {
		case 'O': g.ordered = 1; break;
		case 'T': g.tickers = 0; break;
		case 'c': conc = optarg; break;
		case 'm': maxm = optarg; break;
		case 'd': drain = optarg; break;
		case 'g': giveup = optarg; break;
		case 'u': url = optarg; break;
		case 'r': redis = optarg; break;
		case 's': dir = optarg; break;
		case 'N': names = 1; break;
		default: opt_common(c, usage_text);
		}
	if (optind != argc)
		opt_usage(usage_text);
	g.max_mails = conf_long(maxm, "ESI_MAX_MAILS", 128);
	L.drain = duration(drain, "ESI_DRAIN", "5s");
	if (names) {
		log_verbose(-1);	/* a check's output is its warnings */
		setup(url, redis, conf_long(conc, "ESI_CONCURRENCY", 16));
		c = names_check(g.esi, g.http, duration(NULL, "ESI_NAMES_WAIT", "60s"));
		cache_flush(g.cache);	/* what was learnt, for the next check */
		return c;
	}
	L.give_up = duration(giveup, "ESI_GIVE_UP", "0");
	L.sigfd = sig_init(0);
	pending_init(&g.pend, conf_str(dir, "STATE_DIR", "var"), "esi-resolve.pending");
	setup(url, redis, conf_long(conc, "ESI_CONCURRENCY", 16));
	metrics_setup();
	line_init(&L.lr, 0, 0);
	pending_load(&g.pend);
	run(&L);
	report();
	g.waiting = g.live;
	metrics_close();
	cache_flush(g.cache);
	if (http_inflight(g.http))
		return EXIT_DONE;	/* abandoned lookups: nothing to free safely */
	esi_free(g.esi);
	cache_free(g.cache);
	http_free(g.http);
	line_free(&L.lr);
	pending_free(&g.pend);
	return EXIT_DONE;
}
