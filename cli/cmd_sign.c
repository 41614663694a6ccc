// SPDX-License-Identifier: MIT
/*
 * cmd_sign - `dkimq sign`: read one message, add the signatures asked
 * for on the command line or by the configuration, write the new fields
 * and the untouched original bytes to stdout in one vectored write.
 *
 * Signature options group: each --selector after the first starts a new
 * signature, which inherits every option of the one before except the
 * selector, key, algorithm and identity.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "util/log.h"

#define MAX_SPECS 8

enum sign_type { TYPE_DKIM, TYPE_DK, TYPE_BOTH };

struct sign_arg {
	const char *domain;
	const char *selector;
	const char *key_path;
	const char *alg;
	const char *canon;
	const char *headers;
	const char *identity;
	bool body_length;
	uint64_t expire;
	enum sign_type type;
};

static const char sign_help[] =
"usage: dkimq sign [OPTIONS] [FILE]\n"
"Signs FILE (stdin when absent) and writes the signed message to stdout.\n"
"\n"
"  --domain D          signing domain (d=)\n"
"  --selector S        selector (s=); repeat to add a signature\n"
"  --key FILE          PEM private key, RSA or Ed25519\n"
"  --algorithm A       rsa-sha256 (default for RSA), ed25519-sha256\n"
"                      (default for Ed25519), rsa-sha1 (with --allow-sha1)\n"
"  --canon H/B         simple|relaxed for header/body (relaxed/relaxed);\n"
"                      DomainKeys: simple|nofws (nofws)\n"
"  --headers LIST      colon list of fields to sign; a name listed twice\n"
"                      is oversigned (default: the usual set, From\n"
"                      oversigned)\n"
"  --identity I        i= (an address within the signing domain)\n"
"  --body-length       add l=\n"
"  --expire SECONDS    add x= that long after t=\n"
"  --no-timestamp      leave out t=\n"
"  --type T            dkim (default), domainkeys or both\n"
"  --allow-sha1        permit --algorithm rsa-sha1\n"
"  --config FILE       take selectors and keys for the From domain from\n"
"                      the configuration\n"
"  --time T            sign as of this Unix time (tests)\n";

enum {
	OPT_DOMAIN = 256, OPT_SELECTOR, OPT_KEY, OPT_ALG, OPT_CANON,
	OPT_HEADERS, OPT_IDENTITY, OPT_BODY_LENGTH, OPT_EXPIRE,
	OPT_NO_TIMESTAMP, OPT_TYPE, OPT_ALLOW_SHA1, OPT_CONFIG, OPT_TIME,
	OPT_HELP,
};

static const struct option sign_opts[] = {
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "selector", required_argument, NULL, OPT_SELECTOR },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "algorithm", required_argument, NULL, OPT_ALG },
	{ "canon", required_argument, NULL, OPT_CANON },
	{ "headers", required_argument, NULL, OPT_HEADERS },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "body-length", no_argument, NULL, OPT_BODY_LENGTH },
	{ "expire", required_argument, NULL, OPT_EXPIRE },
	{ "no-timestamp", no_argument, NULL, OPT_NO_TIMESTAMP },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "allow-sha1", no_argument, NULL, OPT_ALLOW_SHA1 },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* parse_u64 - a decimal number argument */
static bool
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9') {
		return false;
	}
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/*
 * fill_spec - turn one group of options into a signing spec, loading its
 * key.  Returns 0, or an exit status after printing the problem (the
 * key may then be loaded; make_spec releases it).
 */
static int
fill_spec(const struct sign_arg *a, bool dk, bool allow_sha1,
    struct dkim_sign_spec *sp)
{
	char err[300];
	enum crypto_key_type kt;

