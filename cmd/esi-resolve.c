/* esi-resolve: package lines in, mail lines out.
 *
 * Reads R2Z2 packages (RedisQ ones normalised to that shape, raw RedisQ
 * {"package":..} objects, bare ESI killmails as in EVE Ref dumps, and the
 * backfill line {"killmail_id":N,"hash":".."}), fetches the ESI killmail
 * when a package lacks it, resolves every id through ESI (common/esi.h:
 * cached, shared, batched, polite), and writes one mail per killmail in the
 * model of DESIGN.md.  Pairs, receipts and mails pass through unchanged.
 *
 * Many mails are in flight at once; a mail is written as soon as it is
 * complete, so output order may differ from input order unless --ordered.
 * When --max-mails are waiting, stdin is not read: the pipe fills and the
 * puller stops.  SIGTERM: stop reading at a line boundary, give lookups
 * --drain to finish, write the input lines of the mails still waiting to
 * $STATE_DIR/esi-resolve.pending and exit 0; the next start replays them
 * first.  A malformed line, or one without killmail_id, is a warning and
 * is skipped.  Exit: 0 done, 100 usage, 111 system or output error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "conf.h"
#include "esi.h"
#include "http.h"
#include "line.h"
#include "log.h"
#include "ndjson.h"
#include "sig.h"

static void
usage(void)
{
	fputs("usage: esi-resolve [-Ov] [-T] [-c concurrency] [-m max-mails]\n"
	    "       [-d drain] [-u esi-url] [-r redis-url] [-s state-dir] < packages\n", stderr);
	exit(EXIT_PERM);
}

enum kind { S_BODY, S_SYSTEM, S_CONST, S_REGION, S_TYPE, S_GROUP, S_CAT,
	S_NAME, S_CORP, S_ALLI };

static const char *paths[] = { NULL, "/universe/systems/%" PRId64,
	"/universe/constellations/%" PRId64, "/universe/regions/%" PRId64,
	"/universe/types/%" PRId64, "/universe/groups/%" PRId64,
	"/universe/categories/%" PRId64, NULL, "/corporations/%" PRId64,
	"/alliances/%" PRId64 };

#define NBUCKET 64

struct slot {
	struct slot *next;
	struct mail *m;
	enum kind kind;
	int64_t id;
	json_t *val;		/* the answer; NULL: not found */
};

struct mail {
	struct mail *prev, *next;	/* every mail alive, in input order */
	char *line;			/* as read, to save on SIGTERM */
	json_t *pkg, *km;		/* the package and its ESI body */
	struct slot *tab[NBUCKET];
	int pending, done, replayed;
	json_t *out;
};

static struct {
	struct esi *esi;
	struct http *http;
	struct cache *cache;
	struct mail *head, *tail;
	int live, max_mails, ordered, tickers, replay_left;
	unsigned long in, out, skipped;
	const char *state;
} g;

/* ---- reading a package ---- */

