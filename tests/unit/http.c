/* http: real libcurl transfers against a tiny server forked here; status
 * classes, Retry-After, cache lifetime, User-Agent, network errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/http.h"
#include "lib/log.h"
#include "tap.h"

static const char *answers[] = {
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCache-Control: public, max-age=300\r\n"
	"X-Seen-UA: %s\r\nConnection: close\r\n\r\nhello",
	"HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\nRetry-After: 7\r\nConnection: close\r\n\r\n",
	"HTTP/1.1 503 Busy\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno",
};

/* Answer the three requests in order, echoing whether the UA arrived. */
static void
serve(int ls)
{
	for (int i = 0; i < 3; i++) {
		char req[4096], out[1024];
		int c = accept(ls, NULL, NULL);
		ssize_t n = read(c, req, sizeof req - 1);

		req[n > 0 ? n : 0] = 0;
		snprintf(out, sizeof out, answers[i],
		    strstr(req, "User-Agent: unit-test/1") ? "yes" : "no");
		if (write(c, out, strlen(out)) < 0)
			_exit(1);
		close(c);
	}
	_exit(0);
}

static struct http_resp got[4];
static int ndone;
static char seen_ua[16];

static void
done(void *arg, struct http_resp *r)
{
	int i = (int)(long)arg;

	got[i] = *r;
	got[i].body = strdup(r->body);
	if (i == 0)
		http_header(r, "x-seen-ua", seen_ua, sizeof seen_ua);
	ndone++;
}

int
main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	struct http_opts o = { .useragent = "unit-test/1", .timeout_ms = 5000 };
	struct http *h;
	char url[128];
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	log_init("http-test");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (void *)&a, sizeof a) || listen(ls, 8) ||
	    getsockname(ls, (void *)&a, &al))
		return perror("bind"), 1;
	if ((pid = fork()) == 0)
		serve(ls);
	close(ls);
	h = http_new(&o);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
	for (long i = 0; i < 3; i++) {
		int before = ndone;

		http_request(h, "GET", url, NULL, 0, NULL, done, (void *)i);
		while (ndone == before)
			http_wait(h, NULL, 0, 1000);
	}
	http_request(h, "POST", "http://127.0.0.1:1/closed", "[]", 2, NULL, done, (void *)3L);
	while (ndone < 4)
		http_wait(h, NULL, 0, 1000);

	ok(got[0].status == 200 && got[0].class == HTTP_OK, "200 is ok");
	is_str(got[0].body, "hello", "body read");
	ok(got[0].ttl == 300, "max-age gives the cache lifetime");
	is_str(seen_ua, "yes", "User-Agent sent");
	ok(got[1].class == HTTP_LIMITED && got[1].retry_after == 7, "429 limited, Retry-After 7");
	ok(got[2].class == HTTP_SERVER && got[2].retry_after < 0, "503 server error, no Retry-After");
	ok(got[3].class == HTTP_NET && got[3].status == 0 && got[3].error, "refused is a network error");
	is_int(http_inflight(h), 0, "nothing left in flight");

	is_int(http_classify(404), HTTP_NOTFOUND, "404 class");
	is_int(http_classify(420), HTTP_LIMITED, "ESI 420 is limited");
	is_int(http_classify(403), HTTP_FORBIDDEN, "403 forbidden");
	is_int(http_classify(400), HTTP_CLIENT, "400 client");
	is_int(http_classify(304), HTTP_OK, "304 ok");
	ok(http_parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40) == 60, "Retry-After as a date");
	ok(http_parse_retry_after("1.5", 0) == 1.5, "Retry-After with decimals");
	ok(http_parse_retry_after("soon", 0) < 0, "unparsable Retry-After");
	http_free(h);
	for (int i = 0; i < 4; i++)
		free(got[i].body);
	waitpid(pid, NULL, 0);
	return done_testing();
}
