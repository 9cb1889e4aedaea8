/*
 * The command engine: stat, read, replace and restore with GNU coreutils on the host, each an
 * argv array run by the backend (an exec channel for ssh, fork and exec for local + sudo).
 *
 * Why commands and not SFTP alone: SFTP v3 has no owner names, no chown by name, no rename
 * over an existing file (OpenSSH's sftp-server refuses, LAB.md (c)), and nothing runs through
 * sudo. The rename is `mv -f -T`, which is rename(2) on the host: readers see the old file or
 * the new one, never a mix, and never nothing. We never delete and then rename.
 *
 * No moment wider than the final mode:
 *  - login path (no sudo): the temporary sibling is created O_EXCL with the final mode when the
 *    login keeps owning it; when owner or group must change, with the final mode's owner bits
 *    only, then chown, then chmod to the final mode (chown before chmod, as install(1) does).
 *  - sudo path: the content goes to a 0600 file of the login in the scratch folder, and
 *    `sudo -n install -m MODE -o OWNER -g GROUP` copies it beside the target. install creates
 *    its copy 0600 (root), chowns, then chmods (coreutils install.c), so the group and others
 *    get nothing before the owner and group are right. Then `sudo -n mv -f -T`.
 *  - backups: `cp -p` creates its copy without group and other bits until the owner is set
 *    (coreutils copy.c: "so unauthorized users cannot nip in before the file is ready").
 */
#include "transport_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/fsutil.h"
#include "rekey/strutil.h"

/*
 * One round trip for stat, type and hash. LC_ALL=C keeps stat's message parseable; exit 3
 * means "no such file" and nothing else (a folder we may not search is an error, not absence).
 * %f is the raw st_mode in hex: "%F" would say "regular empty file" for an empty one. $2 is
 * the hash cap in bytes, or "-": a file over it is not read at all (exit 4), so a 2 GB file
 * costs a stat, not a minute of sha256sum.
 */
static const char stat_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "if ! out=$(stat -c '%f %U %G %s' -- \"$1\" 2>&1); then\n"
    "\tcase $out in *': No such file or directory') exit 3 ;; esac\n"
    "\tprintf '%s\\n' \"$out\" >&2\n"
    "\texit 1\n"
    "fi\n"
    "printf '%s\\n' \"$out\"\n"
    "if [ \"$2\" != - ] && [ -f \"$1\" ] && [ ! -h \"$1\" ]; then\n"
    "\t[ \"${out##* }\" -le \"$2\" ] || exit 4\n"
    "\tsha256sum < \"$1\" || exit 1\n"
    "fi\n";

#define STAT_EXIT_ABSENT	3
#define STAT_EXIT_OVER_CAP	4

int
tp_run_result_check(const struct rk_run_result *res, const char *const *argv,
    struct rk_err *err)
{
	char line[320];

	if (res->exit_status == 0)
		return 0;
	tp_first_line(line, sizeof(line), &res->err);
	if (line[0] != '\0')
		return rk_fail(err, RK_E_REMOTE, "%s", line);
	if (res->exit_status < 0)
		return rk_fail(err, RK_E_REMOTE, "%s was killed or its channel broke", argv[0]);
	return rk_fail(err, RK_E_REMOTE, "%s exited with status %d", argv[0], res->exit_status);
}

int
tp_cmd_must_succeed(struct tp_cmd_host *h, const char *const *argv, bool sudo,
    struct rk_err *err)
{
	struct rk_run_result res;
	int r;

	rk_run_result_init(&res);
	if ((r = h->run(&res, h->ctx, argv, sudo, RK_REMOTE_OUTPUT_MAX, err)) == 0)
		r = tp_run_result_check(&res, argv, err);
	rk_run_result_clear(&res);
	return r;
}

/* Copies one space-separated word of *p into dst and moves *p past it and one space. */
static bool
take_word(char *dst, size_t size, const char **p)
{
	const char *end = strchr(*p, ' ');
	size_t len;

	if (end == NULL)
		return false;
	len = (size_t)(end - *p);
	if (len == 0 || len >= size)
		return false;
	memcpy(dst, *p, len);
	dst[len] = '\0';
	*p = end + 1;
	return true;
}

