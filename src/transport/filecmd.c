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

/*
 * The content reaches the host first, under a name nothing reads: the temporary sibling
 * itself on the login path (created O_EXCL with the final mode, or its owner bits only
 * while a chown is still to come), or a 0600 file of the login in the scratch folder on the
 * sudo path, for `sudo -n install` to copy beside the target.
 */
static int
upload_content(struct replace_job *job, struct rk_bytes content, struct rk_err *err)
{
	const struct rk_file_spec *spec = job->spec;
	char rnd[17];
	mode_t first;
	bool synced;
	int r;

	if ((r = learn_login_identity(job->h, err)) != 0 ||
	    (r = tp_temp_sibling(&job->tmp, spec->path, err)) != 0)
		return r;
	if (!job->sudo) {
		first = needs_chown(job) ? (spec->mode & 0700) : (spec->mode & 07777);
		return job->h->upload(job->h->ctx, job->tmp, content, first, &synced, err);
	}
	/* A new file with no owner asked gets the login's, as if the login had written it. */
	if (job->owner[0] == '\0')
		memcpy(job->owner, job->h->login_user, sizeof(job->owner));
	if (job->group[0] == '\0')
		memcpy(job->group, job->h->login_group, sizeof(job->group));
	if ((r = tp_random_hex(rnd, 8, err)) != 0)
		return r;
	if (asprintf(&job->scratch, "%s/rekey-upload-%s", job->h->scratch_dir, rnd) < 0) {
		job->scratch = NULL;
		return rk_fail_nomem(err);
	}
	if ((r = job->h->upload(job->h->ctx, job->scratch, content, 0600, &synced, err)) != 0)
		rk_err_prefix(err, "upload to the private copy %s", job->scratch);
	return r;
}

/*
 * The rest of a replace in one command on the host, so a file costs two round trips (this
 * and the first stat) whatever the path: back the old file up beside itself (cp -p keeps
 * mode, owner and times and creates the copy without group and other bits until the owner is
 * set, coreutils copy.c) and check the copy against what the stat saw; give the temporary
 * sibling its owner, group and mode (install(1) chowns before it chmods, so nobody gets a
 * wider file for a moment); make it durable; rename it over the target (mv -f -T is
 * rename(2): readers see the old file or the new one, never a mix, never nothing); make the
 * rename durable; print the new file's stat and hash for the check. The exit status says how
 * far it got, so a failure after the rename is rolled back and one before it is not.
 */
static const char replace_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "path=$1 tmp=$2 bak=$3 scratch=$4 mode=$5 owner=$6 group=$7 stage=$8 old=$9\n"
    "shift 9\n"
    "oldsum=$1 dir=$2 swap=$3\n"
    "if [ \"$bak\" != - ]; then\n"
    "\tcp -P -p -- \"$path\" \"$bak\" && sync -- \"$bak\" &&\n"
    "\t    now=$(stat -c '%f %U %G %s' -- \"$bak\") || exit 20\n"
    "\tif [ \"$old\" = link ]; then\n"
    "\t\t[ -h \"$bak\" ] || { echo 'the copy of the symbolic link is not a link' >&2; exit 20; }\n"
    "\telif [ \"$now\" != \"$old\" ]; then\n"
    "\t\tprintf 'the copy is \"%s\", not \"%s\" as the file\\n' \"$now\" \"$old\" >&2\n"
    "\t\texit 20\n"
    "\tfi\n"
    "\tif [ \"$oldsum\" != - ]; then\n"
    "\t\tsum=$(sha256sum < \"$bak\") || exit 20\n"
    "\t\t[ \"${sum%% *}\" = \"$oldsum\" ] || { echo 'the copy differs from the file' >&2; exit 20; }\n"
    "\tfi\n"
    "fi\n"
    "case $stage in\n"
    "install) install -m \"$mode\" -o \"$owner\" -g \"$group\" -T -- \"$scratch\" \"$tmp\" || exit 30 ;;\n"
    "chown) { chown -- \"$owner${group:+:$group}\" \"$tmp\" && chmod -- \"$mode\" \"$tmp\"; } || exit 30 ;;\n"
    "esac\n"
    "sync -- \"$tmp\" || exit 30\n"
    "[ \"$swap\" = mv ] || exit 0\n"
    "mv -f -T -- \"$tmp\" \"$path\" || exit 40\n"
    "sync -- \"$dir\" && out=$(stat -c '%f %U %G %s' -- \"$path\") &&\n"
    "    sum=$(sha256sum < \"$path\") || exit 41\n"
    "printf '%s\\n%s\\n' \"$out\" \"$sum\"\n";

