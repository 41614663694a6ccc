# SPDX-License-Identifier: MIT
#
# common.sh - shared part of the *_interop.sh scripts; sourced, not run.
#
# Sets up a temporary directory, keys and a zone file, wraps dkimq and the
# three peers (dkimpy, Mail::DKIM, libopendkim) behind one sign/verify
# interface, and runs the case matrix: every message in msgs/, all four
# canonicalizations, rsa-sha256 and ed25519-sha256, with and without l=,
# both directions.  Each signed message must pass in the other party; its
# tampered copies (a body byte, the Subject, an extra From) must fail in
# both parties, and an appended footer must fail without l= and pass
# with it.
#
# When the dkimq binary is missing, the other peers stand in for it, so
# that the harnesses are still checked against each other.
#
# IOP_MSGS, IOP_ALGS and IOP_CANONS (space-separated message file names,
# algorithms, canonicalizations) narrow a run down, e.g. to reproduce one
# failure.
#
# Adapters: sign_WHO MSG OUT ALG CANON LEN writes a signed copy of MSG
# (LEN is "l" for l=, or empty) and returns non-zero with the reason in
# $IOP_TMP/err; verify_WHO MSG prints "pass", "fail: reason" (or dkimq's
# "<result>: reason") and returns 0 for pass, 1 for another verdict, 2
# when the tool itself broke.  supports_WHO ALG says whether WHO can do ALG.

IOP_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IOP_PY=/usr/bin/python3
IOP_DOMAIN=sender.example
IOP_CANONS=${IOP_CANONS:-simple/simple simple/relaxed relaxed/simple \
relaxed/relaxed}
IOP_ALGS=${IOP_ALGS:-rsa-sha256 ed25519-sha256}
IOP_MSGS=${IOP_MSGS:-}
IOP_MSG_FILES=()
IOP_PASSED=0
IOP_FAILED=0

