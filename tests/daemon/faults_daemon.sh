#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# faults_daemon.sh DKIMQ - what cannot be processed (a FIFO, a symlink,
# a zero-byte file, a file over max_message_size, a directory) goes to
# failed/ with a reason while the rest flows.
#
# The unreadable case is a FIFO: the test runs as root, which reads a
# chmod 000 file anyway, so a file the daemon must not open as a message
# stands in for it.
set -u
. "$(dirname "$0")/common.sh"
d_init "$@"
d_spool

echo "# unprocessable entries in new/ among good messages"
d_start
d_wait_log 'watching sign/new' 20
t=$SPOOL/sign/tmp
mkfifo "$t/fifo1" && mv "$t/fifo1" "$SPOOL/sign/new/fifo1"
ln -s /etc/passwd "$t/link1" && mv "$t/link1" "$SPOOL/sign/new/link1"
: >"$t/empty1" && mv "$t/empty1" "$SPOOL/sign/new/empty1"
head -c 200000 /dev/zero | tr '\0' 'x' | sed 's/x\{70\}/&\n/g' |
    { d_msg big1; cat; } >"$t/big1" && mv "$t/big1" "$SPOOL/sign/new/big1"
mkdir "$t/dir1" && mv "$t/dir1" "$SPOOL/sign/new/dir1"
"$D_PY" "$D_HERE/drop.py" "$SPOOL" sign g 30 >"$D_TMP/ids"
printf '%s\n' fifo1 link1 empty1 big1 dir1 >>"$D_TMP/ids"
check "35 journal lines" d_wait_lines 35 30
check "every entry accounted for once" d_account "$D_TMP/ids"
reason() { grep -q "$2" "$SPOOL/failed/$1.reason"; }
check "FIFO: failed/ with a reason" reason fifo1 'not a regular file'
check "symlink: failed/ with a reason" reason link1 'symbolic link'
check "symlink not followed (still a link)" test -L "$SPOOL/failed/link1"
check "zero bytes: failed/ with a reason" reason empty1 'empty message'
check "too big: failed/ with a reason" reason big1 'max_message_size'
check "directory: failed/ with a reason" reason dir1 'directory'
check "the good ones are signed" test "$(grep -l '^DKIM-Signature:' \
    "$SPOOL"/out/new/g* | wc -l)" -eq 30
check "failures are journaled" test "$(grep -c '"action": "failed"' \
    "$SPOOL/results.jsonl")" -eq 5
check "failures are logged with the queue id" \
    grep -q '^dkimq: fifo1: queue=sign, action=failed' "$D_LOG"
check "SIGTERM exits 0" d_stop

d_finish
