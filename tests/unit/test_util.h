/* Shared includes for cmocka unit tests (cmocka needs these before its header). */
#ifndef REKEY_TEST_UTIL_H
#define REKEY_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs argv (a program and its arguments, no shell), its stdout and stderr captured into out;
 * returns the exit status, or -1 when it was killed. */
static inline int
rk_test_run(char *out, size_t size, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	assert_int_equal(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while (used + 1 < size && (n = read(fds[0], out + used, size - used - 1)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * A real private key, made now by the openssl CLI (no key is ever kept in the repository):
 * its PEM into pem, NUL-terminated.
 */
static inline void
rk_test_private_key_pem(char *pem, size_t size)
{
	char *argv[] = { "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
	    "ec_paramgen_curve:P-256", NULL };

	assert_int_equal(rk_test_run(pem, size, argv), 0);
	assert_non_null(strstr(pem, "PRIVATE KEY-----\n"));
}

#endif
