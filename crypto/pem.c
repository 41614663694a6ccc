/* SPDX-License-Identifier: MIT */
/*
 * pem - private keys on disk: reading a PEM key (PKCS#8, or the
 * traditional "RSA PRIVATE KEY" form) and writing a new PKCS#8 file
 * that no other user can read.  Runs at startup and in the keygen
 * command, never on the message path; it blocks on file I/O.
 *
 * Limitations: encrypted keys are refused (there is no one to ask for
 * a passphrase); key files over PEM_FILE_MAX bytes are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#define PEM_FILE_MAX	(1024 * 1024)	/* far above an 8192-bit key */

/* pem_err - format a reason into err when the caller gave one. */
static void
pem_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * pem_no_pass - passphrase callback that refuses.  Without it OpenSSL
 * would prompt on the controlling terminal for an encrypted key.
 */
static int
pem_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * pem_decode - decode a private key from pem[0..len), naming what in
 * error text.  Returns 0 or -EINVAL, or -ENOMEM.
 */
static int
pem_decode(const char *pem, size_t len, const char *what,
    struct crypto_key **out, char *err, size_t errlen)
{
	const char *why;
	unsigned long e;
	EVP_PKEY *pkey;
	BIO *bio;
	int r;

	if (len > INT_MAX) {
		pem_err(err, errlen, "%s: too large for a key", what);
		return -EINVAL;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		pem_err(err, errlen, "%s: out of memory", what);
		return -ENOMEM;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pem_no_pass, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		e = ERR_peek_last_error();
		why = e != 0 ? ERR_reason_error_string(e) : NULL;
		pem_err(err, errlen, "%s: not a PEM private key (%s)", what,
		    why != NULL ? why : "no key found");
		ERR_clear_error();
		return -EINVAL;
	}

	r = crypto_key_wrap(pkey, true, out);
	if (r == -EINVAL) {
		pem_err(err, errlen, "%s: not an RSA or Ed25519 key", what);
	} else if (r < 0) {
		pem_err(err, errlen, "%s: out of memory", what);
	}
	return r;
}

/* crypto_key_from_pem - decode a PEM private key held in memory. */
int
crypto_key_from_pem(const char *pem, size_t len, struct crypto_key **out,
    char *err, size_t errlen)
{
	return pem_decode(pem, len, "key", out, err, errlen);
}

/*
 * pem_slurp - read all of fd (at most PEM_FILE_MAX bytes) into a new
 * buffer, which the caller frees with OPENSSL_clear_free.  Returns 0,
 * -EFBIG, -ENOMEM or the -errno of read.
 */
static int
pem_slurp(int fd, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf, *nbuf;
	ssize_t got;

	buf = OPENSSL_malloc(cap);
	if (buf == NULL) {
		return -ENOMEM;
	}
	for (;;) {
		/* Grow by copying, so no stale key bytes are left behind. */
		if (n == cap) {
			if (cap >= PEM_FILE_MAX) {
				OPENSSL_clear_free(buf, cap);
				return -EFBIG;
			}
			nbuf = OPENSSL_clear_realloc(buf, cap, cap * 2);
			if (nbuf == NULL) {
				OPENSSL_clear_free(buf, cap);
				return -ENOMEM;
			}
			buf = nbuf;
			cap *= 2;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got < 0) {
			got = -errno;
			OPENSSL_clear_free(buf, cap);
			return (int)got;
		}
		if (got == 0) {
			break;
		}
		n += (size_t)got;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* crypto_key_load_private - read a PEM private key from path. */
int
crypto_key_load_private(const char *path, struct crypto_key **out,
    char *err, size_t errlen)
{
	size_t len = 0;
	char *buf = NULL;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		pem_err(err, errlen, "%s: open: %s", path, strerror(-r));
		return r;
	}
	r = pem_slurp(fd, &buf, &len);
	close(fd);
	if (r < 0) {
		pem_err(err, errlen, "%s: read: %s", path, strerror(-r));
		return r;
	}

	r = pem_decode(buf, len, path, out, err, errlen);
	OPENSSL_clear_free(buf, len);
	return r;
}

/*
 * pem_write_all - write buf[0..len) to fd, resuming after EINTR and
 * short writes.  Returns 0 or -errno.
 */
static int
pem_write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0) {
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * pem_encode - k's private key as unencrypted PKCS#8 PEM in a new
 * memory BIO (freeing it clears the bytes).  Returns NULL on failure.
 */
static BIO *
pem_encode(const struct crypto_key *k)
{
	BIO *bio;

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL) {
		return NULL;
	}
	if (PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, NULL, NULL, 0,
	    NULL, NULL) != 1) {
		ERR_clear_error();
		BIO_free(bio);
		return NULL;
	}
	return bio;
}

/* crypto_key_write_private - write a new PKCS#8 key file, mode 0600. */
int
crypto_key_write_private(const struct crypto_key *k, const char *path)
{
	char *data;
	long len;
	BIO *bio;
	int fd, r;

	if (!k->has_private) {
		return -EINVAL;
	}
	bio = pem_encode(k);
	if (bio == NULL) {
		return -ENOMEM;
	}
	len = BIO_get_mem_data(bio, &data);

	/* O_EXCL: never replace a key that may already be published. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		BIO_free(bio);
		return r;
	}

	/*
	 * The umask can only clear bits of 0600, but say it anyway so the
	 * mode does not depend on it.  Then write, sync, close: a key
	 * that is not on disk when we report success is worse than none.
	 */
	r = 0;
	if (fchmod(fd, 0600) < 0) {
		r = -errno;
	}
	if (r == 0 && len > 0) {
		r = pem_write_all(fd, data, (size_t)len);
	}
	if (r == 0 && fsync(fd) < 0) {
		r = -errno;
	}
	if (close(fd) < 0 && r == 0) {
		r = -errno;
	}
	BIO_free(bio);
	if (r < 0) {
		unlink(path);
	}
	return r;
}
