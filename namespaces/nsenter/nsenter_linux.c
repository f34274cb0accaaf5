//go:build linux && cgo

/*
 * The constructor below runs before the Go runtime starts, while the process
 * still has a single thread. It joins the namespaces the parent passed as
 * file descriptors, waits for the parent's go-ahead, forks the child that
 * will run inside the container's PID namespace, and turns itself into a
 * relay for that child. See doc.go for the protocol and the reasons.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENV_VAR "_SKIFF_NSENTER"
#define MAX_FDS 16

/* Read by Go through cgo: set in the child that continues into Go. */
int skiff_nsenter_entered;

static int error_fd = -1;
static volatile pid_t child_pid;

/*
 * fail reports what went wrong on the error pipe, in the JSON shape the Go
 * parent decodes, and exits. strerror(3) texts contain no quotes, so no
 * escaping is needed.
 */
static void fail(const char *what, int err)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "{\"message\":\"nsenter: %s: %s\",\"errno\":%d}",
			 what, strerror(err), err);

	if (error_fd >= 0 && n > 0)
		(void)!write(error_fd, msg, (size_t)n);
	_exit(125);
}

/* parse_fds reads "3,4,8,9" into fds; it returns the count, or -1. */
static int parse_fds(const char *s, int *fds, int max)
{
	int n = 0;

	while (*s != '\0') {
		char *end;
		long v;

		if (n == max)
			return -1;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || end == s || v < 0 || v > 1023)
			return -1;
		fds[n++] = (int)v;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return -1;
		s = end;
	}
	return n;
}

/* forward_signal is the relay's handler: the child gets what we got. */
static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/*
 * relay forwards signals to the child until it ends, then ends the same
 * way. It never returns.
 */
static void relay(const sigset_t *old_mask)
{
	struct sigaction sa;
	struct rlimit no_core = {0, 0};
	sigset_t one;
	int status, sig;

	/*
	 * The relay needs none of the inherited pipes: closing its copies
	 * lets the parent see end-of-file on the error pipe once the child
	 * has executed the command.
	 */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD)
			continue;
		/* glibc reserves two real-time signals and refuses them. */
		sigaction(sig, &sa, NULL);
	}
	sigprocmask(SIG_SETMASK, old_mask, NULL);

	for (;;) {
		pid_t r = waitpid(child_pid, &status, 0);

		if (r == child_pid)
			break;
		if (r < 0 && errno != EINTR)
			_exit(125);
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));

	/*
	 * Die of the same signal, so the parent's wait(2) reports it, and do
	 * not leave a core file of the relay behind.
	 */
	sig = WTERMSIG(status);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

__attribute__((constructor)) static void skiff_nsenter(void)
{
	const char *value = getenv(ENV_VAR);
	int fds[MAX_FDS];
	int n, i;
	char go;
	ssize_t r;
	sigset_t all, old_mask;
	pid_t parent;

	if (value == NULL)
		return;
	n = parse_fds(value, fds, MAX_FDS);
	if (n < 2) {
		fprintf(stderr, "nsenter: malformed %s=%s\n", ENV_VAR, value);
		_exit(125);
	}
	error_fd = fds[1];

	/* setns(2) with nstype 0: the kernel checks what each file is. */
	for (i = 2; i < n; i++) {
		if (setns(fds[i], 0) < 0)
			fail("setns", errno);
		close(fds[i]);
	}

	/* Wait for the parent: it puts us into the container's cgroup first. */
	do
		r = read(fds[0], &go, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		_exit(1);
	close(fds[0]);

	/*
	 * Block every signal across fork(2), so that none reaches the relay
	 * before its forwarding handlers are in place.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old_mask);
	parent = getpid();
	child_pid = fork();
	if (child_pid < 0)
		fail("fork", errno);
	if (child_pid > 0)
		relay(&old_mask);

	/*
	 * The child: die with the relay, and stay non-dumpable until the
	 * command is executed, so that processes already in the container
	 * cannot ptrace us or open /proc/PID/exe, our binary on the host.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/*
	 * If the relay died before that, we were reparented already. Seen
	 * from inside the new PID namespace, a live relay has PID 0: it is
	 * outside the namespace.
	 */
	if (getppid() != 0 && getppid() != parent)
		_exit(1);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	skiff_nsenter_entered = 1;
}
