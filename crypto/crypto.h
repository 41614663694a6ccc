/* SPDX-License-Identifier: MIT */
/*
 * crypto - the OpenSSL 3 EVP layer, the public contract.
 *
 * Keys (RSA and Ed25519) are loaded or decoded once into immutable,
 * reference-counted handles that any number of threads may use at once.
 * Digest contexts are caller-owned and reusable, so a worker allocates
 * one per hash and never again.  Signatures are made and checked over a
 * finished digest: RSASSA-PKCS1-v1_5 for rsa-sha1 and rsa-sha256, and
 * PureEdDSA over the SHA-256 digest for ed25519-sha256 (RFC 8463 3).
 *
 * Does not know DKIM tags or DNS; never logs.  Timing: RSA and Ed25519
 * operations are OpenSSL's (constant time for private-key use); base64
 * is not constant time and is only used on public data and signatures.
 */
#ifndef DKIMQ_CRYPTO_H
#define DKIMQ_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum crypto_key_type {
	CRYPTO_KEY_NONE = 0,
	CRYPTO_KEY_RSA,
	CRYPTO_KEY_ED25519,
};

enum crypto_hash {
	CRYPTO_SHA1 = 1,
	CRYPTO_SHA256,
};

#define CRYPTO_DIGEST_MAX 32	/* SHA-256, the largest we use */
#define CRYPTO_SIG_MAX 1024	/* an 8192-bit RSA signature */

/* Opaque key handle; immutable once made, safe to share across threads. */
struct crypto_key;

/*
 * crypto_key_load_private - read a PEM private key (PKCS#8, or the
 * traditional RSA form) from path; the type is detected.
 *
 * On success *out owns a new reference.  On failure err (errlen bytes,
 * may be NULL) holds a one-line reason naming the file.  Returns 0,
 * -ENOENT/-EACCES/... from open or read, -EFBIG for a file over 1 MiB,
 * -EINVAL for a file that is not a supported private key (including an
 * encrypted one: there is no passphrase prompt), -ENOMEM.  Blocks on
 * file I/O.
 */
int crypto_key_load_private(const char *path, struct crypto_key **out,
    char *err, size_t errlen);

/*
 * crypto_key_from_pem - as crypto_key_load_private() from memory;
 * pem[0..len) is borrowed and need not be NUL-terminated.
 */
int crypto_key_from_pem(const char *pem, size_t len,
    struct crypto_key **out, char *err, size_t errlen);

/*
 * crypto_key_from_public - decode the public key of a DNS key record
 * (the p= bytes after base64).
 *
 * RSA: a DER SubjectPublicKeyInfo, or a bare PKCS#1 RSAPublicKey (which
 * is what RFC 6376 3.6.1 literally names).  Ed25519: the 32 raw bytes of
 * RFC 8463 4.  Returns 0 with a new reference in *out, or -EINVAL when
 * the bytes are not such a key (wrong length, bad DER, trailing bytes,
 * a key of the other type, an RSA modulus over CRYPTO_SIG_MAX * 8
 * bits); -ENOMEM is possible too.  Small RSA keys are accepted: the
 * size policy is the caller's, through crypto_key_bits().  data is
 * borrowed.  Does not block; not constant time (the data is public).
 */
int crypto_key_from_public(enum crypto_key_type type,
    const unsigned char *data, size_t len, struct crypto_key **out);

/* crypto_key_type - the key's type. */
enum crypto_key_type crypto_key_type(const struct crypto_key *k);

/* crypto_key_bits - modulus size of an RSA key; 256 for Ed25519. */
unsigned crypto_key_bits(const struct crypto_key *k);

/* crypto_key_has_private - whether k can sign. */
bool crypto_key_has_private(const struct crypto_key *k);

/* crypto_key_ref - take another reference to k; returns k. */
struct crypto_key *crypto_key_ref(struct crypto_key *k);

/* crypto_key_free - drop one reference; NULL is allowed. */
void crypto_key_free(struct crypto_key *k);

/*
 * crypto_key_public - the public key in DNS record form: DER
 * SubjectPublicKeyInfo for RSA, 32 raw bytes for Ed25519.
 *
 * *out is malloc'd and owned by the caller.  Returns 0 or -ENOMEM.
 */
int crypto_key_public(const struct crypto_key *k, unsigned char **out,
    size_t *len);

