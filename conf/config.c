// SPDX-License-Identifier: MIT
/*
 * config - load and check the INI configuration (see config.h).
 *
 * inih does the INI syntax; a line reader of our own feeds it so that
 * each key's line number is known (Debian's inih is built without
 * handler line numbers).  Keys are checked as they arrive; cross-section
 * rules (selectors named by domains exist and list the domain, at most
 * one active DKIM selector per key type and one DomainKeys selector per
 * domain, key files exist and are private) are checked at the end.
 * Limitations: Debian's inih reads at most 199 characters per line; a
 * longer line is reported, and a long value continues on indented lines.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf/config.h"

struct loader {
	struct cfg *c;
	FILE *fp;
	int line;
	char *buf;
	size_t cap;
	char last_section[128];
	char last_name[64];
	int last_line;
};

/* cfg_error - record "path:line: problem" */
__attribute__((format(printf, 3, 4)))
static void
cfg_error(struct cfg *c, int line, const char *fmt, ...)
{
	char msg[512];
	char **e;
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "%s:%d: ", c->path, line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	e = realloc(c->errors, (c->nerrors + 1) * sizeof(*e));
	if (e == NULL) {
		return;
	}
	c->errors = e;
	c->errors[c->nerrors] = strdup(msg);
	if (c->errors[c->nerrors] != NULL) {
		c->nerrors++;
	}
}

/* reader - inih line reader that counts lines and flags long ones */
static char *
reader(char *str, int num, void *stream)
{
	struct loader *l = stream;
	ssize_t n = getline(&l->buf, &l->cap, l->fp);

	if (n < 0) {
		return NULL;
	}
	l->line++;
	if (n >= num - 1 && l->buf[n - 1] != '\n') {
		/* The last line of a file may lack its newline. */
		if (n >= num) {
			cfg_error(l->c, l->line, "line longer than %d "
			    "characters; continue a long value on indented "
			    "lines", num - 2);
		}
	} else if (n > num - 1) {
		cfg_error(l->c, l->line, "line longer than %d characters; "
		    "continue a long value on indented lines", num - 2);
	}
	snprintf(str, (size_t)num, "%s", l->buf);
	return str;
}

/* parse_bool - yes/no, on/off, true/false, 1/0 */
static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* parse_uint - a decimal number no larger than max */
static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)v[0])) {
		return -EINVAL;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > max) {
		return -EINVAL;
	}
	*out = n;
	return 0;
}

/* parse_duration - "3600", "90s", "15m", "12h", "7d", "2w" in seconds */
static int
parse_duration(const char *v, uint64_t *out)
{
	char num[32];
	size_t n = strlen(v);
	uint64_t mult = 1, x;

	if (n == 0 || n >= sizeof(num)) {
		return -EINVAL;
	}
	memcpy(num, v, n + 1);
	switch (tolower((unsigned char)num[n - 1])) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 604800;
		break;
	default:
		n++;
		break;
	}
	num[n - 1] = '\0';
	if (parse_uint(num, UINT32_MAX, &x) != 0) {
		return -EINVAL;
	}
	*out = x * mult;
	return 0;
}

/* split_list - a comma/space separated list into a new string array */
static int
split_list(const char *v, char ***out, size_t *n)
{
	char *copy = strdup(v), *save = NULL;

	if (copy == NULL) {
		return -ENOMEM;
	}
	for (char *t = strtok_r(copy, ", \t", &save); t != NULL;
	    t = strtok_r(NULL, ", \t", &save)) {
		char **a = realloc(*out, (*n + 1) * sizeof(*a));

		if (a == NULL) {
			free(copy);
			return -ENOMEM;
		}
		*out = a;
		a[*n] = strdup(t);
		for (char *p = a[*n]; p && *p; p++) {
			*p = (char)tolower((unsigned char)*p);
		}
		(*n)++;
	}
	free(copy);
	return 0;
}

