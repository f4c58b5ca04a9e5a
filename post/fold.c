/* fold: fights, their messages and the file folds; see fold.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "json/ndjson.h"
#include "post/fold.h"
#include "post/spool.h"

static struct {
	int edits;		/* the platform edits messages */
	struct fight *all;
	FILE *f;
	int dirty;		/* lines written since the last sync */
	size_t lines, live;	/* lines since compaction; lines a compaction writes */
} F;

/* ---- the file ---- */

/* The file is made with the first fight: a poster of streams that do not
 * fold writes nothing more at start. */
static void
file_open(void)
{
	char p[1200];
	int fd;

	if ((fd = open(spool_path(p, sizeof p, "folds", ""),
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0 || !(F.f = fdopen(fd, "a")))
		log_fatal(EXIT_TEMP, "cannot write %s: %s", p, strerror(errno));
}

static void
put(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (!F.f)
		file_open();
	if (fprintf(F.f, "%s\n", s) < 0)
		log_fatal(EXIT_TEMP, "cannot append to folds: %s", strerror(errno));
	free(s);
	json_decref(j);
	F.lines++;
	F.dirty = 1;
}

static json_t *
kill_json(const struct fold_kill *k)
{
	return json_pack("[I,I,f,s#,s,s]", k->id, (json_int_t)k->t, k->value, &k->kind, 1,
	    k->ship, k->victim);
}

static json_t *
fight_json(const struct fight *f)
{
	json_t *ks = json_array();

	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(ks, kill_json(&f->k[i]));
	return json_pack("{s:s,s:s,s:s,s:s?,s:O,s:O?,s:I,s:s?,s:s?,s:f,s:i,s:f,s:o,"
	    "s:s,s:I,s:i,s:I,s:i}", "fight", f->name, "tw", f->tw, "stream", f->stream,
	    "sname", f->sname, "target", f->target, "color", f->color, "system", f->system,
	    "sys", f->sys, "region", f->region, "window", f->window, "min", f->min,
	    "arrived", f->arrived, "kills", ks, "msg", f->msg, "creating", f->creating,
	    "final", f->final, "shown", (json_int_t)f->shown, "shown_final", f->shown_final);
}

/* A change of f: {"f": name, key: v}. */
static void
put_change(const struct fight *f, const char *key, json_t *v)
{
	put(json_pack("{s:s,s:o}", "f", f->name, key, v));
}

static char *
dup_or_null(const char *s)
{
	return s ? mem_strdup(s) : NULL;
}

static void
kill_read(struct fold_kill *k, const json_t *a)
{
	const char *kind = json_string_value(json_array_get(a, 3));

	k->id = json_integer_value(json_array_get(a, 0));
	k->t = json_integer_value(json_array_get(a, 1));
	k->value = json_number_value(json_array_get(a, 2));
	k->kind = kind && *kind ? *kind : 'n';
	snprintf(k->ship, sizeof k->ship, "%s", json_string_value(json_array_get(a, 4)) ?
	    json_string_value(json_array_get(a, 4)) : "?");
	snprintf(k->victim, sizeof k->victim, "%s", json_string_value(json_array_get(a, 5)) ?
	    json_string_value(json_array_get(a, 5)) : "?");
}

static void
kill_push(struct fight *f, const struct fold_kill *k)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->k = mem_realloc(f->k, f->cap * sizeof *f->k);
	}
	f->k[f->n++] = *k;
}

static void
fight_free(struct fight *f)
{
	free(f->tw);
	free(f->stream);
	free(f->sname);
	free(f->sys);
	free(f->region);
	free(f->k);
	json_decref(f->target);
	json_decref(f->color);
	free(f);
}