static bool
is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int
parse_stat_output(struct rk_file_stat *out, const struct rk_buf *b, bool with_hash,
    const char *path, struct rk_err *err)
{
	const char *p = (const char *)b->ptr, *nl;
	char *end;
	unsigned long raw;
	unsigned long long size;

	if (p == NULL)
		goto bad;
	raw = strtoul(p, &end, 16);
	if (end == p || *end != ' ')
		goto bad;
	p = end + 1;
	if (!take_word(out->owner, sizeof(out->owner), &p) ||
	    !take_word(out->group, sizeof(out->group), &p))
		goto bad;
	size = strtoull(p, &end, 10);
	if (end == p || *end != '\n')
		goto bad;
	out->exists = true;
	out->is_regular = (raw & 0170000) == 0100000;
	out->is_symlink = (raw & 0170000) == 0120000;
	out->mode = (mode_t)(raw & 07777);
	out->size = size;
	if (with_hash && out->is_regular) {
		nl = end + 1;
		if (strlen(nl) < 64 || !is_hex64(nl))
			goto bad;
		memcpy(out->sha256, nl, 64);
		out->sha256[64] = '\0';
	}
	return 0;
 bad:
	return rk_fail(err, RK_E_REMOTE, "stat %s: unexpected output from stat/sha256sum", path);
}

int
tp_cmd_stat(struct rk_file_stat *out, struct tp_cmd_host *h, const char *path, size_t hash_cap,
    struct rk_err *err)
{
	char cap[32];
	const char *argv[] = { "sh", "-c", stat_script, "rekey-stat", path, cap, NULL };
	struct rk_run_result res;
	int r;

	memset(out, 0, sizeof(*out));
	if (hash_cap > 0)
		(void)snprintf(cap, sizeof(cap), "%zu", hash_cap);
	else
		(void)snprintf(cap, sizeof(cap), "-");
	rk_run_result_init(&res);
	if ((r = h->run(&res, h->ctx, argv, h->host->sudo, RK_REMOTE_OUTPUT_MAX, err)) != 0)
		goto out;
	if (res.exit_status == STAT_EXIT_ABSENT)
		goto out;			/* r is 0: absent is an answer */
	if (res.exit_status == STAT_EXIT_OVER_CAP) {
		if ((r = parse_stat_output(out, &res.out, false, path, err)) == 0)
			r = tp_fail_over_cap(out->size, hash_cap, err);
		goto out;
	}
	if ((r = tp_run_result_check(&res, argv, err)) != 0)
		goto out;
	r = parse_stat_output(out, &res.out, hash_cap > 0, path, err);
 out:
	rk_run_result_clear(&res);
	return r;
}

int
tp_cmd_read_file(struct rk_buf *out, struct tp_cmd_host *h, const char *path, size_t cap,
    struct rk_err *err)
{
	const char *argv[] = { "cat", "--", path, NULL };
	struct rk_file_stat st;
	struct rk_run_result res;
	int r;

	rk_run_result_init(&res);
	if ((r = tp_cmd_stat(&st, h, path, 0, err)) != 0)
		goto out;
	if (!st.exists) {
		r = rk_fail(err, RK_E_REMOTE, "no such file");
		goto out;
	}
	if (!st.is_regular && !st.is_symlink) {
		r = rk_fail(err, RK_E_REMOTE, "not a regular file");
		goto out;
	}
	if (st.is_regular && st.size > cap) {
		r = tp_fail_over_cap(st.size, cap, err);
		goto out;
	}
	/* The cap holds on the wire too: the file may have grown since the stat. */
	if ((r = h->run(&res, h->ctx, argv, h->host->sudo, cap, err)) != 0 ||
	    (r = tp_run_result_check(&res, argv, err)) != 0)
		goto out;
	out->cap = cap;
	r = rk_buf_append(out, res.out.ptr != NULL ? res.out.ptr : (const unsigned char *)"",
	    res.out.len, err);
 out:
	rk_run_result_clear(&res);
	return r;
}

