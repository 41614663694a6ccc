#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# account.py SPOOL IDS - check that each queue id listed in IDS (one per
# line) is in exactly one output place (out/new, forward/new,
# rejected/new, quarantine/*/new, failed/, or journaled as deleted), no
# longer in sign/new or verify/new, and has exactly one journal line
# whose "to" names that place.  Prints one line per problem (at most 20)
# and a summary; exits 1 on any problem.
import collections
import glob
import json
import os
import sys

spool, ids_file = sys.argv[1], sys.argv[2]
ids = [l.strip() for l in open(ids_file) if l.strip()]
places = collections.defaultdict(list)
for pat in ("out/new/*", "forward/new/*", "rejected/new/*",
            "quarantine/*/new/*", "failed/*"):
    for p in glob.glob(os.path.join(spool, pat)):
        if p.endswith(".reason"):
            continue
        places[os.path.basename(p)].append(os.path.relpath(p, spool))
lines = collections.defaultdict(list)
bad_json = 0
for raw in open(os.path.join(spool, "results.jsonl")):
    try:
        j = json.loads(raw)
    except ValueError:
        bad_json += 1
        continue
    lines[j["id"]].append(j)
problems = []
if bad_json:
    problems.append("%d journal lines are not JSON" % bad_json)
for i in ids:
    for q in ("sign", "verify"):
        if os.path.lexists(os.path.join(spool, q, "new", i)):
            problems.append("%s: still in %s/new" % (i, q))
    js = lines.get(i, [])
    if len(js) != 1:
        problems.append("%s: %d journal lines" % (i, len(js)))
        continue
    where = places.get(i, [])
    if js[0]["action"] == "delete":
        if where:
            problems.append("%s: deleted but in %s" % (i, where))
        continue
    if len(where) != 1:
        problems.append("%s: in %d places %s" % (i, len(where), where))
    elif where[0] != js[0]["to"]:
        problems.append("%s: in %s, journal says %s" %
                        (i, where[0], js[0]["to"]))
for p in problems[:20]:
    print("#", p)
print("# %d ids, %d problems" % (len(ids), len(problems)))
sys.exit(1 if problems else 0)
