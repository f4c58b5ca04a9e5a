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

/* Batching: body, a post of one target, joins batch, a message of posts
 * for the same webhook sent together, when they can share a message (the
 * same name, avatar, content and mentions; Discord: embeds; Slack:
 * attachments) and the result stays within max posts and every limit of
 * the platform: 0, batch now holds it; else -1, batch unchanged.  A batch
 * starts as a copy of its first post (json_deep_copy). */
int render_discord_merge(json_t *batch, const json_t *body, int max);
int render_slack_merge(json_t *batch, const json_t *body, int max);
/* Discord: the body of the edit (PATCH) that makes message msg show body,
 * a post of one target, in place of its post idx (a new reference); NULL
 * when they do not match (a batch of embeds, a post of content). */
json_t *render_discord_edit(const json_t *msg, size_t idx, const json_t *body);

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
