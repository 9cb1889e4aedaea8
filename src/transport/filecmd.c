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

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*
 * A read in one command: the kind and the size are checked on the host before a byte is
 * sent (exit 3 absent, 4 over the cap, 5 not a regular file), then cat. A symlink is
 * followed, as cat follows it; the cap holds on the wire too, should the file grow.
 */
static const char read_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "if ! out=$(stat -c '%s' -- \"$1\" 2>&1); then\n"
    "\tcase $out in *': No such file or directory') exit 3 ;; esac\n"
    "\tprintf '%s\\n' \"$out\" >&2\n"
    "\texit 1\n"
    "fi\n"
    "if [ ! -h \"$1\" ]; then\n"
    "\t[ -f \"$1\" ] || exit 5\n"
    "\t[ \"$out\" -le \"$2\" ] || { printf '%s\\n' \"$out\" >&2; exit 4; }\n"
    "fi\n"
    "exec cat -- \"$1\"\n";

#define READ_EXIT_NOT_FILE	5

int
tp_cmd_read_file(struct rk_buf *out, struct tp_cmd_host *h, const char *path, size_t cap,
    struct rk_err *err)
{
	char limit[32], line[64];
	const char *argv[] = { "sh", "-c", read_script, "rekey-read", path, limit, NULL };
	struct rk_run_result res;
	int r;