/* Everything one replace works with, released in one place. */
struct replace_job {
	struct tp_cmd_host		*h;
	const struct rk_file_spec	*spec;
	bool				 sudo;
	char				*dir;		/* the target's folder */
	char				*tmp;		/* the temporary sibling */
	char				*bak;		/* the backup copy, or NULL */
	char				*scratch;	/* the private upload (sudo path) */
	struct rk_file_stat		 old;
	/* What the new file must have; "": whatever it gets. */
	char				 owner[64];
	char				 group[64];
	char				 sha256[RK_SHA256_HEX];
	bool				 swapped;	/* the rename happened */
};

static void
replace_job_clear(struct replace_job *job)
{
	free(job->dir);
	free(job->tmp);
	free(job->bak);
	free(job->scratch);
}

/* Removes path through the same privilege that made it; best effort (cleanup). */
static void
remove_quietly(struct tp_cmd_host *h, const char *path, bool sudo)
{
	const char *argv[] = { "rm", "-f", "--", path, NULL };
	struct rk_err ignored = { 0 };

	if (tp_cmd_must_succeed(h, argv, sudo, &ignored) != 0)
		return;		/* the connection may be gone: nothing more to do here */
}

/* NULL keeps the current owner and group (of the old file); a symlink's own are meaningless. */
static int
choose_owner_group(struct replace_job *job, struct rk_err *err)
{
	const struct rk_file_spec *spec = job->spec;
	bool keep_old = job->old.exists && job->old.is_regular;
	const char *owner = spec->owner != NULL ? spec->owner : keep_old ? job->old.owner : "";
	const char *group = spec->group != NULL ? spec->group : keep_old ? job->old.group : "";

	if (!rk_strlcpy(job->owner, owner, sizeof(job->owner)) ||
	    !rk_strlcpy(job->group, group, sizeof(job->group)))
		return rk_fail(err, RK_E_USAGE, "owner or group name too long");
	return 0;
}

static int
sync_path(struct tp_cmd_host *h, const char *path, bool sudo, struct rk_err *err)
{
	const char *argv[] = { "sync", "--", path, NULL };

	return tp_cmd_must_succeed(h, argv, sudo, err);
}

/* Copies the old file beside itself (mode, owner and times kept), makes it durable and checks
 * that the copy holds the same bytes, so a restore can trust it. */
static int
back_up_old_file(struct replace_job *job, struct rk_err *err)
{
	const char *path = job->spec->path;
	struct rk_file_stat st;
	int r;

	if (!job->old.exists)
		return 0;
	if ((r = tp_backup_sibling(&job->bak, path, err)) != 0)
		return r;
	{
		const char *cp[] = { "cp", "-P", "-p", "--", path, job->bak, NULL };

		if ((r = tp_cmd_must_succeed(job->h, cp, job->sudo, err)) != 0) {
			rk_err_prefix(err, "back up");
			return r;
		}
	}
	if ((r = sync_path(job->h, job->bak, job->sudo, err)) != 0 ||
	    (r = tp_cmd_stat(&st, job->h, job->bak, RK_REMOTE_FILE_MAX, err)) != 0) {
		rk_err_prefix(err, "back up");
		return r;
	}
	if (job->old.is_symlink)
		return st.is_symlink ? 0 : rk_fail(err, RK_E_REMOTE,
		    "back up: the copy of the symbolic link is not a link");
	if ((r = tp_check_result(&st, job->bak, job->old.mode, job->old.owner, job->old.group,
	    job->old.sha256, err)) != 0)
		rk_err_prefix(err, "back up");
	return r;
}

static void
format_mode(char out[8], mode_t mode)
{
	snprintf(out, 8, "%04o", (unsigned)(mode & 07777));
}

/* The login's user and primary group, asked once per transport: a file the login creates
 * gets them, so no chown is needed when they are what the spec asks. */
