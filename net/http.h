/* http: many requests in flight over one curl multi handle.
 *
 * A tool makes one struct http, queues requests with http_request(), and
 * calls http_wait() in its loop with its own file descriptors (stdin, the
 * signalfd) so one poll serves everything.  When a transfer ends its
 * callback runs from inside http_wait() with the response; the response and
 * its body belong to http and are freed after the callback returns, unless
 * the callback takes the body (sets r->body to NULL and frees it itself). */
#ifndef HTTP_H
#define HTTP_H
#include <stddef.h>
#include <curl/curl.h>

enum http_class {
	HTTP_OK,		/* 2xx, 304 */
	HTTP_NOTFOUND,		/* 404 */
	HTTP_LIMITED,		/* 429, ESI's 420: wait, then retry */
	HTTP_FORBIDDEN,		/* 401, 403 */
	HTTP_CLIENT,		/* any other 4xx: do not retry unchanged */
	HTTP_SERVER,		/* 5xx: retry with back-off */
	HTTP_NET,		/* no answer: DNS, connect, reset, timeout */
};

struct http_resp {
	long status;		/* 0 when there was no answer */
	enum http_class class;
	char *body;		/* NUL-terminated, possibly empty */
	size_t len;
	char *hdrs;		/* "name: value\n" lines of the last response */
	double retry_after;	/* seconds, -1 when absent */
	double ttl;		/* seconds from Cache-Control max-age or Expires - Date; -1 */
	double ms;		/* time the transfer took */
	const char *error;	/* curl's message when class is HTTP_NET */
	const char *url;
};

typedef void http_done_fn(void *arg, struct http_resp *r);

struct http_opts {
	const char *useragent;
	long timeout_ms;	/* whole transfer; default 30 s */
	long connect_ms;	/* default 10 s */
	long max_host_conns;	/* default 8 */
	int follow;		/* follow redirects (RedisQ only) */
};

struct http *http_new(const struct http_opts *o);
void http_free(struct http *h);
/* Queue a request.  method "GET", "POST" or "PATCH" (a body, as POST);
 * body may be NULL; headers is a
 * NULL-terminated list of "Name: value" or NULL.  Copies what it needs. */
void http_request(struct http *h, const char *method, const char *url,
    const char *body, size_t len, const char *const *headers,
    http_done_fn *fn, void *arg);
int http_inflight(struct http *h);
/* Run transfers, wait up to timeout_ms for them or for extra fds, then run
 * the callbacks of finished transfers.  Returns the number of extra fds
 * with events (their revents are set), or -1 on a curl error. */
int http_wait(struct http *h, struct curl_waitfd *extra, unsigned n, int timeout_ms);
/* Wake a http_wait() in progress (from a callback that queued work, say). */
void http_wakeup(struct http *h);

/* Value of a response header (case-insensitive name) copied into buf, or NULL. */
const char *http_header(const struct http_resp *r, const char *name, char *buf, size_t n);
enum http_class http_classify(long status);
const char *http_class_name(enum http_class c);
/* Retry-After: delta seconds or an HTTP date; -1 when unparsable. */
double http_parse_retry_after(const char *v, double now);
#endif
