/* SPDX-License-Identifier: MIT */
/*
 * key - key handles: an EVP_PKEY with a reference count; decoding the
 * p= key of a DNS record (the DER framing is walked here, which is ten
 * times cheaper than OpenSSL 3's general decoder), exporting it, and
 * generating keys.  A handle's key never changes after
 * crypto_key_wrap(), so any number of threads may share one; the count
 * is atomic and the pool of idle contexts (sig.c) has its own lock.
 *
 * Does not read files (see pem.c) and does not judge key sizes: a
 * 512-bit RSA key decodes, and RFC 8301's 1024-bit floor is dkim/'s.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#define ED25519_RAW_LEN	32

/* crypto_key_wrap - wrap pkey in a new handle (see crypto_int.h). */
int
crypto_key_wrap(EVP_PKEY *pkey, bool has_private, struct crypto_key **out)
{
	struct crypto_key *k;
	enum crypto_key_type type;
	unsigned bits;

	/* RSA-PSS and every other type are not DKIM key types. */
	switch (EVP_PKEY_get_id(pkey)) {
	case EVP_PKEY_RSA:
		type = CRYPTO_KEY_RSA;
		bits = (unsigned)EVP_PKEY_get_bits(pkey);
		break;
	case EVP_PKEY_ED25519:
		type = CRYPTO_KEY_ED25519;
		bits = 256;
		break;
	default:
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}

	/* A signature must fit CRYPTO_SIG_MAX; see crypto_key_from_public. */
	if (type == CRYPTO_KEY_RSA &&
	    (bits == 0 || bits > CRYPTO_SIG_MAX * 8)) {
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}

	k = malloc(sizeof(*k));
	if (k != NULL && (k->ctx = calloc(1, sizeof(*k->ctx))) == NULL) {
		free(k);
		k = NULL;
	}
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	pthread_mutex_init(&k->ctx->mu, NULL);
	k->pkey = pkey;
	atomic_init(&k->refs, 1);
	k->type = type;
	k->bits = bits;
	k->has_private = has_private;
	*out = k;
	return 0;
}

/*
 * der_header - read the DER tag and definite length at p[0..n): the
 * tag must be tag and the length minimal and within n.  Returns the
 * header size with *len set, or 0.
 */
static size_t
der_header(const unsigned char *p, size_t n, unsigned char tag,
    size_t *len)
{
	size_t i, hlen, l;

	if (n < 2 || p[0] != tag) {
		return 0;
	}
	if (p[1] < 0x80) {
		hlen = 2;
		l = p[1];
	} else {
		/* Long form: one or two length bytes, no leading zero. */
		hlen = 2 + (size_t)(p[1] & 0x7f);
		if (hlen < 3 || hlen > 4 || n < hlen || p[2] == 0) {
			return 0;
		}
		l = 0;
		for (i = 2; i < hlen; i++) {
			l = l << 8 | p[i];
		}
		if (l < 0x80) {
			return 0;
		}
	}
	if (l > n - hlen) {
		return 0;
	}
	*len = l;
	return hlen;
}

/* The DER AlgorithmIdentifier of rsaEncryption with NULL parameters. */
static const unsigned char rsa_alg[15] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
};

/*
 * spki_rsa_inner - find the RSAPublicKey inside an RSA SPKI:
 *
 *	SEQUENCE {
 *		SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }
 *		BIT STRING { 0 unused bits, RSAPublicKey }
 *	}
 *
 * with nothing after the outer SEQUENCE.  Returns true with the inner
 * bytes in *in, *inlen; false for anything else, which the caller
 * hands to OpenSSL's general decoder.  This exists for speed: the
 * general SPKI decoder costs around 100 times a PKCS#1 decode.
 */
static bool
spki_rsa_inner(const unsigned char *p, size_t n,
    const unsigned char **in, size_t *inlen)
{
	size_t h, len, blen;

	h = der_header(p, n, 0x30, &len);
	if (h == 0 || h + len != n) {
		return false;
	}
	p += h;
	n = len;
	if (n < sizeof(rsa_alg) ||
	    memcmp(p, rsa_alg, sizeof(rsa_alg)) != 0) {
		return false;
	}
	p += sizeof(rsa_alg);
	n -= sizeof(rsa_alg);

	h = der_header(p, n, 0x03, &blen);
	if (h == 0 || h + blen != n || blen < 2 || p[h] != 0x00) {
		return false;
	}
	*in = p + h + 1;
	*inlen = blen - 1;
	return true;
}

