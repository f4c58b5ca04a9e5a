/* http: curl multi, after curl's 10-at-a-time.c: one multi handle,
 * CURLOPT_PRIVATE carries the job, curl_multi_poll() takes our fds too. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/http.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "json/ndjson.h"

struct http {
	CURLM *multi;
	struct http_opts o;
	int inflight;
	struct job *jobs;	/* in flight, so http_free() can let them go */
};

struct job {
	CURL *easy;
	struct curl_slist *hdrs;
	char *url, *reqbody;
	struct buf body, rhdrs;
	http_done_fn *fn;
	void *arg;
	struct job *next, **prevp;
};

struct http *
http_new(const struct http_opts *o)
{
	static int inited;
	struct http *h = mem_calloc(1, sizeof *h);

	if (!inited++ && curl_global_init(CURL_GLOBAL_DEFAULT))
		log_fatal(EXIT_TEMP, "curl_global_init failed");
	h->multi = mem_check(curl_multi_init());
	h->o = *o;
	if (!h->o.timeout_ms)
		h->o.timeout_ms = 30000;
	if (!h->o.connect_ms)
		h->o.connect_ms = 10000;
	if (!h->o.max_host_conns)
		h->o.max_host_conns = 8;
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, h->o.max_host_conns);
	return h;
}

static void
job_free(struct http *h, struct job *j)
{
	if ((*j->prevp = j->next))
		j->next->prevp = j->prevp;
	curl_multi_remove_handle(h->multi, j->easy);
	curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->hdrs);
	free(j->body.p);
	free(j->rhdrs.p);
	free(j->url);
	free(j->reqbody);
	free(j);
}

/* Transfers still in flight are abandoned: their callbacks never run. */
void
http_free(struct http *h)
{
	if (!h)
		return;
	while (h->jobs)
		job_free(h, h->jobs);
	curl_multi_cleanup(h->multi);
	free(h);
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	buf_add(&((struct job *)arg)->body, p, sz * n);
	return sz * n;
}

/* Keep the headers of the last response only (a redirect has its own). */
static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = sz * n;

	if (len > 5 && !strncmp(p, "HTTP/", 5))
		j->rhdrs.len = 0;
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len) {
		buf_add(&j->rhdrs, p, len);
		buf_addc(&j->rhdrs, '\n');
	}
	return sz * n;
}

void
http_request(struct http *h, const char *method, const char *url,
    const char *body, size_t len, const char *const *headers,
    http_done_fn *fn, void *arg)
{
	struct job *j = mem_calloc(1, sizeof *j);
	CURL *e = mem_check(curl_easy_init());

	j->easy = e;
	j->url = mem_strdup(url);
	j->fn = fn;
	j->arg = arg;
	for (; headers && *headers; headers++)
		j->hdrs = curl_slist_append(j->hdrs, *headers);
	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->o.useragent);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, (long)h->o.follow);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	if (!strcmp(method, "POST") || !strcmp(method, "PATCH")) {
		j->reqbody = mem_strndup(body ? body : "", len);
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		if (*method == 'P' && method[1] == 'A')	/* a body like POST's */
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PATCH");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->reqbody);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
		j->hdrs = curl_slist_append(j->hdrs, "Expect:");
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
	curl_multi_add_handle(h->multi, e);
	h->inflight++;
	if ((j->next = h->jobs))
		h->jobs->prevp = &j->next;
	h->jobs = j;
	j->prevp = &h->jobs;
}

int
http_inflight(struct http *h)
{
	return h->inflight;
}

void
http_wakeup(struct http *h)
{
	curl_multi_wakeup(h->multi);
}

const char *
http_header(const struct http_resp *r, const char *name, char *buf, size_t n)
{
	size_t nl = strlen(name);
	const char *p = r->hdrs;

	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(buf, n, "%.*s", (int)(p + len - v), v);
			return buf;
		}
		p = e ? e + 1 : NULL;
	}
	return NULL;
}

