/* log: one line per event on stderr, "prog: level: message key=value".
 * No timestamps (s6-log adds them).  Never pass a secret: use log_url(). */
#ifndef LOG_H
#define LOG_H
#include <stddef.h>

enum { LOG_FATAL, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Exit codes shared by every tool (skarnet convention). */
enum { EXIT_DONE = 0, EXIT_PERM = 100, EXIT_BUG = 101, EXIT_TEMP = 111 };

extern const char *log_prog;
extern int log_level;		/* events above this level are dropped */
/* Warnings and fatal errors so far, and the last one's text (without the
 * "prog: level: " prefix) and wall time: lib/metrics shows them. */
extern unsigned long log_warnings;
extern char log_last[256];
extern double log_last_time;

void log_init(const char *prog);	/* LOG_LEVEL env: fatal|warning|info|debug */
void log_verbose(int delta);		/* -v / -q */
__attribute__((format(printf, 2, 3), noreturn))
void log_fatal(int code, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_debug(const char *fmt, ...);

/* Benchmark tracing, at debug level only (LOG_LEVEL=debug or -v), so it
 * costs one comparison otherwise: "trace event=E killmail_id=N stream=S
 * t=UNIX" with the wall clock in microseconds (CLOCK_REALTIME, as the fakes
 * stamp requests; INSIGHT_NOW does not apply).  killmail_id 0 and a NULL
 * stream are left out.  The stages call it as they begin to write a line
 * (event=out), so no later stage can log that line first; bench/run.sh
 * follows a mail through the stages with these lines. */
void log_trace(const char *event, long long killmail_id, const char *stream);

/* A URL as it may appear in a log: webhook tokens cut ("discord:…/1234",
 * "slack:…/B0XY"), query strings and user info dropped.  Writes into buf. */
const char *log_url(const char *url, char *buf, size_t n);
/* The host[:port] of a URL, for a warning that says what cannot be reached. */
const char *log_host(const char *url, char *buf, size_t n);

#endif
