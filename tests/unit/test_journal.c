/* The journal on real files: what is written is read back, a torn last line is dropped, a
 * changed record is found, and a second writer is refused with the holder's pid. */
#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rekey/journal.h"

struct fixture {
	char	dir[64];
	char	path[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rk-journal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/journal.jsonl", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char out[256];
	char *argv[] = { "rm", "-rf", "--", f->dir, NULL };

	assert_int_equal(rk_test_run(out, sizeof(out), argv), 0);
	free(f);
	return 0;
}

static const struct rk_kv header_facts[] = {
	{ "revoke.1", "7E:01:02,0A:0B" },
	{ "revoke.1.client", "no" },
};

static const struct rk_journal_header header = {
	"INC-TEST", "sha256:0123", "0.1.0", 1764560000, header_facts, 2,
};

/* Writes a journal of three records: an issue done, a push started, the push done. */
static void
write_three(const char *path)
{
	static const struct rk_kv out[] = { { "serial", "5D:3A" }, { "path", "certs/db1.crt" } };
	static const struct rk_kv undo[] = {
		{ "path", "/etc/ssl/db1.key" }, { "backup", "/etc/ssl/db1.key.rekey-bak-1" },
		{ "old_sha256", "ab12" }, { "mode", "0600" }, { "owner", "postgres" },
	};
	struct rk_journal_entry e = { 7, "issue-cert", "issue", 0, NULL, RK_JOURNAL_DONE,
	    out, 2, NULL, 0, NULL };
	struct rk_journal *j = NULL;
	struct rk_err err = { 0 };

	assert_int_equal(rk_journal_create(&j, path, &header, &err), 0);
	assert_int_equal(rk_journal_append(j, &e, &err), 0);
	e = (struct rk_journal_entry){ 12, "push-file", "swap", 1, "db1", RK_JOURNAL_START,
	    NULL, 0, NULL, 0, NULL };
	assert_int_equal(rk_journal_append(j, &e, &err), 0);
	e.state = RK_JOURNAL_DONE;
	e.undo = undo;
	e.nundo = 5;
	assert_int_equal(rk_journal_append(j, &e, &err), 0);
	rk_journal_close(j);
}

static void
append_bytes(const char *path, const char *bytes)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
	close(fd);
}

static void
test_journal_reads_back_what_was_written(void **state)
{
	struct fixture *f = *state;
	struct rk_journal_log *log = NULL;
	const struct rk_journal_record *r;
	struct rk_err err = { 0 };
	struct stat st;

	write_three(f->path);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rk_journal_read(&log, f->path, &err), 0);
	assert_string_equal(log->incident, "INC-TEST");
	assert_string_equal(log->plan_digest, "sha256:0123");
	/* What the run settled when it began comes back as written, for resume. */
	assert_int_equal(log->nfacts, 2);
	assert_string_equal(rk_kv_get(log->facts, log->nfacts, "revoke.1"), "7E:01:02,0A:0B");
	assert_string_equal(rk_kv_get(log->facts, log->nfacts, "revoke.1.client"), "no");
	assert_string_equal(log->started, "2025-12-01T03:33:20Z");
	assert_int_equal(log->nrecords, 3);
	assert_int_equal(log->torn_tail, 0);
	assert_int_equal(log->records[0].seq, 1);
	assert_int_equal(log->records[0].step, 7);
	assert_null(log->records[0].host);
	assert_string_equal(rk_kv_get(log->records[0].out, log->records[0].nout, "serial"),
	    "5D:3A");
	r = rk_journal_log_last(log, 12);
	assert_non_null(r);
	assert_int_equal(r->seq, 3);
	assert_int_equal(r->state, RK_JOURNAL_DONE);
	assert_int_equal(r->wave, 1);
	assert_string_equal(r->host, "db1");
	assert_string_equal(rk_kv_get(r->undo, r->nundo, "backup"),
	    "/etc/ssl/db1.key.rekey-bak-1");
	assert_string_equal(rk_kv_get(r->undo, r->nundo, "owner"), "postgres");
	assert_null(rk_kv_get(r->undo, r->nundo, "group"));
	assert_null(rk_journal_log_last(log, 99));
	rk_journal_log_free(log);
}

static void
test_journal_create_refuses_an_existing_journal(void **state)
{
	struct fixture *f = *state;
	struct rk_journal *j = NULL;
	struct rk_err err = { 0 };

	write_three(f->path);
	assert_int_not_equal(rk_journal_create(&j, f->path, &header, &err), 0);
	assert_null(j);
	assert_non_null(strstr(err.msg, "File exists"));
}

/* Table: what a crash may leave at the end; each is dropped, and appending goes on. */
static void
test_journal_drops_a_torn_last_line_and_goes_on(void **state)
{
	static const char *const tails[] = {
		"{\"v\":1,\"seq\":4,\"step\":13,\"act",		/* cut mid-record */
		"{\"v\":1,\"seq\":4,\"step\":13}",			/* whole, but no newline */
		"garbage\n",						/* a line of no JSON */
	};
	struct fixture *f = *state;
	struct rk_journal_entry e = { 13, "reload", "reload", 1, "db1", RK_JOURNAL_START,
	    NULL, 0, NULL, 0, NULL };
	struct rk_journal_log *log = NULL;
	struct rk_journal *j = NULL;
	struct rk_err err = { 0 };
	size_t i;

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		(void)unlink(f->path);
		write_three(f->path);
		append_bytes(f->path, tails[i]);
		assert_int_equal(rk_journal_read(&log, f->path, &err), 0);
		assert_int_equal(log->nrecords, 3);
		assert_int_equal(log->torn_tail, 1);
		rk_journal_log_free(log);

		assert_int_equal(rk_journal_reopen(&j, &log, f->path, &err), 0);
		assert_int_equal(log->nrecords, 3);
		rk_journal_log_free(log);
		assert_int_equal(rk_journal_append(j, &e, &err), 0);
		rk_journal_close(j);

		assert_int_equal(rk_journal_read(&log, f->path, &err), 0);
		assert_int_equal(log->torn_tail, 0);
		assert_int_equal(log->nrecords, 4);
		assert_int_equal(log->records[3].seq, 4);
		assert_string_equal(log->records[3].action, "reload");
		rk_journal_log_free(log);
	}
}

