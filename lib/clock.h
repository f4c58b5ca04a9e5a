/* clock: monotonic seconds for timers, wall seconds for ages. */
#ifndef CLOCK_H
#define CLOCK_H
double clock_mono(void);	/* CLOCK_MONOTONIC, seconds */
double clock_wall(void);	/* INSIGHT_NOW when set (tests pin it), else time of day */
#endif
