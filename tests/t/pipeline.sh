# tests/t/pipeline.sh: the whole pipeline under s6 against the fakes; sourced
# by pipeline*.t and fleet*.t after ../lib.sh (not a test itself).
#
#   pipeline_need               skip unless every tool, s6, jq, redis exist
#   pipeline_fakes N            fixtures of N mails, fake zkb/esi/discord/slack
#   pipeline_streams DIR        the test's streams (webhooks by "$NAME")
#   pipeline_env STATE          the site env files of one pipeline in STATE/env
#   pipeline_setup              one pipeline: $T/state, $T/streams, RUN;
#                               insight down at exit
#   insight ...                 bin/insight with the test's settings
#   publish K                   the fake zKillboard publishes K more mails
#   batch K                     publish K more; their range in FROM and TO
#   flowed [S]                  wait until every post of the batch arrived
#   pid_of, restarted, kill9, bytes, spools_empty: see below
#   expect FROM TO              the posts mails FROM..TO must give (with
#                               NEAR=1, those of the stream near.json too)
#   posts                       the posts the fakes accepted
#   complete FROM TO            all of expect FROM TO have arrived
# Posts are lines "TARGET KILLMAIL_ID": TARGET d<webhook id> for Discord,
# s<T/B/X> for Slack.

pipeline_need() {
	for t in redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord \
		post-slack s6-svscan s6-fdholder-daemon jq redis-server perl; do
		command -v "$t" >/dev/null || skip_all "no $t"
	done
}

# Fixtures and the four fakes.  zKillboard publishes nothing yet and its
# sequence.json points at the first mail, so the puller starts there.
pipeline_fakes() {
	FX=$T/fx
	fixtures "$FX" --mails "$1" >/dev/null || skip_all "no fixtures (tests/gen/fixtures.py)"
	start_fake z zkb --data "$FX" --published 0 --sequence-lag 1000000 || exit 1
	start_fake e esi --data "$FX" || exit 1
	start_fake d discord --bucket-limit 1000 --bucket-window 1 || exit 1
	start_fake s slack --burst 1000 --interval 0.01 || exit 1
	export R2Z2_URL=$z_url ESI_URL=$e_url
	export USER_AGENT="insight-test/1 (test@example.invalid)"
	# quick retries and head polls: the test waits for them
	export R2Z2_HEAD_WAIT=0.2 ESI_BACKOFF_MIN=0.05 ESI_BACKOFF_MAX=0.5
	NPUB=0
}

# Four streams (--shard 0/2: all, caps; 1/2: big, highsec-slack); every
# webhook is "$NAME", its URL in the posters' env.
pipeline_streams() {
	mkdir -p "$1"
	cat >"$1/all.json" <<-'EOF'
	{"name": "Everything", "targets": [{"discord": "$HOOK_ALL"}]}
	EOF
	cat >"$1/highsec-slack.json" <<-'EOF'
	{"match": {"space": ["highsec"]}, "targets": [{"slack": "$SLACK_HS", "style": "compact"}]}
	EOF
	cat >"$1/caps.json" <<-'EOF'
	{"match": {"victim": {"ship_group": ["Titan", "Supercarrier", "Carrier",
	                                     "Dreadnought", "Force Auxiliary"]}},
	 "targets": [{"discord": "$HOOK_CAPS"}, {"slack": "$SLACK_CAPS"}, {"stdout": true}]}
	EOF
	cat >"$1/big.json" <<-'EOF'
	{"match": {"value": {"min": 1e9}}, "targets": [{"stdout": true}]}
	EOF
}

pipeline_env() {
	mkdir -p "$1/env/post-discord" "$1/env/post-slack"
	echo "$d_url/api/webhooks/1001/tok-all" >"$1/env/post-discord/HOOK_ALL"
	echo "$d_url/api/webhooks/1002/tok-caps" >"$1/env/post-discord/HOOK_CAPS"
	echo "$d_url/api/webhooks/1003/tok-noise" >"$1/env/post-discord/HOOK_NOISE"
	echo "$d_url/api/webhooks/1004/tok-near" >"$1/env/post-discord/HOOK_NEAR"
	echo "$s_url/services/T1/B1/X1" >"$1/env/post-slack/SLACK_HS"
	echo "$s_url/services/T1/B2/X2" >"$1/env/post-slack/SLACK_CAPS"
	echo "-b 0.1 -B 2" >"$1/env/post-discord/OPTS"
	echo "-i 0.05 -b 0.1 -B 2" >"$1/env/post-slack/OPTS"
}

pipeline_setup() {
	export STATE_DIR=$T/state STREAMS_DIR=$T/streams
	pipeline_streams "$STREAMS_DIR"
	pipeline_env "$STATE_DIR"
	RUN=$STATE_DIR/run
	trap 'insight down >/dev/null 2>&1; _cleanup' EXIT
}

