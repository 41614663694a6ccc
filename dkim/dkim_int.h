/* SPDX-License-Identifier: MIT */
/*
 * dkim_int - what the files of dkim/ share and nobody else sees: the
 * address extractor, domain helpers and the signature-field builder.
 */
#ifndef DKIMQ_DKIM_INT_H
#define DKIMQ_DKIM_INT_H

#include "dkim/dkim.h"

/*
 * dkim_addr_extract - the first mailbox address of an address-list
 * field value v[0..n): the addr-spec inside <...> or, failing that, the
 * first word holding '@', with comments and quoted-string quoting
 * handled.  Writes it NUL-terminated to out (len bytes) and the offset
 * of its '@' to *at.  Returns 0, -ENOENT (no address), -ENAMETOOLONG.
 */
int dkim_addr_extract(const char *v, size_t n, char *out, size_t len,
    size_t *at);

/*
 * dkim_domain_within - whether sub equals dom or is a subdomain of it,
 * ignoring ASCII case.
 */
bool dkim_domain_within(const char *sub, const char *dom);

/*
 * dkim_valid_name - whether d is a domain name or selector: dot-separated
 * labels of 1 to 63 letters, digits, '-' or '_', at most 253 bytes.
 */
bool dkim_valid_name(const char *d);

/*
 * dkim_field_value - the value of field f: the bytes after the colon
 * (*len set), or NULL for a field without one.
 */
const char *dkim_field_value(const struct canon_field *f, size_t *len);

/*
 * dkim_copy_nofws - copy s[0..n) into out (len bytes) without FWS,
 * NUL-terminated.  Returns -ENAMETOOLONG when it does not fit.
 */
int dkim_copy_nofws(const char *s, size_t n, char *out, size_t len);

#endif
