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

/* This machine's name, hashed short: the part of an upload's name that says whose it is. */
static void
make_upload_tag(struct tp_cmd_host *h)
{
	char name[256] = "", hex[RK_SHA256_HEX];
	struct rk_err ignored = { 0 };

	(void)gethostname(name, sizeof(name) - 1);
	if (rk_sha256_hex(hex, (struct rk_bytes){ (const unsigned char *)name, strlen(name) },
	    &ignored) != 0)
		snprintf(hex, sizeof(hex), "0");
	snprintf(h->upload_tag, sizeof(h->upload_tag), "%.12s-%ld", hex, (long)getpid());
}

/*
 * The private uploads of this machine's rekey processes that are gone (killed mid-replace:
 * the login's own 0600 files, some of them keys), listed by the identity script, removed.
 * One whose process still runs (another run, at the same moment) stays.
 */
static void
remove_uploads_of_dead_runs(struct tp_cmd_host *h, const char *machine, const char *listing)
{
	char path[512], *end;
	const char *line, *nl, *at;
	long pid;

	for (line = listing; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		snprintf(path, sizeof(path), "%.*s", nl != NULL ? (int)(nl - line) :
		    (int)strlen(line), line);
		/* ".../rekey-upload-<machine>-<pid>-<random>": the script listed only ours. */
		if ((at = strstr(path, machine)) == NULL || at[strlen(machine)] != '-')
			continue;
		pid = strtol(at + strlen(machine) + 1, &end, 10);
		if (pid > 0 && *end == '-' && kill((pid_t)pid, 0) == -1 && errno == ESRCH)
			h->remove_own(h->ctx, path);
	}
}

/*
 * The login's user and primary group, asked once per transport: a file the login creates
 * gets them, so no chown is needed when they are what the spec asks. The same command lists
 * this machine's private uploads in the scratch folder (for remove_uploads_of_dead_runs), and
 * clears those of any other machine older than two minutes.
 */
static const char identity_script[] =
    "id -un && id -gn || exit 1\n"
    "find \"$1\" -maxdepth 1 -name 'rekey-upload-*' ! -name \"rekey-upload-$2-*\" "
    "-user \"$(id -u)\" -mmin +2 -type f -delete 2>/dev/null\n"
    "for f in \"$1\"/rekey-upload-\"$2\"-*; do [ ! -f \"$f\" ] || printf '%s\\n' \"$f\"; done\n"
    "exit 0\n";

static int
learn_login_identity(struct tp_cmd_host *h, struct rk_err *err)
{
	char machine[16];
	const char *argv[] = { "sh", "-c", identity_script, "rekey-identity", h->scratch_dir,
	    machine, NULL };
	struct rk_run_result res;
	const char *p;
	char *nl, *rest;
	int r;

	if (h->login_user[0] != '\0')
		return 0;
	make_upload_tag(h);
	snprintf(machine, sizeof(machine), "%.12s", h->upload_tag);
	rk_run_result_init(&res);
	if ((r = h->run(&res, h->ctx, argv, false, RK_REMOTE_OUTPUT_MAX, err)) != 0 ||
	    (r = tp_run_result_check(&res, argv, err)) != 0)
		goto out;
	p = (const char *)res.out.ptr;
	if (p == NULL || (nl = strchr(p, '\n')) == NULL ||
	    (size_t)(nl - p) >= sizeof(h->login_user) ||
	    (rest = strchr(nl + 1, '\n')) == NULL ||
	    (size_t)(rest - (nl + 1)) >= sizeof(h->login_group)) {
		r = rk_fail(err, RK_E_REMOTE, "id: unexpected output");
		goto out;
	}
	memcpy(h->login_user, p, (size_t)(nl - p));
	h->login_user[nl - p] = '\0';
	memcpy(h->login_group, nl + 1, (size_t)(rest - (nl + 1)));
	h->login_group[rest - (nl + 1)] = '\0';
	remove_uploads_of_dead_runs(h, machine, rest + 1);
 out:
	rk_run_result_clear(&res);
	return r;
}

/*
 * The content reaches the host first, under a name nothing reads: the temporary sibling
 * itself on the login path (created O_EXCL with the final mode's owner bits only: the
 * script gives it its owner, group and mode), or a 0600 file of the login in the scratch
 * folder on the sudo path, for `sudo -n install` to copy beside the target.
 */
