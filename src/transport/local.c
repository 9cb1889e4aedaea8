/*
 * The local transport. As root (or without sudo) every step is a system call on the file
 * itself; as a non-root user with `sudo: true` the privileged steps are `sudo -n` commands
 * through the command engine (filecmd.c), exactly as over ssh.
 */
#include "rekey/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rekey/fsutil.h"
#include "rekey/strutil.h"
#include "rekey/clock.h"
#include "transport_int.h"

extern char **environ;

#define LOCAL_DEFAULT_TIMEOUT	30	/* seconds, when the host gives none */

struct local_transport {
	struct rk_transport	base;		/* first: the executor sees only this */
	struct tp_cmd_host	cmd;		/* the command engine, for sudo as non-root */
	bool			use_commands;
	enum tp_bound		bound;		/* timeout(1) here, learned once */
};

static struct local_transport *
local_of(struct rk_transport *t)
{
	return (struct local_transport *)t;
}

/* ------------------------------------------------------------------------------------------ */
/* Commands: posix_spawn, both outputs capped, a deadline */

static int
timeout_of(const struct rk_host *host)
{
	return host->timeout > 0 ? host->timeout : LOCAL_DEFAULT_TIMEOUT;
}

/* The environment with LC_ALL=C, so the messages we parse and record are in one language. */
static char **
environment_in_c_locale(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LC_ALL=", 7) != 0)
			env[k++] = environ[i];
	env[k++] = (char *)"LC_ALL=C";
	env[k] = NULL;
	return env;
}

/*
 * Starts argv with stdout and stderr on pipes, in a process group of its own, so that at the
 * deadline everything it started can be killed with it (kill(-pid)), not the child alone.
 */
static int
spawn_with_pipes(pid_t *pid, int *in_fd, int *out_fd, int *err_fd, const char *const *argv,
    struct rk_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int pi[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 }, r = 0, e;
	char **env = NULL;

	if (pipe2(pi, O_CLOEXEC) == -1 || pipe2(po, O_CLOEXEC) == -1 ||
	    pipe2(pe, O_CLOEXEC) == -1) {
		r = rk_fail_errno(err, "pipe");
		goto out;
	}
	if ((env = environment_in_c_locale()) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0) {
		errno = e;
		r = rk_fail_errno(err, "posix_spawn");
		goto out;
	}
	if ((e = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		errno = e;
		r = rk_fail_errno(err, "posix_spawn");
		goto out;
	}
	posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	(void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	(void)posix_spawnattr_setpgroup(&attr, 0);
	e = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		errno = e;
		r = rk_fail_errno(err, "run %s", argv[0]);
		goto out;
	}
	*in_fd = pi[1];
	*out_fd = po[0];
	*err_fd = pe[0];
	pi[1] = po[0] = pe[0] = -1;
 out:
	for (int i = 0; i < 2; i++) {
		if (pi[i] != -1)
			close(pi[i]);
		if (po[i] != -1)
			close(po[i]);
		if (pe[i] != -1)
			close(pe[i]);
	}
	free(env);
	return r;
}

/* Reads what is there on fd into b; *open_fd becomes -1 at EOF. */
static int
drain_into(struct rk_buf *b, int *open_fd, const char *what, struct rk_err *err)
{
	unsigned char chunk[4096];
	ssize_t n = read(*open_fd, chunk, sizeof(chunk));

	if (n == -1 && errno == EINTR)
		return 0;
	if (n == -1)
		return rk_fail_errno(err, "read the %s of a command", what);
	if (n == 0) {
		close(*open_fd);
		*open_fd = -1;
		return 0;
	}
	return rk_buf_append(b, chunk, (size_t)n, err);
}

/*
 * write(2) to a pipe whose reader may be gone, with SIGPIPE held back for this thread (a
 * library must not die of it, nor ignore it for the whole program) and the one it raised, if
 * any, taken off again: EPIPE says the same.
 */
static ssize_t
write_without_sigpipe(int fd, const void *data, size_t len)
{
	sigset_t pipe_only, before, pending;
	const struct timespec now = { 0, 0 };
	bool was_pending;
	ssize_t n;
	int saved;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	sigemptyset(&pending);
	(void)sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	(void)pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
	n = write(fd, data, len);
	saved = errno;
	if (n == -1 && saved == EPIPE && !was_pending)
		(void)sigtimedwait(&pipe_only, NULL, &now);
	(void)pthread_sigmask(SIG_SETMASK, &before, NULL);
	errno = saved;
	return n;
}

/* Writes what the pipe takes of the rest of input; fds[2] is closed at its end, or when
 * the command closed its side (its exit status says what it made of it). */
static int
feed_input(int *fd, struct rk_bytes input, size_t *fed, struct rk_err *err)
{
	ssize_t n = write_without_sigpipe(*fd, input.ptr + *fed, input.len - *fed);

	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n == -1 && errno != EPIPE)
		return rk_fail_errno(err, "write the input of a command");
	if (n > 0)
		*fed += (size_t)n;
	if (n == -1 || *fed == input.len) {
		close(*fd);
		*fd = -1;
	}
	return 0;
}

