/* SPDX-License-Identifier: MIT */
/*
 * sig - signing and checking a finished digest: RSASSA-PKCS1-v1_5 with
 * the digest's DigestInfo for rsa-sha1/rsa-sha256, PureEdDSA over the
 * 32 SHA-256 bytes for ed25519-sha256 (RFC 8463 3).  No state of its
 * own; keys are shared read-only, so any thread may call in.
 *
 * Limitations: each call makes one OpenSSL context (cost: see rsa_ctx).
 */
#include <errno.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#define ED25519_SIG_LEN	64

/*
 * sig_check_args - whether h and dlen suit k: any of our hashes for
 * RSA, only SHA-256 for Ed25519, and dlen the hash's length.  Returns
 * 0 or -EINVAL.
 */
static int
sig_check_args(const struct crypto_key *k, enum crypto_hash h,
    size_t dlen)
{
	size_t want = crypto_hash_len(h);

	if (want == 0 || dlen != want) {
		return -EINVAL;
	}
	if (k->type == CRYPTO_KEY_ED25519 && h != CRYPTO_SHA256) {
		return -EINVAL;
	}
	return 0;
}

/*
 * rsa_ctx - a PKCS#1 v1.5 context for k and h, set up by init (sign or
 * verify).  Returns the context or NULL on an OpenSSL failure.
 *
 * Cost, OpenSSL 3.0: about 4 us and 20 allocations, spread over the
 * creation, the init and the two parameters (each a lookup by name);
 * the Ed25519 contexts cost about the same.  That is ~15 % of an
 * RSA-2048 verification (~25 us), ~3 % of an Ed25519 one, and noise
 * next to an RSA-2048 signature (~0.7 ms).  TODO: a per-thread context
 * cache here if worker profiles show this cost.
 */
static EVP_PKEY_CTX *
rsa_ctx(const struct crypto_key *k, enum crypto_hash h,
    int (*init)(EVP_PKEY_CTX *))
{
	const EVP_MD *md = crypto_evp_md(h);
	EVP_PKEY_CTX *ctx;

	if (md == NULL) {
		return NULL;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	if (ctx == NULL) {
		return NULL;
	}

	/* The signature md makes OpenSSL add the DigestInfo prefix. */
	if (init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * rsa_sign - sign dig with k into sig[0..*siglen).  Returns 0, -ENOSPC
 * when the capacity is below the modulus size, or -EIO.
 */
static int
rsa_sign(const struct crypto_key *k, enum crypto_hash h,
    const unsigned char *dig, size_t dlen, unsigned char *sig,
    size_t *siglen)
{
	EVP_PKEY_CTX *ctx;
	size_t n = *siglen;
	int r;

	if (n < (k->bits + 7) / 8) {
		return -ENOSPC;
	}
	ctx = rsa_ctx(k, h, EVP_PKEY_sign_init);
	if (ctx == NULL) {
		ERR_clear_error();
		return -EIO;
	}
	r = EVP_PKEY_sign(ctx, sig, &n, dig, dlen);
	EVP_PKEY_CTX_free(ctx);
	if (r != 1) {
		ERR_clear_error();
		return -EIO;
	}
	*siglen = n;
	return 0;
}

/*
 * rsa_verify - check sig over dig with k.  Once the context is set up,
 * every failure is the signature's: too long or short, a value not
 * below the modulus, bad padding or a different digest all mean
 * -EBADMSG.  Returns 0, -EBADMSG or -EIO.
 */
static int
rsa_verify(const struct crypto_key *k, enum crypto_hash h,
    const unsigned char *dig, size_t dlen, const unsigned char *sig,
    size_t siglen)
{
	EVP_PKEY_CTX *ctx;
	int r;

	if (siglen != (k->bits + 7) / 8) {
		return -EBADMSG;
	}
	ctx = rsa_ctx(k, h, EVP_PKEY_verify_init);
	if (ctx == NULL) {
		ERR_clear_error();
		return -EIO;
	}
	r = EVP_PKEY_verify(ctx, sig, siglen, dig, dlen);
	EVP_PKEY_CTX_free(ctx);
	if (r != 1) {
		ERR_clear_error();
		return -EBADMSG;
	}
	return 0;
}

/*
 * ed25519_sign - PureEdDSA over the digest bytes.  Ed25519 has no
 * separate hash step, hence the one-shot DigestSign with no md.
 * Returns 0, -ENOSPC or -EIO.
 */
static int
ed25519_sign(const struct crypto_key *k, const unsigned char *dig,
    size_t dlen, unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX *mctx;
	size_t n = *siglen;
	int r;

	if (n < ED25519_SIG_LEN) {
		return -ENOSPC;
	}
	mctx = EVP_MD_CTX_new();
	if (mctx == NULL) {
		return -EIO;
	}
	r = EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, k->pkey,
	    NULL);
	if (r == 1) {
		r = EVP_DigestSign(mctx, sig, &n, dig, dlen);
	}
	EVP_MD_CTX_free(mctx);
	if (r != 1 || n != ED25519_SIG_LEN) {
		ERR_clear_error();
		return -EIO;
	}
	*siglen = n;
	return 0;
}

/*
 * ed25519_verify - check a PureEdDSA signature over the digest bytes.
 * Returns 0, -EBADMSG (including any length but 64) or -EIO.
 */
static int
ed25519_verify(const struct crypto_key *k, const unsigned char *dig,
    size_t dlen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *mctx;
	int r;

	if (siglen != ED25519_SIG_LEN) {
		return -EBADMSG;
	}
	mctx = EVP_MD_CTX_new();
	if (mctx == NULL) {
		return -EIO;
	}
	if (EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, k->pkey,
	    NULL) != 1) {
		EVP_MD_CTX_free(mctx);
		ERR_clear_error();
		return -EIO;
	}
	r = EVP_DigestVerify(mctx, sig, siglen, dig, dlen);
	EVP_MD_CTX_free(mctx);
	if (r != 1) {
		ERR_clear_error();
		return -EBADMSG;
	}
	return 0;
}

/* crypto_sign - sign a finished digest with a private key. */
int
crypto_sign(const struct crypto_key *k, enum crypto_hash h,
    const unsigned char *dig, size_t dlen, unsigned char *sig,
    size_t *siglen)
{
	int r;

	if (!k->has_private) {
		return -EINVAL;
	}
	r = sig_check_args(k, h, dlen);
	if (r < 0) {
		return r;
	}
	if (k->type == CRYPTO_KEY_RSA) {
		return rsa_sign(k, h, dig, dlen, sig, siglen);
	}
	return ed25519_sign(k, dig, dlen, sig, siglen);
}

/* crypto_verify - check sig over a finished digest. */
int
crypto_verify(const struct crypto_key *k, enum crypto_hash h,
    const unsigned char *dig, size_t dlen, const unsigned char *sig,
    size_t siglen)
{
	int r;

	r = sig_check_args(k, h, dlen);
	if (r < 0) {
		return r;
	}
	if (sig == NULL) {
		return -EBADMSG;
	}
	if (k->type == CRYPTO_KEY_RSA) {
		return rsa_verify(k, h, dig, dlen, sig, siglen);
	}
	return ed25519_verify(k, dig, dlen, sig, siglen);
}