static int
upload_content(struct replace_job *job, struct rk_bytes content, struct rk_err *err)
{
	const struct rk_file_spec *spec = job->spec;
	char rnd[17];
	bool synced;
	int r;

	if ((r = learn_login_identity(job->h, err)) != 0 ||
	    (r = tp_temp_sibling(&job->tmp, spec->path, err)) != 0)
		return r;
	if (!job->sudo)
		return job->h->upload(job->h->ctx, job->tmp, content, spec->mode & 0700, &synced,
		    err);
	if ((r = tp_random_hex(rnd, 8, err)) != 0)
		return r;
	if (asprintf(&job->scratch, "%s/rekey-upload-%s-%s", job->h->scratch_dir,
	    job->h->upload_tag, rnd) < 0) {
		job->scratch = NULL;
		return rk_fail_nomem(err);
	}
	if ((r = job->h->upload(job->h->ctx, job->scratch, content, 0600, &synced, err)) != 0)
		rk_err_prefix(err, "upload to the private copy %s", job->scratch);
	return r;
}

/*
 * Everything else of a replace in one command on the host, so a file costs one round trip
 * after its upload, whatever the path:
 *  - stat the file there now: absent, a regular file (hashed, under the cap), a symlink
 *    (refused unless allowed), anything else refused; print it ("old ..." or "absent");
 *  - choose owner and group: the spec's, else the old file's, else the login's ("as ...");
 *  - remove the temporary siblings of this file a killed run left (two runs never replace
 *    one file at once: the journal's lock sees to it for an incident);
 *  - back the old file up beside itself (cp -p keeps mode, owner and times and creates the
 *    copy without group and other bits until the owner is set, coreutils copy.c), and check
 *    the copy against the stat;
 *  - give the temporary sibling its owner, group and mode (install(1) and chown-then-chmod
 *    both set the owner before widening the mode, so nobody gets a wider file for a moment);
 *  - make both durable, rename over the target (mv -f -T is rename(2): readers see the old
 *    file or the new one, never a mix, never nothing), make the rename durable;
 *  - print the new file's stat and hash for the check.
 * The exit status says how far it got, so a failure after the rename is rolled back and one
 * before it is not.
 */
