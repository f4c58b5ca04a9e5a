#!/bin/bash
# One pipeline per state directory: a second `insight up` on a STATE_DIR
# in use is refused (exit 111, the pid that holds it named), whatever its
# run directory or the path it names the state directory by, and whether
# the first runs detached or in the foreground; after `insight down` every
# process of the pipeline has let go of it and `up` works again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline.sh"
pipeline_need
command -v flock >/dev/null || skip_all "no flock (util-linux)"

pipeline_fakes 10
pipeline_setup
# a pipeline the lock failed to refuse is stopped too
trap 'for r in "$RUN" "$T/run2" "$T/run3"; do INSIGHT_RUN=$r insight down >/dev/null 2>&1; done
	_cleanup' EXIT
running() { s6-svscanctl -z "$1/scan" 2>/dev/null; }
free() { flock -n "$STATE_DIR/lock" true; }

insight up -d 2>"$T/up1.err"
is $? 0 "up -d"

# the same state directory, another run directory
INSIGHT_RUN=$T/run2 insight up -d >/dev/null 2>"$T/up2.err"
is $? 111 "a second up on the same STATE_DIR, another run directory: exit 111"
running "$T/run2"
ok $((! $?)) "no second pipeline started"
grep -q "^insight: fatal: $STATE_DIR is in use by pid [0-9]" "$T/up2.err"
ok $? "it says which state directory and pid ($(cat "$T/up2.err"))"
pid=$(sed -n 's/.* in use by pid \([0-9]*\).*/\1/p' "$T/up2.err")
kill -0 "$pid" 2>/dev/null
ok $? "that pid is a live process of the first pipeline ($pid)"

# the same directory by another name
ln -s "$STATE_DIR" "$T/alias"
STATE_DIR=$T/alias INSIGHT_RUN=$T/run3 insight up -d >/dev/null 2>"$T/up3.err"
is $? 111 "through a symbolic link to it: exit 111"
running "$T/run3"
ok $((! $?)) "no pipeline started"

# the first pipeline is untouched and works
batch 3
flowed 60
ok $? "the first pipeline still posts"

insight down 2>/dev/null
is $? 0 "down"
free
ok $? "after down, no process holds the state directory"

# the lock is taken at once again: up right after down
INSIGHT_RUN=$T/run2 insight up -d 2>/dev/null
is $? 0 "up with the other run directory, now that the first is down"
INSIGHT_RUN=$T/run2 insight down 2>/dev/null
free
ok $? "down: free again"

# a foreground up holds it too; its own pid is named
"$ROOT/bin/insight" up >/dev/null 2>"$T/fg.err" &
fg=$!
wait_until 30 running "$RUN"
ok $? "up in the foreground"
INSIGHT_RUN=$T/run2 insight up -d >/dev/null 2>"$T/up4.err"
is $? 111 "a second up while it runs: exit 111"
grep -q "in use by pid $fg\$" "$T/up4.err"
ok $? "the foreground insight's pid is named ($(cat "$T/up4.err"))"
kill -TERM "$fg"
wait "$fg"
is $? 0 "SIGTERM (what systemd sends): it stops cleanly"
free
ok $? "and lets go of the state directory"
done_testing
