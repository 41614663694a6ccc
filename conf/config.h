/* SPDX-License-Identifier: MIT */
/*
 * config - the INI configuration of DESIGN.md, read with inih and
 * checked as a whole: sections [dkimq], [dns], [selector:NAME] and
 * [domain:NAME] (NAME "*" is the fallback for verification settings).
 * Every problem is collected with its file and line, so check-config can
 * list them all and run can refuse to start on any.  A loaded config is
 * immutable and may be shared by threads; reload builds a new one.
 */
#ifndef DKIMQ_CONFIG_H
#define DKIMQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim/dkim.h"

enum cfg_action_kind {
	CFG_ACT_HEADER = 0,	/* the default: insert the result header */
	CFG_ACT_NONE,
	CFG_ACT_DELETE,
	CFG_ACT_FORWARD,
	CFG_ACT_MAILBOX,
	CFG_ACT_REJECT,
};

struct cfg_action {
	enum cfg_action_kind kind;
	char *arg;		/* forward address or mailbox name */
	char *prefix;		/* subject prefix, or NULL */
};

struct cfg_selector {
	char *name;
	int line;
	enum dkim_sig_type type;
	char *record;		/* the label before ._domainkey */
	char *key_path;
	enum dkim_alg alg;
	enum canon_mode header_canon;
	enum canon_mode body_canon;
	char *headers;		/* NULL: the default set */
	char **domains;
	size_t ndomains;
	char *sign_as;		/* NULL: each domain signs as itself */
	bool body_length;
	uint64_t expire;	/* seconds; 0 for none */
	char *description;
	bool on;
	struct crypto_key *key;	/* loaded by cfg_load_keys() */
};

struct cfg_domain {
	char *name;		/* lowercase; "*" for the fallback */
	int line;
	char **dkim_selectors;
	size_t ndkim;
	char *dk_selector;
	bool verify_dkim;
	bool verify_domainkeys;
	unsigned max_signatures;
	struct cfg_action actions[DKIM_CAT_COUNT];
};

struct cfg {
	char *path;
	char *spool;
	unsigned threads;
	char *authserv_id;
	bool allow_sha1;
	bool legacy;
	uint64_t max_message_size;
	char **trusted_senders;
	size_t ntrusted;
	char *dns_servers;
	unsigned dns_timeout_ms;
	unsigned dns_retries;
	unsigned cache_entries;
	unsigned cache_min_ttl;
	unsigned cache_max_ttl;
	char *zone_file;
	struct cfg_selector *selectors;
	size_t nselectors;
	struct cfg_domain *domains;
	size_t ndomains;
	char **errors;		/* "file:line: problem" */
	size_t nerrors;
};

/*
 * cfg_load - read and check path.  Returns a config (owned by the
 * caller, free with cfg_free) even when it has errors; check nerrors.
 * Returns NULL only when out of memory.  When load_keys is true the
 * private keys are loaded and their files checked (existence, mode not
 * readable by group or others).  Blocks on file I/O.
 */
struct cfg *cfg_load(const char *path, bool load_keys);

/* cfg_free - release c and every key it holds; NULL is allowed. */
void cfg_free(struct cfg *c);

/* cfg_selector_find - the selector section called name, or NULL. */
struct cfg_selector *cfg_selector_find(const struct cfg *c,
    const char *name);

/*
 * cfg_domain_find - the [domain:NAME] section for domain (ASCII
 * case-insensitive), else [domain:*] when fallback, else NULL.
 */
const struct cfg_domain *cfg_domain_find(const struct cfg *c,
    const char *domain, bool fallback);

/*
 * cfg_sign_specs - the signatures to make for mail from domain: each
 * active DKIM selector of [domain:DOMAIN] (sign_as applied) and its
 * active DomainKeys selector.  Fills at most max specs (strings and
 * keys borrowed from c); returns their number, 0 when the domain has
 * no active selector.  *why (may be NULL) then says why.
 */
size_t cfg_sign_specs(const struct cfg *c, const char *domain,
    struct dkim_sign_spec *specs, size_t max, const char **why);

/* cfg_action_name - "header", "forward:ADDR", ... into buf. */
const char *cfg_action_name(const struct cfg_action *a, char *buf,
    size_t len);

#endif
