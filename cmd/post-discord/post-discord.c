/* post-discord: post matching pairs to Discord webhooks.
 *
 * Reads pair lines on stdin.  For each target {"discord": URL|"$NAME",
 * "style", "username", "avatar_url"} of a pair it renders the post (render.h),
 * spools it under $STATE_DIR/discord and delivers it (post.h): one queue per
 * webhook, Discord's X-RateLimit-* buckets followed, 429s and global limits
 * honoured, 5xx retried with back-off, dead webhooks (404, 401, 403) and
 * refused posts (400) dead-lettered; several posts queued for one webhook
 * go as one message (batching), and a revised killmail edits the message
 * of its post (PATCH .../messages/<id>).  Writes a receipt line per outcome and
 * passes on, unchanged, every line a later stage may want: a pair with any
 * target that is not Discord's, a receipt, an unknown object.  A pair whose
 * targets are all Discord's stops here.  Exit 0 at end of input (queues
 * drained) or on SIGTERM (unsent posts stay in the spool), 100 usage,
 * 111 state directory or output unwritable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/conf.h"
#include "lib/log.h"
#include "post/post.h"
#include "post/render.h"

/* wait=true: Discord answers 200 only when the message was saved. */
static void
url(const char *hook, struct buf *out)
{
	buf_add(out, hook, strlen(hook));
	if (!strstr(hook, "wait="))
		buf_add(out, strchr(hook, '?') ? "&wait=true" : "?wait=true", 10);
}

/* PATCH <webhook>/messages/<id>, in the webhook's thread if it names one. */
static void
edit_url(const char *hook, const char *id, struct buf *out)
{
	const char *q = strchr(hook, '?'), *t = q ? strstr(q, "thread_id=") : NULL;
	size_t n = q ? (size_t)(q - hook) : strlen(hook);

	while (n && hook[n - 1] == '/')
		n--;
	buf_add(out, hook, n);
	buf_add(out, "/messages/", 10);
	buf_add(out, id, strlen(id));
	if (t) {
		buf_add(out, "?", 1);
		buf_add(out, t, strcspn(t, "&#"));
	}
}

/* "Invalid Form Body (50035) {errors...}", cut to fit. */
static void
message(const json_t *j, const struct http_resp *r, char *why, size_t n)
{
	const char *m = json_string_value(json_object_get(j, "message"));
	char *errs = json_object_get(j, "errors") ?
	    ndjson_str(json_object_get(j, "errors")) : NULL;

	if (m)
		snprintf(why, n, "%s (%" JSON_INTEGER_FORMAT ")%s%s", m,
		    json_integer_value(json_object_get(j, "code")),
		    errs ? " " : "", errs ? errs : "");
	else
		snprintf(why, n, "http %ld%s%s", r->status, r->error ? ": " : "",
		    r->error ? r->error : "");
	free(errs);
}

static void
limited(const json_t *j, const struct http_resp *r, struct post_answer *a)
{
	char v[32];
	double body = json_number_value(json_object_get(j, "retry_after"));

	a->v = POST_WAIT;
	/* The longer of the two: the header is whole seconds, the body exact. */
	a->wait = r->retry_after > body ? r->retry_after : body;
	if (a->wait <= 0)
		a->wait = 1;
	a->global = json_is_true(json_object_get(j, "global")) ||
	    (http_header(r, "X-RateLimit-Global", v, sizeof v) && !strcmp(v, "true"));
	a->invalid = !(http_header(r, "X-RateLimit-Scope", v, sizeof v) &&
	    !strcmp(v, "shared"));
}

static void
judge(const struct http_resp *r, struct post_answer *a)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);

	message(j, r, a->why, sizeof a->why);
	switch (r->class) {
	case HTTP_OK:
		a->v = POST_OK;
		/* wait=true: the message, whose id an edit needs */
		if (json_is_string(json_object_get(j, "id")))
			snprintf(a->id, sizeof a->id, "%s", json_string_value(json_object_get(j, "id")));
		break;
	case HTTP_LIMITED: limited(j, r, a); break;
	case HTTP_NOTFOUND:
		/* Unknown Message: the message of an edit was deleted; the
		 * webhook lives */
		a->v = json_integer_value(json_object_get(j, "code")) == 10008 ? POST_BAD : POST_GONE;
		break;
	case HTTP_FORBIDDEN: a->v = POST_GONE; a->invalid = 1; break;
	case HTTP_CLIENT: a->v = POST_BAD; break;
	default: a->v = POST_RETRY; break;
	}
	json_decref(j);
}

int
main(int argc, char **argv)
{
	static const char *const hosts[] = { "discord.com", "ptb.discord.com",
		"canary.discord.com", "discordapp.com", "ptb.discordapp.com",
		"canary.discordapp.com", NULL };
	static const struct post_platform pf = { "discord", NULL, 1, hosts,
		render_discord, render_discord_check, url, judge, render_discord_merge,
		edit_url, render_discord_edit };

	log_init(argv[0]);
	return post_main(argc, argv, &pf, 0);
}
