/* filter2: the distance conditions of streams, and their mentions.
 *
 * Reads pair lines ({"stream":..,"mail":..,"match":..}) on stdin, writes
 * pair lines on stdout.  A pair that filter1 marked "pending" (a `near` it
 * could not decide) is evaluated again, three-valued, with a distance
 * oracle (common/geo.h: light years from system positions, gate jumps by
 * breadth-first search, over ESI through common/esi.h, cached): false drops
 * it; true writes it with a new verdict whose "near" is the closest
 * reference that held; unknown keeps it until ESI has answered, without
 * holding up the pairs behind it, so the order of lines may change.  Every
 * pair written gets match.mention from its stream's mention rules
 * (common/mention.h; cooldowns survive a restart).  Pairs that are not
 * pending pass at once with no network work; other lines pass unchanged.
 *
 * Reference systems written by name are resolved once per stream revision
 * (ESI POST /universe/ids); a name that does not resolve is a warning and
 * its entries never hold.  ESI failures are retried by esi.h: a pair waits
 * rather than be decided on missing data.  At most --max-waiting pairs
 * wait; at that bound stdin is not read (back-pressure).
 *
 * State in $STATE_DIR: filter2.pending (the pairs waiting at SIGTERM,
 * replayed at start) and filter2.cooldowns.
 *
 * Exit: 0 at end of input once no pair waits, or at SIGTERM/SIGINT (after
 * saving the waiting pairs); 100 usage; 111 output closed or system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "esi.h"
#include "geo.h"
#include "line.h"
#include "log.h"
#include "match.h"
#include "mention.h"
#include "ndjson.h"
#include "sig.h"
#include "stream.h"

static const char usage_text[] =
    "usage: filter2 [-vq] [--max-waiting N] [--state-dir DIR] [--esi-url URL]\n"
    "               [--redis-url URL]\n";

struct rev;

struct name {			/* a reference system written by name */
	struct rev *rev;
	char *name, *canon;	/* as written; as ESI spells it */
	int64_t id;		/* 0 while asking, -1 when it does not resolve */
};

struct rev {			/* one revision of one stream, compiled */
	char *id;
	uint64_t hash;		/* stream_hash of its compact text */
	struct stream *s;	/* NULL: it does not compile (warned once) */
	struct name *names;
	size_t nnames;
	int refs;		/* waiting pairs and name questions in flight */
	struct rev *next;	/* in its bucket */
};

struct held {			/* a pair waiting for ESI */
	json_t *pair;
	struct rev *rev;
	int replayed;
};

#define NBUCKETS 4096

static struct {
	struct http *http;
	struct cache *cache;
	struct esi *esi;
	struct geo *geo;
	struct mention_state *ms;
	struct rev *revs[NBUCKETS];
	struct held *held;
	size_t nheld, capheld, max_held;
	unsigned long names_done, seen;	/* answers absorbed, for retries */
	int sigfd, stop, eof, full;
	double drain;		/* seconds to finish a line at SIGTERM */
	size_t replayed_left;
	char pending_path[4096];
	struct buf out;
	unsigned long in, passed, pending, matched, dropped, mentions, other;
} F;

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EXIT_PERM);
}

/* ------------------------------------------------------------ output */

static void
out_flush(void)
{
	size_t off = 0;
	ssize_t w;

	while (off < F.out.len) {
		if ((w = write(1, F.out.p + off, F.out.len - off)) < 0 && errno == EINTR)
			continue;
		if (w < 0)
			log_fatal(EXIT_TEMP, "cannot write output: %s", strerror(errno));
		off += w;
	}
	F.out.len = 0;
}

static void
out_line(const char *line, size_t len)
{
	buf_add(&F.out, line, len);
	buf_addc(&F.out, '\n');
	if (F.out.len >= 1 << 16)
		out_flush();
}

static void
out_json(const json_t *j)
{
	ndjson_dump(&F.out, j);
	buf_addc(&F.out, '\n');
	if (F.out.len >= 1 << 16)
		out_flush();
}

/* ------------------------------------------------------------ revisions */