# iop_messages - fill IOP_MSG_FILES with the messages of this run.
iop_messages() {
	local m
	if [ -z "$IOP_MSGS" ]; then
		IOP_MSG_FILES=("$IOP_HERE"/msgs/*.eml)
		return
	fi
	for m in $IOP_MSGS; do
		IOP_MSG_FILES+=("$IOP_HERE/msgs/$m")
	done
}

# iop_init PEER DKIMQ OPENDKIM_DIR - take the script arguments, exit 77
# when PEER is not installed, make the temporary directory (removed on
# exit) and the keys.
iop_init() {
	IOP_PEER=$1
	DKIMQ=${2:-}
	IOP_OPENDKIM=${3:+$3/peer_opendkim}
	if ! "have_$IOP_PEER"; then
		echo "# $IOP_PEER is not installed: skipped"
		exit 77
	fi
	if [ -n "$DKIMQ" ] && [ ! -x "$DKIMQ" ]; then
		# Asked to test a dkimq that is not there: that is a failure.
		echo "not ok - dkimq not found at $DKIMQ"
		echo "0 passed, 1 failed"
		exit 1
	elif [ -z "$DKIMQ" ]; then
		echo "# no dkimq given: checking peers against each other only"
	fi
	iop_messages
	IOP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dkimq-interop.XXXXXX")
	trap 'rm -rf "$IOP_TMP"' EXIT
	IOP_ZONE=$IOP_TMP/keys.zone
	: > "$IOP_ZONE"
	mkdir "$IOP_TMP/keys"
	if [ -n "$DKIMQ" ]; then
		iop_keys_dkimq
	else
		iop_keys_openssl
	fi
}

ok() {
	IOP_PASSED=$((IOP_PASSED + 1))
	echo "ok - $*"
}

not_ok() {
	IOP_FAILED=$((IOP_FAILED + 1))
	echo "not ok - $*"
}

# iop_finish - the closing line and the exit status.
iop_finish() {
	echo "$IOP_PASSED passed, $IOP_FAILED failed"
	[ "$IOP_FAILED" -eq 0 ]
}

# sel_of ALG / key_of ALG - the selector and private key file for ALG.
sel_of() {
	case $1 in
	rsa-sha256) echo rsa2048 ;;
	ed25519-sha256) echo ed25519 ;;
	esac
}

key_of() {
	echo "$IOP_TMP/keys/$(sel_of "$1").private"
}

# iop_keys_dkimq - make both keys with "dkimq keygen" and check what it
# wrote: a 0600 PKCS#8 PEM file and one zone line whose strings are at
# most 255 bytes.
iop_keys_dkimq() {
	local type sel bits line key mode long pattern
	for type in rsa ed25519; do
		sel=rsa2048 bits=2048
		if [ $type = ed25519 ]; then
			sel=ed25519 bits=
		fi
		key=$IOP_TMP/keys/$sel.private
		pattern="^$sel\._domainkey\.$IOP_DOMAIN\. [0-9]* TXT"
		pattern="$pattern \"v=DKIM1; k=$type; p="
		if ! line=$("$DKIMQ" keygen --type $type ${bits:+--bits $bits} \
		    --domain $IOP_DOMAIN --selector $sel \
		    --out "$IOP_TMP/keys" 2>"$IOP_TMP/err"); then
			not_ok "dkimq keygen $type: failed:" \
			    "$(head -c 300 "$IOP_TMP/err")"
			continue
		fi
		echo "$line" >> "$IOP_ZONE"
		mode=$(stat -c %a "$key" 2>/dev/null || echo missing)
		long=$(grep -o '"[^"]*"' <<<"$line" |
		    awk 'length($0) > 257 { n++ } END { print n + 0 }')
		if [ "$(wc -l <<<"$line")" -ne 1 ]; then
			not_ok "dkimq keygen $type: printed more than one line"
		elif ! grep -q "$pattern" <<<"$line"; then
			not_ok "dkimq keygen $type: unexpected zone line: $line"
		elif [ "$long" -ne 0 ]; then
			not_ok "dkimq keygen $type: TXT string over 255 bytes"
		elif [ "$mode" != 600 ]; then
			not_ok "dkimq keygen $type: $key: mode $mode, not 600"
		elif ! grep -q -- '-----BEGIN PRIVATE KEY-----' "$key"; then
			not_ok "dkimq keygen $type: $key is not PKCS#8 PEM"
		else
			ok "dkimq keygen $type: $sel.private (0600), zone line"
		fi
	done
}

# zone_line SELECTOR TAGS - print a zone line for TAGS split into TXT
# strings of at most 255 bytes.
zone_line() {
	local rest=$2 out=""
	while [ -n "$rest" ]; do
		out="$out \"${rest:0:255}\""
		rest=${rest:255}
	done
	echo "$1._domainkey.$IOP_DOMAIN. 3600 TXT$out"
}

# iop_keys_openssl - the same keys without dkimq, for peer-only runs.
iop_keys_openssl() {
	local rsa=$IOP_TMP/keys/rsa2048.private
	local ed=$IOP_TMP/keys/ed25519.private
	local p
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$rsa" 2>/dev/null
	openssl genpkey -algorithm ed25519 -out "$ed"
	p=$(openssl pkey -in "$rsa" -pubout -outform DER | base64 -w0)
	zone_line rsa2048 "v=DKIM1; k=rsa; p=$p" >> "$IOP_ZONE"
	# RFC 8463: p= is the bare 32-byte key, the end of the SPKI DER.
	p=$(openssl pkey -in "$ed" -pubout -outform DER | tail -c 32 |
	    base64 -w0)
	zone_line ed25519 "v=DKIM1; k=ed25519; p=$p" >> "$IOP_ZONE"
}

# Peer availability.
have_dkimpy() {
	$IOP_PY -c 'import dkim, nacl.signing' 2>/dev/null
}

have_mdkim() {
	perl -MMail::DKIM::Signer -MMail::DKIM::Verifier -e 1 2>/dev/null
}

have_opendkim() {
	[ -n "$IOP_OPENDKIM" ] && [ -x "$IOP_OPENDKIM" ]
}

# --- dkimq ---------------------------------------------------------------

supports_dkimq() {
	return 0
}

sign_dkimq() {
	"$DKIMQ" sign "$1" --domain $IOP_DOMAIN --selector "$(sel_of "$3")" \
	    --key "$(key_of "$3")" --algorithm "$3" --canon "$4" \
	    ${5:+--body-length} > "$2" 2>"$IOP_TMP/err"
}

# verify_dkimq MSG - dkimq's JSON verdict as "<result>: <reason>".
verify_dkimq() {
	local out rc=0
	out=$("$DKIMQ" verify "$1" --dns-zone "$IOP_ZONE" --json \
	    2>"$IOP_TMP/verr") || rc=$?
	if [ $rc -ne 0 ]; then
		echo "error: dkimq verify exit status $rc:" \
		    "$(head -c 300 "$IOP_TMP/verr")"
		return 2
	fi
	$IOP_PY -c '
import json, sys
try:
    v = json.loads(sys.argv[1])
    result = v["result"]
except (ValueError, KeyError, TypeError) as e:
    print("error: dkimq printed no verdict (%s): %.200s" % (e, sys.argv[1]))
    sys.exit(2)
sig = (v.get("signatures") or [{}])[0]
detail = "; ".join("%s=%s" % (k, sig[k])
                   for k in ("category", "reason") if sig.get(k))
print(result + (": " + detail if detail else ""))
sys.exit(0 if result == "pass" else 1)
' "$out"
}

# --- dkimpy --------------------------------------------------------------

supports_dkimpy() {
	return 0
}

sign_dkimpy() {
	$IOP_PY "$IOP_HERE/peer_dkimpy.py" sign --key "$(key_of "$3")" \
	    --domain $IOP_DOMAIN --selector "$(sel_of "$3")" --canon "$4" \
	    --algo "$3" ${5:+--length} < "$1" > "$2" 2>"$IOP_TMP/err"
}

verify_dkimpy() {
	$IOP_PY "$IOP_HERE/peer_dkimpy.py" verify --zone "$IOP_ZONE" \
	    < "$1" 2>&1
}

# --- Mail::DKIM ----------------------------------------------------------

# Mail::DKIM 1.20230212 (Debian 12) has no ed25519-sha256 at all.
supports_mdkim() {
	[ "$1" = rsa-sha256 ]
}

sign_mdkim() {
	perl "$IOP_HERE/peer_mdkim.pl" sign --key "$(key_of "$3")" \
	    --domain $IOP_DOMAIN --selector "$(sel_of "$3")" --canon "$4" \
	    --algo "$3" ${5:+--length} < "$1" > "$2" 2>"$IOP_TMP/err"
}

verify_mdkim() {
	perl "$IOP_HERE/peer_mdkim.pl" verify --zone "$IOP_ZONE" < "$1" 2>&1
}

# --- libopendkim ---------------------------------------------------------

supports_opendkim() {
	return 0
}

sign_opendkim() {
	"$IOP_OPENDKIM" sign "$(key_of "$3")" $IOP_DOMAIN "$(sel_of "$3")" \
	    "$4" "$3" ${5:+--length} < "$1" > "$2" 2>"$IOP_TMP/err"
}

verify_opendkim() {
	"$IOP_OPENDKIM" verify "$IOP_ZONE" < "$1" 2>&1
}

# --- the matrix ----------------------------------------------------------

# verdict WHO MSG - run verify_WHO; sets VERDICT and VERDICT_RC.
verdict() {
	VERDICT_RC=0
	VERDICT=$("verify_$1" "$2") || VERDICT_RC=$?
}

# expect_verdict WHO MSG LABEL WORD... - WHO's verdict on MSG must be one
# of the WORDs.
expect_verdict() {
	local who=$1 msg=$2 label=$3 word
	shift 3
	verdict "$who" "$msg"
	for word in "$@"; do
		if [ "${VERDICT%%:*}" = "$word" ]; then
			ok "$label: $who says $word"
			return
		fi
	done
	not_ok "$label: $who says '$VERDICT', wanted $*"
}

# has_l0 MSG - whether MSG's signature has l=0 (an empty canonical body).
# XXX Mail::DKIM 1.20230212 treats l=0 as no l= at all (0 is false in
# Perl), so it also hashes what was appended after signing and fails.
has_l0() {
	grep -qE '(^|[;[:space:]])l=0;' "$1"
}

# check_tampered SIGNER VERIFIER SIGNED LABEL LEN - the tampered copies of
# SIGNED, judged by both parties.  About an extra From, dkimq may also
# answer permerror: RFC 5322 allows one From only.
check_tampered() {
	local mode who what want t=$IOP_TMP/tampered.eml
	for mode in body subject from append; do
		want=fail
		case $mode in
		body) what="changed body byte" ;;
		subject) what="changed Subject" ;;
		from) what="extra From above" ;;
		append)
			what="appended footer"
			if [ -n "$5" ]; then
				want=pass
			fi
			;;
		esac
		$IOP_PY "$IOP_HERE/tamper.py" $mode < "$3" > "$t" || continue
		for who in "$1" "$2"; do
			if [ $mode = from ] && [ "$who" = dkimq ]; then
				expect_verdict "$who" "$t" "$4, $what" \
				    fail permerror
			elif [ $mode = append ] && [ "$who" = mdkim ] &&
			    has_l0 "$3"; then
				expect_verdict "$who" "$t" \
				    "$4, $what (l=0, Mail::DKIM quirk)" fail
			else
				expect_verdict "$who" "$t" "$4, $what" $want
			fi
		done
	done
}

# check_pair SIGNER VERIFIER MSG ALG CANON LEN - one signed message, its
# verification by the other party and its tampered copies.  When the
# verifier says no, the signer's own opinion goes into the line too.
check_pair() {
	local label signed=$IOP_TMP/signed.eml said
	label="$1->$2 $4 $5${6:+ l=} $(basename "$3")"
	if ! "sign_$1" "$3" "$signed" "$4" "$5" "$6"; then
		not_ok "$label: $1 could not sign:" \
		    "$(head -c 300 "$IOP_TMP/err")"
		return
	fi
	verdict "$2" "$signed"
	if [ $VERDICT_RC -eq 0 ]; then
		ok "$label: $2 says pass"
	else
		said=$VERDICT
		verdict "$1" "$signed"
		not_ok "$label: $2 says '$said' ($1 itself says '$VERDICT')"
	fi
	check_tampered "$1" "$2" "$signed" "$label" "$6"
}

# iop_pair_cases PEER OTHER - every case between PEER and OTHER, in both
# directions, for the algorithms both support.
iop_pair_cases() {
	local msg alg canon len
	for alg in $IOP_ALGS; do
		if ! supports_"$1" "$alg" || ! supports_"$2" "$alg"; then
			continue
		fi
		for msg in "${IOP_MSG_FILES[@]}"; do
			for canon in $IOP_CANONS; do
				for len in "" l; do
					check_pair "$2" "$1" "$msg" "$alg" \
					    "$canon" "$len"
					check_pair "$1" "$2" "$msg" "$alg" \
					    "$canon" "$len"
				done
			done
		done
	done
}

# iop_run - the DKIM matrix for the peer given to iop_init: against dkimq
# when there is one, else against the other peers that are installed.
iop_run() {
	local peer=$IOP_PEER p others=""
	if [ -n "$DKIMQ" ]; then
		others=dkimq
	else
		for p in dkimpy mdkim opendkim; do
			if [ $p != "$peer" ] && "have_$p"; then
				others="$others $p"
			fi
		done
	fi
	supports_"$peer" ed25519-sha256 ||
	    echo "# $peer has no ed25519-sha256: rsa-sha256 only"
	for p in $others; do
		iop_pair_cases "$peer" "$p"
	done
}