	(void)snprintf(limit, sizeof(limit), "%zu", cap);
	rk_run_result_init(&res);
	if ((r = h->run(&res, h->ctx, argv, h->host->sudo, cap, err)) != 0)
		goto out;
	switch (res.exit_status) {
	case STAT_EXIT_ABSENT:
		r = rk_fail(err, RK_E_REMOTE, "no such file");
		goto out;
	case STAT_EXIT_OVER_CAP:
		tp_first_line(line, sizeof(line), &res.err);
		r = tp_fail_over_cap(strtoull(line, NULL, 10), cap, err);
		goto out;
	case READ_EXIT_NOT_FILE:
		r = rk_fail(err, RK_E_REMOTE, "not a regular file");
		goto out;
	default:
		if ((r = tp_run_result_check(&res, argv, err)) != 0)
			goto out;
	}
	out->cap = cap;
	r = rk_buf_append(out, res.out.ptr != NULL ? res.out.ptr : (const unsigned char *)"",
	    res.out.len, err);
 out:
	rk_run_result_clear(&res);
	return r;
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

static void
format_mode(char out[8], mode_t mode)
{
	snprintf(out, 8, "%04o", (unsigned)(mode & 07777));
}

/*
 * The login's user and primary group, known once per transport (the timeout probe prints
 * them): a file the login creates gets them, so no chown is needed when they are what the
 * spec asks. Asked with `id` only when that probe's answer could not be read.
 */
static int
learn_login_identity(struct tp_cmd_host *h, struct rk_err *err)
{
	const char *argv[] = { "id", NULL };
	struct rk_run_result res;
	int r;

	if (h->login_user[0] != '\0')
		return 0;
	rk_run_result_init(&res);
	if ((r = h->run(&res, h->ctx, argv, false, RK_REMOTE_OUTPUT_MAX, err)) == 0 &&
	    (r = tp_run_result_check(&res, argv, err)) == 0) {
		tp_identity_learned(h, &res.out);
		if (h->login_user[0] == '\0')
			r = rk_fail(err, RK_E_REMOTE, "id: unexpected output");
	}
	rk_run_result_clear(&res);
	return r;
}

/* Every file of a batch in one command on the host: replace.sh says how, and why so. */
#include "replace_script.h"

#define REPLACE_EXIT_OVER_CAP	4
#define REPLACE_EXIT_SYMLINK	10
#define REPLACE_EXIT_NOT_FILE	11
#define REPLACE_EXIT_BACKUP	20
#define REPLACE_EXIT_STAGE	30	/* the new file could not be written */
#define REPLACE_EXIT_SENT	31	/* what was written is not what was sent */
#define REPLACE_EXIT_CHECK	32	/* it did not get its mode, owner or group */
#define REPLACE_EXIT_SWAP	40	/* mv failed: the target is untouched */
#define REPLACE_EXIT_AFTER	41	/* renamed, then something failed */

/* Arguments of the script: four, then eleven per file. */
#define REPLACE_ARGS_HEAD	4
#define REPLACE_ARGS_FILE	11

/* Everything one file of a replace works with, released in one place. */
struct replace_job {
	struct rk_file_change		*change;
	const struct rk_file_spec	*spec;
	char				*dir;		/* the target's folder */
	char				*tmp;		/* the temporary sibling */
	char				*bak;		/* the backup copy, or NULL */
	char				 mode[8];
	char				 umask[8];	/* creates it with its final mode, or "-" */
	char				 size[32];
	struct rk_file_stat		 old;
	bool				 old_seen;	/* the host printed "old" or "absent" */
	/* What the new file must have (the host's "as" line); "": not known yet. */
	char				 owner[64];
	char				 group[64];
	char				 sha256[RK_SHA256_HEX];
	struct rk_file_stat		 now;		/* the "new" line */
	bool				 finished;	/* the host printed "new" */
	bool				 swapped;	/* the rename happened */
};

static void
replace_job_clear(struct replace_job *job)
{
	free(job->dir);
	free(job->tmp);
	free(job->bak);
}

static int
prepare_job(struct replace_job *job, struct rk_file_change *change, struct rk_err *err)
{
	int r;

	memset(job, 0, sizeof(*job));
	job->change = change;
	job->spec = &change->spec;
	if ((r = tp_check_target_path(job->spec->path, err)) != 0)
		return r;
	format_mode(job->mode, job->spec->mode);
	/* A umask gives the bits of 0666 only: other modes are set by chmod afterwards. */
	if ((job->spec->mode & ~(mode_t)0666) == 0)
		format_mode(job->umask, ~job->spec->mode & 0777);
	else
		snprintf(job->umask, sizeof(job->umask), "-");
	(void)snprintf(job->size, sizeof(job->size), "%zu", change->content.len);
	if ((r = rk_sha256_hex(job->sha256, change->content, err)) != 0 ||
	    (r = rk_path_dirname(&job->dir, job->spec->path, err)) != 0 ||
	    (r = tp_backup_sibling(&job->bak, job->spec->path, err)) != 0)
		return r;
	return tp_temp_sibling(&job->tmp, job->spec->path, err);
}

/* "RAW OWNER GROUP SIZE SUM" (SUM "-" for a symlink) up to nl, as parse_stat_output reads
 * it from two lines. */
static int
parse_stat_line(struct rk_file_stat *out, const char *p, const char *nl, const char *path,
    struct rk_err *err)
{
	const char *sp = nl;
	struct rk_buf two;
	char sum[80];
	int r;

