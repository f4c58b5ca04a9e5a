# tests/t/jq-splice.sh: the seven stages in one shell pipe against the
# fakes, with or without `jq -c .` between every two of them; sourced by
# tests/t/jq-splice.t (synthetic) and tests/real/jq-splice.t (the real day)
# after ../lib.sh.  Not a test itself.
#
#   splice_fakes DATA      fake zKillboard (DATA: a directory or a .ndjson
#                          file of killmails), ESI (UNIVERSE), Discord, Slack
#   splice_run LABEL [jq]  one pass over every killmail; with jq, a jq -c .
#                          between every two stages, and what the first one
#                          wrote (esi-resolve's mails) kept in $T/LABEL/mails;
#                          with bundle, every stage that can writes bundles
#                          (--bundle) and filter2's output is kept in
#                          $T/LABEL/pairs
#   splice_posts LABEL     the posts the fakes accepted in that pass, sorted:
#                          "d<webhook> <body>" and "s<webhook> <body>"
# The streams are in $S; their webhooks are $HOOK_* (Discord) and $SLACK_*.

splice_need() {
	for t in redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord \
		post-slack jq curl python3; do
		command -v "$t" >/dev/null || skip_all "no $t"
	done
}

splice_fakes() {
	start_fake z zkb --data "$1" || exit 1
	start_fake e esi --data "$UNIVERSE" || exit 1
	start_fake d discord --bucket-limit 100000 --bucket-window 1 || exit 1
	start_fake s slack --burst 100000 --interval 0.001 || exit 1
	export R2Z2_URL=$z_url ESI_URL=$e_url R2Z2_RATE=0	# no rate cap: the fake has none
	export USER_AGENT="insight-test/1 (test@example.invalid)"
	export HOOK_ALL=$d_url/api/webhooks/1001/tok-all HOOK_WH=$d_url/api/webhooks/1002/tok-wh
	export HOOK_NEAR=$d_url/api/webhooks/1003/tok-near HOOK_BIG=$d_url/api/webhooks/1004/tok-big
	export HOOK_TAIL=$d_url/api/webhooks/1005/tok-tail
	export SLACK_WH=$s_url/services/T1/B1/X1 SLACK_SEC=$s_url/services/T1/B2/X2
}

# The pipe as a shell command line; hop is what runs between two stages
# (or "bundle").
splice_cmd() {
	local dir=$1 hop=$2 cmd n=0 form=
	cmd="redisq-pull --once --from 90000001 2>$dir/redisq-pull.err"
	if [ "$hop" = bundle ]; then hop= form=" --bundle"; fi
	# quick retries, and Slack paced for the fake (not 1 a second)
	for s in esi-resolve "stream-fanout -d $S$form" "filter1$form" "filter2$form" \
		"post-discord -b 0.1 -B 2$form" "post-slack -i 0.01 -b 0.1 -B 2$form"; do
		n=$((n + 1))
		if [ -n "$form" ] && [ "$n" = 5 ]; then
			cmd="$cmd | tee $dir/pairs"
		elif [ -n "$hop" ] && [ "$n" = 2 ]; then
			cmd="$cmd | $hop | tee $dir/mails"
		elif [ -n "$hop" ]; then
			cmd="$cmd | $hop"
		fi
		cmd="$cmd | ${s} 2>$dir/${s%% *}.err"
	done
	echo "$cmd >$dir/out"
}

splice_run() {
	local dir=$T/$1
	mkdir -p "$dir"
	fake_ctl "$d_url" '{"clear_log": true}' && fake_ctl "$s_url" '{"clear_log": true}' || return 1
	case ${2-} in jq) set -- "$1" "jq -c ." ;; "") set -- "$1" "" ;; esac
	STATE_DIR=$dir/state eval "$(splice_cmd "$dir" "$2")"
	curl -sf "$d_url/_posts" >"$dir/discord.posts" && curl -sf "$s_url/_posts" >"$dir/slack.posts"
}

# One line per post, whatever message it went in (batching groups posts as
# the queues happen to be): a message's settings with each of its embeds
# (Discord) or attachments (Slack), and each line of a Slack text.
splice_posts() {
	{
		jq -c '"d\(.webhook) \(.body | del(.embeds)) \(.body.embeds[]? // "")"' "$T/$1/discord.posts"
		jq -c '"s\(.webhook) \(.body | del(.attachments, .text)) \(.body.attachments[]? // "")",
			"s\(.webhook) text \(.body.text | split("\n")[])"' "$T/$1/slack.posts"
	} | sort
}

# splice_done LABEL STAGE KEY: KEY=N from the stage's "done" line
splice_done() { sed -n "s/.*info: done.* $3=\\([0-9]*\\).*/\\1/p" "$T/$1/$2.err"; }
