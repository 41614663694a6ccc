#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# tamper.py - make a tampered copy of a signed message for the interop tests.
#
#   tamper.py body|subject|from|append < signed > tampered
#
# body:    change the first letter of the body (inside any l= range, since
#          the letter comes before every byte an appender could add);
# subject: change the first letter of the Subject field's value;
# from:    add a second From field at the top of the header;
# append:  add an empty line and a footer at the end, as a mailing list
#          would; the empty line keeps the canonical form of an empty
#          body (CRLF under "simple") a prefix of the new body.
#
# Line endings (CRLF or bare LF) are kept as they are.  Exits 3 when the
# change does not apply (a body without a letter, no Subject field).

import re
import sys

NOT_APPLICABLE = 3


def split_message(msg):
    """Return (header, body) split after the first empty line."""
    m = re.search(rb"\r?\n\r?\n", msg)
    if m is None:
        return msg, b""
    return msg[:m.end()], msg[m.end():]


def other_letter(c):
    """A letter that differs from the letter c (an int)."""
    return ord("y") if c in b"xX" else ord("x")


def tamper_body(msg):
    header, body = split_message(msg)
    m = re.search(rb"[A-Za-z]", body)
    if m is None:
        return None
    body = bytearray(body)
    body[m.start()] = other_letter(body[m.start()])
    return header + bytes(body)


def tamper_subject(msg):
    header, body = split_message(msg)
    m = re.search(rb"(?im)^subject:[ \t]*(?:\r?\n[ \t]+)*([A-Za-z])", header)
    if m is None:
        return None
    header = bytearray(header)
    header[m.start(1)] = other_letter(header[m.start(1)])
    return bytes(header) + body


def message_eol(msg):
    """CRLF unless the first line of msg ends in a bare LF."""
    return b"\r\n" if re.match(rb"[^\n]*\r\n", msg) else b"\n"


def tamper_from(msg):
    eol = message_eol(msg)
    return b"From: Mallory <mallory@attacker.example>" + eol + msg


def tamper_append(msg):
    eol = message_eol(msg)
    if not msg.endswith(b"\n"):
        msg += eol
    return msg + eol + b"-- " + eol + b"Sent through a mailing list" + eol


def main():
    modes = {"body": tamper_body, "subject": tamper_subject,
             "from": tamper_from, "append": tamper_append}
    if len(sys.argv) != 2 or sys.argv[1] not in modes:
        print("usage: tamper.py body|subject|from|append", file=sys.stderr)
        return 2
    out = modes[sys.argv[1]](sys.stdin.buffer.read())
    if out is None:
        return NOT_APPLICABLE
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
