/* SPDX-License-Identifier: MIT */
/*
 * b64 - base64 (RFC 4648 4, with '=' padding) for the b=, bh= and p=
 * values.  Table driven, no allocation, no state: any thread may call
 * it.  The decoder skips the folding whitespace RFC 6376 allows there.
 *
 * Limitations: not constant time (it sees only public data); the unused
 * low bits of a padded final quantum are ignored, as most DKIM peers do.
 */
#include <errno.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define B64_WS	0x40		/* SP, HTAB, CR, LF: skipped */
#define B64_PAD	0x41		/* '=' */
#define B64_BAD	0xff		/* anything else */

static const char b64_enc[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Value of each byte: 0-63 for the alphabet, or one of the B64_ classes.
 * Built by hand rather than at run time so the table is const and
 * needs no once-initialisation.
 */
#define X B64_BAD
static const uint8_t b64_dec[256] = {
	X, X, X, X, X, X, X, X, X, B64_WS, B64_WS, X, X, B64_WS, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	B64_WS, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, B64_PAD, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

/* crypto_b64_encoded_len - characters needed to encode n bytes. */
size_t
crypto_b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* crypto_b64_encode - encode in[0..n) into out, NUL-terminated. */
size_t
crypto_b64_encode(const unsigned char *in, size_t n, char *out)
{
	char *o = out;
	size_t i = 0;
	uint32_t v;

	for (; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		o[0] = b64_enc[v >> 18];
		o[1] = b64_enc[v >> 12 & 0x3f];
		o[2] = b64_enc[v >> 6 & 0x3f];
		o[3] = b64_enc[v & 0x3f];
		o += 4;
	}

	/* One or two bytes left make a padded final quantum. */
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		o[0] = b64_enc[v >> 18];
		o[1] = b64_enc[v >> 12 & 0x3f];
		o[2] = '=';
		o[3] = '=';
		o += 4;
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		o[0] = b64_enc[v >> 18];
		o[1] = b64_enc[v >> 12 & 0x3f];
		o[2] = b64_enc[v >> 6 & 0x3f];
		o[3] = '=';
		o += 4;
	}
	*o = '\0';
	return (size_t)(o - out);
}

/*
 * b64_quad - decode the four characters at p when all are in the
 * alphabet, writing three bytes to o.  Returns false, writing nothing,
 * when any of them is whitespace, padding or invalid.
 */
static inline bool
b64_quad(const unsigned char *p, unsigned char *o)
{
	uint32_t a = b64_dec[p[0]], b = b64_dec[p[1]];
	uint32_t c = b64_dec[p[2]], d = b64_dec[p[3]];

	/* Every class value has bit 6 or 7 set; alphabet values do not. */
	if ((a | b | c | d) & 0xc0) {
		return false;
	}
	a = a << 18 | b << 12 | c << 6 | d;
	o[0] = (unsigned char)(a >> 16);
	o[1] = (unsigned char)(a >> 8);
	o[2] = (unsigned char)a;
	return true;
}

/* crypto_b64_decode - decode in[0..n), skipping folding whitespace. */
int
crypto_b64_decode(const char *in, size_t n, unsigned char *out,
    size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char *o = out;
	uint32_t acc = 0;
	unsigned q = 0;		/* characters in the current quantum */
	unsigned pad = 0;	/* '=' seen in the current quantum */
	bool done = false;	/* a padded quantum ended the data */
	size_t i = 0;
	unsigned v;

	/*
	 * The input is 4-character quanta of the alphabet, the last of
	 * which may end in "=" or "==", with SP/HTAB/CR/LF anywhere.
	 * After a padded quantum only whitespace may follow.  Whole
	 * unbroken quanta take the fast path; the rest goes one
	 * character at a time.
	 */
	while (i < n) {
		if (q == 0 && !done && n - i >= 4 && b64_quad(p + i, o)) {
			o += 3;
			i += 4;
			continue;
		}

		v = b64_dec[p[i++]];
		if (v == B64_WS) {
			continue;
		}
		if (done || v == B64_BAD) {
			return -EINVAL;
		}
		if (v == B64_PAD) {
			/* "x===" and "====" carry no whole byte. */
			if (q < 2) {
				return -EINVAL;
			}
			pad++;
		} else if (pad > 0) {
			return -EINVAL;
		} else {
			acc = acc << 6 | v;
		}
		if (++q < 4) {
			continue;
		}

		/* A full quantum: 3 bytes, or 2 or 1 before padding. */
		acc <<= 6 * pad;
		*o++ = (unsigned char)(acc >> 16);
		if (pad < 2) {
			*o++ = (unsigned char)(acc >> 8);
		}
		if (pad < 1) {
			*o++ = (unsigned char)acc;
		}
		done = pad > 0;
		acc = 0;
		q = 0;
	}

	if (q != 0) {
		return -EINVAL;
	}
	*outlen = (size_t)(o - out);
	return 0;
}
