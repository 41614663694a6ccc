/* SPDX-License-Identifier: MIT */
/*
 * crypto_test - crypto/ against known answers and its own round trips:
 * RFC 4648 base64 vectors, RFC 8463 Appendix A keys and signatures,
 * signatures made by the openssl command, key decoding edge cases, key
 * generation and key files.  Fixtures are in tests/data/crypto/ (see
 * its README); key files are written to a fresh directory under /tmp.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "crypto/crypto.h"

#ifndef DKIMQ_SRC
#define DKIMQ_SRC "."
#endif
#define DATA DKIMQ_SRC "/tests/data/crypto/"

#define KAT_MAX 1024

/* slurp - the contents of DATA name, malloc'd; the test fails if absent. */
static unsigned char *
slurp(const char *name, size_t *len)
{
	char path[512];
	unsigned char *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", DATA, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* kat - decode the base64 value named name in crypto.kat into out. */
static size_t
kat(const char *name, unsigned char *out)
{
	size_t flen, nlen = strlen(name), len = 0;
	char *file, *line, *save = NULL;
	bool found = false;

	file = (char *)slurp("crypto.kat", &flen);
	for (line = strtok_r(file, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, name, nlen) != 0 || line[nlen] != ' ') {
			continue;
		}
		line += nlen + 1;
		cr_assert(strlen(line) / 4 * 3 + 3 <= KAT_MAX);
		cr_assert_eq(crypto_b64_decode(line, strlen(line), out,
		    &len), 0, "kat %s does not decode", name);
		found = true;
		break;
	}
	free(file);
	cr_assert(found, "no kat %s", name);
	return len;
}

/* digest - hash p[0..n) with h into out; returns the length. */
static size_t
digest(enum crypto_hash h, const void *p, size_t n, unsigned char *out)
{
	struct crypto_md *md = crypto_md_create();
	size_t len = 0;

	cr_assert_not_null(md);
	cr_assert_eq(crypto_md_begin(md, h), 0);
	crypto_md_update(md, p, n);
	cr_assert_eq(crypto_md_end(md, out, &len), 0);
	crypto_md_free(md);
	return len;
}

/* digest_file - digest of a fixture file. */
static size_t
digest_file(enum crypto_hash h, const char *name, unsigned char *out)
{
	unsigned char *buf;
	size_t n, len;

	buf = slurp(name, &n);
	len = digest(h, buf, n, out);
	free(buf);
	return len;
}

/* key_kat - decode the public key named name in crypto.kat. */
static struct crypto_key *
key_kat(enum crypto_key_type type, const char *name)
{
	unsigned char der[KAT_MAX];
	struct crypto_key *k = NULL;
	size_t len;

	len = kat(name, der);
	cr_assert_eq(crypto_key_from_public(type, der, len, &k), 0,
	    "%s does not decode", name);
	return k;
}

/* key_file - load the private key fixture name. */
static struct crypto_key *
key_file(const char *name)
{
	struct crypto_key *k = NULL;
	char path[512], err[256] = "";

	snprintf(path, sizeof(path), "%s%s", DATA, name);
	cr_assert_eq(crypto_key_load_private(path, &k, err, sizeof(err)),
	    0, "%s", err);
	return k;
}

/* tmpdir - a new empty directory, the test's own. */
static void
tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/dkimq-crypto-XXXXXX");
	cr_assert_not_null(mkdtemp(buf));
}

/*
 * Base64.
 */

static const char *const rfc4648[][2] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

Test(b64, encode_matches_rfc4648_vectors)
{
	char out[16];
	size_t i, n;

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		n = strlen(rfc4648[i][0]);
		cr_assert_eq(crypto_b64_encoded_len(n),
		    strlen(rfc4648[i][1]));
		cr_assert_eq(crypto_b64_encode(
		    (const unsigned char *)rfc4648[i][0], n, out),
		    strlen(rfc4648[i][1]));
		cr_assert_str_eq(out, rfc4648[i][1]);
	}
}

Test(b64, decode_matches_rfc4648_vectors)
{
	unsigned char out[16];
	size_t i, n, len;

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		n = strlen(rfc4648[i][1]);
		len = 99;
		cr_assert_eq(crypto_b64_decode(rfc4648[i][1], n, out, &len),
		    0, "%s", rfc4648[i][1]);
		cr_assert_eq(len, strlen(rfc4648[i][0]));
		cr_assert_arr_eq(out, rfc4648[i][0], len);
	}
}

Test(b64, round_trips_every_length_and_byte)
{
	unsigned char in[300], out[300 / 4 * 3 + 3 + 300];
	char enc[401];
	size_t n, i, len, elen;

	for (i = 0; i < sizeof(in); i++) {
		in[i] = (unsigned char)(i * 167 + 13);
	}
	for (n = 0; n <= sizeof(in); n++) {
		elen = crypto_b64_encode(in, n, enc);
		cr_assert_eq(elen, crypto_b64_encoded_len(n));
		cr_assert_eq(enc[elen], '\0');
		cr_assert_eq(crypto_b64_decode(enc, elen, out, &len), 0);
		cr_assert_eq(len, n);
		cr_assert_arr_eq(out, in, n);
	}
}

