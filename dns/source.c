/* SPDX-License-Identifier: MIT */
/*
 * dns/source.c - what every TXT source shares: the lookup dispatch with
 * its name check, answer release and the status vocabulary.
 *
 * Does not talk to the network or read files; the zone file and the
 * resolver live in zone.c and resolver.c.  Holds no state of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

/* dns_status_name - "ok", "nxdomain", ... for logs and reasons. */
const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_SERVFAIL:
		return "servfail";
	case DNS_TIMEOUT:
		return "timeout";
	}
	return "unknown";
}

/* dns_status_is_temporary - whether s may change on retry. */
bool
dns_status_is_temporary(enum dns_status s)
{
	return s == DNS_SERVFAIL || s == DNS_TIMEOUT;
}

/* dns_answer_free - release the strings of a; a itself is the caller's. */
void
dns_answer_free(struct dns_answer *a)
{
	size_t i;

	if (a == NULL) {
		return;
	}
	for (i = 0; i < a->ntxt && i < DNS_TXT_MAX; i++) {
		free(a->txt[i]);
		a->txt[i] = NULL;
		a->txt_len[i] = 0;
	}
	a->ntxt = 0;
}

/* dns_answer_take - append txt to a, taking ownership of it. */
void
dns_answer_take(struct dns_answer *a, char *txt, size_t len, uint32_t ttl)
{
	if (a->ntxt >= DNS_TXT_MAX) {
		free(txt);
		return;
	}
	if (a->ntxt == 0 || ttl < a->ttl) {
		a->ttl = ttl;
	}
	a->txt[a->ntxt] = txt;
	a->txt_len[a->ntxt] = len;
	a->ntxt++;
}

/* dns_answer_add - append a copy of one record's text to a. */
int
dns_answer_add(struct dns_answer *a, const void *data, size_t len,
    uint32_t ttl)
{
	char *copy;

	if (a->ntxt >= DNS_TXT_MAX) {
		return 0;
	}
	copy = malloc(len + 1);
	if (copy == NULL) {
		return -ENOMEM;
	}
	if (len > 0) {
		memcpy(copy, data, len);
	}
	copy[len] = '\0';
	dns_answer_take(a, copy, len, ttl);
	return 0;
}

/* dns_name_valid - whether name is a domain name dns_lookup() takes. */
bool
dns_name_valid(const char *name)
{
	size_t len, label;
	const unsigned char *p;

	len = strlen(name);
	if (len == 0 || len > DNS_NAME_MAX) {
		return false;
	}

	/*
	 * Labels of 1 to 63 bytes joined by single dots; no dot at either
	 * end.  Bytes that a presentation-format name would read as syntax
	 * (space, control bytes, backslash) are refused rather than
	 * escaped, since no DKIM selector or domain needs them.
	 */
	label = 0;
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0) {
				return false;
			}
			label = 0;
			continue;
		}
		if (*p <= ' ' || *p == 0x7f || *p == '\\') {
			return false;
		}
		if (++label > DNS_LABEL_MAX) {
			return false;
		}
	}
	return label > 0;
}

/* dns_lookup - ask src for the TXT records at qname. */
int
dns_lookup(struct dns_source *src, const char *qname,
    struct dns_answer *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (qname == NULL || !dns_name_valid(qname)) {
		return -EINVAL;
	}

	rc = src->ops->lookup(src, qname, out);
	if (rc < 0) {
		dns_answer_free(out);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* dns_source_free - release src; NULL is allowed. */
void
dns_source_free(struct dns_source *src)
{
	if (src == NULL) {
		return;
	}
	src->ops->free(src);
}
