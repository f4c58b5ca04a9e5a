/* render: a pair {"stream","mail","match"} as a Discord or Slack message.
 *
 * Styles (insight-streams(5)): "embed" (default), "compact" (one line),
 * "link" (the zKillboard URL alone).  Every length limit of Discord and
 * Slack is met by cutting text with an ellipsis, never by hoping:
 * render_*_check verifies a body against those limits.
 *
 * Ownership: render_discord and render_slack return a new reference; every
 * other argument is borrowed. */
#ifndef RENDER_H
#define RENDER_H
#include <stddef.h>
#include <jansson.h>

/* The webhook body for one target (the target object of the stream). */
json_t *render_discord(const json_t *pair, const json_t *target);
json_t *render_slack(const json_t *pair, const json_t *target);

/* 0 when body is within the platform's limits, else -1 and the reason. */
int render_discord_check(const json_t *body, char *why, size_t n);
int render_slack_check(const json_t *body, char *why, size_t n);

/* "1.23b ISK" without the " ISK": three significant digits, k/m/b/t. */
const char *render_isk(double v, char *buf, size_t n);
/* Security as EVE displays it: one decimal, 0 < s < 0.05 shows 0.1. */
double render_security(double s);
/* CCP's colour for a security status ("#4ECEF8") and a coloured dot. */
const char *render_sec_hex(double s);
const char *render_sec_dot(double s);
/* Length as Discord counts it: UTF-16 code units of UTF-8 text. */
size_t render_units(const char *s);
/* A new string: s cut to at most max units, "…" marking a cut. */
char *render_cut(const char *s, size_t max);
#endif