/* set_str - replace *dst with a copy of v ("" becomes NULL) */
static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v[0] ? strdup(v) : NULL;
}

/* append_str - a continuation line: join to *dst with a space */
static void
append_str(char **dst, const char *v)
{
	size_t a = *dst ? strlen(*dst) : 0;
	char *p = realloc(*dst, a + strlen(v) + 2);

	if (p == NULL) {
		return;
	}
	if (a == 0) {
		p[0] = '\0';
	} else {
		strcat(p, " ");
	}
	strcat(p, v);
	*dst = p;
}

/* parse_action - "header", "forward:ADDR", ... */
static int
parse_action(const char *v, struct cfg_action *a)
{
	static const struct {
		const char *word;
		enum cfg_action_kind kind;
		bool arg;
	} words[] = {
		{ "header", CFG_ACT_HEADER, false },
		{ "none", CFG_ACT_NONE, false },
		{ "delete", CFG_ACT_DELETE, false },
		{ "reject", CFG_ACT_REJECT, false },
		{ "forward", CFG_ACT_FORWARD, true },
		{ "mailbox", CFG_ACT_MAILBOX, true },
	};
	const char *colon = strchr(v, ':');
	const char *arg = colon ? colon + 1 : NULL;
	size_t wl = colon ? (size_t)(colon - v) : strlen(v);

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].word) != wl ||
		    strncasecmp(v, words[i].word, wl) != 0) {
			continue;
		}
		if (words[i].arg != (arg != NULL) ||
		    (arg != NULL && arg[0] == '\0')) {
			return -EINVAL;
		}
		if (arg != NULL && words[i].kind == CFG_ACT_MAILBOX &&
		    (strchr(arg, '/') || arg[0] == '.')) {
			return -EINVAL;
		}
		if (arg != NULL && words[i].kind == CFG_ACT_FORWARD &&
		    strchr(arg, '@') == NULL) {
			return -EINVAL;
		}
		a->kind = words[i].kind;
		set_str(&a->arg, arg ? arg : "");
		return 0;
	}
	return -EINVAL;
}

/* section_main - keys of [dkimq] */
static int
section_main(struct loader *l, const char *name, const char *v, int line)
{
	struct cfg *c = l->c;
	uint64_t n;
	bool b;

	if (strcmp(name, "spool") == 0) {
		set_str(&c->spool, v);
	} else if (strcmp(name, "threads") == 0) {
		if (parse_uint(v, 1024, &n) != 0) {
			cfg_error(c, line, "threads: expected 0 to 1024");
		} else {
			c->threads = (unsigned)n;
		}
	} else if (strcmp(name, "authserv_id") == 0) {
		set_str(&c->authserv_id, v);
	} else if (strcmp(name, "allow_sha1") == 0 ||
	    strcmp(name, "legacy") == 0) {
		if (parse_bool(v, &b) != 0) {
			cfg_error(c, line, "%s: expected yes or no", name);
		} else {
			*(name[0] == 'a' ? &c->allow_sha1 : &c->legacy) = b;
		}
	} else if (strcmp(name, "max_message_size") == 0) {
		if (parse_uint(v, UINT64_MAX, &n) != 0 || n == 0) {
			cfg_error(c, line, "max_message_size: expected a "
			    "number of bytes");
		} else {
			c->max_message_size = n;
		}
	} else if (strcmp(name, "trusted_senders") == 0) {
		if (split_list(v, &c->trusted_senders, &c->ntrusted) != 0) {
			return -ENOMEM;
		}
	} else {
		cfg_error(c, line, "unknown key \"%s\" in [dkimq]", name);
	}
	return 0;
}

