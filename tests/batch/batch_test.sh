#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# batch_test.sh - `dkimq batch` against `dkimq verify` one message at a
# time: the same verdicts over a directory, a Maildir and an mbox; the
# mbox quotes From_ lines (">From ", ">>From ") and ends in a truncated
# message, which must not cost the messages before it.  Also a signing
# batch whose output verifies.
#
# Usage: batch_test.sh DKIMQ
# Prints one "ok"/"not ok" line per check; exits 1 if any failed.

set -euo pipefail

dkimq=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }

# ar FILE - the dkim= words of the first Authentication-Results field.
ar() {
	awk '/^Authentication-Results:/ { f = 1; s = $0; next }
	    f && /^[ \t]/ { s = s $0; next }
	    f { print s; exit }' "$1" | grep -o 'dkim=[a-z]*' | tr '\n' ' '
}

# keys and zone
"$dkimq" keygen --type rsa --bits 2048 --domain example.com \
    --selector r1 --out "$tmp" > "$tmp/keys.zone" 2>/dev/null
"$dkimq" keygen --type ed25519 --domain example.com \
    --selector e1 --out "$tmp" >> "$tmp/keys.zone" 2>/dev/null

# msg N SUBJECT - a plain message whose body has From_-like lines.
msg() {
	printf 'From: Alice <alice@example.com>\nTo: bob@example.net\n'
	printf 'Subject: %s\nDate: Thu, 3 Dec 2026 20:00:00 +0000\n' "$2"
	printf 'Message-ID: <%s@example.com>\n\n' "$1"
	printf 'Hello,\nFrom the start of a line this looks like mbox.\n'
	printf '>From here it was quoted already.\n>>From twice.\n'
	printf '\nbye\n'
}

mkdir -p "$tmp/in"
sign() { "$dkimq" sign --domain example.com "$@"; }
msg 1 rsa | sign --selector r1 --key "$tmp/r1.private" > "$tmp/in/m1"
msg 2 ed | sign --selector e1 --key "$tmp/e1.private" > "$tmp/in/m2"
msg 3 both | sign --selector r1 --key "$tmp/r1.private" \
    --selector e1 --key "$tmp/e1.private" > "$tmp/in/m3"
msg 4 unsigned > "$tmp/in/m4"
msg 5 tampered | sign --selector r1 --key "$tmp/r1.private" |
    sed 's/^bye$/bye!/' > "$tmp/in/m5"
names="m1 m2 m3 m4 m5"

# expected verdicts, one message at a time
for n in $names; do
	"$dkimq" verify --dns-zone "$tmp/keys.zone" "$tmp/in/$n" \
	    > "$tmp/$n.v"
	ar "$tmp/$n.v" > "$tmp/$n.want"
done
if [ "$(cat "$tmp/m1.want")" = "dkim=pass " ] &&
    grep -q 'dkim=fail' "$tmp/m5.want"; then
	ok "dkimq verify gives the expected verdicts"
else
	not_ok "dkimq verify verdicts: $(cat "$tmp"/m*.want)"
fi

# check_dir INPUT LABEL - batch INPUT; compare each output with want.
check_dir() {
	local out=$tmp/out-$2 bad=""
	if ! "$dkimq" batch --mode verify --dns-zone "$tmp/keys.zone" \
	    --threads 2 --out "$out" --report "$tmp/$2.json" --quiet \
	    "$1" 2>"$tmp/$2.err"; then
		not_ok "$2: batch failed: $(cat "$tmp/$2.err")"
		return
	fi
	for n in $names; do
		f=$(ls "$out" | grep "^$n" | head -1 || true)
		if [ -z "$f" ] || [ "$(ar "$out/$f")" != \
		    "$(cat "$tmp/$n.want")" ]; then
			bad="$bad $n"
		fi
	done
	if [ -z "$bad" ] && grep -q '"messages": 5,' "$tmp/$2.json"; then
		ok "$2: same verdicts as dkimq verify"
	else
		not_ok "$2: verdicts differ for:$bad"
	fi
}

check_dir "$tmp/in" directory

mkdir -p "$tmp/md/cur" "$tmp/md/new" "$tmp/md/tmp"
cp "$tmp/in/m1" "$tmp/in/m2" "$tmp/md/new/"
for n in m3 m4 m5; do cp "$tmp/in/$n" "$tmp/md/cur/$n:2,S"; done
check_dir "$tmp/md" maildir

# mbox: mboxrd quoting, and a last message cut in the middle
for n in $names; do
	printf 'From alice@example.com Thu Dec  3 20:00:00 2026\n'
	sed -E 's/^(>*From )/>\1/' "$tmp/in/$n"
	printf '\n'
done > "$tmp/box"
printf 'From alice@example.com Thu Dec  3 20:00:00 2026\n' >> "$tmp/box"
head -c 200 "$tmp/in/m1" >> "$tmp/box"
out=$tmp/out-mbox
if "$dkimq" batch --mode verify --dns-zone "$tmp/keys.zone" --threads 2 \
    --out "$out" --report "$tmp/mbox.json" --quiet "$tmp/box" \
    2>"$tmp/mbox.err"; then
	bad=""
	i=0
	for n in $names; do
		f=$(awk -v i=$i '$1 == i { print $2 }' "$out/index")
		if [ -z "$f" ] || [ "$(ar "$out/$f")" != \
		    "$(cat "$tmp/$n.want")" ]; then
			bad="$bad $n"
		fi
		i=$((i + 1))
	done
	if [ -z "$bad" ]; then
		ok "mbox: same verdicts as dkimq verify (From_ unquoted)"
	else
		not_ok "mbox: verdicts differ for:$bad"
	fi
	if grep -q '"messages": 6,' "$tmp/mbox.json" &&
	    grep -q '"truncated": 1,' "$tmp/mbox.json" &&
	    grep -q '"pass": 3' "$tmp/mbox.json"; then
		ok "mbox: truncated last message counted, none lost before it"
	else
		not_ok "mbox: report $(cat "$tmp/mbox.json")"
	fi
	if cmp -s <(sed 1d "$out/$(awk '$1 == 0 { print $2 }' \
	    "$out/index")" | sed '1,/^$/d') <(sed '1,/^$/d' "$tmp/in/m1"); then
		ok "mbox: message bytes restored exactly"
	else
		not_ok "mbox: message 0 differs from the original"
	fi
else
	not_ok "mbox: batch failed: $(cat "$tmp/mbox.err")"
fi

# signing batch: its output verifies
mkdir -p "$tmp/plain"
for n in 1 2 3; do msg "s$n" "to sign $n" > "$tmp/plain/s$n"; done
if "$dkimq" batch --mode sign --domain example.com --selector e1 \
    --key "$tmp/e1.private" --out "$tmp/signed" --quiet "$tmp/plain" &&
    "$dkimq" batch --mode verify --dns-zone "$tmp/keys.zone" \
    --report "$tmp/sv.json" --quiet "$tmp/signed" &&
    grep -q '"pass": 3' "$tmp/sv.json"; then
	ok "sign: a signed batch verifies"
else
	not_ok "sign: $(cat "$tmp/sv.json" 2>/dev/null)"
fi

# usage errors
if "$dkimq" batch --mode sign "$tmp/plain" 2>/dev/null; then
	not_ok "sign without keys is refused"
else
	ok "sign without keys is refused"
fi

exit $failed
