/* geo: light years and lazy gate walks, against an in-process fake ESI
 * that answers later (like esi_run) and counts every request. */
#include <math.h>
#include <stdlib.h>

#include "cmd/filter2/geo.h"
#include "lib/log.h"
#include "tap.h"

#define MAXN 400
#define MAXE 2000

/* The fake map: systems 1..n as 30000000+i, edge k = gates 50000000+2k
 * (in a) and 50000000+2k+1 (in b).  Positions on a line, i light years. */
static struct {
	int n, ne;
	int ea[MAXE], eb[MAXE];
	int nogates[MAXN + 1], missing[MAXN + 1];
	int badgate;			/* a gate that answers 404 */
} map;

struct ask { char path[64]; esi_fn *fn; void *arg; };
static struct ask queue[100000];
static int nq, asked_sys, asked_gates;
static char log_paths[100000][64];
static int nlog;

/* A shared ESI cache, when caching is on: every answer delivered, and what
 * geo hands to keep; misses counts the questions it could not answer. */
static struct { char path[64]; char *json; int kept; } cache[2000];
static int ncache, caching, misses;

static int
cached(const char *path)
{
	for (int i = 0; i < ncache; i++)
		if (!strcmp(cache[i].path, path))
			return i;
	return -1;
}

static void
cache_add(const char *path, const char *json, int kept)
{
	int i = cached(path);

	if (i < 0)
		i = ncache++;
	else
		free(cache[i].json);
	snprintf(cache[i].path, sizeof cache[i].path, "%s", path);
	cache[i].json = strdup(json);
	cache[i].kept = kept;
}

static void
fake_keep(void *arg, const char *path, const char *json)
{
	(*(int *)arg)++;
	cache_add(path, json, 1);
}

static int64_t sid(int i) { return 30000000 + i; }

static void
fake_get(void *arg, const char *path, esi_fn *fn, void *fnarg)
{
	(void)arg;
	snprintf(queue[nq].path, sizeof queue[nq].path, "%s", path);
	snprintf(log_paths[nlog++], 64, "%s", path);
	queue[nq].fn = fn;
	queue[nq++].arg = fnarg;
	misses += caching && cached(path) < 0;
	if (strstr(path, "systems"))
		asked_sys++;
	else
		asked_gates++;
}

static json_t *
system_body(int i)
{
	json_t *gs = json_array();
	char name[16];
	int k;

	/* A system without gates has none at either end (as in EVE). */
	for (k = 0; k < map.ne && !map.nogates[i]; k++) {
		if (map.ea[k] == i && !map.nogates[map.eb[k]])
			json_array_append_new(gs, json_integer(50000000 + 2 * k));
		if (map.eb[k] == i && !map.nogates[map.ea[k]])
			json_array_append_new(gs, json_integer(50000000 + 2 * k + 1));
	}
	snprintf(name, sizeof name, "Sys%02d", i);
	if (!json_array_size(gs)) {
		json_decref(gs);
		gs = NULL;
	}
	return json_pack("{s:I,s:s,s:{s:f,s:f,s:f},s:o*}", "system_id", (json_int_t)sid(i),
	    "name", name, "position", "x", i * GEO_LY, "y", 0.0,
	    "z", 0.0, "stargates", gs);
}

static json_t *
answer(const char *path)
{
	long long id;
	int k;

	if (sscanf(path, "/universe/systems/%lld", &id) == 1) {
		if (id - 30000000 < 1 || id - 30000000 > map.n || map.missing[id - 30000000])
			return NULL;
		return system_body(id - 30000000);
	}
	if (sscanf(path, "/universe/stargates/%lld", &id) == 1 && id != map.badgate) {
		k = (id - 50000000) / 2;
		if (id % 2 == 0)
			return json_pack("{s:I,s:I,s:{s:I,s:I}}", "stargate_id", (json_int_t)id,
			    "system_id", (json_int_t)sid(map.ea[k]), "destination",
			    "stargate_id", (json_int_t)id + 1, "system_id", (json_int_t)sid(map.eb[k]));
		return json_pack("{s:I,s:I,s:{s:I,s:I}}", "stargate_id", (json_int_t)id,
		    "system_id", (json_int_t)sid(map.eb[k]), "destination",
		    "stargate_id", (json_int_t)id - 1, "system_id", (json_int_t)sid(map.ea[k]));
	}
	return NULL;
}

/* One round: answer what was asked before it began (answers may ask more,
 * which wait for the next round, as with esi_run and the network). */
