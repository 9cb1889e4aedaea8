/*
 * The transport contract (include/rekey/transport.h) on real servers: one suite, run once over
 * ssh (the harness's sshd, logins rkuser and rkadmin) and once over the local transport (this
 * machine, as root). Since the sshd runs here too, every "remote" path is also a local path,
 * and the tests check results with lstat(2) and read(2), never through the transport itself.
 * Runs under tests/harness/with-servers.sh --ssh 2 (RK_H_ variables, root). Keys are made at
 * run time; nothing secret is committed.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "rekey/clientfile.h"
#include "rekey/envfile.h"
#include "rekey/local.h"
#include "rekey/ssh.h"
#include "rekey/transport.h"

extern char **environ;

#define PATH_MAX_T	1024

#if defined(__SANITIZE_ADDRESS__)
#define RK_TEST_UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RK_TEST_UNDER_ASAN	1
#endif
#endif
#ifndef RK_TEST_UNDER_ASAN
#define RK_TEST_UNDER_ASAN	0
#endif

/* What the harness started, from its RK_H_ variables. */
static struct {
	const char	*dir;
	int		 port[2];
	char		 hostdir[2][PATH_MAX_T];
	const char	*key;
	const char	*known_hosts;
} env;

enum kind {
	KIND_SSH,
	KIND_LOCAL,
};

struct fixture {
	enum kind		 kind;
	struct rk_host		 login;		/* rkuser over ssh; here as root */
	struct rk_host		 admin;		/* rkadmin with sudo; local as root */
	struct rk_host		 bastion;	/* host1, for the jump test */
	struct rk_transport	*t;		/* on login, connected */
	char			 work[PATH_MAX_T];	/* this test's folder, the login's */
	const char		*owner;		/* an owner and group the login may give */
	const char		*group;
	char			 mounted[PATH_MAX_T];	/* a tmpfs to unmount, or "" */
	char			 ak_backup[PATH_MAX_T];	/* authorized_keys to restore */
	pid_t			 sshd_pid;	/* a private sshd this test started, or 0 */
	pid_t			 agent_pid;	/* an ssh-agent this test started, or 0 */
};

static int test_counter;

/* ------------------------------------------------------------------------------------------ */
/* Small tools */

static uid_t
uid_of(const char *name)
{
	struct passwd *pw = getpwnam(name);

	assert_non_null(pw);
	return pw->pw_uid;
}

static gid_t
gid_of(const char *name)
{
	struct group *gr = getgrnam(name);

	assert_non_null(gr);
	return gr->gr_gid;
}

/* snprintf that fails the test instead of cutting a path short. */
static void
format_into(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
format_into(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
}

static void
path_join(char *out, const char *dir, const char *name)
{
	format_into(out, PATH_MAX_T, "%s/%s", dir, name);
}

static void
make_dir(const char *path, mode_t mode, const char *owner, const char *group)
{
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chown(path, uid_of(owner), gid_of(group)), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode, const char *owner,
    const char *group)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchown(fd, uid_of(owner), gid_of(group)), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The whole file, malloc'ed and NUL-terminated; *len its size. */
static char *
read_all(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_NOFOLLOW);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	if (len != NULL)
		*len = (size_t)st.st_size;
	return buf;
}

/* The file at path is exactly content, with mode, owner and group. */
static void
assert_file_is(const char *path, const void *content, size_t len, mode_t mode,
    const char *owner, const char *group)
{
	struct stat st;
	size_t got_len;
	char *got;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid_of(owner));
	assert_int_equal(st.st_gid, gid_of(group));
	got = read_all(path, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, content, len);
	free(got);
}

static size_t
count_entries_containing(const char *dir, const char *needle)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, needle) != NULL)
			n++;
	closedir(d);
	return n;
}

static void
assert_no_temporary_file(const char *dir)
{
	assert_int_equal(count_entries_containing(dir, ".rekey-tmp-"), 0);
	assert_int_equal(count_entries_containing(dir, "rekey-upload-"), 0);
}

static struct rk_bytes
bytes_of(const char *s)
{
	return (struct rk_bytes){ (const unsigned char *)s, strlen(s) };
}

static struct rk_file_spec
spec_of(const char *path, mode_t mode, const char *owner, const char *group)
{
	return (struct rk_file_spec){ .path = path, .owner = owner, .group = group, .mode = mode };
}

/* Runs argv, returns its stdout (malloc'ed) and its exit status in *status. */
static char *
run_capture(const char *const *argv, int *status)
{
	posix_spawn_file_actions_t fa;
	char *out = calloc(1, 65536);
	size_t len = 0;
	ssize_t n;
	int pipefd[2], st;
	pid_t pid;

	assert_non_null(out);
	assert_int_equal(pipe(pipefd), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	assert_int_equal(posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + len, 65535 - len)) > 0)
		len += (size_t)n;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

static void
run_ok(const char *const *argv)
{
	int status;

	free(run_capture(argv, &status));
	assert_int_equal(status, 0);
}

/* The SHA256 fingerprint ssh-keygen -l prints for a public key file. */
static void
fingerprint_of(char *out, size_t size, const char *pubkey)
{
	const char *argv[] = { "ssh-keygen", "-l", "-f", pubkey, NULL };
	char *text, *start, *end;
	int status;

	text = run_capture(argv, &status);
	assert_int_equal(status, 0);
	assert_non_null(start = strstr(text, "SHA256:"));
	assert_non_null(end = strchr(start, ' '));
	*end = '\0';
	assert_true((size_t)snprintf(out, size, "%s", start) < size);
	free(text);
}

static const char *
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];

	assert_non_null(SHA256(data, len, md));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return out;
}