static void
rev_free(struct rev *r)
{
	for (size_t i = 0; i < r->nnames; i++) {
		free(r->names[i].name);
		free(r->names[i].canon);
	}
	free(r->names);
	stream_free(r->s);
	free(r->id);
	free(r);
}

static void
on_ids(void *arg, enum esi_status st, json_t *j)
{
	struct name *n = arg;
	json_t *e;
	size_t i;

	F.names_done++;
	n->id = -1;
	json_array_foreach(json_object_get(j, "systems"), i, e) {
		const char *nm = json_string_value(json_object_get(e, "name"));

		if (nm && !strcasecmp(nm, n->name) && json_integer_value(json_object_get(e, "id")) > 0) {
			n->id = json_integer_value(json_object_get(e, "id"));
			n->canon = strdup(nm);
			break;
		}
	}
	if (n->id < 0)
		log_warn("reference system does not resolve, its near entries never hold "
		    "stream=%s name=\"%s\" status=%s", n->rev->id, n->name,
		    st == ESI_OK ? "unknown-name" : "not-found");
	n->rev->refs--;
}

/* Ask ESI for the id of every reference written by name, once. */
static void
rev_ask_names(struct rev *r, const struct match_cond *c)
{
	const struct match_near *const *nv;
	size_t i, k, n;

	if (!c)
		return;
	nv = match_nears(c, &n);
	for (i = 0; i < n; i++) {
		json_t *q;
		char *body;

		if (!nv[i]->name)
			continue;
		for (k = 0; k < r->nnames && strcasecmp(r->names[k].name, nv[i]->name); k++)
			;
		if (k < r->nnames)
			continue;
		r->names[r->nnames] = (struct name){ r, strdup(nv[i]->name), NULL, 0 };
		body = ndjson_str(q = json_pack("[s]", nv[i]->name));
		json_decref(q);
		r->refs++;
		esi_post(F.esi, "/universe/ids", body, on_ids, &r->names[r->nnames++]);
		free(body);
	}
}

static void
rev_err(void *arg, const char *origin, const char *path, const char *msg)
{
	(void)origin;
	log_warn("stream does not compile: its pending pairs are dropped, the others "
	    "pass unchanged stream=%s path=%s error=\"%s\"", ((struct rev *)arg)->id, path, msg);
}

static struct rev *
rev_new(json_t *stream, const char *id, uint64_t hash)
{
	struct rev *r = calloc(1, sizeof *r);
	size_t n = 0, i;

	if (!r || !(r->id = strdup(id)))
		log_fatal(EXIT_TEMP, "out of memory");
	r->hash = hash;
	if (!(r->s = stream_from_pair(stream, "pair", rev_err, r)))
		return r;
	match_nears(r->s->match, &n);
	for (i = 0; i < r->s->nmentions; i++) {
		size_t k = 0;

		if (r->s->mentions[i].when)
			match_nears(r->s->mentions[i].when, &k);
		n += k;
	}
	r->names = calloc(n ? n : 1, sizeof *r->names);
	rev_ask_names(r, r->s->match);
	for (i = 0; i < r->s->nmentions; i++)
		rev_ask_names(r, r->s->mentions[i].when);
	return r;
}

/* The compiled revision of a pair's stream: a new revision of an id
 * replaces the older ones no pair waits for. */
static struct rev *
rev_get(json_t *stream)
{
	const char *id = json_string_value(json_object_get(stream, "id"));
	struct buf b = { 0 };
	struct rev **p, *r;
	uint64_t h;
	size_t k;

	id = id ? id : "";
	ndjson_dump(&b, stream);
	h = stream_hash(b.p, b.len);
	buf_free(&b);
	k = stream_hash(id, strlen(id)) % NBUCKETS;
	for (r = F.revs[k]; r; r = r->next)
		if (r->hash == h && !strcmp(r->id, id))
			return r;
	for (p = &F.revs[k]; (r = *p);)
		if (!strcmp(r->id, id) && !r->refs) {
			*p = r->next;
			rev_free(r);
		} else {
			p = &r->next;
		}
	r = rev_new(stream, id, h);
	r->next = F.revs[k];
	return F.revs[k] = r;
}

