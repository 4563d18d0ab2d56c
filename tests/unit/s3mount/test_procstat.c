/* test_procstat.c: the /proc/PID/stat and /proc/PID/status parsers on sample
 * text (odd command names included), the dying rule with and without a
 * visible exit_code, and the rule on real child processes of this kernel: a
 * zombie still shows the flags, exit_code and pending signals it had while
 * closing its files in do_exit(). The real children are judged twice: as
 * root sees them, and as a reader of another uid does (exit_code hidden:
 * the fallback of procstat.h decides). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "t.h"

/* A line as this kernel prints it; comm, flags and exit_code substituted. */
static void make_line(char *out, size_t n, const char *comm, const char *flags, int exit_code)
{
	snprintf(out, n,
		 "18201 (%s) Z 18197 18197 7195 0 -1 %s 100 0 0 0 0 0 0 0 20 0 1 0 63098 "
		 "3133440 379 18446744073709551615 94886636212224 94886636232105 "
		 "140734328901888 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94886636248112 "
		 "94886636249728 94887101120512 140734328908427 140734328908447 "
		 "140734328908447 140734328909803 %d\n",
		 comm, flags, exit_code);
}

static void test_parse_samples(void)
{
	static const struct {
		const char *comm;
		const char *flags;
		int exit_code;
		uint64_t want_flags;
		int want_dying, want_sig;
	} v[] = {
	    {"cat", "4194304", 0, 0x400000, 0, 0},
	    /* measured: SIGKILL while exiting */
	    {"dd", "4195340", 9, 0x40040c, 1, 9},
	    {"my prog", "4195340", 15, 0x40040c, 1, 15},
	    {"a) b (c", "4195340", 9, 0x40040c, 1, 9},
	    {"))", "4195340", 0x86, 0x40040c, 1, 6},	 /* SIGABRT with core */
	    {") 1 2 3 (", "4195340", 0, 0x40040c, 0, 0}, /* exit(0) */
	    {"x", "4195340", 3 << 8, 0x40040c, 0, 0},	 /* exit(3) */
	    {"x", "4194304", 9, 0x400000, 0, 0},	 /* signal status, not exiting */
	    {"", "4", 9, 4, 1, 9},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char line[1024];
		struct procstat st;
		int sig = -1;
		make_line(line, sizeof(line), v[i].comm, v[i].flags, v[i].exit_code);
		int rc = procstat_parse(line, strlen(line), &st);
		int dying = rc == 0 ? procstat_dying(&st, NULL, &sig) : -1;
		int ok = rc == 0 && st.state == 'Z' && st.flags == v[i].want_flags &&
			 st.exit_code == v[i].exit_code && dying == v[i].want_dying &&
			 (!dying || sig == v[i].want_sig);
		if (!ok)
			fprintf(stderr, "sample %zu: rc %d flags %llx exit %lld dying %d sig %d\n",
				i, rc, (unsigned long long)st.flags, (long long)st.exit_code, dying,
				sig);
		T_CASE(v[i].comm, ok);
	}
}

