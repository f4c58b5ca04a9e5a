/* log: stderr, one line per event; see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/log.h"

const char *log_prog = "insight";
int log_level = LOG_INFO;
unsigned long log_warnings;
char log_last[256];
double log_last_time;

static const char *names[] = { "fatal", "warning", "info", "debug" };

void
log_init(const char *prog)
{
	const char *p = strrchr(prog, '/'), *env = getenv("LOG_LEVEL");

	log_prog = p ? p + 1 : prog;
	if (!env)
		return;
	for (int i = 0; i < 4; i++)
		if (!strcmp(env, names[i]))
			log_level = i;
}

void
log_verbose(int delta)
{
	log_level += delta;
	if (log_level < LOG_FATAL)
		log_level = LOG_FATAL;
	if (log_level > LOG_DEBUG)
		log_level = LOG_DEBUG;
}

/* Copy s to d (room: n, n > 4) with control characters escaped, so that
 * a value from data (a file name, a server's error text) can neither split
 * the line nor forge one: \n \r \t, else \xHH.  Returns the length. */
static size_t
escape(char *d, size_t n, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	unsigned char c;

	for (; (c = (unsigned char)*s) && k + 4 < n; s++) {
		if (c >= 0x20 && c != 0x7f) {
			d[k++] = (char)c;
			continue;
		}
		d[k++] = '\\';
		if (c == '\n' || c == '\r' || c == '\t')
			d[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		else {
			d[k++] = 'x';
			d[k++] = hex[c >> 4];
			d[k++] = hex[c & 15];
		}
	}
	return k;
}

/* One write(2)-sized line so concurrent writers to one log do not interleave. */
static void
vlog(int level, const char *fmt, va_list ap)
{
	char msg[4096], line[4096];
	size_t n, h;

	if (level > log_level && level > LOG_WARN)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = (size_t)snprintf(line, sizeof line, "%s: %s: ", log_prog, names[level]);
	if (n > sizeof line / 2)
		n = sizeof line / 2;	/* a program name that long: cut */
	h = n;
	n += escape(line + n, sizeof line - n - 1, msg);
	if (level <= LOG_WARN) {
		log_warnings++;
		snprintf(log_last, sizeof log_last, "%.*s", (int)(n - h), line + h);
		log_last_time = clock_wall();
	}
	if (level > log_level)
		return;
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	fflush(stderr);
}

void
log_fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_FATAL, fmt, ap);
	va_end(ap);
	exit(code);
}

#define LEVELFN(fn, level) \
	void fn(const char *fmt, ...) \
	{ va_list ap; va_start(ap, fmt); vlog(level, fmt, ap); va_end(ap); }
LEVELFN(log_warn, LOG_WARN)
LEVELFN(log_info, LOG_INFO)
LEVELFN(log_debug, LOG_DEBUG)

void
log_trace(const char *event, long long killmail_id, const char *stream)
{
	struct timespec ts;
	char id[32] = "";

	if (log_level < LOG_DEBUG)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (killmail_id)
		snprintf(id, sizeof id, " killmail_id=%lld", killmail_id);
	log_debug("trace event=%s%s%s%s t=%lld.%06ld", event, id, stream ? " stream=" : "",
	    stream ? stream : "", (long long)ts.tv_sec, ts.tv_nsec / 1000);
}

/* The last four characters of the path segment after marker, or "". */
static const char *
tail4(const char *url, const char *marker, char *seg, size_t n)
{
	const char *s = strstr(url, marker), *e;
	size_t len;

	if (!s)
		return NULL;
	s += strlen(marker);
	e = s + strcspn(s, "/?#");
	len = e - s;
	if (len > 4) {
		s = e - 4;
		len = 4;
	}
	snprintf(seg, n, "%.*s", (int)len, s);
	return seg;
}

const char *
log_url(const char *url, char *buf, size_t n)
{
	char seg[8];
	const char *s, *e;

	if (!url)
		return snprintf(buf, n, "(none)"), buf;
	if (tail4(url, "/webhooks/", seg, sizeof seg))
		snprintf(buf, n, "discord:…/%s", seg);
	else if ((s = strstr(url, "/services/")) && (s = strchr(s + 10, '/')) &&
	    tail4(s, "/", seg, sizeof seg))
		snprintf(buf, n, "slack:…/%s", seg);
	else {
		s = strstr(url, "://");
		s = s ? s + 3 : url;
		if ((e = strchr(s, '@')) && e < s + strcspn(s, "/"))
			s = e + 1;
		snprintf(buf, n, "%.*s", (int)strcspn(s, "?#"), s);
	}
	return buf;
}

const char *
log_host(const char *url, char *buf, size_t n)
{
	const char *s = strstr(url ? url : "", "://"), *at;
	size_t len;

	s = s ? s + 3 : url ? url : "";
	len = strcspn(s, "/?#");
	if ((at = memchr(s, '@', len))) {	/* user info is not for logs */
		len -= at + 1 - s;
		s = at + 1;
	}
	snprintf(buf, n, "%.*s", (int)len, s);
	return buf;
}
