/* esi: the client's contract against a small ESI forked here, which logs
 * every request: answers only from esi_run(), identical questions shared,
 * answers cached (not-found too), bulky fields dropped, 5xx and garbage
 * retried, names batched and a bad id isolated, posts, headers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/cache.h"
#include "net/esi.h"
#include "net/http.h"
#include "lib/log.h"
#include "tap.h"

static char logpath[] = "/tmp/esi-test.XXXXXX";

/* ---- the server ---- */

static int
answer(int c, int status, const char *extra, const char *body)
{
	char head[512];
	int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n", status, strlen(body), extra);

	return write(c, head, n) < 0 || write(c, body, strlen(body)) < 0;
}

/* POST /universe/names: 404 for the whole batch when it holds 666. */
static void
names(int c, const char *body)
{
	char out[4096] = "[", *p = (char *)body + 1;

	if (strstr(body, "666")) {
		answer(c, 404, "", "{\"error\":\"Ensure all IDs are valid before resolving.\"}");
		return;
	}
	while (*p && *p != ']') {
		long id = strtol(p, &p, 10);

		snprintf(out + strlen(out), sizeof out - strlen(out),
		    "%s{\"id\":%ld,\"name\":\"N%ld\",\"category\":\"character\"}",
		    out[1] ? "," : "", id, id);
		if (*p == ',')
			p++;
	}
	strcat(out, "]");
	answer(c, 200, "", out);
}

static void
route(int c, const char *method, const char *path, const char *body, int *twice)
{
	if (!strcmp(path, "/universe/types/1"))
		answer(c, 200, "Cache-Control: max-age=300\r\n",
		    "{\"type_id\":1,\"name\":\"One\",\"group_id\":10,\"description\":\"long\"}");
	else if (!strcmp(path, "/universe/types/2"))
		(*twice)++ % 2 ? answer(c, 200, "", "{\"name\":\"Two\"}") :
		    answer(c, 503, "", "{\"error\":\"down\"}");
	else if (!strcmp(path, "/universe/types/3"))
		(*twice)++ % 2 ? answer(c, 200, "", "{\"name\":\"Three\"}") :
		    answer(c, 200, "", "<html>busy</html>");
	else if (!strcmp(method, "POST") && !strcmp(path, "/universe/names"))
		names(c, body);
	else if (!strcmp(method, "POST") && !strcmp(path, "/universe/ids"))
		answer(c, 200, "", "{\"systems\":[{\"id\":30000142,\"name\":\"Jita\"}]}");
	else
		answer(c, 404, "", "{\"error\":\"Not found\"}");
}

static void
serve(int ls)
{
	FILE *log = fopen(logpath, "a");
	int twice = 0;

	setvbuf(log, NULL, _IOLBF, 0);
	for (;;) {
		char req[16384], method[8], path[256], *b;
		int c = accept(ls, NULL, NULL);
		ssize_t n, got = 0;

		while ((n = read(c, req + got, sizeof req - 1 - got)) > 0) {
			got += n;
			req[got] = 0;
			if ((b = strstr(req, "\r\n\r\n")) && (!strstr(req, "Content-Length: ") ||
			    got - (b + 4 - req) >= atol(strstr(req, "Content-Length: ") + 16)))
				break;
		}
		req[got] = 0;
		if (sscanf(req, "%7s %255s", method, path) != 2 || !(b = strstr(req, "\r\n\r\n")))
			_exit(1);
		fprintf(log, "%s %s %s %s\n", method, path, b + 4,
		    strstr(req, "X-Compatibility-Date: 2026-08-18") ? "compat" : "nocompat");
		route(c, method, path, b + 4, &twice);
		close(c);
	}
}

/* ---- the client ---- */

static int calls;
static char last[256];
static enum esi_status last_st;

static struct esi *the_esi;
static int from_cache;

static void
done(void *arg, enum esi_status st, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	(void)arg;
	calls++;
	from_cache = esi_answer_cached(the_esi);
	last_st = st;
	snprintf(last, sizeof last, "%s", s ? s : "null");
	free(s);
}

static int
requests(const char *what)
{
	FILE *f = fopen(logpath, "r");
	char l[1024];
	int n = 0;

	while (f && fgets(l, sizeof l, f))
		n += strstr(l, what) != NULL;
	if (f)
		fclose(f);
	return n;
}

static void
settle(struct http *h, struct esi *e)
{
	for (int i = 0; i < 500 && esi_pending(e); i++) {
		http_wait(h, NULL, 0, esi_timeout(e, 100));
		esi_run(e);
	}
}