static void
assert_message_has(const struct rk_err *err, const char *needle)
{
	if (strstr(err->msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err->msg, needle);
}

/* ------------------------------------------------------------------------------------------ */
/* Fixtures */

static void
init_ssh_host(struct rk_host *h, const char *name, int port, const char *user, bool sudo)
{
	*h = (struct rk_host){
		.name = (char *)name,
		.transport = RK_TRANSPORT_SSH,
		.address = (char *)"127.0.0.1",
		.port = port,
		.user = (char *)user,
		.identity = (char *)env.key,
		.known_hosts = (char *)env.known_hosts,
		.sudo = sudo,
		.timeout = 30,
	};
}

static void
init_local_host(struct rk_host *h, bool sudo)
{
	*h = (struct rk_host){
		.name = (char *)"local",
		.transport = RK_TRANSPORT_LOCAL,
		.sudo = sudo,
		.timeout = 30,
	};
}

static int
new_transport(struct rk_transport **out, enum kind kind, const struct rk_host *host,
    struct rk_err *err)
{
	if (kind == KIND_SSH)
		return rk_ssh_transport_new(out, host, err);
	return rk_local_transport_new(out, host, err);
}

static int
group_setup_ssh(void **state)
{
	*state = (void *)(uintptr_t)KIND_SSH;
	return 0;
}

static int
group_setup_local(void **state)
{
	*state = (void *)(uintptr_t)KIND_LOCAL;
	return 0;
}

static int
setup(void **state)
{
	enum kind kind = (enum kind)(uintptr_t)*state;
	struct fixture *f = calloc(1, sizeof(*f));
	struct rk_err err = { 0 };
	char base[PATH_MAX_T];

	assert_non_null(f);
	f->kind = kind;
	if (kind == KIND_SSH) {
		init_ssh_host(&f->login, "host1", env.port[0], "rkuser", false);
		init_ssh_host(&f->admin, "host1", env.port[0], "rkadmin", true);
		f->owner = "rkuser";
		f->group = "rkuser";
	} else {
		init_local_host(&f->login, false);
		init_local_host(&f->admin, false);
		f->owner = "nobody";
		f->group = "nogroup";
	}
	format_into(base, sizeof(base), "%s/transport-%d", env.dir, (int)getpid());
	(void)mkdir(base, 0755);
	format_into(f->work, sizeof(f->work), "%s/%s-%d", base, kind == KIND_SSH ? "ssh" : "local",
	    ++test_counter);
	make_dir(f->work, 0755, kind == KIND_SSH ? "rkuser" : "root",
	    kind == KIND_SSH ? "rkuser" : "root");
	assert_int_equal(new_transport(&f->t, kind, &f->login, &err), 0);
	if (f->t->ops->connect(f->t, &err) != 0)
		fail_msg("connect: %s", err.msg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	enum kind kind = f->kind;

	rk_transport_free(f->t);
	if (f->sshd_pid > 0)
		(void)kill(f->sshd_pid, SIGTERM);	/* ours: started by the test below */
	if (f->agent_pid > 0) {
		(void)kill(f->agent_pid, SIGTERM);
		(void)waitpid(f->agent_pid, NULL, 0);
	}
	if (f->mounted[0] != '\0')
		(void)umount2(f->mounted, MNT_DETACH);
	if (f->ak_backup[0] != '\0') {
		char ak[PATH_MAX_T];

		format_into(ak, sizeof(ak), "%s/ak/rkuser", env.hostdir[0]);
		(void)rename(f->ak_backup, ak);
	}
	free(f);
	*state = (void *)(uintptr_t)kind;	/* the group's state again */
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Pushing files */

struct pushed {
	const char	*name;
	const char	*source;	/* a harness file whose bytes we push */
	mode_t		 mode;
	bool		 existed;	/* an old version is there first */
};

static void
push_cert_key_ca_crl(struct rk_transport *t, const char *dir, const char *owner,
    const char *group)
{
	const struct pushed files[] = {
		{ "server.crt", getenv("RK_H_SERVER_CERT"), 0644, true },
		{ "server.key", getenv("RK_H_SERVER_KEY"), 0640, true },
		{ "ca.crt", getenv("RK_H_CA"), 0644, false },
		{ "ca.crl", getenv("RK_H_CA_CRL"), 0644, false },
	};

	for (size_t i = 0; i < 4; i++) {
		struct rk_backup backup = { 0 };
		struct rk_file_stat st;
		struct rk_err err = { 0 };
		struct rk_buf readback;
		struct rk_file_spec spec;
		char path[PATH_MAX_T], hex[65];
		size_t len;
		char *content;

		assert_non_null(files[i].source);
		content = read_all(files[i].source, &len);
		path_join(path, dir, files[i].name);
		if (files[i].existed)
			write_file(path, "old version\n", 12, 0600, owner, group);
		spec = spec_of(path, files[i].mode, owner, group);
		if (t->ops->replace_file(&backup, t, &spec,
		    (struct rk_bytes){ (unsigned char *)content, len }, &err) != 0)
			fail_msg("replace %s: %s", path, err.msg);
		assert_file_is(path, content, len, files[i].mode, owner, group);
		assert_no_temporary_file(dir);

		/* The backup records the old file, and its copy holds the old bytes. */
		assert_int_equal(backup.existed, files[i].existed);
		assert_string_equal(backup.target, path);
		if (files[i].existed) {
			assert_non_null(backup.path);
			assert_int_equal(backup.mode, 0600);
			assert_string_equal(backup.owner, owner);
			assert_string_equal(backup.group, group);
			assert_string_equal(backup.sha256, sha256_hex("old version\n", 12, hex));
			assert_file_is(backup.path, "old version\n", 12, 0600, owner, group);
		} else
			assert_null(backup.path);

		/* stat and read_file see the same as lstat and read. */
		assert_int_equal(t->ops->stat(&st, t, path, RK_REMOTE_FILE_MAX, &err), 0);
		assert_true(st.exists && st.is_regular && !st.is_symlink);
		assert_int_equal(st.mode, files[i].mode);
		assert_string_equal(st.owner, owner);
		assert_string_equal(st.group, group);
		assert_int_equal(st.size, len);
		assert_int_equal(strlen(st.sha256), 64);
		rk_buf_init(&readback, RK_REMOTE_FILE_MAX);
		if (t->ops->read_file(&readback, t, path, RK_REMOTE_FILE_MAX, &err) != 0)
			fail_msg("read %s: %s", path, err.msg);
		assert_int_equal(readback.len, len);
		assert_memory_equal(readback.ptr, content, len);
		rk_buf_clear(&readback);
		rk_backup_clear(&backup);
		free(content);
	}
}

/* Owner and group: the login's own over ssh without sudo, another user's locally as root. */
static void
test_push_of_cert_key_ca_crl_lands_with_exact_mode_owner_content(void **state)
{
	struct fixture *f = *state;

	push_cert_key_ca_crl(f->t, f->work, f->owner, f->group);
}

/* rkadmin with sudo gives the files to another user, in a folder only that user may enter. */
static void
test_push_through_sudo_gives_files_to_another_user(void **state)
{
	struct fixture *f = *state;
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	char dir[PATH_MAX_T];

	path_join(dir, f->work, "nobody-only");
	make_dir(dir, 0700, "nobody", "nogroup");
	assert_int_equal(new_transport(&t, f->kind, &f->admin, &err), 0);
	push_cert_key_ca_crl(t, dir, "nobody", "nogroup");
	rk_transport_free(t);
}

/* ------------------------------------------------------------------------------------------ */
/* Backups and restore */

static void
test_restore_puts_back_exact_previous_bytes_mode_owner(void **state)
{
	struct fixture *f = *state;
	static const char old[] = "-----BEGIN OLD-----\nbytes \x01\x02\xff\n-----END OLD-----\n";
	struct rk_backup backup = { 0 }, none = { 0 };
	struct rk_err err = { 0 };
	struct rk_file_spec spec;
	char path[PATH_MAX_T], fresh[PATH_MAX_T];

	path_join(path, f->work, "app.key");
	write_file(path, old, sizeof(old) - 1, 0640, f->owner, f->group);
	spec = spec_of(path, 0600, f->owner, f->group);
	if (f->t->ops->replace_file(&backup, f->t, &spec, bytes_of("new key\n"), &err) != 0)
		fail_msg("replace: %s", err.msg);
	assert_file_is(path, "new key\n", 8, 0600, f->owner, f->group);

	if (f->t->ops->restore_file(f->t, &backup, &err) != 0)
		fail_msg("restore: %s", err.msg);
	assert_file_is(path, old, sizeof(old) - 1, 0640, f->owner, f->group);
	assert_no_temporary_file(f->work);
	/* The backup stays, for the record and for a second undo. */
	assert_file_is(backup.path, old, sizeof(old) - 1, 0640, f->owner, f->group);
	assert_int_equal(f->t->ops->restore_file(f->t, &backup, &err), 0);
	assert_file_is(path, old, sizeof(old) - 1, 0640, f->owner, f->group);

	/* Undoing the creation of a file that was not there removes it. */
	path_join(fresh, f->work, "new.crt");
	spec = spec_of(fresh, 0644, NULL, NULL);
	assert_int_equal(f->t->ops->replace_file(&none, f->t, &spec, bytes_of("x"), &err), 0);
	assert_false(none.existed);
	assert_int_equal(f->t->ops->restore_file(f->t, &none, &err), 0);
	assert_int_equal(access(fresh, F_OK), -1);
	rk_backup_clear(&backup);
	rk_backup_clear(&none);
}

/* ------------------------------------------------------------------------------------------ */
/* Failures leave the old file alone and say why */

static void
assert_failed_replace_left_old_file(struct fixture *f, struct rk_transport *t,
    const char *dir, const char *path, struct rk_bytes content, const char *cause)
{
	struct rk_backup backup = { 0 };
	struct rk_err err = { 0 };
	struct rk_file_spec spec = spec_of(path, 0644, f->owner, f->group);
	size_t backups_before = count_entries_containing(dir, ".rekey-bak-");

	assert_int_not_equal(t->ops->replace_file(&backup, t, &spec, content, &err), 0);
	assert_message_has(&err, t->host->name);
	assert_message_has(&err, path);
	assert_message_has(&err, cause);
	assert_file_is(path, "old\n", 4, 0644, f->owner, f->group);
	assert_no_temporary_file(dir);
	/* A failed replace keeps no backup: there is nothing to undo. */
	assert_int_equal(count_entries_containing(dir, ".rekey-bak-"), backups_before);
	assert_null(backup.target);
}

/* ------------------------------------------------------------------------------------------ */
/* Several files at once (replace_files) */

/* The exec channels host1's sshd started so far (LogLevel VERBOSE logs each). */
static size_t
count_commands_on_host1(void)
{
	char log[PATH_MAX_T], *text, *p;
	size_t n = 0;

	path_join(log, env.hostdir[0], "sshd.log");
	text = read_all(log, NULL);
	for (p = text; (p = strstr(p, "Starting session: command")) != NULL; p++)
		n++;
	free(text);
	return n;
}

/* Four files, two of them replacing old versions, in one call; over ssh in one command. */
static void
test_replace_files_lands_four_files_with_backups_in_one_command(void **state)
{
	struct fixture *f = *state;
	const char *names[] = { "server.crt", "server.key", "ca.crt", "ca.crl" };
	const mode_t modes[] = { 0644, 0600, 0644, 0644 };
	const char *bodies[] = { "cert\n", "key\n", "ca\n", "" };
	struct rk_file_change changes[4];
	char paths[4][PATH_MAX_T], warm[PATH_MAX_T], hex[65];
	struct rk_file_spec spec;
	struct rk_err err = { 0 };
	size_t before = 0;

	memset(changes, 0, sizeof(changes));
	/* The session's one-time questions (timeout(1), the login's name) asked first. */
	path_join(warm, f->work, "warm-up");
	spec = spec_of(warm, 0644, f->owner, f->group);
	assert_int_equal(f->t->ops->replace_file(NULL, f->t, &spec, bytes_of("x\n"), &err), 0);
	for (size_t i = 0; i < 4; i++) {
		path_join(paths[i], f->work, names[i]);
		if (i < 2)
			write_file(paths[i], "old\n", 4, 0640, f->owner, f->group);
		changes[i].spec = spec_of(paths[i], modes[i], f->owner, f->group);
		changes[i].content = bytes_of(bodies[i]);
	}
	if (f->kind == KIND_SSH)
		before = count_commands_on_host1();
	if (f->t->ops->replace_files(f->t, changes, 4, &err) != 0)
		fail_msg("replace_files: %s", err.msg);
	if (f->kind == KIND_SSH)
		assert_int_equal(count_commands_on_host1() - before, 1);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(changes[i].state, RK_CHANGE_DONE);
		assert_file_is(paths[i], bodies[i], strlen(bodies[i]), modes[i], f->owner, f->group);
		assert_string_equal(changes[i].backup.target, paths[i]);
		assert_int_equal(changes[i].backup.existed, i < 2);
		if (i < 2) {
			assert_string_equal(changes[i].backup.sha256, sha256_hex("old\n", 4, hex));
			assert_int_equal(changes[i].backup.mode, 0640);
			assert_file_is(changes[i].backup.path, "old\n", 4, 0640, f->owner, f->group);
		} else {
			assert_null(changes[i].backup.path);
		}
	}
	assert_no_temporary_file(f->work);
	rk_file_changes_clear(changes, 4);
}

/* More files than one command takes: split, each checked the same. */
static void
test_replace_files_splits_long_lists_and_keeps_the_order(void **state)
{
	struct fixture *f = *state;
	enum { N = RK_REPLACE_BATCH_MAX + 3 };
	struct rk_file_change changes[N];
	char paths[N][PATH_MAX_T], bodies[N][32];
	struct rk_err err = { 0 };

	memset(changes, 0, sizeof(changes));
	for (size_t i = 0; i < N; i++) {
		format_into(bodies[i], sizeof(bodies[i]), "file %zu\n", i);
		format_into(paths[i], sizeof(paths[i]), "%s/f%02zu", f->work, i);
		changes[i].spec = spec_of(paths[i], 0644, f->owner, f->group);
		changes[i].content = bytes_of(bodies[i]);
	}
	/* The same file twice: the later content wins, its backup holds the earlier one. */
	changes[N - 1].spec = changes[0].spec;
	if (f->t->ops->replace_files(f->t, changes, N, &err) != 0)
		fail_msg("replace_files: %s", err.msg);
	for (size_t i = 1; i < N - 1; i++)
		assert_file_is(paths[i], bodies[i], strlen(bodies[i]), 0644, f->owner, f->group);
	assert_file_is(paths[0], bodies[N - 1], strlen(bodies[N - 1]), 0644, f->owner, f->group);
	assert_file_is(changes[N - 1].backup.path, bodies[0], strlen(bodies[0]), 0644, f->owner,
	    f->group);
	assert_no_temporary_file(f->work);
	rk_file_changes_clear(changes, N);
}

/*
 * The second of three files cannot be written (a read-only file system): the first is in
 * place with its backup, the second failed and is untouched, the third was not reached and
 * is untouched too; no temporary file or stray backup anywhere.
 */
static void
test_replace_files_stops_at_the_first_failure(void **state)
{
	struct fixture *f = *state;
	struct rk_file_change changes[3];
	char ro[PATH_MAX_T], paths[3][PATH_MAX_T];
	struct rk_err err = { 0 };

	memset(changes, 0, sizeof(changes));
	path_join(ro, f->work, "ro");
	make_dir(ro, 0755, "root", "root");
	assert_int_equal(mount("tmpfs", ro, "tmpfs", 0, "size=256k,mode=0755"), 0);
	snprintf(f->mounted, sizeof(f->mounted), "%s", ro);
	assert_int_equal(chown(ro, uid_of(f->kind == KIND_SSH ? "rkuser" : "root"), 0), 0);
	path_join(paths[0], f->work, "first.crt");
	path_join(paths[1], ro, "second.crt");
	path_join(paths[2], f->work, "third.crt");
	for (size_t i = 0; i < 3; i++) {
		write_file(paths[i], "old\n", 4, 0644, f->owner, f->group);
		changes[i].spec = spec_of(paths[i], 0644, f->owner, f->group);
		changes[i].content = bytes_of("new\n");
	}
	assert_int_equal(mount(NULL, ro, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	assert_int_not_equal(f->t->ops->replace_files(f->t, changes, 3, &err), 0);
	assert_message_has(&err, f->t->host->name);
	assert_message_has(&err, paths[1]);
	assert_message_has(&err, "Read-only file system");
	assert_int_equal(changes[0].state, RK_CHANGE_DONE);
	assert_int_equal(changes[1].state, RK_CHANGE_FAILED);
	assert_string_equal(changes[1].err.msg, err.msg);
	assert_int_equal(changes[2].state, RK_CHANGE_NOT_REACHED);
	assert_file_is(paths[0], "new\n", 4, 0644, f->owner, f->group);
	assert_file_is(changes[0].backup.path, "old\n", 4, 0644, f->owner, f->group);
	assert_null(changes[1].backup.target);
	assert_file_is(paths[1], "old\n", 4, 0644, f->owner, f->group);
	assert_file_is(paths[2], "old\n", 4, 0644, f->owner, f->group);
	assert_no_temporary_file(f->work);
	assert_no_temporary_file(ro);
	/* One backup: the first file's. */
	assert_int_equal(count_entries_containing(f->work, ".rekey-bak-"), 1);
	assert_int_equal(count_entries_containing(ro, ".rekey-bak-"), 0);
	rk_file_changes_clear(changes, 3);
}

/* A read-only file system (every login, root included, gets EROFS). */
static void
test_failing_upload_to_read_only_folder_leaves_old_file(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX_T], path[PATH_MAX_T];

	path_join(dir, f->work, "ro");
	make_dir(dir, 0755, "root", "root");
	assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0755"), 0);
	snprintf(f->mounted, sizeof(f->mounted), "%s", dir);
	assert_int_equal(chown(dir, uid_of(f->kind == KIND_SSH ? "rkuser" : "root"), 0), 0);
	path_join(path, dir, "server.crt");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	assert_failed_replace_left_old_file(f, f->t, dir, path, bytes_of("new\n"),
	    "Read-only file system");
}

/* A folder the login may not write into (rkuser over ssh; root may write anywhere). */
static void
test_failing_upload_to_folder_not_writable_leaves_old_file(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX_T], path[PATH_MAX_T];

	if (f->kind == KIND_LOCAL)
		skip();		/* root writes everywhere: the read-only test covers local */
	path_join(dir, f->work, "root-only");
	make_dir(dir, 0755, "root", "root");
	path_join(path, dir, "server.crt");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	assert_failed_replace_left_old_file(f, f->t, dir, path, bytes_of("new\n"),
	    "Permission denied");
}

/* A small tmpfs filled up: room for the backup, not for the new file. */
static void
test_failing_upload_to_full_file_system_leaves_old_file(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX_T], path[PATH_MAX_T], filler[PATH_MAX_T];
	static unsigned char big[64 * 1024];
	struct statvfs vfs;
	size_t fill;
	char *zeros;

	path_join(dir, f->work, "full");
	make_dir(dir, 0755, "root", "root");
	assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0755"), 0);
	snprintf(f->mounted, sizeof(f->mounted), "%s", dir);
	assert_int_equal(chown(dir, uid_of(f->kind == KIND_SSH ? "rkuser" : "root"), 0), 0);
	path_join(path, dir, "server.crt");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	assert_int_equal(statvfs(dir, &vfs), 0);
	fill = (size_t)(vfs.f_bavail - 2) * vfs.f_bsize;	/* two pages left */
	assert_non_null(zeros = calloc(1, fill));
	path_join(filler, dir, "filler");
	write_file(filler, zeros, fill, 0644, "root", "root");
	free(zeros);
	memset(big, 'k', sizeof(big));
	assert_failed_replace_left_old_file(f, f->t, dir, path,
	    (struct rk_bytes){ big, sizeof(big) }, "No space left on device");
}

/* The pids of rkuser's sshd session processes under the harness's sshd of host (0 or 1). */
static size_t
find_rkuser_sessions(int host, pid_t *out, size_t max)
{
	char pidfile[PATH_MAX_T], *text;
	pid_t listener, frontier[64];
	size_t nfront = 1, n = 0;
	uid_t rkuser = uid_of("rkuser");

	path_join(pidfile, env.hostdir[host], "sshd.pid");
	text = read_all(pidfile, NULL);
	listener = (pid_t)strtol(text, NULL, 10);
	free(text);
	frontier[0] = listener;
	/* Walk the tree below the listener, breadth first, through /proc. */
	for (size_t i = 0; i < nfront && nfront < 64; i++) {
		struct dirent *de;
		DIR *d = opendir("/proc");

		assert_non_null(d);
		while ((de = readdir(d)) != NULL) {
			char statp[64], buf[512], *close_paren;
			pid_t pid = (pid_t)strtol(de->d_name, NULL, 10), ppid;
			struct stat st;
			FILE *fp;

			if (pid <= 0)
				continue;
			snprintf(statp, sizeof(statp), "/proc/%d/stat", (int)pid);
			if ((fp = fopen(statp, "r")) == NULL)
				continue;
			if (fgets(buf, sizeof(buf), fp) == NULL ||
			    (close_paren = strrchr(buf, ')')) == NULL ||
			    sscanf(close_paren + 2, "%*c %d", &ppid) != 1) {
				fclose(fp);
				continue;
			}
			fclose(fp);
			if (ppid != frontier[i] || nfront >= 64)
				continue;
			frontier[nfront++] = pid;
			snprintf(statp, sizeof(statp), "/proc/%d", (int)pid);
			if (stat(statp, &st) == 0 && st.st_uid == rkuser && n < max)
				out[n++] = pid;
		}
		closedir(d);
	}
	return n;
}

struct killer {
	const char	*dir;
	bool		 killed;
};

/* Waits until the upload has written a megabyte, then kills rkuser's session for real. */
static void *
kill_session_mid_transfer(void *arg)
{
	struct killer *k = arg;

	for (int tries = 0; tries < 20000 && !k->killed; tries++) {
		struct dirent *de;
		DIR *d = opendir(k->dir);

		while (d != NULL && (de = readdir(d)) != NULL) {
			char p[PATH_MAX_T];
			struct stat st;
			pid_t pids[8];
			size_t n;

			if (strstr(de->d_name, ".rekey-tmp-") == NULL)
				continue;
			snprintf(p, sizeof(p), "%s/%s", k->dir, de->d_name);
			if (stat(p, &st) != 0 || st.st_size < 1024 * 1024)
				continue;
			n = find_rkuser_sessions(0, pids, 8);
			for (size_t i = 0; i < n; i++)
				if (kill(pids[i], SIGKILL) == 0)
					k->killed = true;
			break;
		}
		if (d != NULL)
			closedir(d);
		usleep(1000);
	}
	return NULL;
}

static void
test_connection_killed_mid_transfer_leaves_old_file(void **state)
{
	struct fixture *f = *state;
	struct killer k = { .dir = f->work };
	struct rk_file_spec spec;
	struct rk_err err = { 0 };
	char path[PATH_MAX_T];
	size_t len = 64u * 1024 * 1024;
	unsigned char *big;
	pthread_t thread;

	if (f->kind == KIND_LOCAL)
		skip();		/* no connection to kill */
	path_join(path, f->work, "server.crt");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	assert_non_null(big = malloc(len));
	memset(big, 'c', len);
	spec = spec_of(path, 0644, f->owner, f->group);
	assert_int_equal(pthread_create(&thread, NULL, kill_session_mid_transfer, &k), 0);
	assert_int_not_equal(f->t->ops->replace_file(NULL, f->t, &spec,
	    (struct rk_bytes){ big, len }, &err), 0);
	pthread_join(thread, NULL);
	free(big);
	assert_true(k.killed);
	assert_message_has(&err, "host1: replace");
	assert_message_has(&err, "connection lost");
	assert_file_is(path, "old\n", 4, 0644, f->owner, f->group);
	/* The next step reconnects on its own, and the cleanup ran on that new session. */
	assert_no_temporary_file(f->work);
	assert_int_equal(f->t->ops->replace_file(NULL, f->t, &spec, bytes_of("new\n"), &err), 0);
	assert_file_is(path, "new\n", 4, 0644, f->owner, f->group);
}

/* ------------------------------------------------------------------------------------------ */
/* sudo */

/* A result a child process sends back: its return code and message. */
struct child_result {
	int	r;
	char	msg[512];
};

typedef void (*child_fn)(struct child_result *out, const char *path, const char *dir);

/* Runs fn in a child that is user (uid, gid, no other groups), as rekey run by that user. */
static void
run_as(const char *user, child_fn fn, const char *path, const char *dir,
    struct child_result *res)
{
	int pipefd[2], status;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	if ((pid = fork()) == 0) {
		struct child_result mine = { 0 };

		close(pipefd[0]);
		if (setgroups(0, NULL) != 0 || setgid(gid_of(user)) != 0 ||
		    setuid(uid_of(user)) != 0)
			_exit(99);
		fn(&mine, path, dir);
		if (write(pipefd[1], &mine, sizeof(mine)) != (ssize_t)sizeof(mine))
			_exit(98);
		_exit(0);
	}
	assert_true(pid > 0);
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], res, sizeof(*res)), (ssize_t)sizeof(*res));
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
replace_locally_with_sudo(struct child_result *out, const char *path, const char *dir)
{
	struct rk_host host;
	struct rk_transport *t = NULL;
	struct rk_backup backup = { 0 };
	struct rk_err err = { 0 };
	struct rk_file_spec spec = spec_of(path, 0640, "nobody", "nogroup");

	(void)dir;
	init_local_host(&host, true);
	if ((out->r = rk_local_transport_new(&t, &host, &err)) == 0 &&
	    (out->r = t->ops->replace_file(&backup, t, &spec, bytes_of("new\n"), &err)) == 0)
		out->r = t->ops->restore_file(t, &backup, &err);	/* and back, through sudo */
	snprintf(out->msg, sizeof(out->msg), "%s", err.msg);
	rk_backup_clear(&backup);
	rk_transport_free(t);
}