/* ------------------------------------------------------------ distances */

static void
geo_ask(void *arg, const char *path, esi_fn *fn, void *fnarg)
{
	esi_get(arg, path, fn, fnarg);
}

static int64_t
name_id(const struct rev *r, const char *name, const char **canon)
{
	for (size_t i = 0; i < r->nnames; i++)
		if (!strcasecmp(r->names[i].name, name)) {
			if (r->names[i].canon)
				*canon = r->names[i].canon;
			return r->names[i].id;
		}
	return -1;
}

struct octx {			/* what the oracle needs, and what it saw */
	struct rev *rev;
	int unknown;		/* entries it could not answer yet */
};

/* The oracle of match.h: references by name need their revision's ids. */
static enum match_tv
oracle(void *arg, const struct match_mail *m, const struct match_near *ref,
    struct match_distance *d)
{
	struct octx *o = arg;
	const char *name = ref->name;
	int64_t at = ref->system ? ref->system : name_id(o->rev, ref->name, &name);
	enum match_tv t = at < 0 ? MATCH_FALSE : at == 0 ? MATCH_UNKNOWN :
	    geo_near(F.geo, at, name, m, ref, d);

	o->unknown += t == MATCH_UNKNOWN;
	return t;
}

/* ------------------------------------------------------------ pairs */

/* For the latency benchmark (debug level only). */
static void
trace(json_t *pair)
{
	log_trace("out", (long long)json_integer_value(json_object_get(json_object_get(pair,
	    "mail"), "killmail_id")), json_string_value(json_object_get(json_object_get(pair,
	    "stream"), "id")));
}

static void
emit(json_t *pair, json_t *verdict, const char *mention)
{
	json_t *mj;

	if (verdict)
		json_object_set(pair, "match", verdict);
	if (mention) {
		if (!json_is_object(mj = json_object_get(pair, "match")))
			json_object_set_new(pair, "match", mj = json_object());
		json_object_set_new(mj, "mention", json_string(mention));
		F.mentions++;
	}
	trace(pair);
	out_json(pair);
}

/* Decide a pair: 1 when written or dropped, 0 when it must wait. */
static int
decide(json_t *pair, struct rev *r)
{
	struct match_mail m = { 0 };
	struct match_verdict v = { 0 };
	struct octx o = { r, 0 };
	struct match_ctx cx = { .now = clock_wall(), .oracle = oracle, .oracle_arg = &o };
	int pending = json_is_true(json_object_get(json_object_get(pair, "match"), "pending"));
	enum match_tv t = MATCH_TRUE;
	json_t *verdict = NULL;
	int k = -1;

	match_mail_init(&m, json_object_get(pair, "mail"));
	if (pending)
		t = match_eval(r->s->match, &m, &cx, &v);
	/* True already, but a reference still unknown may be the closest one,
	 * which the verdict reports: wait for every distance. */
	if (t == MATCH_TRUE && o.unknown)
		t = MATCH_UNKNOWN;
	if (t == MATCH_TRUE && r->s->nmentions)
		k = mention_choose(F.ms, r->s, &m, &cx);
	if (t == MATCH_FALSE)
		F.dropped++;
	if (t == MATCH_TRUE && k != MENTION_WAIT) {
		verdict = pending ? match_verdict_json(&v, &m) : NULL;
		emit(pair, verdict, k >= 0 ? r->s->mentions[k].content : NULL);
		json_decref(verdict);
		if (pending)
			F.matched++;
		else
			F.passed++;
	}
	match_verdict_free(&v);
	match_mail_free(&m);
	return t != MATCH_UNKNOWN && k != MENTION_WAIT;
}

static void
hold(json_t *pair, struct rev *r, int replayed)
{
	if (F.nheld == F.capheld) {
		F.capheld = F.capheld ? F.capheld * 2 : 256;
		if (!(F.held = realloc(F.held, F.capheld * sizeof *F.held)))
			log_fatal(EXIT_TEMP, "out of memory");
	}
	F.held[F.nheld++] = (struct held){ json_incref(pair), r, replayed };
	r->refs++;
	F.replayed_left += replayed;
}