/* section_dns - keys of [dns] */
static int
section_dns(struct loader *l, const char *name, const char *v, int line)
{
	struct cfg *c = l->c;
	uint64_t n = 0;

	if (strcmp(name, "servers") == 0) {
		set_str(&c->dns_servers, v);
		return 0;
	}
	if (strcmp(name, "zone_file") == 0) {
		set_str(&c->zone_file, v);
		return 0;
	}
	if (parse_uint(v, UINT32_MAX, &n) != 0) {
		cfg_error(c, line, "%s: expected a number", name);
	}
	if (strcmp(name, "timeout_ms") == 0) {
		c->dns_timeout_ms = (unsigned)n;
	} else if (strcmp(name, "retries") == 0) {
		c->dns_retries = (unsigned)n;
	} else if (strcmp(name, "cache_entries") == 0) {
		c->cache_entries = (unsigned)n;
	} else if (strcmp(name, "cache_min_ttl") == 0) {
		c->cache_min_ttl = (unsigned)n;
	} else if (strcmp(name, "cache_max_ttl") == 0) {
		c->cache_max_ttl = (unsigned)n;
	} else {
		cfg_error(c, line, "unknown key \"%s\" in [dns]", name);
	}
	return 0;
}

/* new_selector - append a [selector:NAME] with its defaults */
static struct cfg_selector *
new_selector(struct cfg *c, const char *name, int line)
{
	struct cfg_selector *s = realloc(c->selectors,
	    (c->nselectors + 1) * sizeof(*s));

	if (s == NULL) {
		return NULL;
	}
	c->selectors = s;
	s = &c->selectors[c->nselectors++];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	s->record = strdup(name);
	s->line = line;
	s->alg = DKIM_ALG_RSA_SHA256;
	s->header_canon = s->body_canon = CANON_RELAXED;
	s->on = true;
	return s;
}

/* section_selector - keys of [selector:NAME] */
static int
section_selector(struct loader *l, struct cfg_selector *s,
    const char *name, const char *v, int line, bool cont)
{
	struct cfg *c = l->c;
	int a;

	if (strcmp(name, "type") == 0) {
		if (strcasecmp(v, "dkim") == 0) {
			s->type = DKIM_TYPE_DKIM;
		} else if (strcasecmp(v, "domainkeys") == 0) {
			s->type = DKIM_TYPE_DK;
			s->alg = DKIM_ALG_RSA_SHA1;
			s->header_canon = s->body_canon = CANON_DK_NOFWS;
		} else {
			cfg_error(c, line, "type: expected dkim or domainkeys");
		}
	} else if (strcmp(name, "record") == 0) {
		set_str(&s->record, v);
	} else if (strcmp(name, "key") == 0) {
		set_str(&s->key_path, v);
	} else if (strcmp(name, "algorithm") == 0) {
		a = dkim_alg_parse(v);
		if (a < 0) {
			cfg_error(c, line, "algorithm: expected rsa-sha256, "
			    "ed25519-sha256 or rsa-sha1");
		} else {
			s->alg = (enum dkim_alg)a;
		}
	} else if (strcmp(name, "canonicalization") == 0) {
		if (s->type == DKIM_TYPE_DK) {
			if (strcasecmp(v, "simple") == 0) {
				s->header_canon = CANON_DK_SIMPLE;
			} else if (strcasecmp(v, "nofws") == 0) {
				s->header_canon = CANON_DK_NOFWS;
			} else {
				cfg_error(c, line, "canonicalization: "
				    "DomainKeys takes simple or nofws");
			}
			s->body_canon = s->header_canon;
		} else if (dkim_canon_parse(v, &s->header_canon,
		    &s->body_canon) != 0) {
			cfg_error(c, line, "canonicalization: expected "
			    "simple or relaxed, or H/B of those");
		}
	} else if (strcmp(name, "headers") == 0) {
		cont ? append_str(&s->headers, v) : set_str(&s->headers, v);
	} else if (strcmp(name, "domains") == 0) {
		if (split_list(v, &s->domains, &s->ndomains) != 0) {
			return -ENOMEM;
		}
	} else if (strcmp(name, "sign_as") == 0) {
		set_str(&s->sign_as, v);
	} else if (strcmp(name, "body_length") == 0) {
		if (parse_bool(v, &s->body_length) != 0) {
			cfg_error(c, line, "body_length: expected yes or no");
		}
	} else if (strcmp(name, "expire") == 0) {
		if (v[0] != '\0' && parse_duration(v, &s->expire) != 0) {
			cfg_error(c, line, "expire: expected a duration such "
			    "as 3600, 12h or 7d");
		}
	} else if (strcmp(name, "description") == 0) {
		cont ? append_str(&s->description, v) :
		    set_str(&s->description, v);
		if (s->description && strlen(s->description) > 1024) {
			cfg_error(c, line, "description: longer than 1024 "
			    "characters");
		}
	} else if (strcmp(name, "status") == 0) {
		if (parse_bool(v, &s->on) != 0) {
			cfg_error(c, line, "status: expected on or off");
		}
	} else {
		cfg_error(c, line, "unknown key \"%s\" in [selector:%s]",
		    name, s->name);
	}
	return 0;
}

