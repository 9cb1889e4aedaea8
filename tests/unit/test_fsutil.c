#include "test_util.h"

#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rekey/fsutil.h"
#include "rekey/secret.h"

struct fixture {
	char	dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rk-unit-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *d;
	DIR *dp;

	/* The tests make only files (and links) in the folder: remove them, then the folder. */
	if ((dp = opendir(f->dir)) != NULL) {
		while ((d = readdir(dp)) != NULL) {
			char p[384];

			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, d->d_name);
			(void)unlink(p);
		}
		closedir(dp);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static void
write_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char p[512];
	int fd;

	assert_true((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) < sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
test_file_read_returns_whole_file(void **state)
{
	struct fixture *f = *state;
	struct rk_buf b;
	struct rk_err err = { 0 };
	char p[128];

	write_file(f->dir, "small", "hello\n", 6, 0644);
	snprintf(p, sizeof(p), "%s/small", f->dir);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read(&b, p, 100, &err), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.ptr, "hello\n", 6);
	rk_buf_clear(&b);
}

static void
test_file_read_refuses_oversize_at_once(void **state)
{
	struct fixture *f = *state;
	struct rk_buf b;
	struct rk_err err = { 0 };
	char data[2000], p[128];

	memset(data, 'a', sizeof(data));
	write_file(f->dir, "big", data, sizeof(data), 0644);
	snprintf(p, sizeof(p), "%s/big", f->dir);
	rk_buf_init(&b, 1000);
	assert_int_equal(rk_file_read(&b, p, 1000, &err), RK_E_LIMIT);
	assert_non_null(strstr(err.msg, "over the limit of 1000"));
	assert_null(b.ptr);
	rk_buf_clear(&b);
}

static void
test_file_read_refuses_folders_and_missing_files(void **state)
{
	struct fixture *f = *state;
	struct rk_buf b;
	struct rk_err err = { 0 };
	char p[128];

	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read(&b, f->dir, 100, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "not a regular file"));
	rk_err_clear(&err);
	snprintf(p, sizeof(p), "%s/none", f->dir);
	assert_int_equal(rk_file_read(&b, p, 100, &err), RK_E_SYS);
	assert_non_null(strstr(err.msg, "No such file"));
	rk_buf_clear(&b);
}

static void
test_path_resolve_handles_relative_home_and_absolute(void **state)
{
	struct rk_err err = { 0 };
	char *out = NULL;

	(void)state;
	assert_int_equal(rk_path_resolve(&out, "/base", "pki/ca.crt", &err), 0);
	assert_string_equal(out, "/base/pki/ca.crt");
	free(out);
	assert_int_equal(rk_path_resolve(&out, "/base", "./pki/ca.crt", &err), 0);
	assert_string_equal(out, "/base/pki/ca.crt");
	free(out);
	assert_int_equal(rk_path_resolve(&out, "/base", "/etc/x", &err), 0);
	assert_string_equal(out, "/etc/x");
	free(out);
	setenv("HOME", "/home/oncall", 1);
	assert_int_equal(rk_path_resolve(&out, "/base", "~/.ssh/id", &err), 0);
	assert_string_equal(out, "/home/oncall/.ssh/id");
	free(out);
	assert_int_equal(rk_path_dirname(&out, "a/b/c.yml", &err), 0);
	assert_string_equal(out, "a/b");
	free(out);
	assert_int_equal(rk_path_dirname(&out, "c.yml", &err), 0);
	assert_string_equal(out, ".");
	free(out);
}

static void
test_secret_from_file_drops_one_newline(void **state)
{
	struct fixture *f = *state;
	struct rk_secret s = { 0 };
	struct rk_err err = { 0 };
	char p[128];

	write_file(f->dir, "secret", "pw1\n", 4, 0600);
	snprintf(p, sizeof(p), "%s/secret", f->dir);
	assert_int_equal(rk_secret_from_file(&s, p, &err), 0);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.ptr, "pw1", 4);	/* NUL-terminated too */
	rk_secret_clear(&s);
	assert_null(s.ptr);
	assert_int_equal(s.len, 0);
	write_file(f->dir, "empty-secret", "\n", 1, 0600);
	snprintf(p, sizeof(p), "%s/empty-secret", f->dir);
	assert_int_equal(rk_secret_from_file(&s, p, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "empty"));
}