static int
learn_login_identity(struct tp_cmd_host *h, struct rk_err *err)
{
	const char *argv[] = { "sh", "-c", "id -un && id -gn", NULL };
	struct rk_run_result res;
	const char *p;
	char *nl;
	int r;

	if (h->login_user[0] != '\0')
		return 0;
	rk_run_result_init(&res);
	if ((r = h->run(&res, h->ctx, argv, false, RK_REMOTE_OUTPUT_MAX, err)) != 0 ||
	    (r = tp_run_result_check(&res, argv, err)) != 0)
		goto out;
	p = (const char *)res.out.ptr;
	if (p == NULL || (nl = strchr(p, '\n')) == NULL ||
	    (size_t)(nl - p) >= sizeof(h->login_user) ||
	    !rk_strlcpy(h->login_group, nl + 1, sizeof(h->login_group))) {
		r = rk_fail(err, RK_E_REMOTE, "id: unexpected output");
		goto out;
	}
	memcpy(h->login_user, p, (size_t)(nl - p));
	h->login_user[nl - p] = '\0';
	h->login_group[strcspn(h->login_group, "\n")] = '\0';
 out:
	rk_run_result_clear(&res);
	return r;
}

/* Whether the file the login creates needs another owner or group than the login's. */
static bool
needs_chown(const struct replace_job *job)
{
	const struct tp_cmd_host *h = job->h;

	return (job->owner[0] != '\0' && strcmp(job->owner, h->login_user) != 0) ||
	    (job->group[0] != '\0' && strcmp(job->group, h->login_group) != 0);
}

/* Login path: the login writes the temporary sibling itself. */
static int
stage_as_login(struct replace_job *job, struct rk_bytes content, struct rk_err *err)
{
	const struct rk_file_spec *spec = job->spec;
	bool set_owner, synced = false;
	mode_t first;
	char mode[8], who[140];
	int r;

	if ((r = learn_login_identity(job->h, err)) != 0 ||
	    (r = tp_temp_sibling(&job->tmp, spec->path, err)) != 0)
		return r;
	/* Only the owner may read it until chown has made the owner and group right. */
	set_owner = needs_chown(job);
	first = set_owner ? (spec->mode & 0700) : (spec->mode & 07777);
	if ((r = job->h->upload(job->h->ctx, job->tmp, content, first, &synced, err)) != 0)
		return r;
	if (set_owner) {
		const char *chown_argv[] = { "chown", "--", who, job->tmp, NULL };
		const char *chmod_argv[] = { "chmod", "--", mode, job->tmp, NULL };

		snprintf(who, sizeof(who), "%s%s%s", job->owner, job->group[0] != '\0' ? ":" : "",
		    job->group);
		format_mode(mode, spec->mode);
		if ((r = tp_cmd_must_succeed(job->h, chown_argv, false, err)) != 0 ||
		    (r = tp_cmd_must_succeed(job->h, chmod_argv, false, err)) != 0)
			return r;
	}
	return synced ? 0 : sync_path(job->h, job->tmp, false, err);
}

/* A new file with no owner asked gets the login's, as if the login had written it. */
static int
learn_login_owner(struct replace_job *job, struct rk_err *err)
{
	struct rk_file_stat st;
	int r;

	if (job->owner[0] != '\0' && job->group[0] != '\0')
		return 0;
	if ((r = tp_cmd_stat(&st, job->h, job->scratch, 0, err)) != 0)
		return r;
	if (job->owner[0] == '\0')
		memcpy(job->owner, st.owner, sizeof(job->owner));
	if (job->group[0] == '\0')
		memcpy(job->group, st.group, sizeof(job->group));
	return 0;
}

