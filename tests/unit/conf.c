/* conf, backoff, clock: flags over environment over defaults; durations;
 * jittered back-off stays within its bounds and grows. */
#include <stdlib.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "tap.h"

int
main(void)
{
	struct backoff b;
	double d, prev = 0;
	int within = 1, grows = 1;

	log_init("conf-test");
	setenv("T_SETTING", "from-env", 1);
	is_str(conf_str("from-flag", "T_SETTING", "def"), "from-flag", "flag wins");
	is_str(conf_str(NULL, "T_SETTING", "def"), "from-env", "then environment");
	is_str(conf_str(NULL, "T_UNSET", "def"), "def", "then default");
	setenv("T_N", "12.5", 1);
	ok(conf_num(NULL, "T_N", 1) == 12.5, "number from environment");
	is_int(conf_long("7", "T_N", 1), 7, "whole number from flag");
	ok(conf_duration("90s") == 90, "90s");
	ok(conf_duration("30m") == 1800, "30m");
	ok(conf_duration("2h") == 7200, "2h");
	ok(conf_duration("7d") == 604800, "7d");
	ok(conf_duration("15") == 15, "plain seconds");
	ok(conf_duration("5x") < 0 && conf_duration("5mm") < 0 && conf_duration("") < 0,
	    "malformed durations rejected");
	unsetenv("USER_AGENT");
	ok(strstr(conf_useragent(), "insightcore") != NULL, "default user agent names the project");
	setenv("USER_AGENT", "op/1.0 (ops@example.org)", 1);
	is_str(conf_useragent(), "op/1.0 (ops@example.org)", "USER_AGENT used");

	backoff_init(&b, 1, 60);
	for (int i = 0; i < 12; i++) {
		d = backoff_next(&b);
		if (d < b.cur / 2 || d > b.cur || d > 60)
			within = 0;
		if (i < 5 && b.cur <= prev)
			grows = 0;
		prev = b.cur;
	}
	ok(within, "every delay within [ceil/2, ceil] and under the cap");
	ok(grows, "ceiling doubles while failing");
	ok(b.cur == 60, "ceiling capped at max");
	backoff_reset(&b);
	d = backoff_next(&b);
	ok(d >= 0.5 && d <= 1, "reset starts again at base");

	setenv("INSIGHT_NOW", "1000", 1);
	ok(clock_wall() == 1000, "INSIGHT_NOW pins the wall clock");
	ok(clock_mono() > 0, "monotonic clock runs");
	return done_testing();
}
