/* SPDX-License-Identifier: MIT */
/*
 * spool_int - what the files of spool/ share: the open spool, the
 * per-message record that travels watcher -> pool -> committer ->
 * watcher, the name set, and the committer's interface.  Private to
 * spool/.
 */
#ifndef DKIMQ_SPOOL_INT_H
#define DKIMQ_SPOOL_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "spool/spool.h"

#define SPOOL_PATH_MAX 600

struct spool {
	char *root;
	int rootfd;
	int journalfd;
	pthread_mutex_t journal_mu;
};

/* What the committer does with a record. */
enum spool_kind {
	SPOOL_K_OUTPUT = 0,	/* rename tmp -> new, unlink the input */
	SPOOL_K_DELETE,		/* journal, unlink the input */
	SPOOL_K_FAILED,		/* reason file, move the input to failed/ */
	SPOOL_K_DEFER,		/* nothing written: input kept, retry later */
};

/*
 * One message, owned by the watcher until it is submitted, by the pool
 * until done(), then by the committer until it hands it back.
 */
struct spool_msg {
	struct spool_msg *next;
	enum wrk_mode queue;
	char id[NAME_MAX + 1];
	char *buf;
	size_t len;
	size_t size;		/* statx size */
	int fd;			/* input while reading, output after */
	enum spool_kind kind;
	int err;		/* the -errno of a deferral */
	char tmp[SPOOL_PATH_MAX];	/* DEST/tmp/ID */
	char to[SPOOL_PATH_MAX];	/* DEST/new/ID, or failed/ID */
	char reason[300];
	struct dkim_buf line;	/* the journal line */
	struct dkim_buf log;	/* the log line, without the id */
	struct wrk_job *job;
	int state;		/* the watcher's read state (watch.c) */
	struct statx stx;	/* the watcher's statx result */
};

/* spool_qname - "sign" or "verify" */
const char *spool_qname(enum wrk_mode q);

/* spool_msg_free - release m and what it holds; NULL is allowed. */
void spool_msg_free(struct spool_msg *m);

/* spool_input_path - "QUEUE/new/ID" into buf */
void spool_input_path(const struct spool_msg *m, char *buf, size_t len);

/* spool_mkdirs - mkdir -p for a relative path (mode 0750); -errno. */
int spool_mkdirs(struct spool *sp, const char *rel);

/* spool_fsync_dir - open and fsync a directory under the root. */
int spool_fsync_dir(struct spool *sp, const char *rel);

/* spool_write_all - write all of data[0..len) to fd, retrying short
 * writes and EINTR.  Returns 0 or -errno.  Blocks. */
int spool_write_all(int fd, const char *data, size_t len);

/* spool_write_file - write data to rel (created, O_EXCL after unlink)
 * and fdatasync it.  Returns 0 or -errno (the file is then removed). */
int spool_write_file(struct spool *sp, const char *rel, const char *data,
    size_t len);

/* ---- the name set (watcher thread, recovery) ---- */

struct spool_set;

struct spool_set *spool_set_create(void);
void spool_set_free(struct spool_set *s);
/* spool_set_add - add key; returns 1 added, 0 already there, -ENOMEM. */
int spool_set_add(struct spool_set *s, const char *key);
bool spool_set_has(const struct spool_set *s, const char *key);
/* spool_set_get - the value put for key, or NULL (borrowed). */
const char *spool_set_get(const struct spool_set *s, const char *key);
/* spool_set_put - copy val as key's value; -ENOENT, -ENOMEM. */
int spool_set_put(struct spool_set *s, const char *key, const char *val);
void spool_set_del(struct spool_set *s, const char *key);
size_t spool_set_count(const struct spool_set *s);
/* spool_set_keys - malloc'd copies of every key (caller frees each
 * and the array).  Returns 0 or -ENOMEM. */
int spool_set_keys(const struct spool_set *s, char ***out, size_t *n);

/* ---- journal ---- */

/* spool_journal_append - append and fdatasync lines; on failure the
 * journal is cut back to its old size.  Returns 0 or -errno. */
int spool_journal_append(struct spool *sp, const char *data, size_t len);

/* spool_journal_field - the string value of "key" in a journal line,
 * unescaped (only \" and \\ occur in ids and paths), into buf.
 * Returns 0 or -ENOENT. */
int spool_journal_field(const char *line, size_t len, const char *key,
    char *buf, size_t buflen);

/* spool_journal_number - the unsigned integer value of "key" in a
 * journal line into *out.  Returns 0, or -ENOENT when it is missing,
 * not a number or over 64 bits. */
int spool_journal_number(const char *line, size_t len, const char *key,
    uint64_t *out);

/* spool_wall_us - the wall clock (CLOCK_REALTIME), microseconds since
 * 1970: the time_us of journal lines. */
uint64_t spool_wall_us(void);

/* ---- committer ---- */

struct spool_committer;

/* Called on the committer thread with each finished record. */
typedef void (*spool_back_fn)(void *arg, struct spool_msg *m);

struct spool_committer *spool_committer_create(struct spool *sp,
    unsigned batch_ms, unsigned batch_max, spool_back_fn back, void *arg);

/* spool_commit - queue m for the next batch (any thread).  Blocks while
 * 2 x batch_max records wait, so a slow disk bounds the backlog. */
void spool_commit(struct spool_committer *c, struct spool_msg *m);

/* spool_committer_free - commit what is queued, stop, release. */
void spool_committer_free(struct spool_committer *c);

/*
 * spool_output - the pool's done step for m (worker thread): write the
 * output to DEST/tmp/ID, build the journal and log lines, free the
 * input buffer.  Sets m->kind (DEFER on a write error).
 */
void spool_output(struct spool *sp, struct spool_msg *m,
    const struct wrk_job *j);

/*
 * spool_fail - mark m failed with reason (watcher or worker): builds the
 * journal line for failed/ID.
 */
void spool_fail(struct spool_msg *m, const char *reason);

#endif