enum http_class
http_classify(long status)
{
	if (status == 0)
		return HTTP_NET;
	if ((status >= 200 && status < 300) || status == 304)
		return HTTP_OK;
	if (status == 404)
		return HTTP_NOTFOUND;
	if (status == 429 || status == 420)
		return HTTP_LIMITED;
	if (status == 401 || status == 403)
		return HTTP_FORBIDDEN;
	if (status >= 500)
		return HTTP_SERVER;
	return HTTP_CLIENT;
}

const char *
http_class_name(enum http_class c)
{
	static const char *n[] = { "ok", "notfound", "limited", "forbidden",
		"client", "server", "network" };
	return n[c];
}

static double
parse_date(const char *v)
{
	struct tm tm = { 0 };

	if (!strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		return -1;
	return (double)timegm(&tm);
}

double
http_parse_retry_after(const char *v, double now)
{
	char *end;
	double d, t;

	if (!v || !*v)
		return -1;
	d = strtod(v, &end);
	if (end != v && (*end == 0 || *end == ' '))
		return d < 0 ? 0 : d;
	if ((t = parse_date(v)) < 0)
		return -1;
	return t > now ? t - now : 0;
}

/* Freshness as a cache should see it: max-age wins over Expires. */
static double
ttl_of(struct http_resp *r)
{
	char v[256], d[64];
	const char *m;
	double exp, date;

	if (http_header(r, "Cache-Control", v, sizeof v) &&
	    (m = strstr(v, "max-age=")))
		return strtod(m + 8, NULL);
	if (!http_header(r, "Expires", v, sizeof v) || (exp = parse_date(v)) < 0)
		return -1;
	date = http_header(r, "Date", d, sizeof d) ? parse_date(d) : -1;
	if (date < 0)
		date = (double)time(NULL);
	return exp > date ? exp - date : 0;
}

static void
finish(struct http *h, CURLMsg *m)
{
	struct job *j;
	struct http_resp r = { 0 };
	char v[128];
	double t;

	curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(j->easy, CURLINFO_TOTAL_TIME, &t);
	if (m->data.result != CURLE_OK) {
		r.status = 0;
		r.error = curl_easy_strerror(m->data.result);
	}
	r.class = http_classify(r.status);
	buf_add(&j->body, "", 0);
	buf_add(&j->rhdrs, "", 0);
	r.body = j->body.p;
	r.len = j->body.len;
	r.hdrs = j->rhdrs.p;
	r.ms = t * 1000;
	r.url = j->url;
	r.retry_after = http_parse_retry_after(
	    http_header(&r, "Retry-After", v, sizeof v), (double)time(NULL));
	r.ttl = ttl_of(&r);
	h->inflight--;
	j->fn(j->arg, &r);
	j->body.p = r.body;	/* NULL when the callback took it */
	job_free(h, j);
}

/* Run the callbacks of finished transfers; how many there were. */
static int
reap(struct http *h)
{
	int left, n = 0;
	CURLMsg *m;

	while ((m = curl_multi_info_read(h->multi, &left)))
		if (m->msg == CURLMSG_DONE) {
			finish(h, m);
			n++;
		}
	return n;
}

int
http_wait(struct http *h, struct curl_waitfd *extra, unsigned n, int timeout_ms)
{
	int running, ready = 0;

	for (unsigned i = 0; i < n; i++)
		extra[i].revents = 0;
	if (curl_multi_perform(h->multi, &running) != CURLM_OK)
		return -1;
	/* A transfer that ended in that perform must not wait for the poll. */
	if (reap(h))
		timeout_ms = 0;
	if (curl_multi_poll(h->multi, extra, n, timeout_ms, NULL) != CURLM_OK)
		return -1;
	if (curl_multi_perform(h->multi, &running) != CURLM_OK)
		return -1;
	reap(h);
	for (unsigned i = 0; i < n; i++)
		ready += extra[i].revents != 0;
	return ready;
}