static void test_parse_malformed(void)
{
	struct procstat st;
	static const char *bad[] = {
	    "", "123 (cat R 1 2",	    /* no ')' */
	    "123 (cat) R 1 2 3 4 5",	    /* fields 9 and 52 missing */
	    "123 (cat) R 1 2 3 4 5 x7 8 9", /* garbage number */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(procstat_parse(bad[i], strlen(bad[i]), &st), -EINVAL);
	/* Old kernels (< 3.5) end at field 44: exit_code is missing. */
	const char *old = "1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 9 10 11 "
			  "12 13 14 15 16 17 18 19 20 21 22 23 24 25 0 0 17 0 0 0 0 0 0";
	CHECK_INT(procstat_parse(old, strlen(old), &st), -EINVAL);
	/* Not NUL-terminated: the length bounds the parse. */
	char line[1024];
	make_line(line, sizeof(line), "x", "4195340", 9);
	size_t n = strlen(line);
	CHECK_INT(procstat_parse(line, n, &st), 0);
	CHECK_INT(procstat_parse(line, n - 3, &st), -EINVAL); /* cut inside field 51/52 */
}

/* A /proc/PID/status as this kernel prints it, the masks substituted. */
static void make_status(char *out, size_t n, int tgid, const char *pnd, const char *shd,
			const char *blk, const char *ign, const char *cgt)
{
	snprintf(out, n,
		 "Name:\tdd\nUmask:\t0022\nState:\tZ (zombie)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\n"
		 "PPid:\t1\nTracerPid:\t0\nUid:\t65534\t65534\t65534\t65534\nThreads:\t1\n"
		 "SigQ:\t1/94000\nSigPnd:\t%s\nShdPnd:\t%s\nSigBlk:\t%s\nSigIgn:\t%s\n"
		 "SigCgt:\t%s\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
		 "CapEff:\t0000000000200000\nSeccomp:\t0\n",
		 tgid, tgid, pnd, shd, blk, ign, cgt);
}

static void test_status_and_fallback(void)
{
	static const char *Z = "0000000000000000";
	static const struct {
		const char *name;
		uint64_t flags;
		int exit_code;
		const char *pnd, *shd, *blk, *ign, *cgt;
		int want_dying, want_sig;
	} v[] = {
	    /* measured (uid 65534 writer, daemon without CAP_SYS_PTRACE) */
	    {"SIGKILL, exit_code hidden", 0x40050c, 0, "0", "100", "0", "0", "0", 1, 9},
	    {"SIGTERM, exit_code hidden", 0x40050c, 0, "0", "4000", "0", "0", "0", 1, 15},
	    {"exit(0)", 0x40010c, 0, "0", "0", "0", "0", "0", 0, 0},
	    {"sibling of exit(): PF_SIGNALED, nothing queued", 0x40044c, 0, "0", "0", "0", "0", "0",
	     0, 0},
	    {"multi-threaded SIGKILL", 0x40044c, 0, "0", "100", "0", "0", "0", 1, 9},
	    {"crash with core (PF_DUMPCORE)", 0x40070c, 0, "0", "0", "0", "0", "0", 1, 0},
	    {"thread-directed SIGTERM", 0x40050c, 0, "4000", "0", "0", "0", "0", 1, 15},
	    {"SIGKILL preferred over a lower signal", 0x40050c, 0, "0", "102", "0", "0", "0", 1, 9},
	    /* a pending signal that could not have killed it */
	    {"blocked SIGUSR1 pending at exit()", 0x40044c, 0, "0", "200", "200", "0", "0", 0, 0},
	    {"caught SIGTERM pending", 0x40044c, 0, "0", "4000", "0", "0", "4000", 0, 0},
	    {"ignored SIGTERM pending", 0x40044c, 0, "0", "4000", "0", "4000", "0", 0, 0},
	    {"SIGCHLD pending (default: ignore)", 0x40044c, 0, "0", "10000", "0", "0", "0", 0, 0},
	    {"SIGWINCH pending", 0x40044c, 0, "0", "8000000", "0", "0", "0", 0, 0},
	    {"real-time signal 34 pending", 0x40044c, 0, "0", "200000000", "0", "0", "0", 1, 34},
	    /* queued fatal signal but no PF_SIGNALED: exit() raced a kill */
	    {"exit() with SIGTERM queued, not signalled", 0x40010c, 0, "0", "4000", "0", "0", "0",
	     0, 0},
	    /* not exiting at all */
	    {"live task with SIGKILL queued", 0x400440, 0, "0", "100", "0", "0", "0", 0, 0},
	    /* exit_code visible wins */
	    {"exit_code 9 visible", 0x40050c, 9, "0", "0", "0", "0", "0", 1, 9},
	    {"exit(3) visible, sibling flags", 0x40044c, 3 << 8, "0", "0", "0", "0", "0", 0, 0},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char text[2048], m[5][20];
		const char *src[5] = {v[i].pnd, v[i].shd, v[i].blk, v[i].ign, v[i].cgt};
		for (int k = 0; k < 5; k++)
			snprintf(m[k], sizeof(m[k]), "%016llx", strtoull(src[k], NULL, 16));
		make_status(text, sizeof(text), 4242, m[0], m[1], m[2], m[3], m[4]);
		struct procstatus ss;
		struct procstat st = {
		    .state = 'Z', .flags = v[i].flags, .exit_code = v[i].exit_code};
		int sig = -1;
		int rc = procstatus_parse(text, strlen(text), &ss);
		int dying = rc == 0 ? procstat_dying(&st, &ss, &sig) : -1;
		int ok = rc == 0 && ss.tgid == 4242 && ss.cap_eff == 0x200000 &&
			 dying == v[i].want_dying && (!dying || sig == v[i].want_sig);
		if (!ok)
			fprintf(stderr, "%s: rc %d dying %d sig %d\n", v[i].name, rc, dying, sig);
		T_CASE(v[i].name, ok);
	}
	/* malformed status text */
	char text[2048];
	struct procstatus ss;
	make_status(text, sizeof(text), 7, Z, Z, Z, Z, Z);
	CHECK_INT(procstatus_parse(text, strlen(text), &ss), 0);
	CHECK_INT(procstatus_parse(text, 40, &ss), -EINVAL); /* cut before Tgid */
	make_status(text, sizeof(text), 7, "00000000000000zz", Z, Z, Z, Z);
	CHECK_INT(procstatus_parse(text, strlen(text), &ss), -EINVAL);
	make_status(text, sizeof(text), 7, "00000000000000000", Z, Z, Z, Z); /* 17 digits */
	CHECK_INT(procstatus_parse(text, strlen(text), &ss), -EINVAL);
	make_status(text, sizeof(text), 7, "", Z, Z, Z, Z);
	CHECK_INT(procstatus_parse(text, strlen(text), &ss), -EINVAL);
	const char *notgid = "SigPnd:\t0\nShdPnd:\t0\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n";
	CHECK_INT(procstatus_parse(notgid, strlen(notgid), &ss), -EINVAL);
	const char *badtgid =
	    "Tgid:\t12x\nSigPnd:\t0\nShdPnd:\t0\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n";
	CHECK_INT(procstatus_parse(badtgid, strlen(badtgid), &ss), -EINVAL);
}

static void *spin(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *exit_from_thread(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 10 * 1000 * 1000};
	nanosleep(&ts, NULL);
	exit(0);
	return NULL;
}

/* Judges the zombie pid as a reader of uid 65534 would: in a child that
 * drops to that uid, the kernel hides exit_code (reads 0). Returns the
 * verdict (0/1), or -1 when the fork or the read failed; *exit_seen gets the
 * exit_code that reader saw. */
static int verdict_as_other_uid(pid_t pid, int *sig, long long *exit_seen)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	pid_t r = fork();
	if (r == 0) {
		close(fd[0]);
		int out[3] = {-1, 0, -1};
		if (setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0) {
			struct procstat_caller c;
			char path[64], text[4096];
			struct procstat st;
			snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
			FILE *f = fopen(path, "r");
			size_t len = f ? fread(text, 1, sizeof(text), f) : 0;
			if (f)
				fclose(f);
			if (procstat_parse(text, len, &st) == 0 && procstat_caller(pid, &c) == 0) {
				out[0] = c.dying;
				out[1] = c.sig;
				out[2] = (int)st.exit_code;
			}
		}
		ssize_t w = write(fd[1], out, sizeof(out));
		_exit(w == (ssize_t)sizeof(out) ? 0 : 1);
	}
	close(fd[1]);
	int in[3] = {-1, 0, -1};
	ssize_t n = r > 0 ? read(fd[0], in, sizeof(in)) : -1;
	close(fd[0]);
	if (r > 0)
		waitpid(r, NULL, 0);
	if (n != (ssize_t)sizeof(in))
		return -1;
	*sig = in[1];
	*exit_seen = in[2];
	return in[0];
}

