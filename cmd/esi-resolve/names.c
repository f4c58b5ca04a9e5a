/* names: esi-resolve --names, whether the names streams compare exist.
 *
 * Reads the lines of stream-fanout --names ({"file","path","kind","name"};
 * others are ignored) and asks ESI, through the cache:
 *
 *  1. POST /universe/ids (500 names a request) resolves exact names,
 *     ignoring case, of systems, constellations, regions, types,
 *     characters, corporations, alliances and factions.  A name it does
 *     not know does not exist.
 *  2. Groups and categories have no such route: their lists are read
 *     (GET /universe/groups pages, /universe/categories, then each one's
 *     name).  The same lists, and those of systems, constellations,
 *     regions and types (names by POST /universe/names), give the nearest
 *     name by edit distance for a universe name that does not exist.
 *     Characters, corporations and alliances cannot be listed or searched
 *     without logging in: a missing one gets no suggestion.
 *
 * Writes "FILE: PATH: no alliance named \"X\"..." per place a missing name
 * is written.  When ESI cannot be reached it says so in one warning and
 * checks nothing: the exit code never depends on the network. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json/ndjson.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "names.h"

enum { L_SYSTEMS, L_CONSTS, L_REGIONS, L_TYPES, L_GROUPS, L_CATS, NLISTS };

static const struct kind {
	const char *key;	/* the stream's key */
	const char *what;	/* in messages */
	const char *ids;	/* its category in POST /universe/ids; NULL none */
	int list;		/* the list that has it; -1 none */
} kinds[] = {
	{ "system", "system", "systems", L_SYSTEMS },
	{ "constellation", "constellation", "constellations", L_CONSTS },
	{ "region", "region", "regions", L_REGIONS },
	{ "ship", "ship type", "inventory_types", L_TYPES },
	{ "weapon", "weapon type", "inventory_types", L_TYPES },
	{ "ship_group", "ship group", NULL, L_GROUPS },
	{ "weapon_group", "weapon group", NULL, L_GROUPS },
	{ "ship_category", "ship category", NULL, L_CATS },
	{ "weapon_category", "weapon category", NULL, L_CATS },
	{ "character", "character", "characters", -1 },
	{ "corporation", "corporation", "corporations", -1 },
	{ "alliance", "alliance", "alliances", -1 },
	{ "faction", "faction", "factions", -1 },
};

enum { UNKNOWN, FOUND, MISSING };

struct name {
	const struct kind *k;
	char *name;		/* the first spelling seen */
	json_t *where;		/* [[file, path, line], ...] */
	int state;
	int batch;		/* of POST /universe/ids; -1 not asked */
	char *hint;
};

/* Every id of a kind, then every name. */
struct list {
	const char *path;	/* paged lists take "?page=N" */
	const char *detail;	/* names by GET detail/ID; NULL: POST /universe/names */
	int paged, wanted, failed, page;
	long pending;
	char **v;
	size_t n, cap;
};

static struct {
	struct esi *esi;
	struct name *v;
	size_t n;
	int *batch_ok;
	struct list lists[NLISTS];
	unsigned long answers;	/* callbacks with an answer, any */
} s = { .lists = {
	[L_SYSTEMS] = { .path = "/universe/systems" },
	[L_CONSTS] = { .path = "/universe/constellations" },
	[L_REGIONS] = { .path = "/universe/regions" },
	[L_TYPES] = { .path = "/universe/types", .paged = 1 },
	[L_GROUPS] = { .path = "/universe/groups", .detail = "/universe/groups/", .paged = 1 },
	[L_CATS] = { .path = "/universe/categories", .detail = "/universe/categories/" },
} };

/* ---- input ---- */

/* A warning, printed in the order of the input lines. */
struct said {
	unsigned long line;
	char *text;
};

static void
add(const char *kind, const char *name, const char *file, const char *path,
    unsigned long line)
{
	const struct kind *k = NULL;
	struct name *n = NULL;

	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (!strcmp(kinds[i].key, kind))
			k = &kinds[i];
	if (!k)
		return;
	for (size_t i = 0; i < s.n && !n; i++)
		if (s.v[i].k == k && !strcasecmp(s.v[i].name, name))
			n = &s.v[i];
	if (!n) {
		s.v = mem_realloc(s.v, (s.n + 1) * sizeof *s.v);
		n = &s.v[s.n++];
		*n = (struct name){ k, mem_strdup(name), json_array(), UNKNOWN, -1, NULL };
	}
	json_array_append_new(n->where, json_pack("[ssI]", file, path, (json_int_t)line));
}

static void
read_input(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long no = 0;

	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		const char *kind = NULL, *name = NULL, *file = "-", *path = "$";

		no++;
		if (!j || json_unpack(j, "{s:s, s:s, s?s, s?s}", "kind", &kind,
		    "name", &name, "file", &file, "path", &path))
			log_debug("names: line skipped line=%lu", no);
		else
			add(kind, name, file, path, no);
		json_decref(j);
	}
	free(line);
}

