/*
 * The trickling server (trickle_server.py) from a C test: started as our own child on a free
 * loopback port, stopped by its pid. Include after test_util.h (cmocka).
 */
#ifndef REKEY_TRICKLER_H
#define REKEY_TRICKLER_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A server answers within this many seconds of starting, or the test fails. */
#define RK_TRICKLER_START_MS	10000

static inline long long
rk_trickler_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Starts `python3 script mode PORT_FILE [cert key]` with its port file in dir and returns
 * the port once the server has written it (it listens before it writes). *pid is ours to
 * stop with rk_trickler_stop().
 */
static inline int
rk_trickler_start(pid_t *pid, const char *script, const char *mode, const char *dir,
    const char *cert, const char *key)
{
	static int serial;
	char port_file[1024], text[16];
	const char *argv[] = { "python3", script, mode, port_file, cert, key, NULL };
	long long deadline = rk_trickler_now_ms() + RK_TRICKLER_START_MS;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int fd, port = 0;
	ssize_t n;

	assert_true((size_t)snprintf(port_file, sizeof(port_file), "%s/trickle-%d-%d.port", dir,
	    (int)getpid(), ++serial) < sizeof(port_file));
	if (cert == NULL)
		argv[4] = NULL;
	assert_int_equal(posix_spawnp(pid, "python3", NULL, NULL, (char *const *)argv,
	    environ), 0);
	while (port == 0) {
		if ((fd = open(port_file, O_RDONLY)) != -1) {
			n = read(fd, text, sizeof(text) - 1);
			close(fd);
			text[n > 0 ? n : 0] = '\0';
			port = (int)strtol(text, NULL, 10);
		}
		if (port == 0 && rk_trickler_now_ms() > deadline)
			fail_msg("%s %s did not start", script, mode);
		if (port == 0)
			(void)nanosleep(&pause, NULL);
	}
	(void)unlink(port_file);
	return port;
}

static inline void
rk_trickler_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	(void)kill(*pid, SIGTERM);	/* our own child, by its pid */
	(void)waitpid(*pid, NULL, 0);
	*pid = 0;
}

#endif
