/* filter1: evaluate every condition that needs no network; drop the pairs
 * that cannot match.
 *
 * Reads pair lines {"stream":STREAM,"mail":MAIL} on stdin, or bundles
 * {"streams":[STREAM,...],"mail":MAIL}, the pairs of one mail carrying it
 * once (stream-fanout --bundle, as the pipeline runs it).  A pair whose
 * condition is false is dropped; the others are written unchanged but for
 * an added "match": {"kind":..,"attackers":[..]}, with "pending": true when
 * a `near` test is still undecided (filter2 decides it).  A bundle's kept
 * streams are written as pairs, in its order; with --bundle (as the
 * pipeline runs it, into filter2) the kept pairs of each line go out as
 * one bundle with "matches", the mail once.  Stateless.
 *
 * Lines that are not pairs, and pairs or bundles that carry a "match" or
 * "matches" already, pass through unchanged.  A malformed line is skipped
 * with a warning; a pair whose stream does not validate, or whose stream
 * is disabled, is dropped with a warning.
 *
 * Speed: a stream is compiled once per text (its id and revision), and
 * consecutive pairs of one mail (stream-fanout writes them so) prepare the
 * mail once.  A validating scanner finds the members without building the
 * whole pair.
 *
 * Exit: 0 at end of input or on SIGTERM/SIGINT (after the lines already
 * read); 100 usage; 111 output or system error. */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/opt.h"
#include "lib/mem.h"
#include "lib/out.h"
#include "match/match.h"
#include "json/ndjson.h"
#include "json/pair.h"
#include "json/scan.h"
#include "lib/sig.h"
#include "match/stream.h"

static const char usage_text[] =
    "usage: filter1 [-hVvq] [--bundle] < pairs > pairs\n"
    "\n"
    "Decides every condition of a pair's stream that needs no network.\n"
    "      --bundle    write the kept pairs of each line as one bundle\n"
    "  -h, --help      this help, on stdout\n"
    "  -V, --version   the version\n"
    "  -v, --verbose   log more (debug lines); -q, --quiet: log less\n";

/* -------------------------------------------------- streams and mails */

/* Compiled streams by text; NULL s: the text does not validate. */
struct entry {
	char *text;
	size_t len;
	struct stream *s;
};

#define MAX_ENTRIES 16384	/* then start afresh: texts change on reloads */

struct f1 {
	struct hash entries;		/* by text */
	struct buf mailtext;		/* the text of the mail prepared in m */
	int have_mail;
	struct match_mail m;
	struct match_verdict v;
	struct match_ctx cx;
	struct buf out;
	int bundling;			/* --bundle */
	struct pair_bundle b;		/* the kept pairs of the line */
	struct buf line;		/* a bundle or a pair line written */
	unsigned long bundles, pairs, kept, pending, dropped, bad, malformed;
};

static const void *
entry_key(const void *p, size_t *len)
{
	const struct entry *e = p;

	*len = e->len;
	return e->text;
}

static void
cache_clear(struct f1 *f)
{
	struct entry *e;

	for (size_t i = 0; (e = hash_next(&f->entries, &i));) {
		stream_free(e->s);
		free(e->text);
		free(e);
	}
	hash_clear(&f->entries);
}

static void
warn_err(void *arg, const char *origin, const char *path, const char *msg)
{
	(void)arg;
	log_warn("%s: %s: %s", origin, path, msg);
}

/* Validate a stream text once; its problems are told once. */
static struct stream *
compile(struct pair_span sp, unsigned long lineno)
{
	json_error_t je;
	json_t *j = ndjson_load(sp.p, sp.n, JSON_REJECT_DUPLICATES, &je);
	const char *id = json_string_value(json_object_get(j, "id"));
	char origin[128];
	struct stream *s;

	snprintf(origin, sizeof origin, "stream %s (line %lu)", id ? id : "?", lineno);
	if (!j) {
		log_warn("%s: $: invalid JSON: %s", origin, je.text);
		return NULL;
	}
	s = stream_from_pair(j, origin, warn_err, NULL);
	json_decref(j);
	return s;
}

static struct entry *
stream_of(struct f1 *f, struct pair_span sp, unsigned long lineno)
{
	struct entry *e = hash_get(&f->entries, sp.p, sp.n);

	if (e)
		return e;
	if (f->entries.n >= MAX_ENTRIES)
		cache_clear(f);
	e = mem_calloc(1, sizeof *e);
	e->text = mem_strndup(sp.p, sp.n);
	e->len = sp.n;
	e->s = compile(sp, lineno);
	hash_put(&f->entries, e);
	return e;
}

/* Prepare the mail unless it is the one prepared last.  m reads the text
 * where it stays: in mailtext. */
static int
mail_of(struct f1 *f, struct pair_span sp, unsigned long lineno)
{
	if (f->have_mail && f->mailtext.len == sp.n && !memcmp(f->mailtext.p, sp.p, sp.n))
		return 0;
	f->mailtext.len = 0;
	buf_add(&f->mailtext, sp.p, sp.n);
	if (!(f->have_mail = match_mail_parse(&f->m, f->mailtext.p, sp.n) >= 0)) {
		/* not after pair_read (one definition), but never silent */
		log_warn("pair dropped: its mail does not read line=%lu error=\"%s\"", lineno,
		    f->m.why);
		return -1;
	}
	if (f->m.killmail_id <= 0) {	/* 0: absent, not an integer */
		f->have_mail = 0;
		log_warn("pair dropped: killmail_id is not a positive integer line=%lu", lineno);
		return -1;	/* counted invalid by the caller */
	}
	f->cx.now = clock_wall();
	return 0;
}