Test(b64, decode_skips_folding_whitespace)
{
	static const char *const in[] = {
		" Zm9v\r\n\tYmFy",
		"Z m 9 v Y m F y",
		"Zm9vYmFy\r\n",
		"\r\n Zm9vYm\r\n\tFy \t",
	};
	unsigned char out[32];
	size_t i, len;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		cr_assert_eq(crypto_b64_decode(in[i], strlen(in[i]), out,
		    &len), 0, "\"%s\"", in[i]);
		cr_assert_eq(len, 6);
		cr_assert_arr_eq(out, "foobar", 6);
	}
}

Test(b64, decode_handles_padding_with_whitespace_inside)
{
	unsigned char out[8];
	size_t len;

	/* FWS may sit between the final characters and each '='. */
	cr_assert_eq(crypto_b64_decode("Zg = =", 6, out, &len), 0);
	cr_assert_eq(len, 1);
	cr_assert_eq(out[0], 'f');
	cr_assert_eq(crypto_b64_decode("Zm8=\r\n ", 7, out, &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_arr_eq(out, "fo", 2);

	/* Unused low bits are ignored: "ab==" is 0x69 with bits 1011 over. */
	cr_assert_eq(crypto_b64_decode("ab==", 4, out, &len), 0);
	cr_assert_eq(len, 1);
	cr_assert_eq(out[0], 0x69);
}

Test(b64, decode_of_nothing_is_empty)
{
	unsigned char out[4];
	size_t len = 99;

	cr_assert_eq(crypto_b64_decode("", 0, out, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(crypto_b64_decode(" \r\n\t", 4, out, &len), 0);
	cr_assert_eq(len, 0);
}

Test(b64, decode_rejects_garbage_and_bad_lengths)
{
	static const char *const bad[] = {
		"Zm9v!", "Zm9v-Ymfy", "Zm9v_Ymfy", "Zm9v.", "Zm9\v",
		"Zm9", "Zm9vY", "Zm9vYm", "Z", "Zm9vYmFy\f",
		"Z===", "====", "=", "Zg=", "Zg=a", "Zg==Zg==", "Zm8=Zm8=",
		"Zg== x", "Zm8==", "Zg===", "Z=g=", "Zm9v=",
		"Zm9v\xc3\xa9", "Zm9v\x80",
	};
	unsigned char out[32];
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(crypto_b64_decode(bad[i], strlen(bad[i]), out,
		    &len), -EINVAL, "\"%s\" accepted", bad[i]);
	}

	/* A NUL is not whitespace either. */
	cr_assert_eq(crypto_b64_decode("Zm9v\0YmFy", 9, out, &len),
	    -EINVAL);
}

/*
 * Digests.
 */

Test(md, sha1_and_sha256_of_abc_match_fips180)
{
	static const unsigned char sha1[20] = {
		0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
		0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d,
	};
	static const unsigned char sha256[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	unsigned char out[CRYPTO_DIGEST_MAX];

	cr_assert_eq(crypto_hash_len(CRYPTO_SHA1), 20);
	cr_assert_eq(crypto_hash_len(CRYPTO_SHA256), 32);
	cr_assert_eq(digest(CRYPTO_SHA1, "abc", 3, out), 20);
	cr_assert_arr_eq(out, sha1, 20);
	cr_assert_eq(digest(CRYPTO_SHA256, "abc", 3, out), 32);
	cr_assert_arr_eq(out, sha256, 32);
}

Test(md, reused_context_and_split_updates_agree_with_one_shot)
{
	unsigned char whole[CRYPTO_DIGEST_MAX], part[CRYPTO_DIGEST_MAX];
	static const char msg[] = "The quick brown fox jumps over the dog";
	struct crypto_md *md = crypto_md_create();
	enum crypto_hash h;
	size_t i, len;

	cr_assert_not_null(md);
	for (h = CRYPTO_SHA1; h <= CRYPTO_SHA256; h++) {
		digest(h, msg, sizeof(msg) - 1, whole);

		/* One context, reused, fed in pieces and through the sink. */
		cr_assert_eq(crypto_md_begin(md, h), 0);
		for (i = 0; i < sizeof(msg) - 1; i += 5) {
			size_t n = sizeof(msg) - 1 - i < 5 ?
			    sizeof(msg) - 1 - i : 5;

			if (i % 2 == 0) {
				crypto_md_update(md, msg + i, n);
			} else {
				crypto_md_sink(md, msg + i, n);
			}
		}
		crypto_md_update(md, "", 0);
		cr_assert_eq(crypto_md_end(md, part, &len), 0);
		cr_assert_eq(len, crypto_hash_len(h));
		cr_assert_arr_eq(part, whole, len);
	}
	crypto_md_free(md);
}

Test(md, end_fails_without_begin_and_after_end)
{
	unsigned char out[CRYPTO_DIGEST_MAX];
	struct crypto_md *md = crypto_md_create();
	size_t len;

	cr_assert_not_null(md);
	cr_assert_eq(crypto_md_end(md, out, &len), -EIO);
	cr_assert_eq(crypto_md_begin(md, CRYPTO_SHA256), 0);
	cr_assert_eq(crypto_md_end(md, out, &len), 0);
	cr_assert_eq(crypto_md_end(md, out, &len), -EIO);
	cr_assert_eq(crypto_md_begin(md, (enum crypto_hash)99), -EIO);
	cr_assert_eq(crypto_md_end(md, out, &len), -EIO);
	crypto_md_free(md);
	crypto_md_free(NULL);
}

/*
 * RFC 8463 Appendix A.
 */

Test(rfc8463, ed25519_public_key_derived_from_seed_matches_a2)
{
	/* A PKCS#8 OneAsymmetricKey prefix for a 32-byte Ed25519 seed. */
	static const unsigned char prefix[16] = {
		0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
		0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
	};
	unsigned char der[48], want[KAT_MAX], *pub;
	char pem[200], b64[65], err[256] = "";
	struct crypto_key *k = NULL;
	size_t n, plen;

	cr_assert_eq(kat("rfc8463_ed25519_seed", der + 16), 32);
	memcpy(der, prefix, sizeof(prefix));
	crypto_b64_encode(der, sizeof(der), b64);
	n = (size_t)snprintf(pem, sizeof(pem), "-----BEGIN PRIVATE KEY-----"
	    "\n%s\n-----END PRIVATE KEY-----\n", b64);

	cr_assert_eq(crypto_key_from_pem(pem, n, &k, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(crypto_key_type(k), CRYPTO_KEY_ED25519);
	cr_assert_eq(crypto_key_bits(k), 256);
	cr_assert(crypto_key_has_private(k));
	cr_assert_eq(crypto_key_public(k, &pub, &plen), 0);
	cr_assert_eq(kat("rfc8463_ed25519_public", want), 32);
	cr_assert_eq(plen, 32);
	cr_assert_arr_eq(pub, want, 32);
	free(pub);
	crypto_key_free(k);
}

Test(rfc8463, ed25519_signing_reproduces_a3_signature)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], want[KAT_MAX];
	unsigned char sig[CRYPTO_SIG_MAX];
	struct crypto_key *k = key_file("rfc8463_ed25519.pem");
	size_t dlen, slen = sizeof(sig);

	/* Ed25519 is deterministic, so the bytes must be the RFC's. */
	dlen = digest_file(CRYPTO_SHA256, "rfc8463_ed25519.hdr", dig);
	cr_assert_eq(crypto_sign(k, CRYPTO_SHA256, dig, dlen, sig, &slen),
	    0);
	cr_assert_eq(slen, 64);
	cr_assert_eq(kat("rfc8463_ed25519_sig", want), 64);
	cr_assert_arr_eq(sig, want, 64);
	crypto_key_free(k);
}

Test(rfc8463, ed25519_a3_signature_verifies_and_a_flipped_bit_fails)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], sig[KAT_MAX];
	struct crypto_key *k;
	size_t dlen, slen;

	k = key_kat(CRYPTO_KEY_ED25519, "rfc8463_ed25519_public");
	cr_assert_not(crypto_key_has_private(k));
	dlen = digest_file(CRYPTO_SHA256, "rfc8463_ed25519.hdr", dig);
	slen = kat("rfc8463_ed25519_sig", sig);
	cr_assert_eq(crypto_verify(k, CRYPTO_SHA256, dig, dlen, sig, slen),
	    0);

	sig[17] ^= 0x08;
	cr_assert_eq(crypto_verify(k, CRYPTO_SHA256, dig, dlen, sig, slen),
	    -EBADMSG);
	sig[17] ^= 0x08;
	dig[0] ^= 0x01;
	cr_assert_eq(crypto_verify(k, CRYPTO_SHA256, dig, dlen, sig, slen),
	    -EBADMSG);
	crypto_key_free(k);
}

Test(rfc8463, rsa_a3_signature_verifies_and_a_flipped_bit_fails)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], sig[KAT_MAX];
	struct crypto_key *k;
	size_t dlen, slen;

	k = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_public");
	cr_assert_eq(crypto_key_type(k), CRYPTO_KEY_RSA);
	cr_assert_eq(crypto_key_bits(k), 1024);
	dlen = digest_file(CRYPTO_SHA256, "rfc8463_rsa.hdr", dig);
	slen = kat("rfc8463_rsa_sig", sig);
	cr_assert_eq(slen, 128);
	cr_assert_eq(crypto_verify(k, CRYPTO_SHA256, dig, dlen, sig, slen),
	    0);

	sig[127] ^= 0x01;
	cr_assert_eq(crypto_verify(k, CRYPTO_SHA256, dig, dlen, sig, slen),
	    -EBADMSG);
	sig[127] ^= 0x01;
	dig[31] ^= 0x80;
	cr_assert_eq(crypto_verify(k, CRYPTO_SHA256, dig, dlen, sig, slen),
	    -EBADMSG);
	crypto_key_free(k);
}

