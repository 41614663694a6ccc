/* SPDX-License-Identifier: MIT */
/*
 * crypto_int - what the files of crypto/ share and nobody else sees:
 * the layout of a key handle and the process-wide digest methods.
 * Include only from the .c files of crypto/.
 */
#ifndef DKIMQ_CRYPTO_INT_H
#define DKIMQ_CRYPTO_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"

#if defined(__GNUC__)
#define crypto_unlikely(x)	__builtin_expect(!!(x), 0)
#define crypto_cold		__attribute__((cold))
#else
#define crypto_unlikely(x)	(x)
#define crypto_cold
#endif

/*
 * The OpenSSL contexts of one key kept for reuse (sig.c): making one
 * costs about as much as a fifth of an RSA-2048 verification.  A slot
 * per operation, and for RSA per hash, each a short stack of idle
 * contexts; a thread pops one, uses it alone, pushes it back.  The
 * stacks hold at most CRYPTO_CTX_IDLE each, so a key keeps no more
 * contexts than there were threads using it at once, up to that bound.
 */
#define CRYPTO_CTX_SLOTS 4	/* sign and verify, times SHA-1 and SHA-256 */
#define CRYPTO_CTX_IDLE 8

struct crypto_ctx_pool {
	pthread_mutex_t mu;
	void *idle[CRYPTO_CTX_SLOTS][CRYPTO_CTX_IDLE];
	unsigned n[CRYPTO_CTX_SLOTS];
};

/*
 * A key handle.  Every field but refs and the context pool is set once
 * by crypto_key_wrap() and never changes, so readers need no lock; the
 * pool has its own.
 */
struct crypto_key {
	EVP_PKEY *pkey;			/* owned */
	atomic_uint refs;
	enum crypto_key_type type;
	unsigned bits;		/* RSA modulus bits; 256 for Ed25519 */
	bool has_private;
	struct crypto_ctx_pool *ctx;	/* owned; its contents change */
};

/*
 * crypto_key_wrap - make a handle holding pkey, with one reference.
 *
 * Takes ownership of pkey in every case (it is freed on failure).
 * Returns 0, -EINVAL when pkey is neither RSA nor Ed25519 or is an RSA
 * key over CRYPTO_SIG_MAX * 8 bits, or -ENOMEM.
 */
int crypto_key_wrap(EVP_PKEY *pkey, bool has_private,
    struct crypto_key **out);

/*
 * crypto_ctx_pool_free - free pool and every context in it, for a key
 * of type type; NULL is allowed.  Only when no thread uses the key.
 */
void crypto_ctx_pool_free(struct crypto_ctx_pool *pool,
    enum crypto_key_type type);

/*
 * crypto_evp_md - the EVP_MD for h, fetched once per process and shared
 * by every thread; never freed.  NULL for an unknown h or when the
 * provider has no such digest.  Does not block after the first call.
 */
const EVP_MD *crypto_evp_md(enum crypto_hash h);

#endif
