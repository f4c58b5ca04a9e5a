/* engine: the parts of post_run() and what they share, for post/ alone:
 * the loop, signals and options (post.c), accepting input and reading the
 * spool back (accept.c), sending and reading answers (send.c), and the
 * outcomes of posts, receipts and dead letters (letter.c).  The state is
 * one per process (post_run runs once). */
#ifndef ENGINE_H
#define ENGINE_H
#include <jansson.h>

#include "lib/buf.h"
#include "json/mark.h"
#include "net/http.h"
#include "post/hook.h"
#include "post/post.h"

struct engine {
	const struct post_platform *pf;
	const struct post_conf *c;
	struct http *http;
	char dir[1024];
	struct buf out;		/* stdout, written once the turn's posts are spooled */
	int reading, stopping, pending, sigfd;
	double deadline, global_until, invalid_since;
	long invalid;
	unsigned long posted, limited, retried, dead, rejected, expired, dup, malformed;
	unsigned long revised, edited;	/* revisions queued as edits; edits answered */
	unsigned long folded;	/* kills folded into a fight's message */
	struct mark mark;	/* -C: the newest mark of the turn ... */
	int marked;		/* ... when there is one */
	long long committed;	/* the position written last */
	/* from a kill to its post: the last, and the sum and count of all */
	double k2p_last, k2p_sum;
	unsigned long k2p_n;
};
extern struct engine engine;	/* post.c */

/* accept.c: one input line (a pair's posts go to this turn's segment; the
 * pairs it held, 1 for a line that is not a bundle);
 * make the turn's segment durable and queue its posts (name: the
 * segment's, NULL for a new one); queue the spool's posts; free what the
 * input kept. */
size_t accept_line(const char *line, size_t len, unsigned long lineno);
void accept_commit(const char *name);
void accept_replay(void);
/* The fights' messages that are due (fold.h): spooled and queued. */
void accept_folds(void);
void accept_free(void);

/* send.c: start what may start; the seconds until something else may. */
double send_schedule(double now);

/* letter.c: a receipt for j; a line for later stages; write what waits
 * (after the turn's posts are spooled); keep a post in dead/ with its
 * reason (entry: the post when it is not in a segment, else NULL; j is
 * freed); a webhook gone: it and everything queued for it to dead/. */
void letter_receipt(const struct hook_job *j, const char *status, long http, const char *why);
void letter_pass(const char *line, size_t len);
/* --dry-run: the post as it would be sent, a line {"render":{..}} (why:
 * what is wrong with it, or NULL). */
void letter_render(const char *stream, json_int_t kill, const char *target,
    const char *url, const json_t *body, const char *why);
void letter_flush(void);
void letter_dead(struct hook_job *j, json_t *entry, const char *status, long http,
    const char *why);
void letter_kill_hook(struct hook *h, long http, const char *why);
#endif