static int64_t
idof(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int
hexhash(const char *h)
{
	size_t n = h ? strspn(h, "0123456789abcdefABCDEF") : 0;

	return n > 0 && n <= 64 && !h[n];
}

static json_t *
either(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	return v ? v : json_object_get(o, k2);
}

/* Bring the shapes we accept to one, a new object: killmail_id, hash, esi
 * when the body is there, zkb, sequence_id.  NULL with *pass set: a line
 * for another stage (1) or an empty RedisQ poll (2). */
static json_t *
normalise(json_t *j, int *pass)
{
	json_t *p = json_object_get(j, "package"), *pkg, *esi, *zkb, *h;

	*pass = json_object_get(j, "receipt") || json_object_get(j, "stream") ||
	    json_is_object(json_object_get(j, "system"));
	if (json_is_null(p))
		*pass = 2;
	if (*pass)
		return NULL;
	if (json_is_object(p))
		j = p;
	esi = either(j, "esi", "killmail");
	if (!esi && json_object_get(j, "victim"))
		esi = j;	/* a bare ESI killmail, as EVE Ref dumps them */
	zkb = json_object_get(j, "zkb");
	if (!json_is_string(h = json_object_get(j, "hash")))
		h = json_is_string(json_object_get(zkb, "hash")) ?
		    json_object_get(zkb, "hash") : json_object_get(j, "killmail_hash");
	pkg = json_object();
	json_object_set(pkg, "killmail_id", either(j, "killmail_id", "killID") ?
	    either(j, "killmail_id", "killID") : json_object_get(esi, "killmail_id"));
	json_object_set(pkg, "hash", json_is_string(h) ? h : json_null());
	if (esi)
		json_object_set(pkg, "esi", esi);
	if (json_is_object(zkb))
		json_object_set(pkg, "zkb", zkb);
	if (json_object_get(j, "sequence_id"))
		json_object_set(pkg, "sequence_id", json_object_get(j, "sequence_id"));
	return pkg;
}

static int
body_ok(json_t *km)
{
	return json_is_object(km) && idof(km, "solar_system_id") > 0 &&
	    json_is_object(json_object_get(km, "victim")) &&
	    json_is_array(json_object_get(km, "attackers")) &&
	    json_is_string(json_object_get(km, "killmail_time"));
}

/* ---- lookups ---- */

static struct slot **
bucket(struct mail *m, enum kind k, int64_t id)
{
	return &m->tab[((uint64_t)id * 31 + k) % NBUCKET];
}

static struct slot *
slot_of(struct mail *m, enum kind k, int64_t id)
{
	struct slot *s = *bucket(m, k, id);

	while (s && (s->kind != k || s->id != id))
		s = s->next;
	return s;
}

static json_t *
got(struct mail *m, enum kind k, int64_t id)
{
	struct slot *s = id ? slot_of(m, k, id) : NULL;

	return s ? s->val : NULL;
}

static void finish(struct mail *m);
static void need(struct mail *m, enum kind k, int64_t id);

/* An answer: fill the slot, ask what it leads to, finish when all came. */
static void
on_answer(void *arg, enum esi_status st, json_t *j)
{
	struct slot *s = arg;
	struct mail *m = s->m;

	(void)st;
	s->val = json_incref(j);
	switch (s->kind) {
	case S_SYSTEM: need(m, S_CONST, idof(j, "constellation_id")); break;
	case S_CONST: need(m, S_REGION, idof(j, "region_id")); break;
	case S_TYPE: need(m, S_GROUP, idof(j, "group_id")); break;
	case S_GROUP: need(m, S_CAT, idof(j, "category_id")); break;
	default: break;
	}
	if (--m->pending == 0)
		finish(m);
}

static void
need(struct mail *m, enum kind k, int64_t id)
{
	struct slot *s, **b;
	char path[64];

	if (id <= 0 || slot_of(m, k, id))
		return;
	s = calloc(1, sizeof *s);
	if (!s)
		log_fatal(EXIT_TEMP, "out of memory");
	s->m = m;
	s->kind = k;
	s->id = id;
	b = bucket(m, k, id);
	s->next = *b;
	*b = s;
	m->pending++;
	if (k == S_NAME) {
		esi_name(g.esi, id, on_answer, s);
		return;
	}
	snprintf(path, sizeof path, paths[k], id);
	esi_get(g.esi, path, on_answer, s);
}

/* Everything a party of the mail names: who, and what they flew. */
static void
need_party(struct mail *m, json_t *p)
{
	static const char *who[] = { "character_id", "corporation_id",
		"alliance_id", "faction_id" };

	for (int i = 0; i < 4; i++)
		need(m, S_NAME, idof(p, who[i]));
	if (g.tickers) {
		need(m, S_CORP, idof(p, "corporation_id"));
		need(m, S_ALLI, idof(p, "alliance_id"));
	}
	need(m, S_TYPE, idof(p, "ship_type_id"));
	need(m, S_TYPE, idof(p, "weapon_type_id"));
}

/* The body is known: ask for everything it names at once, so that the
 * names of all mails in flight share batches. */
static void
expand(struct mail *m)
{
	json_t *a;
	size_t i;

	m->pending++;		/* so no answer finishes the mail mid-way */
	need(m, S_SYSTEM, idof(m->km, "solar_system_id"));
	need_party(m, json_object_get(m->km, "victim"));
	json_array_foreach(json_object_get(m->km, "attackers"), i, a)
		need_party(m, a);
	if (--m->pending == 0)
		finish(m);
}

/* ---- writing a mail ---- */

static json_t *
str_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_incref(v) : json_null();
}

static json_t *
num_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_incref(v) : json_null();
}