/*
 * The file belongs to nobody in a folder only nobody may enter: rkadmin replaces it (and
 * restores it) through sudo -n; rkuser, who has no sudo rights, fails with sudo's own words.
 */
static void
test_sudo_replaces_other_users_file_and_fails_cleanly_without_rights(void **state)
{
	struct fixture *f = *state;
	struct rk_transport *t = NULL;
	struct rk_backup backup = { 0 };
	struct rk_err err = { 0 };
	struct rk_host refused;
	struct rk_file_spec spec;
	char dir[PATH_MAX_T], path[PATH_MAX_T], expect[PATH_MAX_T + 64];

	path_join(dir, f->work, "pg");
	make_dir(dir, 0700, "nobody", "nogroup");
	path_join(path, dir, "server.key");
	write_file(path, "old\n", 4, 0600, "nobody", "nogroup");
	spec = spec_of(path, 0640, "nobody", "nogroup");
	snprintf(expect, sizeof(expect), "replace %s: sudo: a password is required", path);

	if (f->kind == KIND_LOCAL) {
		struct child_result res;

		run_as("rkadmin", replace_locally_with_sudo, path, dir, &res);
		if (res.r != 0)
			fail_msg("local sudo as rkadmin: %s", res.msg);
		assert_file_is(path, "old\n", 4, 0600, "nobody", "nogroup");
		assert_no_temporary_file(dir);
		assert_no_temporary_file("/tmp");
		run_as("rkuser", replace_locally_with_sudo, path, dir, &res);
		assert_int_equal(res.r, RK_E_REMOTE);
		if (strstr(res.msg, expect) == NULL)
			fail_msg("\"%s\" lacks \"%s\"", res.msg, expect);
		assert_file_is(path, "old\n", 4, 0600, "nobody", "nogroup");
		return;
	}
	assert_int_equal(new_transport(&t, f->kind, &f->admin, &err), 0);
	if (t->ops->replace_file(&backup, t, &spec, bytes_of("new\n"), &err) != 0)
		fail_msg("replace through sudo: %s", err.msg);
	assert_file_is(path, "new\n", 4, 0640, "nobody", "nogroup");
	assert_no_temporary_file(dir);
	assert_no_temporary_file("/tmp");
	if (t->ops->restore_file(t, &backup, &err) != 0)
		fail_msg("restore through sudo: %s", err.msg);
	assert_file_is(path, "old\n", 4, 0600, "nobody", "nogroup");
	rk_backup_clear(&backup);
	rk_transport_free(t);

	/* rkuser claims sudo in the playbook, but has no rights. */
	init_ssh_host(&refused, "db1", env.port[0], "rkuser", true);
	assert_int_equal(new_transport(&t, f->kind, &refused, &err), 0);
	assert_int_equal(t->ops->replace_file(&backup, t, &spec, bytes_of("new\n"), &err),
	    RK_E_REMOTE);
	assert_message_has(&err, "db1: ");
	assert_message_has(&err, expect);
	assert_file_is(path, "old\n", 4, 0600, "nobody", "nogroup");
	rk_transport_free(t);
}