/*
 * der_uint - read a DER INTEGER that must be positive and minimally
 * encoded from *p (n bytes left), advancing *p.  Returns the size of
 * the magnitude with *mag pointing at it (no sign byte), or 0.
 */
static size_t
der_uint(const unsigned char **p, size_t n, const unsigned char **mag)
{
	const unsigned char *q = *p;
	size_t h, len;

	h = der_header(q, n, 0x02, &len);
	if (h == 0 || len == 0 || q[h] & 0x80) {
		return 0;
	}
	q += h;
	*p = q + len;

	/* One zero byte may only keep the next byte's top bit unsigned. */
	if (q[0] == 0x00) {
		if (len == 1 || !(q[1] & 0x80)) {
			return 0;
		}
		q++;
		len--;
	}
	*mag = q;
	return len;
}

/*
 * rsa_from_ne - a provider-native RSA public key with modulus n[0..nl)
 * and exponent e[0..el), big-endian.  Returns it or NULL.
 */
static EVP_PKEY *
rsa_from_ne(const unsigned char *n, size_t nl, const unsigned char *e,
    size_t el)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pkey = NULL;

	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn == NULL || be == NULL || bld == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
		goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (params == NULL || ctx == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY,
	    params) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}

out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(be);
	BN_free(bn);
	ERR_clear_error();
	return pkey;
}

/*
 * rsa_pkcs1 - decode a bare PKCS#1 RSAPublicKey that fills all of
 * p[0..n):
 *
 *	SEQUENCE { INTEGER modulus, INTEGER publicExponent }
 *
 * both positive and in DER.  Returns the key or NULL.  Parsing here
 * rather than with d2i_PublicKey() gives a provider-native key instead
 * of a legacy one, which OpenSSL 3 must re-export (under the key's
 * lock) whenever an operation starts.
 */
static EVP_PKEY *
rsa_pkcs1(const unsigned char *p, size_t n)
{
	const unsigned char *end, *mod, *exp;
	size_t h, len, nl, el;

	h = der_header(p, n, 0x30, &len);
	if (h == 0 || h + len != n) {
		return NULL;
	}
	p += h;
	end = p + len;
	nl = der_uint(&p, (size_t)(end - p), &mod);
	if (nl == 0) {
		return NULL;
	}
	el = der_uint(&p, (size_t)(end - p), &exp);
	if (el == 0 || p != end) {
		return NULL;
	}

	/* Bounds that no usable key exceeds; crypto_key_wrap is exact. */
	if (nl > CRYPTO_SIG_MAX || el > 8) {
		return NULL;
	}
	return rsa_from_ne(mod, nl, exp, el);
}

/*
 * rsa_from_der - decode an RSA public key: a SubjectPublicKeyInfo or a
 * bare PKCS#1 RSAPublicKey, either using all len bytes.  Returns the
 * key, or NULL for anything else, including a valid SPKI of another
 * type.  The error queue is left clear.
 */
static EVP_PKEY *
rsa_from_der(const unsigned char *data, size_t len)
{
	const unsigned char *p = data, *in;
	EVP_PKEY *pkey;
	size_t inlen;

	/* The usual p=: an SPKI with the standard header, unwrapped. */
	if (spki_rsa_inner(data, len, &in, &inlen)) {
		return rsa_pkcs1(in, inlen);
	}

	/* Any other SPKI spelling, or a key of another type. */
	pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (pkey != NULL) {
		if (p != data + len ||
		    EVP_PKEY_get_id(pkey) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pkey);
			return NULL;
		}
		return pkey;
	}
	ERR_clear_error();

	/* RFC 6376 3.6.1 names RSAPublicKey, though SPKI is what's used. */
	return rsa_pkcs1(data, len);
}

/* crypto_key_from_public - decode the p= bytes of a key record. */
int
crypto_key_from_public(enum crypto_key_type type,
    const unsigned char *data, size_t len, struct crypto_key **out)
{
	EVP_PKEY *pkey;

	if (data == NULL || len == 0 || len > LONG_MAX) {
		return -EINVAL;
	}

	switch (type) {
	case CRYPTO_KEY_RSA:
		pkey = rsa_from_der(data, len);
		break;
	case CRYPTO_KEY_ED25519:
		/* RFC 8463 4: the bare key; an SPKI wrapping is an error. */
		if (len != ED25519_RAW_LEN) {
			return -EINVAL;
		}
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    data, len);
		if (pkey == NULL) {
			ERR_clear_error();
		}
		break;
	default:
		return -EINVAL;
	}
	if (pkey == NULL) {
		return -EINVAL;
	}
	return crypto_key_wrap(pkey, false, out);
}