static json_t *
real_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_real(json_number_value(v)) : json_null();
}

/* {"id":N,"name":..} from a lookup of kind k, or null when id is 0. */
static json_t *
entity(int64_t id, json_t *val)
{
	return id ? json_pack("{sIso}", "id", (json_int_t)id, "name", str_of(val, "name")) :
	    json_null();
}

static json_t *
party_entity(struct mail *m, json_t *p, const char *k, enum kind tk)
{
	int64_t id = idof(p, k);
	json_t *e = entity(id, got(m, S_NAME, id));

	if (id && g.tickers && tk)
		json_object_set_new(e, "ticker", str_of(got(m, tk, id), "ticker"));
	return e;
}

static json_t *
ship(struct mail *m, int64_t id)
{
	json_t *t = got(m, S_TYPE, id), *gr;
	int64_t gid = idof(t, "group_id"), cid;

	if (!id)
		return json_null();
	gr = got(m, S_GROUP, gid);
	cid = idof(gr, "category_id");
	return json_pack("{sIsososo}", "id", (json_int_t)id, "name", str_of(t, "name"),
	    "group", entity(gid, gr), "category", entity(cid, got(m, S_CAT, cid)));
}

static void
party(struct mail *m, json_t *o, json_t *p)
{
	json_object_set_new(o, "character", party_entity(m, p, "character_id", 0));
	json_object_set_new(o, "corporation", party_entity(m, p, "corporation_id", S_CORP));
	json_object_set_new(o, "alliance", party_entity(m, p, "alliance_id", S_ALLI));
	json_object_set_new(o, "faction", party_entity(m, p, "faction_id", 0));
	json_object_set_new(o, "ship", ship(m, idof(p, "ship_type_id")));
}

/* DESIGN.md: by id range first, then Pochven by region, then security. */
static const char *
space(int64_t sid, int64_t rid, json_t *sec)
{
	double s = json_number_value(sec);

	if (sid / 1000000 == 31)
		return "wormhole";
	if (sid / 1000000 == 32)
		return "abyssal";
	if (rid == 10000070)
		return "pochven";
	if (!json_is_number(sec))
		return NULL;
	return s >= 0.45 ? "highsec" : s > 0 ? "lowsec" : "nullsec";
}

static json_t *
system_of(struct mail *m)
{
	int64_t sid = idof(m->km, "solar_system_id");
	json_t *s = got(m, S_SYSTEM, sid), *pos = json_object_get(s, "position");
	int64_t cid = idof(s, "constellation_id");
	json_t *c = got(m, S_CONST, cid);
	int64_t rid = idof(c, "region_id");
	const char *sp = space(sid, rid, json_object_get(s, "security_status"));

	return json_pack("{sIsosososososo}", "id", (json_int_t)sid,
	    "name", str_of(s, "name"), "security", real_of(s, "security_status"),
	    "space", sp ? json_string(sp) : json_null(),
	    "constellation", entity(cid, c), "region", entity(rid, got(m, S_REGION, rid)),
	    "position", json_is_object(pos) ? json_pack("{sososo}", "x", real_of(pos, "x"),
		"y", real_of(pos, "y"), "z", real_of(pos, "z")) : json_null());
}

static json_t *
attackers(struct mail *m, int *final)
{
	json_t *out = json_array(), *a;
	size_t i;

	*final = -1;
	json_array_foreach(json_object_get(m->km, "attackers"), i, a) {
		json_t *o = json_object();

		party(m, o, a);
		json_object_set_new(o, "weapon", ship(m, idof(a, "weapon_type_id")));
		json_object_set_new(o, "damage_done", num_of(a, "damage_done"));
		json_object_set_new(o, "final_blow", json_boolean(json_is_true(
		    json_object_get(a, "final_blow"))));
		json_object_set_new(o, "security_status", real_of(a, "security_status"));
		json_array_append_new(out, o);
		if (*final < 0 && json_is_true(json_object_get(a, "final_blow")))
			*final = (int)i;
	}
	return out;
}

