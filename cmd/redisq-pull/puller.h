/* puller: redisq-pull's state, and its requests: one GET at a time, paced
 * under the request-rate cap, waits that stay awake for signals and keep
 * the metrics due, and the waits and warnings after a failed answer.
 *
 * The walks (r2z2.h, and the RedisQ long-poll in redisq-pull.c) ask
 * through puller_fetch and write through emit (emit.h); everything they
 * share is here. */
#ifndef PULLER_H
#define PULLER_H
#include "lib/backoff.h"
#include "net/http.h"
#include "emit.h"

struct puller {
	struct http *http;
	int sigfd, stop;
	const char *base, *redisq, *cursor_path;
	long long next, head;		/* next number to fetch; best known head */
	int tries, skipped_run;
	long long refetch[64];		/* sequence_updated numbers to fetch again */
	int nrefetch;
	double head_wait, min_gap, last_req;
	int missing_tries, resync_after;
	struct backoff err, ban;
	struct emit_seen seen;
	struct http_resp resp;		/* last answer; body owned here */
	int done, once;
	int marks, unmarked;		/* --marks; packages since the last mark */
	long long epoch, marked;	/* of the marks; the position marked last */
	double mark_t;			/* mono time of the last mark */
	char commit_path[4096], epoch_path[4096];
	char host[256];			/* of the base URL, for warnings */
	/* metrics: how far behind the head, and what it cost */
	unsigned long written, dups, revised, requests, failed, limited;
	double lag_seq, lag_sec, head_g, next_g, uploaded, head_every, head_at;
	double failing_since;		/* wall time the failures began; 0: none */
	int at_head;			/* the last answer was the head's 404 */
};

/* The gauges of the lag, then the metrics file if it is due. */
void puller_tick(struct puller *p);
/* Sleep until mono time t, awake for signals; 0, or -1 when told to stop. */
int puller_pause(struct puller *p, double t);
/* One GET into p->resp; -1 when told to stop. */
int puller_fetch(struct puller *p, const char *url);
/* Waits and warnings for the answers that are not 200 or 404; -1 to stop. */
int puller_failed(struct puller *p);
#endif
