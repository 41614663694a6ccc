/* SPDX-License-Identifier: MIT */
/*
 * crypto_int - what the files of crypto/ share and nobody else sees:
 * the layout of a key handle and the process-wide digest methods.
 * Include only from the .c files of crypto/.
 */
#ifndef DKIMQ_CRYPTO_INT_H
#define DKIMQ_CRYPTO_INT_H

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
 * A key handle.  Every field is set once by key_wrap() and never
 * changes, so readers need no lock; only refs is written after that.
 */
struct crypto_key {
	EVP_PKEY *pkey;			/* owned */
	atomic_uint refs;
	enum crypto_key_type type;
	unsigned bits;		/* RSA modulus bits; 256 for Ed25519 */
	bool has_private;
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
 * crypto_evp_md - the EVP_MD for h, fetched once per process and shared
 * by every thread; never freed.  NULL for an unknown h or when the
 * provider has no such digest.  Does not block after the first call.
 */
const EVP_MD *crypto_evp_md(enum crypto_hash h);

#endif
