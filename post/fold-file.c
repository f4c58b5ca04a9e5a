/* fold-file: the fights in memory and in the file folds; see fold.h and
 * fold-file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "json/ndjson.h"
#include "post/fold.h"
#include "post/fold-file.h"
#include "post/spool.h"

struct fold_state fold_st;

/* ---- the file ---- */

/* The file is made with the first fight: a poster of streams that do not
 * fold writes nothing more at start. */
static void
file_open(void)
{
	char p[1200];
	int fd;

	if ((fd = open(spool_path(p, sizeof p, "folds", ""),
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0 || !(fold_st.f = fdopen(fd, "a")))
		log_fatal(EXIT_TEMP, "cannot write %s: %s", p, strerror(errno));
}

void
fold_put(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (!fold_st.f)
		file_open();
	if (fprintf(fold_st.f, "%s\n", s) < 0)
		log_fatal(EXIT_TEMP, "cannot append to folds: %s", strerror(errno));
	free(s);
	json_decref(j);
	fold_st.lines++;
	fold_st.dirty = 1;
}

json_t *
fold_kill_json(const struct fold_kill *k)
{
	return json_pack("[I,I,f,s#,s,s]", k->id, (json_int_t)k->t, k->value, &k->kind, 1,
	    k->ship, k->victim);
}

json_t *
fold_fight_json(const struct fight *f)
{
	json_t *ks = json_array();

	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(ks, fold_kill_json(&f->k[i]));
	return json_pack("{s:s,s:s,s:s,s:s?,s:O,s:O?,s:I,s:s?,s:s?,s:f,s:i,s:f,s:o,"
	    "s:s,s:I,s:i,s:I,s:i}", "fight", f->name, "tw", f->tw, "stream", f->stream,
	    "sname", f->sname, "target", f->target, "color", f->color, "system", f->system,
	    "sys", f->sys, "region", f->region, "window", f->window, "min", f->min,
	    "arrived", f->arrived, "kills", ks, "msg", f->msg, "creating", f->creating,
	    "final", f->final, "shown", (json_int_t)f->shown, "shown_final", f->shown_final);
}

/* A change of f: {"f": name, key: v}. */
void
fold_put_change(const struct fight *f, const char *key, json_t *v)
{
	fold_put(json_pack("{s:s,s:o}", "f", f->name, key, v));
}

char *
fold_strdup(const char *s)
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

void
fold_push(struct fight *f, const struct fold_kill *k)
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
	for (struct fight *f = fold_st.all; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

void
fold_link(struct fight *f)
{
	f->next = fold_st.all;
	fold_st.all = f;
}

void
fold_unlink(struct fight *f)
{
	for (struct fight **p = &fold_st.all; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			fight_free(f);
			return;
		}
}

/* A whole fight, as fold_fight_json wrote it. */
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
	f->sname = fold_strdup(json_string_value(json_object_get(j, "sname")));
	f->target = json_incref(json_object_get(j, "target"));
	f->color = json_incref(json_object_get(j, "color"));
	f->system = json_integer_value(json_object_get(j, "system"));
	f->sys = fold_strdup(json_string_value(json_object_get(j, "sys")));
	f->region = fold_strdup(json_string_value(json_object_get(j, "region")));
	f->window = json_number_value(json_object_get(j, "window"));
	f->min = (int)json_integer_value(json_object_get(j, "min"));
	f->arrived = json_number_value(json_object_get(j, "arrived"));
	json_array_foreach(json_object_get(j, "kills"), i, a) {
		kill_read(&k, a);
		fold_push(f, &k);
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
	fold_link(f);
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
		fold_push(f, &k);
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
		fold_unlink(f);
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
	if (fold_st.f)
		fclose(fold_st.f);
	if (!(fold_st.f = fdopen(fd, "a")))
		log_fatal(EXIT_TEMP, "cannot write %s: %s", tmp, strerror(errno));
	fold_st.lines = fold_st.live = 0;
	for (struct fight *f = fold_st.all; f; f = f->next) {
		fold_put(fold_fight_json(f));
		fold_st.live += f->n + 1;
	}
	if (fflush(fold_st.f) || fdatasync(fileno(fold_st.f)) < 0 ||
	    rename(tmp, spool_path(p, sizeof p, "folds", "")) < 0)
		log_fatal(EXIT_TEMP, "cannot write %s: %s", p, strerror(errno));
	fold_st.dirty = 0;
}

void
fold_open(int edits)
{
	char p[1200], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	json_t *j;

	fold_st.edits = edits;
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
	if (fold_st.all) {
		compact();
		log_info("fights resumed count=%zu", fold_open_count());
	} else
		unlink(p);	/* no fight left: nothing to keep */
}

void
fold_close(void)
{
	fold_flush();
	if (fold_st.f)
		fclose(fold_st.f);
	fold_st.f = NULL;
	while (fold_st.all)
		fold_unlink(fold_st.all);
}

void
fold_flush(void)
{
	if (!fold_st.dirty)
		return;
	if (fflush(fold_st.f) || fdatasync(fileno(fold_st.f)) < 0)
		log_fatal(EXIT_TEMP, "cannot write folds: %s", strerror(errno));
	fold_st.dirty = 0;
	if (fold_st.lines > 2 * fold_st.live + 1000)
		compact();
}

size_t
fold_open_count(void)
{
	size_t n = 0;

	for (struct fight *f = fold_st.all; f; f = f->next)
		n += !f->final;
	return n;
}