	memset(sp, 0, sizeof(*sp));
	if (a->domain == NULL || a->selector == NULL || a->key_path == NULL) {
		return cli_usage_error("sign", "each signature needs --domain, "
		    "--selector and --key (or use --config)");
	}
	if (crypto_key_load_private(a->key_path, &sp->key, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "dkimq sign: %s\n", err);
		return 1;
	}
	kt = crypto_key_type(sp->key);
	sp->type = dk ? DKIM_TYPE_DK : DKIM_TYPE_DKIM;
	sp->sdid = a->domain;
	sp->selector = a->selector;
	sp->identity = dk ? NULL : a->identity;
	sp->headers = a->headers;
	sp->body_length = !dk && a->body_length;
	sp->expire = dk ? 0 : a->expire;
	sp->timestamp = !dk;
	sp->alg = kt == CRYPTO_KEY_ED25519 ? DKIM_ALG_ED25519_SHA256 :
	    DKIM_ALG_RSA_SHA256;
	if (dk) {
		sp->alg = DKIM_ALG_RSA_SHA1;
		sp->header_canon = sp->body_canon = CANON_DK_NOFWS;
		if (a->canon != NULL && strcasecmp(a->canon, "simple") == 0) {
			sp->header_canon = sp->body_canon = CANON_DK_SIMPLE;
		} else if (a->canon != NULL && a->type == TYPE_DK &&
		    strcasecmp(a->canon, "nofws") != 0) {
			return cli_usage_error("sign", "DomainKeys --canon is "
			    "simple or nofws, not \"%s\"", a->canon);
		}
		return 0;
	}
	if (a->alg != NULL) {
		int alg = dkim_alg_parse(a->alg);

		if (alg < 0) {
			return cli_usage_error("sign", "unknown algorithm "
			    "\"%s\"", a->alg);
		}
		sp->alg = (enum dkim_alg)alg;
	}
	if (sp->alg == DKIM_ALG_RSA_SHA1) {
		if (!allow_sha1) {
			return cli_usage_error("sign", "rsa-sha1 is deprecated "
			    "(RFC 8301); add --allow-sha1 to use it anyway");
		}
		log_warnx("sign: rsa-sha1 is deprecated by RFC 8301 and "
		    "many receivers reject it");
	}
	sp->header_canon = sp->body_canon = CANON_RELAXED;
	if (a->canon != NULL && dkim_canon_parse(a->canon, &sp->header_canon,
	    &sp->body_canon) != 0) {
		return cli_usage_error("sign", "--canon takes simple or "
		    "relaxed, optionally /simple or /relaxed, not \"%s\"",
		    a->canon);
	}
	if (kt == CRYPTO_KEY_RSA && crypto_key_bits(sp->key) >= 1024 &&
	    crypto_key_bits(sp->key) < 2048) {
		log_warnx("sign: %s: rsa key of %u bits; RFC 8301 asks for "
		    "at least 2048", a->key_path, crypto_key_bits(sp->key));
	}
	return 0;
}

/* make_spec - fill_spec, holding a key only on success */
static int
make_spec(const struct sign_arg *a, bool dk, bool allow_sha1,
    struct dkim_sign_spec *sp)
{
	int rc = fill_spec(a, dk, allow_sha1, sp);

	if (rc != 0) {
		crypto_key_free(sp->key);
		sp->key = NULL;
	}
	return rc;
}

/* emit - write fields then the original message */
static int
emit(const char *fields, size_t flen, const char *msg, size_t mlen)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)fields, .iov_len = flen },
		{ .iov_base = (void *)msg, .iov_len = mlen },
	};
	int rc = cli_write_all(STDOUT_FILENO, iov, 2);

	if (rc != 0) {
		log_warn(rc, "sign: write");
		return 1;
	}
	return 0;
}

/* config_specs - the specs for the message's From domain */
static int
config_specs(struct cfg *c, const struct canon_msg *m,
    struct dkim_sign_spec *specs, size_t *n)
{
	char dom[256];
	const char *why;

	if (dkim_from_domain(m, dom, sizeof(dom)) != 0) {
		fprintf(stderr, "dkimq sign: message has no From address\n");
		return 1;
	}
	*n = cfg_sign_specs(c, dom, specs, MAX_SPECS, &why);
	if (*n == 0) {
		fprintf(stderr, "dkimq sign: %s: %s\n", dom, why);
		return 1;
	}
	for (size_t i = 0; i < *n; i++) {
		crypto_key_ref(specs[i].key);
	}
	return 0;
}

