/* SPDX-License-Identifier: MIT */
/*
 * dns_int - helpers shared by the files of dns/ and by nothing else.
 */
#ifndef DKIMQ_DNS_INT_H
#define DKIMQ_DNS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

#define DNS_NAME_MAX 253	/* presentation form, no trailing dot */
#define DNS_LABEL_MAX 63

/*
 * dns_name_valid - whether name is a domain name dns_lookup() accepts:
 * 1 to 253 bytes, labels of 1 to 63 bytes, no leading, trailing or
 * doubled dot, and no space, control byte or backslash.
 */
bool dns_name_valid(const char *name);

/*
 * dns_answer_take - append txt[0..len), a malloc'd NUL-terminated
 * string, to a as one more record; ownership passes to a, and txt is
 * freed at once when a already holds DNS_TXT_MAX records.  Lowers
 * a->ttl to ttl if this is the first record or ttl is smaller.
 */
void dns_answer_take(struct dns_answer *a, char *txt, size_t len,
    uint32_t ttl);

/*
 * dns_answer_add - append a copy of data[0..len) (NUL-terminated) to a
 * as dns_answer_take() does.  Returns 0 or -ENOMEM (a unchanged).
 */
int dns_answer_add(struct dns_answer *a, const void *data, size_t len,
    uint32_t ttl);

/*
 * dns_key_from_answer - the key result for ans as dns_key_fetch()
 * makes it: the first TXT record that parses as kind wins, an OK
 * answer without records is NODATA.  *out is the caller's (release
 * with dns_key_free(&out->key)).  Returns 0 or -ENOMEM.
 */
int dns_key_from_answer(enum dns_key_kind kind,
    const struct dns_answer *ans, struct dns_key_result *out);

/* dns_ascii_lower - c with A-Z folded to a-z; locale-independent. */
static inline unsigned char
dns_ascii_lower(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') {
		return (unsigned char)(c + ('a' - 'A'));
	}
	return c;
}

#endif
