/* metrics: see metrics.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"

enum { M_COUNTER, M_GAUGE, M_GAUGE_UL, M_CUSTOM };
#define SNAPS 13		/* a minute of snapshots at the default 5 s */

struct metric {
	int kind;
	const char *name, *labels, *help, *type;
	const void *v;
	metrics_fn *fn;
	void *arg;
	unsigned long snap[SNAPS];	/* counters: values at past writes */
	double snap_t[SNAPS];
};

static struct {
	char *dir;
	double interval, next, start;
	struct metric *m;
	size_t n;
	unsigned nsnap;		/* snapshots taken so far */
	unsigned long writes;	/* files written, this one included */
	int failed;		/* one warning per failure spell */
} M;

static void metrics_final(void);

/* A stage that dies (log_fatal, exit) leaves a last file with up 0 and
 * the reason among its warnings. */
static void
at_exit(void)
{
	metrics_final();
}

void
metrics_init(void)
{
	const char *dir = getenv("METRICS_DIR"), *state = getenv("STATE_DIR");
	const char *iv = getenv("METRICS_INTERVAL");

	M.interval = iv && *iv ? strtod(iv, NULL) : 5;
	M.start = clock_wall();
	if (M.interval <= 0 || (!dir && !state))
		return;
	if (dir)
		M.dir = mem_strdup(dir);
	else {
		M.dir = mem_calloc(strlen(state) + 9, 1);
		sprintf(M.dir, "%s/metrics", state);
	}
	M.next = clock_mono() + M.interval;
	atexit(at_exit);
}

static struct metric *
add(int kind, const char *name, const char *labels, const void *v,
    const char *help)
{
	struct metric *m;

	M.m = mem_realloc(M.m, (M.n + 1) * sizeof *M.m);
	m = memset(&M.m[M.n++], 0, sizeof *m);
	m->kind = kind;
	m->name = name;
	m->labels = labels;
	m->v = v;
	m->help = help;
	return m;
}

void
metrics_counter(const char *name, const char *labels, const unsigned long *v,
    const char *help)
{
	add(M_COUNTER, name, labels, v, help);
}

void
metrics_gauge(const char *name, const char *labels, const double *v,
    const char *help)
{
	add(M_GAUGE, name, labels, v, help);
}

void
metrics_gauge_ul(const char *name, const char *labels,
    const unsigned long *v, const char *help)
{
	add(M_GAUGE_UL, name, labels, v, help);
}

void
metrics_custom(const char *name, const char *type, const char *help,
    metrics_fn *fn, void *arg)
{
	struct metric *m = add(M_CUSTOM, name, NULL, NULL, help);

	m->type = type;
	m->fn = fn;
	m->arg = arg;
}

/* A label value as the exposition format wants it: \\, \" and \n. */
static void
put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
}

static void
put_series(FILE *f, const char *name, const char *suffix, const char *labels)
{
	fprintf(f, "insight_%s%s{stage=\"", name, suffix);
	put_label(f, log_prog);
	fprintf(f, "\"%s%s}", labels ? "," : "", labels ? labels : "");
}

void
metrics_line(FILE *f, const char *name, const char *lkey, const char *lval,
    double v)
{
	fprintf(f, "insight_%s{stage=\"", name);
	put_label(f, log_prog);
	if (lkey) {
		fprintf(f, "\",%s=\"", lkey);
		put_label(f, lval);
	}
	fprintf(f, "\"} %.17g\n", v);
}

static void
head(FILE *f, const char *name, const char *suffix, const char *type,
    const char *help)
{
	fprintf(f, "# HELP insight_%s%s %s\n# TYPE insight_%s%s %s\n",
	    name, suffix, help, name, suffix, type);
}

/* The counter's increase per second since the oldest snapshot kept (a
 * minute ago once the stage has run that long), then a new snapshot. */
static double
rate(struct metric *m, double now)
{
	unsigned long v = *(const unsigned long *)m->v;
	unsigned i = M.nsnap % SNAPS, old = M.nsnap < SNAPS ? 0 : i;
	double r = 0;

	if (M.nsnap && now > m->snap_t[old])
		r = (v - m->snap[old]) / (now - m->snap_t[old]);
	else if (now > M.start)
		r = v / (now - M.start);
	m->snap[i] = v;
	m->snap_t[i] = now;
	return r;
}