/* parse_args - fill the option groups; returns 0 or an exit status */
static int
parse_args(int argc, char **argv, struct sign_arg *args, size_t *nargs,
    bool *allow_sha1, const char **config, time_t *now)
{
	struct sign_arg *cur = &args[0];
	uint64_t t;
	int o;

	memset(cur, 0, sizeof(*cur));
	*nargs = 1;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", sign_opts, NULL)) != -1) {
		switch (o) {
		case OPT_SELECTOR:
			if (cur->selector != NULL) {
				if (*nargs == MAX_SPECS) {
					return cli_usage_error("sign",
					    "at most %d signatures", MAX_SPECS);
				}
				args[*nargs] = *cur;
				cur = &args[(*nargs)++];
				cur->key_path = cur->alg = cur->identity = NULL;
			}
			cur->selector = optarg;
			break;
		case OPT_DOMAIN: cur->domain = optarg; break;
		case OPT_KEY: cur->key_path = optarg; break;
		case OPT_ALG: cur->alg = optarg; break;
		case OPT_CANON: cur->canon = optarg; break;
		case OPT_HEADERS: cur->headers = optarg; break;
		case OPT_IDENTITY: cur->identity = optarg; break;
		case OPT_BODY_LENGTH: cur->body_length = true; break;
		case OPT_NO_TIMESTAMP: break;
		case OPT_ALLOW_SHA1: *allow_sha1 = true; break;
		case OPT_CONFIG: *config = optarg; break;
		case OPT_EXPIRE:
			if (!parse_u64(optarg, &cur->expire) || !cur->expire) {
				return cli_usage_error("sign", "--expire takes "
				    "a number of seconds");
			}
			break;
		case OPT_TIME:
			if (!parse_u64(optarg, &t)) {
				return cli_usage_error("sign", "--time takes a "
				    "Unix time");
			}
			*now = (time_t)t;
			break;
		case OPT_TYPE:
			if (strcmp(optarg, "dkim") == 0) {
				cur->type = TYPE_DKIM;
			} else if (strcmp(optarg, "domainkeys") == 0) {
				cur->type = TYPE_DK;
			} else if (strcmp(optarg, "both") == 0) {
				cur->type = TYPE_BOTH;
			} else {
				return cli_usage_error("sign",
				    "--type is dkim, domainkeys or both");
			}
			break;
		case OPT_HELP:
			fputs(sign_help, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		return cli_usage_error("sign", "one message at a time");
	}
	return 0;
}

/* no_timestamp - whether --no-timestamp was given */
static bool
no_timestamp(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-timestamp") == 0) {
			return true;
		}
	}
	return false;
}

/* cmd_sign - dkimq sign */
int
cmd_sign(int argc, char **argv)
{
	struct sign_arg args[MAX_SPECS];
	struct dkim_sign_spec specs[MAX_SPECS * 2];
	struct dkim_signer *signer = NULL;
	struct cfg *cfg = NULL;
	struct canon_msg m;
	const char *config = NULL, *file, *out;
	size_t nargs, n = 0, len, olen;
	bool allow_sha1 = false;
	char *buf = NULL, err[300];
	time_t now = 0;
	int rc, status = 1;

	canon_msg_init(&m);
	status = parse_args(argc, argv, args, &nargs, &allow_sha1, &config,
	    &now);
	if (status != 0) {
		return status < 0 ? 0 : status;
	}
	status = 1;
	file = optind < argc ? argv[optind] : NULL;
	for (size_t i = 0; config == NULL && i < nargs; i++) {
		bool both = args[i].type == TYPE_BOTH;

		if (args[i].type != TYPE_DK) {
			rc = make_spec(&args[i], false, allow_sha1, &specs[n]);
			if (rc != 0) {
				status = rc;
				goto out;
			}
			specs[n++].timestamp = !no_timestamp(argc, argv);
		}
		if (args[i].type == TYPE_DK || both) {
			rc = make_spec(&args[i], true, allow_sha1, &specs[n]);
			if (rc != 0) {
				status = rc;
				goto out;
			}
			n++;
		}
	}

	rc = cli_read_file(file, &buf, &len);
	if (rc != 0) {
		log_warn(rc, "sign: %s", file ? file : "stdin");
		goto out;
	}
	if (canon_msg_parse(&m, buf, len) != 0) {
		log_warnx("sign: out of memory");
		goto out;
	}
	if (config != NULL) {
		cfg = cfg_load(config, true);
		if (cfg == NULL || cfg->nerrors > 0) {
			for (size_t i = 0; cfg && i < cfg->nerrors; i++) {
				fprintf(stderr, "%s\n", cfg->errors[i]);
			}
			goto out;
		}
		if (config_specs(cfg, &m, specs, &n) != 0) {
			n = 0;
			goto out;
		}
	}
	signer = dkim_signer_create();
	if (signer == NULL) {
		log_warnx("sign: out of memory");
		goto out;
	}
	rc = dkim_sign(signer, &m, specs, n, now, &out, &olen, err,
	    sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "dkimq sign: %s\n", err);
		goto out;
	}
	status = emit(out, olen, buf, len);
out:
	for (size_t i = 0; i < n; i++) {
		crypto_key_free(specs[i].key);
	}
	dkim_signer_free(signer);
	canon_msg_free(&m);
	cfg_free(cfg);
	free(buf);
	return status;
}