/* ------------------------------------------------------------------------------------------ */
/* Host keys (ssh) */

static size_t
count_auth_lines(int host)
{
	char log[PATH_MAX_T], *text, *p;
	size_t n = 0;

	path_join(log, env.hostdir[host], "sshd.log");
	text = read_all(log, NULL);
	for (p = text; (p = strstr(p, "publickey for")) != NULL; p++)
		n++;
	free(text);
	return n;
}

/* Connects host with known_hosts, expecting RK_E_HOSTKEY before any authentication. */
static void
assert_host_key_refused(struct fixture *f, const char *known_hosts, const char *why)
{
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	struct rk_host host = f->login;
	char pub[PATH_MAX_T], fp[128];
	size_t auth_before = count_auth_lines(0);

	host.known_hosts = (char *)known_hosts;
	path_join(pub, env.hostdir[0], "hk_ed25519.pub");
	fingerprint_of(fp, sizeof(fp), pub);
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	assert_int_equal(t->ops->connect(t, &err), RK_E_HOSTKEY);
	assert_message_has(&err, "host1: connect: ");
	assert_message_has(&err, why);
	assert_message_has(&err, "ED25519 key ");
	assert_message_has(&err, fp);		/* as `ssh-keygen -lf` prints it */
	assert_message_has(&err, "refused before authentication");
	/* The server saw no authentication attempt at all. */
	assert_int_equal(count_auth_lines(0), auth_before);
	rk_transport_free(t);
}

static void
test_unknown_host_key_is_refused_before_auth_with_fingerprint(void **state)
{
	struct fixture *f = *state;
	char kh[PATH_MAX_T], other[PATH_MAX_T], *line;

	if (f->kind == KIND_LOCAL)
		skip();
	/* An empty file, and one that knows only the other host. */
	path_join(kh, f->work, "known_hosts.empty");
	write_file(kh, "", 0, 0644, "root", "root");
	assert_host_key_refused(f, kh, "unknown host key");
	path_join(other, env.hostdir[1], "known_hosts");
	line = read_all(other, NULL);
	path_join(kh, f->work, "known_hosts.other");
	write_file(kh, line, strlen(line), 0644, "root", "root");
	free(line);
	assert_host_key_refused(f, kh, "unknown host key");
}

static void
test_changed_host_key_is_refused_before_auth_with_fingerprint(void **state)
{
	struct fixture *f = *state;
	char kh[PATH_MAX_T], pub2[PATH_MAX_T], line[1024], *key;

	if (f->kind == KIND_LOCAL)
		skip();
	/* host1's name with host2's key: what a man in the middle looks like. */
	path_join(pub2, env.hostdir[1], "hk_ed25519.pub");
	key = read_all(pub2, NULL);
	*strrchr(key, ' ') = '\0';	/* drop the comment */
	snprintf(line, sizeof(line), "[127.0.0.1]:%d %s\n", env.port[0], key);
	free(key);
	path_join(kh, f->work, "known_hosts.changed");
	write_file(kh, line, strlen(line), 0644, "root", "root");
	assert_host_key_refused(f, kh, "HOST KEY CHANGED");
}

/* ------------------------------------------------------------------------------------------ */
/* Jump host */

/* Whether the local TCP port belongs to one of rkuser's sshd sessions on host1 (ss -p). */
static bool
socket_is_held_by_host1_session(int port)
{
	char filter[64], *text, *p;
	const char *argv[] = { "ss", "-Htnp", filter, NULL };
	pid_t pids[8];
	size_t n = find_rkuser_sessions(0, pids, 8);
	bool held = false;
	int status;

	format_into(filter, sizeof(filter), "src 127.0.0.1:%d", port);
	text = run_capture(argv, &status);
	assert_int_equal(status, 0);
	for (p = text; (p = strstr(p, "pid=")) != NULL; p += 4)
		for (size_t i = 0; i < n; i++)
			if (strtol(p + 4, NULL, 10) == (long)pids[i])
				held = true;
	free(text);
	return held;
}

static void
test_jump_reaches_host2_through_host1(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "sh", "-c", "echo \"$SSH_CONNECTION\"", NULL };
	struct rk_run_result res;
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	struct rk_host target;
	struct rk_file_spec spec;
	char dir[PATH_MAX_T], path[PATH_MAX_T];
	int src_port = 0, dst_port = 0;

	if (f->kind == KIND_LOCAL)
		skip();
	init_ssh_host(&f->bastion, "host1", env.port[0], "rkuser", false);
	init_ssh_host(&target, "host2", env.port[1], "rkuser", false);
	target.jump = &f->bastion;
	path_join(dir, f->work, "via-jump");
	make_dir(dir, 0755, "rkuser", "rkuser");
	path_join(path, dir, "server.crt");
	assert_int_equal(new_transport(&t, KIND_SSH, &target, &err), 0);
	spec = spec_of(path, 0644, "rkuser", "rkuser");
	if (t->ops->replace_file(NULL, t, &spec, bytes_of("through the bastion\n"), &err) != 0)
		fail_msg("replace via jump: %s", err.msg);
	assert_file_is(path, "through the bastion\n", 20, 0644, "rkuser", "rkuser");
	/*
	 * host2's sshd saw the connection come from a socket that host1's sshd session of rkuser
	 * holds: the bytes really went through the bastion's direct-tcpip channel.
	 */
	rk_run_result_init(&res);
	assert_int_equal(t->ops->run(&res, t, argv, false, &err), 0);
	assert_true(sscanf((const char *)res.out.ptr, "127.0.0.1 %d 127.0.0.1 %d", &src_port,
	    &dst_port) == 2);
	assert_int_equal(dst_port, env.port[1]);
	rk_run_result_clear(&res);
	assert_true(socket_is_held_by_host1_session(src_port));
	rk_transport_free(t);
}

/* ------------------------------------------------------------------------------------------ */
/* Paths that need quoting */