static void
put_metric(FILE *f, struct metric *m)
{
	const char *type = m->kind == M_COUNTER ? "counter" : "gauge";

	if (m->kind == M_CUSTOM) {
		head(f, m->name, "", m->type, m->help);
		m->fn(f, m->arg);
		return;
	}
	if (m == M.m || strcmp(m[-1].name, m->name))
		head(f, m->name, m->kind == M_COUNTER ? "_total" : "", type, m->help);
	put_series(f, m->name, m->kind == M_COUNTER ? "_total" : "", m->labels);
	if (m->kind == M_GAUGE)
		fprintf(f, " %.17g\n", *(const double *)m->v);
	else
		fprintf(f, " %lu\n", *(const unsigned long *)m->v);
}

static void
put_rates(FILE *f, double now)
{
	for (size_t i = 0; i < M.n; i++) {
		struct metric *m = &M.m[i];

		if (m->kind != M_COUNTER)
			continue;
		if (!i || strcmp(m[-1].name, m->name) || m[-1].kind != M_COUNTER)
			head(f, m->name, "_rate1m", "gauge",
			    "increase per second over the last minute");
		put_series(f, m->name, "_rate1m", m->labels);
		fprintf(f, " %.6g\n", rate(m, now));
	}
	M.nsnap++;
}

static void
put_all(FILE *f, int up)
{
	double now = clock_wall();

	head(f, "up", "", "gauge", "1 while the stage runs, 0 once it has exited");
	put_series(f, "up", "", NULL);
	fprintf(f, " %d\n", up);
	head(f, "start_time_seconds", "", "gauge", "when the stage started (unix time)");
	put_series(f, "start_time_seconds", "", NULL);
	fprintf(f, " %.3f\n", M.start);
	head(f, "metrics_time_seconds", "", "gauge", "when this file was written (unix time)");
	put_series(f, "metrics_time_seconds", "", NULL);
	fprintf(f, " %.3f\n", now);
	head(f, "metrics_writes", "_total", "counter",
	    "metrics files written by the stage, this one included");
	put_series(f, "metrics_writes", "_total", NULL);
	fprintf(f, " %lu\n", ++M.writes);
	head(f, "warnings", "_total", "counter", "warnings and errors logged");
	put_series(f, "warnings", "_total", NULL);
	fprintf(f, " %lu\n", log_warnings);
	if (log_last_time > 0) {
		head(f, "last_warning_time_seconds", "", "gauge",
		    "when the last warning was logged; its text in the label");
		fprintf(f, "insight_last_warning_time_seconds{stage=\"");
		put_label(f, log_prog);
		fprintf(f, "\",message=\"");
		put_label(f, log_last);
		fprintf(f, "\"} %.3f\n", log_last_time);
	}
	for (size_t i = 0; i < M.n; i++)
		put_metric(f, &M.m[i]);
	put_rates(f, now);
}

void
metrics_write(int up)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	FILE *f;
	int fd;

	if (!M.dir)
		return;
	snprintf(path, sizeof path, "%s/%s.prom", M.dir, log_prog);
	snprintf(tmp, sizeof tmp, "%s/.%s.prom.%ld", M.dir, log_prog, (long)getpid());
	if (mkdir(M.dir, 0755) && errno != EEXIST)
		goto fail;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		goto fail;
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		goto fail;
	}
	put_all(f, up);
	if (fclose(f) || rename(tmp, path))
		goto fail;
	M.failed = 0;
	return;
fail:
	if (!M.failed)
		log_warn("metrics not written dir=%s error=\"%s\"", M.dir, strerror(errno));
	M.failed = 1;
	unlink(tmp);
}

void
metrics_tick(void)
{
	double now;

	if (!M.dir || (now = clock_mono()) < M.next)
		return;
	M.next = now + M.interval;
	metrics_write(1);
}

int
metrics_due_ms(void)
{
	double left;

	if (!M.dir)
		return -1;
	left = M.next - clock_mono();
	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

int
metrics_wait_ms(int ms)
{
	int due = metrics_due_ms();

	return due >= 0 && (ms < 0 || due < ms) ? due : ms;
}

static void
metrics_final(void)
{
	metrics_write(0);
	free(M.dir);
	free(M.m);
	memset(&M, 0, sizeof M);
}

void
metrics_close(void)
{
	metrics_final();
}
