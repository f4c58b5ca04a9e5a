/* sink: a lean Discord webhook host for throughput runs (make bench).
 *
 *	fake-sink [-p PORT] [-f PORT_FILE]
 *
 * Listens on 127.0.0.1:PORT (0, the default: any free port, written to
 * PORT_FILE), HTTP/1.1 with keep-alive.  Every POST is accepted unread:
 * 204 No Content with Discord's rate-limit headers, one bucket per path
 * and always room in it (remaining 999999, reset after 1 s), so that the
 * poster never waits.  GET /_stats answers
 * {"requests":N,"posts":N,"status":{"204":N}}, which is what the bench
 * reads from tests/fake/fake.py; POST /_ctl answers {} and changes
 * nothing.  It validates nothing and keeps nothing: the Python fake does
 * both, and spends more CPU on a day's posts than the seven stages, which
 * then measure the fake.  One process, one thread, poll(2).  SIGTERM or
 * SIGINT: exit 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 256
#define BUFSZ (1 << 16)

struct conn {
	int fd;
	char *buf;		/* what was read and not yet consumed */
	size_t len;
	size_t skip;		/* body bytes still to drop */
	char out[512];		/* the answer, sent once the body is in */
	int owe;		/* its length, while it waits for the body */
};

static struct conn conns[MAXCONN];
static struct pollfd pfd[MAXCONN + 1];
static unsigned long requests, posts;
static volatile sig_atomic_t stop;

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "fake-sink: fatal: %s: %s\n", what, strerror(errno));
	exit(111);
}

/* Write all of p, or give up on the connection (the poster retries). */
static int
put(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The value of header name in the head (NUL-terminated), or NULL. */
static const char *
header(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') {
			l += 3 + n;
			while (*l == ' ' || *l == '\t')
				l++;
			return l;
		}
	return NULL;
}

/* The answer to the request whose head this is, in c->out. */
static void
answer(struct conn *c, const char *head)
{
	char *out = c->out, body[128], path[256] = "/";
	size_t osz = sizeof c->out;
	int n;

	requests++;
	sscanf(head, "%*s %255s", path);
	if (!strncmp(head, "GET /_stats", 11)) {
		int b = snprintf(body, sizeof body,
		    "{\"requests\":%lu,\"posts\":%lu,\"status\":{\"204\":%lu}}", requests - 1,
		    posts, posts);
		n = snprintf(out, osz, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: %d\r\n\r\n%s", b, body);
	} else if (!strncmp(head, "POST /_ctl", 10)) {
		n = snprintf(out, osz, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: 2\r\n\r\n{}");
	} else {
		unsigned long h = 5381;

		for (const char *p = path; *p && *p != '?'; p++)
			h = h * 33 + (unsigned char)*p;
		posts++;
		n = snprintf(out, osz, "HTTP/1.1 204 No Content\r\n"
		    "X-RateLimit-Limit: 1000000\r\nX-RateLimit-Remaining: 999999\r\n"
		    "X-RateLimit-Reset: %ld\r\nX-RateLimit-Reset-After: 1\r\n"
		    "X-RateLimit-Bucket: %016lx\r\n\r\n", (long)time(NULL) + 1, h);
	}
	c->owe = n;
}

/* Answer every whole request in the buffer, each once its body is in
 * (as a real server does: a client told the answer before it has sent
 * its body may stop sending it and reuse the connection); -1: close the
 * connection. */
static int
serve(struct conn *c)
{
	for (;;) {
		char *end;
		const char *cl, *ex;
		size_t used, body;

		if (c->skip) {
			size_t k = c->skip < c->len ? c->skip : c->len;

			memmove(c->buf, c->buf + k, c->len - k);
			c->len -= k;
			c->skip -= k;
			if (c->skip)
				return 0;
		}
		if (c->owe) {
			int n = c->owe;

			c->owe = 0;
			if (put(c->fd, c->out, (size_t)n) < 0)
				return -1;
		}
		c->buf[c->len] = 0;
		if (!(end = strstr(c->buf, "\r\n\r\n")))
			return c->len >= BUFSZ - 1 ? -1 : 0;
		*end = 0;
		/* read before the head is moved away below */
		cl = header(c->buf, "Content-Length");
		body = cl ? strtoul(cl, NULL, 10) : 0;
		ex = header(c->buf, "Expect");
		if (ex && !strncasecmp(ex, "100-continue", 12) &&
		    put(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
			return -1;
		answer(c, c->buf);
		used = (size_t)(end + 4 - c->buf);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		c->skip = body;
	}
}

static void
drop(int i)
{
	close(conns[i].fd);
	free(conns[i].buf);
	conns[i] = (struct conn){ .fd = -1 };
	pfd[i + 1].fd = -1;
}

static int
listen_on(int port, const char *file)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	socklen_t al = sizeof a;
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	FILE *f;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128) ||
	    getsockname(s, (struct sockaddr *)&a, &al))
		die("bind");
	if (file) {
		char tmp[4096];

		snprintf(tmp, sizeof tmp, "%s.tmp", file);
		if (!(f = fopen(tmp, "w")) || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 ||
		    fclose(f) || rename(tmp, file))
			die(file);
	}
	return s;
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	int port = 0, c, s;

	while ((c = getopt(argc, argv, "p:f:")) != -1)
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'f': file = optarg; break;
		default:
			fprintf(stderr, "usage: fake-sink [-p PORT] [-f PORT_FILE]\n");
			return 100;
		}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	s = listen_on(port, file);
	pfd[0] = (struct pollfd){ .fd = s, .events = POLLIN };
	for (int i = 0; i < MAXCONN; i++) {
		conns[i].fd = -1;
		pfd[i + 1] = (struct pollfd){ .fd = -1, .events = POLLIN };
	}
	while (!stop) {
		if (poll(pfd, MAXCONN + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pfd[0].revents & POLLIN) {
			int fd = accept(s, NULL, NULL), i;

			for (i = 0; fd >= 0 && i < MAXCONN && conns[i].fd >= 0; i++)
				;
			if (fd >= 0 && i == MAXCONN)
				close(fd);
			else if (fd >= 0) {
				conns[i] = (struct conn){ .fd = fd, .buf = malloc(BUFSZ) };
				if (!conns[i].buf)
					die("malloc");
				pfd[i + 1].fd = fd;
			}
		}
		for (int i = 0; i < MAXCONN; i++) {
			struct conn *k = &conns[i];
			ssize_t r;

			if (k->fd < 0 || !(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(k->fd, k->buf + k->len, BUFSZ - 1 - k->len);
			if (r <= 0 && !(r < 0 && errno == EINTR)) {
				drop(i);
				continue;
			}
			if (r > 0) {
				k->len += (size_t)r;
				if (serve(k) < 0)
					drop(i);
			}
		}
	}
	return 0;
}