static int
deliver(void)
{
	static struct ask now[100000];
	int i, n = nq;

	memcpy(now, queue, n * sizeof *now);
	nq = 0;
	for (i = 0; i < n; i++) {
		int c = caching ? cached(now[i].path) : -1;
		json_t *j = c >= 0 ? json_loads(cache[c].json, 0, NULL) : answer(now[i].path);

		if (caching && c < 0 && j) {
			char *t = json_dumps(j, JSON_COMPACT);

			cache_add(now[i].path, t, 0);
			free(t);
		}
		now[i].fn(now[i].arg, j ? ESI_OK : ESI_NOTFOUND, j);
		json_decref(j);
	}
	return n;
}

/* Ask until answered; the number of rounds it took in *rounds. */
static long
jumps(struct geo *g, int a, int b, long limit, int *rounds)
{
	long j;
	int r = 0;

	while (geo_jumps(g, sid(a), sid(b), limit, &j) == GEO_WAIT) {
		if (!deliver())
			return -99;	/* waiting with nothing asked: a hang */
		r++;
	}
	if (rounds)
		*rounds = r;
	return j;
}

static void
edge(int a, int b)
{
	map.ea[map.ne] = a;
	map.eb[map.ne++] = b;
}

/* 1-2-3-4-5 chain, 2-6-7-3 detour, 8-9 island, 10 wormhole, 11 unknown */
static void
small_map(void)
{
	memset(&map, 0, sizeof map);
	map.n = 11;
	edge(1, 2); edge(2, 3); edge(3, 4); edge(4, 5);
	edge(2, 6); edge(6, 7); edge(7, 3);
	edge(8, 9);
	map.nogates[10] = 1;
	map.missing[11] = 1;
}

static int
was_asked(const char *path)
{
	int i;

	for (i = 0; i < nlog; i++)
		if (!strcmp(log_paths[i], path))
			return 1;
	return 0;
}

static void
test_known_answers(void)
{
	struct geo *g;
	enum geo_res r;
	double ly;
	int rounds;

	small_map();
	g = geo_new(fake_get, NULL);
	nq = nlog = asked_sys = asked_gates = 0;
	is_int(jumps(g, 1, 1, 0, NULL), 0, "the reference itself is 0 jumps");
	is_int(nlog, 0, "... without asking ESI");
	is_int(jumps(g, 1, 3, 5, &rounds), 2, "two jumps away");
	is_int(jumps(g, 1, 5, 3, NULL), -1, "four jumps is beyond a limit of 3");
	is_int(jumps(g, 1, 5, 4, NULL), 4, "four jumps within 4");
	is_int(jumps(g, 1, 7, 10, NULL), 3, "the shorter of two paths");
	is_int(jumps(g, 3, 6, 10, NULL), 2, "another reference, another walk");
	is_int(jumps(g, 1, 8, 50, NULL), -1, "an island is unreachable");
	is_int(jumps(g, 1, 10, 50, NULL), -1, "a wormhole has no gate path");
	is_int(jumps(g, 10, 10, 5, NULL), 0, "a wormhole reference is 0 jumps from itself");
	is_int(jumps(g, 10, 1, 5, NULL), -1, "nothing is within jumps of a wormhole");
	is_int(jumps(g, 11, 1, 5, NULL), -1, "a system ESI does not know has no gates");
	is_int(jumps(g, 8, 9, 1, NULL), 1, "island internal");
	r = geo_lightyears(g, sid(1), sid(4), &ly);
	ok(r == GEO_OK && fabs(ly - 3) < 1e-9, "light years from known positions (%g)", ly);
	r = geo_lightyears(g, sid(10), sid(1), &ly);
	ok(r == GEO_OK && fabs(ly - 9) < 1e-9, "a wormhole has light years (%g)", ly);
	ok(geo_lightyears(g, sid(11), sid(1), &ly) == GEO_NONE && ly == -1,
	    "no light years to a system ESI does not know");
	is_str(geo_name(g, sid(3)), "Sys03", "the name ESI gave");
	geo_free(g);
}

