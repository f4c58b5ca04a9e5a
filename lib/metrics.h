/* metrics: what a stage is doing, for the operator.
 *
 * A stage registers its counters and gauges once, by address: the hot path
 * keeps incrementing its own variables and pays nothing.  metrics_tick(),
 * called from the event loop, writes them every METRICS_INTERVAL seconds
 * (default 5) as a Prometheus text exposition file
 * $STATE_DIR/metrics/PROG.prom, the convention of node_exporter's textfile
 * collector: written to a temporary file, then renamed, so a reader never
 * sees half a file.  `insight status` reads the same files.
 *
 * Every series carries stage="PROG".  Besides the registered values the
 * file holds insight_up (1; 0 in the last file written at exit), the start
 * time, the time of writing, and the last warning the stage logged (its
 * text and time) so that status can say why something is wrong.
 *
 * For each counter the file also holds NAME_rate1m: its increase over the
 * last minute (or since start), per second, from snapshots kept here, so
 * that one reading of the file gives rates.
 *
 * METRICS_DIR overrides $STATE_DIR/metrics; METRICS_INTERVAL=0 turns the
 * files off. */
#ifndef METRICS_H
#define METRICS_H
#include <stdio.h>

/* Reads the settings; creates the directory (0755) on the first write.
 * Without STATE_DIR and METRICS_DIR nothing is written. */
void metrics_init(void);

/* Register a value by address; name is "insight_" + name in the file,
 * labels is NULL or 'k="v",...' (literal, not escaped), help one line.
 * The address must stay valid until metrics_close(). */
void metrics_counter(const char *name, const char *labels,
    const unsigned long *v, const char *help);
void metrics_gauge(const char *name, const char *labels,
    const double *v, const char *help);
void metrics_gauge_ul(const char *name, const char *labels,
    const unsigned long *v, const char *help);

/* Series that come and go (a queue per webhook): fn writes its lines with
 * metrics_line() at every write. */
typedef void metrics_fn(FILE *f, void *arg);
void metrics_custom(const char *name, const char *type, const char *help,
    metrics_fn *fn, void *arg);
/* One line of a custom series: insight_NAME{stage="PROG",LABELS} VALUE;
 * label values are escaped as the format wants. */
void metrics_line(FILE *f, const char *name, const char *lkey,
    const char *lval, double v);

/* Write if the interval has passed; cheap otherwise (one clock read). */
void metrics_tick(void);
/* Seconds until the next write is due (for a poll time-out), -1 if off. */
int metrics_due_ms(void);
/* A poll time-out (ms, -1 forever) cut to the next write, so that an idle
 * stage still refreshes its file. */
int metrics_wait_ms(int ms);
/* Write now: at exit with up=0, or when a value must show at once. */
void metrics_write(int up);
void metrics_close(void);
#endif
