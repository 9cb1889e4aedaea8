/*
 * The actions on hosts, through the transport interface only (one session per host, kept
 * for all its steps): connect, push a file with a backup, edit a client's configuration,
 * run a client's commands. Each change journals what undoes it: the backup, the old
 * SHA-256, mode, owner and group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_int.h"
#include "rekey/clientfile.h"
#include "rekey/digest.h"
#include "rekey/hostfile.h"

static int
connect_host(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const char *const argv[] = { "true", NULL };
	struct rk_transport *t;
	struct rk_run_result run;
	int r;

	(void)res;
	if ((r = ctx_transport(&t, ctx, s->host, err)) != 0)
		return r;
	if (!s->host->sudo)
		return 0;
	/* The plan promises `sudo -n` works: a password prompt would stop every file step. */
	rk_run_result_init(&run);
	if ((r = t->ops->run(&run, t, argv, true, err)) == 0 && run.exit_status != 0)
		r = rk_fail(err, RK_E_REMOTE, "%s: sudo -n true failed (exit %d): the login may "
		    "not use sudo without a password", s->host->name, run.exit_status);
	rk_run_result_clear(&run);
	return r;
}

/* The client's file as it is on its host now, and its edit worked out in memory. */
static int
read_change(struct rk_client_change **out, struct rk_transport **t, struct rk_run_ctx *ctx,
    const struct rk_step *s, struct rk_err *err)
{
	int r;

	*out = NULL;
	if ((r = ctx_transport(t, ctx, s->host, err)) != 0)
		return r;
	return rk_client_change_read(out, *t, s->client, err);
}

static int
check_client_config(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_client_change *change = NULL;
	struct rk_transport *t;
	int r;

	if ((r = read_change(&change, &t, arg, s, err)) != 0)
		return r;
	r = rk_step_result_out(res, "changes", change->changed ? "yes" : "no", err);
	rk_client_change_free(change);
	return r;
}

/* ---- push-file -------------------------------------------------------------------------- */

static int
push_file(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	struct rk_backup backup = { 0 };
	char hex[RK_SHA256_HEX];
	struct rk_transport *t;
	struct rk_buf content;
	int r;

	if ((r = ctx_push_content(&content, ctx, s, err)) != 0 ||
	    (r = rk_sha256_hex(hex, rk_buf_bytes(&content), err)) != 0 ||
	    (r = ctx_transport(&t, ctx, s->host, err)) != 0)
		goto out;
	if ((r = rk_push_file(&backup, t, s->file, rk_buf_bytes(&content), err)) != 0)
		goto out;
	if ((r = result_put_backup(res, &backup, err)) == 0)
		r = rk_step_result_out(res, "sha256", hex, err);
 out:
	rk_backup_clear(&backup);
	rk_buf_clear(&content);
	return r;
}

/*
 * A host's pushes of one group in one go (rk_push_files: one command on the host). Each
 * content is made first; one that cannot be stops the batch there, as a failed push would.
 */
static size_t
push_files(void *arg, const struct rk_step *const *steps, size_t n,
    struct rk_step_result *const *res, int *codes, struct rk_err *errs)
{
	struct rk_run_ctx *ctx = arg;
	struct rk_file_change *changes = NULL;
	struct rk_buf *contents = NULL;
	struct rk_transport *t;
	struct rk_err err = { 0 };
	size_t i, ready, ran = 0;
	char hex[RK_SHA256_HEX];

	if ((changes = calloc(n, sizeof(*changes))) == NULL ||
	    (contents = calloc(n, sizeof(*contents))) == NULL) {
		codes[0] = rk_fail_nomem(&errs[0]);
		ran = 1;
		goto out;
	}
	for (ready = 0; ready < n; ready++) {
		if ((codes[ready] = ctx_push_content(&contents[ready], ctx, steps[ready],
		    &errs[ready])) != 0)
			break;
		changes[ready].spec = rk_file_spec_of_target(steps[ready]->file);
		changes[ready].content = rk_buf_bytes(&contents[ready]);
	}
	if (ready == 0 || (codes[0] = ctx_transport(&t, ctx, steps[0]->host, &errs[0])) != 0) {
		ran = 1;
		goto out;
	}
	/* Whether it failed, and where, each change says. */
	err.code = rk_push_files(t, changes, ready, &err);
	for (i = 0; i < ready; i++) {
		ran = i + 1;
		if (changes[i].state == RK_CHANGE_FAILED) {
			errs[i] = changes[i].err;
			codes[i] = errs[i].code != 0 ? errs[i].code : RK_E_REMOTE;
			goto out;
		}
		if (changes[i].state != RK_CHANGE_DONE) {
			codes[i] = rk_fail(&errs[i], RK_E_INTERNAL, "the push was not reached");
			goto out;
		}
		if ((codes[i] = result_put_backup(res[i], &changes[i].backup, &errs[i])) != 0 ||
		    (codes[i] = rk_sha256_hex(hex, changes[i].content, &errs[i])) != 0 ||
		    (codes[i] = rk_step_result_out(res[i], "sha256", hex, &errs[i])) != 0)
			goto out;
	}
	ran = ready < n ? ready + 1 : n;	/* the content that could not be made failed */
 out:
	if (changes != NULL)
		rk_file_changes_clear(changes, n);
	for (i = 0; contents != NULL && i < n; i++)
		rk_buf_clear(&contents[i]);
	free(changes);
	free(contents);
	return ran;
}

