/* SPDX-License-Identifier: MIT */
/*
 * hsel - header-field selection for DKIM and DomainKeys signatures,
 * private to dkim/.  See hsel.c for the rules.
 */
#ifndef DKIMQ_DKIM_HSEL_H
#define DKIMQ_DKIM_HSEL_H

#include "dkim/dkim_int.h"

/*
 * dkim_hlist_next - step *p through the colon list ending at end: sets
 * the next non-empty name (trimmed of FWS) and returns true, or
 * returns false at the end.
 */
bool dkim_hlist_next(const char **p, const char *end, const char **name,
    size_t *len);

/*
 * dkim_hsel_dkim - canonicalize (mode) the fields that the DKIM h= list
 * h[0..hlen) selects from m, each with its CRLF, into out.
 * Returns 0 or -ENOMEM.
 */
int dkim_hsel_dkim(const struct canon_msg *m, const char *h, size_t hlen,
    enum canon_mode mode, struct canon_out *out);

/*
 * dkim_hsel_dk - the same for a DomainKey-Signature at field index sig
 * with h= h[0..hlen) (h NULL: no h= tag).  The values of the last
 * signed From and Sender go to *from and *sender (NULL when unsigned).
 */
void dkim_hsel_dk(const struct canon_msg *m, size_t sig, const char *h,
    size_t hlen, enum canon_mode mode, const char **from,
    size_t *from_len, const char **sender, size_t *sender_len,
    struct canon_out *out);

/* dkim_hsel_note - record f's value when it is From or Sender. */
void dkim_hsel_note(const struct canon_field *f, const char **from,
    size_t *from_len, const char **sender, size_t *sender_len);

#endif