static void
test_lazy(void)
{
	struct geo *g;
	struct geo_stats st;
	unsigned long c0;
	enum geo_res r;
	double ly;
	long j;
	int rounds, before;

	small_map();
	g = geo_new(fake_get, NULL);
	nq = nlog = asked_sys = asked_gates = 0;
	is_int(jumps(g, 1, 2, 1, &rounds), 1, "1 -> 2 within 1");
	is_int(asked_sys, 1, "a 1-jump walk asks for the reference system only");
	is_int(asked_gates, 1, "... and its one gate");
	ok(was_asked("/universe/systems/30000001") && was_asked("/universe/stargates/50000000"),
	    "... these two");
	is_int(rounds, 2, "... in two rounds (system, then gates)");
	before = nlog;
	is_int(jumps(g, 1, 3, 1, NULL), -1, "3 is beyond 1 jump");
	is_int(nlog, before, "a question within the walk's radius asks nothing");
	is_int(jumps(g, 1, 6, 2, NULL), 2, "growing the walk to 2 jumps");
	is_int(asked_sys, 2, "... fetches the one system of level 1");
	is_int(asked_gates, 3, "... and its gates except the way back (known from the other end)");
	ok(!was_asked("/universe/stargates/50000001"), "the gate 2 -> 1 was never asked");
	geo_stats(g, &st);
	is_int(st.gates_inferred, 3, "three gates learned from their other end");
	before = nlog;
	c0 = geo_changes(g);
	ok(geo_jumps(g, sid(1), sid(6), 2, &j) == GEO_OK && j == 2, "later mails: answered at once");
	is_int(nlog - before, 0, "... with no request");
	is_int(geo_changes(g), c0, "... and no change");
	/* A mail's own position spares a request. */
	geo_set_position(g, sid(9), 9 * GEO_LY, 0, 0);
	before = nlog;
	r = geo_lightyears(g, sid(9), sid(1), &ly);
	ok(r == GEO_OK && fabs(ly - 8) < 1e-9, "light years with a position from the mail (%g)", ly);
	is_int(nlog, before, "... asked nothing (system 1 already known)");
	ok(geo_lightyears(g, sid(9), sid(5), &ly) == GEO_WAIT, "an unknown position waits");
	ok(geo_lightyears(g, sid(9), sid(5), &ly) == GEO_WAIT, "... and asking again");
	is_int(nlog, before + 1, "... asks once");
	deliver();
	r = geo_lightyears(g, sid(9), sid(5), &ly);
	ok(r == GEO_OK && fabs(ly - 4) < 1e-9, "... then answers (%g)", ly);
	geo_free(g);
}

static void
test_failures(void)
{
	struct geo *g;

	small_map();
	map.badgate = 50000000 + 2 * 1;	/* 2 -> 3 answers 404 */
	g = geo_new(fake_get, NULL);
	nq = nlog = 0;
	is_int(jumps(g, 2, 3, 5, NULL), 3, "a gate ESI does not know is skipped (2-6-7-3)");
	is_int(jumps(g, 1, 4, 5, NULL), 5, "... by every walk (1-2-6-7-3-4)");
	geo_free(g);
	/* geo_free with requests in flight (esi_free drops them). */
	g = geo_new(fake_get, NULL);
	ok(geo_jumps(g, sid(1), sid(5), 5, &(long){ 0 }) == GEO_WAIT, "a walk waiting");
	geo_free(g);
	nq = 0;
	ok(1, "freed while waiting");
}

/* near NEAR on a mail in system sys: the answer once ESI has answered. */
static enum match_tv
near(struct geo *g, int sys, const char *sysname, int at, long jumps, double ly,
    struct match_distance *d)
{
	json_t *j = json_pack("{s:{s:I,s:s,s:{s:f,s:f,s:f}}}", "system", "id",
	    (json_int_t)sid(sys), "name", sysname, "position", "x", sys * GEO_LY, "y", 0.0, "z", 0.0);
	struct match_mail m = { 0 };
	struct match_near ref = { .system = sid(at), .jumps = jumps, .lightyears = ly };
	enum match_tv t;

	match_mail_init(&m, j);
	for (;;) {
		*d = (struct match_distance){ .jumps = -1, .lightyears = -1 };
		if ((t = geo_near(g, sid(at), "Written", &m, &ref, d)) != MATCH_UNKNOWN || !deliver())
			break;
	}
	match_mail_free(&m);
	json_decref(j);
	return t;
}

static void
test_near(void)
{
	struct match_distance d;
	struct geo *g;

	small_map();
	g = geo_new(fake_get, NULL);
	nq = nlog = 0;
	is_int(near(g, 4, "Sys04", 1, 3, -1, &d), MATCH_TRUE, "near: 3 jumps within 3");
	ok(d.system == sid(1) && d.jumps == 3 && fabs(d.lightyears - 3) < 1e-9,
	    "near: reports the reference, jumps and light years");
	is_str(d.name, "Sys01", "near: the reference's name from ESI");
	is_int(near(g, 4, "Sys04", 1, 2, -1, &d), MATCH_FALSE, "near: 3 jumps beyond 2");
	is_int(near(g, 4, "Sys04", 1, 3, 2.5, &d), MATCH_FALSE, "near: both limits must hold (3 ly)");
	is_int(near(g, 4, "Sys04", 1, -1, 3, &d), MATCH_TRUE, "near: light years alone (inclusive)");
	ok(d.jumps == -1, "near: no jumps reported for a light-year entry");
	is_int(near(g, 10, "Sys10", 9, -1, 1.5, &d), MATCH_TRUE, "near: a wormhole within light years");
	is_int(near(g, 10, "Sys10", 9, 5, -1, &d), MATCH_FALSE, "near: a wormhole fails a jump limit");
	is_int(near(g, 10, "Sys10", 10, 0, -1, &d), MATCH_TRUE, "near: ... but is 0 jumps from itself");
	ok(d.jumps == 0 && d.lightyears == 0, "near: 0 jumps, 0 ly");
	is_str(d.name, "Sys10", "near: its name from the mail, asked nothing");
	is_int(near(g, 3, "Sys03", 11, -1, 100, &d), MATCH_FALSE,
	    "near: a reference ESI does not know is never near");
	geo_free(g);
}

