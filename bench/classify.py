#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""classify - sum `perf report --sort dso,symbol --stdio` lines (read on
stdin) into where-the-time-goes buckets: canonicalization, hashing, key
operation, OpenSSL 3 dispatch, I/O, locking/scheduling, allocation.

Debian's libcrypto is stripped, so its samples are bucketed by address:
the sha256 code sits at 0x290000-0x2a2000 and the bignum code at
0x110000-0x140000 in libcrypto.so.3 of OpenSSL 3.0 (Debian 12); other
libcrypto addresses are provider/EVP dispatch.  Check these ranges with
callgrind_annotate (bench/profile --callgrind) after an OpenSSL update."""
import collections
import re
import sys

SHA = (0x290000, 0x2a2000)
BN = (0x110000, 0x140000)


def libcrypto(sym):
    if sym.startswith("0x"):
        a = int(sym, 16)
        if SHA[0] <= a < SHA[1]:
            return "hashing (sha256)"
        if BN[0] <= a < BN[1]:
            return "key operation (bignum, ed25519)"
        return "OpenSSL 3 EVP/provider dispatch"
    if "SHA" in sym or "Digest" in sym:
        return "hashing (sha256)"
    if sym.startswith(("BN_", "bn_", "RSA_", "ED25519", "ossl_ed")):
        return "key operation (bignum, ed25519)"
    return "OpenSSL 3 EVP/provider dispatch"


def bucket(dso, sym):
    if dso == "dkimq":
        if sym.startswith(("canon_", "relaxed_", "stage_", "simple_")):
            return "canonicalization"
        if sym.startswith(("spool_archive", "next_", "msg_", "refill")):
            return "I/O (archive reader)"
        if sym.startswith(("wrk_", "fifo_", "take", "job_", "worker")):
            return "pool and locking"
        return "dkimq other (parsing, policy, output)"
    if dso.startswith("libcrypto"):
        return libcrypto(sym)
    if dso.startswith("[kernel"):
        if any(k in sym for k in ("futex", "task_switch", "schedule",
                                  "ipi", "wake")):
            return "locking and scheduling (kernel)"
        return "I/O and page faults (kernel)"
    if dso.startswith("libc"):
        if any(k in sym for k in ("pthread", "futex", "lll_")):
            return "pool and locking"
        if any(k in sym for k in ("malloc", "free", "memset", "memcpy",
                                  "memmove", "calloc", "realloc")):
            return "allocation, memset, memcpy"
        return "libc other"
    return "other (%s)" % dso


def main():
    total = collections.Counter()
    pat = re.compile(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(\S+)")
    for line in sys.stdin:
        m = pat.match(line)
        if m:
            total[bucket(m.group(2), m.group(3))] += float(m.group(1))
    for name, pct in total.most_common():
        print("%6.1f %%  %s" % (pct, name))


if __name__ == "__main__":
    main()
