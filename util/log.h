/* SPDX-License-Identifier: MIT */
/*
 * log - one line per event on stderr (or syslog), printf-checked.  The
 * logger adds the program name and the severity word; callers write
 * lowercase "subsystem: object: what failed" with no trailing period.
 * Functions that take err append strerror(-err) (err is a -errno
 * value, as every dkimq function returns).  Safe from any thread; each
 * line is written with one write(2).
 */
#ifndef DKIMQ_LOG_H
#define DKIMQ_LOG_H

#include <stdbool.h>

/* log_init - name lines with progname; use syslog when use_syslog. */
void log_init(const char *progname, bool use_syslog);

/* log_set_verbose - whether log_debug lines are written. */
void log_set_verbose(bool on);

/* log_verbose - whether debug output is on; check before building it. */
bool log_verbose(void);

void log_warn(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), cold));
void log_warnx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), cold));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fatal, fatalx - log and exit(1); for start-up only. */
void fatal(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn, cold));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn, cold));

/* panic - a broken invariant: log and abort() for a core dump. */
void panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn, cold));

#endif