static struct fight *
fight_named(const char *name)
{
	for (struct fight *f = F.all; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static void
fight_link(struct fight *f)
{
	f->next = F.all;
	F.all = f;
}

static void
fight_unlink(struct fight *f)
{
	for (struct fight **p = &F.all; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			fight_free(f);
			return;
		}
}

/* A whole fight, as fight_json wrote it. */
static void
load_fight(const json_t *j)
{
	struct fight *f = mem_calloc(1, sizeof *f);
	const json_t *a;
	struct fold_kill k;
	size_t i;

	snprintf(f->name, sizeof f->name, "%s", json_string_value(json_object_get(j, "fight")));
	f->hook = strtoull(f->name, NULL, 16);
	f->tw = mem_strdup(json_string_value(json_object_get(j, "tw")) ?
	    json_string_value(json_object_get(j, "tw")) : "");
	f->stream = mem_strdup(json_string_value(json_object_get(j, "stream")) ?
	    json_string_value(json_object_get(j, "stream")) : "?");
	f->sname = dup_or_null(json_string_value(json_object_get(j, "sname")));
	f->target = json_incref(json_object_get(j, "target"));
	f->color = json_incref(json_object_get(j, "color"));
	f->system = json_integer_value(json_object_get(j, "system"));
	f->sys = dup_or_null(json_string_value(json_object_get(j, "sys")));
	f->region = dup_or_null(json_string_value(json_object_get(j, "region")));
	f->window = json_number_value(json_object_get(j, "window"));
	f->min = (int)json_integer_value(json_object_get(j, "min"));
	f->arrived = json_number_value(json_object_get(j, "arrived"));
	json_array_foreach(json_object_get(j, "kills"), i, a) {
		kill_read(&k, a);
		kill_push(f, &k);
	}
	snprintf(f->msg, sizeof f->msg, "%s", json_string_value(json_object_get(j, "msg")) ?
	    json_string_value(json_object_get(j, "msg")) : "");
	f->creating = json_integer_value(json_object_get(j, "creating"));
	f->final = (int)json_integer_value(json_object_get(j, "final"));
	f->shown = (size_t)json_integer_value(json_object_get(j, "shown"));
	f->shown_final = (int)json_integer_value(json_object_get(j, "shown_final"));
	if (!f->target || f->min < 2 || f->window <= 0 || fight_named(f->name)) {
		fight_free(f);
		return;
	}
	fight_link(f);
}

/* One line of the file: a whole fight or a change of one. */
static void
load_line(const json_t *j)
{
	struct fight *f = fight_named(json_string_value(json_object_get(j, "f")) ?
	    json_string_value(json_object_get(j, "f")) : "");
	struct fold_kill k;
	const json_t *v;

	if (json_is_string(json_object_get(j, "fight"))) {
		load_fight(j);
		return;
	}
	if (!f)
		return;
	if ((v = json_object_get(j, "kill"))) {
		kill_read(&k, v);
		kill_push(f, &k);
		f->arrived = json_number_value(json_object_get(j, "a"));
	}
	if ((v = json_object_get(j, "msg")))
		snprintf(f->msg, sizeof f->msg, "%s", json_string_value(v) ? json_string_value(v) : "");
	if ((v = json_object_get(j, "creating")))
		f->creating = json_integer_value(v);
	if (json_object_get(j, "final"))
		f->final = 1;
	if ((v = json_object_get(j, "shown"))) {
		f->shown = (size_t)json_integer_value(v);
		f->shown_final = json_is_true(json_object_get(j, "shown_final"));
	}
	if (json_object_get(j, "closed"))
		fight_unlink(f);
}

/* Rewrite the file with a line per fight (a temporary file, synced, then
 * renamed: a kill -9 leaves the old file or the new). */
static void
compact(void)
{
	char p[1200], tmp[1200];
	int fd;

	spool_path(tmp, sizeof tmp, ".folds.tmp", "");
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		log_fatal(EXIT_TEMP, "cannot write %s: %s", tmp, strerror(errno));
	if (F.f)
		fclose(F.f);
	if (!(F.f = fdopen(fd, "a")))
		log_fatal(EXIT_TEMP, "cannot write %s: %s", tmp, strerror(errno));
	F.lines = F.live = 0;
	for (struct fight *f = F.all; f; f = f->next) {
		put(fight_json(f));
		F.live += f->n + 1;
	}
	if (fflush(F.f) || fdatasync(fileno(F.f)) < 0 ||
	    rename(tmp, spool_path(p, sizeof p, "folds", "")) < 0)
		log_fatal(EXIT_TEMP, "cannot write %s: %s", p, strerror(errno));
	F.dirty = 0;
}

void
fold_open(int edits)
{
	char p[1200], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	json_t *j;

	F.edits = edits;
	if ((f = fopen(spool_path(p, sizeof p, "folds", ""), "r"))) {
		/* a line cut short by a kill reads as nothing */
		while ((len = getline(&line, &cap, f)) > 0)
			if ((j = json_loadb(line, (size_t)len, 0, NULL))) {
				load_line(j);
				json_decref(j);
			}
		fclose(f);
	} else if (errno != ENOENT)
		log_fatal(EXIT_TEMP, "cannot read %s: %s", p, strerror(errno));
	free(line);
	if (F.all) {
		compact();
		log_info("fights resumed count=%zu", fold_open_count());
	} else
		unlink(p);	/* no fight left: nothing to keep */
}

void
fold_close(void)
{
	fold_flush();
	if (F.f)
		fclose(F.f);
	F.f = NULL;
	while (F.all)
		fight_unlink(F.all);
}

void
fold_flush(void)
{
	if (!F.dirty)
		return;
	if (fflush(F.f) || fdatasync(fileno(F.f)) < 0)
		log_fatal(EXIT_TEMP, "cannot write folds: %s", strerror(errno));
	F.dirty = 0;
	if (F.lines > 2 * F.live + 1000)
		compact();
}

size_t
fold_open_count(void)
{
	size_t n = 0;

	for (struct fight *f = F.all; f; f = f->next)
		n += !f->final;
	return n;
}

/* ---- kills into fights ---- */

/* The stream's fold: window and min; 0 when it has none (or a bad one:
 * stream-fanout checks it, a pair made by hand may not). */
static int
fold_conf(const json_t *stream, double *window, int *min)
{
	const json_t *fo = json_object_get(stream, "fold"), *w = json_object_get(fo, "window");
	const json_t *m = json_object_get(fo, "min");

	*window = json_is_number(w) ? json_number_value(w) :
	    json_is_string(w) ? conf_duration(json_string_value(w)) : -1;
	*min = json_is_integer(m) ? (int)json_integer_value(m) : 5;
	return *window >= 1 && *window <= 86400 && *min >= 2 && *min <= 1000;
}

static const char *
str_at(const json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* The few fields of a mail a summary needs; 0 when it lacks its time. */
static int
kill_of(const json_t *pair, struct fold_kill *k)
{
	const json_t *m = json_object_get(pair, "mail"), *v = json_object_get(m, "victim");
	const char *t = json_string_value(json_object_get(m, "time"));
	const char *kind = str_at(pair, "match", "kind"), *who;
	struct tm tm = { 0 };

	if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	k->id = json_integer_value(json_object_get(m, "killmail_id"));
	k->t = (long long)timegm(&tm);
	k->value = json_number_value(json_object_get(json_object_get(m, "value"), "total"));
	k->kind = kind && !strcmp(kind, "kill") ? 'k' : kind && !strcmp(kind, "loss") ? 'l' : 'n';
	snprintf(k->ship, sizeof k->ship, "%s", str_at(v, "ship", "name") ?
	    str_at(v, "ship", "name") : "?");
	who = str_at(v, "character", "name") ? str_at(v, "character", "name") :
	    str_at(v, "corporation", "name") ? str_at(v, "corporation", "name") : "?";
	snprintf(k->victim, sizeof k->victim, "%s", who);
	return 1;
}

static struct fight *
fight_new(const json_t *pair, const json_t *t, const char *tw, unsigned long long hook,
    json_int_t system, const struct fold_kill *k)
{
	struct fight *f = mem_calloc(1, sizeof *f);
	const json_t *st = json_object_get(pair, "stream"), *m = json_object_get(pair, "mail");
	const json_t *sys = json_object_get(m, "system");
	const char *sid = json_string_value(json_object_get(st, "id"));

	snprintf(f->name, sizeof f->name, "%016llx %.60s %" JSON_INTEGER_FORMAT " %"
	    JSON_INTEGER_FORMAT, hook, sid ? sid : "?", system, k->id);
	f->hook = hook;
	f->tw = mem_strdup(tw);
	f->stream = mem_strdup(sid ? sid : "?");
	f->sname = dup_or_null(json_string_value(json_object_get(st, "name")));
	f->target = json_deep_copy(t);
	f->color = json_deep_copy(json_object_get(json_object_get(st, "display"), "color"));
	f->system = system;
	f->sys = dup_or_null(json_string_value(json_object_get(sys, "name")));
	f->region = dup_or_null(str_at(sys, "region", "name"));
	fold_conf(st, &f->window, &f->min);
	fight_link(f);
	put(fight_json(f));
	F.live++;
	return f;
}

/* The open fight of (hook, stream, system). */
static struct fight *
fight_open(unsigned long long hook, const char *sid, json_int_t system)
{
	for (struct fight *f = F.all; f; f = f->next)
		if (!f->final && f->hook == hook && f->system == system && !strcmp(f->stream, sid))
			return f;
	return NULL;
}

static void
fight_over(struct fight *f)
{
	f->final = 1;
	put_change(f, "final", json_true());
	log_debug("fight over fight=\"%s\" kills=%zu", f->name, f->n);
}

/* The time of f's first kill (last 0) or its latest (last 1). */
static long long
t_of(const struct fight *f, int last)
{
	long long t = f->k[0].t;

	for (size_t i = 1; i < f->n; i++)
		if (last ? f->k[i].t > t : f->k[i].t < t)
			t = f->k[i].t;
	return t;
}

/* What the kill at index i of f is. */
static enum fold_act
act_of(struct fight *f, size_t i)
{
	if (i + 1 < (size_t)f->min)
		return FOLD_ALONE;
	if (i + 1 == (size_t)f->min && F.edits && !f->msg[0])
		return FOLD_FIRST;
	return FOLD_IN;
}

enum fold_act
fold_add(const json_t *pair, const json_t *t, const char *tw, unsigned long long hook,
    struct fight **out)
{
	const json_t *st = json_object_get(pair, "stream");
	const json_t *sys = json_object_get(json_object_get(pair, "mail"), "system");
	const char *sid = json_string_value(json_object_get(st, "id"));
	json_int_t system = json_integer_value(json_object_get(sys, "id"));
	struct fold_kill k = { 0 };
	struct fight *f;
	double window;
	int min;

	if (!sid || !fold_conf(st, &window, &min) || !system || !kill_of(pair, &k))
		return FOLD_NO;
	if ((f = fight_open(hook, sid, system))) {
		for (size_t i = 0; i < f->n; i++)
			if (f->k[i].id == k.id)	/* again, after a kill -9 */
				return *out = f, act_of(f, i);
		if (k.t > t_of(f, 1) + f->window || k.t < t_of(f, 0) - f->window) {
			fight_over(f);
			f = NULL;
		}
	}
	if (!f)
		f = fight_new(pair, t, tw, hook, system, &k);
	kill_push(f, &k);
	f->arrived = clock_wall();
	put(json_pack("{s:s,s:o,s:f}", "f", f->name, "kill", kill_json(&k), "a", f->arrived));
	F.live++;
	*out = f;
	return act_of(f, f->n - 1);
}

/* ---- the fights' messages ---- */

void
fold_job(struct fight *f, struct hook_job *j)
{
	f->job = j;
	if (!j->edit[0] && f->creating != j->kill) {
		f->creating = j->kill;
		put_change(f, "creating", json_integer(j->kill));
	}
}

struct fight *
fold_of(unsigned long long hook, const struct hook_job *j)
{
	for (struct fight *f = F.all; f; f = f->next)
		if (f->hook == hook && (j->edit[0] ? !strcmp(f->msg, j->edit) :
		    f->creating == j->kill && !strcmp(f->stream, j->stream)))
			return f;
	return NULL;
}

int
fold_replayed(unsigned long long hook, struct hook_job *j)
{
	struct fight *f = fold_of(hook, j);

	if (!f)
		return 1;
	/* a second copy, or the post of a message made already (answered,
	 * the kill came before its done line) */
	if (f->job || (!j->edit[0] && f->msg[0] && F.edits))
		return 0;
	f->job = j;
	return 1;
}

json_t *
fold_body(struct fight *f)
{
	f->sending = f->n;
	f->sending_final = f->final;
	return F.edits ? render_fold_discord(f, f->n, f->final) :
	    render_fold_slack(f, f->n, f->final);
}

void
fold_message(struct fight *f, const char *id)
{
	snprintf(f->msg, sizeof f->msg, "%s", id);
	put_change(f, "msg", json_string(f->msg));
	fold_flush();
}

/* Its message shows it over, or will never: f is forgotten. */
static void
fight_close(struct fight *f)
{
	put_change(f, "closed", json_true());
	F.live -= F.live > f->n + 1 ? f->n + 1 : F.live;
	fight_unlink(f);
}

void
fold_done(const struct hook_job *j, const char *status)
{
	struct fight *f;

	for (f = F.all; f && f->job != j; f = f->next)
		;
	if (!f)
		return;
	f->job = NULL;
	if (strcmp(status, "posted") && strcmp(status, "edited")) {
		/* refused, expired or dead: no edit would go either */
		log_warn("fight message given up, the fight is not followed further "
		    "fight=\"%s\" status=%s", f->name, status);
		fight_close(f);
		return;
	}
	f->shown = f->sending;
	f->shown_final = f->sending_final;
	put(json_pack("{s:s,s:I,s:b}", "f", f->name, "shown", (json_int_t)f->shown,
	    "shown_final", f->shown_final));
	if (f->shown_final || !F.edits)
		fight_close(f);
}

void
fold_tick(double now, void (*queue)(struct fight *f, const char *edit))
{
	struct fight *f, *next;

	for (f = F.all; f; f = next) {
		next = f->next;
		if (!f->final && now - f->arrived >= f->window)
			fight_over(f);
		if (f->job)
			continue;
		if (f->final && (f->n < (size_t)f->min || (F.edits && !f->msg[0]))) {
			fight_close(f);	/* never had a message, or lost it */
			continue;
		}
		if (F.edits && f->msg[0] && (f->n > f->shown || (f->final && !f->shown_final)))
			queue(f, f->msg);
		else if (!F.edits && f->final)
			queue(f, NULL);
	}
}
