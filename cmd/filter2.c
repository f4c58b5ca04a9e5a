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
 * (common/mention.h; cooldowns survive a restart).  A pair written is the
 * line as it came with only its "match" member replaced (or added).  Pairs
 * that are not pending and whose stream has no mention rules pass byte for
 * byte, with no network work; other lines pass unchanged.
 *
 * Speed: a line is split by pair.h's validating scanner, not parsed; a
 * stream is read once per text (its revision) and compiled only when one
 * of its pairs needs it; a mail is parsed once for its consecutive pairs,
 * and only when one of them needs it.
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
#include "mem.h"
#include "mention.h"
#include "ndjson.h"
#include "pair.h"
#include "sig.h"
#include "stream.h"

static const char usage_text[] =
    "usage: filter2 [-vq] [--max-waiting N] [--state-dir DIR] [--esi-url URL]\n"
    "               [--redis-url URL]\n";

/* A stargate geo knows from its other end is cached as esi keeps an answer
 * that gives no lifetime: fresh a day, then stale (for when ESI fails) a
 * week more.  The map changes only with game patches. */
#define GATE_TTL (24 * 3600.0)
#define GATE_KEEP (7 * 24 * 3600.0)

struct rev;

struct name {			/* a reference system written by name */
	struct rev *rev;
	char *name, *canon;	/* as written; as ESI spells it */
	int64_t id;		/* 0 while asking, -1 when it does not resolve */
};

struct rev {			/* one revision of one stream: its text */
	uint64_t hash;		/* stream_hash of text */
	char *text, *id;	/* the text as pairs carry it; its "id" ("" none) */
	size_t len;
	int mentions;		/* it has mention rules: its pairs are looked at */
	int compiled;		/* s is what compiling gave (NULL: it does not) */
	struct stream *s;
	struct name *names;
	size_t nnames;
	int refs;		/* waiting pairs and name questions in flight */
	struct rev *next, *idnext;	/* in its bucket by text, by id */
};

struct hmail {			/* the mail of waiting pairs, shared by them */
	int refs;
	json_t *j;		/* NULL: m was read from text alone */
	struct match_mail m;
	size_t len;
	char text[];
};

struct held {			/* a pair waiting for ESI */
	char *rest;		/* its line without the mail's text, which */
	size_t len, at;		/* goes back in at offset at */
	struct hmail *mail;
	struct rev *rev;
	int pending, replayed;
};

#define NBUCKETS 4096

