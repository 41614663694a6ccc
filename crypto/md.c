/* SPDX-License-Identifier: MIT */
/*
 * md - SHA-1 and SHA-256 for body and header hashes.  Both EVP_MD
 * methods are fetched once per process and shared; a crypto_md wraps
 * one EVP_MD_CTX that its thread reuses, so updates do no lookup.
 *
 * Limitations: the methods are never freed (they live as long as their
 * provider); OpenSSL 3.0 allocates one provider context per md_begin.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

struct crypto_md {
	EVP_MD_CTX *ctx;
	bool failed;		/* a step of the current digest failed */
};

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha1;
static EVP_MD *md_sha256;

/* md_fetch - fetch both methods; run once through md_once. */
static void
md_fetch(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	if (md_sha1 == NULL || md_sha256 == NULL) {
		ERR_clear_error();
	}
}

/* crypto_evp_md - the shared EVP_MD for h. */
const EVP_MD *
crypto_evp_md(enum crypto_hash h)
{
	pthread_once(&md_once, md_fetch);
	switch (h) {
	case CRYPTO_SHA1:
		return md_sha1;
	case CRYPTO_SHA256:
		return md_sha256;
	}
	return NULL;
}

/* crypto_hash_len - digest size of h in bytes. */
size_t
crypto_hash_len(enum crypto_hash h)
{
	switch (h) {
	case CRYPTO_SHA1:
		return 20;
	case CRYPTO_SHA256:
		return 32;
	}
	return 0;
}

/* crypto_md_create - a new digest context. */
struct crypto_md *
crypto_md_create(void)
{
	struct crypto_md *md;

	md = malloc(sizeof(*md));
	if (md == NULL) {
		return NULL;
	}
	md->ctx = EVP_MD_CTX_new();
	if (md->ctx == NULL) {
		free(md);
		return NULL;
	}

	/* md_end before any md_begin must fail. */
	md->failed = true;
	return md;
}

/* crypto_md_free - release md. */
void
crypto_md_free(struct crypto_md *md)
{
	if (md == NULL) {
		return;
	}
	EVP_MD_CTX_free(md->ctx);
	free(md);
}

/* crypto_md_begin - start a new digest of type h. */
int
crypto_md_begin(struct crypto_md *md, enum crypto_hash h)
{
	const EVP_MD *evp = crypto_evp_md(h);

	if (evp == NULL || EVP_DigestInit_ex2(md->ctx, evp, NULL) != 1) {
		ERR_clear_error();
		md->failed = true;
		return -EIO;
	}
	md->failed = false;
	return 0;
}

/* crypto_md_update - add n bytes. */
void
crypto_md_update(struct crypto_md *md, const void *p, size_t n)
{
	if (crypto_unlikely(EVP_DigestUpdate(md->ctx, p, n) != 1)) {
		md->failed = true;
	}
}

/* crypto_md_sink - crypto_md_update() in canon_sink_fn form. */
void
crypto_md_sink(void *md, const void *p, size_t n)
{
	crypto_md_update(md, p, n);
}

/* crypto_md_end - finish the digest into out. */
int
crypto_md_end(struct crypto_md *md, unsigned char *out, size_t *len)
{
	unsigned int n = 0;

	if (md->failed) {
		ERR_clear_error();
		return -EIO;
	}

	/* A second md_end without md_begin fails rather than rehashing. */
	md->failed = true;
	if (EVP_DigestFinal_ex(md->ctx, out, &n) != 1 ||
	    n > CRYPTO_DIGEST_MAX) {
		ERR_clear_error();
		return -EIO;
	}
	*len = n;
	return 0;
}
