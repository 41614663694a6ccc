#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# mdkim_interop.sh - DKIM and DomainKeys interoperability between dkimq
# and Mail::DKIM (Debian libmail-dkim-perl 1.20230212), via peer_mdkim.pl.
#
# Usage: mdkim_interop.sh DKIMQ [PEER_OPENDKIM_DIR]
#
# DKIM: both directions, all canonicalizations, with and without l=, plus
# tampered copies (see common.sh); rsa-sha256 only, since this Mail::DKIM
# has no ed25519-sha256.  DomainKeys (RFC 4870): Mail::DKIM signs with
# simple and nofws, with and without h=, and checks its own signatures and
# tampered copies, which proves the dk-sign/dk-verify harness; dkimq
# signs (--type domainkeys) and verifies (--domainkeys) in the same
# matrix, both ways (DKIMQ_INTEROP_DK=0 leaves dkimq out).  Prints one "ok"/"not ok" line per case, exits 1 if any failed,
# 77 if Mail::DKIM is missing.

set -euo pipefail

. "$(dirname "$0")/common.sh"

DK_SELECTOR=dk2048

# dk_zone - publish the RSA key once more as a DomainKeys record (no v=).
dk_zone() {
	local p
	p=$(openssl pkey -in "$(key_of rsa-sha256)" -pubout -outform DER |
	    base64 -w0)
	zone_line $DK_SELECTOR "k=rsa; p=$p" >> "$IOP_ZONE"
}

# dk_sign_WHO MSG OUT METHOD HEADERS - a DomainKey-Signature by WHO,
# with h= when HEADERS (a colon list) is not empty.
dk_sign_mdkim() {
	perl "$IOP_HERE/peer_mdkim.pl" dk-sign --key "$(key_of rsa-sha256)" \
	    --domain $IOP_DOMAIN --selector $DK_SELECTOR --method "$3" \
	    ${4:+--headers "$4"} < "$1" > "$2" 2>"$IOP_TMP/err"
}

dk_sign_dkimq() {
	"$DKIMQ" sign "$1" --type domainkeys --domain $IOP_DOMAIN \
	    --selector $DK_SELECTOR --key "$(key_of rsa-sha256)" \
	    --canon "$3" ${4:+--headers "$4"} > "$2" 2>"$IOP_TMP/err"
}

verify_mdkim_dk() {
	perl "$IOP_HERE/peer_mdkim.pl" dk-verify --zone "$IOP_ZONE" \
	    < "$1" 2>&1
}

# verify_dkimq_dk MSG - dkimq's verdict on the first DomainKeys signature,
# as "<result>: <reason>".
verify_dkimq_dk() {
	local out rc=0
	out=$("$DKIMQ" verify "$1" --dns-zone "$IOP_ZONE" --json \
	    --domainkeys --no-dkim 2>"$IOP_TMP/verr") || rc=$?
	if [ $rc -ne 0 ]; then
		echo "error: dkimq verify exit status $rc:" \
		    "$(head -c 300 "$IOP_TMP/verr")"
		return 2
	fi
	$IOP_PY -c '
import json, sys
try:
    sigs = json.loads(sys.argv[1])["signatures"]
except (ValueError, KeyError, TypeError) as e:
    print("error: dkimq printed no verdict (%s)" % e)
    sys.exit(2)
dk = [s for s in sigs if s.get("type") != "dkim"]
if not dk:
    print("none: no DomainKeys result")
    sys.exit(1)
print("%s: %s" % (dk[0].get("result"), dk[0].get("reason", "")))
sys.exit(0 if dk[0].get("result") == "pass" else 1)
' "$out"
}

# has_folded_from MSG - whether MSG's From field is folded.  Mail::DKIM
# 1.20230212 cannot take the DomainKeys identity from such a field (its
# pattern stops at the line break) and says "invalid (bad identity)".
has_folded_from() {
	grep -qiPz '(?m)^from:[^\n]*\n[ \t]' "$1"
}

# unfold_from MSG - MSG with its From field on one line.
unfold_from() {
	$IOP_PY -c 'import re, sys
data = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(re.sub(rb"^(From:[^\r\n]*)\r?\n[ \t]+", rb"\1 ",
    data, count=1, flags=re.M | re.I))' "$1"
}

# dk_check SIGNER MSG METHOD HEADERS VERIFIERS - one DomainKeys signature:
# every verifier passes it and fails its tampered copies.  An extra From
# above an h=-less DomainKeys signature is not covered by it, so only body
# and Subject changes are tried.
dk_check() {
	local label who mode signed=$IOP_TMP/dk.eml t=$IOP_TMP/dk-tampered.eml
	label="$1 DomainKeys $3${4:+ h=} $(basename "$2")"
	if ! "dk_sign_$1" "$2" "$signed" "$3" "$4"; then
		not_ok "$label: $1 could not sign:" \
		    "$(head -c 300 "$IOP_TMP/err")"
		return
	fi
	for who in $5; do
		expect_verdict "$who" "$signed" "$label" pass
	done
	for mode in body subject; do
		$IOP_PY "$IOP_HERE/tamper.py" $mode < "$signed" > "$t" ||
		    continue
		for who in $5; do
			expect_verdict "$who" "$t" "$label, $mode changed" fail
		done
	done
}

# dk_cases - the DomainKeys part described at the top.
dk_cases() {
	local msg method hdrs signer signers=mdkim verifiers=mdkim_dk
	if [ -n "$DKIMQ" ] && [ "${DKIMQ_INTEROP_DK:-1}" = 1 ]; then
		signers="mdkim dkimq" verifiers="mdkim_dk dkimq_dk"
	fi
	dk_zone
	for msg in "${IOP_MSG_FILES[@]}"; do
		if has_folded_from "$msg"; then
			# Keep the other folded fields; unfold From only.
			unfold_from "$msg" > "$IOP_TMP/$(basename "$msg")"
			msg=$IOP_TMP/$(basename "$msg")
		fi
		for signer in $signers; do
			for method in simple nofws; do
				for hdrs in "" "from:sender:to:subject:date"; do
					dk_check "$signer" "$msg" $method \
					    "$hdrs" "$verifiers"
				done
			done
		done
	done
}

iop_init mdkim "${1:-}" "${2:-}"
iop_run
dk_cases
iop_finish
