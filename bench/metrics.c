/* metrics-cost: the CPU one metrics file costs a stage (make bench, part
 * metrics).
 *
 *	METRICS_DIR=DIR metrics-cost [WRITES [HOOKS]]
 *
 * Registers what the busiest stage, post-discord, registers (about forty
 * counters and gauges, and a gauge per webhook for HOOKS webhooks, 97 by
 * default as in make bench's stream sets), then writes its file WRITES
 * times (20,000 by default) through lib/metrics, a counter changing
 * between writes, and prints the CPU seconds (user + system, getrusage)
 * of one write and the size of the file.  A stage writes every 5 s: the
 * day's run says how many files the stages wrote, and this what each
 * costs; run.sh divides by the stages' CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "lib/metrics.h"

#define NC 32
#define NG 8

static double
cpu(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return r.ru_utime.tv_sec + r.ru_stime.tv_sec +
	    (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void
hooks(FILE *f, void *arg)
{
	char label[64];

	for (int i = 0; i < *(int *)arg; i++) {
		snprintf(label, sizeof label, "discord:\xe2\x80\xa6/%d", 1000 + i);
		metrics_line(f, "post_queue", "hook", label, i % 7);
	}
}

int
main(int argc, char **argv)
{
	static unsigned long c[NC];
	static double g[NG];
	static char names[NC + NG][16];
	long n = argc > 1 ? atol(argv[1]) : 20000;
	int nh = argc > 2 ? atoi(argv[2]) : 97;
	char path[4096];
	struct stat st;
	double t0, t1;

	if (n < 1 || nh < 0 || !getenv("METRICS_DIR")) {
		fprintf(stderr, "usage: METRICS_DIR=DIR metrics-cost [WRITES [HOOKS]]\n");
		return 100;
	}
	setenv("METRICS_INTERVAL", "3600", 1);
	log_init("metrics-cost");
	metrics_init();
	for (int i = 0; i < NC + NG; i++) {
		snprintf(names[i], sizeof names[i], "%s%02d", i < NC ? "count" : "level", i);
		if (i < NC)
			metrics_counter(names[i], NULL, &c[i], "a counter of the stage");
		else
			metrics_gauge(names[i], NULL, &g[i - NC], "a gauge of the stage");
	}
	metrics_custom("post_queue", "gauge", "posts queued per webhook", hooks, &nh);
	t0 = cpu();
	for (long i = 0; i < n; i++) {
		c[i % NC] += (unsigned long)i;
		g[i % NG] = (double)i / 3;
		metrics_write(1);
	}
	t1 = cpu();
	snprintf(path, sizeof path, "%s/metrics-cost.prom", getenv("METRICS_DIR"));
	if (stat(path, &st) < 0) {
		perror(path);
		return 111;
	}
	printf("%ld %.3f %lld\n", n, (t1 - t0) / n * 1e6, (long long)st.st_size);
	metrics_close();
	return 0;
}