/* The pair as it came (a line, up to its closing brace), or as a bundle
 * names it (line NULL: stream and mail), with "match" at the end. */
static void
emit(struct f1 *f, const char *line, const struct pair *pr, struct pair_span stream)
{
	json_t *v = match_verdict_json(&f->v, &f->m);
	struct pair_span match;

	f->out.len = 0;
	ndjson_dump(&f->out, v);
	json_decref(v);
	match = (struct pair_span){ f->out.p, f->out.len };
	if (f->bundling)
		pair_bundle_add(&f->b, stream, match);
	else if (!line) {	/* the pair line of pair.h */
		f->line.len = 0;
		pair_line(&f->line, stream, pr->mail, match);
		out_put(f->line.p, f->line.len);
		out_put("\n", 1);
	} else {
		out_put(line, pr->close);
		out_put(",\"match\":", 9);
		out_put(match.p, match.n);
		out_put("}\n", 2);
	}
}

/* One pair: a pair line (line) or a stream of a bundle (line NULL). */
static void
on_pair(struct f1 *f, const char *line, const struct pair *pr, struct pair_span stream,
    unsigned long lineno)
{
	struct entry *e;
	enum match_tv r;

	f->pairs++;
	if (*stream.p != '{') {
		log_warn("pair dropped: a stream of the bundle is not an object line=%lu", lineno);
		f->bad++;
		return;
	}
	if (!(e = stream_of(f, stream, lineno))->s) {
		log_warn("pair dropped: its stream does not validate line=%lu", lineno);
		f->bad++;
		return;
	}
	if (!e->s->enabled) {
		log_warn("pair dropped: stream %s is disabled line=%lu", e->s->id, lineno);
		f->bad++;
		return;
	}
	if (mail_of(f, pr->mail, lineno) < 0) {
		f->bad++;
		return;
	}
	if ((r = match_eval(e->s->match, &f->m, &f->cx, &f->v)) == MATCH_FALSE) {
		f->dropped++;
		return;
	}
	f->kept++;
	f->pending += r == MATCH_UNKNOWN;
	log_trace("out", (long long)f->m.killmail_id, e->s->id);	/* before a flush */
	emit(f, line, pr, stream);
}

struct bundle {
	struct f1 *f;
	const struct pair *pr;
	unsigned long lineno;
};

static void
on_bundled(void *arg, struct pair_span stream, struct pair_span match, size_t i)
{
	struct bundle *b = arg;

	(void)match;	/* none: a bundle with matches passes as it is */
	(void)i;
	on_pair(b->f, NULL, b->pr, stream, b->lineno);
}

static void
on_line(void *arg, char *line, size_t len, unsigned long lineno)
{
	struct f1 *f = arg;
	struct pair pr;

	if (pair_read(line, len, f->have_mail ? f->mailtext.p : NULL, f->mailtext.len, &pr) < 0) {
		scan_warn_line(lineno, pr.why, pr.col);
		f->malformed++;
		return;
	}
	if (pair_is(&pr) && !pr.match.n)
		on_pair(f, line, &pr, pr.stream, lineno);
	else if (pair_is_bundle(&pr) && !pr.matches.n) {
		struct bundle b = { f, &pr, lineno };

		f->bundles++;
		pair_each(&pr, on_bundled, &b);
	} else {
		out_put(line, len);
		out_put("\n", 1);
		return;
	}
	if (f->b.n) {
		f->line.len = 0;
		pair_bundle_line(&f->b, pr.mail, &f->line);
		out_put(f->line.p, f->line.len);
	}
}

static int
stop_signal(void *arg, int sfd)
{
	int sig, stop = 0;

	(void)arg;
	while ((sig = sig_take(sfd)))
		stop |= sig != SIGHUP;	/* no configuration to reload */
	return stop;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = { { "bundle", 0, NULL, OPT_BUNDLE }, OPT_LONG, { 0 } };
	static struct f1 f;
	int c, sfd;

	log_init(argv[0]);
	hash_init(&f.entries, entry_key);
	while ((c = getopt_long(argc, argv, OPT_SHORT, lo, NULL)) != -1)
		if (c == OPT_BUNDLE)
			f.bundling = 1;
		else
			opt_common(c, usage_text);
	if (optind != argc)
		opt_usage(usage_text);
	sfd = sig_init(0);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	fcntl(1, F_SETPIPE_SZ, 1 << 20);	/* pairs are big: fewer wake-ups */
	metrics_init();
	metrics_counter("lines_in", NULL, &f.pairs, "pairs read (a bundle's streams count one each)");
	metrics_counter("bundles", NULL, &f.bundles, "bundles read (one mail, its streams)");
	metrics_counter("lines_out", NULL, &f.kept, "pairs kept and written");
	metrics_counter("pending", NULL, &f.pending,
	    "of those, pairs whose verdict is left to filter2");
	metrics_counter("dropped", NULL, &f.dropped, "pairs whose stream does not match");
	metrics_counter("invalid", NULL, &f.bad, "pairs dropped as invalid");
	line_filter(sfd, on_line, stop_signal, &f);
	log_info("done pairs=%lu kept=%lu pending=%lu dropped=%lu invalid=%lu malformed=%lu "
	    "bundles=%lu", f.pairs, f.kept, f.pending, f.dropped, f.bad, f.malformed, f.bundles);
	metrics_close();
	cache_clear(&f);
	hash_free(&f.entries);
	match_mail_free(&f.m);
	match_verdict_free(&f.v);
	buf_free(&f.mailtext);
	buf_free(&f.out);
	buf_free(&f.line);
	pair_bundle_free(&f.b);
	return EXIT_DONE;
}