/* new_domain - append a [domain:NAME] with its defaults */
static struct cfg_domain *
new_domain(struct cfg *c, const char *name, int line)
{
	struct cfg_domain *d = realloc(c->domains,
	    (c->ndomains + 1) * sizeof(*d));

	if (d == NULL) {
		return NULL;
	}
	c->domains = d;
	d = &c->domains[c->ndomains++];
	memset(d, 0, sizeof(*d));
	d->name = strdup(name);
	for (char *p = d->name; p && *p; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
	d->line = line;
	d->verify_dkim = true;
	d->verify_domainkeys = false;
	d->max_signatures = DKIM_DEFAULT_SIGNATURES;
	return d;
}

/* section_domain - keys of [domain:NAME] */
static int
section_domain(struct loader *l, struct cfg_domain *d, const char *name,
    const char *v, int line)
{
	struct cfg *c = l->c;
	size_t nl = strlen(name);
	uint64_t n;
	int cat;

	if (strcmp(name, "dkim_selector") == 0) {
		return split_list(v, &d->dkim_selectors, &d->ndkim);
	}
	if (strcmp(name, "domainkeys_selector") == 0) {
		set_str(&d->dk_selector, v);
		if (d->dk_selector && strpbrk(d->dk_selector, ", \t")) {
			cfg_error(c, line, "domainkeys_selector: at most one "
			    "DomainKeys selector per domain");
		}
		return 0;
	}
	if (strcmp(name, "verify_dkim") == 0 ||
	    strcmp(name, "verify_domainkeys") == 0) {
		bool *b = name[7] == 'd' && name[8] == 'k' ?
		    &d->verify_dkim : &d->verify_domainkeys;

		if (parse_bool(v, b) != 0) {
			cfg_error(c, line, "%s: expected yes or no", name);
		}
		return 0;
	}
	if (strcmp(name, "max_signatures") == 0) {
		if (parse_uint(v, DKIM_MAX_SIGNATURES, &n) != 0 || n < 1) {
			cfg_error(c, line, "max_signatures: expected 1 to %d",
			    DKIM_MAX_SIGNATURES);
		} else {
			d->max_signatures = (unsigned)n;
		}
		return 0;
	}
	if (nl > 7 && strcmp(name + nl - 7, "_prefix") == 0) {
		char cname[64];

		snprintf(cname, sizeof(cname), "%.*s", (int)(nl - 7), name);
		cat = dkim_category_parse(cname);
		if (cat >= 0) {
			set_str(&d->actions[cat].prefix, v);
			return 0;
		}
	}
	cat = dkim_category_parse(name);
	if (cat >= 0) {
		if (parse_action(v, &d->actions[cat]) != 0) {
			cfg_error(c, line, "%s: expected none, delete, "
			    "forward:ADDRESS, header, mailbox:NAME or reject",
			    name);
		}
		return 0;
	}
	cfg_error(c, line, "unknown key \"%s\" in [domain:%s]", name,
	    d->name);
	return 0;
}

/* handler - one name=value from inih */
static int
handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct loader *l = user;
	struct cfg *c = l->c;
	bool cont;
	int rc = 0;

	/* inih calls with name NULL when a section starts. */
	if (name == NULL) {
		return 1;
	}
	cont = l->last_line != l->line && strcmp(l->last_name, name) == 0 &&
	    strcmp(l->last_section, section) == 0;
	snprintf(l->last_section, sizeof(l->last_section), "%s", section);
	snprintf(l->last_name, sizeof(l->last_name), "%s", name);
	l->last_line = l->line;

	if (strcmp(section, "dkimq") == 0) {
		rc = section_main(l, name, value, l->line);
	} else if (strcmp(section, "dns") == 0) {
		rc = section_dns(l, name, value, l->line);
	} else if (strncmp(section, "selector:", 9) == 0 && section[9]) {
		struct cfg_selector *s = cfg_selector_find(c, section + 9);

		if (s == NULL) {
			s = new_selector(c, section + 9, l->line);
		}
		rc = s ? section_selector(l, s, name, value, l->line, cont) :
		    -ENOMEM;
	} else if (strncmp(section, "domain:", 7) == 0 && section[7]) {
		struct cfg_domain *d = (struct cfg_domain *)
		    cfg_domain_find(c, section + 7, false);

		if (d == NULL) {
			d = new_domain(c, section + 7, l->line);
		}
		rc = d ? section_domain(l, d, name, value, l->line) : -ENOMEM;
	} else {
		cfg_error(c, l->line, "unknown section [%s]", section);
	}
	return rc == 0;
}