static void
test_secret_from_env_requires_a_value(void **state)
{
	struct rk_secret s = { 0 };
	struct rk_err err = { 0 };

	(void)state;
	setenv("RK_UNIT_SECRET", "s3cret", 1);
	assert_int_equal(rk_secret_from_env(&s, "RK_UNIT_SECRET", &err), 0);
	assert_int_equal(s.len, 6);
	rk_secret_clear(&s);
	unsetenv("RK_UNIT_SECRET_MISSING");
	assert_int_equal(rk_secret_from_env(&s, "RK_UNIT_SECRET_MISSING", &err), RK_E_USAGE);
	/* The message names the variable, never a value. */
	assert_string_equal(err.msg, "environment variable RK_UNIT_SECRET_MISSING is not set");
}

static void
path_in(char *out, size_t size, const struct fixture *f, const char *name)
{
	snprintf(out, size, "%s/%s", f->dir, name);
}

/* No file other than the ones named is in the folder: no temporary file was left behind. */
static void
assert_folder_holds_only(const struct fixture *f, const char *const *names)
{
	struct dirent *d;
	DIR *dp = opendir(f->dir);
	size_t i;

	assert_non_null(dp);
	while ((d = readdir(dp)) != NULL) {
		bool known = strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0;

		for (i = 0; names[i] != NULL && !known; i++)
			known = strcmp(d->d_name, names[i]) == 0;
		if (!known)
			fail_msg("unexpected file %s in %s", d->d_name, f->dir);
	}
	closedir(dp);
}

static void
assert_file_holds(const char *path, const char *text)
{
	struct rk_err err = { 0 };
	struct rk_buf b;

	rk_buf_init(&b, 4096);
	assert_int_equal(rk_file_read(&b, path, 4096, &err), 0);
	assert_int_equal(b.len, strlen(text));
	assert_memory_equal(b.ptr, text, b.len);
	rk_buf_clear(&b);
}

static void
test_file_read_refuses_a_fifo_without_waiting_for_a_writer(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	struct rk_buf b;
	char p[128];

	path_in(p, sizeof(p), f, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	/* Blocking here would be the bug: the alarm turns a hang into a failed test. */
	alarm(10);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read(&b, p, 100, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "fifo: not a regular file (it is a FIFO)"));
	rk_err_clear(&err);
	assert_int_equal(rk_file_read_private(&b, p, 100, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "it is a FIFO"));
	rk_err_clear(&err);
	assert_int_equal(rk_file_read(&b, "/dev/null", 100, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "it is a character device"));
	alarm(0);
	assert_null(b.ptr);
	rk_buf_clear(&b);
}

static void
test_file_read_follows_a_symlink_to_a_regular_file(void **state)
{
	struct fixture *f = *state;
	char p[128];

	write_file(f->dir, "target", "via link\n", 9, 0644);
	path_in(p, sizeof(p), f, "link");
	assert_int_equal(symlink("target", p), 0);
	assert_file_holds(p, "via link\n");
}

