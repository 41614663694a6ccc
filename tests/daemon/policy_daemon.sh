#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# policy_daemon.sh DKIMQ - one crafted message per verification category
# of DESIGN.md takes the action and subject prefix configured for it;
# the recipient's domain (Delivered-To over To) picks the settings, a
# trusted sender is not verified, and "delete" only journals.
set -u
. "$(dirname "$0")/common.sh"
d_init "$@"
d_config '
none = mailbox:unsigned
none_prefix = [unsigned]
pass = header
invalid_signature = reject
invalid_signature_prefix = [bad sig]
dns_unreachable = reject
invalid_dns_selector = forward:postmaster@example.net
verification_failed = mailbox:suspect
verification_failed_prefix = [DKIM Failed]

[domain:drop.example]
none = delete
verify_dkim = yes'
d_spool

# one rsa-sha256 signature, so that the best signature is that one
sign1() {
	"$DKIMQ" sign --domain example.com --selector rsa1 \
	    --key "$D_TMP/keys/rsa1.private"
}
v=$SPOOL/verify
d_msg pass1 | sign1 | d_drop verify pass1
d_msg fail1 | sign1 | sed 's/^this is message fail1/this is message FORGED/' |
    d_drop verify fail1
d_msg inv1 | sed '1i DKIM-Signature: v=1; a=rsa-sha256; d=example.com' |
    d_drop verify inv1
d_msg dns1 | sign1 | sed 's/d=example.com; s=rsa1;/d=example.org; s=down;/' |
    d_drop verify dns1
d_msg sel1 | sign1 | sed 's/s=rsa1;/s=gone;/' | d_drop verify sel1
d_msg none1 | d_drop verify none1
d_msg nosubj | grep -v '^Subject:' | d_drop verify nosubj
d_msg trust1 'Boss <boss@trusted.example>' | d_drop verify trust1
d_msg trust2 'x@friends.example' | d_drop verify trust2
d_msg del1 | sed '1i Delivered-To: someone@drop.example' | d_drop verify del1
printf '%s\n' pass1 fail1 inv1 dns1 sel1 none1 nosubj trust1 trust2 del1 \
    >"$D_TMP/ids"

"$DKIMQ" run --config "$D_CONF" --once >>"$D_LOG" 2>&1
check "--once exits 0" test $? -eq 0
check "every message accounted for once" d_account "$D_TMP/ids"

hdr() { grep -q "$2" "$SPOOL/$1"; }
line() { grep "\"id\": \"$1\"" "$SPOOL/results.jsonl"; }
check "pass: header action, Authentication-Results" \
    hdr out/new/pass1 '^Authentication-Results: mx.test;'
check "pass: X-DKIM-Result: pass" hdr out/new/pass1 '^X-DKIM-Result: pass$'
check "verification_failed: mailbox:suspect" \
    test -f "$SPOOL/quarantine/suspect/new/fail1"
check "verification_failed: subject prefix" \
    hdr quarantine/suspect/new/fail1 '^Subject: \[DKIM Failed\] test fail1$'
check "verification_failed: body bytes untouched" \
    hdr quarantine/suspect/new/fail1 '^this is message FORGED'
check "invalid_signature: rejected with 550" \
    hdr rejected/new/inv1 '^X-DKIMQ-Reject: 550 5.7.1 dkim=invalid_signature'
check "invalid_signature: its prefix" \
    hdr rejected/new/inv1 '^Subject: \[bad sig\] test inv1$'
check "dns_unreachable: rejected with 452" \
    hdr rejected/new/dns1 '^X-DKIMQ-Reject: 452 4.7.5 dkim=dns_unreachable'
check "invalid_dns_selector: forwarded, target recorded" \
    hdr forward/new/sel1 '^X-DKIMQ-Forward-To: postmaster@example.net$'
check "none: mailbox:unsigned with its prefix" \
    hdr quarantine/unsigned/new/none1 '^Subject: \[unsigned\] test none1$'
check "no Subject field: one is added with the prefix" \
    hdr quarantine/unsigned/new/nosubj '^Subject: \[unsigned\]$'
check "trusted address: passed on, not verified" \
    test -f "$SPOOL/out/new/trust1"
check "trusted address: the journal says so" \
    eval 'line trust1 | grep -q "\"reason\": \"trusted sender: not verified\""'
check "trusted @domain: passed on" test -f "$SPOOL/out/new/trust2"
check "Delivered-To domain's delete: only journaled" \
    eval 'line del1 | grep -q "\"action\": \"delete\", \"to\": \"\""'
check "delete leaves no file" test -z "$(find "$SPOOL" -name del1)"
check "journal: category of the best signature" \
    eval 'line fail1 | grep -q "\"category\": \"verification_failed\""'
check "log line: queue id, action, to, category, dkim, d, s" grep -q \
    '^dkimq: pass1: queue=verify, action=header, to=out/new/pass1, category=pass, dkim=pass, d=example.com, s=rsa1' \
    "$D_LOG"
d_finish