static void
test_paths_with_space_quote_dollar_backtick_newline(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"with space.crt", "it's.key", "$HOME.crt", "`id`.crt", "new\nline.crt",
		"all of 'them' $(x) `y` \\ \n.pem",
	};
	char dir[PATH_MAX_T];

	path_join(dir, f->work, "odd 'dir' $USER `x`\nend");
	make_dir(dir, 0755, f->kind == KIND_SSH ? "rkuser" : "root",
	    f->kind == KIND_SSH ? "rkuser" : "root");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct rk_backup backup = { 0 };
		struct rk_file_stat st;
		struct rk_err err = { 0 };
		struct rk_file_spec spec;
		char path[PATH_MAX_T];

		path_join(path, dir, names[i]);
		write_file(path, "old\n", 4, 0644, f->owner, f->group);
		spec = spec_of(path, 0600, f->owner, f->group);
		if (f->t->ops->replace_file(&backup, f->t, &spec, bytes_of(names[i]), &err) != 0)
			fail_msg("replace %s: %s", names[i], err.msg);
		assert_file_is(path, names[i], strlen(names[i]), 0600, f->owner, f->group);
		assert_int_equal(f->t->ops->stat(&st, f->t, path, RK_REMOTE_FILE_MAX, &err), 0);
		assert_true(st.exists);
		assert_int_equal(f->t->ops->restore_file(f->t, &backup, &err), 0);
		assert_file_is(path, "old\n", 4, 0644, f->owner, f->group);
		assert_no_temporary_file(dir);
		rk_backup_clear(&backup);
	}
	/* A failure message about such a path is still one line. */
	{
		struct rk_err err = { 0 };
		struct rk_file_spec spec;
		char path[PATH_MAX_T];

		path_join(path, dir, "no\nsuch/dir/x");
		spec = spec_of(path, 0600, NULL, NULL);
		assert_int_not_equal(f->t->ops->replace_file(NULL, f->t, &spec, bytes_of("x"),
		    &err), 0);
		assert_null(strchr(err.msg, '\n'));
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Identities (ssh) */

/* Authorizes pubkey for rkuser on host1 beside the harness key, until teardown. */
static void
authorize_for_rkuser(struct fixture *f, const char *pubkey)
{
	char ak[PATH_MAX_T], *old, *add, *both;

	format_into(ak, sizeof(ak), "%s/ak/rkuser", env.hostdir[0]);
	format_into(f->ak_backup, sizeof(f->ak_backup), "%s/ak/rkuser.before-test", env.hostdir[0]);
	old = read_all(ak, NULL);
	add = read_all(pubkey, NULL);
	assert_true(asprintf(&both, "%s%s", old, add) > 0);
	assert_int_equal(rename(ak, f->ak_backup), 0);
	write_file(ak, both, strlen(both), 0644, "root", "root");
	free(old);
	free(add);
	free(both);
}

static void
test_rsa_identity_is_refused_with_cause_and_remedy(void **state)
{
	struct fixture *f = *state;
	static const char *const formats[] = { "RFC4716", "PEM" };	/* OpenSSH, PEM */
	char key[PATH_MAX_T], pub[PATH_MAX_T];

	if (f->kind == KIND_LOCAL)
		skip();
	for (size_t i = 0; i < 2; i++) {
		const char *keygen[] = { "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "",
		    "-m", formats[i], "-f", key, NULL };
		struct rk_transport *t = NULL;
		struct rk_err err = { 0 };
		struct rk_host host = f->login;

		format_into(key, sizeof(key), "%s/id_rsa_%zu", f->work, i);
		format_into(pub, sizeof(pub), "%s.pub", key);
		run_ok(keygen);
		/* Only the first is authorized: the server refuses both, and both are RSA, so the
		 * message gives the cause that matters (ssh-rsa) rather than authorized_keys. */
		if (i == 0)
			authorize_for_rkuser(f, pub);
		host.identity = key;
		assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
		assert_int_equal(t->ops->connect(t, &err), RK_E_REMOTE);
		assert_message_has(&err, "host1: connect: user rkuser: key ");
		assert_message_has(&err, "ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse");
		assert_message_has(&err, "use an Ed25519 or ECDSA key");
		assert_message_has(&err, "libssh2 1.11");
		rk_transport_free(t);
	}
}

/* An Ed25519 key with a passphrase from the environment; a wrong one names no secret. */
static void
test_identity_passphrase_from_env(void **state)
{
	struct fixture *f = *state;
	char key[PATH_MAX_T], pub[PATH_MAX_T];
	const char *keygen[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret-Pass",
	    "-f", key, NULL };
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	struct rk_host host;

	if (f->kind == KIND_LOCAL)
		skip();
	format_into(key, sizeof(key), "%s/id_pass", f->work);
	format_into(pub, sizeof(pub), "%s.pub", key);
	run_ok(keygen);
	authorize_for_rkuser(f, pub);
	host = f->login;
	host.identity = key;
	host.identity_passphrase.env = (char *)"RK_TEST_SSH_PASSPHRASE";
	setenv("RK_TEST_SSH_PASSPHRASE", "s3cret-Pass", 1);
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	if (t->ops->connect(t, &err) != 0)
		fail_msg("connect with passphrase: %s", err.msg);
	rk_transport_free(t);

	setenv("RK_TEST_SSH_PASSPHRASE", "wrong-Pass", 1);
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	assert_int_not_equal(t->ops->connect(t, &err), 0);
	assert_message_has(&err, "wrong or missing passphrase");
	assert_null(strstr(err.msg, "wrong-Pass"));
	assert_null(strstr(err.msg, "s3cret"));
	rk_transport_free(t);
	unsetenv("RK_TEST_SSH_PASSPHRASE");
}

/*
 * An identity key that group or others may read, or that another user owns, is refused before
 * libssh2 sees it, as OpenSSH's sshkey_perm_ok() refuses it (issue 20): the check is made on
 * the descriptor the key is read from, so a symbolic link to a wide key is refused too. Each
 * copy holds the harness's authorized key, so without the check the login would succeed; the
 * same bytes at 0600, root's, still log in.
 */
static void
test_identity_readable_by_others_or_owned_by_another_user_is_refused(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char	*name;
		mode_t		 mode;
		const char	*owner;
		const char	*link;		/* a symlink to this case's file, or NULL */
		const char	*remedy;
	} cases[] = {
		{ "id_0644", 0644, "root", NULL, "is readable by group or others (mode 0644): "
		    "chmod 600 it" },
		{ "id_0640", 0640, "root", NULL, "is readable by group or others (mode 0640): "
		    "chmod 600 it" },
		{ "id_0620", 0620, "root", NULL, "is writable by group or others (mode 0620): "
		    "chmod 600 it" },
		{ "id_rkuser", 0600, "rkuser", NULL, "chown it" },
		{ "id_wide_target", 0644, "root", "id_link", "chmod 600 it" },
	};
	char key[PATH_MAX_T], link_path[PATH_MAX_T], want[PATH_MAX_T + 64];
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	struct rk_host host;
	size_t len;
	char *bytes;

	if (f->kind == KIND_LOCAL)
		skip();
	bytes = read_all(env.key, &len);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path_join(key, f->work, cases[i].name);
		write_file(key, bytes, len, cases[i].mode, cases[i].owner, cases[i].owner);
		host = f->login;
		host.identity = key;
		if (cases[i].link != NULL) {
			path_join(link_path, f->work, cases[i].link);
			assert_int_equal(symlink(key, link_path), 0);
			host.identity = link_path;
		}
		memset(&err, 0, sizeof(err));
		assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
		assert_int_equal(t->ops->connect(t, &err), RK_E_USAGE);
		/* The message names the path the playbook gave, and what to do. */
		format_into(want, sizeof(want), "identity: %s ", host.identity);
		assert_message_has(&err, want);
		assert_message_has(&err, cases[i].remedy);
		if (strcmp(cases[i].owner, "rkuser") == 0) {
			format_into(want, sizeof(want), "is owned by uid %u, neither this user",
			    (unsigned)uid_of("rkuser"));
			assert_message_has(&err, want);
		}
		rk_transport_free(t);
		t = NULL;
	}

	/* The same bytes, private to root: the login works, so the refusals were the check's. */
	path_join(key, f->work, "id_0600");
	write_file(key, bytes, len, 0600, "root", "root");
	host = f->login;
	host.identity = key;
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	if (t->ops->connect(t, &err) != 0)
		fail_msg("connect with a private copy of the key: %s", err.msg);
	rk_transport_free(t);
	OPENSSL_cleanse(bytes, len);
	free(bytes);
}

/*
 * Read from memory, libssh2 1.10 still takes the key formats it took from a file: ECDSA in
 * OpenSSH format, ECDSA in PEM encrypted with a passphrase from a file; a wrong PEM passphrase
 * and a missing OpenSSH one each get the passphrase message, naming no secret.
 */
