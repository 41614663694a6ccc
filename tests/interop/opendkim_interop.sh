#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# opendkim_interop.sh - DKIM interoperability between dkimq and
# libopendkim (Debian libopendkim11 2.11), through peer_opendkim.
#
# Usage: opendkim_interop.sh DKIMQ [PEER_OPENDKIM_DIR]
#
# Both directions, all canonicalizations, rsa-sha256 and ed25519-sha256,
# with and without l=, plus tampered copies; see common.sh.  Prints one
# "ok"/"not ok" line per case, exits 1 if any failed, 77 if the peer is
# missing.  Without a dkimq binary the other peers stand in for it.

set -euo pipefail

. "$(dirname "$0")/common.sh"

iop_init opendkim "${1:-}" "${2:-}"
iop_run
iop_finish
