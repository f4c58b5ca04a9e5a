/* stream-fanout: pair each mail with every stream that could match it.
 *
 * Reads mail lines (esi-resolve's output) on stdin; for each mail writes
 * one pair line {"stream":STREAM,"mail":MAIL} per stream that could match
 * it, in the order of the stream ids.  STREAM is the stream file's object
 * with "id" added.  Candidates come from an index over the streams' guards
 * (match.h), which never leaves out a stream that could match; then each
 * candidate's condition is evaluated on the mail alone (jq, age and near
 * unknown, match_ctx.mail_only) and a pair is written unless that says
 * false: filter1 would drop it, and the pipe would carry the mail for
 * nothing.  --no-index pairs every enabled stream and evaluates nothing.
 * --bundle writes the pairs of one mail as one line that carries it once,
 * {"streams":[STREAM,...],"mail":MAIL} (filter1 reads both forms).
 * Disabled streams get nothing.  Other lines pass through unchanged; a
 * malformed line is skipped with a warning.
 *
 * Streams are STREAMS_DIR/<id>.json (-d), loaded at start.  SIGHUP reloads
 * them between two lines: mails read before go to the old set, after to
 * the new; a file that does not load keeps its previous version; a removed
 * file removes its stream.  --shard K/N keeps the streams whose id hashes to
 * K (hash_fnv1a(id) % N, 0 <= K < N: 64-bit FNV-1a).
 *
 * --check [FILE|DIR...] validates (default STREAMS_DIR), prints each error
 * as "PATH: JSONPATH: message" on stdout and exits 100 if there was one,
 * else 0.  --names [FILE|DIR...] writes the names the streams compare and
 * their "$NAME" targets, one JSON line each (names.h), for a check that
 * asks ESI (esi-resolve --names); this tool itself stays off the network.
 *
 * Exit: 0 at end of input or on SIGTERM/SIGINT (after the lines already
 * read); 100 usage or unreadable STREAMS_DIR; 111 output or system error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/conf.h"
#include "match/index.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/opt.h"
#include "lib/mem.h"
#include "lib/out.h"
#include "json/ndjson.h"
#include "json/scan.h"
#include "lib/sig.h"
#include "match/stream.h"
#include "names.h"

static const char usage_text[] =
    "usage: stream-fanout [-hVvq] [-S DIR] [--shard K/N] [--no-index] [--bundle] < mails > pairs\n"
    "       stream-fanout [-S DIR] --check [FILE|DIR...]\n"
    "       stream-fanout [-S DIR] --names [FILE|DIR...]\n"
    "\n"
    "Pairs each mail with every stream that could match it.\n"
    "  -S, --streams-dir DIR  the stream files (STREAMS_DIR, streams.d);\n"
    "                         -d DIR and --dir DIR are old spellings\n"
    "      --shard K/N        only the streams whose id hashes to K modulo N\n"
    "      --no-index         pair every enabled stream (no index)\n"
    "      --bundle           one line per mail: {\"streams\":[...],\"mail\":MAIL}\n"
    "      --check            check the files or directories given (else DIR),\n"
    "                         print every error, exit 100 if there is one\n"
    "      --names            print the names and \"$NAME\" targets of those\n"
    "                         streams, one JSON line each\n"
    "  -h, --help             this help, on stdout\n"
    "  -V, --version          the version\n"
    "  -v, --verbose          log more (debug lines); -q, --quiet: log less\n";

/* The streams in use, and the index over the live ones. */
struct fan {
	const char *dir;
	unsigned shard, nshard;
	int noindex, bundle;
	struct stream_set set;		/* every stream loaded */
	struct stream **live;		/* enabled and in our shard */
	size_t nlive;
	struct index *ix;
	unsigned *cand;
	struct match_mail m;
	struct match_ctx cx;		/* mail_only: what the mail decides */
	struct buf mail;		/* the mail as written in pairs */
	unsigned long mails, candidates, pairs, other, malformed;
};

static void
warn_err(void *arg, const char *origin, const char *path, const char *msg)
{
	(void)arg;
	log_warn("%s: %s: %s", origin, path, msg);
}

