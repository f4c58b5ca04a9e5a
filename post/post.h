/* post: the delivery engine shared by post-discord and post-slack.
 *
 * It reads pairs on stdin (a mail parsed once for its pairs in a row),
 * renders each target of its platform, writes the posts of each turn of its
 * loop to a spool segment in $STATE_DIR/<platform>/spool (one fdatasync for
 * them all) before anything else, queues them on their webhooks and sends
 * them over one curl multi handle: one request in flight per webhook (so
 * order and rate limits hold), any number of webhooks at once (so one slow
 * or limited webhook holds up no other).  A post is marked done in its
 * segment when the platform has answered, and the segment goes with its
 * last post; posts that cannot be delivered go to $STATE_DIR/<platform>/dead
 * with their reason.  Every outcome is a receipt line on stdout; lines for
 * later stages pass through unchanged.  The platform supplies rendering and
 * the reading of answers. */
#ifndef POST_H
#define POST_H
#include <jansson.h>

#include "net/http.h"
#include "json/ndjson.h"

enum post_verdict {
	POST_OK,		/* delivered */
	POST_RETRY,		/* 5xx, network: back off, retry up to a limit */
	POST_WAIT,		/* rate limited: wait, then resend; not a failure */
	POST_GONE,		/* the webhook is dead: dead-letter everything for it */
	POST_BAD,		/* this post is refused: dead-letter it alone */
};

struct post_answer {
	enum post_verdict v;
	double wait;		/* POST_WAIT: seconds */
	int global;		/* POST_WAIT: every webhook waits */
	int invalid;		/* counts towards Discord's invalid-request limit */
	char why[256];		/* the platform's message; never a URL */
	char id[32];		/* POST_OK: the id of the message, when the answer names it */
};

struct post_platform {
	const char *name;	/* target key, state subdirectory, receipt target */
	const char *const *before;	/* target keys handled by earlier stages */
	int ratelimit_headers;	/* follow X-RateLimit-* buckets (Discord) */
	const char *const *hosts;	/* its own hosts: only they may pause all */
	json_t *(*render)(const json_t *pair, const json_t *target);
	int (*check)(const json_t *body, char *why, size_t n);
	void (*url)(const char *hook, struct buf *out);	/* what to POST to */
	void (*judge)(const struct http_resp *r, struct post_answer *a);
	/* Join a post to a batch of posts sent as one message (render.h);
	 * NULL: one post per message. */
	int (*merge)(json_t *batch, const json_t *body, int max);
	/* Edits (render.h), NULL when the platform cannot edit a message:
	 * the URL that edits message id of a webhook; the body of the edit
	 * that makes message msg show body in place of its post idx. */
	void (*edit_url)(const char *hook, const char *id, struct buf *out);
	json_t *(*edit)(const json_t *msg, size_t idx, const json_t *body);
};

struct post_conf {
	const char *state_dir;	/* $STATE_DIR */
	int parallel;		/* requests in flight, all webhooks together */
	int attempts;		/* tries of one post on 5xx/network errors */
	double backoff;		/* first back-off, seconds; doubles to backoff_max */
	double backoff_max;
	double interval;	/* least seconds between two sends to one webhook */
	double window;		/* dedupe window, seconds; 0 disables */
	double grace;		/* SIGTERM: how long sends in flight may finish */
	long timeout_ms;	/* one request */
	long max_queue;		/* posts queued on one webhook; more go to dead/ */
	long invalid_max;	/* 401/403/429 per 10 minutes before pausing all */
	double global_max;	/* longest pause a global 429 may impose, seconds */
	double wait_max;	/* longest wait of one webhook's 429 or bucket */
	int unreachable;	/* requests in a row without an answer: unreachable */
	int commit;		/* -C: the marks' positions to redisq-pull.commit */
	int dry_run;		/* -n: each post rendered to stdout, none sent */
	int batch;		/* most posts in one message; 1: no batching */
	int bundle;		/* --bundle: bundles out stay bundles */
};

/* Run until end of input (every queue drained) or SIGTERM; returns the exit
 * code.  Exits 111 itself when the state directory cannot be written. */
int post_run(const struct post_platform *pf, const struct post_conf *c);

/* The main of a poster: options (the same for every platform; interval is
 * the platform's default -i), then post_run(). */
int post_main(int argc, char **argv, const struct post_platform *pf, double interval);

#endif