static void
test_identity_formats_and_passphrases_from_memory(void **state)
{
	struct fixture *f = *state;
	static const char pem_pass[] = "Pem-Pass-4f9c2e1b7a";
	char ec[PATH_MAX_T], pem[PATH_MAX_T], pubs[PATH_MAX_T], passfile[PATH_MAX_T];
	char ec_pub[PATH_MAX_T], pem_pub[PATH_MAX_T];
	const char *keygen_ec[] = { "ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "",
	    "-f", ec, NULL };
	const char *keygen_pem[] = { "ssh-keygen", "-q", "-t", "ecdsa", "-b", "384", "-N",
	    pem_pass, "-m", "PEM", "-f", pem, NULL };
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	struct rk_host host;
	char *a, *b, *both;

	if (f->kind == KIND_LOCAL)
		skip();
	path_join(ec, f->work, "id_ecdsa");
	path_join(pem, f->work, "id_ecdsa_pem");
	format_into(ec_pub, sizeof(ec_pub), "%s.pub", ec);
	format_into(pem_pub, sizeof(pem_pub), "%s.pub", pem);
	run_ok(keygen_ec);
	run_ok(keygen_pem);
	{
		/* A PEM key says so on its first line; the OpenSSH one is "OPENSSH". */
		char *text = read_all(pem, NULL);

		assert_non_null(strstr(text, "-----BEGIN EC " "PRIVATE KEY-----"));
		assert_non_null(strstr(text, "ENCRYPTED"));
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	/* authorize_for_rkuser keeps one backup: both public keys in one go. */
	a = read_all(ec_pub, NULL);
	b = read_all(pem_pub, NULL);
	assert_true(asprintf(&both, "%s%s", a, b) > 0);
	path_join(pubs, f->work, "both.pub");
	write_file(pubs, both, strlen(both), 0644, "root", "root");
	authorize_for_rkuser(f, pubs);
	free(a);
	free(b);
	free(both);

	/*
	 * libssh2 1.10 leaks the private exponent's BIGNUM (56 bytes, never cleansed) each time
	 * it reads an OpenSSH-format ECDSA key, from a file as from memory (fixed upstream by
	 * e4d056ea, "openssl: fix leaking ECDSA bignum buffer"): LeakSanitizer would fail the
	 * suite for it, so the ASan build leaves this one login out.
	 */
	if (!RK_TEST_UNDER_ASAN) {
		host = f->login;
		host.identity = ec;
		assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
		if (t->ops->connect(t, &err) != 0)
			fail_msg("connect with an OpenSSH-format ECDSA key: %s", err.msg);
		rk_transport_free(t);
	}

	path_join(passfile, f->work, "pem.pass");
	write_file(passfile, pem_pass, strlen(pem_pass), 0600, "root", "root");
	host = f->login;
	host.identity = pem;
	host.identity_passphrase.file = passfile;
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	if (t->ops->connect(t, &err) != 0)
		fail_msg("connect with an encrypted PEM ECDSA key: %s", err.msg);
	rk_transport_free(t);

	write_file(passfile, "Wrong-Pem-Pass-77", 17, 0600, "root", "root");
	memset(&err, 0, sizeof(err));
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	assert_int_equal(t->ops->connect(t, &err), RK_E_USAGE);
	assert_message_has(&err, "wrong or missing passphrase");
	assert_message_has(&err, pem);
	assert_null(strstr(err.msg, "Wrong-Pem-Pass"));
	assert_null(strstr(err.msg, pem_pass));
	rk_transport_free(t);

	/* An encrypted key and no passphrase at all: refused, never a prompt on the terminal. */
	host.identity_passphrase.file = NULL;
	memset(&err, 0, sizeof(err));
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	assert_int_equal(t->ops->connect(t, &err), RK_E_USAGE);
	assert_message_has(&err, "wrong or missing passphrase");
	rk_transport_free(t);
}

/* ------------------------------------------------------------------------------------------ */
/* Targets that are not plain files */

static void
test_symlink_and_non_regular_targets(void **state)
{
	struct fixture *f = *state;
	struct rk_backup backup = { 0 };
	struct rk_err err = { 0 };
	struct rk_file_spec spec;
	char real[PATH_MAX_T], link[PATH_MAX_T], sub[PATH_MAX_T], got[PATH_MAX_T];
	ssize_t n;

	path_join(real, f->work, "real.crt");
	path_join(link, f->work, "link.crt");
	write_file(real, "old\n", 4, 0644, f->owner, f->group);
	assert_int_equal(symlink("real.crt", link), 0);
	spec = spec_of(link, 0644, f->owner, f->group);
	assert_int_equal(f->t->ops->replace_file(&backup, f->t, &spec, bytes_of("new\n"), &err),
	    RK_E_USAGE);
	assert_message_has(&err, "symbolic link");
	assert_file_is(real, "old\n", 4, 0644, f->owner, f->group);
	assert_int_equal(count_entries_containing(f->work, ".rekey-bak-"), 0);

	/* Allowed: the link itself is replaced by a file; its target is left alone. */
	spec.allow_symlink = true;
	rk_err_clear(&err);
	if (f->t->ops->replace_file(&backup, f->t, &spec, bytes_of("new\n"), &err) != 0)
		fail_msg("replace a symlink: %s", err.msg);
	assert_file_is(link, "new\n", 4, 0644, f->owner, f->group);
	assert_file_is(real, "old\n", 4, 0644, f->owner, f->group);
	/* Restore puts the link back, pointing where it pointed. */
	if (f->t->ops->restore_file(f->t, &backup, &err) != 0)
		fail_msg("restore a symlink: %s", err.msg);
	assert_true((n = readlink(link, got, sizeof(got) - 1)) > 0);
	got[n] = '\0';
	assert_string_equal(got, "real.crt");
	rk_backup_clear(&backup);

	path_join(sub, f->work, "a-folder");
	make_dir(sub, 0755, "root", "root");
	spec = spec_of(sub, 0644, NULL, NULL);
	assert_int_equal(f->t->ops->replace_file(NULL, f->t, &spec, bytes_of("x"), &err),
	    RK_E_USAGE);
	assert_message_has(&err, "is not a regular file");
	assert_no_temporary_file(f->work);
}

/* ------------------------------------------------------------------------------------------ */
/* Targets that must not be replaced (issue 20): the replace, over every transport, and the
 * rehearsal's probe_replace refuse each in the same words, before anything is made. */

/* replace_file and probe_replace both refuse path with a message holding needle, the probe
 * as problem (the rehearsal's fix comes from it); nothing was made in dir (no temporary file,
 * no backup) and, when keep is given, keep still holds "old\n". */
static void
assert_target_refused(struct fixture *f, enum rk_push_problem problem, const char *dir,
    const char *path, const char *needle, const char *keep)
{
	struct rk_file_spec spec = spec_of(path, 0644, f->owner, f->group);
	struct rk_backup backup = { 0 };
	struct rk_push_probe probe;
	struct rk_err err = { 0 };
	size_t backups = count_entries_containing(dir, ".rekey-bak-");

	if (f->t->ops->replace_file(&backup, f->t, &spec, bytes_of("new\n"), &err) == 0)
		fail_msg("replace %s was not refused", path);
	assert_int_equal(err.code, RK_E_USAGE);
	assert_message_has(&err, needle);
	assert_null(backup.target);
	rk_err_clear(&err);
	if (f->t->ops->probe_replace(&probe, f->t, &spec, 4, &err) == 0)
		fail_msg("probe_replace %s was not refused", path);
	assert_int_equal(err.code, RK_E_USAGE);
	assert_message_has(&err, needle);
	assert_int_equal(probe.problem, problem);
	assert_no_temporary_file(dir);
	assert_int_equal(count_entries_containing(dir, ".rekey-bak-"), backups);
	if (keep != NULL)
		assert_file_is(keep, "old\n", 4, 0644, f->owner, f->group);
}

static void
assert_target_replaced(struct fixture *f, const char *path, const char *check)
{
	struct rk_file_spec spec = spec_of(path, 0644, f->owner, f->group);
	struct rk_push_probe probe;
	struct rk_err err = { 0 };

	if (f->t->ops->probe_replace(&probe, f->t, &spec, 4, &err) != 0)
		fail_msg("probe_replace %s: %s", path, err.msg);
	if (f->t->ops->replace_file(NULL, f->t, &spec, bytes_of("new\n"), &err) != 0)
		fail_msg("replace %s: %s", path, err.msg);
	assert_file_is(check, "new\n", 4, 0644, f->owner, f->group);
}

/* A target with another name (a hard link): the rename would leave that name on the old bytes,
 * so it is refused with the count; rekey's own backup link beside it does not count. */
static void
test_target_with_other_hard_links_is_refused(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX_T], other[PATH_MAX_T], third[PATH_MAX_T], ours[PATH_MAX_T];
	struct stat st;

	path_join(path, f->work, "server.key");
	path_join(other, f->work, "copy-of-key");
	path_join(third, f->work, "another-copy");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	assert_int_equal(link(path, other), 0);
	assert_target_refused(f, RK_PUSH_HARD_LINKS, f->work, path, "has 1 other hard link: the "
	    "rename would leave it holding the old bytes", other);
	assert_int_equal(link(path, third), 0);
	assert_target_refused(f, RK_PUSH_HARD_LINKS, f->work, path, "has 2 other hard links", third);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_nlink, 3);
	/* A backup link a cut-off run left is ours, not another name of the file. */
	assert_int_equal(unlink(other), 0);
	assert_int_equal(unlink(third), 0);
	format_into(ours, sizeof(ours), "%s.rekey-bak-20250101T000000Z-0badcafe", path);
	assert_int_equal(link(path, ours), 0);
	assert_target_replaced(f, path, path);
	assert_file_is(ours, "old\n", 4, 0644, f->owner, f->group);
	assert_no_temporary_file(f->work);
}

/* A folder on the way that its group or others may write, without the sticky bit, is refused
 * by name and mode, also when a symbolic link on the way leads through it; a link into a safe
 * folder is followed; a sticky folder (a /tmp) is fine, unless the file there is a third
 * user's. */
static void
test_target_in_folder_others_may_write_is_refused(void **state)
{
	struct fixture *f = *state;
	const char *me = f->kind == KIND_SSH ? "rkuser" : "root";
	char open_dir[PATH_MAX_T], group_dir[PATH_MAX_T], inner[PATH_MAX_T], link_dir[PATH_MAX_T];
	char safe[PATH_MAX_T], safe_link[PATH_MAX_T], sticky[PATH_MAX_T], path[PATH_MAX_T];
	char real[PATH_MAX_T], want[PATH_MAX_T];

	path_join(open_dir, f->work, "open");
	make_dir(open_dir, 0777, me, me);
	path_join(path, open_dir, "ca.crt");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	format_into(want, sizeof(want), "the folder %s is writable by others (mode 0777) without "
	    "the sticky bit", open_dir);
	assert_target_refused(f, RK_PUSH_OPEN_FOLDER, open_dir, path, want, path);

	/* Below it, in a folder of its own: the folder above is as open. */
	path_join(inner, open_dir, "inner");
	make_dir(inner, 0755, me, me);
	path_join(path, inner, "ca.crt");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	assert_target_refused(f, RK_PUSH_OPEN_FOLDER, inner, path, want, path);

	/* Through a symbolic link whose written path is clean: the folder it resolves through. */
	path_join(link_dir, f->work, "via-link");
	assert_int_equal(symlink(inner, link_dir), 0);
	path_join(path, link_dir, "ca.crt");
	path_join(real, inner, "ca.crt");
	assert_target_refused(f, RK_PUSH_OPEN_FOLDER, inner, path, want, real);

	path_join(group_dir, f->work, "group");
	make_dir(group_dir, 0775, me, me);
	path_join(path, group_dir, "ca.crt");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	format_into(want, sizeof(want), "the folder %s is writable by its group (mode 0775)",
	    group_dir);
	assert_target_refused(f, RK_PUSH_OPEN_FOLDER, group_dir, path, want, path);

	/* A link into a folder nobody else may write is followed: the file lands there. */
	path_join(safe, f->work, "safe");
	make_dir(safe, 0755, me, me);
	path_join(safe_link, f->work, "safe-link");
	assert_int_equal(symlink("safe", safe_link), 0);
	path_join(path, safe_link, "ca.crt");
	path_join(real, safe, "ca.crt");
	assert_target_replaced(f, path, real);

	/* Sticky and open to all: a new file, or the login's own, is fine... */
	path_join(sticky, f->work, "sticky");
	make_dir(sticky, 01777, "root", "root");
	path_join(path, sticky, "new.crt");
	assert_target_replaced(f, path, path);
	path_join(path, sticky, "own.crt");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	assert_target_replaced(f, path, path);
	/* ...but a third user's file there may have been planted under the name. */
	path_join(path, sticky, "planted.crt");
	write_file(path, "old\n", 4, 0644, "daemon", "daemon");
	format_into(want, sizeof(want), "is daemon's, in %s, which others may write (mode 1777)",
	    sticky);
	assert_target_refused(f, RK_PUSH_FOREIGN_FILE, sticky, path, want, NULL);
	assert_file_is(path, "old\n", 4, 0644, "daemon", "daemon");

	/* Through sudo (root runs the same script on the host): the same refusals. */
	if (f->kind == KIND_SSH) {
		struct rk_transport *login = f->t;
		struct rk_err err = { 0 };

		assert_int_equal(new_transport(&f->t, KIND_SSH, &f->admin, &err), 0);
		assert_target_refused(f, RK_PUSH_FOREIGN_FILE, sticky, path, want, NULL);
		path_join(path, open_dir, "ca.crt");
		format_into(want, sizeof(want), "the folder %s is writable by others (mode 0777)",
		    open_dir);
		assert_target_refused(f, RK_PUSH_OPEN_FOLDER, open_dir, path, want, path);
		rk_transport_free(f->t);
		f->t = login;
	}
}

/* A folder, a FIFO, a socket and a device at the target: refused, never opened (a FIFO that
 * was opened would block the call), left as they are. */
