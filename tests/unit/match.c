/* match: the data-driven suite of tests/data/match/NN-*.test.
 *
 * A case is a block of lines, blocks separated by blank lines:
 *
 *	# what the case shows (comment lines; the first names the case)
 *	@now 1795890000                   (optional: the clock, unix seconds)
 *	@oracle {"REF": {"jumps": 3, "lightyears": 4.2, "id": 30000142}, "REF2": "unknown"}
 *	CONDITION                         (one line of JSON)
 *	MAIL [PATH=JSON ...]              (a mail of mails.ndjson by name, then edits)
 *	EXPECTED                          (false, or the verdict as JSON, or
 *	                                   "error PATH: MESSAGE" lines, one per error)
 *
 * REF is a `near` reference as written (an id in decimal, or a name); the
 * test oracle says whether the mail's system is within the entry's limits
 * from what the case gives, unknown for "unknown", false for a reference
 * it does not know.  Without @oracle there is no oracle (filter1). */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>

#include "lib/log.h"
#include "match/match.h"
#include "json/ndjson.h"
#include "tap.h"

#define DIR_ "tests/data/match"
#define DEFAULT_NOW 1795890000.0	/* 2026-11-28T18:20:00Z */

static json_t *mails;	/* name -> mail */

struct kase {
	char name[256];
	char *lines[64];
	size_t n;
	double now;
	json_t *oracle;
	char *file;
	int line;
};

/* Set the value at a path like victim.alliance or attackers[0].ship.name. */
static int
set_path(json_t *root, const char *path, json_t *v)
{
	char key[128];
	json_t *cur = root;

	while (*path) {
		size_t n = strcspn(path, ".[");
		json_t *next;

		if (*path == '[') {
			size_t i = strtoul(path + 1, (char **)&path, 10);

			if (*path++ != ']' || !(next = json_array_get(cur, i)))
				return -1;
			if (!*path)
				return json_array_set_new(cur, i, v);
		} else {
			snprintf(key, sizeof key, "%.*s", (int)n, path);
			path += n;
			if (!*path)
				return json_object_set_new(cur, key, v);
			if (!(next = json_object_get(cur, key)) || json_is_null(next))
				json_object_set_new(cur, key, next = json_object());
		}
		if (*path == '.')
			path++;
		cur = next;
	}
	return -1;
}

/* "name path=json path=json ..." */
static json_t *
make_mail(const char *spec)
{
	char name[64], path[256];
	size_t n = strcspn(spec, " ");
	const char *p = spec + n, *eq;
	json_error_t e;
	json_t *m, *v;

	snprintf(name, sizeof name, "%.*s", (int)n, spec);
	if (!(m = json_object_get(mails, name)))
		return NULL;
	m = json_deep_copy(m);
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			return m;
		if (!(eq = strchr(p, '=')))
			break;
		snprintf(path, sizeof path, "%.*s", (int)(eq - p), p);
		v = json_loads(eq + 1, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &e);
		if (!v || set_path(m, path, v) < 0)
			break;
		p = eq + 1 + e.position;
	}
	json_decref(m);
	return NULL;
}

static enum match_tv
oracle(void *arg, const struct match_mail *m, const struct match_near *ref,
    struct match_distance *d)
{
	char id[32];
	const json_t *o, *j, *l;

	(void)m;
	snprintf(id, sizeof id, "%lld", (long long)ref->system);
	o = json_object_get(arg, ref->name ? ref->name : id);
	if (!o)
		return MATCH_FALSE;
	if (json_is_string(o))
		return MATCH_UNKNOWN;
	d->system = json_integer_value(json_object_get(o, "id"));
	snprintf(d->name, sizeof d->name, "%s", ref->name ? ref->name : "");
	j = json_object_get(o, "jumps");
	l = json_object_get(o, "lightyears");
	d->jumps = json_is_integer(j) ? json_integer_value(j) : -1;
	d->lightyears = json_is_number(l) ? json_number_value(l) : -1;
	return (ref->jumps < 0 || (d->jumps >= 0 && d->jumps <= ref->jumps)) &&
	    (ref->lightyears < 0 || (d->lightyears >= 0 && d->lightyears <= ref->lightyears)) ?
	    MATCH_TRUE : MATCH_FALSE;
}

struct errs {
	struct buf b;
};

static void
on_err(void *arg, const char *path, const char *msg)
{
	struct buf *b = arg;

	buf_add(b, "error ", 6);
	buf_add(b, path, strlen(path));
	buf_add(b, ": ", 2);
	buf_add(b, msg, strlen(msg));
	buf_addc(b, '\n');
}

/* The expected lines from the third on, joined by '\n'. */
static void
expected(const struct kase *k, struct buf *b)
{
	for (size_t i = 2; i < k->n; i++) {
		buf_add(b, k->lines[i], strlen(k->lines[i]));
		buf_addc(b, '\n');
	}
}

static void
run_error_case(const struct kase *k, json_t *cond)
{
	struct buf got = { 0 }, want = { 0 };
	struct match_cond *c = match_compile(cond, "$", NULL, on_err, &got);

	expected(k, &want);
	is_str(got.p ? got.p : "", want.p, "%s (%s:%d)", k->name, k->file, k->line);
	match_free(c);
	buf_free(&got);
	buf_free(&want);
}