/* check_key_file - the key exists, is private, and loads */
static void
check_key_file(struct cfg *c, struct cfg_selector *s, bool load)
{
	struct stat st;
	char err[256];

	if (s->key_path == NULL) {
		cfg_error(c, s->line, "[selector:%s] has no key", s->name);
		return;
	}
	if (stat(s->key_path, &st) != 0) {
		cfg_error(c, s->line, "[selector:%s] key %s: %s", s->name,
		    s->key_path, strerror(errno));
		return;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		cfg_error(c, s->line, "[selector:%s] key %s is readable by "
		    "group or others (mode %04o; chmod 600)", s->name,
		    s->key_path, (unsigned)(st.st_mode & 07777));
	}
	if (load && crypto_key_load_private(s->key_path, &s->key, err,
	    sizeof(err)) != 0) {
		cfg_error(c, s->line, "[selector:%s] %s", s->name, err);
		return;
	}
	if (s->key == NULL) {
		return;
	}
	if ((crypto_key_type(s->key) == CRYPTO_KEY_ED25519) !=
	    (s->alg == DKIM_ALG_ED25519_SHA256)) {
		cfg_error(c, s->line, "[selector:%s] key %s does not fit "
		    "algorithm %s", s->name, s->key_path,
		    dkim_alg_name(s->alg));
	}
}

/* selector_lists - whether s is assigned to domain */
static bool
selector_lists(const struct cfg_selector *s, const char *domain)
{
	for (size_t i = 0; i < s->ndomains; i++) {
		if (strcasecmp(s->domains[i], domain) == 0) {
			return true;
		}
	}
	return false;
}