/* zKillboard's part: absent values are null, never invented. */
static void
zkb_part(json_t *o, json_t *z)
{
	json_t *labels = json_object_get(z, "labels");

	json_object_set_new(o, "value", json_pack("{sosososo}",
	    "total", num_of(z, "totalValue"), "fitted", num_of(z, "fittedValue"),
	    "dropped", num_of(z, "droppedValue"), "destroyed", num_of(z, "destroyedValue")));
	json_object_set_new(o, "points", num_of(z, "points"));
	json_object_set_new(o, "npc", json_is_boolean(json_object_get(z, "npc")) ?
	    json_incref(json_object_get(z, "npc")) : json_null());
	json_object_set_new(o, "solo", json_is_boolean(json_object_get(z, "solo")) ?
	    json_incref(json_object_get(z, "solo")) : json_null());
	json_object_set_new(o, "awox", json_is_boolean(json_object_get(z, "awox")) ?
	    json_incref(json_object_get(z, "awox")) : json_null());
	json_object_set_new(o, "labels", json_is_array(labels) ? json_incref(labels) : json_null());
}

static json_t *
build(struct mail *m)
{
	json_t *o = json_object(), *v = json_object(), *km = m->km;
	json_t *z = json_object_get(m->pkg, "zkb");
	int64_t id = idof(m->pkg, "killmail_id");
	char url[80];
	int fb;

	snprintf(url, sizeof url, "https://zkillboard.com/kill/%" PRId64 "/", id);
	json_object_set_new(o, "killmail_id", json_integer(id));
	json_object_set_new(o, "hash", str_of(m->pkg, "hash"));
	json_object_set_new(o, "time", str_of(km, "killmail_time"));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "system", system_of(m));
	json_object_set_new(o, "location_id", num_of(z, "locationID"));
	party(m, v, json_object_get(km, "victim"));
	json_object_set_new(v, "damage_taken", num_of(json_object_get(km, "victim"), "damage_taken"));
	json_object_set_new(o, "victim", v);
	json_object_set_new(o, "attackers", attackers(m, &fb));
	json_object_set_new(o, "attacker_count",
	    json_integer(json_array_size(json_object_get(km, "attackers"))));
	json_object_set_new(o, "final_blow", fb >= 0 ? json_integer(fb) : json_null());
	zkb_part(o, z);
	json_object_set_new(o, "war_id", num_of(km, "war_id"));
	json_object_set_new(o, "moon_id", num_of(km, "moon_id"));
	json_object_set_new(o, "sequence_id", num_of(m->pkg, "sequence_id"));
	return o;
}

/* ---- mails alive ---- */

static struct mail *
mail_new(const char *line, size_t len, int replayed)
{
	struct mail *m = calloc(1, sizeof *m);

	if (!m || !(m->line = strndup(line, len)))
		log_fatal(EXIT_TEMP, "out of memory");
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
	for (int i = 0; i < NBUCKET; i++)
		for (struct slot *s = m->tab[i], *nx; s; s = nx) {
			nx = s->next;
			json_decref(s->val);
			free(s);
		}
	if (m->replayed && --g.replay_left == 0 && unlink(g.state) == 0)
		log_info("replayed the mails saved at the last stop");
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
		log_trace("out", (long long)idof(m->pkg, "killmail_id"), NULL);
		ndjson_out(m->out);
		g.out++;
	} else if (printf("%s\n", m->line) < 0 || fflush(stdout))
		log_fatal(EXIT_TEMP, "write to stdout failed: %s", strerror(errno));
	mail_free(m);
}

/* Written as soon as complete, or in input order with --ordered. */
static void
flush_done(void)
{
	while (g.head && g.head->done)
		emit(g.head);
}

static void
finish(struct mail *m)
{
	m->out = build(m);
	m->done = 1;
	if (!g.ordered)
		emit(m);
	else
		flush_done();
}

static void
on_body(void *arg, enum esi_status st, json_t *j)
{
	struct mail *m = arg;

	if (st != ESI_OK || !body_ok(j)) {
		log_warn("killmail not at ESI or malformed, skipped killmail_id=%" PRId64,
		    idof(m->pkg, "killmail_id"));
		g.skipped++;
		m->done = 1;
		mail_free(m);
		flush_done();
		return;
	}
	m->km = json_incref(j);
	expand(m);
}