/* ---- step 1: exact names ---- */

static void
on_ids(void *arg, enum esi_status st, json_t *j)
{
	int b = (int)(intptr_t)arg;
	const char *cat;
	json_t *found;

	s.answers++;
	if (st != ESI_OK || !json_is_object(j))
		return;		/* a 4xx: these names stay unchecked */
	s.batch_ok[b] = 1;
	json_object_foreach(j, cat, found) {
		size_t i;
		json_t *e;

		json_array_foreach(found, i, e) {
			const char *nm = json_string_value(json_object_get(e, "name"));

			for (size_t k = 0; nm && k < s.n; k++)
				if (s.v[k].k->ids && !strcmp(s.v[k].k->ids, cat) &&
				    !strcasecmp(s.v[k].name, nm))
					s.v[k].state = FOUND;
		}
	}
}

/* ESI answers 500 to two names that differ only in case: one of each. */
static void
ask_ids(void)
{
	json_t *body = json_array();
	int nb = 0;

	for (size_t i = 0; i <= s.n; i++) {
		if (i < s.n && s.v[i].k->ids) {
			size_t k;

			for (k = 0; k < i; k++)
				if (s.v[k].batch >= 0 && !strcasecmp(s.v[k].name, s.v[i].name))
					break;
			s.v[i].batch = k < i ? s.v[k].batch : nb;
			if (k == i)
				json_array_append_new(body, json_string(s.v[i].name));
		}
		if (json_array_size(body) == 500 || (i == s.n && json_array_size(body))) {
			char *b = ndjson_str(body);

			s.batch_ok = mem_realloc(s.batch_ok, (nb + 1) * sizeof *s.batch_ok);
			s.batch_ok[nb] = 0;
			esi_post(s.esi, "/universe/ids", b, on_ids, (void *)(intptr_t)nb);
			nb++;
			free(b);
			json_array_clear(body);
		}
	}
	json_decref(body);
}

/* ---- step 2: the lists ---- */

static void
list_add(struct list *l, const char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = mem_realloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = mem_strdup(name);
}

static void
on_name(void *arg, enum esi_status st, json_t *j)
{
	struct list *l = arg;
	const char *nm = json_string_value(json_object_get(j, "name"));

	s.answers++;
	l->pending--;
	if (st == ESI_OK && nm)
		list_add(l, nm);
}

static void ask_page(struct list *l);

static void
on_ids_page(void *arg, enum esi_status st, json_t *j)
{
	struct list *l = arg;
	char path[128];
	size_t i;
	json_t *v;

	s.answers++;
	l->pending--;
	if (st != ESI_OK || !json_is_array(j) || !json_array_size(j)) {
		/* past the last page: 404, or an empty page */
		l->failed |= l->page <= 1;
		return;
	}
	json_array_foreach(j, i, v) {
		json_int_t id = json_integer_value(v);

		if (id <= 0)
			continue;
		l->pending++;
		if (l->detail) {
			snprintf(path, sizeof path, "%s%" JSON_INTEGER_FORMAT, l->detail, id);
			esi_get(s.esi, path, on_name, l);
		} else
			esi_name(s.esi, id, on_name, l);
	}
	if (l->paged)
		ask_page(l);
}

static void
ask_page(struct list *l)
{
	char path[128];

	l->page++;
	if (l->paged)
		snprintf(path, sizeof path, "%s?page=%d", l->path, l->page);
	else
		snprintf(path, sizeof path, "%s", l->path);
	l->pending++;
	esi_get(s.esi, path, on_ids_page, l);
}

/* A universe name ESI does not know, and every group and category. */
static void
ask_lists(void)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.v[i].k->list >= 0 && s.v[i].state != FOUND &&
		    (s.v[i].batch < 0 || s.batch_ok[s.v[i].batch]))
			s.lists[s.v[i].k->list].wanted = 1;
	for (int i = 0; i < NLISTS; i++)
		if (s.lists[i].wanted)
			ask_page(&s.lists[i]);
}

/* ---- judging ---- */

/* Edit distance (optimal string alignment), ASCII case ignored. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), r[3][101], *p2 = r[0], *p = r[1], *c = r[2];

	if (la > 100 || lb > 100)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		p[j] = j;
	for (size_t i = 1; i <= la; i++) {
		c[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t v = p[j - 1] + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));

			if (p[j] + 1 < v)
				v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) ==
			    tolower((unsigned char)b[j - 1]) && p2[j - 2] + 1 < v)
				v = p2[j - 2] + 1;
			c[j] = v;
		}
		size_t *t = p2;

		p2 = p, p = c, c = t;
	}
	return p[lb];
}

/* In the list: found; else the nearest name close enough to be a typo
 * (a quarter of the letters, one or two in a short name). */