/* crypto_key_public_eq - whether a and b hold the same public key. */
bool crypto_key_public_eq(const struct crypto_key *a,
    const struct crypto_key *b);

/*
 * crypto_keygen - make a new key: RSA of bits (1024 to 8192) with
 * e = 65537, or Ed25519 (bits ignored).  Returns 0, -EINVAL for a bad
 * size, -ENOMEM.  Blocks for the time RSA generation takes.
 */
int crypto_keygen(enum crypto_key_type type, unsigned bits,
    struct crypto_key **out);

/*
 * crypto_key_write_private - write k's private key as PKCS#8 PEM to a
 * new file path with mode 0600.  Never overwrites: -EEXIST when path
 * exists; other -errno from open/write/fsync/close; -EINVAL when k has
 * no private key; -ENOMEM.  A partial file is removed on failure.
 * Blocks on file I/O and fsync.
 */
int crypto_key_write_private(const struct crypto_key *k, const char *path);

/*
 * A reusable digest context.  Create once per thread and hash with it
 * as often as needed; it is not safe for concurrent use.
 */
struct crypto_md;

/* crypto_md_create - a new context, or NULL when out of memory. */
struct crypto_md *crypto_md_create(void);

/* crypto_md_free - release md; NULL is allowed. */
void crypto_md_free(struct crypto_md *md);

/* crypto_md_begin - start a new digest of type h.  Returns 0 or -EIO. */
int crypto_md_begin(struct crypto_md *md, enum crypto_hash h);

/* crypto_md_update - add n bytes.  After an internal error, md_end fails. */
void crypto_md_update(struct crypto_md *md, const void *p, size_t n);

/* crypto_md_sink - crypto_md_update() in canon_sink_fn form. */
void crypto_md_sink(void *md, const void *p, size_t n);

/*
 * crypto_md_end - finish into out (CRYPTO_DIGEST_MAX bytes) and set *len.
 * Returns 0, or -EIO when any step of this digest failed.
 */
int crypto_md_end(struct crypto_md *md, unsigned char *out, size_t *len);

/* crypto_hash_len - digest size of h in bytes. */
size_t crypto_hash_len(enum crypto_hash h);

/*
 * crypto_sign - sign the digest dig[0..dlen) of type h with private key
 * k into sig, whose capacity *siglen gives on entry; on return *siglen
 * is the signature length.  RSA: PKCS#1 v1.5 with h's DigestInfo.
 * Ed25519: PureEdDSA over the digest bytes (h must be SHA-256).
 * Returns 0, -EINVAL (no private key, wrong hash, dlen not h's
 * length), -ENOSPC (sig too small), -EIO (OpenSSL failure).  Constant
 * time in the private key.  k may be shared with other threads.
 */
int crypto_sign(const struct crypto_key *k, enum crypto_hash h,
    const unsigned char *dig, size_t dlen, unsigned char *sig,
    size_t *siglen);

/*
 * crypto_verify - check sig over digest dig of type h with k.
 * Returns 0 when it verifies, -EBADMSG when it does not (any length
 * but the key's signature size included; sig may then be NULL),
 * -EINVAL for a hash that k's type cannot use or dlen not h's length,
 * -EIO for an OpenSSL failure.  k may be shared with other threads.
 */
int crypto_verify(const struct crypto_key *k, enum crypto_hash h,
    const unsigned char *dig, size_t dlen, const unsigned char *sig,
    size_t siglen);

/* crypto_b64_encoded_len - characters needed to encode n bytes (no NUL). */
size_t crypto_b64_encoded_len(size_t n);

/*
 * crypto_b64_encode - encode in[0..n) into out, which must hold
 * crypto_b64_encoded_len(n) + 1 bytes; NUL-terminated.  Returns the
 * length written without the NUL.
 */
size_t crypto_b64_encode(const unsigned char *in, size_t n, char *out);

/*
 * crypto_b64_decode - decode in[0..n), skipping SP, HTAB, CR and LF as
 * RFC 6376 allows inside b=, bh= and p=.  out must hold n * 3 / 4 + 3
 * bytes.  Returns 0 with *outlen set, or -EINVAL for any other byte, a
 * misplaced '=' or a length that is not a whole number of quanta.
 */
int crypto_b64_decode(const char *in, size_t n, unsigned char *out,
    size_t *outlen);

#endif