/*
 * Public key decoding.
 */

Test(pubkey, rsa_pkcs1_and_spki_decode_to_equal_keys)
{
	struct crypto_key *spki, *pkcs1, *other = NULL;

	spki = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_public");
	pkcs1 = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_pkcs1");
	cr_assert(crypto_key_public_eq(spki, pkcs1));
	cr_assert_eq(crypto_key_bits(pkcs1), 1024);

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 1024, &other), 0);
	cr_assert_not(crypto_key_public_eq(spki, other));
	crypto_key_free(other);
	crypto_key_free(spki);
	crypto_key_free(pkcs1);
}

Test(pubkey, public_export_round_trips_to_record_form)
{
	unsigned char want[KAT_MAX], *der;
	const char *const names[2] = {
		"rfc8463_rsa_public", "rfc8463_ed25519_public",
	};
	const enum crypto_key_type types[2] = {
		CRYPTO_KEY_RSA, CRYPTO_KEY_ED25519,
	};
	struct crypto_key *k;
	size_t i, wlen, len;

	/* A PKCS#1 input exports as SPKI, the form we publish. */
	for (i = 0; i < 2; i++) {
		k = key_kat(types[i], names[i]);
		wlen = kat(names[i], want);
		cr_assert_eq(crypto_key_public(k, &der, &len), 0);
		cr_assert_eq(len, wlen);
		cr_assert_arr_eq(der, want, len);
		free(der);
		crypto_key_free(k);
	}
	k = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_pkcs1");
	wlen = kat("rfc8463_rsa_public", want);
	cr_assert_eq(crypto_key_public(k, &der, &len), 0);
	cr_assert_eq(len, wlen);
	cr_assert_arr_eq(der, want, len);
	free(der);
	crypto_key_free(k);
}