/* crypto_key_type - the key's type. */
enum crypto_key_type
crypto_key_type(const struct crypto_key *k)
{
	if (k == NULL) {
		return CRYPTO_KEY_NONE;
	}
	return k->type;
}

/* crypto_key_bits - modulus size of an RSA key; 256 for Ed25519. */
unsigned
crypto_key_bits(const struct crypto_key *k)
{
	if (k == NULL) {
		return 0;
	}
	return k->bits;
}

/* crypto_key_has_private - whether k can sign. */
bool
crypto_key_has_private(const struct crypto_key *k)
{
	return k != NULL && k->has_private;
}

/* crypto_key_ref - take another reference to k. */
struct crypto_key *
crypto_key_ref(struct crypto_key *k)
{
	/* Taking a reference needs no ordering: the caller holds one. */
	atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
	return k;
}

/* crypto_key_free - drop one reference. */
void
crypto_key_free(struct crypto_key *k)
{
	if (k == NULL) {
		return;
	}

	/*
	 * Release on every drop, acquire for the last, so the last owner
	 * sees every other thread's use of the key as finished.  One
	 * acq_rel operation rather than a release plus a fence: the same
	 * cost on x86, and ThreadSanitizer understands it.
	 */
	if (atomic_fetch_sub_explicit(&k->refs, 1,
	    memory_order_acq_rel) != 1) {
		return;
	}
	crypto_ctx_pool_free(k->ctx, k->type);
	EVP_PKEY_free(k->pkey);
	free(k);
}

/*
 * rsa_public_der - the DER SubjectPublicKeyInfo of k in a malloc'd
 * buffer.  Returns 0, or -ENOMEM (also for an encoder failure, which
 * only allocation can cause for a valid key).
 */
static int
rsa_public_der(const struct crypto_key *k, unsigned char **out,
    size_t *len)
{
	unsigned char *buf, *p;
	int n;

	n = i2d_PUBKEY(k->pkey, NULL);
	if (n <= 0) {
		ERR_clear_error();
		return -ENOMEM;
	}
	buf = malloc((size_t)n);
	if (buf == NULL) {
		return -ENOMEM;
	}
	p = buf;
	if (i2d_PUBKEY(k->pkey, &p) != n) {
		ERR_clear_error();
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

/* crypto_key_public - the public key in DNS record form. */
int
crypto_key_public(const struct crypto_key *k, unsigned char **out,
    size_t *len)
{
	unsigned char *buf;
	size_t n = ED25519_RAW_LEN;

	if (k->type == CRYPTO_KEY_RSA) {
		return rsa_public_der(k, out, len);
	}

	buf = malloc(n);
	if (buf == NULL) {
		return -ENOMEM;
	}
	if (EVP_PKEY_get_raw_public_key(k->pkey, buf, &n) != 1 ||
	    n != ED25519_RAW_LEN) {
		ERR_clear_error();
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* crypto_key_public_eq - whether a and b hold the same public key. */
bool
crypto_key_public_eq(const struct crypto_key *a,
    const struct crypto_key *b)
{
	int r;

	if (a == NULL || b == NULL || a->type != b->type) {
		return false;
	}

	/* EVP_PKEY_eq compares only the public components. */
	r = EVP_PKEY_eq(a->pkey, b->pkey);
	if (r != 1) {
		ERR_clear_error();
	}
	return r == 1;
}

/* crypto_keygen - make a new RSA or Ed25519 key. */
int
crypto_keygen(enum crypto_key_type type, unsigned bits,
    struct crypto_key **out)
{
	EVP_PKEY *pkey;

	switch (type) {
	case CRYPTO_KEY_RSA:
		if (bits < 1024 || bits > CRYPTO_SIG_MAX * 8) {
			return -EINVAL;
		}
		/* The default public exponent is 65537. */
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	case CRYPTO_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		return -EINVAL;
	}
	if (pkey == NULL) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return crypto_key_wrap(pkey, true, out);
}
