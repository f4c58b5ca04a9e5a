/* metrics: the exposition file holds every registered value with the
 * stage label, a rate per counter, the last warning (escaped), up 1 while
 * running and 0 after close; it is replaced whole (no temporary left). */
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "tap.h"

static char dir[] = "/tmp/metrics-test.XXXXXX";

static char *
slurp(void)
{
	static char buf[16384];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/metrics-test.prom", dir);
	if (!(f = fopen(path, "r")))
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int
files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static void
queues(FILE *f, void *arg)
{
	metrics_line(f, "post_queue", "hook", "discord:…/12\"34", *(double *)arg);
}

int
main(void)
{
	unsigned long in = 0, out = 0, waiting = 7;
	double lag = 1.5, q = 3;
	char *s;

	if (!mkdtemp(dir))
		return 1;
	setenv("METRICS_DIR", dir, 1);
	setenv("METRICS_INTERVAL", "3600", 1);
	setenv("INSIGHT_NOW", "1000000", 1);
	log_init("metrics-test");
	log_level = LOG_FATAL;	/* the warning below is counted, not printed */
	metrics_init();
	metrics_counter("lines", "dir=\"in\"", &in, "lines read and written");
	metrics_counter("lines", "dir=\"out\"", &out, "lines read and written");
	metrics_gauge_ul("waiting", NULL, &waiting, "mails waiting");
	metrics_gauge("lag_seconds", NULL, &lag, "behind the head");
	metrics_custom("post_queue", "gauge", "posts queued per webhook", queues, &q);

	metrics_tick();
	ok(!slurp(), "nothing written before the interval");
	in = 10, out = 4;
	log_warn("network unreachable host=\"r2z2\"\nsecond");
	metrics_write(1);
	ok((s = slurp()) != NULL, "written on demand");
	ok(strstr(s, "insight_up{stage=\"metrics-test\"} 1\n") != NULL, "up 1 with the stage label");
	ok(strstr(s, "insight_lines_total{stage=\"metrics-test\",dir=\"in\"} 10\n") != NULL, "a counter");
	ok(strstr(s, "insight_lines_total{stage=\"metrics-test\",dir=\"out\"} 4\n") != NULL, "its other series");
	is_int(strstr(s, "# TYPE insight_lines_total counter") != NULL, 1, "typed once");
	ok(strstr(strstr(s, "# TYPE insight_lines_total") + 1, "# TYPE insight_lines_total ") == NULL, "not twice");
	ok(strstr(s, "insight_waiting{stage=\"metrics-test\"} 7\n") != NULL, "a gauge by address");
	ok(strstr(s, "insight_lag_seconds{stage=\"metrics-test\"} 1.5\n") != NULL, "a real gauge");
	ok(strstr(s, "insight_post_queue{stage=\"metrics-test\",hook=\"discord:…/12\\\"34\"} 3\n") != NULL,
	    "a custom series, its label escaped");
	ok(strstr(s, "insight_warnings_total{stage=\"metrics-test\"} 1\n") != NULL, "warnings counted");
	/* as the log shows it (its newline written \n), then escaped for the label */
	ok(strstr(s, "message=\"network unreachable host=\\\"r2z2\\\"\\\\nsecond\"} 1000000.000\n") != NULL,
	    "the last warning as logged, escaped, with its time");
	ok(strstr(s, "insight_lines_rate1m{stage=\"metrics-test\",dir=\"in\"}") != NULL, "a rate per counter");
	is_int(files(), 1, "one file, no temporary left");

	in = 20;
	metrics_write(1);
	s = slurp();
	ok(strstr(s, "insight_lines_total{stage=\"metrics-test\",dir=\"in\"} 20\n") != NULL, "rewritten with new values");
	ok(strstr(s, "insight_metrics_writes_total{stage=\"metrics-test\"} 2\n") != NULL, "the file counts its writes");
	metrics_close();
	s = slurp();
	ok(strstr(s, "insight_up{stage=\"metrics-test\"} 0\n") != NULL, "up 0 after close");
	{
		char path[300];

		snprintf(path, sizeof path, "%s/metrics-test.prom", dir);
		unlink(path);
		rmdir(dir);
	}
	return done_testing();
}