#define REPLACE_EXIT_BACKUP	20
#define REPLACE_EXIT_STAGE	30
#define REPLACE_EXIT_SWAP	40	/* mv failed: the target is untouched */
#define REPLACE_EXIT_AFTER	41	/* renamed, then something failed */

/* What stat printed for the old file, rebuilt: the backup must print the same. */
static void
format_stat_line(char *buf, size_t size, const struct rk_file_stat *st)
{
	unsigned type = st->is_symlink ? 0120000u : st->is_regular ? 0100000u : 0u;

	snprintf(buf, size, "%x %s %s %llu", type | (unsigned)st->mode, st->owner, st->group,
	    st->size);
}

static const char *
stage_of(const struct replace_job *job)
{
	if (job->sudo)
		return "install";
	return needs_chown(job) ? "chown" : "none";
}

/* Runs the script; *swapped says whether the target was renamed (a broken channel: asked). */
static int
finish_on_host(struct replace_job *job, struct rk_file_stat *now, bool swap,
    struct rk_err *err)
{
	const struct rk_file_spec *spec = job->spec;
	char mode[8], old[200];
	const char *argv[] = { "sh", "-c", replace_script, "rekey-replace", spec->path, job->tmp,
	    job->bak != NULL ? job->bak : "-", job->scratch != NULL ? job->scratch : "-", mode,
	    job->owner, job->group, stage_of(job), old,
	    job->old.is_regular ? job->old.sha256 : "-", job->dir, swap ? "mv" : "-", NULL };
	struct rk_run_result res;
	struct rk_file_stat after;
	char line[320];
	int r;

	format_mode(mode, spec->mode);
	/* A link copied by a login that does not own it gets the login's owner: only its kind
	 * is checked then. */
	if (job->old.is_symlink)
		snprintf(old, sizeof(old), "link");
	else
		format_stat_line(old, sizeof(old), &job->old);
	rk_run_result_init(&res);
	if ((r = job->h->run(&res, job->h->ctx, argv, job->sudo, RK_REMOTE_OUTPUT_MAX, err)) != 0)
		goto unknown;
	if (res.exit_status == 0) {
		job->swapped = swap;
		if (swap)
			r = parse_stat_output(now, &res.out, true, spec->path, err);
		goto out;
	}
	tp_first_line(line, sizeof(line), &res.err);
	switch (res.exit_status) {
	case REPLACE_EXIT_BACKUP:
		r = rk_fail(err, RK_E_REMOTE, "back up: %s", line[0] != '\0' ? line : "failed");
		goto out;
	case REPLACE_EXIT_STAGE:
	case REPLACE_EXIT_SWAP:
		r = rk_fail(err, RK_E_REMOTE, "%s", line[0] != '\0' ? line : "failed");
		goto out;
	case REPLACE_EXIT_AFTER:
		job->swapped = true;
		r = rk_fail(err, RK_E_REMOTE, "after the swap: %s", line[0] != '\0' ? line :
		    "failed");
		goto out;
	default:
		r = tp_run_result_check(&res, argv, err);
		break;
	}
 unknown:
	/* Stopped or cut off half-way: whether the new file is in place is asked, not guessed. */
	if (swap && tp_cmd_stat(&after, job->h, spec->path, RK_REMOTE_FILE_MAX, &(struct rk_err){
	    0 }) == 0 && after.is_regular && strcmp(after.sha256, job->sha256) == 0)
		job->swapped = true;
 out:
	rk_run_result_clear(&res);
	return r;
}