/* Forks a child that ends as `how` says, leaves it a zombie, and asks
 * procstat_caller about it: a zombie's stat still shows PF_EXITING and
 * the exit_code it had while its files were being closed. Then judges it
 * again as another uid (*o_dying, *o_sig). how: 0 exit(0), 1 _exit(3),
 * 2 abort(), 9/15 killed by that signal, 90 killed with 4 threads, 91
 * exit(0) from a second thread while 4 others spin. */
static int child_verdict(int how, int *sig, struct procstat *st, int *o_dying, int *o_sig)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit nocore = {0, 0};
		setrlimit(RLIMIT_CORE, &nocore);
		pthread_t t;
		if (how == 90 || how == 91)
			for (int i = 0; i < 4; i++)
				pthread_create(&t, NULL, spin, NULL);
		if (how == 91)
			pthread_create(&t, NULL, exit_from_thread, NULL);
		if (how == 0)
			exit(0);
		if (how == 1)
			_exit(3);
		if (how == 2)
			abort();
		for (;;)
			pause();
	}
	if (pid < 0)
		return -1;
	if (how == 9 || how == 15 || how == 90) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
		kill(pid, how == 90 ? 9 : how);
	}
	/* Wait until it is a zombie without reaping it. */
	siginfo_t si;
	waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	char path[64], text[4096];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(text, 1, sizeof(text), f) : 0;
	if (f)
		fclose(f);
	procstat_parse(text, len, st);
	struct procstat_caller c;
	int r = procstat_caller(pid, &c) == 0 ? c.dying : -1;
	*sig = c.sig;
	long long seen = -1;
	*o_dying = verdict_as_other_uid(pid, o_sig, &seen);
	fprintf(stderr,
		"child how=%d: state %c flags 0x%llx exit_code %lld -> dying %d sig %d; "
		"as uid 65534: exit_code %lld -> dying %d sig %d\n",
		how, st->state, (unsigned long long)st->flags, (long long)st->exit_code, r, *sig,
		seen, *o_dying, *o_sig);
	waitpid(pid, NULL, 0);
	return r;
}

