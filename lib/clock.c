#include <stdlib.h>
#include <time.h>

#include "lib/clock.h"

double
clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
clock_wall(void)
{
	const char *pin = getenv("INSIGHT_NOW");
	struct timespec ts;

	if (pin && *pin)
		return strtod(pin, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
