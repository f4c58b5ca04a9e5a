/* puller: see puller.h. */
#include <signal.h>
#include <stdlib.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/sig.h"
#include "puller.h"

static void
on_signals(struct puller *p)
{
	int s;

	while ((s = sig_take(p->sigfd)))
		if (s == SIGTERM || s == SIGINT)
			p->stop = 1;
}

/* The gauges of the lag, then the metrics file if it is due.  At the head
 * nothing is behind; else the age of the last package written grows while
 * nothing comes (an unreachable server shows as a growing lag). */
void
puller_tick(struct puller *p)
{
	p->head_g = p->head;
	p->next_g = p->next;
	p->lag_seq = p->head > p->next ? p->head - p->next : 0;
	p->lag_sec = p->at_head || p->uploaded <= 0 ? 0 : clock_wall() - p->uploaded;
	if (p->lag_sec < 0)
		p->lag_sec = 0;
	metrics_tick();
}

/* Sleep until mono time t, awake for signals; 0, or -1 when told to stop. */
int
puller_pause(struct puller *p, double t)
{
	struct curl_waitfd w = { .fd = p->sigfd, .events = CURL_WAIT_POLLIN };
	double now;

	while (!p->stop && (now = clock_mono()) < t) {
		http_wait(p->http, &w, 1, metrics_wait_ms((int)((t - now) * 1000) + 1));
		on_signals(p);
		puller_tick(p);
	}
	return p->stop ? -1 : 0;
}

static void
on_done(void *arg, struct http_resp *r)
{
	struct puller *p = arg;

	free(p->resp.body);
	p->resp = *r;
	r->body = NULL;		/* taken */
	p->resp.hdrs = NULL;
	p->resp.url = NULL;
	p->done = 1;
}

/* One GET, paced under the request-rate cap; -1 when told to stop. */
int
puller_fetch(struct puller *p, const char *url)
{
	struct curl_waitfd w = { .fd = p->sigfd, .events = CURL_WAIT_POLLIN };
	char shown[256];

	if (puller_pause(p, p->last_req + p->min_gap) < 0)
		return -1;
	p->last_req = clock_mono();
	p->done = 0;
	p->requests++;
	log_debug("GET %s", log_url(url, shown, sizeof shown));
	http_request(p->http, "GET", url, NULL, 0, NULL, on_done, p);
	while (!p->done) {
		if (http_wait(p->http, &w, 1, metrics_wait_ms(1000)) < 0)
			log_fatal(EXIT_TEMP, "curl multi failed");
		on_signals(p);
		puller_tick(p);
		if (p->stop)
			return -1;	/* the answer is not ours to write any more */
	}
	return 0;
}

/* Waits and warnings for the answers that are not 200 or 404; -1 to stop. */
int
puller_failed(struct puller *p)
{
	struct http_resp *r = &p->resp;
	double d;

	p->at_head = 0;		/* no longer known */
	if (r->class != HTTP_LIMITED)
		p->failed++;
	if (!p->failing_since)
		p->failing_since = clock_wall();
	switch (r->class) {
	case HTTP_LIMITED:
		p->limited++;
		d = r->retry_after >= 0 ? r->retry_after : 10 + 10.0 * random() / RAND_MAX;
		log_warn("rate limited, waiting host=%s status=%ld seconds=%.1f", p->host,
		    r->status, d);
		/* Rounded up: the server counts whole seconds. */
		return puller_pause(p, clock_mono() + d + 0.05);
	case HTTP_FORBIDDEN:
		d = backoff_next(&p->ban);
		log_warn("FORBIDDEN by zKillboard (banned? check USER_AGENT and request rate), "
		    "backing off host=%s status=%ld seconds=%.0f", p->host, r->status, d);
		return puller_pause(p, clock_mono() + d);
	default:
		d = backoff_next(&p->err);
		log_warn("%s %s, retrying status=%ld class=%s error=\"%s\" seconds=%.1f",
		    r->class == HTTP_NET ? "cannot reach" : "request failed at", p->host,
		    r->status, http_class_name(r->class), r->error ? r->error : "", d);
		return puller_pause(p, clock_mono() + d);
	}
}