static void
test_target_of_the_wrong_type_is_refused_untouched(void **state)
{
	struct fixture *f = *state;
	const char *names[] = { "folder", "fifo", "socket", "device" };
	const mode_t kinds[] = { S_IFDIR, S_IFIFO, S_IFSOCK, S_IFCHR };
	char path[PATH_MAX_T];
	struct stat before, after;

	for (size_t i = 0; i < 4; i++) {
		path_join(path, f->work, names[i]);
		if (kinds[i] == S_IFDIR) {
			assert_int_equal(mkdir(path, 0755), 0);
		} else if (kinds[i] == S_IFSOCK) {
			struct sockaddr_un sa = { .sun_family = AF_UNIX };
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);

			assert_true(fd >= 0);
			assert_true(strlen(path) < sizeof(sa.sun_path));
			memcpy(sa.sun_path, path, strlen(path) + 1);
			assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
			close(fd);
		} else {
			assert_int_equal(mknod(path, kinds[i] | 0644, kinds[i] == S_IFCHR ?
			    makedev(1, 3) : 0), 0);
		}
		assert_int_equal(lstat(path, &before), 0);
		assert_target_refused(f, RK_PUSH_NOT_FILE, f->work, path, "is not a regular file", NULL);
		assert_int_equal(lstat(path, &after), 0);
		assert_int_equal(after.st_mode, before.st_mode);
		assert_int_equal(after.st_ino, before.st_ino);
		assert_int_equal(after.st_mtime, before.st_mtime);
	}
}

/* '..', '.', '//' and relative paths: refused by every backend before any command runs. */
static void
test_target_path_with_dot_dot_is_refused(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX_T], real[PATH_MAX_T];
	const char *const bad[][2] = {
		{ "sub/../x.crt", "has a '..' component" },
		{ "./x.crt", "has a '.' component" },
		{ "/x.crt", "has an empty component" },
	};
	size_t before = f->kind == KIND_SSH ? count_commands_on_host1() : 0;

	path_join(real, f->work, "x.crt");
	write_file(real, "old\n", 4, 0644, f->owner, f->group);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path_join(path, f->work, bad[i][0]);
		assert_target_refused(f, RK_PUSH_OTHER, f->work, path, bad[i][1], real);
	}
	assert_target_refused(f, RK_PUSH_OTHER, f->work, "-rf x.crt", "the path must be absolute", real);
	if (f->kind == KIND_SSH)
		assert_int_equal(count_commands_on_host1(), before);
}