static void test_real_children(void)
{
	struct procstat st;
	int sig = 0, od = -1, os = 0;
	CHECK_INT(child_verdict(9, &sig, &st, &od, &os), 1);
	CHECK_INT(sig, 9);
	CHECK(st.flags & PROCSTAT_PF_EXITING);
	CHECK_INT(st.exit_code, 9);
	CHECK_INT(od, 1);
	CHECK_INT(os, 9);
	CHECK_INT(child_verdict(15, &sig, &st, &od, &os), 1);
	CHECK_INT(sig, 15);
	CHECK_INT(od, 1);
	CHECK_INT(os, 15);
	CHECK_INT(child_verdict(2, &sig, &st, &od, &os), 1);
	CHECK_INT(sig, SIGABRT);
	CHECK_INT(od, 1); /* PF_DUMPCORE, or SIGABRT still queued */
	CHECK_INT(child_verdict(0, &sig, &st, &od, &os), 0);
	CHECK(st.flags & PROCSTAT_PF_EXITING);
	CHECK_INT(st.exit_code, 0);
	CHECK_INT(od, 0);
	CHECK_INT(child_verdict(1, &sig, &st, &od, &os), 0);
	CHECK(st.flags & PROCSTAT_PF_EXITING);
	CHECK_INT(st.exit_code, 3 << 8);
	CHECK_INT(od, 0);
	CHECK_INT(child_verdict(90, &sig, &st, &od, &os), 1);
	CHECK_INT(sig, 9);
	CHECK_INT(od, 1);
	CHECK_INT(os, 9);
	/* exit() from a non-leader thread: the leader is killed by the group exit
	 * and carries PF_SIGNALED, yet nothing is queued: not dying */
	CHECK_INT(child_verdict(91, &sig, &st, &od, &os), 0);
	CHECK(st.flags & PROCSTAT_PF_SIGNALED);
	CHECK_INT(od, 0);
	/* A live process (this one) and pids that cannot be seen. */
	struct procstat_caller c;
	CHECK_INT(procstat_caller(getpid(), &c), 0);
	CHECK_INT(c.dying, 0);
	CHECK_INT(c.tgid, getpid());
	CHECK_INT(procstat_caller(0, &c), -ESRCH);
	CHECK_INT(procstat_caller(0x3fffffff, &c), -ESRCH);
	CHECK_INT(procstat_proc_is_ours(), 1);
}

int main(void)
{
	T_RUN(test_parse_samples);
	T_RUN(test_parse_malformed);
	T_RUN(test_status_and_fallback);
	T_RUN(test_real_children);
	return T_DONE();
}