/* One input line: a mail started, a line passed on, or a warning. */
static void
take(char *line, size_t len, unsigned long lineno, int replayed)
{
	json_t *j = ndjson_parse(line, len, lineno), *pkg, *km;
	struct mail *m;
	int pass;
	char path[160];

	g.in++;
	if (!j) {
		g.skipped++;
		return;
	}
	pkg = normalise(j, &pass);
	json_decref(j);
	if (pass == 2) {
		g.skipped++;
		return;
	}
	if (pass) {
		(m = mail_new(line, len, replayed))->done = 1;
		g.ordered ? flush_done() : emit(m);
		return;
	}
	if (idof(pkg, "killmail_id") <= 0 || ((km = json_object_get(pkg, "esi")) ?
	    !body_ok(km) : !hexhash(json_string_value(json_object_get(pkg, "hash"))))) {
		log_warn("not a package (no killmail_id, body or hash), skipped line=%lu", lineno);
		g.skipped++;
		json_decref(pkg);
		return;
	}
	m = mail_new(line, len, replayed);
	m->pkg = pkg;
	json_object_del(json_object_get(km, "victim"), "items");	/* not carried */
	if (km) {
		m->km = json_incref(km);
		expand(m);
		return;
	}
	snprintf(path, sizeof path, "/killmails/%" PRId64 "/%s", idof(pkg, "killmail_id"),
	    json_string_value(json_object_get(pkg, "hash")));
	esi_get(g.esi, path, on_body, m);
}

/* ---- stopping and starting again ---- */

static struct {
	char **lines;
	size_t n, next;
} replay;

/* The mails of the last stop, replayed before stdin; the file goes when
 * the last of them is written, so a crash before then replays them again. */
static void
load_replay(void)
{
	FILE *f = fopen(g.state, "r");
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return;
	while ((n = getline(&l, &cap, f)) > 0) {
		if (l[n - 1] == '\n')
			l[--n] = 0;
		replay.lines = realloc(replay.lines, (replay.n + 1) * sizeof *replay.lines);
		replay.lines[replay.n++] = strdup(l);
	}
	free(l);
	fclose(f);
	g.replay_left = (int)replay.n;
	log_info("replaying saved mails n=%zu file=%s", replay.n, g.state);
	if (!replay.n)
		unlink(g.state);
}

static void
save_line(FILE *f, const char *l, size_t n)
{
	if (fwrite(l, 1, n, f) != n || putc('\n', f) == EOF)
		log_fatal(EXIT_TEMP, "write %s: %s", g.state, strerror(errno));
}

/* The input stopped inside a line: read on to its end, a byte at a time
 * so that not one byte of the next line leaves the pipe.  0: done. */
static int
finish_line(struct line_reader *lr, struct buf *b, double deadline)
{
	struct pollfd p = { lr->fd, POLLIN, 0 };
	ssize_t r;
	char c;

	buf_add(b, lr->buf + lr->start, lr->len);
	for (;;) {
		int ms = (int)((deadline - clock_mono()) * 1000);

		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			return -1;
		if ((r = read(lr->fd, &c, 1)) < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0 || c == '\n')
			return r < 0 ? -1 : 0;	/* end of input ends the line too */
		buf_addc(b, c);
	}
}

/* Every line read and not yet written out: mails in flight, replay lines
 * not taken yet, lines still in the input buffer (the last one finished). */
static void
save(struct line_reader *lr, double deadline)
{
	struct buf part = { 0 };
	char tmp[4096], *l;
	size_t n, saved = 0;
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", g.state);
	if (!(f = fopen(tmp, "w")))
		log_fatal(EXIT_TEMP, "open %s: %s", tmp, strerror(errno));
	for (struct mail *m = g.head; m; m = m->next, saved++)
		save_line(f, m->line, strlen(m->line));
	for (; replay.next < replay.n; replay.next++, saved++)
		save_line(f, replay.lines[replay.next], strlen(replay.lines[replay.next]));
	while (line_next(lr, &l, &n) == 1 && ++saved)
		save_line(f, l, n);
	if (lr->len && finish_line(lr, &part, deadline) == 0 && ++saved)
		save_line(f, part.p, part.len);
	else if (lr->len)
		log_warn("a partial input line was lost at the stop bytes=%zu", part.len);
	buf_free(&part);
	if (fflush(f) || fsync(fileno(f)) || fclose(f))
		log_fatal(EXIT_TEMP, "write %s: %s", tmp, strerror(errno));
	if (!saved)
		unlink(tmp), unlink(g.state);
	else if (rename(tmp, g.state))
		log_fatal(EXIT_TEMP, "rename %s: %s", g.state, strerror(errno));
	log_info("stopped, mails saved for the next start n=%zu", saved);
}

