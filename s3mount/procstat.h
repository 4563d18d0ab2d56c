/*
 * procstat.h: who is the process behind a FUSE request, and is it dying from
 * a signal?
 *
 * When a process is killed (SIGKILL, an unhandled SIGTERM, the OOM killer),
 * the kernel closes its files like a normal close, so a FUSE flush arrives as
 * if the writer had finished. s3mount must not publish such a partial file.
 * At flush time the closing task is still in do_exit(), and /proc shows it.
 * Two sources, because the exact one is hidden from most readers:
 *
 *   1. /proc/TID/stat field 52 (exit_code): the wait status being built; a
 *      signal death stores the signal in its low 7 bits, exit(n) stores n << 8,
 *      and in a multi-threaded exit every thread carries the group's code.
 *      Exact, but the kernel shows it only to a reader allowed to ptrace the
 *      task (CAP_SYS_PTRACE, or same uid and no fewer capabilities): everyone
 *      else reads 0, which looks like exit(0).
 *   2. Without that permission: field 9 (flags, never masked) has PF_SIGNALED
 *      (0x400) on a task that took a fatal signal, PF_DUMPCORE (0x200) on one
 *      dumping core; /proc/TID/status shows the pending signals (SigPnd,
 *      ShdPnd) and the dispositions (SigBlk, SigIgn, SigCgt) to anyone.
 *      PF_SIGNALED alone is not enough: exit() in a multi-threaded process
 *      kills the sibling threads, which then carry PF_SIGNALED too, and the
 *      last of them closes the files. What tells a kill apart is that the
 *      killing signal stays queued: kill(2) and the OOM killer queue it on the
 *      process (ShdPnd), a fatal signal to one thread stays in its SigPnd,
 *      while the siblings' group-exit SIGKILL is dequeued. So:
 *        dying = exiting && (exit_code & 0x7f
 *                            || PF_DUMPCORE
 *                            || PF_SIGNALED && a default-fatal signal that is
 *                               not blocked, ignored or caught is pending).
 *
 * Measured on Linux 6.18 (tests/integration/it_kill_caps.sh repeats it with
 * the daemon under the systemd unit's capabilities and a writer of another
 * uid), flusher's flags / exit_code as root / ShdPnd:
 *   SIGKILL            0x40050c  9   SIGKILL queued     -> dying
 *   unhandled SIGTERM  0x40050c  15  SIGTERM queued     -> dying
 *   exit(0)            0x40010c  0   nothing            -> committed
 *   4 threads, SIGKILL 0x40044c  9   SIGKILL queued     -> dying
 *   4 threads, exit(0) 0x40044c  0   nothing            -> committed
 *   SIGSEGV            0x40070c  11  nothing (DUMPCORE) -> dying
 * What the fallback (source 2) cannot see: a kill sent to each thread
 * separately with SIGKILL (cgroup.kill does that) and a crash of one thread
 * of a multi-threaded writer whose files another thread closes. Both are
 * exact with source 1; the systemd unit grants CAP_SYS_PTRACE for it.
 *
 * The parsers are pure (a buffer in, numbers out); procstat_caller() reads
 * the files. Thread-safe (no state).
 */
#ifndef PROCSTAT_H
#define PROCSTAT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCSTAT_PF_EXITING 0x4u
#define PROCSTAT_PF_DUMPCORE 0x200u
#define PROCSTAT_PF_SIGNALED 0x400u
#define PROCSTAT_CAP_SYS_PTRACE 19

struct procstat {
	char state;	   /* field 3: R, S, D, Z, ... */
	uint64_t flags;	   /* field 9: PF_* task flags */
	int64_t exit_code; /* field 52: the wait status being built (0 if hidden) */
};

/* What /proc/TID/status says: masks with bit n-1 for signal n. */
struct procstatus {
	pid_t tgid;
	uint64_t sig_pnd, shd_pnd, sig_blk, sig_ign, sig_cgt;
	uint64_t cap_eff;
};

/* Parses the text of /proc/PID/stat (len bytes, need not be NUL-terminated).
 * The command name (field 2) may hold spaces and ')' : parsing starts after
 * the LAST ')'. -EINVAL on malformed text or when fields 9 or 52 are missing
 * (kernels before 3.5 have no exit_code). */
int procstat_parse(const char *text, size_t len, struct procstat *out);

/* Parses the text of /proc/PID/status. -EINVAL unless Tgid and the five
 * signal lines are present and well-formed; CapEff is optional (0). */
int procstatus_parse(const char *text, size_t len, struct procstatus *out);

/* The decision rule above; *sig (may be NULL) gets the signal number when
 * dying (0 when only PF_DUMPCORE tells). Returns 1 when dying, else 0. */
int procstat_dying(const struct procstat *st, const struct procstatus *ss, int *sig);

/* What the daemon knows about a FUSE caller. */
struct procstat_caller {
	pid_t tgid; /* thread group (process) of the caller */
	int dying;  /* procstat_dying() */
	int sig;
};

/* Reads /proc/TID/stat and /proc/TID/status. Returns 0 and fills *out, or
 * -ESRCH when the caller cannot be seen: pid 0 (a caller in a pid namespace
 * the daemon's /proc cannot see) or files that cannot be read or parsed. */
int procstat_caller(pid_t tid, struct procstat_caller *out);

/* 1 when this process's /proc belongs to its own pid namespace (the pids in
 * FUSE requests then name the right processes), else 0: a daemon started in
 * a new pid namespace without mounting a /proc of its own. */
int procstat_proc_is_ours(void);

/* 1 when this process has CAP_SYS_PTRACE in its effective set, so that
 * every caller's exit_code is visible; 0 otherwise. */
int procstat_self_can_ptrace(void);

#endif
