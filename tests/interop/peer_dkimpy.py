#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# peer_dkimpy.py - dkimpy (Debian python3-dkim) as an interoperability peer.
#
# Signs or verifies one message from stdin so that the interop scripts can
# play dkimpy against dkimq.  Keys come from a static zone file (the format
# of keys.zone, see zone_load), never from the network.  Run it with Debian's
# /usr/bin/python3, which is where python3-dkim and python3-nacl live.
#
#   sign --key K --domain D --selector S --canon H/B
#        --algo rsa-sha256|ed25519-sha256 [--length] < msg > signed
#   verify --zone ZONEFILE < msg
#
# verify checks the first DKIM-Signature, prints "pass" (exit 0) or
# "fail: reason" (exit 1).  Usage and key errors exit 2.
#
# Limitations: verify looks at the first signature only, as dkim.verify()
# does; dkimpy itself treats an extra From field as a failure (it always
# counts From one more time than h= lists it).

import argparse
import base64
import logging
import re
import sys
import types

# dkim/__init__ imports dkim.dnsplug, which pulls in dnspython and httpx
# (about half a second per run).  We always pass dnsfunc, so a stub that
# refuses to resolve anything stands in for it.
_stub = types.ModuleType("dkim.dnsplug")


def _no_dns(name, timeout=5):
    raise RuntimeError("peer_dkimpy: real DNS is not used")


_stub.get_txt = _no_dns
sys.modules.setdefault("dkim.dnsplug", _stub)

import dkim  # noqa: E402

# DER prefix of an RFC 8410 PKCS#8 Ed25519 private key: SEQUENCE, version 0,
# AlgorithmIdentifier 1.3.101.112, OCTET STRING { OCTET STRING (32) }.
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")

TOKEN_RE = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\S+)')
ESCAPE_RE = re.compile(rb"\\(\d{3}|.)")


def unescape(s):
    """Undo zone-file escapes in a quoted string: \\X and \\DDD."""
    def repl(m):
        g = m.group(1)
        if g.isdigit():
            return bytes([int(g)])
        return g
    return ESCAPE_RE.sub(repl, s)


def zone_load(path):
    """Read a zone file into {name: ("TXT", [record, ...]) | (error, None)}.

    Lines are NAME TTL [IN] TXT "s1" "s2" ... (strings joined with nothing
    between) or NAME NXDOMAIN|SERVFAIL|TIMEOUT.  Names are compared in
    lower case without a trailing dot; ";" and "#" start comment lines.
    """
    zone = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[:1] in (b";", b"#"):
                continue
            # (quoted, bare) pairs; one of the two is empty.
            toks = TOKEN_RE.findall(line)
            words = [bare.upper() for quoted, bare in toks[:4]]
            if len(words) < 2:
                raise ValueError("%s: bad line: %r" % (path, line))
            name = toks[0][1].rstrip(b".").lower().decode("ascii")
            if words[1] in (b"NXDOMAIN", b"SERVFAIL", b"TIMEOUT"):
                zone[name] = (words[1].decode("ascii"), None)
                continue
            i = 3 if words[2:3] == [b"IN"] else 2
            if words[i:i + 1] != [b"TXT"]:
                raise ValueError("%s: unsupported line: %r" % (path, line))
            txt = b"".join(unescape(q) for q, b in toks[i + 1:])
            kind, recs = zone.get(name, ("TXT", []))
            if kind == "TXT":
                recs.append(txt)
                zone[name] = ("TXT", recs)
    return zone


def zone_dnsfunc(zone):
    """Return a dnsfunc for dkimpy that answers from zone."""
    def lookup(name, timeout=5):
        key = name.decode("ascii").rstrip(".").lower()
        kind, recs = zone.get(key, ("NXDOMAIN", None))
        if kind == "TXT":
            return recs[0]
        if kind in ("SERVFAIL", "TIMEOUT"):
            raise dkim.DnsTimeoutError("%s for %s" % (kind, key))
        return None
    return lookup


def load_key(path, algo):
    """Return the private key in the form dkim.sign() wants for algo.

    RSA: the PEM text itself (dkimpy reads PKCS#1 and PKCS#8).
    Ed25519: base64 of the raw 32-byte seed, taken from our PKCS#8 PEM.
    """
    with open(path, "rb") as f:
        pem = f.read()
    if algo != "ed25519-sha256":
        return pem
    m = re.search(rb"-----BEGIN PRIVATE KEY-----(.*?)-----END", pem, re.S)
    if m is None:
        raise ValueError("%s: no PKCS#8 PEM block" % path)
    der = base64.b64decode(b"".join(m.group(1).split()))
    if len(der) != 48 or not der.startswith(ED25519_PKCS8_PREFIX):
        raise ValueError("%s: not a PKCS#8 Ed25519 key" % path)
    return base64.b64encode(der[-32:])


def message_eol(msg):
    """The line ending the message uses: CRLF unless its first line is LF."""
    nl = msg.find(b"\n")
    if nl > 0 and msg[nl - 1:nl] == b"\r":
        return b"\r\n"
    return b"\n" if nl >= 0 else b"\r\n"


def cmd_sign(args):
    msg = sys.stdin.buffer.read()
    key = load_key(args.key, args.algo)
    hcanon, _, bcanon = args.canon.partition("/")
    canon = (hcanon.encode(), (bcanon or "simple").encode())
    sig = dkim.sign(msg, args.selector.encode(), args.domain.encode(), key,
                    canonicalize=canon,
                    signature_algorithm=args.algo.encode(),
                    length=args.length, linesep=message_eol(msg))
    sys.stdout.buffer.write(sig + msg)
    return 0


class _Collect(logging.Handler):
    """Keep dkimpy's error messages: they are the only failure reason."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def cmd_verify(args):
    msg = sys.stdin.buffer.read()
    dnsfunc = zone_dnsfunc(zone_load(args.zone))
    logger = logging.getLogger("peer_dkimpy")
    logger.propagate = False
    errors = _Collect()
    logger.addHandler(errors)

    try:
        d = dkim.DKIM(msg, logger=logger)
        if not d.present():
            print("fail: no DKIM-Signature")
            return 1
        ok = d.verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        # Some dkimpy exceptions carry None as their message.
        print("fail: %s" % (e if e.args and e.args[0] else
                            type(e).__name__))
        return 1
    if ok:
        print("pass")
        return 0
    reason = "; ".join(errors.messages) or "signature did not verify"
    print("fail: %s" % reason)
    return 1


def main():
    p = argparse.ArgumentParser(description="dkimpy interop peer")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("--key", required=True)
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--canon", default="relaxed/relaxed")
    s.add_argument("--algo", default="rsa-sha256",
                   choices=["rsa-sha256", "ed25519-sha256"])
    s.add_argument("--length", action="store_true")
    v = sub.add_parser("verify")
    v.add_argument("--zone", required=True)
    args = p.parse_args()

    # Anything that escapes is a harness or setup problem, never a
    # verdict, so it must not exit 1 the way an uncaught exception would.
    try:
        if args.cmd == "sign":
            return cmd_sign(args)
        return cmd_verify(args)
    except Exception as e:
        print("peer_dkimpy: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