static const char replace_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "path=$1 tmp=$2 bak=$3 scratch=$4 mode=$5 owner=$6 group=$7 me=$8 mygroup=$9\n"
    "shift 9\n"
    "stage=$1 links=$2 dir=$3 swap=$4 cap=$5\n"
    "if old=$(stat -c '%f %U %G %s' -- \"$path\" 2>&1); then\n"
    "\tif [ -h \"$path\" ]; then\n"
    "\t\t[ \"$links\" = yes ] || exit 10\n"
    "\t\toldsum=-\n"
    "\telif [ -f \"$path\" ]; then\n"
    "\t\t[ \"${old##* }\" -le \"$cap\" ] || { printf '%s\\n' \"${old##* }\" >&2; exit 4; }\n"
    "\t\toldsum=$(sha256sum < \"$path\") || exit 1\n"
    "\t\toldsum=${oldsum%% *}\n"
    "\t\tset -- $old\n"
    "\t\t[ \"$owner\" != - ] || owner=$2\n"
    "\t\t[ \"$group\" != - ] || group=$3\n"
    "\telse\n"
    "\t\texit 11\n"
    "\tfi\n"
    "\tprintf 'old %s %s\\n' \"$old\" \"$oldsum\"\n"
    "else\n"
    "\tcase $old in *': No such file or directory') ;; *) printf '%s\\n' \"$old\" >&2; exit 1 ;; esac\n"
    "\told= bak=-\n"
    "\techo absent\n"
    "fi\n"
    "for f in \"$path\".rekey-tmp-*; do\n"
    "\t[ \"$f\" = \"$tmp\" ] || [ ! -f \"$f\" ] || rm -f -- \"$f\" || exit 1\n"
    "done\n"
    "[ \"$owner\" != - ] || owner=$me\n"
    "[ \"$group\" != - ] || group=$mygroup\n"
    "printf 'as %s %s\\n' \"$owner\" \"$group\"\n"
    "if [ \"$bak\" != - ]; then\n"
    "\tcp -P -p -- \"$path\" \"$bak\" && now=$(stat -c '%f %U %G %s' -- \"$bak\") || exit 20\n"
    "\tif [ \"$oldsum\" = - ]; then\n"
    "\t\t[ -h \"$bak\" ] || { echo 'the copy of the symbolic link is not a link' >&2; exit 20; }\n"
    "\telif [ \"$now\" != \"$old\" ]; then\n"
    "\t\tprintf 'the copy is \"%s\", not \"%s\" as the file\\n' \"$now\" \"$old\" >&2\n"
    "\t\texit 20\n"
    "\telse\n"
    "\t\tsum=$(sha256sum < \"$bak\") || exit 20\n"
    "\t\t[ \"${sum%% *}\" = \"$oldsum\" ] || { echo 'the copy differs from the file' >&2; exit 20; }\n"
    "\tfi\n"
    "fi\n"
    "if [ \"$stage\" = install ]; then\n"
    "\tinstall -m \"$mode\" -o \"$owner\" -g \"$group\" -T -- \"$scratch\" \"$tmp\" || exit 30\n"
    "else\n"
    "\tif [ \"$owner\" != \"$me\" ] || [ \"$group\" != \"$mygroup\" ]; then\n"
    "\t\tchown -- \"$owner:$group\" \"$tmp\" || exit 30\n"
    "\tfi\n"
    "\tchmod -- \"$mode\" \"$tmp\" || exit 30\n"
    "fi\n"
    "if [ \"$bak\" != - ]; then sync -- \"$tmp\" \"$bak\"; else sync -- \"$tmp\"; fi || exit 30\n"
    "[ \"$swap\" = mv ] || exit 0\n"
    "mv -f -T -- \"$tmp\" \"$path\" || exit 40\n"
    "sync -- \"$dir\" && out=$(stat -c '%f %U %G %s' -- \"$path\") &&\n"
    "    sum=$(sha256sum < \"$path\") || exit 41\n"
    "printf '%s\\n%s\\n' \"$out\" \"$sum\"\n";

#define REPLACE_EXIT_OVER_CAP	4
#define REPLACE_EXIT_SYMLINK	10
#define REPLACE_EXIT_NOT_FILE	11
#define REPLACE_EXIT_BACKUP	20
#define REPLACE_EXIT_STAGE	30
#define REPLACE_EXIT_SWAP	40	/* mv failed: the target is untouched */
#define REPLACE_EXIT_AFTER	41	/* renamed, then something failed */

/* "old RAW OWNER GROUP SIZE SUM" or "absent", then "as OWNER GROUP"; moves *p past them. */
static int
parse_replace_head(struct replace_job *job, const char **p, struct rk_err *err)
{
	struct rk_buf line;
	const char *nl;
	char sum[80] = "";
	int r = 0;

	memset(&job->old, 0, sizeof(job->old));
	if (*p != NULL && strncmp(*p, "old ", 4) == 0 && (nl = strchr(*p, '\n')) != NULL) {
		/* The stat line as parse_stat_output reads it, the hash on the next line. */
		const char *sp = nl;

		while (sp > *p && sp[-1] != ' ')
			sp--;
		snprintf(sum, sizeof(sum), "%.*s", (int)(nl - sp), sp);
		rk_buf_init(&line, 1024);
		if ((r = rk_buf_printf(&line, err, "%.*s\n%s\n", (int)(sp - 1 - (*p + 4)),
		    *p + 4, sum)) == 0)
			r = parse_stat_output(&job->old, &line, strcmp(sum, "-") != 0,
			    job->spec->path, err);
		rk_buf_clear(&line);
		if (r != 0)
			return r;
		*p = nl + 1;
	} else if (*p != NULL && strncmp(*p, "absent\n", 7) == 0) {
		*p += 7;
	} else {
		return 1;	/* not printed: the script stopped before */
	}
	if (strncmp(*p, "as ", 3) != 0 || (nl = strchr(*p, '\n')) == NULL)
		return 1;
	*p += 3;
	if (!take_word(job->owner, sizeof(job->owner), p) ||
	    (size_t)(nl - *p) >= sizeof(job->group))
		return rk_fail(err, RK_E_REMOTE, "replace %s: unexpected output", job->spec->path);
	memcpy(job->group, *p, (size_t)(nl - *p));
	job->group[nl - *p] = '\0';
	*p = nl + 1;
	return 0;
}

