/* test_procstat.c: the /proc/PID/stat parser on sample lines (odd command
 * names included), the PF_EXITING rule, and the rule measured on real child
 * processes of this kernel: a zombie still shows the flags and exit_code it
 * had while closing its files in do_exit(). */
#include <errno.h>
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
		{"))", "4195340", 0x86, 0x40040c, 1, 6}, /* SIGABRT with core */
		{") 1 2 3 (", "4195340", 0, 0x40040c, 0, 0},     /* exit(0) */
		{"x", "4195340", 3 << 8, 0x40040c, 0, 0},        /* exit(3) */
		{"x", "4194304", 9, 0x400000, 0, 0}, /* signal status, not exiting */
		{"", "4", 9, 4, 1, 9},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char line[1024];
		struct procstat st;
		int sig = -1;
		make_line(line, sizeof(line), v[i].comm, v[i].flags, v[i].exit_code);
		int rc = procstat_parse(line, strlen(line), &st);
		int dying = rc == 0 ? procstat_dying(&st, &sig) : -1;
		int ok = rc == 0 && st.state == 'Z' && st.flags == v[i].want_flags &&
			 st.exit_code == v[i].exit_code && dying == v[i].want_dying &&
			 (!dying || sig == v[i].want_sig);
		if (!ok)
			fprintf(stderr, "sample %zu: rc %d flags %llx exit %lld dying %d sig %d\n", i,
				rc, (unsigned long long)st.flags, (long long)st.exit_code, dying,
				sig);
		T_CASE(v[i].comm, ok);
	}
}

static void test_parse_malformed(void)
{
	struct procstat st;
	static const char *bad[] = {
		"",
		"123 (cat R 1 2",                  /* no ')' */
		"123 (cat) R 1 2 3 4 5",           /* fields 9 and 52 missing */
		"123 (cat) R 1 2 3 4 5 x7 8 9",    /* garbage number */
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

/* Forks a child that ends as `how` says, leaves it a zombie, and asks
 * procstat_caller_dying about it: a zombie's stat still shows PF_EXITING and
 * the exit_code it had while its files were being closed. */
static int child_verdict(int how, int *sig, struct procstat *st)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit nocore = {0, 0};
		setrlimit(RLIMIT_CORE, &nocore);
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
	if (how == 9 || how == 15) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
		kill(pid, how);
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
	fprintf(stderr, "child how=%d: state %c flags 0x%llx exit_code %lld\n", how, st->state,
		(unsigned long long)st->flags, (long long)st->exit_code);
	int r = procstat_caller_dying(pid, sig);
	waitpid(pid, NULL, 0);
	return r;
}

static void test_real_children(void)
{
	struct procstat st;
	int sig = 0;
	CHECK_INT(child_verdict(9, &sig, &st), 1);
	CHECK_INT(sig, 9);
	CHECK(st.flags & PROCSTAT_PF_EXITING);
	CHECK_INT(st.exit_code, 9);
	sig = 0;
	CHECK_INT(child_verdict(15, &sig, &st), 1);
	CHECK_INT(sig, 15);
	sig = 0;
	CHECK_INT(child_verdict(2, &sig, &st), 1);
	CHECK_INT(sig, SIGABRT);
	CHECK_INT(child_verdict(0, &sig, &st), 0);
	CHECK(st.flags & PROCSTAT_PF_EXITING);
	CHECK_INT(st.exit_code, 0);
	CHECK_INT(child_verdict(1, &sig, &st), 0);
	CHECK(st.flags & PROCSTAT_PF_EXITING);
	CHECK_INT(st.exit_code, 3 << 8);
	/* A live process (this one) and a pid that does not exist. */
	CHECK_INT(procstat_caller_dying(getpid(), &sig), 0);
	CHECK_INT(procstat_caller_dying(0, &sig), 0);
	CHECK_INT(procstat_caller_dying(0x3fffffff, &sig), 0);
}

int main(void)
{
	T_RUN(test_parse_samples);
	T_RUN(test_parse_malformed);
	T_RUN(test_real_children);
	return T_DONE();
}
