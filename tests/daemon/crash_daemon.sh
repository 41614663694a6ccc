#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# crash_daemon.sh DKIMQ - kill -9 the sidecar at random moments, 20
# times, during a run of 2,000 messages, restarting it each time; at the
# end every input is in exactly one output place, none is left queued,
# and the journal has exactly one line per message.  The group-commit
# window is widened so that kills land inside batches.
set -u
. "$(dirname "$0")/common.sh"
d_init "$@"
d_spool
d_msg tpl | "$DKIMQ" sign --config "$D_CONF" >"$D_TMP/signed.eml"

"$D_PY" "$D_HERE/drop.py" "$SPOOL" sign c 1000 >"$D_TMP/ids" &
drop1=$!
"$D_PY" "$D_HERE/drop.py" "$SPOOL" verify k 1000 "$D_TMP/signed.eml" \
    >"$D_TMP/ids.v" &
drop2=$!
for i in $(seq 1 20); do
	d_start --batch-ms 20
	# 0.2 to 1.5 s: inside start-up, reads, batches and renames
	ms=$((RANDOM % 1300 + 200))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$D_PID" 2>/dev/null
	wait "$D_PID" 2>/dev/null
	D_PID=
done
wait "$drop1" "$drop2"
cat "$D_TMP/ids.v" >>"$D_TMP/ids"
echo "# $(wc -l <"$SPOOL/results.jsonl") journal lines after 20 kills"
"$DKIMQ" run --config "$D_CONF" --once >>"$D_LOG" 2>&1
check "the final --once run exits 0" test $? -eq 0
check "recovery ran and logged" grep -q 'recovery: completed=' "$D_LOG"
check "no stale tmp/ files are left" test -z "$(find "$SPOOL"/out/tmp \
    "$SPOOL"/forward/tmp "$SPOOL"/rejected/tmp -type f)"
check "every message once, one journal line each" d_account "$D_TMP/ids"
check "the journal has exactly 2000 lines" \
    test "$(wc -l <"$SPOOL/results.jsonl")" -eq 2000
grep -h 'recovery: completed' "$D_LOG" | grep -v 'completed=0, journaled=0, to_failed=0, stale=0' | head -5 | sed 's/^/# /'
d_finish
