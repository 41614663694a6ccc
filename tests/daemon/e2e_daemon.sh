#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# e2e_daemon.sh DKIMQ - the sidecar end to end: 2,000 messages (half to
# sign, half to verify) dropped while it runs are each accounted for
# once, a sample of the signed ones verifies with dkimpy, SIGHUP with a
# broken configuration keeps the old one, SIGTERM under load exits 0
# with nothing lost, and the plain (no io_uring) loop does the same job.
set -u
. "$(dirname "$0")/common.sh"
d_init "$@"
d_spool

# a signed message for the verify queue
d_msg tpl | "$DKIMQ" sign --config "$D_CONF" >"$D_TMP/signed.eml"

echo "# 2000 messages while the daemon runs"
d_start
sleep 0.3
"$D_PY" "$D_HERE/drop.py" "$SPOOL" sign s 1000 >"$D_TMP/ids" &
drop1=$!
"$D_PY" "$D_HERE/drop.py" "$SPOOL" verify v 1000 "$D_TMP/signed.eml" \
    >"$D_TMP/ids.v" &
drop2=$!
wait "$drop1" "$drop2"
cat "$D_TMP/ids.v" >>"$D_TMP/ids"
check "2000 journal lines within 120 s" d_wait_lines 2000 120
check "the queues are empty" d_wait_empty 10
check "SIGTERM exits 0" d_stop
check "each message accounted for once" d_account "$D_TMP/ids"
check "1000 signed in out/new" test "$(grep -l '^DKIM-Signature:' \
    "$SPOOL"/out/new/s* | wc -l)" -eq 1000
check "1000 verified as pass" test "$(grep -l '^X-DKIM-Result: pass' \
    "$SPOOL"/out/new/v* | wc -l)" -eq 1000
check "journal lines carry the signatures" \
    grep -q '"id": "s00001", "queue": "sign", "domain": "example.com", "signatures": \[{"type": "dkim", "d": "example.com", "s": "rsa1"' \
    "$SPOOL/results.jsonl"
bad=0
for id in s00001 s00250 s00500 s00750 s01000; do
	if ! "$D_PY" "$D_HERE/../interop/peer_dkimpy.py" verify \
	    --zone "$D_ZONE" <"$SPOOL/out/new/$id" >/dev/null; then
		bad=$((bad + 1))
	fi
done
check "a sample of signatures verifies with dkimpy" test "$bad" -eq 0
check "per-message log lines name the queue id" grep -q \
    '^dkimq: s00001: queue=sign, action=sign, to=out/new/s00001' "$D_LOG"
check "a throughput summary is logged" grep -q 'stats: messages=' "$D_LOG"

echo "# SIGHUP with a broken configuration keeps the old one"
good=$(cat "$D_CONF")
d_start
d_wait_log 'watching sign/new' 20
sed -i 's|^key = .*rsa1.private|key = /nonexistent/rsa1.private|' "$D_CONF"
kill -HUP "$D_PID"
check "the reload is refused and logged" d_wait_log 'reload refused' 20
"$D_PY" "$D_HERE/drop.py" "$SPOOL" sign h 20 >"$D_TMP/ids.h"
check "still signing after the refused reload" d_wait_lines 2020 20
check "signed with the old keys" test "$(grep -l '^DKIM-Signature:' \
    "$SPOOL"/out/new/h* | wc -l)" -eq 20
printf '%s\n' "$good" >"$D_CONF"
kill -HUP "$D_PID"
check "a good configuration reloads" d_wait_log 'reloaded' 20
kill -0 "$D_PID" 2>/dev/null
check "the daemon is still running" test $? -eq 0

echo "# SIGTERM under load"
"$D_PY" "$D_HERE/drop.py" "$SPOOL" sign t 1000 >"$D_TMP/ids.t" &
dropper=$!
sleep 0.3
check "SIGTERM under load exits 0" d_stop
wait "$dropper"
left=$(ls "$SPOOL/sign/new" | wc -l)
echo "# $left messages were left queued at SIGTERM"
"$DKIMQ" run --config "$D_CONF" --once >>"$D_LOG" 2>&1
check "--once exits 0" test $? -eq 0
cat "$D_TMP/ids.h" "$D_TMP/ids.t" >>"$D_TMP/ids"
check "nothing lost or doubled over SIGTERM and --once" \
    d_account "$D_TMP/ids"

echo "# the plain loop (no io_uring)"
"$D_PY" "$D_HERE/drop.py" "$SPOOL" verify p 50 "$D_TMP/signed.eml" \
    >"$D_TMP/ids.p"
"$DKIMQ" run --config "$D_CONF" --once --no-uring >>"$D_LOG" 2>&1
check "--no-uring --once exits 0" test $? -eq 0
check "the plain loop logs that it is used" grep -q 'io=plain' "$D_LOG"
cat "$D_TMP/ids.p" >>"$D_TMP/ids"
check "the plain loop accounts for every message" d_account "$D_TMP/ids"

echo "# run refuses to start on configuration errors"
printf '[dkimq]\nspool = %s\nbogus = 1\n' "$SPOOL" >"$D_TMP/bad.conf"
"$DKIMQ" run --config "$D_TMP/bad.conf" --once >>"$D_LOG" 2>&1
check "exit status 1" test $? -eq 1
check "the error and the refusal are logged" \
    grep -q 'configuration errors; not starting' "$D_LOG"
d_finish