/* rkuser without sudo cannot give a file to another user: chown fails, the old file stays. */
static void
test_login_without_sudo_cannot_give_file_away(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	struct rk_file_spec spec;
	char path[PATH_MAX_T];

	if (f->kind == KIND_LOCAL)
		skip();		/* root may */
	path_join(path, f->work, "server.key");
	write_file(path, "old\n", 4, 0644, f->owner, f->group);
	spec = spec_of(path, 0600, "nobody", "nogroup");
	assert_int_equal(f->t->ops->replace_file(NULL, f->t, &spec, bytes_of("new\n"), &err),
	    RK_E_REMOTE);
	assert_message_has(&err, "host1: replace ");
	assert_message_has(&err, "Operation not permitted");
	assert_file_is(path, "old\n", 4, 0644, f->owner, f->group);
	assert_no_temporary_file(f->work);
	assert_int_equal(count_entries_containing(f->work, ".rekey-bak-"), 0);
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool
port_answers(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	assert_true(fd >= 0);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* The pid a pid file holds, or 0 while it is missing or not written yet. */
static pid_t
pid_in_file(const char *file)
{
	FILE *fp = fopen(file, "r");
	long pid = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	return (pid_t)pid;
}

/* A private sshd with an ECDSA and an Ed25519 host key, logins as on host1; its port. */
static int
start_sshd_with_ecdsa(struct fixture *f, char *dir)
{
	char cfg[PATH_MAX_T], text[4096], hk[PATH_MAX_T], pidfile[PATH_MAX_T], log[PATH_MAX_T];
	const char *types[] = { "ecdsa", "ed25519" };
	int port = 0;

	path_join(dir, f->work, "sshd-ecdsa");
	make_dir(dir, 0755, "root", "root");
	for (int i = 0; i < 2; i++) {
		const char *keygen[] = { "ssh-keygen", "-q", "-t", types[i], "-N", "", "-f", hk,
		    NULL };

		format_into(hk, sizeof(hk), "%s/hk_%s", dir, types[i]);
		run_ok(keygen);
	}
	path_join(cfg, dir, "sshd_config");
	path_join(pidfile, dir, "sshd.pid");
	path_join(log, dir, "sshd.log");
	/* A port picked free may be taken before sshd binds it (tests run in parallel), and
	 * sshd exits 0 all the same: try again on another port, as the harness does. */
	for (int attempt = 0; attempt < 3; attempt++) {
		const char *sshd[] = { "/usr/sbin/sshd", "-f", cfg, "-E", log, NULL };

		port = free_port();
		(void)unlink(pidfile);
		format_into(text, sizeof(text), "Port %d\nListenAddress 127.0.0.1\n"
		    "HostKey %s/hk_ecdsa\nHostKey %s/hk_ed25519\nPidFile %s\n"
		    "AuthorizedKeysFile %s/ak/%%u\nAllowUsers rkuser\nStrictModes no\n"
		    "PubkeyAuthentication yes\nPasswordAuthentication no\n"
		    "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin no\n"
		    "Subsystem sftp internal-sftp\nLogLevel VERBOSE\n", port, dir, dir, pidfile,
		    env.hostdir[0]);
		write_file(cfg, text, strlen(text), 0644, "root", "root");
		run_ok(sshd);	/* it forks into the background and writes its pid file */
		/* sshd creates its pid file before it writes the pid: wait for a pid. */
		for (int i = 0; i < 100 && (f->sshd_pid = pid_in_file(pidfile)) <= 0; i++)
			usleep(50000);
		for (int i = 0; f->sshd_pid > 0 && i < 100 && !port_answers(port); i++)
			usleep(50000);
		if (f->sshd_pid > 0 && port_answers(port))
			break;
		if (f->sshd_pid > 0)
			(void)kill(f->sshd_pid, SIGTERM);
		f->sshd_pid = 0;
	}
	assert_true(f->sshd_pid > 0);
	return port;
}

/* Connects to port with a known_hosts holding only the key in pubfile. */
static void
assert_connects_knowing_only(struct fixture *f, int port, const char *dir, const char *pubfile)
{
	const char *who[] = { "id", "-un", NULL };
	struct rk_run_result res;
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	struct rk_host host = f->login;
	char kh[PATH_MAX_T], line[1024], *key;

	key = read_all(pubfile, NULL);
	*strrchr(key, ' ') = '\0';
	format_into(line, sizeof(line), "[127.0.0.1]:%d %s\n", port, key);
	free(key);
	path_join(kh, dir, "known_hosts.one");
	write_file(kh, line, strlen(line), 0644, "root", "root");
	host.port = port;
	host.known_hosts = kh;
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	if (t->ops->connect(t, &err) != 0)
		fail_msg("known_hosts with only %s: %s", pubfile, err.msg);
	rk_run_result_init(&res);
	assert_int_equal(t->ops->run(&res, t, who, false, &err), 0);
	assert_string_equal((const char *)res.out.ptr, "rkuser\n");
	rk_run_result_clear(&res);
	rk_transport_free(t);
}

/*
 * libssh2 alone picks ECDSA whenever the server has it (LAB.md (c)), and an Ed25519-only
 * known_hosts then reads as unknown. The algorithm order comes from known_hosts instead.
 */
static void
test_host_key_order_follows_known_hosts_when_server_also_has_ecdsa(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX_T], pub[PATH_MAX_T];
	int port;

	if (f->kind == KIND_LOCAL)
		skip();
	port = start_sshd_with_ecdsa(f, dir);
	path_join(pub, dir, "hk_ed25519.pub");
	assert_connects_knowing_only(f, port, dir, pub);
	path_join(pub, dir, "hk_ecdsa.pub");
	assert_connects_knowing_only(f, port, dir, pub);
}

/* Without an identity file, ssh-agent's keys; without an agent either, a clear refusal. */
static void
test_agent_authenticates_when_no_identity(void **state)
{
	struct fixture *f = *state;
	posix_spawn_file_actions_t fa;
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	struct rk_host host;
	char sock[PATH_MAX_T];
	const char *agent[] = { "ssh-agent", "-D", "-a", sock, NULL };
	const char *add[] = { "ssh-add", "-q", env.key, NULL };
	int status = -1;

	if (f->kind == KIND_LOCAL)
		skip();
	path_join(sock, f->work, "agent.sock");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	assert_int_equal(posix_spawnp(&f->agent_pid, agent[0], &fa, NULL, (char *const *)agent,
	    environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	setenv("SSH_AUTH_SOCK", sock, 1);
	/* The socket exists from bind() but refuses until listen(): retry ssh-add, not access(). */
	for (int i = 0; i < 200 && status != 0; i++) {
		if (i > 0)
			usleep(25000);
		free(run_capture(add, &status));
	}
	assert_int_equal(status, 0);
	host = f->login;
	host.identity = NULL;
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	if (t->ops->connect(t, &err) != 0)
		fail_msg("connect with ssh-agent: %s", err.msg);
	rk_transport_free(t);

	unsetenv("SSH_AUTH_SOCK");
	assert_int_equal(new_transport(&t, KIND_SSH, &host, &err), 0);
	assert_int_equal(t->ops->connect(t, &err), RK_E_USAGE);
	assert_message_has(&err, "no identity file set and no ssh-agent reachable");
	rk_transport_free(t);
}

/* ------------------------------------------------------------------------------------------ */
/* Commands and caps */

static void
test_run_reports_status_output_and_times_out(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 3", NULL };
	const char *slow[] = { "sleep", "10", NULL };
	const char *who[] = { "id", "-un", NULL };
	struct rk_run_result res;
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	struct rk_host quick = f->login;
	time_t started;

	rk_run_result_init(&res);
	assert_int_equal(f->t->ops->run(&res, f->t, argv, false, &err), 0);
	assert_int_equal(res.exit_status, 3);
	assert_string_equal((const char *)res.out.ptr, "out\n");
	assert_string_equal((const char *)res.err.ptr, "err\n");
	rk_run_result_clear(&res);

	/* Through sudo: rkadmin becomes root over ssh; root stays root locally. */
	assert_int_equal(new_transport(&t, f->kind, &f->admin, &err), 0);
	assert_int_equal(t->ops->run(&res, t, who, true, &err), 0);
	assert_string_equal((const char *)res.out.ptr, "root\n");
	rk_run_result_clear(&res);
	rk_transport_free(t);

	quick.timeout = 1;
	assert_int_equal(new_transport(&t, f->kind, &quick, &err), 0);
	started = time(NULL);
	assert_int_equal(t->ops->run(&res, t, slow, false, &err), RK_E_REMOTE);
	assert_message_has(&err, "timed out after 1 s");
	assert_true(time(NULL) - started < 5);
	rk_run_result_clear(&res);
	/* The transport is usable again afterwards. */
	rk_err_clear(&err);
	assert_int_equal(t->ops->run(&res, t, who, false, &err), 0);
	rk_run_result_clear(&res);
	rk_transport_free(t);
}

static void
test_read_file_refuses_more_than_cap(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	struct rk_buf b;
	char path[PATH_MAX_T];

	path_join(path, f->work, "big.crl");
	write_file(path, "0123456789abcdef", 16, 0644, f->owner, f->group);
	rk_buf_init(&b, 64);
	assert_int_equal(f->t->ops->read_file(&b, f->t, path, 10, &err), RK_E_LIMIT);
	assert_message_has(&err, "over the limit of 10");
	rk_buf_clear(&b);
	rk_buf_init(&b, 64);
	rk_err_clear(&err);
	assert_int_equal(f->t->ops->read_file(&b, f->t, path, 16, &err), 0);
	assert_int_equal(b.len, 16);
	rk_buf_clear(&b);
}


/* ------------------------------------------------------------------------------------------ */
/* Bounded remote work */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A 2 GB sparse file as a client's file: refused with the size cap before a byte of it is
 * hashed or read (sha256sum takes about 16 s over it here), by the login and through sudo.
 */
static void
test_client_file_over_the_cap_is_refused_before_it_is_hashed(void **state)
{
	struct fixture *f = *state;
	const struct rk_host *hosts[] = { &f->login, &f->admin };
	struct rk_client_change *change = NULL;
	char path[PATH_MAX_T], want[128];
	int fd;

	path_join(path, f->work, "huge.env");
	write_file(path, "DB_SSL_MODE=require\n", 20, 0644, f->owner, f->group);
	assert_true((fd = open(path, O_WRONLY | O_NOFOLLOW)) >= 0);
	assert_int_equal(ftruncate(fd, 2LL * 1024 * 1024 * 1024), 0);
	close(fd);
	format_into(want, sizeof(want), "file is %lld bytes, over the limit of %d",
	    2LL * 1024 * 1024 * 1024, RK_CLIENT_FILE_MAX);
	for (size_t i = 0; i < 2; i++) {
		struct rk_client client = { .name = (char *)"app", .host = hosts[i], .path = path,
		    .format = RK_FORMAT_ENV };
		struct rk_transport *t = NULL;
		struct rk_file_stat st;
		struct rk_err err = { 0 };
		long long started;

		assert_int_equal(new_transport(&t, f->kind, hosts[i], &err), 0);
		started = now_ms();
		assert_int_equal(rk_client_change_read(&change, t, &client, &err), RK_E_LIMIT);
		assert_message_has(&err, want);
		assert_null(change);
		/* The transport's own stat says the same for any cap. */
		rk_err_clear(&err);
		assert_int_equal(t->ops->stat(&st, t, path, RK_REMOTE_FILE_MAX, &err), RK_E_LIMIT);
		assert_message_has(&err, "over the limit of 4194304");
		if (now_ms() - started >= 5000)
			fail_msg("refusing took %lld ms: the file was read", now_ms() - started);
		rk_transport_free(t);
	}
}

/* Whether a process whose command line holds marker is alive on this machine (the sshd is
 * here too, so "on the host" is here). */
static bool
process_with_word_alive(const char *marker)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir("/proc");

	assert_non_null(d);
	while (!found && (de = readdir(d)) != NULL) {
		char path[300], line[4096];
		ssize_t n;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		format_into(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;		/* gone meanwhile */
		n = read(fd, line, sizeof(line) - 1);
		close(fd);
		if (n <= 0)
			continue;		/* a zombie, or a kernel thread */
		line[n] = '\0';
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(line + i) + 1)
			if (strstr(line + i, marker) != NULL)
				found = true;
	}
	closedir(d);
	return found;
}

/* Polls, with a deadline, until no process holds marker. */
static bool
no_process_left(const char *marker)
{
	long long deadline = now_ms() + 10000;
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	while (process_with_word_alive(marker)) {
		if (now_ms() > deadline)
			return false;
		nanosleep(&pause, NULL);
	}
	return true;
}

/* Runs `sh -c 'sleep MARKER; ...'` on host with a timeout of 1 s: it fails at the timeout,
 * and neither the shell nor the sleep under it is left running. */
static void
assert_overrun_is_killed(enum kind kind, const struct rk_host *host, bool sudo)
{
	struct rk_host quick = *host;
	struct rk_transport *t = NULL;
	struct rk_run_result res;
	struct rk_err err = { 0 };
	char marker[64], script[128];
	const char *argv[] = { "sh", "-c", script, NULL };
	long long started;

	format_into(marker, sizeof(marker), "3600.%d%03d", (int)getpid(), ++test_counter);
	format_into(script, sizeof(script), "sleep %s; echo never", marker);
	quick.timeout = 1;
	assert_int_equal(new_transport(&t, kind, &quick, &err), 0);
	rk_run_result_init(&res);
	started = now_ms();
	assert_int_equal(t->ops->run(&res, t, argv, sudo, &err), RK_E_REMOTE);
	assert_message_has(&err, "timed out after 1 s");
	assert_true(now_ms() - started < 10000);
	rk_run_result_clear(&res);
	if (!no_process_left(marker))
		fail_msg("sleep %s is still running after the timeout", marker);
	rk_transport_free(t);
}

static void
test_command_that_outlives_the_timeout_is_killed_on_the_host(void **state)
{
	struct fixture *f = *state;

	assert_overrun_is_killed(f->kind, &f->login, false);
	/* Through sudo the command runs as root: only a root timeout(1) may stop it. */
	assert_overrun_is_killed(f->kind, &f->admin, true);
}

/* Where this machine has no timeout(1) on the PATH, a local command is still stopped at the
 * deadline with everything it started (its process group). */
static void
test_local_command_without_timeout_is_killed_with_its_group(void **state)
{
	struct fixture *f = *state;
	const char *tools[] = { "sh", "sleep" };
	char bin[PATH_MAX_T], *saved;

	if (f->kind == KIND_SSH)
		skip();
	path_join(bin, f->work, "bin-without-timeout");
	assert_int_equal(mkdir(bin, 0755), 0);
	for (size_t i = 0; i < 2; i++) {
		char link[PATH_MAX_T], target[PATH_MAX_T];

		path_join(link, bin, tools[i]);
		format_into(target, sizeof(target), "/bin/%s", tools[i]);
		assert_int_equal(symlink(target, link), 0);
	}
	assert_non_null(saved = strdup(getenv("PATH")));
	setenv("PATH", bin, 1);
	assert_overrun_is_killed(f->kind, &f->login, false);
	setenv("PATH", saved, 1);
	free(saved);
}
/* ------------------------------------------------------------------------------------------ */

static int
read_env(void)
{
	const char *ports = getenv("RK_H_SSH_PORTS"), *dirs = getenv("RK_H_SSH_DIRS");

	env.dir = getenv("RK_H_DIR");
	env.key = getenv("RK_H_SSH_KEY");
	env.known_hosts = getenv("RK_H_KNOWN_HOSTS");
	if (env.dir == NULL || ports == NULL || dirs == NULL || env.key == NULL ||
	    env.known_hosts == NULL)
		return -1;
	if (sscanf(ports, "%d %d", &env.port[0], &env.port[1]) != 2 ||
	    sscanf(dirs, "%1023s %1023s", env.hostdir[0], env.hostdir[1]) != 2)
		return -1;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_push_of_cert_key_ca_crl_lands_with_exact_mode_owner_content),
		T(test_push_through_sudo_gives_files_to_another_user),
		T(test_restore_puts_back_exact_previous_bytes_mode_owner),
		T(test_replace_files_lands_four_files_with_backups_in_one_command),
		T(test_replace_files_splits_long_lists_and_keeps_the_order),
		T(test_replace_files_stops_at_the_first_failure),
		T(test_failing_upload_to_read_only_folder_leaves_old_file),
		T(test_failing_upload_to_folder_not_writable_leaves_old_file),
		T(test_failing_upload_to_full_file_system_leaves_old_file),
		T(test_connection_killed_mid_transfer_leaves_old_file),
		T(test_sudo_replaces_other_users_file_and_fails_cleanly_without_rights),
		T(test_unknown_host_key_is_refused_before_auth_with_fingerprint),
		T(test_changed_host_key_is_refused_before_auth_with_fingerprint),
		T(test_jump_reaches_host2_through_host1),
		T(test_paths_with_space_quote_dollar_backtick_newline),
		T(test_rsa_identity_is_refused_with_cause_and_remedy),
		T(test_identity_passphrase_from_env),
		T(test_identity_readable_by_others_or_owned_by_another_user_is_refused),
		T(test_identity_formats_and_passphrases_from_memory),
		T(test_symlink_and_non_regular_targets),
		T(test_target_with_other_hard_links_is_refused),
		T(test_target_in_folder_others_may_write_is_refused),
		T(test_target_of_the_wrong_type_is_refused_untouched),
		T(test_target_path_with_dot_dot_is_refused),
		T(test_login_without_sudo_cannot_give_file_away),
		T(test_host_key_order_follows_known_hosts_when_server_also_has_ecdsa),
		T(test_agent_authenticates_when_no_identity),
		T(test_run_reports_status_output_and_times_out),
		T(test_read_file_refuses_more_than_cap),
		T(test_client_file_over_the_cap_is_refused_before_it_is_hashed),
		T(test_command_that_outlives_the_timeout_is_killed_on_the_host),
		T(test_local_command_without_timeout_is_killed_with_its_group),
#undef T
	};
	struct rk_err err = { 0 };
	int failed;

	if (geteuid() != 0 || read_env() != 0) {
		fprintf(stderr, "test_transport: SKIP: needs root and with-servers.sh --ssh 2\n");
		return 77;
	}
	/* RK_TEST_FILTER=test_jump* runs some tests only (cmocka's pattern). */
	if (getenv("RK_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("RK_TEST_FILTER"));
	if (rk_ssh_global_init(&err) != 0) {
		fprintf(stderr, "test_transport: %s\n", err.msg);
		return 1;
	}
	failed = cmocka_run_group_tests_name("transport over ssh", tests, group_setup_ssh, NULL);
	failed += cmocka_run_group_tests_name("transport local", tests, group_setup_local, NULL);
	rk_ssh_global_cleanup();
	return failed == 0 ? 0 : 1;
}
