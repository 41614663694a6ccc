#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# diskfull_daemon.sh DKIMQ - a full disk (a 2 MB tmpfs mounted by the
# test) keeps inputs in new/, is logged with the queue id and the
# errno, and the queue drains once space returns.  Exits 77 (skipped)
# when mounting is not permitted.
set -u
. "$(dirname "$0")/common.sh"
d_init "$@"
echo "# a full disk"
D_MOUNT=$D_TMP/small
mkdir -p "$D_MOUNT"
if ! mount -t tmpfs -o size=2m tmpfs "$D_MOUNT" 2>/dev/null; then
	D_MOUNT=
	echo "# mount not permitted: skipped"
	exit 77
fi
SPOOL=$D_MOUNT/spool
d_config
d_spool
mkdir -p "$SPOOL"/out/tmp "$SPOOL"/out/new
"$D_PY" "$D_HERE/drop.py" "$SPOOL" sign f 20 >"$D_TMP/ids.f"
dd if=/dev/zero of="$D_MOUNT/filler" bs=64k 2>/dev/null
d_start
d_wait_log 'action=defer' 20
sleep 1
check "inputs stay in new/ while the disk is full" \
    test "$(ls "$SPOOL/sign/new" | wc -l)" -eq 20
check "nothing journaled while full" test ! -s "$SPOOL/results.jsonl"
check "the full disk is logged clearly" \
    grep -q 'f00001: .*action=defer.*No space left on device' "$D_LOG"
kill -0 "$D_PID" 2>/dev/null
check "the daemon keeps running" test $? -eq 0
rm -f "$D_MOUNT/filler"
check "it resumes once space returns" d_wait_lines 20 20
check "the queue drains" d_wait_empty 10
check "SIGTERM exits 0" d_stop
check "every message accounted for once" d_account "$D_TMP/ids.f"
d_finish