static void
mkdirs(const char *dir)
{
	char p[4096];

	snprintf(p, sizeof p, "%s", dir);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	if (mkdir(p, 0755) && errno != EEXIST)
		log_fatal(EXIT_TEMP, "mkdir %s: %s", p, strerror(errno));
}

/* ---- the loop ---- */

/* Lines are taken, replay first, while fewer than max_mails are alive. */
static int
take_lines(struct line_reader *lr)
{
	char *l;
	size_t n;
	int r = 0;

	while (g.live < g.max_mails && replay.next < replay.n) {
		l = replay.lines[replay.next];
		replay.lines[replay.next++] = NULL;
		take(l, strlen(l), 0, 1);
		free(l);
	}
	while (g.live < g.max_mails && replay.next == replay.n &&
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
	    "lru_entries=%zu lru_bytes=%zu redis_hits=%lu",
	    g.in, g.out, g.skipped, s.requests, s.names_requests, s.retries, s.asked,
	    s.cached, s.shared, s.stale_served, c.entries, c.bytes, c.redis_hits);
}

struct loop {
	struct line_reader lr;
	int sigfd, term, eof;
	double drain, deadline;
};

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
	int r = L->term ? 0 : take_lines(&L->lr), ms = esi_timeout(g.esi, 1000);
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
}

static void
run(struct loop *L)
{
	for (;;) {
		turn(L);
		if (L->term && (!g.live || clock_mono() >= L->deadline)) {
			save(&L->lr, L->deadline + 1);
			return;
		}
		if (L->eof && !g.live && replay.next == replay.n &&
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

static void
state_path(const char *dir)
{
	static char p[4096];

	dir = conf_str(dir, "STATE_DIR", "var");
	mkdirs(dir);
	snprintf(p, sizeof p, "%s/esi-resolve.pending", dir);
	g.state = p;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ordered", 0, NULL, 'O' }, { "no-tickers", 0, NULL, 'T' },
		{ "concurrency", 1, NULL, 'c' }, { "max-mails", 1, NULL, 'm' },
		{ "drain", 1, NULL, 'd' }, { "esi-url", 1, NULL, 'u' },
		{ "redis-url", 1, NULL, 'r' }, { "state-dir", 1, NULL, 's' },
		{ "verbose", 0, NULL, 'v' }, { "quiet", 0, NULL, 'q' }, { 0 } };
	const char *conc = NULL, *maxm = NULL, *drain = NULL, *url = NULL,
	      *redis = NULL, *dir = NULL;
	static struct loop L;
	int c;

	log_init(argv[0]);
	g.tickers = conf_long(NULL, "ESI_TICKERS", 1) != 0;
	g.ordered = conf_long(NULL, "ESI_ORDERED", 0) != 0;
	while ((c = getopt_long(argc, argv, "OTc:m:d:u:r:s:vq", lo, NULL)) != -1)
		switch (c) {
		case 'O': g.ordered = 1; break;
		case 'T': g.tickers = 0; break;
		case 'c': conc = optarg; break;
		case 'm': maxm = optarg; break;
		case 'd': drain = optarg; break;
		case 'u': url = optarg; break;
		case 'r': redis = optarg; break;
		case 's': dir = optarg; break;
		case 'v': log_verbose(1); break;
		case 'q': log_verbose(-1); break;
		default: usage();
		}
	if (optind != argc)
		usage();
	g.max_mails = conf_long(maxm, "ESI_MAX_MAILS", 128);
	L.drain = duration(drain, "ESI_DRAIN", "5s");
	L.sigfd = sig_init(0);
	state_path(dir);
	setup(url, redis, conf_long(conc, "ESI_CONCURRENCY", 16));
	line_init(&L.lr, 0, 0);
	load_replay();
	run(&L);
	report();
	cache_flush(g.cache);
	if (http_inflight(g.http))
		return EXIT_DONE;	/* abandoned lookups: nothing to free safely */
	esi_free(g.esi);
	cache_free(g.cache);
	http_free(g.http);
	line_free(&L.lr);
	free(replay.lines);
	return EXIT_DONE;
}