static void
release(struct held *h)
{
	json_decref(h->pair);
	h->rev->refs--;
	F.replayed_left -= h->replayed;
}

/* Decide again the waiting pairs, in order, when ESI has said something. */
static void
retry_held(void)
{
	unsigned long now = geo_changes(F.geo) + F.names_done;
	size_t i, k = 0;

	if (now == F.seen)
		return;
	F.seen = now;
	for (i = 0; i < F.nheld; i++)
		if (decide(F.held[i].pair, F.held[i].rev))
			release(&F.held[i]);
		else
			F.held[k++] = F.held[i];
	F.nheld = k;
}

static int
has_mentions(const json_t *stream)
{
	return json_array_size(json_object_get(stream, "mentions")) > 0;
}

static void
take_line(char *line, size_t len, unsigned long lineno, int replayed)
{
	json_t *pair = ndjson_parse(line, len, lineno), *stream;
	int pending;
	struct rev *r;

	if (!pair)
		return;
	F.in++;
	stream = json_object_get(pair, "stream");
	pending = json_is_true(json_object_get(json_object_get(pair, "match"), "pending"));
	if (!json_is_object(stream) || !json_is_object(json_object_get(pair, "mail"))) {
		F.other++;
		out_line(line, len);
	} else if (!pending && !has_mentions(stream)) {
		F.passed++;
		trace(pair);
		out_line(line, len);	/* no business here: the very bytes */
	} else if (!(r = rev_get(stream))->s) {
		if (pending)
			F.dropped++;
		else
			out_line(line, len);
	} else {
		F.pending += pending;
		if (!decide(pair, r))
			hold(pair, r, replayed);
	}
	json_decref(pair);
}

/* Take the complete lines read, while there is room to hold pairs (or all
 * of them: a line read is never lost).  -1 once the input has ended. */
static int
take_lines(struct line_reader *lr, int all)
{
	char *line;
	size_t len;
	int r;

	while (all || F.nheld < F.max_held) {
		if ((r = line_next(lr, &line, &len)) != 1)
			return r;
		take_line(line, len, lr->lineno, 0);
	}
	if (!F.full)
		log_warn("waiting pairs at the bound, input paused waiting=%zu", F.nheld);
	F.full = 1;
	return 0;
}

/* ------------------------------------------------------------ state */

static void
save_held(void)
{
	char tmp[4200];
	FILE *f;
	size_t i;

	if (!F.nheld) {
		if (unlink(F.pending_path) < 0 && errno != ENOENT)
			log_warn("cannot remove path=%s: %s", F.pending_path, strerror(errno));
		return;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", F.pending_path);
	if (!(f = fopen(tmp, "w")))
		log_fatal(EXIT_TEMP, "cannot save waiting pairs path=%s: %s", tmp, strerror(errno));
	for (i = 0; i < F.nheld; i++)
		ndjson_write(f, F.held[i].pair);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, F.pending_path))
		log_fatal(EXIT_TEMP, "cannot save waiting pairs path=%s: %s", F.pending_path,
		    strerror(errno));
	log_info("waiting pairs saved waiting=%zu path=%s", F.nheld, F.pending_path);
}

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
	log_info("waiting pairs replayed pairs=%lu still_waiting=%zu", lr.lineno, F.nheld);
}

static void
replay_done(void)
{
	static int done;

	if (done || F.replayed_left)
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
	save_held();
}

/* A transfer that ends inside http_wait()'s first curl_multi_perform() is
 * reported only after its poll, which then sleeps for nothing: look once
 * without sleeping, then sleep only if nothing came. */