Test(pubkey, ed25519_key_in_spki_form_is_rejected)
{
	unsigned char der[KAT_MAX];
	struct crypto_key *k = NULL;
	size_t len;

	len = kat("rfc8463_ed25519_spki", der);
	cr_assert_eq(len, 44);
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_ED25519, der, len,
	    &k), -EINVAL);
	cr_assert_null(k);

	/* Nor is it an RSA key, though it is a valid SPKI. */
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, der, len, &k),
	    -EINVAL);
	cr_assert_null(k);
}

Test(pubkey, wrong_length_ed25519_keys_are_rejected)
{
	unsigned char raw[KAT_MAX];
	struct crypto_key *k = NULL;
	size_t len;

	len = kat("rfc8463_ed25519_public", raw);
	raw[len] = 0;
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_ED25519, raw, 31,
	    &k), -EINVAL);
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_ED25519, raw, 33,
	    &k), -EINVAL);
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_ED25519, raw, 0,
	    &k), -EINVAL);
	cr_assert_null(k);

	/* And the 32 bytes are not an RSA key. */
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, raw, 32, &k),
	    -EINVAL);
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_NONE, raw, 32, &k),
	    -EINVAL);
	cr_assert_null(k);
}

Test(pubkey, rsa_der_with_trailing_or_missing_bytes_is_rejected)
{
	const char *const names[3] = {
		"rfc8463_rsa_public", "rfc8463_rsa_pkcs1",
		"rfc8463_rsa_spki_no_null",
	};
	unsigned char der[KAT_MAX + 1];
	struct crypto_key *k = NULL;
	size_t i, len;

	for (i = 0; i < 3; i++) {
		len = kat(names[i], der);
		der[len] = 0x00;
		cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, der,
		    len + 1, &k), -EINVAL, "%s + 1", names[i]);
		cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, der,
		    len - 1, &k), -EINVAL, "%s - 1", names[i]);
		cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, der,
		    len / 2, &k), -EINVAL, "%s / 2", names[i]);
		cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_ED25519, der,
		    len, &k), -EINVAL, "%s as ed25519", names[i]);
		cr_assert_null(k);
	}
}

Test(pubkey, rsa_spki_without_null_parameters_decodes)
{
	struct crypto_key *k, *want;

	/* Not the usual header, so OpenSSL's general decoder reads it. */
	k = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_spki_no_null");
	want = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_public");
	cr_assert(crypto_key_public_eq(k, want));
	crypto_key_free(k);
	crypto_key_free(want);
}

/* pkcs1 - assemble SEQUENCE { INTEGER n, INTEGER e } from raw parts. */
static size_t
pkcs1(unsigned char *out, const unsigned char *n, size_t nl,
    const unsigned char *e, size_t el)
{
	size_t body = 3 + nl + 2 + el;

	out[0] = 0x30;
	out[1] = 0x81;
	out[2] = (unsigned char)body;
	out[3] = 0x02;
	out[4] = 0x81;
	out[5] = (unsigned char)nl;
	memcpy(out + 6, n, nl);
	out[6 + nl] = 0x02;
	out[7 + nl] = (unsigned char)el;
	memcpy(out + 8 + nl, e, el);
	return 3 + body;
}