/* A record changed after it was written breaks the chain at the line after it. */
static void
test_journal_finds_a_changed_record(void **state)
{
	struct fixture *f = *state;
	struct rk_journal_log *log = NULL;
	struct rk_err err = { 0 };
	char out[256];

	write_three(f->path);
	assert_int_equal(rk_test_run(out, sizeof(out),
	    (char *[]){ "sed", "-i", "s/5D:3A/00:00/", f->path, NULL }), 0);
	assert_int_not_equal(rk_journal_read(&log, f->path, &err), 0);
	assert_null(log);
	assert_non_null(strstr(err.msg, ":3: the journal is damaged here"));

	/* A line removed from the middle: the next one no longer follows. */
	(void)unlink(f->path);
	write_three(f->path);
	assert_int_equal(rk_test_run(out, sizeof(out), (char *[]){ "sed", "-i", "3d", f->path, NULL }), 0);
	rk_err_clear(&err);
	assert_int_not_equal(rk_journal_read(&log, f->path, &err), 0);
	assert_non_null(strstr(err.msg, ":3: the journal is damaged here"));
}

/* A FIFO must not hang a resume, nor a symlink redirect it. */
static void
test_journal_refuses_a_file_that_is_not_one(void **state)
{
	struct fixture *f = *state;
	struct rk_journal_log *log = NULL;
	struct rk_journal *j = NULL;
	struct rk_err err = { 0 };
	char other[160];

	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_not_equal(rk_journal_read(&log, f->path, &err), 0);
	assert_non_null(strstr(err.msg, "not a regular file (it is a FIFO)"));
	assert_int_not_equal(rk_journal_reopen(&j, &log, f->path, &err), 0);
	assert_null(j);
	assert_int_equal(unlink(f->path), 0);

	snprintf(other, sizeof(other), "%s/elsewhere.jsonl", f->dir);
	write_three(other);
	assert_int_equal(symlink(other, f->path), 0);
	assert_int_not_equal(rk_journal_reopen(&j, &log, f->path, &err), 0);
	assert_null(j);
	assert_int_not_equal(rk_journal_create(&j, f->path, &header, &err), 0);

	/* Empty, or no header: not a journal. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(truncate(other, 0), 0);
	rk_err_clear(&err);
	assert_int_not_equal(rk_journal_read(&log, other, &err), 0);
	assert_non_null(strstr(err.msg, "not a rekey journal"));
	append_bytes(other, "{\"v\":1,\"seq\":1}\n");
	rk_err_clear(&err);
	assert_int_not_equal(rk_journal_read(&log, other, &err), 0);
	assert_non_null(strstr(err.msg, ":1: not a rekey journal"));
}

/* A second writer, in another process, is refused with the holder's pid. */
static void
test_journal_refuses_a_second_writer_with_the_holders_pid(void **state)
{
	struct fixture *f = *state;
	struct rk_journal_log *log = NULL;
	struct rk_journal *j = NULL, *j2 = NULL;
	struct rk_err err = { 0 };
	char want[64], got[1];
	int fds[2], status;
	pid_t pid;

	write_three(f->path);
	assert_int_equal(rk_journal_reopen(&j, &log, f->path, &err), 0);
	rk_journal_log_free(log);
	assert_int_equal(pipe(fds), 0);
	/* The child says through the pipe whether it got the journal ('+') or not ('-'), then
	 * the message: under valgrind its exit status is valgrind's, not ours. */
	if ((pid = fork()) == 0) {
		struct rk_journal_log *l2 = NULL;
		int r = rk_journal_reopen(&j2, &l2, f->path, &err);

		/* `rekey run` names the holder before it reads anything. */
		if (r != 0 && rk_journal_holder(f->path) != (long)getppid())
			r = 0;
		(void)!write(fds[1], r == 0 ? "+" : "-", 1);
		(void)!write(fds[1], err.msg, strlen(err.msg) + 1);
		rk_journal_close(j2);
		rk_journal_log_free(l2);
		rk_journal_close(j);	/* the parent's copy: its lock stays with the parent */
		_exit(0);
	}
	assert_true(pid > 0);
	close(fds[1]);
	memset(err.msg, 0, sizeof(err.msg));
	assert_int_equal(read(fds[0], got, 1), 1);
	assert_true(read(fds[0], err.msg, sizeof(err.msg) - 1) > 0);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(got[0], '-');
	snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
	assert_non_null(strstr(err.msg, want));
	rk_journal_close(j);
	/* Released: nobody holds it. */
	assert_int_equal(rk_journal_holder(f->path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journal_reads_back_what_was_written, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_create_refuses_an_existing_journal,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_drops_a_torn_last_line_and_goes_on,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_finds_a_changed_record, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_refuses_a_file_that_is_not_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_refuses_a_second_writer_with_the_holders_pid, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
