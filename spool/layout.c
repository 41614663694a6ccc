// SPDX-License-Identifier: MIT
/*
 * layout - the spool folders of DESIGN.md, opened once under one root
 * directory descriptor so that every later path is relative to it, and
 * the small file helpers (mkdir -p, directory fsync, durable write) the
 * committer and recovery share.  Also the name set: a chained hash of
 * strings used by the watcher (names in flight) and by recovery (ids in
 * the journal), each owned by one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/spool_int.h"

static const char *const spool_dirs[] = {
	"sign", "sign/tmp", "sign/new",
	"verify", "verify/tmp", "verify/new",
	"out", "out/tmp", "out/new",
	"forward", "forward/tmp", "forward/new",
	"rejected", "rejected/tmp", "rejected/new",
	"quarantine", SPOOL_FAILED,
};

/* spool_qname - the queue's folder name */
const char *
spool_qname(enum wrk_mode q)
{
	return q == WRK_SIGN ? "sign" : "verify";
}

/* spool_input_path - QUEUE/new/ID */
void
spool_input_path(const struct spool_msg *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s/new/%s", spool_qname(m->queue), m->id);
}

/* spool_id_valid - whether a file name can be a queue id */
bool
spool_id_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX || name[0] == '.') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '"' ||
		    c == '\\') {
			return false;
		}
	}
	return true;
}

/* spool_msg_free - release a message record */
void
spool_msg_free(struct spool_msg *m)
{
	if (m == NULL) {
		return;
	}
	if (m->fd >= 0) {
		close(m->fd);
	}
	free(m->buf);
	dkim_buf_free(&m->line);
	dkim_buf_free(&m->log);
	wrk_job_free(m->job);
	free(m);
}

/* spool_mkdirs - mkdir -p under the root */
int
spool_mkdirs(struct spool *sp, const char *rel)
{
	char path[SPOOL_PATH_MAX];
	size_t n = strlen(rel);

	if (n >= sizeof(path)) {
		return -ENAMETOOLONG;
	}
	memcpy(path, rel, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0') {
			continue;
		}
		path[i] = '\0';
		if (mkdirat(sp->rootfd, path, 0750) != 0 && errno != EEXIST) {
			return -errno;
		}
		path[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/* spool_fsync_dir - fsync a folder */
int
spool_fsync_dir(struct spool *sp, const char *rel)
{
	int fd = openat(sp->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0) {
		return -errno;
	}
	if (fsync(fd) != 0) {
		rc = -errno;
	}
	close(fd);
	return rc;
}

/* spool_write_all - write data[0..len) to fd completely */
int
spool_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0) {
			return -errno;
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* spool_write_file - a small file, written and synced */
int
spool_write_file(struct spool *sp, const char *rel, const char *data,
    size_t len)
{
	int fd, rc;

	unlinkat(sp->rootfd, rel, 0);
	fd = openat(sp->rootfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640);
	if (fd < 0) {
		return -errno;
	}
	rc = spool_write_all(fd, data, len);
	if (rc == 0 && fdatasync(fd) != 0) {
		rc = -errno;
	}
	close(fd);
	if (rc != 0) {
		unlinkat(sp->rootfd, rel, 0);
	}
	return rc;
}

/* spool_open - make and open the layout */
int
spool_open(const char *root, struct spool **out, char *err, size_t errlen)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	int rc;

	if (sp == NULL) {
		snprintf(err, errlen, "spool: out of memory");
		return -ENOMEM;
	}
	sp->journalfd = -1;
	sp->rootfd = -1;
	pthread_mutex_init(&sp->journal_mu, NULL);
	if (mkdir(root, 0750) != 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "spool: %s: mkdir: %s", root,
		    strerror(-rc));
		goto fail;
	}
	sp->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->rootfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "spool: %s: open: %s", root,
		    strerror(-rc));
		goto fail;
	}
	sp->root = strdup(root);
	for (size_t i = 0; i < sizeof(spool_dirs) / sizeof(*spool_dirs); i++) {
		rc = spool_mkdirs(sp, spool_dirs[i]);
		if (rc != 0) {
			snprintf(err, errlen, "spool: %s/%s: mkdir: %s", root,
			    spool_dirs[i], strerror(-rc));
			goto fail;
		}
	}
	sp->journalfd = openat(sp->rootfd, SPOOL_JOURNAL,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (sp->journalfd < 0 || sp->root == NULL) {
		rc = sp->root == NULL ? -ENOMEM : -errno;
		snprintf(err, errlen, "spool: %s/%s: open: %s", root,
		    SPOOL_JOURNAL, strerror(-rc));
		goto fail;
	}
	*out = sp;
	return 0;
fail:
	spool_free(sp);
	return rc;
}