Test(pubkey, rsa_pkcs1_must_be_positive_minimal_der)
{
	static const unsigned char e3[3] = { 0x01, 0x00, 0x01 };
	static const unsigned char e4[4] = { 0x00, 0x01, 0x00, 0x01 };
	static const unsigned char e9[9] = { 1, 0, 0, 0, 0, 0, 0, 0, 1 };
	unsigned char der[KAT_MAX], n[129], buf[300];
	struct crypto_key *k = NULL;
	size_t len;

	/* The RFC key: 30 81 89 02 81 81 00 <128 bytes> 02 03 01 00 01. */
	len = kat("rfc8463_rsa_pkcs1", der);
	cr_assert_eq(len, 140);
	cr_assert_eq(der[6], 0x00);
	memcpy(n, der + 6, 129);

	/* Reassembled unchanged, it decodes: the helper is right. */
	len = pkcs1(buf, n, 129, e3, 3);
	cr_assert_arr_eq(buf, der, 140);
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, buf, len, &k),
	    0);
	crypto_key_free(k);
	k = NULL;

	/* Without its sign byte the modulus is negative. */
	len = pkcs1(buf, n + 1, 128, e3, 3);
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, buf, len, &k),
	    -EINVAL);

	/* A needless zero byte is not DER. */
	len = pkcs1(buf, n, 129, e4, 4);
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, buf, len, &k),
	    -EINVAL);

	/* An exponent over 64 bits is not a key anyone uses. */
	len = pkcs1(buf, n, 129, e9, 9);
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, buf, len, &k),
	    -EINVAL);

	/* A third INTEGER inside the SEQUENCE. */
	len = pkcs1(buf, n, 129, e3, 3);
	memcpy(buf + len, "\x02\x01\x00", 3);
	buf[2] += 3;
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, buf, len + 3,
	    &k), -EINVAL);

	/* Lengths: long form where short would do, and indefinite. */
	len = pkcs1(buf, n, 129, e3, 3);
	memcpy(buf + len - 4, "\x81\x03\x01\x00\x01", 5);
	buf[2] += 1;
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, buf, len + 1,
	    &k), -EINVAL);
	len = kat("rfc8463_rsa_pkcs1", der + 1);
	der[0] = 0x30;
	der[1] = 0x82;
	der[2] = 0x00;
	der[3] = 0x89;
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, der, len + 1,
	    &k), -EINVAL);
	len = kat("rfc8463_rsa_pkcs1", der);
	der[1] = 0x80;
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, der, len, &k),
	    -EINVAL);
	cr_assert_null(k);
}

Test(pubkey, garbage_bytes_are_rejected_as_rsa)
{
	unsigned char junk[300];
	struct crypto_key *k = NULL;
	size_t i, n;

	for (i = 0; i < sizeof(junk); i++) {
		junk[i] = (unsigned char)(i * 31 + 7);
	}
	junk[0] = 0x30;		/* looks like a SEQUENCE */
	for (n = 1; n <= sizeof(junk); n += 37) {
		cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, junk, n,
		    &k), -EINVAL, "%zu junk bytes", n);
	}
	cr_assert_eq(crypto_key_from_public(CRYPTO_KEY_RSA, junk, 0, &k),
	    -EINVAL);
	cr_assert_null(k);
}

/*
 * Signing and verifying.
 */

/* round_trip - sign and verify with k and h, then break it two ways. */
static void
round_trip(struct crypto_key *k, enum crypto_hash h)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], sig[CRYPTO_SIG_MAX];
	size_t dlen, slen = sizeof(sig);

	dlen = digest(h, "round trip", 10, dig);
	cr_assert_eq(crypto_sign(k, h, dig, dlen, sig, &slen), 0);
	if (crypto_key_type(k) == CRYPTO_KEY_RSA) {
		cr_assert_eq(slen, crypto_key_bits(k) / 8);
	} else {
		cr_assert_eq(slen, 64);
	}
	cr_assert_eq(crypto_verify(k, h, dig, dlen, sig, slen), 0);

	sig[slen / 2] ^= 0x10;
	cr_assert_eq(crypto_verify(k, h, dig, dlen, sig, slen), -EBADMSG);
	sig[slen / 2] ^= 0x10;
	dig[dlen - 1] ^= 0x01;
	cr_assert_eq(crypto_verify(k, h, dig, dlen, sig, slen), -EBADMSG);
}

Test(sig, rsa_sha256_and_rsa_sha1_round_trip)
{
	struct crypto_key *k = NULL;

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 1024, &k), 0);
	round_trip(k, CRYPTO_SHA256);
	round_trip(k, CRYPTO_SHA1);
	crypto_key_free(k);
}

Test(sig, ed25519_sha256_round_trips)
{
	struct crypto_key *k = NULL;

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_ED25519, 0, &k), 0);
	round_trip(k, CRYPTO_SHA256);
	crypto_key_free(k);
}

Test(sig, rsa_signatures_match_the_openssl_command)
{
	const char *const names[2] = {
		"rsa1024_sha1_sig", "rsa1024_sha256_sig",
	};
	const enum crypto_hash hs[2] = { CRYPTO_SHA1, CRYPTO_SHA256 };
	unsigned char dig[CRYPTO_DIGEST_MAX], want[KAT_MAX];
	unsigned char sig[CRYPTO_SIG_MAX];
	struct crypto_key *k = key_file("rsa1024_traditional.pem");
	size_t i, dlen, slen, wlen;

	/* PKCS#1 v1.5 is deterministic, DigestInfo included. */
	for (i = 0; i < 2; i++) {
		dlen = digest_file(hs[i], "kat_message.txt", dig);
		slen = sizeof(sig);
		cr_assert_eq(crypto_sign(k, hs[i], dig, dlen, sig, &slen),
		    0);
		wlen = kat(names[i], want);
		cr_assert_eq(slen, wlen);
		cr_assert_arr_eq(sig, want, slen, "%s", names[i]);
		cr_assert_eq(crypto_verify(k, hs[i], dig, dlen, want, wlen),
		    0);
	}
	crypto_key_free(k);
}