/* fds: the command's stdin (-1 once closed), stdout and stderr. */
static int
collect_output(struct rk_run_result *out, int *fds, struct rk_bytes input, long long deadline,
    int timeout, struct rk_err *err)
{
	struct pollfd pfd[3];
	size_t fed = 0;
	long long left;
	int r, n;

	if (fds[2] != -1 && input.len == 0) {
		close(fds[2]);
		fds[2] = -1;
	}
	while (fds[0] != -1 || fds[1] != -1) {
		if ((left = deadline - rk_clock_ms()) <= 0)
			return rk_fail(err, RK_E_REMOTE, "timed out after %d s", timeout);
		pfd[0] = (struct pollfd){ .fd = fds[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = fds[1], .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = fds[2], .events = POLLOUT };
		if ((n = poll(pfd, 3, (int)(left > 1000 ? 1000 : left))) == -1) {
			if (errno == EINTR)
				continue;
			return rk_fail_errno(err, "poll");
		}
		if (fds[2] != -1 && (pfd[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0 &&
		    (r = feed_input(&fds[2], input, &fed, err)) != 0)
			return r;
		if (fds[0] != -1 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
		    (r = drain_into(&out->out, &fds[0], "output", err)) != 0)
			return r;
		if (fds[1] != -1 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
		    (r = drain_into(&out->err, &fds[1], "error output", err)) != 0)
			return r;
	}
	return 0;
}

/* Runs words as they are (sudo and timeout already in front), waiting wait_ms at most. */
static int
run_words(struct rk_run_result *out, const char *const *words, struct rk_bytes input,
    long long wait_ms, size_t out_cap, struct rk_err *err)
{
	int fds[3] = { -1, -1, -1 }, status, r;
	pid_t pid = -1;

	rk_run_result_init(out);
	out->out.cap = out_cap;
	if ((r = spawn_with_pipes(&pid, &fds[2], &fds[0], &fds[1], words, err)) != 0)
		return r;
	(void)fcntl(fds[2], F_SETFL, O_NONBLOCK);
	r = collect_output(out, fds, input, rk_clock_ms() + wait_ms,
	    (int)((wait_ms + 999) / 1000), err);
	/* Over time or over the cap: our child's whole group (sudo's, when it went through
	 * sudo; timeout(1) then stops what sudo started, as root). */
	if (r != 0)
		(void)kill(-pid, SIGKILL);
	for (int i = 0; i < 3; i++)
		if (fds[i] != -1)
			close(fds[i]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return r != 0 ? r : rk_fail_errno(err, "waitpid");
	if (r == 0)
		out->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return r;
}

/* Whether this machine has timeout(1), asked once per transport. */
static void
learn_bound(struct local_transport *lt)
{
	int timeout = timeout_of(lt->base.host);
	struct rk_run_result res;
	struct rk_err ignored = { 0 };

	if (lt->bound != TP_BOUND_UNKNOWN)
		return;
	/* Not even starting counts as absent (posix_spawnp says ENOENT). */
	if (run_words(&res, tp_timeout_probe, (struct rk_bytes){ NULL, 0 },
	    (long long)timeout * 1000, RK_REMOTE_OUTPUT_MAX, &ignored) != 0)
		res.exit_status = -1;
	lt->bound = tp_bound_learned(res.exit_status, lt->base.host, timeout);
	tp_identity_learned(&lt->cmd, &res.out);
	rk_run_result_clear(&res);
}

static int
local_run_input(struct rk_run_result *out, void *ctx, const char *const *argv, bool sudo,
    struct rk_bytes input, size_t out_cap, struct rk_err *err)
{
	struct local_transport *lt = ctx;
	struct tp_command cmd;
	long long started;
	int r;

	rk_run_result_init(out);
	learn_bound(lt);
	if ((r = tp_command_build(&cmd, argv, sudo, lt->bound, timeout_of(lt->base.host),
	    err)) != 0)
		return r;
	started = rk_clock_ms();
	if ((r = run_words(out, cmd.words, input, tp_command_wait_ms(&cmd), out_cap, err)) != 0)
		return r;
	return tp_command_check_stopped(&cmd, out->exit_status, rk_clock_ms() - started, err);
}

static int
local_run_capped(struct rk_run_result *out, void *ctx, const char *const *argv, bool sudo,
    size_t out_cap, struct rk_err *err)
{
	return local_run_input(out, ctx, argv, sudo, (struct rk_bytes){ NULL, 0 }, out_cap, err);
}

/* ------------------------------------------------------------------------------------------ */
/* Names and ids */

static void
name_of_user(char *out, size_t size, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    rk_strlcpy(out, res->pw_name, size))
		return;
	snprintf(out, size, "%lu", (unsigned long)uid);	/* no name: the number, as ls */
}

static void
name_of_group(char *out, size_t size, gid_t gid)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    rk_strlcpy(out, res->gr_name, size))
		return;
	snprintf(out, size, "%lu", (unsigned long)gid);
}

static int
uid_of_user(uid_t *out, const char *name, struct rk_err *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return rk_fail(err, RK_E_USAGE, "no user %s on this machine", name);
	*out = res->pw_uid;
	return 0;
}

static int
gid_of_group(gid_t *out, const char *name, struct rk_err *err)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return rk_fail(err, RK_E_USAGE, "no group %s on this machine", name);
	*out = res->gr_gid;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* System calls */

/*
 * The SHA-256 of a regular file of at most cap bytes, the size checked on the descriptor
 * before a byte is read (O_NONBLOCK: a FIFO swapped in after the lstat cannot block the
 * open, and fstat then refuses it).
 */
static int
hash_file(char out[RK_SHA256_HEX], const char *path, size_t cap, struct rk_err *err)
{
	struct stat st;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) == -1)
		return rk_fail_errno(err, "open %s", path);
	if (fstat(fd, &st) == -1)
		r = rk_fail_errno(err, "stat %s", path);
	else if (!S_ISREG(st.st_mode))
		r = rk_fail(err, RK_E_REMOTE, "%s: not a regular file", path);
	else if ((unsigned long long)st.st_size > cap)
		r = tp_fail_over_cap((unsigned long long)st.st_size, cap, err);
	else
		r = rk_sha256_fd(out, fd, path, err);
	close(fd);
	return r;
}

