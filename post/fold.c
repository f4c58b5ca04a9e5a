/* fold: kills into fights, and the fights' messages; see fold.h (the
 * fights in memory and in the file: fold-file.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "json/ndjson.h"
#include "post/fold.h"
#include "post/fold-file.h"

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
	f->sname = fold_strdup(json_string_value(json_object_get(st, "name")));
	f->target = json_deep_copy(t);
	f->color = json_deep_copy(json_object_get(json_object_get(st, "display"), "color"));
	f->system = system;
	f->sys = fold_strdup(json_string_value(json_object_get(sys, "name")));
	f->region = fold_strdup(str_at(sys, "region", "name"));
	fold_conf(st, &f->window, &f->min);
	fold_link(f);
	fold_put(fold_fight_json(f));
	fold_st.live++;
	return f;
}

/* The open fight of (hook, stream, system). */
static struct fight *
fight_open(unsigned long long hook, const char *sid, json_int_t system)
{
	for (struct fight *f = fold_st.all; f; f = f->next)
		if (!f->final && f->n && f->hook == hook && f->system == system &&
		    !strcmp(f->stream, sid))
			return f;
	return NULL;
}

static void
fight_over(struct fight *f)
{
	f->final = 1;
	fold_put_change(f, "final", json_true());
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
	/* again after a restart: its post may be in the spool already */
	if (i + 1 == (size_t)f->min && fold_st.edits && !f->msg[0] && !f->job)
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
	fold_push(f, &k);
	f->arrived = clock_wall();
	fold_put(json_pack("{s:s,s:o,s:f}", "f", f->name, "kill", fold_kill_json(&k), "a", f->arrived));
	fold_st.live++;
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
		fold_put_change(f, "creating", json_integer(j->kill));
	}
}

struct fight *
fold_of(unsigned long long hook, const struct hook_job *j)
{
	for (struct fight *f = fold_st.all; f; f = f->next)
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
	if (f->job || (!j->edit[0] && f->msg[0] && fold_st.edits))
		return 0;
	f->job = j;
	return 1;
}

json_t *
fold_body(struct fight *f)
{
	f->sending = f->n;
	f->sending_final = f->final;
	return fold_st.edits ? render_fold_discord(f, f->n, f->final) :
	    render_fold_slack(f, f->n, f->final);
}

void
fold_message(struct fight *f, const char *id)
{
	snprintf(f->msg, sizeof f->msg, "%s", id);
	fold_put_change(f, "msg", json_string(f->msg));
	fold_flush();
}

/* Its message shows it over, or will never: f is forgotten. */
static void
fight_close(struct fight *f)
{
	fold_put_change(f, "closed", json_true());
	fold_st.live -= fold_st.live > f->n + 1 ? f->n + 1 : fold_st.live;
	fold_unlink(f);
}

void
fold_done(const struct hook_job *j, const char *status)
{
	struct fight *f;

	for (f = fold_st.all; f && f->job != j; f = f->next)
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
	if (fold_st.edits && !f->msg[0]) {
		/* a webhook URL with wait=false: Discord names no message */
		log_warn("fight message posted without its id, it cannot be edited "
		    "fight=\"%s\"", f->name);
		fight_close(f);
		return;
	}
	f->shown = f->sending;
	f->shown_final = f->sending_final;
	fold_put(json_pack("{s:s,s:I,s:b}", "f", f->name, "shown", (json_int_t)f->shown,
	    "shown_final", f->shown_final));
	if (f->shown_final || !fold_st.edits)
		fight_close(f);
}

void
fold_tick(double now, void (*queue)(struct fight *f, const char *edit))
{
	struct fight *f, *next;

	for (f = fold_st.all; f; f = next) {
		next = f->next;
		if (!f->n) {	/* its first kill's line lost to a power cut */
			fight_close(f);
			continue;
		}
		if (!f->final && now - f->arrived >= f->window)
			fight_over(f);
		if (f->job)
			continue;
		if (f->final && (f->n < (size_t)f->min || (fold_st.edits && !f->msg[0]))) {
			fight_close(f);	/* never had a message, or lost it */
			continue;
		}
		if (fold_st.edits && f->msg[0] && (f->n > f->shown || (f->final && !f->shown_final)))
			queue(f, f->msg);
		else if (!fold_st.edits && f->final)
			queue(f, NULL);
	}
}