insight() { "$ROOT/bin/insight" "$@"; }
pid_of() { s6-svstat -o pid "$RUN/sv/$1"; }
# restarted SERVICE PID: up again, as another process
restarted() { local p; p=$(pid_of "$1"); [ "$p" != -1 ] && [ "$p" != "$2" ]; }
# kill9 SERVICE: kill -9 it and wait until s6 has restarted it
kill9() { local p; p=$(pid_of "$1"); kill -9 "$p"; wait_until 20 restarted "$1" "$p"; }
# bytes NAME: what waits in the pipeline's FIFO NAME (FIONREAD)
bytes() {
	perl -e 'open(my $f, "+<", $ARGV[0]) or die; my $n = pack("i", 0);
		ioctl($f, 0x541B, $n) or die; print unpack("i", $n)' "$RUN/fifo/$1"
}
# spools_empty [STATE...]: no post waits in a poster's spool
spools_empty() {
	for d in "${@:-$STATE_DIR}"; do
		[ -z "$(find "$d/discord/spool" "$d/slack/spool" -type f 2>/dev/null)" ] || return 1
	done
}

publish() {
	fake_ctl "$z_url" "{\"publish\": $1}" || return 1
	NPUB=$((NPUB + $1))
}
batch() { FROM=$NPUB TO=$((NPUB + $1 - 1)); publish "$1"; }
flowed() { wait_until "${1:-30}" settled "$FROM" "$TO"; }

# near.json: within 3 jumps of Arvoda (30000001), posted to webhook 1004.
NEAR_STREAM='{"match": {"near": [{"system": 30000001, "jumps": 3}]}, "targets": [{"discord": "$HOOK_NEAR"}]}'

# The systems within 3 jumps of Arvoda: breadth-first over jumps.tsv.
near_systems() {
	awk -F'\t' 'NR > 1 { adj[$1] = adj[$1] " " $2 }
	END {
		d["30000001"] = 0; q[0] = "30000001"; n = 1
		for (i = 0; i < n; i++) {
			s = q[i]
			if (d[s] == 3) continue
			k = split(adj[s], a, " ")
			for (j = 1; j <= k; j++)
				if (!(a[j] in d)) { d[a[j]] = d[s] + 1; q[n++] = a[j] }
		}
		for (s in d) print s
	}' "$FX/jumps.tsv" | jq -s -c .
}

# What mails FROM..TO (0-based lines of the fixtures) must post, worked out
# here from the fixture tables with jq and awk, not by the matcher under
# test.
expect() {
	near=[]
	[ -n "${NEAR:-}" ] && near=$(near_systems)
	jq -r -n --argjson a "$1" --argjson b "$2" --argjson near "$near" \
		--rawfile sys "$FX/systems.tsv" --rawfile types "$FX/types.tsv" \
		--rawfile groups "$FX/groups.tsv" '
	def table($t; $k; $v): $t | split("\n")[1:] | map(select(length > 0) | split("\t"))
		| map({key: .[$k], value: .[$v]}) | from_entries;
	table($sys; 0; 4) as $sec | table($types; 0; 2) as $group | table($groups; 0; 1) as $gname
	| ["Titan", "Supercarrier", "Carrier", "Dreadnought", "Force Auxiliary"] as $caps
	| foreach inputs as $m (-1; . + 1; select(. >= $a and . <= $b) | $m)
	| .killmail_id as $id
	| "d1001 \($id)",
	  (select(.solar_system_id < 31000000 and ($sec[.solar_system_id | tostring] | tonumber) >= 0.45)
	   | "sT1/B1/X1 \($id)"),
	  (select($gname[$group[.victim.ship_type_id | tostring]] as $g | $caps | index([$g]))
	   | "d1002 \($id)", "sT1/B2/X2 \($id)"),
	  (select(.solar_system_id as $sys | $near | index([$sys])) | "d1004 \($id)")
	' "$FX/killmails.ndjson" | sort
}

# Kill ids printed on the terminal for mails FROM..TO: caps and big.
expect_stdout() {
	expect "$1" "$2" | awk '$1 == "d1002" { print "caps", $2 }'
	jq -r -n --argjson a "$1" --argjson b "$2" '
	foreach inputs as $m (-1; . + 1; select(. >= $a and . <= $b) | $m)
	| select((.zkb.totalValue // 0) >= 1e9) | "big \(.killmail_id)"' "$FX/killmails.ndjson"
}

# (a message may hold several posts: batching; each kill once per message)
posts() {
	{
		curl -s "$d_url/_posts" | jq -r '"d\(.webhook) \([.body | tostring
			| match("kill/([0-9]+)/"; "g").captures[0].string] | unique | .[])"'
		curl -s "$s_url/_posts" | jq -r '"s\(.webhook) \([.body | tostring
			| match("kill/([0-9]+)/"; "g").captures[0].string] | unique | .[])"'
	} | sort
}

# complete FROM TO: every post of those mails has arrived (at least once)
complete() { [ -z "$(expect "$1" "$2" | comm -23 - "$T/posts.now")" ] || return 1; }
settled() { posts >"$T/posts.now" && complete "$@"; }
missing() { posts | sort -u | comm -13 - <(expect "$1" "$2") | wc -l; }
