/* post-slack: post matching pairs to Slack incoming webhooks.
 *
 * Reads pair lines on stdin.  For each target {"slack": URL|"$NAME", "style"}
 * of a pair it renders the post (render.h: blocks in an attachment with the
 * verdict's colour), spools it under $STATE_DIR/slack and delivers it
 * (post.h): one queue per webhook, at most one message per -i seconds (1) to
 * each, 429 Retry-After honoured, 5xx retried with back-off, dead webhooks
 * (no_service, channel_not_found, ... or 401/403/404/410) and refused posts
 * (other 4xx) dead-lettered.  Writes a receipt line per outcome and passes on,
 * unchanged, every line a later stage may want: a pair with a target that is
 * neither Discord's nor Slack's (post-discord came before), a receipt, an
 * unknown object.  Exit 0 at end of input (queues drained) or on SIGTERM
 * (unsent posts stay in the spool), 100 usage, 111 state or output unwritable. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/conf.h"
#include "lib/log.h"
#include "post/post.h"
#include "post/render.h"

/* Slack's incoming webhooks take the URL as it is. */
static void
url(const char *hook, struct buf *out)
{
	buf_add(out, hook, strlen(hook));
}

/* Slack names the reason in a bare string body; the status is not enough
 * to tell a gone webhook from a refused post. */
static int
gone(const struct http_resp *r)
{
	static const char *words[] = { "no_service", "no_service_id",
		"channel_not_found", "channel_is_archived", "invalid_token",
		"action_prohibited", "no_team", "team_disabled", "no_active_hooks",
		"posting_to_general_channel_denied", NULL };

	for (const char **w = words; *w; w++)
		if (!strncmp(r->body, *w, strlen(*w)) &&
		    !isalnum((unsigned char)r->body[strlen(*w)]) && r->body[strlen(*w)] != '_')
			return 1;
	return r->status == 401 || r->status == 403 || r->status == 404 || r->status == 410;
}

static void
judge(const struct http_resp *r, struct post_answer *a)
{
	json_t *j;

	if (r->error)
		snprintf(a->why, sizeof a->why, "%s", r->error);
	else
		snprintf(a->why, sizeof a->why, "http %ld %.200s", r->status, r->body);
	if (r->status == 200 && !strncmp(r->body, "ok", 2))
		a->v = POST_OK;
	else if (r->class == HTTP_LIMITED) {
		j = json_loadb(r->body, r->len, 0, NULL);
		a->v = POST_WAIT;
		a->wait = r->retry_after;
		if (json_number_value(json_object_get(j, "retry_after")) > a->wait)
			a->wait = json_number_value(json_object_get(j, "retry_after"));
		if (a->wait <= 0)
			a->wait = 1;
		json_decref(j);
	} else if (r->class == HTTP_SERVER || r->class == HTTP_NET)
		a->v = POST_RETRY;
	else
		a->v = gone(r) ? POST_GONE : POST_BAD;
}

int
main(int argc, char **argv)
{
	static const char *const before[] = { "discord", NULL };
	static const char *const hosts[] = { "hooks.slack.com", NULL };
	static const struct post_platform pf = { "slack", before, 0, hosts,
		render_slack, render_slack_check, url, judge, render_slack_merge, NULL, NULL };

	log_init(argv[0]);
	return post_main(argc, argv, &pf, 1);
}