/* check_domain - selectors named by d exist, fit, and do not clash */
static void
check_domain(struct cfg *c, const struct cfg_domain *d)
{
	const struct cfg_selector *by_type[3] = { NULL };

	for (size_t i = 0; i < d->ndkim; i++) {
		const struct cfg_selector *s =
		    cfg_selector_find(c, d->dkim_selectors[i]);
		int kt;

		if (s == NULL || s->type != DKIM_TYPE_DKIM) {
			cfg_error(c, d->line, "[domain:%s] dkim_selector %s "
			    "is not a DKIM selector section", d->name,
			    d->dkim_selectors[i]);
			continue;
		}
		if (!selector_lists(s, d->name)) {
			cfg_error(c, d->line, "[domain:%s] selector %s is "
			    "not assigned to this domain (domains =)",
			    d->name, s->name);
		}
		if (!s->on) {
			continue;
		}
		kt = s->alg == DKIM_ALG_ED25519_SHA256 ? 2 : 1;
		if (by_type[kt] != NULL) {
			cfg_error(c, d->line, "[domain:%s] two active %s DKIM "
			    "selectors: %s and %s", d->name,
			    kt == 2 ? "ed25519" : "rsa", by_type[kt]->name,
			    s->name);
		}
		by_type[kt] = s;
	}
	if (d->dk_selector != NULL) {
		const struct cfg_selector *s =
		    cfg_selector_find(c, d->dk_selector);

		if (s == NULL || s->type != DKIM_TYPE_DK) {
			cfg_error(c, d->line, "[domain:%s] domainkeys_selector "
			    "%s is not a DomainKeys selector section",
			    d->name, d->dk_selector);
		} else if (!selector_lists(s, d->name)) {
			cfg_error(c, d->line, "[domain:%s] selector %s is "
			    "not assigned to this domain (domains =)",
			    d->name, s->name);
		}
	}
}

/* check_all - the rules that span sections */
static void
check_all(struct cfg *c, bool load_keys)
{
	for (size_t i = 0; i < c->nselectors; i++) {
		struct cfg_selector *s = &c->selectors[i];

		if (s->type == DKIM_TYPE_DK && s->sign_as != NULL) {
			cfg_error(c, s->line, "[selector:%s] sign_as is for "
			    "DKIM only: DomainKeys needs a record per domain",
			    s->name);
		}
		if (s->type == DKIM_TYPE_DK && s->alg != DKIM_ALG_RSA_SHA1) {
			cfg_error(c, s->line, "[selector:%s] DomainKeys signs "
			    "with rsa-sha1 only", s->name);
		}
		if (s->ndomains == 0) {
			cfg_error(c, s->line, "[selector:%s] lists no domains",
			    s->name);
		}
		check_key_file(c, s, load_keys);
	}
	for (size_t i = 0; i < c->ndomains; i++) {
		check_domain(c, &c->domains[i]);
	}
}

/* cfg_load - read and check the configuration */
struct cfg *
cfg_load(const char *path, bool load_keys)
{
	struct cfg *c = calloc(1, sizeof(*c));
	struct loader l = { .c = c };
	int rc;

	if (c == NULL) {
		return NULL;
	}
	c->path = strdup(path);
	c->dns_timeout_ms = 2000;
	c->dns_retries = 2;
	c->cache_entries = 100000;
	c->cache_min_ttl = 60;
	c->cache_max_ttl = 86400;
	c->max_message_size = 64u << 20;
	l.fp = fopen(path, "r");
	if (l.fp == NULL) {
		cfg_error(c, 0, "cannot open: %s", strerror(errno));
		return c;
	}
	rc = ini_parse_stream(reader, &l, handler, &l);
	if (rc > 0) {
		cfg_error(c, rc, "syntax error");
	} else if (rc < 0) {
		cfg_error(c, 0, "cannot read the file");
	}
	fclose(l.fp);
	free(l.buf);
	check_all(c, load_keys);
	return c;
}

/* free_list - release a string array */
static void
free_list(char **a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i]);
	}
	free(a);
}

