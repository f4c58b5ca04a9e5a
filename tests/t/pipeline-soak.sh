# tests/t/pipeline-soak.sh: the fault soak, sourced by tests/t/pipeline-soak.t
# (synthetic fixtures) and tests/real/pipeline-soak.t (real killmails) after
# pipeline.sh, its fakes and its setup (not a test itself).
#
#   soak N SECONDS   publish N mails over about SECONDS while, every one
#                    to three seconds, a random stage is killed (kill -9;
#                    a poster gets SIGTERM: kill -9 of a poster in the
#                    middle of a request is the one case that may post
#                    twice, measured in pipeline-kill.t) and faults are
#                    set on the fake ESI (503), zKillboard (429, 500) and
#                    Discord (429, 500); then every post must arrive, once.
# It sets KILLS and FAULTS.

soak_fault() {
	case $((RANDOM % 5)) in
	0) fake_ctl "$e_url" '{"faults": [{"match": "/", "status": 503, "times": 20}]}' ;;
	1) fake_ctl "$z_url" '{"faults": [{"match": "ephemeral", "status": 429, "retry_after": 1, "times": 2}]}' ;;
	2) fake_ctl "$z_url" '{"faults": [{"match": "ephemeral", "status": 500, "times": 5}]}' ;;
	3) fake_ctl "$d_url" '{"faults": [{"match": "webhooks", "status": 500, "times": 5}]}' ;;
	4) fake_ctl "$d_url" '{"faults": [{"match": "webhooks", "status": 429, "retry_after": 0.2, "times": 3}]}' ;;
	esac
	FAULTS=$((FAULTS + 1))
}

soak_kill() {
	local stages=(redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord post-slack)
	local s=${stages[RANDOM % ${#stages[@]}]} p
	p=$(pid_of "$s")
	[ "$p" -gt 0 ] 2>/dev/null || return 0
	case $s in
	post-*) s6-svc -r "$RUN/sv/$s" ;;
	*) kill -9 "$p" ;;
	esac
	KILLS=$((KILLS + 1))
	diag "$(printf '%3ds: %s %s' "$SECONDS" "$(case $s in post-*) echo SIGTERM ;; *) echo kill -9 ;; esac)" "$s")"
}

soak() {
	local n=$1 secs=$2 step k=0 t next
	step=$(( (n + secs - 1) / secs ))
	KILLS=0 FAULTS=0 SECONDS=0
	FROM=$NPUB TO=$((NPUB + n - 1))
	next=$((1 + RANDOM % 3))
	while [ $k -lt "$n" ]; do
		t=$step
		[ $((k + t)) -le "$n" ] || t=$((n - k))
		publish "$t" || return 1
		k=$((k + t))
		if [ "$SECONDS" -ge "$next" ]; then
			soak_kill
			soak_fault
			next=$((SECONDS + 1 + RANDOM % 3))
		fi
		sleep 1	# the rate of publication, not a synchronisation
	done
}