static int
check_new_file(const struct replace_job *job, const struct rk_file_stat *now,
    struct rk_err *err)
{
	return tp_check_result(now, job->spec->path, job->spec->mode,
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

/* A backend that can rename the login's own file in one step does that instead of mv. */
static int
swap_by_backend(struct replace_job *job, struct rk_file_stat *now, struct rk_err *err)
{
	int r;

	if ((r = job->h->rename_own(job->h->ctx, job->tmp, job->spec->path, err)) != 0)
		return r;
	job->swapped = true;
	if ((r = sync_path(job->h, job->dir, false, err)) != 0)
		return r;
	return tp_cmd_stat(now, job->h, job->spec->path, RK_REMOTE_FILE_MAX, err);
}

int
tp_cmd_replace(struct rk_backup *backup, struct tp_cmd_host *h, const struct rk_file_spec *spec,
    struct rk_bytes content, struct rk_err *err)
{
	struct replace_job job = { .h = h, .spec = spec, .sudo = h->host->sudo };
	bool own_rename = !job.sudo && h->rename_own != NULL;
	struct rk_file_stat now;
	int r;

	memset(&now, 0, sizeof(now));
	if ((r = rk_sha256_hex(job.sha256, content, err)) != 0 ||
	    (r = rk_path_dirname(&job.dir, spec->path, err)) != 0)
		goto out;
	if ((r = tp_cmd_stat(&job.old, h, spec->path, RK_REMOTE_FILE_MAX, err)) != 0 ||
	    (r = tp_check_target_kind(&job.old, spec, err)) != 0 ||
	    (r = choose_owner_group(&job, err)) != 0)
		goto out;
	if (job.old.exists && (r = tp_backup_sibling(&job.bak, spec->path, err)) != 0)
		goto out;
	if ((r = upload_content(&job, content, err)) != 0 ||
	    (r = finish_on_host(&job, &now, !own_rename, err)) != 0 ||
	    (own_rename && (r = swap_by_backend(&job, &now, err)) != 0) ||
	    (r = check_new_file(&job, &now, err)) != 0)
		goto out;
	free(job.tmp);
	job.tmp = NULL;			/* it is the target now */
	if (backup != NULL) {
		if ((r = tp_backup_record(backup, &job.old, spec->path, job.bak, err)) != 0)
			goto out;
		free(job.bak);
		job.bak = NULL;		/* the caller's now */
	}
 out:
	if (r != 0 && job.swapped)
		roll_back(&job, err);
	if (job.swapped) {
		free(job.tmp);
		job.tmp = NULL;
	}
	if (job.tmp != NULL)
		remove_quietly(h, job.tmp, job.sudo);
	if (job.scratch != NULL)
		h->remove_own(h->ctx, job.scratch);
	if (job.bak != NULL)
		remove_quietly(h, job.bak, job.sudo);
	replace_job_clear(&job);
	return r;
}

/* Restores in one command each, as a replace does (replace_script). */
static const char remove_script[] =
    "rm -f -- \"$1\" && sync -- \"$2\" || exit 1\n"
    "if [ -e \"$1\" ] || [ -h \"$1\" ]; then echo \"$1 is still there\" >&2; exit 1; fi\n";

/* A copy, not a move: the backup stays for the record and for a second undo. */
static const char copy_back_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "bak=$1 tmp=$2 path=$3 dir=$4\n"
    "if [ ! -e \"$bak\" ] && [ ! -h \"$bak\" ]; then echo \"the backup $bak is gone\" >&2; exit 1; fi\n"
    "cp -P -p -- \"$bak\" \"$tmp\" && sync -- \"$tmp\" || exit 1\n"
    "mv -f -T -- \"$tmp\" \"$path\" || exit 1\n"
    "sync -- \"$dir\" && out=$(stat -c '%f %U %G %s' -- \"$path\") || exit 2\n"
    "printf '%s\\n' \"$out\"\n"
    "if [ -f \"$path\" ] && [ ! -h \"$path\" ]; then sha256sum < \"$path\" || exit 2; fi\n";

static int
remove_target(struct tp_cmd_host *h, const struct rk_backup *backup, const char *dir,
    struct rk_err *err)
{
	const char *argv[] = { "sh", "-c", remove_script, "rekey-restore", backup->target, dir,
	    NULL };

	return tp_cmd_must_succeed(h, argv, h->host->sudo, err);
}

static int
copy_back(struct tp_cmd_host *h, const struct rk_backup *backup, const char *dir,
    struct rk_err *err)
{
	struct rk_file_stat now;
	struct rk_run_result res;
	char *tmp = NULL;
	int r;

	rk_run_result_init(&res);
	if ((r = tp_temp_sibling(&tmp, backup->target, err)) != 0)
		goto out;
	{
		const char *argv[] = { "sh", "-c", copy_back_script, "rekey-restore", backup->path,
		    tmp, backup->target, dir, NULL };

		if ((r = h->run(&res, h->ctx, argv, h->host->sudo, RK_REMOTE_OUTPUT_MAX,
		    err)) != 0 || (r = tp_run_result_check(&res, argv, err)) != 0) {
			if (res.exit_status != 2)
				remove_quietly(h, tmp, h->host->sudo);
			goto out;
		}
	}
	memset(&now, 0, sizeof(now));
	if ((r = parse_stat_output(&now, &res.out, true, backup->target, err)) != 0)
		goto out;
	if (!now.is_symlink)
		r = tp_check_result(&now, backup->target, backup->mode, backup->owner,
		    backup->group, backup->sha256, err);
 out:
	rk_run_result_clear(&res);
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