/* Sudo path: a private 0600 copy of the login, then `sudo -n install` beside the target. */
static int
stage_through_sudo(struct replace_job *job, struct rk_bytes content, struct rk_err *err)
{
	char rnd[17], mode[8];
	bool synced;
	int r;

	if ((r = tp_random_hex(rnd, 8, err)) != 0)
		return r;
	if (asprintf(&job->scratch, "%s/rekey-upload-%s", job->h->scratch_dir, rnd) < 0) {
		job->scratch = NULL;
		return rk_fail_nomem(err);
	}
	if ((r = job->h->upload(job->h->ctx, job->scratch, content, 0600, &synced, err)) != 0) {
		rk_err_prefix(err, "upload to the private copy %s", job->scratch);
		return r;
	}
	if ((r = learn_login_owner(job, err)) != 0 ||
	    (r = tp_temp_sibling(&job->tmp, job->spec->path, err)) != 0)
		return r;
	format_mode(mode, job->spec->mode);
	{
		const char *install[] = { "install", "-m", mode, "-o", job->owner, "-g",
		    job->group, "-T", "--", job->scratch, job->tmp, NULL };

		if ((r = tp_cmd_must_succeed(job->h, install, true, err)) != 0)
			return r;
	}
	return sync_path(job->h, job->tmp, true, err);
}

static int
swap_into_place(struct replace_job *job, struct rk_err *err)
{
	const char *mv[] = { "mv", "-f", "-T", "--", job->tmp, job->spec->path, NULL };
	int r;

	if (!job->sudo && job->h->rename_own != NULL)
		r = job->h->rename_own(job->h->ctx, job->tmp, job->spec->path, err);
	else
		r = tp_cmd_must_succeed(job->h, mv, job->sudo, err);
	if (r != 0)
		return r;
	free(job->tmp);
	job->tmp = NULL;		/* it is the target now */
	job->swapped = true;
	return sync_path(job->h, job->dir, job->sudo, err);
}

static int
check_new_file(struct replace_job *job, struct rk_err *err)
{
	struct rk_file_stat now;
	int r;

	if ((r = tp_cmd_stat(&now, job->h, job->spec->path, RK_REMOTE_FILE_MAX, err)) != 0)
		return r;
	return tp_check_result(&now, job->spec->path, job->spec->mode,
	    job->owner[0] != '\0' ? job->owner : NULL, job->group[0] != '\0' ? job->group : NULL,
	    job->sha256, err);
}

static void
append_to_message(struct rk_err *err, const char *fmt, ...) RK_PRINTF(2, 3);

static void
append_to_message(struct rk_err *err, const char *fmt, ...)
{
	size_t used = strlen(err->msg);
	va_list ap;

	if (used + 1 >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + used, sizeof(err->msg) - used, fmt, ap);
	va_end(ap);
}

/* After a failed check the new file is in place: put the old one back (or remove the new one
 * when there was none), and say in the message what happened. */
static void
roll_back(struct replace_job *job, struct rk_err *err)
{
	struct rk_backup undo = { 0 };
	struct rk_err why = { 0 };

	if (tp_backup_record(&undo, &job->old, job->spec->path, job->bak, &why) == 0 &&
	    tp_cmd_restore(job->h, &undo, &why) == 0) {
		append_to_message(err, "%s", "; the previous file was put back");
	} else {
		append_to_message(err, "; putting the previous file back failed: %.200s", why.msg);
		if (job->bak != NULL) {
			append_to_message(err, "; it is kept in %.200s", job->bak);
			free(job->bak);
			job->bak = NULL;	/* the only copy left: never remove it */
		}
	}
	rk_backup_clear(&undo);
}

int
tp_cmd_replace(struct rk_backup *backup, struct tp_cmd_host *h, const struct rk_file_spec *spec,
    struct rk_bytes content, struct rk_err *err)
{
	struct replace_job job = { .h = h, .spec = spec, .sudo = h->host->sudo };
	int r;