static struct {
	struct http *http;
	struct cache *cache;
	struct esi *esi;
	struct geo *geo;
	struct mention_state *ms;
	struct rev *revs[NBUCKETS], *ids[NBUCKETS];
	struct buf last;	/* the mail read last, for pair_read's fast path */
	struct pair_mail pm;	/* the mail parsed last ... */
	json_t *mj;		/* ... and prepared in m (a reference of ours) */
	struct match_mail m;
	struct match_verdict v;
	struct hmail *hlast;	/* the mail of the pair held last */
	struct held *held;
	size_t nheld, capheld, max_held, most_held;
	unsigned long names_done, seen;	/* answers absorbed, for retries */
	int sigfd, stop, eof, full;
	double drain;		/* seconds to finish a line at SIGTERM */
	size_t replayed_left;
	char pending_path[4096];
	struct buf out, mt, line;	/* output; a new match; a line rebuilt */
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
out_end(void)
{
	buf_addc(&F.out, '\n');
	if (F.out.len >= 1 << 16)
		out_flush();
}

static void
out_line(const char *line, size_t len)
{
	buf_add(&F.out, line, len);
	out_end();
}

/* The line with mt in place of its "match" (or added before its end). */
static void
out_pair(const char *line, size_t len, const struct pair *pr, const struct buf *mt)
{
	const char *b = pr->match.n ? pr->match.p : line + pr->close;
	const char *e = pr->match.n ? b + pr->match.n : b;

	buf_add(&F.out, line, (size_t)(b - line));
	if (!pr->match.n)
		buf_add(&F.out, ",\"match\":", 9);
	buf_add(&F.out, mt->p, mt->len);
	buf_add(&F.out, e, (size_t)(line + len - e));
	out_end();
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
	free(r->text);
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
			n->canon = mem_strdup(nm);
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
		r->names[r->nnames] = (struct name){ r, mem_strdup(nv[i]->name), NULL, 0 };
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

/* Compile a revision (j: its text parsed, or NULL) and ask for its names. */
static void
rev_compile(struct rev *r, json_t *j)
{
	size_t n = 0, i;

	r->compiled = 1;
	if (!j || !(r->s = stream_from_pair(j, "pair", rev_err, r)))
		return;
	match_nears(r->s->match, &n);
	for (i = 0; i < r->s->nmentions; i++) {
		size_t k = 0;

		if (r->s->mentions[i].when)
			match_nears(r->s->mentions[i].when, &k);
		n += k;
	}
	r->names = mem_calloc(n, sizeof *r->names);
	rev_ask_names(r, r->s->match);
	for (i = 0; i < r->s->nmentions; i++)
		rev_ask_names(r, r->s->mentions[i].when);
}

static struct rev **
id_bucket(const char *id)
{
	return &F.ids[stream_hash(id, strlen(id)) % NBUCKETS];
}

/* A new revision of an id replaces the older ones no pair waits for. */
static void
rev_retire(const char *id)
{
	struct rev **p, **q, *r;

	for (p = id_bucket(id); (r = *p);) {
		if (strcmp(r->id, id) || r->refs) {
			p = &r->idnext;
			continue;
		}
		*p = r->idnext;
		for (q = &F.revs[r->hash % NBUCKETS]; *q != r; q = &(*q)->next)
			;
		*q = r->next;
		rev_free(r);
	}
}

/* The revision of a stream's text: found by the bytes, read once. */
static struct rev *
rev_of(struct pair_span sp, unsigned long lineno)
{
	uint64_t h = stream_hash(sp.p, sp.n);
	struct rev **b = &F.revs[h % NBUCKETS], **ib, *r;
	const char *id;
	json_t *j;

	for (r = *b; r; r = r->next)
		if (r->hash == h && r->len == sp.n && !memcmp(r->text, sp.p, sp.n))
			return r;
	j = ndjson_parse(sp.p, sp.n, lineno);
	id = json_string_value(json_object_get(j, "id"));
	r = mem_calloc(1, sizeof *r);
	r->hash = h;
	r->text = mem_realloc(NULL, sp.n);
	memcpy(r->text, sp.p, sp.n);
	r->len = sp.n;
	r->id = mem_strdup(id ? id : "");
	r->mentions = json_array_size(json_object_get(j, "mentions")) > 0;
	rev_retire(r->id);
	r->next = *b;
	*b = r;
	ib = id_bucket(r->id);
	r->idnext = *ib;
	*ib = r;
	if (r->mentions)
		rev_compile(r, j);
	json_decref(j);
	return r;
}

/* The compiled stream of a revision, or NULL when it does not compile. */
static struct stream *
rev_stream(struct rev *r, unsigned long lineno)
{
	json_t *j;

	if (!r->compiled) {
		j = ndjson_parse(r->text, r->len, lineno);
		rev_compile(r, j);
		json_decref(j);
	}
	return r->s;
}

/* ------------------------------------------------------------ distances */

static void
geo_ask(void *arg, const char *path, esi_fn *fn, void *fnarg)
{
	esi_get(arg, path, fn, fnarg);
}

static void
geo_keep(void *arg, const char *path, const char *json)
{
	cache_put(arg, path, json, strlen(json), GATE_TTL, GATE_KEEP);
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

/* ------------------------------------------------------------ mails */

/* The mail of a pair, prepared for evaluation: parsed once while its
 * pairs come. */
static struct match_mail *
mail_of(struct pair_span sp, unsigned long lineno)
{
	json_t *j = pair_mail_json(&F.pm, sp, lineno);

	if (!j)
		return NULL;
	if (j != F.mj) {	/* our reference: the address is not reused */
		json_decref(F.mj);
		F.mj = json_incref(j);
		match_mail_init(&F.m, j);
	}
	return &F.m;
}

static void
hmail_put(struct hmail *h)
{
	if (h && !--h->refs) {
		match_mail_free(&h->m);
		json_decref(h->j);
		free(h);
	}
}

/* The mail of a pair that must wait (the one mail_of() prepared last),
 * shared with the pair held before when it is the same.  Kept as its text
 * and what match.h read from it: much smaller than a parsed tree. */
static struct hmail *
hmail_of(struct pair_span sp)
{
	struct hmail *h = F.hlast;

	if (h && h->len == sp.n && !memcmp(h->text, sp.p, sp.n)) {
		h->refs++;
		return h;
	}
	h = mem_calloc(1, sizeof *h + sp.n + 1);
	memcpy(h->text, sp.p, sp.n);
	h->len = sp.n;
	h->refs = 2;		/* the pair's and F.hlast's */
	if (match_mail_parse(&h->m, h->text, h->len) < 0) {
		/* stricter than ndjson_parse (integers beyond int64): the tree */
		h->j = json_incref(F.mj);
		match_mail_init(&h->m, h->j);
	}
	hmail_put(F.hlast);
	return F.hlast = h;
}

/* ------------------------------------------------------------ pairs */

enum { WAIT, DROP, WRITE };

/* Judge a pair: WRITE (with mention rule *k, or -1), DROP or WAIT. */
static int
judge(struct rev *r, struct match_mail *m, int pending, int *k)
{
	struct octx o = { r, 0 };
	struct match_ctx cx = { .now = clock_wall(), .oracle = oracle, .oracle_arg = &o };
	enum match_tv t = MATCH_TRUE;

	*k = -1;
	if (pending)
		t = match_eval(r->s->match, m, &cx, &F.v);
	/* True already, but a reference still unknown may be the closest one,
	 * which the verdict reports: wait for every distance. */
	if (t == MATCH_TRUE && o.unknown)
		t = MATCH_UNKNOWN;
	if (t == MATCH_TRUE && r->s->nmentions)
		*k = mention_choose(F.ms, r->s, m, &cx);
	return t == MATCH_FALSE ? DROP : t == MATCH_UNKNOWN || *k == MENTION_WAIT ? WAIT : WRITE;
}

/* The new "match": the verdict of a pending pair, else the old one; with
 * the mention, if any. */
static void
match_text(struct pair_span old, json_t *verdict, const char *mention)
{
	json_t *mj = verdict ? json_incref(verdict) : old.n && *old.p == '{' ?
	    ndjson_parse(old.p, old.n, 0) : NULL;

	if (!json_is_object(mj)) {
		json_decref(mj);
		mj = json_object();
	}
	if (mention)
		json_object_set_new(mj, "mention", json_string(mention));
	F.mt.len = 0;
	ndjson_dump(&F.mt, mj);
	json_decref(mj);
}

/* Write (or drop) a pair judged. */
static void
finish(int res, struct rev *r, struct match_mail *m, int pending, int k,
    const char *line, size_t len, const struct pair *pr)
{
	const char *mention = k >= 0 ? r->s->mentions[k].content : NULL;
	json_t *verdict;

	if (res == DROP) {
		F.dropped++;
		return;
	}
	F.matched += pending;
	F.passed += !pending;
	F.mentions += mention != NULL;
	log_trace("out", (long long)m->killmail_id, r->id);	/* before a flush */
	if (!pending && !mention) {
		out_line(line, len);
		return;
	}
	verdict = pending ? match_verdict_json(&F.v, m) : NULL;
	match_text(pr->match, verdict, mention);
	json_decref(verdict);
	out_pair(line, len, pr, &F.mt);
}

static void
hold(const char *line, size_t len, const struct pair *pr, struct rev *r, int pending,
    int replayed)
{
	struct held *h;

	if (F.nheld == F.capheld) {
		F.capheld = F.capheld ? F.capheld * 2 : 256;
		F.held = mem_realloc(F.held, F.capheld * sizeof *F.held);
	}
	h = &F.held[F.nheld++];
	h->at = (size_t)(pr->mail.p - line);
	h->len = len - pr->mail.n;
	h->rest = mem_realloc(NULL, h->len + 1);
	memcpy(h->rest, line, h->at);
	memcpy(h->rest + h->at, pr->mail.p + pr->mail.n, h->len - h->at);
	h->mail = hmail_of(pr->mail);
	h->rev = r;
	h->pending = pending;
	h->replayed = replayed;
	r->refs++;
	F.replayed_left += replayed;
	if (F.nheld > F.most_held)
		F.most_held = F.nheld;
}

static void
release(struct held *h)
{
	free(h->rest);
	hmail_put(h->mail);
	h->rev->refs--;
	F.replayed_left -= h->replayed;
}

/* A waiting pair's line as it came. */
static void
held_line(const struct held *h, struct buf *b)
{
	b->len = 0;
	buf_add(b, h->rest, h->at);
	buf_add(b, h->mail->text, h->mail->len);
	buf_add(b, h->rest + h->at, h->len - h->at);
}

/* Decide again the waiting pairs, in order, when ESI has said something. */
static void
retry_held(void)
{
	unsigned long now = geo_changes(F.geo) + F.names_done;
	size_t i, n = 0;
	struct pair pr;
	int res, k;

	if (now == F.seen)
		return;
	F.seen = now;
	for (i = 0; i < F.nheld; i++) {
		struct held *h = &F.held[i];

		if ((res = judge(h->rev, &h->mail->m, h->pending, &k)) == WAIT) {
			F.held[n++] = *h;
			continue;
		}
		held_line(h, &F.line);
		if (pair_read(F.line.p, F.line.len, h->mail->text, h->mail->len, &pr) < 0)
			log_fatal(EXIT_BUG, "a waiting pair no longer reads");
		finish(res, h->rev, &h->mail->m, h->pending, k, F.line.p, F.line.len, &pr);
		release(h);
	}
	F.nheld = n;
}

/* Is the match "pending"?  Parsed only when its text may say so. */
static int
is_pending(struct pair_span sp)
{
	json_t *j;
	int p;

	if (!sp.n || *sp.p != '{' ||
	    (!memmem(sp.p, sp.n, "\"pending\"", 9) && !memchr(sp.p, '\\', sp.n)))
		return 0;
	j = ndjson_parse(sp.p, sp.n, 0);
	p = json_is_true(json_object_get(j, "pending"));
	json_decref(j);
	return p;
}

/* For the latency benchmark: the killmail of a pair passed unread. */
static void
trace_pass(const struct rev *r, struct pair_span mail)
{
	long long id = 0;

	if (log_level < LOG_DEBUG)
		return;
	if (mail.n > 15 && !memcmp(mail.p, "{\"killmail_id\":", 15))
		id = strtoll(mail.p + 15, NULL, 10);	/* a digit or '}' ends it */
	log_trace("out", id, r->id);
}

static void
take_pair(const char *line, size_t len, const struct pair *pr, unsigned long lineno,
    int replayed)
{
	struct rev *r = rev_of(pr->stream, lineno);
	int pending = is_pending(pr->match), res, k;
	struct match_mail *m;

	if (!pending && !r->mentions) {
		F.passed++;
		trace_pass(r, pr->mail);
		out_line(line, len);	/* no business here: the very bytes */
	} else if (!rev_stream(r, lineno)) {
		if (pending)
			F.dropped++;
		else
			out_line(line, len);
	} else if ((m = mail_of(pr->mail, lineno))) {
		F.pending += pending;
		if ((res = judge(r, m, pending, &k)) == WAIT)
			hold(line, len, pr, r, pending, replayed);
		else
			finish(res, r, m, pending, k, line, len, pr);
	}
}

static void
take_line(const char *line, size_t len, unsigned long lineno, int replayed)
{
	struct pair pr;

	if (pair_read(line, len, F.last.p, F.last.len, &pr) < 0) {
		log_warn("malformed line skipped line=%lu", lineno);
		return;
	}
	F.in++;
	if (!pair_is(&pr)) {
		F.other++;
		out_line(line, len);
		return;
	}
	if (pr.mail.n != F.last.len || memcmp(pr.mail.p, F.last.p, pr.mail.n)) {
		F.last.len = 0;		/* a new mail: the next pairs will be its */
		buf_add(&F.last, pr.mail.p, pr.mail.n);
	}
	take_pair(line, len, &pr, lineno, replayed);
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
	for (i = 0; i < F.nheld; i++) {
		held_line(&F.held[i], &F.line);
		buf_addc(&F.line, '\n');
		fwrite(F.line.p, 1, F.line.len, f);
	}
	if (fflush(f) || ferror(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, F.pending_path))
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
	    "mentions=%lu other=%lu waiting=%zu most_waiting=%zu systems_asked=%lu "
	    "gates_asked=%lu gates_inferred=%lu gates_kept=%lu walks=%lu reached=%lu "
	    "esi_asked=%lu esi_cached=%lu esi_requests=%lu", F.in, F.passed, F.pending,
	    F.matched, F.dropped, F.mentions, F.other, F.nheld, F.most_held, gs.systems,
	    gs.gates, gs.gates_inferred, gs.kept, gs.walks, gs.reached, es.asked, es.cached,
	    es.requests);
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
	fcntl(1, F_SETPIPE_SZ, 1 << 20);	/* pairs are big: fewer wake-ups */
	F.http = http_new(&ho);
	F.cache = cache_new(&co);
	F.esi = esi_new(F.http, F.cache, &eo);
	F.geo = geo_new(geo_ask, F.esi);
	geo_set_keep(F.geo, geo_keep, F.cache);
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
	hmail_put(F.hlast);
	pair_mail_free(&F.pm);
	json_decref(F.mj);
	match_mail_free(&F.m);
	match_verdict_free(&F.v);
	buf_free(&F.last);
	buf_free(&F.out);
	buf_free(&F.mt);
	buf_free(&F.line);
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