/* Index the enabled streams of our shard. */
static void
go_live(struct fan *f)
{
	f->live = mem_calloc(f->set.n + 1, sizeof *f->live);
	f->cand = mem_calloc(f->set.n + 1, sizeof *f->cand);
	f->nlive = 0;
	f->ix = index_new();
	for (size_t i = 0; i < f->set.n; i++) {
		struct stream *s = f->set.v[i];

		if (!s->enabled || !stream_in_shard(s->id, f->shard, f->nshard))
			continue;
		index_add(f->ix, (unsigned)f->nlive, s->match);
		f->live[f->nlive++] = s;
	}
	index_seal(f->ix);
}

static void
drop_live(struct fan *f)
{
	index_free(f->ix);
	free(f->live);
	free(f->cand);
	f->ix = NULL;
}

/* At start a missing directory is fatal; on SIGHUP the old set stays. */
static void
load(struct fan *f, int first)
{
	struct stream_set next;
	int bad = stream_load_dir(f->dir, first ? NULL : &f->set, &next, warn_err, NULL);

	if (bad < 0 && first)
		log_fatal(EXIT_PERM, "cannot read the streams directory dir=%s", f->dir);
	if (bad < 0) {
		log_warn("reload failed, the streams stay as they were dir=%s", f->dir);
		return;
	}
	if (!first) {
		drop_live(f);
		stream_set_free(&f->set);
	}
	f->set = next;
	go_live(f);
	log_info("%s streams=%zu live=%zu unindexed=%zu errors=%d shard=%u/%u",
	    first ? "loaded" : "reloaded", f->set.n, f->nlive,
	    f->noindex ? f->nlive : index_unguarded(f->ix), bad, f->shard, f->nshard);
	log_trace(first ? "loaded" : "reloaded", 0, NULL);
}

