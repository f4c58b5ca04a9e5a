/* mention: which mention rule of a stream applies to a match
 * (insight-streams(5) "MENTIONS"), and the cooldowns, which survive a restart.
 *
 * The first rule whose `when` holds (absent: always), whose max_age the
 * mail is within (now minus the killmail time), and whose cooldown for
 * this stream has passed, is chosen; choosing it starts its cooldown.
 * Cooldowns are kept per (stream id, rule index) in a small text file, one
 * "id<TAB>index<TAB>unix-seconds" line each in order of id and index,
 * rewritten atomically (write, fsync, rename) by mention_save().  Times are
 * wall-clock seconds (clock_wall(): INSIGHT_NOW pins them in tests).
 *
 * Ownership: the state copies the ids it keeps. */
#ifndef MENTION_H
#define MENTION_H
#include "match/match.h"
#include "match/stream.h"

#define MENTION_WAIT (-2)	/* mention_choose: a `when` is still unknown */

/* Load path (a missing file is an empty state; a bad line is a warning).
 * path NULL: in memory only. */
struct mention_state *mention_open(const char *path);
void mention_close(struct mention_state *ms);

/* The index of the rule of s that applies to m, its cooldown started at
 * cx->now; -1 when none applies; MENTION_WAIT (nothing started) when the
 * answer depends on a `when` that evaluates unknown (a `near` waiting for
 * its distance), so the caller asks again later. */
int mention_choose(struct mention_state *ms, const struct stream *s,
    struct match_mail *m, const struct match_ctx *cx);

/* When rule idx of stream id last fired, or -1. */
double mention_last(const struct mention_state *ms, const char *id, int idx);
/* Write the state if it changed since the last save: 0, or -1 (errno). */
int mention_save(struct mention_state *ms);
#endif
