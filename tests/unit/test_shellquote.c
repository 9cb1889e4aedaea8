#include "test_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rekey/shellquote.h"

extern char **environ;

/* Each word, and the exact line rk_shell_quote() must make of it. */
static const struct {
	const char	*word;
	const char	*quoted;
} cases[] = {
	{ "", "''" },
	{ "plain", "'plain'" },
	{ "with space", "'with space'" },
	{ "it's", "'it'\\''s'" },
	{ "'", "''\\'''" },
	{ "''", "''\\'''\\'''" },
	{ "$HOME", "'$HOME'" },
	{ "`id`", "'`id`'" },
	{ "$(id)", "'$(id)'" },
	{ "line\nbreak", "'line\nbreak'" },
	{ "back\\slash", "'back\\slash'" },
	{ "\"double\"", "'\"double\"'" },
	{ "*?[a]~", "'*?[a]~'" },
	{ "-n", "'-n'" },
	{ "!event", "'!event'" },
	{ "a;b&c|d<e>f(g)", "'a;b&c|d<e>f(g)'" },
	{ "tab\there", "'tab\there'" },
	{ "/srv/a b/it's $x `y`\nz.key", "'/srv/a b/it'\\''s $x `y`\nz.key'" },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* Runs /bin/sh -c line and returns what it printed (malloc'ed), as a remote shell would. */
static char *
run_shell(const char *line)
{
	const char *argv[] = { "/bin/sh", "-c", line, NULL };
	posix_spawn_file_actions_t fa;
	char *out = calloc(1, 65536);
	size_t len = 0;
	ssize_t n;
	int pipefd[2], status;
	pid_t pid;

	assert_non_null(out);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	assert_int_equal(posix_spawn(&pid, "/bin/sh", &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + len, 65535 - len)) > 0)
		len += (size_t)n;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return out;
}

static void
test_shell_quote_writes_exact_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		struct rk_err err = { 0 };
		struct rk_buf b;

		rk_buf_init(&b, 4096);
		assert_int_equal(rk_shell_quote(&b, cases[i].word, &err), 0);
		assert_string_equal((const char *)b.ptr, cases[i].quoted);
		rk_buf_clear(&b);
	}
}

static void
test_shell_quote_round_trips_through_sh(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		struct rk_err err = { 0 };
		struct rk_buf b;
		char *got;

		rk_buf_init(&b, 4096);
		assert_int_equal(rk_buf_append_str(&b, "printf %s ", &err), 0);
		assert_int_equal(rk_shell_quote(&b, cases[i].word, &err), 0);
		got = run_shell((const char *)b.ptr);
		assert_string_equal(got, cases[i].word);
		free(got);
		rk_buf_clear(&b);
	}
}

static void
test_shell_join_hands_the_program_exactly_argv(void **state)
{
	const char *argv[] = { "printf", "[%s]", "a b", "it's", "", "$x `y`", "l1\nl2", NULL };
	struct rk_err err = { 0 };
	struct rk_buf b;
	char *got;

	(void)state;
	rk_buf_init(&b, 4096);
	assert_int_equal(rk_shell_join(&b, argv, &err), 0);
	got = run_shell((const char *)b.ptr);
	assert_string_equal(got, "[a b][it's][][$x `y`][l1\nl2]");
	free(got);
	rk_buf_clear(&b);
}

static void
test_shell_join_refuses_empty_argv(void **state)
{
	const char *empty[] = { NULL };
	struct rk_err err = { 0 };
	struct rk_buf b;

	(void)state;
	rk_buf_init(&b, 4096);
	assert_int_equal(rk_shell_join(&b, empty, &err), RK_E_INTERNAL);
	rk_err_clear(&err);
	assert_int_equal(rk_shell_join(&b, NULL, &err), RK_E_INTERNAL);
	rk_buf_clear(&b);
}

static void
test_shell_quote_stops_at_buffer_cap(void **state)
{
	struct rk_err err = { 0 };
	struct rk_buf b;

	(void)state;
	rk_buf_init(&b, 8);
	/* "'it'\''s'" is 10 bytes: over a cap of 8, refused, not cut. */
	assert_int_equal(rk_shell_quote(&b, "it's", &err), RK_E_LIMIT);
	rk_buf_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shell_quote_writes_exact_words),
		cmocka_unit_test(test_shell_quote_round_trips_through_sh),
		cmocka_unit_test(test_shell_join_hands_the_program_exactly_argv),
		cmocka_unit_test(test_shell_join_refuses_empty_argv),
		cmocka_unit_test(test_shell_quote_stops_at_buffer_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
