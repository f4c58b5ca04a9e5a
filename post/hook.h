/* hook: the webhooks a poster sends to.  Each has its queue of jobs (sent
 * in order, one request in flight at a time), its pause and back-off, the
 * Discord rate-limit bucket its last answer named, and whether it is dead.
 * Dead webhooks are kept in the file dead-hooks of the spool's state
 * directory, "<webhook hash> <unix time> <label> <reason>" a line, so that
 * a restart does not try them again.  Webhooks and buckets live as long
 * as the process (module state); a job belongs to its queue until
 * hook_pop hands it back to the caller. */
#ifndef HOOK_H
#define HOOK_H
#include <stddef.h>
#include <jansson.h>

#include "lib/backoff.h"
#include "lib/buf.h"
#include "net/http.h"
#include "post/spool.h"

struct hook_job {		/* a queued post; its text stays in the segment */
	struct hook_job *next;
	struct hook *hook;
	struct spool_seg *seg;	/* NULL until spooled */
	struct spool_pos at;	/* its line in the segment */
	int attempts;
	json_int_t kill;
	double t0;		/* when accepted (monotonic), for receipts' ms */
	double ktime;		/* the kill's time (unix), 0 unknown: metrics */
	char edit[32];		/* an edit of this message id, not a new post */
	char stream[];		/* the stream id, for receipts */
};

struct hook_bucket {		/* a Discord rate-limit bucket */
	struct hook_bucket *next;
	char id[80];
	int remaining;
	double reset_at;
};

struct hook {
	struct hook *all;
	char *url, label[96];	/* label: the URL for logs, token redacted */
	unsigned long long id;	/* FNV-1a of the URL (lib/hash.h) */
	struct hook_job *head, *tail;
	long queued, batched;	/* jobs in its queue; in the turn's segment */
	int busy, dead;
	int sending;		/* posts in the request in flight (a batch) */
	int solo;		/* posts to send one by one (a batch was refused) */
	int platform;		/* on one of the platform's own hosts */
	int silent;		/* requests in a row that got no answer */
	int warned;		/* said once that its "global" 429 is its own */
	double next_at, sent_at;	/* monotonic */
	double down_until;	/* unreachable: its posts go to dead/ until then */
	struct hook_bucket *bucket;
	struct backoff bo;
	struct buf sent;	/* the body in flight, when the platform edits */
};

/* The back-off of every webhook (first and longest, seconds), the longest
 * wait a rate-limit bucket may impose, and the platform's own hosts
 * (NULL-terminated; $POST_PLATFORM_HOSTS adds more). */
void hook_init(double backoff, double backoff_max, double wait_max,
    const char *const *hosts);
/* The URL of a target: "$NAME" is read from the environment, so stream
 * files hold no secret.  NULL with why when there is none. */
const char *hook_resolve(const char *target, char *why, size_t n);
/* The webhook of url, made on first use. */
struct hook *hook_get(const char *url);
/* Every webhook, through h->all. */
struct hook *hook_all(void);

/* A job for a post of stream about killmail kill, accepted now. */
struct hook_job *hook_job_new(const char *stream, json_int_t kill);
/* The post as spooled, read back: {"target",...,"body"} (new reference). */
json_t *hook_job_entry(struct hook_job *j);
/* The platform answered (or the post went to dead/): done in its segment. */
void hook_job_done(struct hook_job *j);
/* Queue j on j->hook; take the head of h's queue. */
void hook_push(struct hook_job *j);
struct hook_job *hook_pop(struct hook *h);
/* Jobs queued on all webhooks: now, and the most ever. */
long hook_queued(void);
long hook_queued_max(void);

/* A request to h has started. */
void hook_sent(struct hook *h, double now);
/* Follow the X-RateLimit-* headers of an answer (Discord). */
void hook_ratelimit(struct hook *h, const struct http_resp *r, double now);
/* When h may send next: its own pause and its bucket's. */
double hook_ready_at(struct hook *h, double now);

/* (Re)read dead-hooks and mark the webhooks in it dead. */
void hook_dead_load(void);
/* Append h to dead-hooks with why (h->dead is the caller's). */
void hook_dead_add(const struct hook *h, const char *why);
/* Webhooks in dead-hooks. */
size_t hook_dead_count(void);
#endif