/* spool_free - close the spool */
void
spool_free(struct spool *sp)
{
	if (sp == NULL) {
		return;
	}
	if (sp->journalfd >= 0) {
		close(sp->journalfd);
	}
	if (sp->rootfd >= 0) {
		close(sp->rootfd);
	}
	pthread_mutex_destroy(&sp->journal_mu);
	free(sp->root);
	free(sp);
}

/* ---- the name set ---- */

#define SET_BUCKETS 4096

struct set_node {
	struct set_node *next;
	char *val;
	char key[];
};

struct spool_set {
	struct set_node *b[SET_BUCKETS];
	size_t n;
};

/* set_hash - FNV-1a of key */
static size_t
set_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++) {
		h = (h ^ (unsigned char)*key) * 16777619u;
	}
	return h % SET_BUCKETS;
}

/* spool_set_create - an empty set, or NULL */
struct spool_set *
spool_set_create(void)
{
	return calloc(1, sizeof(struct spool_set));
}

/* spool_set_free - release a set */
void
spool_set_free(struct spool_set *s)
{
	struct set_node *n, *next;

	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < SET_BUCKETS; i++) {
		for (n = s->b[i]; n != NULL; n = next) {
			next = n->next;
			free(n->val);
			free(n);
		}
	}
	free(s);
}

/* node_find - the node of key, or NULL */
static struct set_node *
node_find(const struct spool_set *s, const char *key)
{
	for (struct set_node *n = s->b[set_hash(key)]; n; n = n->next) {
		if (strcmp(n->key, key) == 0) {
			return n;
		}
	}
	return NULL;
}

/* spool_set_has - membership */
bool
spool_set_has(const struct spool_set *s, const char *key)
{
	return node_find(s, key) != NULL;
}

/* spool_set_get - the value of key */
const char *
spool_set_get(const struct spool_set *s, const char *key)
{
	struct set_node *n = node_find(s, key);

	return n ? n->val : NULL;
}

/* spool_set_put - set the value of a member */
int
spool_set_put(struct spool_set *s, const char *key, const char *val)
{
	struct set_node *n = node_find(s, key);
	char *v = strdup(val);

	if (n == NULL || v == NULL) {
		free(v);
		return n == NULL ? -ENOENT : -ENOMEM;
	}
	free(n->val);
	n->val = v;
	return 0;
}

/* spool_set_add - insert */
int
spool_set_add(struct spool_set *s, const char *key)
{
	size_t h = set_hash(key), len = strlen(key);
	struct set_node *n;

	if (spool_set_has(s, key)) {
		return 0;
	}
	n = malloc(sizeof(*n) + len + 1);
	if (n == NULL) {
		return -ENOMEM;
	}
	memcpy(n->key, key, len + 1);
	n->val = NULL;
	n->next = s->b[h];
	s->b[h] = n;
	s->n++;
	return 1;
}

/* spool_set_del - remove */
void
spool_set_del(struct spool_set *s, const char *key)
{
	struct set_node **pp = &s->b[set_hash(key)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			struct set_node *n = *pp;

			*pp = n->next;
			free(n->val);
			free(n);
			s->n--;
			return;
		}
	}
}

/* spool_set_count - members */
size_t
spool_set_count(const struct spool_set *s)
{
	return s->n;
}

/* spool_set_keys - copies of every key */
int
spool_set_keys(const struct spool_set *s, char ***out, size_t *n)
{
	char **keys = calloc(s->n + 1, sizeof(*keys));
	size_t k = 0;

	if (keys == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < SET_BUCKETS; i++) {
		for (struct set_node *e = s->b[i]; e != NULL; e = e->next) {
			keys[k] = strdup(e->key);
			if (keys[k] == NULL) {
				while (k > 0) {
					free(keys[--k]);
				}
				free(keys);
				return -ENOMEM;
			}
			k++;
		}
	}
	*out = keys;
	*n = k;
	return 0;
}