Test(sig, verify_with_the_other_hash_fails)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], sig[CRYPTO_SIG_MAX];
	struct crypto_key *k = key_file("rsa1024_traditional.pem");
	size_t slen = sizeof(sig);

	/* The DigestInfo names the hash, so SHA-1 bytes never pass. */
	digest(CRYPTO_SHA1, "x", 1, dig);
	cr_assert_eq(crypto_sign(k, CRYPTO_SHA1, dig, 20, sig, &slen), 0);
	memset(dig + 20, 0, 12);
	cr_assert_eq(crypto_verify(k, CRYPTO_SHA256, dig, 32, sig, slen),
	    -EBADMSG);
	crypto_key_free(k);
}

Test(sig, wrong_length_and_garbage_signatures_fail_cleanly)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], sig[CRYPTO_SIG_MAX + 1];
	struct crypto_key *rsa, *ed;
	size_t n;

	rsa = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_public");
	ed = key_kat(CRYPTO_KEY_ED25519, "rfc8463_ed25519_public");
	digest_file(CRYPTO_SHA256, "rfc8463_rsa.hdr", dig);
	kat("rfc8463_rsa_sig", sig);

	/* Lengths around the modulus size, including zero. */
	for (n = 0; n <= 130; n++) {
		if (n == 128) {
			continue;
		}
		cr_assert_eq(crypto_verify(rsa, CRYPTO_SHA256, dig, 32, sig,
		    n), -EBADMSG, "rsa length %zu", n);
	}
	cr_assert_eq(crypto_verify(rsa, CRYPTO_SHA256, dig, 32, sig,
	    sizeof(sig)), -EBADMSG);

	/* All ones is above the modulus; all zeros has no padding. */
	memset(sig, 0xff, 128);
	cr_assert_eq(crypto_verify(rsa, CRYPTO_SHA256, dig, 32, sig, 128),
	    -EBADMSG);
	memset(sig, 0x00, 128);
	cr_assert_eq(crypto_verify(rsa, CRYPTO_SHA256, dig, 32, sig, 128),
	    -EBADMSG);

	for (n = 0; n <= 66; n++) {
		cr_assert_eq(crypto_verify(ed, CRYPTO_SHA256, dig, 32, sig,
		    n), -EBADMSG, "ed25519 length %zu", n);
	}
	memset(sig, 0xff, 64);
	cr_assert_eq(crypto_verify(ed, CRYPTO_SHA256, dig, 32, sig, 64),
	    -EBADMSG);
	cr_assert_eq(crypto_verify(ed, CRYPTO_SHA256, dig, 32, NULL, 0),
	    -EBADMSG);
	crypto_key_free(rsa);
	crypto_key_free(ed);
}

Test(sig, hash_or_digest_length_the_key_cannot_use_is_einval)
{
	unsigned char dig[CRYPTO_DIGEST_MAX] = { 0 }, sig[CRYPTO_SIG_MAX];
	struct crypto_key *ed = key_file("rfc8463_ed25519.pem");
	struct crypto_key *rsa = key_file("rsa1024_traditional.pem");
	size_t slen = sizeof(sig);

	cr_assert_eq(crypto_sign(ed, CRYPTO_SHA1, dig, 20, sig, &slen),
	    -EINVAL);
	cr_assert_eq(crypto_verify(ed, CRYPTO_SHA1, dig, 20, sig, 64),
	    -EINVAL);
	cr_assert_eq(crypto_sign(rsa, CRYPTO_SHA256, dig, 20, sig, &slen),
	    -EINVAL);
	cr_assert_eq(crypto_verify(rsa, CRYPTO_SHA1, dig, 32, sig, 128),
	    -EINVAL);
	cr_assert_eq(crypto_verify(rsa, (enum crypto_hash)7, dig, 32, sig,
	    128), -EINVAL);
	crypto_key_free(ed);
	crypto_key_free(rsa);
}

Test(sig, sign_needs_a_private_key_and_room)
{
	unsigned char dig[CRYPTO_DIGEST_MAX] = { 0 }, sig[CRYPTO_SIG_MAX];
	struct crypto_key *pub, *rsa, *ed;
	size_t slen = sizeof(sig);

	pub = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_public");
	cr_assert_eq(crypto_sign(pub, CRYPTO_SHA256, dig, 32, sig, &slen),
	    -EINVAL);

	rsa = key_file("rsa1024_traditional.pem");
	slen = 127;
	cr_assert_eq(crypto_sign(rsa, CRYPTO_SHA256, dig, 32, sig, &slen),
	    -ENOSPC);
	ed = key_file("rfc8463_ed25519.pem");
	slen = 63;
	cr_assert_eq(crypto_sign(ed, CRYPTO_SHA256, dig, 32, sig, &slen),
	    -ENOSPC);
	crypto_key_free(pub);
	crypto_key_free(rsa);
	crypto_key_free(ed);
}

struct verify_arg {
	struct crypto_key *k;
	int failures;
};

/*
 * verify_thread - verify the RFC 8463 RSA signature 200 times, every
 * other time with a bit flipped: the key's reused contexts must not
 * carry one verdict into the next, whichever thread had them before.
 */