/* lstat(2), and with hash_cap > 0 the SHA-256 of a regular file up to that size. */
static int
stat_path(struct rk_file_stat *out, const char *path, size_t hash_cap, struct rk_err *err)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return rk_fail_errno(err, "stat %s", path);
	}
	out->exists = true;
	out->is_regular = S_ISREG(st.st_mode);
	out->is_symlink = S_ISLNK(st.st_mode);
	out->mode = st.st_mode & 07777;
	out->size = (unsigned long long)st.st_size;
	name_of_user(out->owner, sizeof(out->owner), st.st_uid);
	name_of_group(out->group, sizeof(out->group), st.st_gid);
	if (hash_cap > 0 && out->is_regular)
		return hash_file(out->sha256, path, hash_cap, err);
	return 0;
}

/* What a new file must be: owner and group ids (-1: as created), mode. */
struct wanted {
	uid_t	uid;
	gid_t	gid;
	mode_t	mode;
};

/*
 * Owner and mode, in the order that never widens: the data sits in a file only its creator
 * may read until fchown has run, and the final mode (which may open it to a group) comes last.
 */
static int
settle_owner_mode(int fd, const char *name, const struct wanted *w, struct rk_err *err)
{
	if ((w->uid != (uid_t)-1 || w->gid != (gid_t)-1) && fchown(fd, w->uid, w->gid) == -1)
		return rk_fail_errno(err, "chown %s", name);
	if (fchmod(fd, w->mode & 07777) == -1)
		return rk_fail_errno(err, "chmod %s", name);
	return 0;
}