static int
restore(void *arg, const struct rk_step *s, const struct rk_kv *undo, size_t nundo,
    const struct rk_kv *out, size_t nout, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	struct rk_backup backup;
	struct rk_transport *t;
	int r;

	(void)out;
	(void)nout;
	if (nundo == 0)
		return 0;	/* the step changed nothing (an edit that was already in place) */
	if ((r = backup_from_undo(&backup, undo, nundo, err)) != 0)
		return r;
	if ((r = ctx_transport(&t, ctx, s->host, err)) == 0)
		r = t->ops->restore_file(t, &backup, err);
	rk_backup_clear(&backup);
	return r;
}

/*
 * The newest backup the transport made of path (its names sort by time), found with ls on
 * the host: a run killed between the replace and its journal record knows no name.
 */
static int
find_backup(struct rk_backup *out, struct rk_transport *t, const struct rk_host *h,
    const char *path, struct rk_err *err)
{
	const char *const argv[] = { "sh", "-c", "ls -1d -- \"$1\".rekey-bak-* 2>/dev/null",
	    "sh", path, NULL };
	struct rk_run_result run;
	struct rk_file_stat st;
	char *last = NULL, *line, *save = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	rk_run_result_init(&run);
	if ((r = t->ops->run(&run, t, argv, h->sudo, err)) != 0)
		goto out;
	/* None: the file held these bytes already (a CA certificate that stays), nothing to
	 * put back. */
	if (run.out.ptr == NULL)
		goto out;
	for (line = strtok_r((char *)run.out.ptr, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		last = line;
	if (run.exit_status != 0 || last == NULL)
		goto out;
	if ((r = t->ops->stat(&st, t, last, RK_REMOTE_FILE_MAX, err)) != 0)
		goto out;
	if ((out->target = strdup(path)) == NULL || (out->path = strdup(last)) == NULL) {
		rk_backup_clear(out);
		r = rk_fail_nomem(err);
		goto out;
	}
	out->existed = true;
	out->mode = st.mode;
	snprintf(out->owner, sizeof(out->owner), "%s", st.owner);
	snprintf(out->group, sizeof(out->group), "%s", st.group);
	snprintf(out->sha256, sizeof(out->sha256), "%s", st.sha256);
 out:
	rk_run_result_clear(&run);
	return r;
}

/* Resume: the target holds the new bytes already; its backup is looked for on the host. */
static int
found_in_place(bool *done, struct rk_transport *t, const struct rk_host *h, const char *path,
    const char *want_sha, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_backup backup = { 0 };
	struct rk_file_stat st;
	int r;

	*done = false;
	if ((r = t->ops->stat(&st, t, path, RK_REMOTE_FILE_MAX, err)) != 0)
		return r;
	if (!st.exists || !st.is_regular || strcmp(st.sha256, want_sha) != 0)
		return 0;
	if ((r = find_backup(&backup, t, h, path, err)) == 0 &&
	    (r = result_put_backup(res, &backup, err)) == 0 &&
	    (r = rk_step_result_out(res, "sha256", want_sha, err)) == 0)
		*done = true;
	rk_backup_clear(&backup);
	return r;
}

static int
push_file_done(bool *done, void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	char hex[RK_SHA256_HEX];
	struct rk_transport *t;
	struct rk_buf content;
	int r;

	*done = false;
	if ((r = ctx_push_content(&content, ctx, s, err)) == 0 &&
	    (r = rk_sha256_hex(hex, rk_buf_bytes(&content), err)) == 0 &&
	    (r = ctx_transport(&t, ctx, s->host, err)) == 0)
		r = found_in_place(done, t, s->host, s->file->path, hex, res, err);
	rk_buf_clear(&content);
	return r;
}

/* ---- edit-config ------------------------------------------------------------------------- */

static int
edit_config(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	struct rk_client_change *change = NULL;
	struct rk_backup backup = { 0 };
	char hex[RK_SHA256_HEX];
	struct rk_transport *t;
	int r;

	/* Read now, not at preflight: a client sharing the file may have edited it since. */
	if ((r = read_change(&change, &t, ctx, s, err)) != 0)
		return r;
	if (!change->changed) {
		r = rk_step_result_out(res, "changed", "no", err);
		goto out;
	}
	if ((r = rk_client_change_apply(&backup, t, change, err)) != 0 ||
	    (r = rk_sha256_hex(hex, rk_buf_bytes(&change->after), err)) != 0 ||
	    (r = result_put_backup(res, &backup, err)) != 0 ||
	    (r = ctx_keep_diff(ctx, change, err)) != 0)
		goto out;
	r = rk_step_result_out(res, "sha256", hex, err);
 out:
	rk_backup_clear(&backup);
	rk_client_change_free(change);
	return r;
}

static int
edit_config_done(bool *done, void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	struct rk_client_change *change = NULL;
	struct rk_transport *t;
	int r;

	*done = false;
	if ((r = read_change(&change, &t, ctx, s, err)) != 0)
		return r;
	/* The edit is in place when making it again would change nothing. */
	if (!change->changed)
		r = found_in_place(done, t, s->host, s->client->path, change->found.sha256, res,
		    err);
	rk_client_change_free(change);
	return r;
}

/* ---- client commands ---------------------------------------------------------------------- */

static int
run_command(struct rk_run_ctx *ctx, const struct rk_step *s, const char *command,
    struct rk_step_result *res, struct rk_err *err)
{
	struct rk_command_outcome outcome;
	struct rk_transport *t;
	char status[16];
	int r;

	if ((r = ctx_transport(&t, ctx, s->host, err)) != 0 ||
	    (r = rk_run_host_command(&outcome, t, command, err)) != 0)
		return r;
	snprintf(status, sizeof(status), "%d", outcome.exit_status);
	if ((r = rk_step_result_out(res, "exit", status, err)) != 0)
		return r;
	if (outcome.exit_status != 0)
		return rk_fail(err, RK_E_REMOTE, "%s: exit %d%s%s", s->client->name,
		    outcome.exit_status, outcome.summary[0] != '\0' ? ": " : "", outcome.summary);
	return 0;
}

static int
client_reload(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	return run_command(arg, s, s->client->reload_command, res, err);
}

/* After a rollback put a client's files back, its reload makes it read them again. */
static int
client_reload_again(void *arg, const struct rk_step *s, const struct rk_kv *undo, size_t nundo,
    const struct rk_kv *out, size_t nout, struct rk_err *err)
{
	struct rk_step_result res;
	int r;

	(void)undo;
	(void)nundo;
	(void)out;
	(void)nout;
	memset(&res, 0, sizeof(res));
	r = run_command(arg, s, s->client->reload_command, &res, err);
	rk_step_result_reset(&res);
	return r;
}

static int
client_verify(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	return run_command(arg, s, s->client->verify_command, res, err);
}

void
act_hosts_rows(struct rk_action_ops *ops)
{
	ops[RK_ACT_CONNECT_HOST].run = connect_host;
	ops[RK_ACT_CHECK_CLIENT_CONFIG].run = check_client_config;
	ops[RK_ACT_PUSH_FILE].run = push_file;
	ops[RK_ACT_PUSH_FILE].run_batch = push_files;
	ops[RK_ACT_PUSH_FILE].undo = restore;
	ops[RK_ACT_PUSH_FILE].undo_rank = RK_UNDO_CONTENT;
	ops[RK_ACT_PUSH_FILE].check_done = push_file_done;
	ops[RK_ACT_EDIT_CLIENT_CONFIG].run = edit_config;
	ops[RK_ACT_EDIT_CLIENT_CONFIG].undo = restore;
	ops[RK_ACT_EDIT_CLIENT_CONFIG].undo_rank = RK_UNDO_CONTENT;
	ops[RK_ACT_EDIT_CLIENT_CONFIG].check_done = edit_config_done;
	ops[RK_ACT_RUN_CLIENT_RELOAD].run = client_reload;
	ops[RK_ACT_RUN_CLIENT_RELOAD].undo = client_reload_again;
	ops[RK_ACT_RUN_CLIENT_RELOAD].undo_rank = RK_UNDO_RELOAD;
	ops[RK_ACT_RUN_CLIENT_VERIFY].run = client_verify;
}