static long
bfs(int a, int b, long limit)
{
	static int d[MAXN + 1], q[MAXN + 1];
	int h = 0, t = 0, k;

	for (k = 0; k <= map.n; k++)
		d[k] = -1;
	d[a] = 0;
	q[t++] = a;
	while (h < t) {
		int u = q[h++];

		for (k = 0; k < map.ne && !map.nogates[u]; k++) {
			int v = map.ea[k] == u ? map.eb[k] : map.eb[k] == u ? map.ea[k] : 0;

			if (v && !map.nogates[v] && d[v] < 0) {
				d[v] = d[u] + 1;
				q[t++] = v;
			}
		}
	}
	return d[b] >= 0 && d[b] <= limit ? d[b] : -1;
}

/* Random sparse maps: every answer equals a plain BFS. */
static void
test_random(void)
{
	int round, bad = 0, n = 0;

	srandom(5);
	for (round = 0; round < 4; round++) {
		struct geo *g = geo_new(fake_get, NULL);
		int i, k;

		memset(&map, 0, sizeof map);
		map.n = 300;
		for (k = 0; k < 380; k++) {
			int a = 1 + random() % map.n, b = 1 + random() % map.n;

			if (a != b)
				edge(a, b);
		}
		for (i = 1; i <= map.n; i += 17)
			map.nogates[i] = 1;
		nq = nlog = 0;
		for (i = 0; i < 400; i++) {
			int a = 1 + random() % 12, b = 1 + random() % map.n;
			long limit = random() % 15, got = jumps(g, a, b, limit, NULL);

			n++;
			if (got != bfs(a, b, limit) && bad++ < 5)
				printf("# %d -> %d limit %ld: got %ld want %ld\n", a, b, limit,
				    got, bfs(a, b, limit));
		}
		geo_free(g);
	}
	is_int(bad, 0, "%d random questions answered as a plain BFS does", n);
}

/* The gates a walk infers are kept as ESI would answer for them, so that
 * another process, whose walk asks for them, finds them in the cache. */
static void
test_keep(void)
{
	struct geo *g;
	struct geo_stats st;
	int kept = 0, i, same = 1, used = 0;

	small_map();
	caching = 1;
	ncache = misses = nq = nlog = 0;
	g = geo_new(fake_get, NULL);
	geo_set_keep(g, fake_keep, &kept);
	is_int(jumps(g, 1, 4, 3, NULL), 3, "keep: a walk from 1 (levels 0-2: systems 1, 2, 3, 6)");
	geo_stats(g, &st);
	ok(kept > 0 && (unsigned long)kept == st.gates_inferred && st.kept == st.gates_inferred,
	    "keep: every gate inferred is kept (%d), once", kept);
	for (i = 0; i < ncache; i++) {
		json_t *got, *want;

		if (!cache[i].kept)
			continue;
		got = json_loads(cache[i].json, 0, NULL);
		want = answer(cache[i].path);
		same &= got && want && json_equal(got, want) && !was_asked(cache[i].path);
		json_decref(got);
		json_decref(want);
	}
	ok(same, "keep: each is the answer ESI gives for its path, and was never asked");
	geo_free(g);

	/* A new process walks from 2: it asks for 2 -> 1, which the first
	 * walk inferred from 1 -> 2. */
	misses = nq = nlog = 0;
	g = geo_new(fake_get, NULL);
	is_int(jumps(g, 2, 7, 2, NULL), 2, "keep: a walk from 2 in a new process");
	for (i = 0; i < ncache; i++)
		used += cache[i].kept && was_asked(cache[i].path);
	ok(used > 0, "keep: it asked for gates the first walk had inferred (%d)", used);
	is_int(misses, 0, "keep: ... and the cache answered everything it asked");
	geo_free(g);
	for (i = 0; i < ncache; i++)
		free(cache[i].json);
	caching = ncache = 0;
}

int
main(void)
{
	log_init("geo-test");
	test_known_answers();
	test_lazy();
	test_failures();
	test_near();
	test_random();
	test_keep();
	return done_testing();
}
