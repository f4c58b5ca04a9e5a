/* esi-limits: what may be sent and when, from what ESI's answers say;
 * see esi.h ("Failures") and esi-int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "net/esi-int.h"


/* ---- limits ---- */

static int
group_index(struct esi *e, const char *name)
{
	int i;

	for (i = 0; i < e->ngroups; i++)
		if (!strcmp(e->groups[i].name, name))
			return i;
	if (i == MAX_GROUPS)
		return -1;
	snprintf(e->groups[i].name, sizeof e->groups[i].name, "%.39s", name);
	return e->ngroups++;
}

/* The route of a path is its first segment: "/killmails/1/ab" -> "killmails". */
static struct route *
route_of(struct esi *e, const char *path, int create)
{
	char name[32];
	size_t n = strcspn(path + 1, "/");

	snprintf(name, sizeof name, "%.*s", (int)n, path + 1);
	for (int i = 0; i < e->nroutes; i++)
		if (!strcmp(e->routes[i].name, name))
			return &e->routes[i];
	if (!create || e->nroutes == MAX_GROUPS)
		return NULL;
	snprintf(e->routes[e->nroutes].name, sizeof e->routes[0].name, "%s", name);
	e->routes[e->nroutes].group = -1;
	return &e->routes[e->nroutes++];
}

int
esi_group_of(struct esi *e, const char *path)
{
	struct route *r = route_of(e, path, 0);

	return r ? r->group : -1;
}

/* Stop sending anything for secs; one log line when a pause begins. */
static void
hold(struct esi *e, double secs, const char *why, int quiet)
{
	double now = clock_mono(), until = now + secs;

	if (until <= e->hold_until)
		return;
	if (!quiet && now >= e->hold_until)
		log_warn("esi: pausing requests host=%s s=%.1f why=\"%s\"", e->host,
		    secs, why);
	e->hold_until = until;
}

static double
header_num(struct http_resp *r, const char *name, double def)
{
	char v[64];

	return http_header(r, name, v, sizeof v) ? strtod(v, NULL) : def;
}

/* "150/15m": tokens per window. */
static void
parse_limit(const char *v, double *tokens, double *window)
{
	char *end;

	*tokens = strtod(v, &end);
	*window = 900;
	if (*end == '/') {
		double n = strtod(end + 1, &end);

		*window = n * (*end == 'h' ? 3600 : *end == 's' ? 1 : 60);
	}
}

/* The bucket of a group is running low: space its requests so that the
 * tokens we spend come back (a 2xx costs 2) as fast as we use them. */
static void
learn_bucket(struct esi *e, struct req *q, struct http_resp *r, const char *gname)
{
	struct route *rt = route_of(e, q->w ? q->w->path : "/universe/names", 1);
	char v[64];
	double tokens = 0, window = 900, remain;
	struct group *g;
	int gi = group_index(e, gname);

	if (gi < 0)
		return;
	if (rt)
		rt->group = gi;
	q->group = gi;
	g = &e->groups[gi];
	if (http_header(r, "X-Ratelimit-Limit", v, sizeof v))
		parse_limit(v, &tokens, &window);
	remain = header_num(r, "X-Ratelimit-Remaining", -1);
	if (tokens > 0 && remain >= 0 && remain < (tokens / 10 > 10 ? tokens / 10 : 10)) {
		if (!g->pace)
			log_info("esi: slowing down group=%s remaining=%.0f limit=%s",
			    g->name, remain, v);
		g->pace = window / (tokens / 2);
	} else
		g->pace = 0;
}

/* Headers every answer may carry: the error window and the buckets. */
void
esi_learn(struct esi *e, struct req *q, struct http_resp *r)
{
	char v[64];
	double remain = header_num(r, "X-ESI-Error-Limit-Remain", -1);

	/* The window is fixed and shared with every request in flight: stop
	 * with a fifth of it left (20 of ESI's 100) rather than meet a 420. */
	if (remain > e->err_max)
		e->err_max = remain;
	if (remain >= 0 && remain <= (e->err_max / 5 > 2 ? e->err_max / 5 : 2))
		hold(e, header_num(r, "X-ESI-Error-Limit-Reset", 60) + 0.5,
		    "error limit running low", 0);
	if (http_header(r, "X-Ratelimit-Group", v, sizeof v))
		learn_bucket(e, q, r, v);
}

/* 420: every route waits for the error window; 429: the group (or, when
 * ESI does not say which, everything) waits Retry-After. */
void
esi_limited(struct esi *e, struct req *q, struct http_resp *r)
{
	double s;

	e->st.errors++;
	if (r->status == 420) {
		hold(e, header_num(r, "X-ESI-Error-Limit-Reset", 60) + 0.5,
		    "420 error limited", 0);
		return;
	}
	s = r->retry_after >= 0 ? r->retry_after : 10;
	if (q->group < 0) {
		hold(e, s, "429 rate limited", 0);
		return;
	}
	if (clock_mono() >= e->groups[q->group].hold_until)
		log_warn("esi: pausing group=%s s=%.1f why=\"429 rate limited\"",
		    e->groups[q->group].name, s);
	e->groups[q->group].hold_until = clock_mono() + s;
}

/* 5xx, time-outs, garbage: while this lasts, one request at a time probes. */
void
esi_failed(struct esi *e, struct http_resp *r, const char *why)
{
	e->st.errors++;
	if (!e->failing) {
		log_warn("esi: %s, backing off host=%s status=%ld why=\"%s\"",
		    r->status ? "failing" : "cannot reach", e->host, r->status, why);
		e->fail_since = clock_mono();
	}
	e->failing = 1;
	if (clock_mono() >= e->hold_until)
		hold(e, backoff_next(&e->bo), why, 1);
}

/* Only an answer to a request sent after the failing began says that ESI
 * is back: the others were on their way already. */
void
esi_recovered(struct esi *e, struct req *q)
{
	if (e->failing && q->sent < e->fail_since)
		return;
	if (e->failing)
		log_info("esi: answering again");
	e->failing = 0;
	backoff_reset(&e->bo);
}

int
esi_can_send(struct esi *e, int group, double now)
{
	if (now < e->hold_until || e->inflight >= (e->failing ? 1 : e->o.max_inflight))
		return 0;
	if (group < 0)
		return 1;
	return now >= e->groups[group].hold_until && now >= e->groups[group].next_at;
}

void
esi_sent(struct esi *e, struct req *q, double now)
{
	int group = q->group;

	q->sent = now;
	e->inflight++;
	e->st.requests++;
	if (group >= 0 && e->groups[group].pace)
		e->groups[group].next_at = now + e->groups[group].pace;
}