static void
test_private_files_refuse_group_and_other_bits(void **state)
{
	static const struct {
		mode_t		 mode;
		const char	*msg;	/* NULL: accepted */
	} cases[] = {
		{ 0600, NULL },
		{ 0400, NULL },
		{ 0640, "is readable by group or others (mode 0640): chmod 600 it" },
		{ 0604, "is readable by group or others (mode 0604)" },
		{ 0620, "is writable by group or others (mode 0620)" },
		{ 0602, "is writable by group or others (mode 0602)" },
		{ 0644, "is readable by group or others (mode 0644)" },
	};
	struct fixture *f = *state;
	struct rk_secret s = { 0 };
	struct rk_buf b;
	size_t i;
	char p[128];

	path_in(p, sizeof(p), f, "secret");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rk_err err = { 0 };

		write_file(f->dir, "secret", "pw\n", 3, 0600);
		assert_int_equal(chmod(p, cases[i].mode), 0);
		rk_buf_init(&b, 100);
		if (cases[i].msg == NULL) {
			assert_int_equal(rk_file_read_private(&b, p, 100, &err), 0);
			assert_int_equal(rk_secret_from_file(&s, p, &err), 0);
		} else {
			assert_int_equal(rk_file_read_private(&b, p, 100, &err), RK_E_USAGE);
			assert_non_null(strstr(err.msg, cases[i].msg));
			assert_null(b.ptr);	/* refused before a byte was read */
			rk_err_clear(&err);
			assert_int_equal(rk_secret_from_file(&s, p, &err), RK_E_USAGE);
			assert_non_null(strstr(err.msg, cases[i].msg));
			/* rk_file_read itself does not judge: a certificate may be 0644. */
			assert_int_equal(rk_file_read(&b, p, 100, &err), 0);
		}
		rk_buf_clear(&b);
		rk_secret_clear(&s);
		(void)unlink(p);
	}
}

static void
test_private_files_must_be_owned_by_this_user_or_root(void **state)
{
	struct stat st;
	struct rk_err err = { 0 };
	struct fixture *f = *state;
	struct rk_buf b;
	char p[128];

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0600;
	st.st_uid = geteuid();
	assert_int_equal(rk_file_check_private(&st, "k", &err), 0);
	st.st_uid = 0;
	assert_int_equal(rk_file_check_private(&st, "k", &err), 0);
	st.st_uid = geteuid() == 12345 ? 12346 : 12345;
	assert_int_equal(rk_file_check_private(&st, "k", &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "k is owned by uid 1234"));
	if (geteuid() != 0)
		return;		/* only root can give a file away: the stat case above stands */
	write_file(f->dir, "theirs", "pw\n", 3, 0600);
	path_in(p, sizeof(p), f, "theirs");
	assert_int_equal(chown(p, 65534, 65534), 0);
	rk_err_clear(&err);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read_private(&b, p, 100, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "is owned by uid 65534"));
	rk_buf_clear(&b);
}

static void
test_file_replace_keeps_mode_owner_and_group(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	struct stat st;
	gid_t gid = getegid() == 0 ? 1 : getegid();	/* daemon's group, when root */
	char p[128];

	write_file(f->dir, "ledger.json", "old\n", 4, 0600);
	path_in(p, sizeof(p), f, "ledger.json");
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(chown(p, geteuid(), gid), 0);
	assert_int_equal(rk_file_replace(p, (struct rk_bytes){ (const unsigned char *)"new\n", 4 },
	    0644, &err), 0);
	assert_file_holds(p, "new\n");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_gid, gid);
	/* A file that is new gets exactly the mode asked, whatever the umask. */
	path_in(p, sizeof(p), f, "new.crl");
	umask(077);
	assert_int_equal(rk_file_replace(p, (struct rk_bytes){ (const unsigned char *)"crl\n", 4 },
	    0644, &err), 0);
	umask(022);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_folder_holds_only(f, (const char *const[]){ "ledger.json", "new.crl", NULL });
}

static void
test_file_replace_refuses_a_symlink_and_leaves_both_alone(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	struct stat st;
	char p[128], target[128];

	write_file(f->dir, "real.crl", "old\n", 4, 0644);
	path_in(target, sizeof(target), f, "real.crl");
	path_in(p, sizeof(p), f, "link.crl");
	assert_int_equal(symlink("real.crl", p), 0);
	assert_int_equal(rk_file_replace(p, (struct rk_bytes){ (const unsigned char *)"new\n", 4 },
	    0644, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "link.crl is a symbolic link"));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_file_holds(target, "old\n");
	rk_err_clear(&err);
	assert_int_equal(rk_file_replace(f->dir, (struct rk_bytes){ (const unsigned char *)"x", 1 },
	    0644, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "it is a folder"));
	assert_folder_holds_only(f, (const char *const[]){ "real.crl", "link.crl", NULL });
}

