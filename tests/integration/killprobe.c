/*
 * killprobe.c: a writer for it_kill_caps.sh. Opens PATH for writing, writes
 * 9,100 bytes, prints its pid, then ends as MODE says, so that the test can
 * check what the mount publishes for each way a writer can end:
 *   wait            wait to be killed (the test sends the signal)
 *   exit            exit(0) without closing
 *   mt-wait         start 4 threads, wait to be killed
 *   mt-exit-main    start 4 threads, exit(0) from main without closing
 *   mt-exit-thread  start 4 threads, exit(0) from a fifth one
 *   child           fork a child that inherits the descriptor and exits
 *                   normally 2 s later; wait to be killed
 *   segv            crash (SIGSEGV) without closing
 *   oom             after 1 s (time for the test to put it in a small memory
 *                   cgroup), allocate and touch memory until the kernel's OOM
 *                   killer ends it
 *   dup-close       dup the descriptor, close the original (a flush with a
 *                   descriptor still open), print "closed", sleep SECS, write
 *                   9,100 more bytes through the copy, close it, exit(0)
 * Usage: killprobe MODE PATH [SECS]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define CHUNK 9100

static void *spin(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *exit_soon(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	exit(0);
	return NULL;
}

static void threads(int n, int exiter)
{
	pthread_t t;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, NULL, spin, NULL) != 0)
			exit(2);
	if (exiter && pthread_create(&t, NULL, exit_soon, NULL) != 0)
		exit(2);
	usleep(100 * 1000);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: killprobe MODE PATH [SECS]\n");
		return 2;
	}
	const char *mode = argv[1];
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);
	int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	char buf[CHUNK];
	memset(buf, 'k', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		perror("write");
		return 1;
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (!strcmp(mode, "exit"))
		exit(0);
	if (!strcmp(mode, "mt-wait"))
		threads(4, 0);
	if (!strcmp(mode, "mt-exit-main")) {
		threads(4, 0);
		exit(0);
	}
	if (!strcmp(mode, "mt-exit-thread"))
		threads(4, 1);
	if (!strcmp(mode, "child")) {
		pid_t c = fork();
		if (c == 0) {
			sleep(2);
			_exit(0);
		}
	}
	if (!strcmp(mode, "segv")) {
		signal(SIGSEGV, SIG_DFL); /* a crash, whatever handler a runtime installed */
		raise(SIGSEGV);
	}
	if (!strcmp(mode, "oom")) {
		sleep(1);
		for (;;) {
			char *m = malloc(1u << 20);
			if (!m)
				continue;
			memset(m, 1, 1u << 20); /* touched: charged to the cgroup */
		}
	}
	if (!strcmp(mode, "dup-close")) {
		int fd2 = dup(fd);
		if (fd2 < 0 || close(fd) != 0) {
			perror("close");
			return 1;
		}
		printf("closed\n");
		fflush(stdout);
		sleep(argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 3);
		memset(buf, 'l', sizeof(buf));
		if (write(fd2, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || close(fd2) != 0) {
			perror("second write");
			return 1;
		}
		return 0;
	}
	for (;;)
		pause();
}