/* Is the (valid) JSON text free of whitespace outside its strings? */
static int
compact(const char *p, size_t n)
{
	int in = 0;

	for (const char *e = p + n; p < e; p++)
		if (in && *p == '\\')
			p++;
		else if (*p == '"')
			in = !in;
		else if (!in && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			return 0;
	return 1;
}

/* Of the n candidates in f->cand, keep those the mail alone does not rule
 * out (filter1 drops every other); how many. */
static size_t
keep(struct fan *f, size_t n)
{
	size_t k = 0;

	f->candidates += n;
	for (size_t i = 0; i < n; i++)
		if (match_eval(f->live[f->cand[i]]->match, &f->m, &f->cx, NULL) != MATCH_FALSE)
			f->cand[k++] = f->cand[i];
	return k;
}

/* {"streams":[...],"mail":MAIL}: the n pairs of one mail in one line. */
static void
put_bundle(struct fan *f, size_t n, const char *text, size_t len)
{
	out_put("{\"streams\":[", 12);
	for (size_t i = 0; i < n; i++) {
		const struct stream *s = f->live[f->noindex ? i : f->cand[i]];

		if (i)
			out_put(",", 1);
		out_put(s->text, s->len);
	}
	out_put("],\"mail\":", 9);
	out_put(text, len);
	out_put("}\n", 2);
	f->pairs += n;
}

/* The mail as pairs carry it: the line itself when it is compact already
 * (esi-resolve writes it so), else a compact dump. */
static void
fan_mail(struct fan *f, const char *line, size_t len)
{
	size_t n = f->nlive;
	const char *text = line;
	json_t *j;

	f->mails++;
	if (!f->noindex)
		n = keep(f, index_lookup(f->ix, &f->m, f->cand));
	if (!n)
		return;
	if (!compact(line, len)) {
		/* valid (match_mail_parse said so), with ndjson_parse's rule for
		 * integers beyond 64 bits that plain jansson refuses */
		if (!(j = ndjson_parse(line, len, 0)))
			log_fatal(EXIT_BUG, "a mail that read no longer parses");
		f->mail.len = 0;
		ndjson_dump(&f->mail, j);
		json_decref(j);
		text = f->mail.p;
		len = f->mail.len;
	}
	log_trace("out", (long long)f->m.killmail_id, NULL);	/* writing begins */
	if (f->bundle) {
		put_bundle(f, n, text, len);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct stream *s = f->live[f->noindex ? i : f->cand[i]];

		out_put("{\"stream\":", 10);
		out_put(s->text, s->len);
		out_put(",\"mail\":", 8);
		out_put(text, len);
		out_put("}\n", 2);
	}
	f->pairs += n;
}

/* Mails are read straight from their text (match_mail_parse); anything
 * else that is an object passes.  The scanner explains a malformed line. */
static void
on_line(void *arg, char *line, size_t len, unsigned long lineno)
{
	struct fan *f = arg;
	int r = match_mail_parse(&f->m, line, len);

	if (r > 0 && f->m.killmail_id <= 0) {	/* 0: absent, not an integer */
		log_warn("mail skipped: killmail_id is not a positive integer line=%lu", lineno);
		f->malformed++;
	} else if (r > 0)
		fan_mail(f, line, len);
	else if (r == 0) {
		f->other++;
		out_put(line, len);
		out_put("\n", 1);
	} else {
		scan_warn_line(lineno, f->m.why, f->m.why_col);
		f->malformed++;
	}
}

static int
on_signals(void *arg, int sfd)
{
	struct fan *f = arg;
	int sig, stop = 0;

	while ((sig = sig_take(sfd)))
		if (sig == SIGHUP)
			load(f, 0);
		else
			stop = 1;
	return stop;
}

/* --check: every file given, or every file of every directory given. */
static int
check(int argc, char **argv, const char *dir)
{
	int bad;

	match_jq_trial(1);
	bad = stream_walk(argc, argv, dir, NULL, NULL, stream_err_print, stdout);
	if (fflush(stdout))
		log_fatal(EXIT_TEMP, "write to stdout failed: %s", strerror(errno));
	return bad ? EXIT_PERM : EXIT_DONE;
}

static void
parse_shard(struct fan *f, const char *s)
{
	char *end;
	unsigned long k = strtoul(s, &end, 10), n;

	if (end == s || *end != '/')
		opt_usage(usage_text);
	n = strtoul(s = end + 1, &end, 10);
	if (end == s || *end || n < 1 || k >= n || n > 1u << 20)
		log_fatal(EXIT_PERM, "bad --shard %s: want K/N with 0 <= K < N", s);
	f->shard = (unsigned)k;
	f->nshard = (unsigned)n;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "names", no_argument, NULL, 'N' },
		{ "shard", required_argument, NULL, 's' },
		{ "no-index", no_argument, NULL, 'n' },
		{ "bundle", no_argument, NULL, 'b' },
		{ "streams-dir", required_argument, NULL, 'S' },
		{ "dir", required_argument, NULL, 'S' },	/* old spelling */
		OPT_LONG, { 0 }
	};
	static struct fan f = { .nshard = 1, .cx = { .mail_only = 1 } };
	const char *dir = NULL;
	int c, sfd, checking = 0;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "S:d:" OPT_SHORT, opts, NULL)) != -1)
		switch (c) {
		case 'c': checking = 1; break;
		case 'N': checking = 2; break;
		case 's': parse_shard(&f, optarg); break;
		case 'n': f.noindex = 1; break;
		case 'b': f.bundle = 1; break;
		case 'S': case 'd': dir = optarg; break;	/* -d: old spelling */
		default: opt_common(c, usage_text);
		}
	f.dir = conf_str(dir, "STREAMS_DIR", "streams.d");
	if (checking == 2)
		return names_list(argc - optind, argv + optind, f.dir);
	if (checking)
		return check(argc - optind, argv + optind, f.dir);
	if (optind != argc)
		opt_usage(usage_text);
	sfd = sig_init(0);	/* before loading: a SIGHUP then waits for the loop */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	fcntl(1, F_SETPIPE_SZ, 1 << 20);	/* pairs are big: fewer wake-ups */
	load(&f, 1);
	metrics_init();
	metrics_counter("lines_in", NULL, &f.mails, "mails read");
	metrics_counter("candidates", NULL, &f.candidates,
	    "streams the index named, before the mail's own check");
	metrics_counter("lines_out", NULL, &f.pairs, "pairs written (mail, stream)");
	metrics_gauge_ul("streams", NULL, &f.nlive, "streams live in this shard");
	line_filter(sfd, on_line, on_signals, &f);
	log_info("done mails=%lu pairs=%lu other=%lu malformed=%lu candidates=%lu", f.mails,
	    f.pairs, f.other, f.malformed, f.candidates);
	metrics_close();
	drop_live(&f);
	stream_set_free(&f.set);
	match_mail_free(&f.m);
	buf_free(&f.mail);
	return EXIT_DONE;
}
