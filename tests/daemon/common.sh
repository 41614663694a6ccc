# SPDX-License-Identifier: MIT
#
# common.sh - shared part of the *_daemon.sh scripts; sourced, not run.
#
# Makes a temporary directory with an RSA and an Ed25519 key for
# example.com, a static zone holding their records, a configuration
# (d_config) and the spool; drops messages the Maildir way (d_drop);
# starts and stops the daemon (d_start, d_stop); and accounts for every
# message across the output folders and the journal (d_account).

D_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
D_PY=/usr/bin/python3
D_PASSED=0
D_FAILED=0
D_PID=
D_MARK=0

ok() {
	D_PASSED=$((D_PASSED + 1))
	echo "ok - $*"
}

not_ok() {
	D_FAILED=$((D_FAILED + 1))
	echo "not ok - $*"
}

# check COND-COMMAND... DESCRIPTION: ok when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# d_finish - print the tally and exit 0 or 1
d_finish() {
	d_stop_quiet
	echo "$D_PASSED passed, $D_FAILED failed"
	[ "$D_FAILED" -eq 0 ]
	exit $?
}

# d_init DKIMQ - keys, zone, spool, configuration
d_init() {
	DKIMQ=${1:?usage: SCRIPT DKIMQ}
	D_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dkimq-daemon.XXXXXX")
	trap 'd_stop_quiet; d_cleanup' EXIT
	SPOOL=$D_TMP/spool
	D_ZONE=$D_TMP/keys.zone
	D_CONF=$D_TMP/dkimq.conf
	D_LOG=$D_TMP/daemon.log
	mkdir -p "$D_TMP/keys"
	"$DKIMQ" keygen --type rsa --bits 2048 --domain example.com \
	    --selector rsa1 --out "$D_TMP/keys" >"$D_ZONE" 2>/dev/null
	"$DKIMQ" keygen --type ed25519 --domain example.com \
	    --selector ed1 --out "$D_TMP/keys" >>"$D_ZONE" 2>/dev/null
	# names for the verification categories
	echo "down._domainkey.example.org TIMEOUT" >>"$D_ZONE"
	d_config
}

# d_cleanup - remove the temporary directory (unmounting what is there)
d_cleanup() {
	if [ -n "${D_MOUNT:-}" ]; then
		umount "$D_MOUNT" 2>/dev/null || true
	fi
	rm -rf "$D_TMP"
}

# d_config [EXTRA] - write the configuration; EXTRA is appended
d_config() {
	cat >"$D_CONF" <<CONF
[dkimq]
spool = $SPOOL
threads = 2
authserv_id = mx.test
max_message_size = 100000
trusted_senders = boss@trusted.example, @friends.example

[dns]
zone_file = $D_ZONE

[selector:rsa1]
type = dkim
record = rsa1
key = $D_TMP/keys/rsa1.private
domains = example.com

[selector:ed1]
type = dkim
record = ed1
key = $D_TMP/keys/ed1.private
algorithm = ed25519-sha256
domains = example.com

[domain:example.com]
dkim_selector = rsa1, ed1

[domain:*]
verify_dkim = yes
verify_domainkeys = no
max_signatures = 5
CONF
	if [ -n "${1:-}" ]; then
		printf '%s\n' "$1" >>"$D_CONF"
	fi
}

# d_msg ID [FROM] [TO] [SUBJECT] - a plain message on stdout
d_msg() {
	printf 'From: %s\nTo: %s\nSubject: %s\nDate: Thu, 3 Dec 2026 20:00:00 +0000\nMessage-ID: <%s@example.com>\n\nHello %s,\nthis is message %s.\n' \
	    "${2:-Alice <alice@example.com>}" "${3:-bob@example.net}" \
	    "${4:-test $1}" "$1" "$1" "$1"
}

# d_drop QUEUE ID < MESSAGE - write in tmp/, rename into new/
d_drop() {
	cat >"$SPOOL/$1/tmp/$2"
	mv "$SPOOL/$1/tmp/$2" "$SPOOL/$1/new/$2"
}

# d_spool - make the spool folders a mailer needs before the daemon
d_spool() {
	mkdir -p "$SPOOL"/sign/tmp "$SPOOL"/sign/new "$SPOOL"/verify/tmp \
	    "$SPOOL"/verify/new
}

# d_start [ARGS] - start the daemon in the background
d_start() {
	D_MARK=$(cat "$D_LOG" 2>/dev/null | wc -l)
	"$DKIMQ" run --config "$D_CONF" --stats 1 "$@" >>"$D_LOG" 2>&1 &
	D_PID=$!
}

# d_stop - SIGTERM and wait; returns the daemon's exit status
d_stop() {
	local rc=0
	if [ -n "$D_PID" ]; then
		kill -TERM "$D_PID" 2>/dev/null || true
		wait "$D_PID" || rc=$?
		D_PID=
	fi
	return $rc
}

d_stop_quiet() {
	if [ -n "$D_PID" ]; then
		kill -KILL "$D_PID" 2>/dev/null || true
		wait "$D_PID" 2>/dev/null || true
		D_PID=
	fi
}

# d_wait_empty SECONDS - wait until both new/ folders are empty
d_wait_empty() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		if [ -z "$(find "$SPOOL/sign/new" "$SPOOL/verify/new" \
		    -mindepth 1 -print -quit)" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# d_wait_lines N SECONDS - wait until the journal has N lines
d_wait_lines() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if [ "$(wc -l <"$SPOOL/results.jsonl" 2>/dev/null || echo 0)" \
		    -ge "$1" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# d_account IDS_FILE - every id once across the outputs and the journal
d_account() {
	"$D_PY" "$D_HERE/account.py" "$SPOOL" "$1"
}

# d_wait_log PATTERN SECONDS - wait until the log of the daemon last
# started matches
d_wait_log() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if tail -n +"$((${D_MARK:-0} + 1))" "$D_LOG" | grep -q "$1"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