static void *
verify_thread(void *p)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], sig[KAT_MAX];
	struct verify_arg *a = p;
	size_t slen;
	int i;

	digest_file(CRYPTO_SHA256, "rfc8463_rsa.hdr", dig);
	slen = kat("rfc8463_rsa_sig", sig);
	for (i = 0; i < 200; i++) {
		int want = i % 2 ? -EBADMSG : 0;

		sig[7] ^= (unsigned char)(i % 2);
		if (crypto_verify(a->k, CRYPTO_SHA256, dig, 32, sig,
		    slen) != want) {
			a->failures++;
		}
		sig[7] ^= (unsigned char)(i % 2);
	}
	return NULL;
}

Test(sig, one_key_verifies_in_many_threads_at_once)
{
	struct verify_arg args[4];
	pthread_t t[4];
	struct crypto_key *k;
	int i;

	k = key_kat(CRYPTO_KEY_RSA, "rfc8463_rsa_public");
	for (i = 0; i < 4; i++) {
		args[i].k = crypto_key_ref(k);
		args[i].failures = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, verify_thread,
		    &args[i]), 0);
	}
	crypto_key_free(k);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(args[i].failures, 0);
		crypto_key_free(args[i].k);
	}
}

/*
 * sign_verify_many - with one key, sign 30 different digests and check
 * each signature at once, against the next digest, and against the
 * previous signature's digest: contexts reused from call to call (and
 * from SHA-1 to SHA-256 calls) keep every result its own.
 */
static void
sign_verify_many(struct crypto_key *k, enum crypto_hash h)
{
	unsigned char dig[31][CRYPTO_DIGEST_MAX], sig[30][CRYPTO_SIG_MAX];
	size_t slen[30], dlen = 0;
	char text[32];

	for (int i = 0; i < 31; i++) {
		snprintf(text, sizeof(text), "message %d", i);
		dlen = digest(h, text, strlen(text), dig[i]);
	}
	for (int i = 0; i < 30; i++) {
		slen[i] = sizeof(sig[i]);
		cr_assert_eq(crypto_sign(k, h, dig[i], dlen, sig[i],
		    &slen[i]), 0);
		cr_assert_eq(crypto_verify(k, h, dig[i], dlen, sig[i],
		    slen[i]), 0, "signature %d", i);
		cr_assert_eq(crypto_verify(k, h, dig[i + 1], dlen, sig[i],
		    slen[i]), -EBADMSG, "signature %d, next digest", i);
		if (i > 0) {
			cr_assert_eq(crypto_verify(k, h, dig[i - 1], dlen,
			    sig[i - 1], slen[i - 1]), 0, "signature %d again",
			    i - 1);
		}
	}
}

Test(sig, reused_contexts_keep_each_result_its_own)
{
	struct crypto_key *k = NULL;

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 1024, &k), 0);
	sign_verify_many(k, CRYPTO_SHA256);
	sign_verify_many(k, CRYPTO_SHA1);
	sign_verify_many(k, CRYPTO_SHA256);
	crypto_key_free(k);
	cr_assert_eq(crypto_keygen(CRYPTO_KEY_ED25519, 0, &k), 0);
	sign_verify_many(k, CRYPTO_SHA256);
	crypto_key_free(k);
}

/* sign_thread - sign_verify_many() on a shared key */
static void *
sign_thread(void *p)
{
	sign_verify_many(p, CRYPTO_SHA256);
	return NULL;
}

Test(sig, one_ed25519_key_signs_and_verifies_in_many_threads)
{
	struct crypto_key *k = NULL;
	pthread_t t[4];

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_ED25519, 0, &k), 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pthread_create(&t[i], NULL, sign_thread, k), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
	}
	crypto_key_free(k);
}

/*
 * Key generation, key files and references.
 */

Test(keygen, makes_rsa_1024_and_2048_and_ed25519)
{
	const unsigned sizes[2] = { 1024, 2048 };
	struct crypto_key *k = NULL;
	size_t i;

	for (i = 0; i < 2; i++) {
		cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, sizes[i], &k), 0);
		cr_assert_eq(crypto_key_type(k), CRYPTO_KEY_RSA);
		cr_assert_eq(crypto_key_bits(k), sizes[i]);
		cr_assert(crypto_key_has_private(k));
		round_trip(k, CRYPTO_SHA256);
		crypto_key_free(k);
	}
	cr_assert_eq(crypto_keygen(CRYPTO_KEY_ED25519, 0, &k), 0);
	cr_assert_eq(crypto_key_type(k), CRYPTO_KEY_ED25519);
	cr_assert_eq(crypto_key_bits(k), 256);
	cr_assert(crypto_key_has_private(k));
	crypto_key_free(k);
}

Test(keygen, refuses_bad_sizes_and_types)
{
	struct crypto_key *k = NULL;

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 1023, &k), -EINVAL);
	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 512, &k), -EINVAL);
	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 0, &k), -EINVAL);
	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 8193, &k), -EINVAL);
	cr_assert_eq(crypto_keygen(CRYPTO_KEY_NONE, 2048, &k), -EINVAL);
	cr_assert_null(k);
}

