/*
 * The rehearsal's questions to a host, over the local transport (the ssh one runs the same
 * scripts; e2e/rehearse asks them over sshd): a replace tried up to its rename leaves no file
 * and tells each reason a replace would fail, a snapshot tells every kind of change, and the
 * programs of a command line are looked up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rekey/hostcheck.h"
#include "rekey/local.h"

static struct rk_host host = { .name = (char *)"here", .transport = RK_TRANSPORT_LOCAL,
    .timeout = 10 };

struct fixture {
	char			 dir[64];
	struct rk_transport	*t;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rk_err err = { 0 };

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rk-hostcheck-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(rk_local_transport_new(&f->t, &host, &err), 0);
	assert_int_equal(f->t->ops->connect(f->t, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char out[256];
	char *argv[] = { "rm", "-rf", "--", f->dir, NULL };

	rk_transport_free(f->t);
	assert_int_equal(rk_test_run(out, sizeof(out), argv), 0);
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* Names in dir, one string, sorted by readdir's order (enough to compare before and after). */
static size_t
count_entries(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
test_probe_push_tries_the_replace_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct rk_push_probe p;
	struct rk_err err = { 0 };
	struct rk_file_spec spec;
	size_t before;

	snprintf(path, sizeof(path), "%s/server.crt", f->dir);
	write_file(path, "old certificate\n", 0640);
	before = count_entries(f->dir);
	spec = (struct rk_file_spec){ path, NULL, NULL, 0644, false };
	assert_int_equal(f->t->ops->probe_replace(&p, f->t, &spec, 1000, &err), 0);
	assert_true(p.current.exists);
	assert_true(p.current.is_regular);
	assert_int_equal(p.current.mode, 0640);
	assert_int_equal(p.current.size, 16);
	assert_string_equal(p.owner, getpwuid(geteuid())->pw_name);
	assert_string_equal(p.creator, getpwuid(geteuid())->pw_name);
	assert_true(p.free_bytes > 0);
	assert_int_equal(count_entries(f->dir), before);

	/* A file not there yet: the login's. */
	snprintf(path, sizeof(path), "%s/new.key", f->dir);
	spec.path = path;
	assert_int_equal(f->t->ops->probe_replace(&p, f->t, &spec, 1000, &err), 0);
	assert_false(p.current.exists);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(count_entries(f->dir), before);
}