/* cfg_free - release the configuration */
void
cfg_free(struct cfg *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < c->nselectors; i++) {
		struct cfg_selector *s = &c->selectors[i];

		free(s->name);
		free(s->record);
		free(s->key_path);
		free(s->headers);
		free_list(s->domains, s->ndomains);
		free(s->sign_as);
		free(s->description);
		crypto_key_free(s->key);
	}
	for (size_t i = 0; i < c->ndomains; i++) {
		struct cfg_domain *d = &c->domains[i];

		free(d->name);
		free_list(d->dkim_selectors, d->ndkim);
		free(d->dk_selector);
		for (size_t k = 0; k < DKIM_CAT_COUNT; k++) {
			free(d->actions[k].arg);
			free(d->actions[k].prefix);
		}
	}
	free(c->selectors);
	free(c->domains);
	free_list(c->trusted_senders, c->ntrusted);
	free_list(c->errors, c->nerrors);
	free(c->path);
	free(c->spool);
	free(c->authserv_id);
	free(c->dns_servers);
	free(c->zone_file);
	free(c);
}

/* cfg_selector_find - a selector section by name */
struct cfg_selector *
cfg_selector_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->nselectors; i++) {
		if (strcmp(c->selectors[i].name, name) == 0) {
			return &c->selectors[i];
		}
	}
	return NULL;
}

/* cfg_domain_find - a domain section, or the fallback */
const struct cfg_domain *
cfg_domain_find(const struct cfg *c, const char *domain, bool fallback)
{
	const struct cfg_domain *star = NULL;

	for (size_t i = 0; i < c->ndomains; i++) {
		if (strcasecmp(c->domains[i].name, domain) == 0) {
			return &c->domains[i];
		}
		if (strcmp(c->domains[i].name, "*") == 0) {
			star = &c->domains[i];
		}
	}
	return fallback ? star : NULL;
}

/* spec_from - a signing spec for selector s and domain */
static void
spec_from(const struct cfg_selector *s, const char *domain,
    struct dkim_sign_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->type = s->type;
	sp->alg = s->alg;
	sp->header_canon = s->header_canon;
	sp->body_canon = s->body_canon;
	sp->sdid = s->sign_as ? s->sign_as : domain;
	sp->selector = s->record;
	sp->headers = s->headers;
	sp->body_length = s->body_length;
	sp->timestamp = true;
	sp->expire = s->expire;
	sp->key = s->key;
}

/* cfg_sign_specs - the signatures a domain's mail gets */
size_t
cfg_sign_specs(const struct cfg *c, const char *domain,
    struct dkim_sign_spec *specs, size_t max, const char **why)
{
	const struct cfg_domain *d = cfg_domain_find(c, domain, false);
	size_t n = 0;

	if (why != NULL) {
		*why = "no [domain:] section for the From domain";
	}
	if (d == NULL) {
		return 0;
	}
	for (size_t i = 0; i < d->ndkim && n < max; i++) {
		const struct cfg_selector *s =
		    cfg_selector_find(c, d->dkim_selectors[i]);

		if (s != NULL && s->on && s->key != NULL &&
		    s->type == DKIM_TYPE_DKIM) {
			spec_from(s, d->name, &specs[n++]);
		}
	}
	if (d->dk_selector != NULL && n < max) {
		const struct cfg_selector *s =
		    cfg_selector_find(c, d->dk_selector);

		if (s != NULL && s->on && s->key != NULL &&
		    s->type == DKIM_TYPE_DK) {
			spec_from(s, d->name, &specs[n++]);
		}
	}
	if (n == 0 && why != NULL) {
		*why = "the domain has no active selector";
	}
	return n;
}

/* cfg_action_name - an action as written in the configuration */
const char *
cfg_action_name(const struct cfg_action *a, char *buf, size_t len)
{
	static const char *const words[] = {
		[CFG_ACT_HEADER] = "header", [CFG_ACT_NONE] = "none",
		[CFG_ACT_DELETE] = "delete", [CFG_ACT_FORWARD] = "forward",
		[CFG_ACT_MAILBOX] = "mailbox", [CFG_ACT_REJECT] = "reject",
	};

	snprintf(buf, len, "%s%s%s", words[a->kind], a->arg ? ":" : "",
	    a->arg ? a->arg : "");
	return buf;
}
