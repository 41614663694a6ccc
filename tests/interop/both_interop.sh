#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# both_interop.sh - a message signed by `dkimq sign --type both` carries a
# DKIM-Signature and a DomainKey-Signature placed so that each verifies:
# both pass in dkimq, in Mail::DKIM (its DKIM and its DomainKeys
# verifier), and the DKIM one in dkimpy; a changed body fails in all.
# Every sample message with a Sender: or a From: domain of the test key is
# used, in both DomainKeys canonicalizations.
#
# Usage: both_interop.sh DKIMQ [OPENDKIM_DIR]; exit 77 when a peer is
# missing, 1 when a case fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dkimq=${1:?usage: both_interop.sh DKIMQ}
py=/usr/bin/python3
passed=0
failed=0

$py -c 'import dkim' 2>/dev/null || { echo "skip: no dkimpy"; exit 77; }
perl -MMail::DKIM::Verifier -e 1 2>/dev/null ||
    { echo "skip: no Mail::DKIM"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dkimq-both.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
domain=sender.example
"$dkimq" keygen --type rsa --domain $domain --selector both \
    --out "$tmp" > "$tmp/keys.zone" 2>/dev/null

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# check WHAT WANT CMD... - CMD's verdict (its exit status) must be WANT.
check() {
	local what=$1 want=$2 got=pass out
	shift 2
	out=$("$@" 2>&1) || got=fail
	if [ "$got" = "$want" ]; then
		ok "$what: $want"
	else
		not_ok "$what: wanted $want, got $got: $(head -c 300 <<<"$out")"
	fi
}

# dkimq_both MSG - pass when dkimq passes both signatures
dkimq_both() {
	"$dkimq" verify --domainkeys --dns-zone "$tmp/keys.zone" --json "$1" |
	    $py -c 'import json, sys
j = json.load(sys.stdin)
kinds = sorted((s["type"], s["result"]) for s in j["signatures"])
ok = kinds == [("dkim", "pass"), ("domainkeys", "pass")]
print(kinds)
sys.exit(0 if ok else 1)'
}

# Mail::DKIM 1.20230212 reads the DomainKeys sender from the first line
# of From: only, so a folded From fails there ("bad identity") whoever
# signed it.  folded.eml keeps its other folded fields but gets its From
# on one line.
$py - "$here/msgs/folded.eml" "$tmp/folded-from.eml" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
data = re.sub(rb"^(From:[^\r\n]*)\r?\n[ \t]+", rb"\1 ", data, count=1,
              flags=re.M)
open(sys.argv[2], "wb").write(data)
PY

for msg in "$here"/msgs/plain.eml "$tmp/folded-from.eml" \
    "$here"/msgs/mime.eml; do
	name=$(basename "$msg")
	grep -qi "^\(from\|sender\):.*@$domain\|^ <[^>]*@$domain>" "$msg" ||
	    continue
	for canon in nofws simple; do
		s=$tmp/signed.eml
		label="$name dk=$canon"
		"$dkimq" sign --type both --canon relaxed/relaxed \
		    --domain $domain --selector both --key "$tmp/both.private" \
		    "$msg" > "$s"
		# --canon applies to DKIM; DomainKeys takes its own here.
		if [ $canon = simple ]; then
			"$dkimq" sign --type domainkeys --canon simple \
			    --domain $domain --selector both \
			    --key "$tmp/both.private" "$msg" > "$tmp/dk.eml"
			"$dkimq" sign --type dkim --domain $domain \
			    --selector both --key "$tmp/both.private" \
			    "$tmp/dk.eml" > "$s"
		fi
		for want in pass fail; do
			t=$s
			if [ $want = fail ]; then
				t=$tmp/tampered.eml
				$py "$here/tamper.py" body < "$s" > "$t"
				label="$name dk=$canon, changed body"
			fi
			check "$label: dkimq dkim+domainkeys" $want \
			    dkimq_both "$t"
			check "$label: Mail::DKIM dkim" $want \
			    perl "$here/peer_mdkim.pl" verify \
			    --zone "$tmp/keys.zone" < "$t"
			check "$label: Mail::DKIM domainkeys" $want \
			    sh -c 'perl "$1" dk-verify --zone "$2" < "$3"' _ \
			    "$here/peer_mdkim.pl" "$tmp/keys.zone" "$t"
			check "$label: dkimpy dkim" $want \
			    sh -c '"$1" "$2" verify --zone "$3" < "$4"' _ \
			    $py "$here/peer_dkimpy.py" "$tmp/keys.zone" "$t"
		done
	done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