static void
wait_events(struct curl_waitfd *w, unsigned n)
{
	int r = http_wait(F.http, w, n, 0), t;

	if (r == 0 && (t = esi_timeout(F.esi, 1000)) > 0)
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
		retry_held();	/* first: it may make room for the lines read */
		if (!ended && take_lines(&lr, 0) < 0)
			ended = 1;
		replay_done();
		if (mention_save(F.ms) < 0)
			log_warn("cannot save cooldowns: %s", strerror(errno));
		out_flush();
		if (ended && !F.nheld)
			break;
		room = F.nheld < F.max_held;
		if (room && F.full)
			log_info("input resumed waiting=%zu", F.nheld);
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
	log_info("done pairs=%lu passed=%lu pending=%lu matched=%lu dropped=%lu "
	    "mentions=%lu other=%lu waiting=%zu systems_asked=%lu gates_asked=%lu "
	    "gates_inferred=%lu walks=%lu reached=%lu esi_asked=%lu esi_cached=%lu "
	    "esi_requests=%lu", F.in, F.passed, F.pending, F.matched, F.dropped,
	    F.mentions, F.other, F.nheld, gs.systems, gs.gates, gs.gates_inferred,
	    gs.walks, gs.reached, es.asked, es.cached, es.requests);
}

static void
setup(const char *url, const char *redis, const char *dir)
{
	struct http_opts ho = { .useragent = conf_useragent(), .timeout_ms = 30000,
		.max_host_conns = conf_long(NULL, "ESI_CONCURRENCY", 16) };
	struct cache_opts co = { .redis_url = conf_str(redis, "REDIS_URL", NULL),
		.prefix = conf_str(NULL, "ESI_CACHE_PREFIX", "insight:esi:") };
	struct esi_opts eo = { .url = conf_str(url, "ESI_URL", "https://esi.evetech.net"),
		.compat_date = conf_str(NULL, "ESI_COMPAT_DATE", ESI_COMPAT_DATE),
		.max_inflight = ho.max_host_conns };
	char path[4200];

	if (ho.max_host_conns < 1 || F.max_held < 1)
		log_fatal(EXIT_PERM, "ESI_CONCURRENCY and --max-waiting must be at least 1");
	F.sigfd = sig_init(0);
	F.http = http_new(&ho);
	F.cache = cache_new(&co);
	F.esi = esi_new(F.http, F.cache, &eo);
	F.geo = geo_new(geo_ask, F.esi);
	dir = conf_str(dir, "STATE_DIR", "var");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_fatal(EXIT_TEMP, "cannot create state dir=%s: %s", dir, strerror(errno));
	snprintf(F.pending_path, sizeof F.pending_path, "%s/filter2.pending", dir);
	snprintf(path, sizeof path, "%s/filter2.cooldowns", dir);
	F.ms = mention_open(path);
}

static void
cleanup(void)
{
	size_t i;

	for (i = 0; i < F.nheld; i++)
		release(&F.held[i]);
	free(F.held);
	esi_free(F.esi);	/* no callback runs after this */
	cache_free(F.cache);
	http_free(F.http);
	geo_free(F.geo);
	for (i = 0; i < NBUCKETS; i++)
		while (F.revs[i]) {
			struct rev *r = F.revs[i];

			F.revs[i] = r->next;
			rev_free(r);
		}
	if (mention_save(F.ms) < 0)
		log_warn("cannot save cooldowns: %s", strerror(errno));
	mention_close(F.ms);
	buf_free(&F.out);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "max-waiting", 1, NULL, 'm' }, { "state-dir", 1, NULL, 's' },
		{ "esi-url", 1, NULL, 'u' }, { "redis-url", 1, NULL, 'r' },
		{ "verbose", 0, NULL, 'v' }, { "quiet", 0, NULL, 'q' },
		{ "help", 0, NULL, 'h' }, { 0 } };
	const char *maxw = NULL, *dir = NULL, *url = NULL, *redis = NULL;
	int c;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "vq", lo, NULL)) != -1)
		switch (c) {
		case 'm': maxw = optarg; break;
		case 's': dir = optarg; break;
		case 'u': url = optarg; break;
		case 'r': redis = optarg; break;
		case 'v': log_verbose(1); break;
		case 'q': log_verbose(-1); break;
		default: usage();
		}
	if (optind != argc)
		usage();
	F.max_held = conf_long(maxw, "FILTER2_MAX_WAITING", 10000);
	F.drain = conf_num(NULL, "FILTER2_DRAIN", 2);
	setup(url, redis, dir);
	replay();
	run();
	report();
	cleanup();
	return EXIT_DONE;
}