int
main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	int ls = socket(AF_INET, SOCK_STREAM, 0), fd = mkstemp(logpath);
	struct http_opts ho = { .useragent = "esi-test/1", .timeout_ms = 5000 };
	struct cache_opts co = { 0 };
	struct esi_opts eo = { .backoff_min = 0.01, .backoff_max = 0.05, .batch_ms = 5 };
	struct esi_stats s;
	char url[64];
	pid_t pid;

	log_init("esi-test");
	log_level = LOG_FATAL;
	signal(SIGPIPE, SIG_IGN);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(ls, (void *)&a, sizeof a) || listen(ls, 64) ||
	    getsockname(ls, (void *)&a, &al))
		return perror("setup"), 1;
	close(fd);
	if ((pid = fork()) == 0)
		serve(ls);
	close(ls);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
	eo.url = url;
	struct http *h = http_new(&ho);
	struct cache *c = cache_new(&co);
	struct esi *e = the_esi = esi_new(h, c, &eo);

	/* sharing, deferral, caching, slimming */
	for (int i = 0; i < 3; i++)
		esi_get(e, "/universe/types/1", done, NULL);
	is_int(calls, 0, "no callback from inside esi_get");
	is_int(esi_pending(e), 3, "three questions pending");
	settle(h, e);
	is_int(calls, 3, "every caller answered");
	is_int(from_cache, 0, "esi_answer_cached: 0 for an answer from ESI");
	is_str(last, "{\"group_id\":10,\"name\":\"One\",\"type_id\":1}", "the JSON, description dropped");
	is_int(requests("GET /universe/types/1 "), 1, "one request for three identical questions");
	is_int(requests("nocompat"), 0, "X-Compatibility-Date on every request");
	esi_get(e, "/universe/types/1", done, NULL);
	is_int(calls, 3, "a cached answer also waits for esi_run");
	esi_run(e);
	is_int(calls, 4, "... and comes from esi_run");
	is_int(from_cache, 1, "esi_answer_cached: 1 for an answer from the LRU");
	is_int(esi_answer_cached(e), 0, "esi_answer_cached: 0 outside a callback");
	is_int(requests("GET /universe/types/1 "), 1, "no new request: the LRU answered");

	/* retries */
	esi_get(e, "/universe/types/2", done, NULL);
	settle(h, e);
	ok(last_st == ESI_OK && strstr(last, "Two"), "503, then retried to an answer");
	is_int(requests("GET /universe/types/2 "), 2, "two requests: the failure and the retry");
	esi_get(e, "/universe/types/3", done, NULL);
	settle(h, e);
	ok(last_st == ESI_OK && strstr(last, "Three"), "an answer that is not JSON is retried");

	/* not found, remembered */
	esi_get(e, "/universe/types/404", done, NULL);
	settle(h, e);
	ok(last_st == ESI_NOTFOUND && !strcmp(last, "null"), "404: ESI_NOTFOUND with NULL");
	esi_get(e, "/universe/types/404", done, NULL);
	settle(h, e);
	ok(last_st == ESI_NOTFOUND && requests("GET /universe/types/404 ") == 1,
	    "a not-found is remembered: no second request");

	/* names: batched, a bad id isolated, a repeat shared, 0 not asked */
	calls = 0;
	esi_name(e, 10, done, NULL);
	esi_name(e, 11, done, NULL);
	esi_name(e, 666, done, NULL);
	esi_name(e, 12, done, NULL);
	esi_name(e, 10, done, NULL);
	esi_name(e, 0, done, NULL);
	settle(h, e);
	is_int(calls, 6, "every name question answered");
	is_int(requests("POST /universe/names [10,11,666,12]"), 1, "one batch for the four ids");
	is_int(requests("POST /universe/names [666]"), 1, "the bad id isolated alone, once");
	ok(requests("POST /universe/names") <= 5, "few requests to isolate it (%d)",
	    requests("POST /universe/names"));
	esi_name(e, 666, done, NULL);
	esi_name(e, 12, done, NULL);
	settle(h, e);
	ok(last_st == ESI_OK && strstr(last, "\"N12\""), "a resolved name comes from the cache");
	is_int(requests("POST /universe/names [666]"), 1, "the unresolvable id is remembered");

	/* posts */
	esi_post(e, "/universe/ids", "[\"Jita\"]", done, NULL);
	settle(h, e);
	ok(last_st == ESI_OK && strstr(last, "30000142"), "esi_post answers");
	is_int(requests("POST /universe/ids [\"Jita\"]"), 1, "the body sent");

	esi_stats(e, &s);
	ok(s.requests == (unsigned long)requests(" /") && s.shared >= 3 && s.retries >= 2,
	    "stats: %lu requests, %lu shared, %lu retries", s.requests, s.shared, s.retries);
	esi_get(e, "/universe/types/1", done, NULL);
	esi_free(e);	/* a question left: dropped, no callback */
	cache_free(c);
	http_free(h);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(logpath);
	return done_testing();
}