/* Creates path (O_EXCL, never through a symlink) holding data, with w, fsynced. */
static int
create_file_with(const char *path, struct rk_bytes data, const struct wanted *w,
    struct rk_err *err)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, w->mode & 0700);
	if (fd == -1)
		return rk_fail_errno(err, "create %s", path);
	if ((r = rk_fd_write_all(fd, data, path, err)) != 0 ||
	    (r = settle_owner_mode(fd, path, w, err)) != 0)
		goto out;
	if (fsync(fd) == -1)
		r = rk_fail_errno(err, "fsync %s", path);
 out:
	if (close(fd) == -1 && r == 0)
		r = rk_fail_errno(err, "close %s", path);
	if (r != 0)
		(void)unlink(path);
	return r;
}

static int
copy_bytes(int to, int from, const char *src, const char *dst, struct rk_err *err)
{
	unsigned char chunk[16384];
	ssize_t n;
	int r = 0;

	for (;;) {
		if ((n = read(from, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			r = rk_fail_errno(err, "read %s", src);
			break;
		}
		if (n == 0)
			break;
		if ((r = rk_fd_write_all(to, (struct rk_bytes){ chunk, (size_t)n }, dst, err)) != 0)
			break;
	}
	explicit_bzero(chunk, sizeof(chunk));	/* it may be a private key */
	return r;
}

/* Copies a regular file to a new dst with w and src's times (a backup, or a restore's copy),
 * streaming, so no size limit applies; dst is created O_EXCL and fsynced. */
static int
copy_file_with(const char *src, const char *dst, const struct wanted *w, struct rk_err *err)
{
	struct timespec times[2];
	struct stat st;
	int in = -1, out = -1, r = 0;

	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(in, &st) == -1) {
		r = rk_fail_errno(err, "open %s", src);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = rk_fail(err, RK_E_USAGE, "%s is not a regular file", src);
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, w->mode & 0700);
	if (out == -1) {
		r = rk_fail_errno(err, "create %s", dst);
		goto out;
	}
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if ((r = copy_bytes(out, in, src, dst, err)) != 0 ||
	    (r = settle_owner_mode(out, dst, w, err)) != 0)
		goto out;
	if (futimens(out, times) == -1 || fsync(out) == -1)
		r = rk_fail_errno(err, "finish %s", dst);
 out:
	if (in != -1)
		close(in);
	if (out != -1 && close(out) == -1 && r == 0)
		r = rk_fail_errno(err, "close %s", dst);
	if (out != -1 && r != 0)
		(void)unlink(dst);
	return r;
}

/* A symbolic link at src copied as a link (its own owner kept), for allow_symlink targets. */
static int
copy_symlink(const char *src, const char *dst, struct rk_err *err)
{
	char target[4096];
	struct stat st;
	ssize_t n;

	if (lstat(src, &st) == -1)
		return rk_fail_errno(err, "stat %s", src);
	if ((n = readlink(src, target, sizeof(target) - 1)) == -1)
		return rk_fail_errno(err, "readlink %s", src);
	target[n] = '\0';
	if (symlink(target, dst) == -1)
		return rk_fail_errno(err, "symlink %s", dst);
	if (lchown(dst, st.st_uid, st.st_gid) == -1) {
		(void)unlink(dst);
		return rk_fail_errno(err, "chown %s", dst);
	}
	return 0;
}

static int
wanted_from_names(struct wanted *w, const char *owner, const char *group, mode_t mode,
    struct rk_err *err)
{
	int r;

	w->uid = (uid_t)-1;
	w->gid = (gid_t)-1;
	w->mode = mode;
	if (owner != NULL && (r = uid_of_user(&w->uid, owner, err)) != 0)
		return r;
	if (group != NULL && (r = gid_of_group(&w->gid, group, err)) != 0)
		return r;
	return 0;
}

/* Everything one native replace works with. */
struct native_job {
	const struct rk_file_spec	*spec;
	struct rk_file_stat		 old;
	char				*dir, *tmp, *bak;
	const char			*owner, *group;	/* NULL: whatever it got */
	char				 sha256[RK_SHA256_HEX];
	bool				 swapped;
};

static int
back_up_natively(struct native_job *job, struct rk_err *err)
{
	struct rk_file_stat st;
	struct wanted w;
	int r;

	if (!job->old.exists)
		return 0;
	if ((r = tp_backup_sibling(&job->bak, job->spec->path, err)) != 0)
		return r;
	if (job->old.is_symlink)
		return copy_symlink(job->spec->path, job->bak, err);
	if ((r = wanted_from_names(&w, job->old.owner, job->old.group, job->old.mode, err)) != 0 ||
	    (r = copy_file_with(job->spec->path, job->bak, &w, err)) != 0 ||
	    (r = stat_path(&st, job->bak, RK_REMOTE_FILE_MAX, err)) != 0)
		return r;
	return tp_check_result(&st, job->bak, job->old.mode, job->old.owner, job->old.group,
	    job->old.sha256, err);
}

static int
native_restore(const struct rk_backup *backup, struct rk_err *err);

static void
native_roll_back(struct native_job *job, struct rk_err *err)
{
	struct rk_backup undo = { 0 };
	struct rk_err why = { 0 };
	size_t used = strlen(err->msg);

	if (tp_backup_record(&undo, &job->old, job->spec->path, job->bak, &why) == 0 &&
	    native_restore(&undo, &why) == 0) {
		snprintf(err->msg + used, sizeof(err->msg) - used,
		    "; the previous file was put back");
	} else {
		snprintf(err->msg + used, sizeof(err->msg) - used,
		    "; putting the previous file back failed: %.200s; it is kept in %.200s",
		    why.msg, job->bak != NULL ? job->bak : "(none)");
		free(job->bak);
		job->bak = NULL;		/* the only copy left: never remove it */
	}
	rk_backup_clear(&undo);
}

/*
 * The checks of target_checks.sh, as system calls, for the folder dir and every folder above
 * it (stat(2) follows a symbolic link on the way, as the script's stat -L does): a folder its
 * group or others may write is refused unless sticky. *sticky gets dir's own mode when it is
 * such a sticky folder, else 0. A dir that is not there is left for the replace to report.
 */
static int
check_folder_chain(mode_t *sticky, const char *dir, struct rk_err *err)
{
	struct stat st;
	char *p;
	bool first = true;
	int r = 0;

	if ((p = strdup(dir)) == NULL)
		return rk_fail_nomem(err);
	for (;;) {
		char *slash;

		if (stat(p, &st) == -1) {
			if (!first)
				r = rk_fail_errno(err, "stat %s", p);
			break;			/* first: not there, said by the replace */
		}
		if ((st.st_mode & 022) != 0) {
			if ((st.st_mode & S_ISVTX) == 0) {
				r = tp_fail_open_folder(p, (unsigned)(st.st_mode & 07777), err);
				break;
			}
			if (first)
				*sticky = st.st_mode & 07777;
		}
		first = false;
		if (strcmp(p, "/") == 0)
			break;
		slash = strrchr(p, '/');
		if (slash == p)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(p);
	return r;
}

/* How many names the file at path has besides path and rekey's own backups beside it. */
static int
count_other_links(unsigned long long *out, const char *path, const char *dir,
    const struct stat *st, struct rk_err *err)
{
	const char *base = strrchr(path, '/') + 1;
	size_t blen = strlen(base);
	struct dirent *de;
	struct stat bs;
	DIR *d;

	*out = (unsigned long long)st->st_nlink - 1;
	if ((d = opendir(dir)) == NULL)
		return rk_fail_errno(err, "open the folder %s", dir);
	while ((de = readdir(d)) != NULL && *out > 0) {
		if (strncmp(de->d_name, base, blen) != 0 ||
		    strncmp(de->d_name + blen, ".rekey-bak-", 11) != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &bs, AT_SYMLINK_NOFOLLOW) == 0 &&
		    bs.st_dev == st->st_dev && bs.st_ino == st->st_ino)
			(*out)--;
	}
	closedir(d);
	return 0;
}

/* The folder checks of target_checks.sh for dir, as written and as its links resolve. */
static int
check_folders_natively(mode_t *sticky, const char *dir, struct rk_err *err)
{
	mode_t ignored = 0;
	char *real;
	int r;

	*sticky = 0;
	if ((r = check_folder_chain(sticky, dir, err)) != 0)
		return r;
	if ((real = realpath(dir, NULL)) == NULL)
		return 0;		/* not there: said by the replace */
	r = strcmp(real, dir) != 0 ? check_folder_chain(&ignored, real, err) : 0;
	free(real);
	return r;
}

/* Its file checks: no other hard links, and no other user's file in a sticky folder. */
static int
check_file_natively(const struct rk_file_spec *spec, const char *dir,
    const struct rk_file_stat *old, mode_t sticky, struct rk_err *err)
{
	unsigned long long others = 0;
	struct stat st;
	char me[64];
	int r;

	if (!old->exists)
		return 0;
	if (lstat(spec->path, &st) == -1)
		return rk_fail_errno(err, "stat %s", spec->path);
	if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
		if ((r = count_other_links(&others, spec->path, dir, &st, err)) != 0)
			return r;
		if (others > 0)
			return tp_fail_hard_links(others, err);
	}
	name_of_user(me, sizeof(me), geteuid());
	if (sticky != 0 && strcmp(old->owner, "root") != 0 && strcmp(old->owner, me) != 0 &&
	    (spec->owner == NULL || strcmp(old->owner, spec->owner) != 0))
		return tp_fail_foreign_file(old->owner, dir, (unsigned)sticky, err);
	return 0;
}