	memset(out, 0, sizeof(*out));
	while (sp > p && sp[-1] != ' ')
		sp--;
	if (sp == p)
		return rk_fail(err, RK_E_REMOTE, "replace %s: unexpected output", path);
	snprintf(sum, sizeof(sum), "%.*s", (int)(nl - sp), sp);
	rk_buf_init(&two, 1024);
	if ((r = rk_buf_printf(&two, err, "%.*s\n%s\n", (int)(sp - 1 - p), p, sum)) == 0)
		r = parse_stat_output(out, &two, strcmp(sum, "-") != 0, path, err);
	rk_buf_clear(&two);
	return r;
}

/*
 * One file's first lines: "old RAW OWNER GROUP SIZE SUM" or "absent", then "as OWNER GROUP".
 * Takes what is there and moves *p past it; the host printed these for every file it went
 * on with, before any "new" line.
 */
static int
parse_job_head(struct replace_job *job, const char **p, struct rk_err *err)
{
	const char *path = job->spec->path, *nl;

	if (*p == NULL || (nl = strchr(*p, '\n')) == NULL || strncmp(*p, "new ", 4) == 0)
		return 0;
	if (strncmp(*p, "old ", 4) == 0) {
		if (parse_stat_line(&job->old, *p + 4, nl, path, err) != 0)
			return err->code;
	} else if (strncmp(*p, "absent\n", 7) != 0) {
		return rk_fail(err, RK_E_REMOTE, "replace %s: unexpected output", path);
	}
	job->old_seen = true;
	*p = nl + 1;
	if ((nl = strchr(*p, '\n')) == NULL || strncmp(*p, "as ", 3) != 0)
		return rk_fail(err, RK_E_REMOTE, "replace %s: unexpected output", path);
	*p += 3;
	if (!take_word(job->owner, sizeof(job->owner), p) ||
	    (size_t)(nl - *p) >= sizeof(job->group) || *p > nl)
		return rk_fail(err, RK_E_REMOTE, "replace %s: unexpected output", path);
	memcpy(job->group, *p, (size_t)(nl - *p));
	job->group[nl - *p] = '\0';
	*p = nl + 1;
	return 0;
}

/* "new RAW OWNER GROUP SIZE SUM": the file is in place, as read back after the rename. */
static int
parse_job_new(struct replace_job *job, const char **p, struct rk_err *err)
{
	const char *nl;

	if (*p == NULL || (nl = strchr(*p, '\n')) == NULL || strncmp(*p, "new ", 4) != 0)
		return 0;
	if (!job->old_seen)
		return rk_fail(err, RK_E_REMOTE, "replace %s: unexpected output", job->spec->path);
	if (parse_stat_line(&job->now, *p + 4, nl, job->spec->path, err) != 0)
		return err->code;
	job->finished = true;
	*p = nl + 1;
	return 0;
}

/* Why the host stopped at this file, from the script's exit status; job->swapped is set
 * when the rename had happened. */
static int
fail_from_exit(struct replace_job *job, const struct rk_run_result *res,
    const char *const *argv, struct rk_err *err)
{
	struct rk_file_stat kind;
	char line[320];
	int r;

	tp_first_line(line, sizeof(line), &res->err);
	switch (res->exit_status) {
	case REPLACE_EXIT_OVER_CAP:
		return tp_fail_over_cap(strtoull(line, NULL, 10), RK_REMOTE_FILE_MAX, err);
	case REPLACE_EXIT_SYMLINK:
	case REPLACE_EXIT_NOT_FILE:
		/* Refused on the host; said in the words every backend uses. */
		kind = (struct rk_file_stat){ .exists = true,
		    .is_symlink = res->exit_status == REPLACE_EXIT_SYMLINK };
		if ((r = tp_check_target_kind(&kind, job->spec, err)) == 0)
			r = rk_fail(err, RK_E_INTERNAL, "replace refused a target it may replace");
		return r;
	case TP_EXIT_HARD_LINKS:
	case TP_EXIT_OPEN_FOLDER:
	case TP_EXIT_FOREIGN_FILE:
		return tp_fail_from_target_check(res->exit_status, line, job->dir, err);
	case REPLACE_EXIT_BACKUP:
		return rk_fail(err, RK_E_REMOTE, "back up: %s", line[0] != '\0' ? line : "failed");
	case REPLACE_EXIT_STAGE:
	case REPLACE_EXIT_SENT:
	case REPLACE_EXIT_CHECK:
	case REPLACE_EXIT_SWAP:
		return rk_fail(err, RK_E_REMOTE, "%s", line[0] != '\0' ? line : "failed");
	case REPLACE_EXIT_AFTER:
		job->swapped = true;
		return rk_fail(err, RK_E_REMOTE, "after the swap: %s", line[0] != '\0' ? line :
		    "failed");
	case 0:
		return rk_fail(err, RK_E_REMOTE, "replace: unexpected output");
	default:
		if ((r = tp_run_result_check(res, argv, err)) == 0)
			r = rk_fail(err, RK_E_REMOTE, "replace: unexpected output");
		return r;
	}
}

/*
 * The command was cut off (the channel broke, a timeout): whether this file's new content
 * is in place is asked, not guessed. What the host printed says what was there before; when
 * that was lost, the backup beside the file tells (it is made before any swap), and without
 * one a file that holds the new bytes is left alone: it may have held them already.
 */
static void
ask_whether_swapped(struct replace_job *job, struct tp_cmd_host *h)
{
	struct rk_file_stat now, bak;
	struct rk_err ignored = { 0 };

	if (tp_cmd_stat(&now, h, job->spec->path, RK_REMOTE_FILE_MAX, &ignored) != 0 ||
	    !now.is_regular || strcmp(now.sha256, job->sha256) != 0)
		return;
	if (job->old_seen) {
		job->swapped = !job->old.exists || strcmp(job->old.sha256, job->sha256) != 0;
		return;
	}
	if (job->bak != NULL && tp_cmd_stat(&bak, h, job->bak, RK_REMOTE_FILE_MAX,
	    &ignored) == 0 && bak.exists) {
		job->old = bak;
		job->old_seen = job->swapped = true;
	}
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

/* The new file is in place but must not stay: put the old one back (or remove the new one
 * when there was none), and say in the message what happened. */
static void
roll_back(struct replace_job *job, struct tp_cmd_host *h, struct rk_err *err)
{
	struct rk_backup undo = { 0 };
	struct rk_err why = { 0 };

	if (tp_backup_record(&undo, &job->old, job->spec->path, job->old.exists ? job->bak :
	    NULL, &why) == 0 && tp_cmd_restore(h, &undo, &why) == 0) {
		append_to_message(err, "%s", "; the previous file was put back");
	} else {
		append_to_message(err, "; putting the previous file back failed: %.200s", why.msg);
		if (job->old.exists && job->bak != NULL) {
			append_to_message(err, "; it is kept in %.200s", job->bak);
			free(job->bak);
			job->bak = NULL;	/* the only copy left: never remove it */
		}
	}
	rk_backup_clear(&undo);
}

/* The arguments of one command: the head, then each file's ten. */
static int
build_argv(const char **argv, struct tp_cmd_host *h, struct replace_job *jobs, size_t n,
    const char *script, const char *cap)
{
	size_t k = 0;

	argv[k++] = "sh";
	argv[k++] = "-c";
	argv[k++] = script;
	argv[k++] = "rekey-replace";
	argv[k++] = h->login_user;
	argv[k++] = h->login_group;
	argv[k++] = h->host->sudo ? "sudo" : "login";
	argv[k++] = cap;
	for (size_t i = 0; i < n; i++) {
		const struct rk_file_spec *spec = jobs[i].spec;

		argv[k++] = spec->path;
		argv[k++] = jobs[i].tmp;
		argv[k++] = jobs[i].bak;
		argv[k++] = jobs[i].mode;
		argv[k++] = spec->owner != NULL ? spec->owner : "-";
		argv[k++] = spec->group != NULL ? spec->group : "-";
		argv[k++] = spec->allow_symlink ? "yes" : "no";
		argv[k++] = jobs[i].dir;
		argv[k++] = jobs[i].size;
		argv[k++] = jobs[i].sha256;
		argv[k++] = jobs[i].umask;
	}
	argv[k] = NULL;
	return (int)k;
}

/* The change's record once its file is in place and checked. */
static int
finish_done(struct replace_job *job, struct rk_err *err)
{
	struct rk_file_change *c = job->change;
	int r;

	free(job->tmp);
	job->tmp = NULL;		/* it is the target now */
	if ((r = tp_backup_record(&c->backup, &job->old, job->spec->path,
	    job->old.exists ? job->bak : NULL, err)) != 0)
		return r;
	free(job->bak);
	job->bak = NULL;		/* the caller's now */
	c->state = RK_CHANGE_DONE;
	return 0;
}

/* Reads job's "new" line; true (err set, *unsure raised) when the output makes no sense. */
static bool
parse_failed(struct replace_job *job, const char **p, struct rk_err *err, bool *unsure)
{
	if (parse_job_new(job, p, err) == 0)
		return false;
	*unsure = true;
	return true;
}

/*
 * One command for jobs[0..n): the contents on its input, in order. Returns 0 when all are
 * done; else the index of the failed one in *failed, its error in err, and swapped set on
 * every job whose new file is in place.
 */
static int
replace_batch(struct tp_cmd_host *h, struct replace_job *jobs, size_t n, size_t *failed,
    struct rk_err *err)
{
	const char *argv[REPLACE_ARGS_HEAD + 4 + REPLACE_ARGS_FILE * RK_REPLACE_BATCH_MAX + 1];
	char cap[32];
	struct rk_run_result res;
	struct rk_err ignored = { 0 };
	struct rk_buf input, script;
	const char *p;
	size_t i, k, total = 0;
	bool unsure;
	int r = 0;

	*failed = n;
	for (i = 0; i < n; i++)
		total += jobs[i].change->content.len;
	rk_buf_init(&input, total + 1);
	rk_run_result_init(&res);
	if ((r = tp_script_with_checks(&script, replace_script, err)) != 0) {
		*failed = 0;
		goto out;
	}
	(void)snprintf(cap, sizeof(cap), "%d", RK_REMOTE_FILE_MAX);
	(void)build_argv(argv, h, jobs, n, (const char *)script.ptr, cap);
	for (i = 0; i < n && r == 0; i++)
		r = rk_buf_append(&input, jobs[i].change->content.ptr,
		    jobs[i].change->content.len, err);
	if (r != 0) {
		*failed = 0;
		goto out;
	}
	/* Cut off (err says why): what the host printed still tells what it did. */
	unsure = h->run_input(&res, h->ctx, argv, h->host->sudo, rk_buf_bytes(&input),
	    RK_REMOTE_OUTPUT_MAX, err) != 0;
	p = (const char *)res.out.ptr;
	for (k = 0; k < n; k++) {
		if (parse_job_head(&jobs[k], &p, err) != 0) {
			unsure = true;
			break;
		}
	}
	for (k = 0; k < n && !parse_failed(&jobs[k], &p, err, &unsure); k++) {
		struct rk_err why = { 0 };

		if (!jobs[k].finished) {
			if (!unsure && (r = fail_from_exit(&jobs[k], &res, argv, err)) == 0)
				r = rk_fail(err, RK_E_INTERNAL, "replace: no error");
			/* Renamed, then the read-back failed: the files after it were renamed too. */
			if (jobs[k].swapped)
				unsure = true;
			break;
		}
		jobs[k].swapped = true;
		if (tp_check_result(&jobs[k].now, jobs[k].spec->path, jobs[k].spec->mode,
		    jobs[k].owner, jobs[k].group, jobs[k].sha256, &why) != 0) {
			*err = why;
			break;
		}
	}
	if (k == n) {
		r = 0;
		goto out;
	}
	*failed = k;
	r = err->code != 0 ? err->code : rk_fail(err, RK_E_INTERNAL, "replace: no error");
	/* Files after the failed one the host read back all the same are in place too. */
	for (i = k + 1; jobs[k].finished && i < n; i++) {
		if (parse_job_new(&jobs[i], &p, &ignored) != 0 || !jobs[i].finished)
			break;
		jobs[i].swapped = true;
	}
	for (i = k; unsure && i < n; i++) {
		if (jobs[i].finished)
			continue;
		ask_whether_swapped(&jobs[i], h);
		/*
		 * The host's own cleanup may not have run (its session was killed). The temporary
		 * name is this run's own: it goes whenever the file was not swapped, also when
		 * what the host printed first was lost with the connection (a reset drops it).
		 */
		if (!jobs[i].swapped && jobs[i].tmp != NULL) {
			remove_quietly(h, jobs[i].tmp, h->host->sudo);
			if (jobs[i].old_seen && jobs[i].old.exists)
				remove_quietly(h, jobs[i].bak, h->host->sudo);
		}
	}
 out:
	rk_run_result_clear(&res);
	rk_buf_clear(&input);
	rk_buf_clear(&script);
	return r;
}

int
tp_cmd_replace_many(struct tp_cmd_host *h, struct rk_file_change *changes, size_t n,
    struct rk_err *err)
{
	struct replace_job *jobs = NULL;
	size_t i, done = 0, failed = 0;
	int r = 0;

	rk_file_changes_clear(changes, n);
	if (n == 0)
		return 0;
	if ((jobs = calloc(n, sizeof(*jobs))) == NULL)
		return rk_fail_nomem(err);
	for (i = 0; i < n && r == 0; i++)
		if ((r = prepare_job(&jobs[i], &changes[i], err)) != 0)
			failed = i;
	if (r == 0)
		r = learn_login_identity(h, err);
	/* RK_REPLACE_BATCH_MAX files per command, the next command after this one's. */
	while (r == 0 && done < n) {
		size_t m = n - done < RK_REPLACE_BATCH_MAX ? n - done : RK_REPLACE_BATCH_MAX;
		size_t at = m;

		if ((r = replace_batch(h, jobs + done, m, &at, err)) != 0)
			failed = done + at;
		for (i = done; i < done + at; i++) {
			if (finish_done(&jobs[i], err) != 0) {
				r = err->code;
				failed = i;
				break;
			}
		}
		done += m;
	}
	if (r == 0)
		goto out;
	/* The failed file, and any after it the host had swapped all the same: put back. */
	for (i = failed; i < n; i++) {
		struct rk_err also = { 0 };

		if (jobs[i].swapped)
			roll_back(&jobs[i], h, i == failed ? err : &also);
		if (i > failed && changes[i].state == RK_CHANGE_DONE) {
			rk_backup_clear(&changes[i].backup);
			changes[i].state = RK_CHANGE_NOT_REACHED;
		}
	}
	changes[failed].state = RK_CHANGE_FAILED;
	changes[failed].err = *err;
 out:
	for (i = 0; i < n; i++)
		replace_job_clear(&jobs[i]);
	free(jobs);
	return r;
}

int
tp_cmd_replace(struct rk_backup *backup, struct tp_cmd_host *h, const struct rk_file_spec *spec,
    struct rk_bytes content, struct rk_err *err)
{
	struct rk_file_change change = { .spec = *spec, .content = content };
	int r;

	if ((r = tp_cmd_replace_many(h, &change, 1, err)) == 0 && backup != NULL) {
		*backup = change.backup;
		memset(&change.backup, 0, sizeof(change.backup));
	}
	rk_backup_clear(&change.backup);
	return r;
}
/* Restores in one command each, as a replace does (replace_script). */
static const char remove_script[] =
    "rm -f -- \"$1\" && sync -- \"$2\" || exit 1\n"
    "if [ -e \"$1\" ] || [ -h \"$1\" ]; then echo \"$1 is still there\" >&2; exit 1; fi\n";

/*
 * A copy, not a move: the backup stays for the record and for a second undo. Where the copy
 * cannot be made (a full disk: the very case that makes a pair's other half fail), the backup
 * itself is linked back under the temporary name, which takes no data block: the backup
 * stays all the same, and no new key is left beside an old certificate for want of a page.
 */
static const char copy_back_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "bak=$1 tmp=$2 path=$3 dir=$4\n"
    "if [ ! -e \"$bak\" ] && [ ! -h \"$bak\" ]; then echo \"the backup $bak is gone\" >&2; exit 1; fi\n"
    "if ! { cp -P -p -- \"$bak\" \"$tmp\" && sync -- \"$tmp\"; }; then\n"
    "  rm -f -- \"$tmp\"; ln -P -- \"$bak\" \"$tmp\" || exit 1\n"
    "fi\n"
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