	if ((r = rk_sha256_hex(job.sha256, content, err)) != 0 ||
	    (r = rk_path_dirname(&job.dir, spec->path, err)) != 0)
		goto out;
	if ((r = tp_cmd_stat(&job.old, h, spec->path, RK_REMOTE_FILE_MAX, err)) != 0 ||
	    (r = tp_check_target_kind(&job.old, spec, err)) != 0 ||
	    (r = choose_owner_group(&job, err)) != 0 ||
	    (r = back_up_old_file(&job, err)) != 0)
		goto out;
	if (job.sudo)
		r = stage_through_sudo(&job, content, err);
	else
		r = stage_as_login(&job, content, err);
	if (r != 0 || (r = swap_into_place(&job, err)) != 0 || (r = check_new_file(&job, err)) != 0)
		goto out;
	if (backup != NULL) {
		if ((r = tp_backup_record(backup, &job.old, spec->path, job.bak, err)) != 0)
			goto out;
		free(job.bak);
		job.bak = NULL;		/* the caller's now */
	}
 out:
	if (r != 0 && job.swapped)
		roll_back(&job, err);
	if (job.tmp != NULL)
		remove_quietly(h, job.tmp, job.sudo);
	if (job.scratch != NULL)
		h->remove_own(h->ctx, job.scratch);
	if (job.bak != NULL)
		remove_quietly(h, job.bak, job.sudo);
	replace_job_clear(&job);
	return r;
}

static int
remove_target(struct tp_cmd_host *h, const struct rk_backup *backup, const char *dir,
    struct rk_err *err)
{
	const char *rm[] = { "rm", "-f", "--", backup->target, NULL };
	struct rk_file_stat st;
	int r;

	if ((r = tp_cmd_must_succeed(h, rm, h->host->sudo, err)) != 0 ||
	    (r = sync_path(h, dir, h->host->sudo, err)) != 0 ||
	    (r = tp_cmd_stat(&st, h, backup->target, 0, err)) != 0)
		return r;
	return st.exists ? rk_fail(err, RK_E_REMOTE, "%s is still there", backup->target) : 0;
}

static int
copy_back(struct tp_cmd_host *h, const struct rk_backup *backup, const char *dir,
    struct rk_err *err)
{
	bool sudo = h->host->sudo;
	struct rk_file_stat bak, now;
	char *tmp = NULL;
	int r;

	if ((r = tp_cmd_stat(&bak, h, backup->path, 0, err)) != 0)
		goto out;
	if (!bak.exists) {
		r = rk_fail(err, RK_E_REMOTE, "the backup %s is gone", backup->path);
		goto out;
	}
	if ((r = tp_temp_sibling(&tmp, backup->target, err)) != 0)
		goto out;
	{
		/* A copy, not a move: the backup stays for the record and for a second undo. */
		const char *cp[] = { "cp", "-P", "-p", "--", backup->path, tmp, NULL };
		const char *mv[] = { "mv", "-f", "-T", "--", tmp, backup->target, NULL };

		if ((r = tp_cmd_must_succeed(h, cp, sudo, err)) != 0 ||
		    (r = sync_path(h, tmp, sudo, err)) != 0 ||
		    (r = tp_cmd_must_succeed(h, mv, sudo, err)) != 0)
			goto out;
	}
	free(tmp);
	tmp = NULL;
	if ((r = sync_path(h, dir, sudo, err)) != 0 ||
	    (r = tp_cmd_stat(&now, h, backup->target, RK_REMOTE_FILE_MAX, err)) != 0)
		goto out;
	if (bak.is_symlink)
		r = now.is_symlink ? 0 : rk_fail(err, RK_E_REMOTE, "check %s: not a symbolic link",
		    backup->target);
	else
		r = tp_check_result(&now, backup->target, backup->mode, backup->owner,
		    backup->group, backup->sha256, err);
 out:
	if (tmp != NULL)
		remove_quietly(h, tmp, sudo);
	free(tmp);
	return r;
}

int
tp_cmd_restore(struct tp_cmd_host *h, const struct rk_backup *backup, struct rk_err *err)
{
	char *dir = NULL;
	int r;

	if (backup->target == NULL || (backup->existed && backup->path == NULL))
		return rk_fail(err, RK_E_INTERNAL, "restore: incomplete backup record");
	if ((r = rk_path_dirname(&dir, backup->target, err)) != 0)
		return r;
	if (backup->existed)
		r = copy_back(h, backup, dir, err);
	else
		r = remove_target(h, backup, dir, err);
	free(dir);
	return r;
}