static int
native_replace(struct rk_backup *backup, const struct rk_file_spec *spec,
    struct rk_bytes content, struct rk_err *err)
{
	struct native_job job = { .spec = spec };
	struct rk_file_stat now;
	struct wanted w;
	mode_t sticky = 0;
	bool keep_old;
	int r;

	if ((r = rk_sha256_hex(job.sha256, content, err)) != 0 ||
	    (r = rk_path_dirname(&job.dir, spec->path, err)) != 0 ||
	    (r = check_folders_natively(&sticky, job.dir, err)) != 0 ||
	    (r = stat_path(&job.old, spec->path, 0, err)) != 0 ||
	    (r = tp_check_target_kind(&job.old, spec, err)) != 0 ||
	    (r = check_file_natively(spec, job.dir, &job.old, sticky, err)) != 0 ||
	    (r = stat_path(&job.old, spec->path, RK_REMOTE_FILE_MAX, err)) != 0)
		goto out;
	keep_old = job.old.exists && job.old.is_regular;
	job.owner = spec->owner != NULL ? spec->owner : keep_old ? job.old.owner : NULL;
	job.group = spec->group != NULL ? spec->group : keep_old ? job.old.group : NULL;
	if ((r = wanted_from_names(&w, job.owner, job.group, spec->mode, err)) != 0 ||
	    (r = back_up_natively(&job, err)) != 0 ||
	    (r = tp_temp_sibling(&job.tmp, spec->path, err)) != 0)
		goto out;
	if ((r = create_file_with(job.tmp, content, &w, err)) != 0) {
		free(job.tmp);
		job.tmp = NULL;		/* create_file_with removed what it made */
		goto out;
	}
	if (rename(job.tmp, spec->path) == -1) {
		r = rk_fail_errno(err, "rename %s to %s", job.tmp, spec->path);
		goto out;
	}
	free(job.tmp);
	job.tmp = NULL;
	job.swapped = true;
	if ((r = rk_dir_sync(job.dir, err)) != 0 ||
	    (r = stat_path(&now, spec->path, RK_REMOTE_FILE_MAX, err)) != 0 ||
	    (r = tp_check_result(&now, spec->path, spec->mode, job.owner, job.group, job.sha256,
	    err)) != 0)
		goto out;
	if (backup != NULL) {
		if ((r = tp_backup_record(backup, &job.old, spec->path, job.bak, err)) != 0)
			goto out;
		free(job.bak);
		job.bak = NULL;
	}
 out:
	if (r != 0 && job.swapped)
		native_roll_back(&job, err);
	if (job.tmp != NULL)
		(void)unlink(job.tmp);
	if (job.bak != NULL)
		(void)unlink(job.bak);
	free(job.tmp);
	free(job.bak);
	free(job.dir);
	return r;
}