static json_t *
verdict(struct match_cond *c, struct match_mail *m, const struct match_ctx *cx,
    struct match_verdict *v)
{
	if (match_eval(c, m, cx, v) == MATCH_FALSE)
		return json_false();
	return match_verdict_json(v, m);
}

/* The same case with the mail read from its text (match_mail_parse, the
 * path of stream-fanout and filter1) gives the same verdict. */
static void
from_text(const struct kase *k, struct match_cond *c, const json_t *mail,
    const struct match_ctx *cx, const json_t *want)
{
	char *text = ndjson_str(mail);
	struct match_mail m = { 0 };
	struct match_verdict v = { 0 };
	json_t *got;
	int r = match_mail_parse(&m, text, strlen(text));

	got = r < 0 ? json_string("unreadable") : verdict(c, &m, cx, &v);
	ok(json_equal(got, want), "%s, the mail read from its text", k->name);
	json_decref(got);
	match_verdict_free(&v);
	match_mail_free(&m);
	free(text);
}

static void
run_case(const struct kase *k)
{
	json_error_t e;
	json_t *cond = json_loads(k->lines[0], 0, &e), *mail, *want, *got;
	struct match_cond *c;
	struct match_mail m = { 0 };
	struct match_verdict v = { 0 };
	struct match_ctx cx = { .now = k->now, .oracle = k->oracle ? oracle : NULL,
		.oracle_arg = k->oracle };
	char *gs;

	if (!strncmp(k->lines[2], "error ", 6)) {
		run_error_case(k, cond);
		json_decref(cond);
		return;
	}
	mail = make_mail(k->lines[1]);
	c = cond ? match_compile(cond, "$", NULL, NULL, NULL) : NULL;
	want = json_loads(k->lines[2], JSON_DECODE_ANY, &e);
	if (!ok(c && mail && want, "%s: case reads (%s:%d)", k->name, k->file, k->line)) {
		printf("#   cond %s, mail %s, want %s\n", c ? "ok" : "bad", mail ? "ok" : "bad",
		    want ? "ok" : "bad");
	} else {
		match_mail_init(&m, mail);
		got = verdict(c, &m, &cx, &v);
		gs = ndjson_str(got);
		if (!ok(json_equal(got, want), "%s (%s:%d)", k->name, k->file, k->line))
			printf("#   got  %s\n#   want %s\n", gs, k->lines[2]);
		from_text(k, c, mail, &cx, got);
		free(gs);
		json_decref(got);
	}
	match_free(c);
	match_mail_free(&m);
	match_verdict_free(&v);
	json_decref(cond);
	json_decref(mail);
	json_decref(want);
}

static void
directive(struct kase *k, const char *l)
{
	json_error_t e;

	if (!strncmp(l, "@now ", 5))
		k->now = strtod(l + 5, NULL);
	else if (!strncmp(l, "@oracle ", 8))
		k->oracle = json_loads(l + 8, 0, &e);
}

static void
flush_case(struct kase *k)
{
	if (k->n >= 3)
		run_case(k);
	else if (k->n)
		ok(0, "%s: a case needs a condition, a mail, an expectation (%s:%d)",
		    k->name, k->file, k->line);
	for (size_t i = 0; i < k->n; i++)
		free(k->lines[i]);
	json_decref(k->oracle);
	*k = (struct kase){ .now = DEFAULT_NOW, .file = k->file };
}

static void
run_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;
	struct kase k = { .now = DEFAULT_NOW, .file = (char *)path };

	if (!ok(f != NULL, "open %s", path))
		return;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (!len) {
			flush_case(&k);
			continue;
		}
		if (!k.line)
			k.line = lineno;
		if (*line == '#' && !*k.name)
			snprintf(k.name, sizeof k.name, "%s", line + 2);
		else if (*line == '@')
			directive(&k, line);
		else if (*line != '#' && k.n < 64)
			k.lines[k.n++] = strdup(line);
	}
	flush_case(&k);
	free(line);
	fclose(f);
}

static void
load_mails(void)
{
	FILE *f = fopen(DIR_ "/mails.ndjson", "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	mails = json_object();
	while (f && (len = getline(&line, &cap, f)) > 0) {
		json_t *j = ndjson_parse(line, len, 0);

		if (j)
			json_object_set(mails, json_string_value(json_object_get(j, "name")),
			    json_object_get(j, "mail"));
		json_decref(j);
	}
	ok(json_object_size(mails) > 0, "base mails loaded from %s", DIR_ "/mails.ndjson");
	free(line);
	if (f)
		fclose(f);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	DIR *d;
	struct dirent *e;
	char *names[256], path[512];
	size_t n = 0;

	log_init("match-test");
	load_mails();
	if (!(d = opendir(DIR_)))
		return ok(0, "open " DIR_), done_testing();
	while ((e = readdir(d)) && n < 256)
		if (strlen(e->d_name) > 5 && !strcmp(e->d_name + strlen(e->d_name) - 5, ".test"))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, DIR_ "/%s", names[i]);
		run_file(path);
		free(names[i]);
	}
	json_decref(mails);
	return done_testing();
}