static void
test_probe_push_says_why_a_replace_would_fail(void **state)
{
	struct fixture *f = *state;
	char path[160], link[160], fifo[160], missing[160];
	struct rk_push_probe p;
	struct rk_err err = { 0 };
	struct rk_file_spec spec;

	snprintf(path, sizeof(path), "%s/real.crt", f->dir);
	write_file(path, "x\n", 0644);
	snprintf(link, sizeof(link), "%s/link.crt", f->dir);
	assert_int_equal(symlink(path, link), 0);
	spec = (struct rk_file_spec){ link, NULL, NULL, 0644, false };
	rk_err_clear(&err);
	assert_int_not_equal(f->t->ops->probe_replace(&p, f->t, &spec, 10, &err), 0);
	assert_int_equal(p.problem, RK_PUSH_SYMLINK);
	assert_non_null(strstr(err.msg, "symbolic link"));
	spec.allow_symlink = true;
	assert_int_equal(f->t->ops->probe_replace(&p, f->t, &spec, 10, &err), 0);
	assert_true(p.current.is_symlink);

	snprintf(fifo, sizeof(fifo), "%s/pipe", f->dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	spec = (struct rk_file_spec){ fifo, NULL, NULL, 0644, false };
	rk_err_clear(&err);
	assert_int_not_equal(f->t->ops->probe_replace(&p, f->t, &spec, 10, &err), 0);
	assert_int_equal(p.problem, RK_PUSH_NOT_FILE);

	snprintf(missing, sizeof(missing), "%s/no/such/folder/x.crt", f->dir);
	spec = (struct rk_file_spec){ missing, NULL, NULL, 0644, false };
	rk_err_clear(&err);
	assert_int_not_equal(f->t->ops->probe_replace(&p, f->t, &spec, 10, &err), 0);
	assert_int_equal(p.problem, RK_PUSH_NO_FOLDER);
	assert_non_null(strstr(err.msg, "does not exist"));

	/* chown to a user the host does not know fails as the replace's chown would. */
	spec = (struct rk_file_spec){ path, "no-such-user-rk", NULL, 0644, false };
	rk_err_clear(&err);
	assert_int_not_equal(f->t->ops->probe_replace(&p, f->t, &spec, 10, &err), 0);
	assert_int_equal(p.problem, RK_PUSH_CANNOT_OWN);
	assert_non_null(strstr(err.msg, "invalid user"));

	/* More than the file system holds. */
	spec = (struct rk_file_spec){ path, NULL, NULL, 0644, false };
	rk_err_clear(&err);
	assert_int_not_equal(f->t->ops->probe_replace(&p, f->t, &spec, 1ULL << 62, &err), 0);
	assert_int_equal(p.problem, RK_PUSH_NO_ROOM);
	assert_non_null(strstr(err.msg, "free in"));
}

static void
test_snapshot_tells_every_change(void **state)
{
	struct fixture *f = *state;
	char a[128], b[128], c[128];
	int fd;
	const char *paths[3] = { a, b, c };
	struct rk_path_state before[3], after[3];
	struct rk_err err = { 0 };

	snprintf(a, sizeof(a), "%s/a.crt", f->dir);
	snprintf(b, sizeof(b), "%s/b.key", f->dir);
	snprintf(c, sizeof(c), "%s/absent", f->dir);
	write_file(a, "certificate\n", 0644);
	write_file(b, "key\n", 0600);
	assert_int_equal(rk_host_snapshot(before, f->t, paths, 3, &err), 0);
	assert_true(before[0].exists);
	assert_int_equal(strlen(before[0].sha256), 64);
	assert_false(before[2].exists);
	assert_int_equal(rk_host_snapshot(after, f->t, paths, 3, &err), 0);
	assert_null(rk_path_state_change(&before[0], &after[0]));
	assert_null(rk_path_state_change(&before[2], &after[2]));

	assert_int_equal(chmod(b, 0640), 0);
	write_file(c, "", 0644);
	assert_int_equal(rk_host_snapshot(after, f->t, paths, 3, &err), 0);
	assert_string_equal(rk_path_state_change(&before[1], &after[1]), "its mode changed");
	assert_string_equal(rk_path_state_change(&before[2], &after[2]), "it was created");

	/* Same bytes written again: only the time says so. */
	assert_int_equal(usleep(10000), 0);
	assert_true((fd = open(a, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(write(fd, "certificate\n", 12), 12);
	assert_int_equal(close(fd), 0);
	assert_int_equal(rk_host_snapshot(after, f->t, paths, 3, &err), 0);
	assert_string_equal(rk_path_state_change(&before[0], &after[0]),
	    "its modification time changed");
	write_file(a, "another certificate\n", 0644);
	assert_int_equal(rk_host_snapshot(after, f->t, paths, 3, &err), 0);
	assert_string_equal(rk_path_state_change(&before[0], &after[0]),
	    "its content (SHA-256) changed");
}

static void
test_has_command_checks_each_program_of_the_line(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	char where[256];
	bool found;

	assert_int_equal(rk_host_has_command(&found, where, sizeof(where), f->t,
	    "set -a; . './x.env'; PGHOST=h sh -c 'exit 0' | cat", &err), 0);
	assert_true(found);
	assert_non_null(strstr(where, "/sh"));
	assert_non_null(strstr(where, "/cat"));
	assert_null(strstr(where, "PGHOST"));

	assert_int_equal(rk_host_has_command(&found, where, sizeof(where), f->t,
	    "cat /etc/hostname && no-such-program-rk --check \"a; b\"", &err), 0);
	assert_false(found);
	assert_string_equal(where, "no-such-program-rk");

	rk_err_clear(&err);
	assert_int_not_equal(rk_host_has_command(&found, where, sizeof(where), f->t, "A=b",
	    &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_push_tries_the_replace_and_leaves_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_push_says_why_a_replace_would_fail,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_tells_every_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_has_command_checks_each_program_of_the_line,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
