/* fold: fight folding (insight-streams(5), FOLD).  For a stream with
 * "fold": {"window", "min"}, the kills of one (webhook, stream, solar
 * system) whose killmail times come within window of each other are a
 * fight.  Below min kills a fight's kills are posted one by one; the kill
 * that makes min makes the fight's message instead (a summary of every
 * kill so far), and the later ones are folded into it: on a platform that
 * edits (Discord) the message is edited, at most one edit queued at a
 * time, its body rendered when it is sent (so the kills that came while it
 * waited cost no edit of their own); elsewhere (Slack) they are held and
 * one summary is posted when the fight is over.  A fight is over when a
 * kill of its key starts a new fight, or window has passed on the poster's
 * clock since its last kill arrived; a last edit marks it over.
 *
 * The fights live in the file folds of the spool's state directory, one
 * JSON object a line: a whole fight {"fight": NAME, ...} (when it starts,
 * and when the file is compacted, at start and as it grows), then a line
 * per change {"f": NAME, "kill"|"msg"|"final"|"shown"|"closed": ..}.  The
 * lines of a turn are written and synced before its posts are spooled
 * (fold_flush), so a kill -9 finds every kill whose post or edit is in the
 * spool; a kill is never counted twice (a fight knows its kills' ids).
 * One set per process (module state); open it after spool_open. */
#ifndef FOLD_H
#define FOLD_H
#include <stddef.h>
#include <jansson.h>

#include "post/hook.h"

struct fold_kill {
	json_int_t id;
	long long t;		/* killmail time, unix seconds */
	double value;		/* ISK */
	char kind;		/* 'k' a kill of the stream, 'l' a loss, 'n' neither */
	char ship[104], victim[104];
};

struct fight {
	struct fight *next;
	char name[160];		/* unique: hook, stream, system, first kill */
	unsigned long long hook;	/* the webhook's id (hook.h) */
	char *tw, *stream, *sname;	/* target as written; stream id, name */
	json_t *target, *color;	/* the target object; display.color or NULL */
	json_int_t system;
	char *sys, *region;	/* names, or NULL */
	double window;
	int min;
	struct fold_kill *k;	/* in order of arrival */
	size_t n, cap;
	char msg[32];		/* the id of its message, once known */
	json_int_t creating;	/* the kill whose post makes its message */
	int final;		/* over: no kill joins it */
	size_t shown;		/* kills its message shows (answered) */
	int shown_final;	/* ... and it shows it over */
	size_t sending;		/* what the request in flight shows */
	int sending_final;
	double arrived;		/* wall clock of its last kill's arrival */
	struct hook_job *job;	/* its post or edit, queued or in flight */
};

enum fold_act {
	FOLD_NO,		/* not folded: post as usual */
	FOLD_ALONE,		/* in a fight below min: post as usual */
	FOLD_FIRST,		/* makes min: post the fight's message (fold_job) */
	FOLD_IN,		/* folded into the fight: not posted */
};

/* edits: the platform edits messages (Discord). */
void fold_open(int edits);
void fold_close(void);
/* The kill of pair (mail, match, stream) for the webhook of id hook,
 * target t written tw: what to do with it; *f its fight (not FOLD_NO). */
enum fold_act fold_add(const json_t *pair, const json_t *t, const char *tw,
    unsigned long long hook, struct fight **f);
/* j is f's post or edit, queued. */
void fold_job(struct fight *f, struct hook_job *j);
/* The fight whose post or edit j is, for webhook hook, or NULL. */
struct fight *fold_of(unsigned long long hook, const struct hook_job *j);
/* A post or edit read back from the spool: registered with its fight, or
 * 0 when its fight has no need of it (the message exists already, or an
 * edit of it is queued): then it is done without a request. */
int fold_replayed(unsigned long long hook, struct hook_job *j);
/* The body of f's message as it stands now (a new reference); what it
 * shows is what is being sent. */
json_t *fold_body(struct fight *f);
/* f's message was made: its id. */
void fold_message(struct fight *f, const char *id);
/* j's outcome (a receipt's status): f's job is over. */
void fold_done(const struct hook_job *j, const char *status);
/* Fights over, and messages behind: for each, queue(f, edit) a post of
 * fold_body (edit: the message's id, or NULL for a new message). */
void fold_tick(double now, void (*queue)(struct fight *f, const char *edit));
/* Write and sync the lines of the turn. */
void fold_flush(void);
/* Fights not yet over. */
size_t fold_open_count(void);

/* render-fold.c: the message of a fight, for Discord and for Slack (a new
 * reference), within every limit of the platform.  over: shown as over. */
json_t *render_fold_discord(const struct fight *f, size_t n, int over);
json_t *render_fold_slack(const struct fight *f, size_t n, int over);
#endif
