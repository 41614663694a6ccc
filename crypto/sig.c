/* SPDX-License-Identifier: MIT */
/*
 * sig - signing and checking a finished digest: RSASSA-PKCS1-v1_5 with
 * the digest's DigestInfo for rsa-sha1/rsa-sha256, PureEdDSA over the
 * 32 SHA-256 bytes for ed25519-sha256 (RFC 8463 3).  Any thread may
 * call in with a shared key: the OpenSSL context of an operation is
 * taken from the key's pool of idle ones (crypto_int.h), used by this
 * call alone and given back, so a key pays for each context once
 * rather than once per message.
 */
#include <errno.h>
#include <stdlib.h>

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

enum sig_op {
	SIG_SIGN = 0,
	SIG_VERIFY = 1,
};

/* ctx_slot - the pool slot of operation op with hash h */
static unsigned
ctx_slot(enum sig_op op, enum crypto_hash h)
{
	return (unsigned)op * 2 + (h == CRYPTO_SHA1 ? 0 : 1);
}

/* ctx_destroy - free one context of a key of type type */
static void
ctx_destroy(enum crypto_key_type type, void *ctx)
{
	if (type == CRYPTO_KEY_RSA) {
		EVP_PKEY_CTX_free(ctx);
	} else {
		EVP_MD_CTX_free(ctx);
	}
}

/* ctx_take - an idle context of k's slot, now the caller's; or NULL */
static void *
ctx_take(const struct crypto_key *k, unsigned slot)
{
	struct crypto_ctx_pool *pool = k->ctx;
	void *ctx = NULL;

	pthread_mutex_lock(&pool->mu);
	if (pool->n[slot] > 0) {
		ctx = pool->idle[slot][--pool->n[slot]];
	}
	pthread_mutex_unlock(&pool->mu);
	return ctx;
}

/*
 * ctx_give - done with ctx, set up for k's slot: back for the next
 * caller when usable, else (after an OpenSSL error) freed; freed too
 * when the slot is full.
 */
static void
ctx_give(const struct crypto_key *k, unsigned slot, void *ctx, bool usable)
{
	struct crypto_ctx_pool *pool = k->ctx;

	pthread_mutex_lock(&pool->mu);
	if (usable && pool->n[slot] < CRYPTO_CTX_IDLE) {
		pool->idle[slot][pool->n[slot]++] = ctx;
		ctx = NULL;
	}
	pthread_mutex_unlock(&pool->mu);
	if (ctx != NULL) {
		ctx_destroy(k->type, ctx);
	}
}

/* crypto_ctx_pool_free - release a key's idle contexts */
void
crypto_ctx_pool_free(struct crypto_ctx_pool *pool, enum crypto_key_type type)
{
	if (pool == NULL) {
		return;
	}
	for (unsigned s = 0; s < CRYPTO_CTX_SLOTS; s++) {
		for (unsigned i = 0; i < pool->n[s]; i++) {
			ctx_destroy(type, pool->idle[s][i]);
		}
	}
	pthread_mutex_destroy(&pool->mu);
	free(pool);
}

/*
 * rsa_ctx - a PKCS#1 v1.5 context for k and h, set up to sign or
 * verify by op: an idle one of the key's, else a new one.  Returns the
 * context or NULL on an OpenSSL failure (the error queue cleared).
 *
 * Cost, OpenSSL 3.0: about 4 us and 20 allocations, spread over the
 * creation, the init and the two parameters (each a lookup by name);
 * the Ed25519 contexts cost about the same.  That is ~15 % of an
 * RSA-2048 verification (~25 us) and ~3 % of an Ed25519 one, hence
 * the pool; an initialised context signs or verifies any number of
 * times.
 */
static EVP_PKEY_CTX *
rsa_ctx(const struct crypto_key *k, enum crypto_hash h, enum sig_op op)
{
	EVP_PKEY_CTX *ctx = ctx_take(k, ctx_slot(op, h));
	const EVP_MD *md = crypto_evp_md(h);

	if (ctx != NULL) {
		return ctx;
	}
	if (md == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL) {
		ERR_clear_error();
		return NULL;
	}

	/* The signature md makes OpenSSL add the DigestInfo prefix. */
	if ((op == SIG_SIGN ? EVP_PKEY_sign_init(ctx) :
	    EVP_PKEY_verify_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
		EVP_PKEY_CTX_free(ctx);
		ERR_clear_error();
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
	ctx = rsa_ctx(k, h, SIG_SIGN);
	if (ctx == NULL) {
		return -EIO;
	}
	r = EVP_PKEY_sign(ctx, sig, &n, dig, dlen);
	ctx_give(k, ctx_slot(SIG_SIGN, h), ctx, r == 1);
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
	ctx = rsa_ctx(k, h, SIG_VERIFY);
	if (ctx == NULL) {
		return -EIO;
	}

	/*
	 * A signature that does not verify (0) leaves the context usable;
	 * after an error (< 0) it is not trusted again.
	 */
	r = EVP_PKEY_verify(ctx, sig, siglen, dig, dlen);
	ctx_give(k, ctx_slot(SIG_VERIFY, h), ctx, r >= 0);
	if (r != 1) {
		ERR_clear_error();
		return -EBADMSG;
	}
	return 0;
}

/*
 * ed25519_ctx - a digest context set up for PureEdDSA with k, to sign
 * or verify by op; or NULL.  Ed25519 has no separate hash step, hence
 * the one-shot calls with no md; an initialised context takes any
 * number of them.
 */
static EVP_MD_CTX *
ed25519_ctx(const struct crypto_key *k, enum sig_op op)
{
	EVP_MD_CTX *mctx = ctx_take(k, ctx_slot(op, CRYPTO_SHA256));
	int r;

	if (mctx != NULL) {
		return mctx;
	}
	mctx = EVP_MD_CTX_new();
	if (mctx == NULL) {
		return NULL;
	}
	r = op == SIG_SIGN ?
	    EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, k->pkey,
	    NULL) :
	    EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, k->pkey,
	    NULL);
	if (r != 1) {
		EVP_MD_CTX_free(mctx);
		ERR_clear_error();
		return NULL;
	}
	return mctx;
}

/*
 * ed25519_sign - PureEdDSA over the digest bytes.  Returns 0, -ENOSPC
 * or -EIO.
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
	mctx = ed25519_ctx(k, SIG_SIGN);
	if (mctx == NULL) {
		return -EIO;
	}
	r = EVP_DigestSign(mctx, sig, &n, dig, dlen);
	ctx_give(k, ctx_slot(SIG_SIGN, CRYPTO_SHA256), mctx,
	    r == 1 && n == ED25519_SIG_LEN);
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
	mctx = ed25519_ctx(k, SIG_VERIFY);
	if (mctx == NULL) {
		return -EIO;
	}
	r = EVP_DigestVerify(mctx, sig, siglen, dig, dlen);
	ctx_give(k, ctx_slot(SIG_VERIFY, CRYPTO_SHA256), mctx, r >= 0);
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