Test(keyfile, written_key_is_mode_0600_and_loads_back)
{
	const enum crypto_key_type types[2] = {
		CRYPTO_KEY_RSA, CRYPTO_KEY_ED25519,
	};
	char dir[64], path[128], err[256] = "";
	struct crypto_key *k = NULL, *back = NULL;
	unsigned char *pem;
	struct stat st;
	size_t i, len;
	FILE *f;

	tmpdir(dir, sizeof(dir));
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/key%zu.pem", dir, i);
		cr_assert_eq(crypto_keygen(types[i], 1024, &k), 0);
		cr_assert_eq(crypto_key_write_private(k, path), 0);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(st.st_mode & 07777, 0600);

		pem = malloc((size_t)st.st_size + 1);
		f = fopen(path, "r");
		cr_assert_not_null(f);
		len = fread(pem, 1, (size_t)st.st_size, f);
		fclose(f);
		pem[len] = '\0';
		cr_assert(strncmp((char *)pem, "-----BEGIN PRIVATE KEY-----\n",
		    28) == 0, "not PKCS#8: %.40s", pem);
		free(pem);

		cr_assert_eq(crypto_key_load_private(path, &back, err,
		    sizeof(err)), 0, "%s", err);
		cr_assert_eq(crypto_key_type(back), types[i]);
		cr_assert(crypto_key_has_private(back));
		cr_assert(crypto_key_public_eq(k, back));
		round_trip(back, CRYPTO_SHA256);
		crypto_key_free(back);
		crypto_key_free(k);
		unlink(path);
	}
	rmdir(dir);
}

Test(keyfile, write_never_overwrites)
{
	char dir[64], path[128];
	struct crypto_key *k = NULL;
	struct stat st;
	FILE *f;

	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("precious\n", f);
	fclose(f);

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_ED25519, 0, &k), 0);
	cr_assert_eq(crypto_key_write_private(k, path), -EEXIST);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 9, "the existing file was changed");

	/* A missing directory is the open's error. */
	snprintf(path, sizeof(path), "%s/none/key.pem", dir);
	cr_assert_eq(crypto_key_write_private(k, path), -ENOENT);

	/* A public-only key has nothing to write, and leaves no file. */
	crypto_key_free(k);
	k = key_kat(CRYPTO_KEY_ED25519, "rfc8463_ed25519_public");
	snprintf(path, sizeof(path), "%s/pub.pem", dir);
	cr_assert_eq(crypto_key_write_private(k, path), -EINVAL);
	cr_assert_neq(stat(path, &st), 0);
	crypto_key_free(k);
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	unlink(path);
	rmdir(dir);
}

Test(keyfile, traditional_rsa_pem_loads)
{
	struct crypto_key *k = key_file("rsa1024_traditional.pem");
	unsigned char *pem;
	size_t len;

	pem = slurp("rsa1024_traditional.pem", &len);
	cr_assert(strncmp((char *)pem, "-----BEGIN RSA PRIVATE KEY-----",
	    31) == 0);
	free(pem);
	cr_assert_eq(crypto_key_type(k), CRYPTO_KEY_RSA);
	cr_assert_eq(crypto_key_bits(k), 1024);
	cr_assert(crypto_key_has_private(k));
	round_trip(k, CRYPTO_SHA1);
	crypto_key_free(k);
}

Test(keyfile, load_reports_missing_files_and_non_keys)
{
	const char *const refused[] = {
		"crypto.kat", "ec_p256.pem", "ed25519_encrypted.pem",
		"rfc8463_rsa.hdr",
	};
	char path[512], err[256] = "";
	struct crypto_key *k = NULL;
	size_t i;

	snprintf(path, sizeof(path), "%snot-there.pem", DATA);
	cr_assert_eq(crypto_key_load_private(path, &k, err, sizeof(err)),
	    -ENOENT);
	cr_assert_not_null(strstr(err, "not-there.pem"), "err: %s", err);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", DATA, refused[i]);
		err[0] = '\0';
		cr_assert_eq(crypto_key_load_private(path, &k, err,
		    sizeof(err)), -EINVAL, "%s loaded", refused[i]);
		cr_assert_not_null(strstr(err, refused[i]), "err: %s", err);
	}

	/* A NULL error buffer is allowed. */
	cr_assert_eq(crypto_key_from_pem("junk", 4, &k, NULL, 0), -EINVAL);
	cr_assert_null(k);
}

Test(keyref, references_keep_the_key_alive)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], sig[KAT_MAX];
	struct crypto_key *k, *r;
	size_t slen;

	k = key_kat(CRYPTO_KEY_ED25519, "rfc8463_ed25519_public");
	r = crypto_key_ref(k);
	cr_assert_eq(r, k);
	crypto_key_free(k);

	/* Under ASan a premature free makes this a use after free. */
	digest_file(CRYPTO_SHA256, "rfc8463_ed25519.hdr", dig);
	slen = kat("rfc8463_ed25519_sig", sig);
	cr_assert_eq(crypto_verify(r, CRYPTO_SHA256, dig, 32, sig, slen),
	    0);
	crypto_key_free(r);
	crypto_key_free(NULL);
	cr_assert_eq(crypto_key_type(NULL), CRYPTO_KEY_NONE);
}