static const struct rk_bytes key_bytes = { (const unsigned char *)"key\n", 4 };
static const struct rk_bytes crt_bytes = { (const unsigned char *)"crt\n", 4 };

/* A new set with a key (0600) and a certificate (0644); adding the certificate returns want. */
static struct rk_fileset *
stage_key_and_cert(const char *key, const char *crt, int want, struct rk_err *err)
{
	struct rk_fileset *set = NULL;

	assert_int_equal(rk_fileset_new(&set, err), 0);
	assert_int_equal(rk_fileset_add(set, key, key_bytes, 0600, err), 0);
	assert_int_equal(rk_fileset_add(set, crt, crt_bytes, 0644, err), want);
	return set;
}

static void
test_fileset_writes_all_files_with_their_modes(void **state)
{
	struct fixture *f = *state;
	struct rk_fileset *set = NULL;
	struct rk_err err = { 0 };
	struct stat st;
	char key[128], crt[128];

	path_in(key, sizeof(key), f, "a.key");
	path_in(crt, sizeof(crt), f, "a.crt");
	umask(077);
	set = stage_key_and_cert(key, crt, 0, &err);
	/* Nothing has its name before commit. */
	assert_int_equal(lstat(key, &st), -1);
	assert_int_equal(lstat(crt, &st), -1);
	assert_int_equal(rk_fileset_commit(set, &err), 0);
	rk_fileset_free(set);
	umask(022);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 1);	/* the temporary name is gone */
	assert_int_equal(stat(crt, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_file_holds(key, "key\n");
	assert_file_holds(crt, "crt\n");
	assert_folder_holds_only(f, (const char *const[]){ "a.key", "a.crt", NULL });
}

static void
test_fileset_leaves_nothing_when_a_later_file_exists(void **state)
{
	struct fixture *f = *state;
	struct rk_fileset *set = NULL;
	struct rk_err err = { 0 };
	struct stat st;
	char key[128], crt[128];

	path_in(key, sizeof(key), f, "b.key");
	path_in(crt, sizeof(crt), f, "b.crt");
	/* Found at add: refused before anything is written for it. */
	write_file(f->dir, "b.crt", "theirs\n", 7, 0644);
	set = stage_key_and_cert(key, crt, RK_E_SYS, &err);
	assert_non_null(strstr(err.msg, "b.crt: File exists"));
	rk_fileset_free(set);
	assert_int_equal(lstat(key, &st), -1);
	assert_file_holds(crt, "theirs\n");
	assert_folder_holds_only(f, (const char *const[]){ "b.crt", NULL });
	/* Made between add and commit (a race): commit's link(2) refuses it, and takes back
	 * the names it already gave. */
	(void)unlink(crt);
	rk_err_clear(&err);
	set = stage_key_and_cert(key, crt, 0, &err);
	write_file(f->dir, "b.crt", "raced\n", 6, 0644);
	assert_int_equal(rk_fileset_commit(set, &err), RK_E_SYS);
	assert_non_null(strstr(err.msg, "b.crt: File exists"));
	rk_fileset_free(set);
	assert_int_equal(lstat(key, &st), -1);
	assert_file_holds(crt, "raced\n");
	assert_folder_holds_only(f, (const char *const[]){ "b.crt", NULL });
}

static void
test_fileset_undo_removes_only_what_it_wrote(void **state)
{
	struct fixture *f = *state;
	struct rk_fileset *set = NULL;
	struct rk_err err = { 0 };
	struct stat st;
	char key[128], crt[128];

	path_in(key, sizeof(key), f, "c.key");
	path_in(crt, sizeof(crt), f, "c.crt");
	set = stage_key_and_cert(key, crt, 0, &err);
	assert_int_equal(rk_fileset_commit(set, &err), 0);
	/* Someone replaced the certificate meanwhile: undo must not delete their file. */
	(void)unlink(crt);
	write_file(f->dir, "c.crt", "other\n", 6, 0644);
	rk_fileset_undo(set);
	rk_fileset_free(set);
	assert_int_equal(lstat(key, &st), -1);
	assert_file_holds(crt, "other\n");
	assert_folder_holds_only(f, (const char *const[]){ "c.crt", NULL });
}

/*
 * A systemd credential: root's, 0440, directly in $CREDENTIALS_DIRECTORY (a root folder no
 * one else may enter, as systemd 255 makes it). systemd is not PID 1 here: the folder is laid
 * out as it lays it out, and the variable set as it sets it for the service.
 */
static void
test_a_systemd_credential_is_private(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	struct rk_buf b;
	char creds[128], p[192], other[128];

	if (geteuid() != 0)
		skip();
	snprintf(creds, sizeof(creds), "%s/credentials", f->dir);
	assert_int_equal(mkdir(creds, 0500), 0);
	snprintf(p, sizeof(p), "%s/ca-passphrase", creds);
	assert_int_equal(chmod(creds, 0700), 0);
	write_file(creds, "ca-passphrase", "s3cret\n", 7, 0440);
	assert_int_equal(chmod(p, 0440), 0);
	assert_int_equal(chmod(creds, 0500), 0);

	unsetenv("CREDENTIALS_DIRECTORY");
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read_private(&b, p, 100, &err), RK_E_USAGE);
	rk_buf_clear(&b);

	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read_private(&b, p, 100, &err), 0);
	assert_int_equal(b.len, 7);
	rk_buf_clear(&b);

	/* Others may read it, or the group write it: refused, credential or not. */
	assert_int_equal(chmod(p, 0444), 0);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read_private(&b, p, 100, &err), RK_E_USAGE);
	rk_buf_clear(&b);
	assert_int_equal(chmod(p, 0460), 0);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read_private(&b, p, 100, &err), RK_E_USAGE);
	rk_buf_clear(&b);
	/* A folder others may enter is no credentials folder. */
	assert_int_equal(chmod(p, 0440), 0);
	assert_int_equal(chmod(creds, 0505), 0);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read_private(&b, p, 100, &err), RK_E_USAGE);
	rk_buf_clear(&b);
	/* A 0440 file elsewhere, with the variable set, is refused as ever. */
	snprintf(other, sizeof(other), "%s/elsewhere", f->dir);
	write_file(f->dir, "elsewhere", "x", 1, 0440);
	assert_int_equal(chmod(other, 0440), 0);
	assert_int_equal(chmod(creds, 0500), 0);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read_private(&b, other, 100, &err), RK_E_USAGE);
	rk_buf_clear(&b);
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(chmod(creds, 0700), 0);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(rmdir(creds), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_read_returns_whole_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_read_refuses_oversize_at_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_read_refuses_folders_and_missing_files,
		    setup, teardown),
		cmocka_unit_test(test_path_resolve_handles_relative_home_and_absolute),
		cmocka_unit_test_setup_teardown(test_secret_from_file_drops_one_newline, setup,
		    teardown),
		cmocka_unit_test(test_secret_from_env_requires_a_value),
		cmocka_unit_test_setup_teardown(
		    test_file_read_refuses_a_fifo_without_waiting_for_a_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_read_follows_a_symlink_to_a_regular_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_systemd_credential_is_private, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_private_files_refuse_group_and_other_bits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_private_files_must_be_owned_by_this_user_or_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_replace_keeps_mode_owner_and_group,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_file_replace_refuses_a_symlink_and_leaves_both_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileset_writes_all_files_with_their_modes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_fileset_leaves_nothing_when_a_later_file_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileset_undo_removes_only_what_it_wrote,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
