/*
 * procstat.h: is the process behind a FUSE request dying from a signal?
 *
 * When a process is killed (SIGKILL, SIGTERM, the OOM killer), the kernel
 * closes its files like a normal close, so a FUSE flush arrives as if the
 * writer had finished. s3mount must not publish such a partial file. At flush
 * time the caller (the pid/tid in the FUSE request context) is still in
 * do_exit(), and /proc/PID/stat shows it:
 *   - field 9 (flags) has PF_EXITING (0x4) set once the task is exiting;
 *   - field 52 (exit_code, Linux >= 3.5) holds the wait status being built:
 *     a signal death stores the signal number in its low 7 bits (plus 0x80
 *     when a core is dumped); exit(n)/_exit(n)/returning from main stores
 *     n << 8, so the low 7 bits are 0.
 * The rule (procstat_dying): dying = (flags & PF_EXITING) && (exit_code & 0x7f).
 * A process that exits normally without closing its files (PF_EXITING with
 * exit_code 0 or n << 8) is NOT dying: its files are committed.
 * Measured on this kernel: SIGKILL -> flags 0x40040c, exit_code 9.
 *
 * The parser is pure (a buffer in, numbers out); procstat_caller_dying()
 * reads the file. Thread-safe (no state).
 */
#ifndef PROCSTAT_H
#define PROCSTAT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCSTAT_PF_EXITING 0x4u

struct procstat {
	char state;          /* field 3: R, S, D, Z, ... */
	uint64_t flags;      /* field 9: PF_* task flags */
	int64_t exit_code;   /* field 52: the wait status being built */
};

/* Parses the text of /proc/PID/stat (len bytes, need not be NUL-terminated).
 * The command name (field 2) may hold spaces and ')' : parsing starts after
 * the LAST ')'. -EINVAL on malformed text or when fields 9 or 52 are missing
 * (kernels before 3.5 have no exit_code). */
int procstat_parse(const char *text, size_t len, struct procstat *out);

/* The decision rule above; *sig (may be NULL) gets the signal number when
 * dying. Returns 1 when dying from a signal, else 0. */
int procstat_dying(const struct procstat *st, int *sig);

/* Reads /proc/PID/stat and applies procstat_dying. Returns 1 when pid is
 * exiting because of a signal (then *sig, if not NULL, is the signal), 0
 * otherwise, including when the file cannot be read or parsed (we cannot
 * prove a kill, so the file is committed; logged at debug). */
int procstat_caller_dying(pid_t pid, int *sig);

#endif