static void
judge(struct name *n, const struct list *l)
{
	size_t best = (size_t)-1, limit = 1 + strlen(n->name) / 4;
	const char *hint = NULL;

	for (size_t i = 0; i < l->n; i++) {
		size_t d = distance(n->name, l->v[i]);

		if (!d) {
			n->state = FOUND;
			return;
		}
		if (d < best)
			best = d, hint = l->v[i];
	}
	n->state = MISSING;
	if (hint && best <= (limit < 2 ? 2 : limit))
		n->hint = mem_strdup(hint);
}

/* The last warning of the esi module (kept while the level hides it),
 * from "host=": where, and why. */
static const char *
why(void)
{
	const char *p = strstr(log_last, "host=");

	return p ? p : "";
}

static int
said_cmp(const void *a, const void *b)
{
	const struct said *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

/* One line per place a missing name is written. */
static void
say(struct said **v, size_t *nv, const struct name *n)
{
	for (size_t w = 0; w < json_array_size(n->where); w++) {
		json_t *at = json_array_get(n->where, w);
		struct said *x;
		char text[8192];

		*v = mem_realloc(*v, (*nv + 1) * sizeof **v);
		x = &(*v)[(*nv)++];
		x->line = (unsigned long)json_integer_value(json_array_get(at, 2));
		snprintf(text, sizeof text, "%s: %s: no %s named \"%s\"%s%s%s",
		    json_string_value(json_array_get(at, 0)),
		    json_string_value(json_array_get(at, 1)), n->k->what, n->name,
		    n->hint ? " (did you mean \"" : n->k->list < 0 ?
		    " (ESI resolves exact names only)" : "", n->hint ? n->hint : "",
		    n->hint ? "\"?)" : "");
		x->text = mem_strdup(text);
	}
}

static void
report(int failed)
{
	struct said *v = NULL;
	size_t nv = 0;
	int missing = 0, unchecked = 0;

	for (size_t i = 0; i < s.n; i++) {
		struct name *n = &s.v[i];
		const struct list *l = n->k->list >= 0 ? &s.lists[n->k->list] : NULL;
		int asked = n->batch >= 0 && s.batch_ok[n->batch];

		if (n->state != FOUND && l && l->wanted && !l->failed && !l->pending && l->n)
			judge(n, l);
		else if (n->state != FOUND && asked)
			n->state = MISSING;
		unchecked += n->state == UNKNOWN;
		if (n->state == MISSING)
			missing++, say(&v, &nv, n);
	}
	if (nv)
		qsort(v, nv, sizeof *v, said_cmp);
	for (size_t i = 0; i < nv; i++) {
		puts(v[i].text);
		free(v[i].text);
	}
	free(v);
	if (unchecked && failed && (size_t)unchecked == s.n)
		log_warn("names not checked: ESI cannot be reached %s", why());
	else if (unchecked)
		log_warn("%d of %zu names not checked: ESI did not answer in time %s",
		    unchecked, s.n, why());
	log_debug("names: names=%zu missing=%d unchecked=%d", s.n, missing, unchecked);
}

/* ---- the loop ---- */

/* Wait for every answer, or give up: at the deadline, or when ESI failed
 * twice since it last answered (refused, unreachable, 5xx: it retries
 * forever, a check should not).  1 when ESI failed. */
static int
wait_answers(struct http *h, double deadline)
{
	unsigned long last = s.answers, base = 0;
	struct esi_stats st;

	esi_stats(s.esi, &st);
	base = st.errors;
	while (esi_pending(s.esi)) {
		http_wait(h, NULL, 0, esi_timeout(s.esi, 200));
		esi_run(s.esi);
		esi_stats(s.esi, &st);
		if (s.answers != last)
			last = s.answers, base = st.errors;
		if (st.errors >= base + 2 || clock_mono() >= deadline)
			return 1;
	}
	return 0;
}

int
names_check(struct esi *e, struct http *h, double wait)
{
	double deadline = clock_mono() + wait;
	int level = log_level, failed;

	s.esi = e;
	read_input(stdin);
	if (!s.n)
		return EXIT_DONE;	/* nothing to ask */
	log_level = LOG_FATAL;	/* one line for ESI's trouble, below */
	log_last[0] = 0;
	ask_ids();
	failed = wait_answers(h, deadline);
	if (!failed) {
		ask_lists();
		failed = wait_answers(h, deadline);
	}
	log_level = level;
	for (int i = 0; i < NLISTS; i++)
		s.lists[i].failed |= failed && s.lists[i].pending;
	report(failed);
	if (fflush(stdout) || ferror(stdout))
		log_fatal(EXIT_TEMP, "write to stdout failed");
	return EXIT_DONE;
}