/* Runs the script; job->swapped says whether the target was renamed (a broken channel:
 * asked on the host). */
static int
finish_on_host(struct replace_job *job, struct rk_file_stat *now, bool swap,
    struct rk_err *err)
{
	const struct rk_file_spec *spec = job->spec;
	struct tp_cmd_host *h = job->h;
	char mode[8], cap[32], line[320];
	const char *argv[] = { "sh", "-c", replace_script, "rekey-replace", spec->path, job->tmp,
	    job->bak, job->scratch != NULL ? job->scratch : "-", mode,
	    spec->owner != NULL ? spec->owner : "-", spec->group != NULL ? spec->group : "-",
	    h->login_user, h->login_group, job->sudo ? "install" : "login",
	    spec->allow_symlink ? "yes" : "no", job->dir, swap ? "mv" : "-", cap, NULL };
	struct rk_run_result res;
	struct rk_file_stat after;
	struct rk_buf rest;
	const char *p;
	int r, head;

	format_mode(mode, spec->mode);
	(void)snprintf(cap, sizeof(cap), "%d", RK_REMOTE_FILE_MAX);
	rk_run_result_init(&res);
	if ((r = h->run(&res, h->ctx, argv, job->sudo, RK_REMOTE_OUTPUT_MAX, err)) != 0)
		goto unknown;
	p = (const char *)res.out.ptr;
	if ((head = parse_replace_head(job, &p, err)) < 0) {
		r = head;
		goto out;
	}
	tp_first_line(line, sizeof(line), &res.err);
	switch (res.exit_status) {
	case 0:
		job->swapped = swap;
		if (head != 0)
			r = rk_fail(err, RK_E_REMOTE, "replace: unexpected output");
		else if (swap) {
			rest = (struct rk_buf){ (unsigned char *)p, strlen(p), 0, 0 };
			r = parse_stat_output(now, &rest, true, spec->path, err);
		}
		goto out;
	case REPLACE_EXIT_OVER_CAP:
		r = tp_fail_over_cap(strtoull(line, NULL, 10), RK_REMOTE_FILE_MAX, err);
		goto out;
	case REPLACE_EXIT_SYMLINK:
	case REPLACE_EXIT_NOT_FILE:
		/* Refused on the host; said in the words every backend uses. */
		after = (struct rk_file_stat){ .exists = true,
		    .is_symlink = res.exit_status == REPLACE_EXIT_SYMLINK };
		if ((r = tp_check_target_kind(&after, spec, err)) == 0)
			r = rk_fail(err, RK_E_INTERNAL, "replace refused a target it may replace");
		goto out;
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
	if (swap && tp_cmd_stat(&after, h, spec->path, RK_REMOTE_FILE_MAX, &(struct rk_err){
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
	    (r = rk_path_dirname(&job.dir, spec->path, err)) != 0 ||
	    (r = tp_backup_sibling(&job.bak, spec->path, err)) != 0)
		goto out;
	if ((r = upload_content(&job, content, err)) != 0 ||
	    (r = finish_on_host(&job, &now, !own_rename, err)) != 0 ||
	    (own_rename && (r = swap_by_backend(&job, &now, err)) != 0) ||
	    (r = check_new_file(&job, &now, err)) != 0)
		goto out;
	free(job.tmp);
	job.tmp = NULL;			/* it is the target now */
	if (!job.old.exists) {
		free(job.bak);		/* there was nothing to back up */
		job.bak = NULL;
	}
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
	if (job.bak != NULL && job.old.exists)
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
	/* A rollback after a kill is often the first session since: it clears the uploads. */
	if ((r = learn_login_identity(h, err)) != 0)
		return r;
	if ((r = rk_path_dirname(&dir, backup->target, err)) != 0)
		return r;
	if (backup->existed)
		r = copy_back(h, backup, dir, err);
	else
		r = remove_target(h, backup, dir, err);
	free(dir);
	return r;
}