static int
native_restore_removal(const struct rk_backup *backup, const char *dir, struct rk_err *err)
{
	struct rk_file_stat st;
	int r;

	if (unlink(backup->target) == -1 && errno != ENOENT)
		return rk_fail_errno(err, "remove %s", backup->target);
	if ((r = rk_dir_sync(dir, err)) != 0 || (r = stat_path(&st, backup->target, 0, err)))
		return r;
	return st.exists ? rk_fail(err, RK_E_SYS, "%s is still there", backup->target) : 0;
}

static int
native_restore(const struct rk_backup *backup, struct rk_err *err)
{
	struct rk_file_stat bak, now;
	char *dir = NULL, *tmp = NULL;
	struct wanted w;
	int r;

	if (backup->target == NULL || (backup->existed && backup->path == NULL))
		return rk_fail(err, RK_E_INTERNAL, "restore: incomplete backup record");
	if ((r = rk_path_dirname(&dir, backup->target, err)) != 0)
		return r;
	if (!backup->existed) {
		r = native_restore_removal(backup, dir, err);
		goto out;
	}
	if ((r = stat_path(&bak, backup->path, 0, err)) != 0)
		goto out;
	if (!bak.exists) {
		r = rk_fail(err, RK_E_SYS, "the backup %s is gone", backup->path);
		goto out;
	}
	if ((r = tp_temp_sibling(&tmp, backup->target, err)) != 0)
		goto out;
	/* A copy, not a move: the backup stays for the record and for a second undo. */
	if (bak.is_symlink)
		r = copy_symlink(backup->path, tmp, err);
	else if ((r = wanted_from_names(&w, backup->owner, backup->group, backup->mode, err)) == 0)
		r = copy_file_with(backup->path, tmp, &w, err);
	if (r != 0 && !bak.is_symlink) {
		/* A full disk fails the copy, just when a pair's second file failed and its first
		 * must go back. The backup is the old file under another name: linked back, it
		 * needs no data block, and it stays a backup too. */
		(void)unlink(tmp);
		if (link(backup->path, tmp) == 0) {
			rk_err_clear(err);
			r = 0;
		}
	}
	if (r != 0)
		goto out;
	if (rename(tmp, backup->target) == -1) {
		r = rk_fail_errno(err, "rename %s to %s", tmp, backup->target);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if ((r = rk_dir_sync(dir, err)) != 0 ||
	    (r = stat_path(&now, backup->target, RK_REMOTE_FILE_MAX, err)))
		goto out;
	if (bak.is_symlink)
		r = now.is_symlink ? 0 : rk_fail(err, RK_E_SYS, "check %s: not a symbolic link",
		    backup->target);
	else
		r = tp_check_result(&now, backup->target, backup->mode, backup->owner,
		    backup->group, backup->sha256, err);
 out:
	if (tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	free(dir);
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* The command engine's primitives for sudo as non-root */


/* ------------------------------------------------------------------------------------------ */
/* The operations */

static int
local_connect(struct rk_transport *t, struct rk_err *err)
{
	return tp_fault_point(t, "connect", err);
}

static int
local_stat(struct rk_file_stat *out, struct rk_transport *t, const char *path, size_t hash_cap,
    struct rk_err *err)
{
	struct local_transport *lt = local_of(t);
	int r;

	if ((r = tp_fault_point(t, "stat", err)) != 0)
		return tp_finish(r, t, "stat", path, err);
	if (lt->use_commands)
		r = tp_cmd_stat(out, &lt->cmd, path, hash_cap, err);
	else
		r = stat_path(out, path, hash_cap, err);
	return tp_finish(r, t, "stat", path, err);
}

static int
local_read_file(struct rk_buf *out, struct rk_transport *t, const char *path, size_t cap,
    struct rk_err *err)
{
	struct local_transport *lt = local_of(t);
	int r;

	if ((r = tp_fault_point(t, "read", err)) != 0)
		return tp_finish(r, t, "read", path, err);
	if (lt->use_commands)
		r = tp_cmd_read_file(out, &lt->cmd, path, cap, err);
	else
		r = rk_file_read(out, path, cap, err);
	return tp_finish(r, t, "read", path, err);
}

static int
local_replace_file(struct rk_backup *backup, struct rk_transport *t,
    const struct rk_file_spec *spec, struct rk_bytes content, struct rk_err *err)
{
	struct local_transport *lt = local_of(t);
	int r;

	if ((r = tp_fault_point(t, "replace", err)) != 0)
		return tp_finish(r, t, "replace", spec->path, err);
	if (backup != NULL)
		rk_backup_clear(backup);
	if ((r = tp_check_target_path(spec->path, err)) != 0)
		return tp_finish(r, t, "replace", spec->path, err);	/* nothing touched */
	if (lt->use_commands)
		r = tp_cmd_replace(backup, &lt->cmd, spec, content, err);
	else
		r = native_replace(backup, spec, content, err);
	return tp_finish(r, t, "replace", spec->path, err);
}

static int
local_replace_files(struct rk_transport *t, struct rk_file_change *changes, size_t n,
    struct rk_err *err)
{
	struct local_transport *lt = local_of(t);
	size_t i;
	int r;

	if ((r = tp_fault_point(t, "replace", err)) != 0) {
		/* As a batch that failed on its first file: that one FAILED, the rest untouched. */
		if (n > 0) {
			changes[0].state = RK_CHANGE_FAILED;
			changes[0].err = *err;
			(void)tp_finish(r, t, "replace", changes[0].spec.path, &changes[0].err);
		}
		return tp_finish(r, t, "replace", n > 0 ? changes[0].spec.path : NULL, err);
	}
	if (!lt->use_commands)
		return tp_replace_each(t, changes, n, err);	/* each already prefixed */
	r = tp_cmd_replace_many(&lt->cmd, changes, n, err);
	for (i = 0; i < n && changes[i].state != RK_CHANGE_FAILED; i++)
		;
	if (i < n)
		(void)tp_finish(-1, t, "replace", changes[i].spec.path, &changes[i].err);
	return tp_finish(r, t, "replace", i < n ? changes[i].spec.path : NULL, err);
}

static int
local_restore_file(struct rk_transport *t, const struct rk_backup *backup, struct rk_err *err)
{
	struct local_transport *lt = local_of(t);
	int r;

	if ((r = tp_fault_point(t, "restore", err)) != 0)
		return tp_finish(r, t, "restore", backup->target, err);
	if (lt->use_commands)
		r = tp_cmd_restore(&lt->cmd, backup, err);
	else
		r = native_restore(backup, err);
	return tp_finish(r, t, "restore", backup->target, err);
}

static int
local_run(struct rk_run_result *out, struct rk_transport *t, const char *const *argv, bool sudo,
    struct rk_err *err)
{
	/* root needs no sudo, and a machine without sudo installed still works for root. */
	bool through_sudo = sudo && geteuid() != 0;
	int r;

	if ((r = tp_fault_point(t, "run", err)) != 0)
		return tp_finish(r, t, "run", argv != NULL && argv[0] != NULL ? argv[0] : "", err);
	r = local_run_capped(out, local_of(t), argv, through_sudo, RK_REMOTE_OUTPUT_MAX, err);
	return tp_finish(r, t, "run", argv != NULL && argv[0] != NULL ? argv[0] : "", err);
}

static int
local_run_big(struct rk_run_result *out, struct rk_transport *t, const char *const *argv,
    bool sudo, size_t out_cap, struct rk_err *err)
{
	bool through_sudo = sudo && geteuid() != 0;
	int r;

	if ((r = tp_fault_point(t, "run", err)) != 0)
		return tp_finish(r, t, "run", argv != NULL && argv[0] != NULL ? argv[0] : "", err);
	r = local_run_capped(out, local_of(t), argv, through_sudo, out_cap, err);
	return tp_finish(r, t, "run", argv != NULL && argv[0] != NULL ? argv[0] : "", err);
}

static void
local_free(struct rk_transport *t)
{
	free(t);
}

static const struct rk_transport_ops local_ops = {
	.name = "local",
	.connect = local_connect,
	.stat = local_stat,
	.read_file = local_read_file,
	.replace_file = local_replace_file,
	.replace_files = local_replace_files,
	.restore_file = local_restore_file,
	.run = local_run,
	.run_capped = local_run_big,
	.probe_replace = tp_probe_replace,
	.free = local_free,
};

static bool
uses_commands(const struct rk_host *host)
{
	return host->sudo && geteuid() != 0;
}

const char *
rk_local_rename_method(const struct rk_host *host)
{
	return uses_commands(host) ? "sudo -n mv -f -T (rename(2) as root)" : "rename(2)";
}

int
rk_local_transport_new(struct rk_transport **out, const struct rk_host *host,
    struct rk_err *err)
{
	struct local_transport *lt;

	*out = NULL;
	if ((lt = calloc(1, sizeof(*lt))) == NULL)
		return rk_fail_nomem(err);
	lt->base.ops = &local_ops;
	lt->base.host = host;
	lt->use_commands = uses_commands(host);
	lt->cmd = (struct tp_cmd_host){
		.host = host,
		.ctx = lt,
		.run = local_run_capped,
		.run_input = local_run_input,
	};
	*out = &lt->base;
	return 0;
}
