#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# drop.py SPOOL QUEUE PREFIX COUNT [TEMPLATE] - drop COUNT messages into
# SPOOL/QUEUE/new the Maildir way (write in tmp/, rename), with ids
# PREFIX0001...  Without TEMPLATE each is a fresh message from
# alice@example.com; with it, a copy of that file.  Prints the ids.
import os
import sys

spool, queue, prefix, count = sys.argv[1:5]
template = open(sys.argv[5], "rb").read() if len(sys.argv) > 5 else None
for n in range(1, int(count) + 1):
    qid = "%s%05d" % (prefix, n)
    if template is None:
        body = ("From: Alice <alice@example.com>\nTo: bob@example.net\n"
                "Subject: test %s\nDate: Thu, 3 Dec 2026 20:00:00 +0000\n"
                "Message-ID: <%s@example.com>\n\nHello,\nmessage %s.\n"
                % (qid, qid, qid)).encode()
    else:
        body = template
    tmp = os.path.join(spool, queue, "tmp", qid)
    with open(tmp, "wb") as f:
        f.write(body)
    os.rename(tmp, os.path.join(spool, queue, "new", qid))
    print(qid)
