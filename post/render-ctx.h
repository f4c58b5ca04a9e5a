/* render-ctx: what the Discord and the Slack renderings share (render.c):
 * the pair being rendered, and the texts both platforms show, escaped for
 * the platform the context names.  For render-discord.c and render-slack.c
 * alone; the posters use render.h.  Every argument is borrowed. */
#ifndef RENDER_CTX_H
#define RENDER_CTX_H
#include <stddef.h>
#include <jansson.h>

#include "lib/buf.h"

struct render_ctx {
	const json_t *stream, *mail, *match, *target, *display;
	int slack;		/* escape for Slack, else for Discord */
};

void render_ctx_init(struct render_ctx *c, const json_t *pair, const json_t *target,
    int slack);
/* The member at a dotted path ("victim.ship.name"), or NULL; its string. */
const json_t *render_at(const json_t *o, const char *path);
const char *render_str(const json_t *o, const char *path);
/* display.show.KEY: true unless the stream says false. */
int render_show(const struct render_ctx *c, const char *key);
/* A name inside markdown, escaped and cut. */
void render_esc(const struct render_ctx *c, struct buf *b, const char *s);
/* "<Ship> destroyed in <System> (<Region>)", plain text. */
void render_title(const struct render_ctx *c, struct buf *b);
/* The zKillboard URL of the mail, in tmp. */
const char *render_kill_url(const struct render_ctx *c, char *tmp, size_t n);
/* The description: victim, final blow, system, distance. */
void render_body_text(const struct render_ctx *c, struct buf *b);
/* The fields both platforms show: (name, value) pairs into names/values;
 * how many. */
int render_fields(const struct render_ctx *c, struct buf *names, struct buf *values);
const char *render_stream_name(const struct render_ctx *c);
/* The verdict's colour: display.color[kind] ("#rrggbb" or a number). */
long render_color(const struct render_ctx *c);
/* The one-line summary of the compact style, without the link. */
void render_compact_text(const struct render_ctx *c, struct buf *b);
/* The target's style: "embed", "compact" or "link". */
const char *render_style(const json_t *target);
/* Length in units of the string at key (0 when absent); *total adds it. */
size_t render_len_of(const json_t *o, const char *key, size_t *total);
/* Discord: the target's username and avatar_url into body, when Discord
 * takes them. */
void render_discord_identity(const json_t *target, json_t *body);
/* Counting by a name (borrowed), most frequent first; then the top
 * largest as lines "12× NAME", and "+N more" for the rest. */
struct render_tally {
	const char *name[600];
	int n[600], len, rest;
};
void render_tally_add(struct render_tally *t, const char *name);
void render_tally_text(const struct render_ctx *c, struct buf *b, struct render_tally *t,
    int top);
#endif
