/*
 * The client configuration step. Reading and editing are apart from writing, so `plan --diff`
 * and `rehearse` show exactly the bytes `run` would write, and `run` refuses to write over a
 * file that someone changed after it was shown.
 */
#include "rekey/clientfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/clientconf.h"
#include "rekey/digest.h"
#include "rekey/envfile.h"
#include "rekey/udiff.h"

void
rk_client_change_free(struct rk_client_change *change)
{
	if (change == NULL)
		return;
	rk_buf_clear(&change->before);
	rk_buf_clear(&change->after);
	free(change->label);
	free(change);
}

int
rk_client_change_read(struct rk_client_change **out, struct rk_transport *t,
    const struct rk_client *client, struct rk_err *err)
{
	return rk_client_change_read_after(out, t, client, NULL, err);
}

static bool
edits_same_file(const struct rk_client_change *prev, const struct rk_client *client)
{
	return prev != NULL && prev->client->host == client->host &&
	    strcmp(prev->client->path, client->path) == 0;
}

/* The file as prev leaves it: what this change starts from, and will expect to find. */
static int
start_after(struct rk_client_change *ch, const struct rk_client_change *prev,
    struct rk_err *err)
{
	int r;

	ch->found = prev->found;
	if ((r = rk_buf_append(&ch->before, prev->after.ptr, prev->after.len, err)) != 0)
		return r;
	return rk_sha256_hex(ch->found.sha256, rk_buf_bytes(&ch->before), err);
}

static int
read_from_host(struct rk_client_change *ch, struct rk_transport *t, struct rk_err *err)
{
	const char *path = ch->client->path;
	int r;

	if ((r = t->ops->stat(&ch->found, t, path, 0, err)) != 0)
		return r;
	if (!ch->found.exists)
		return rk_fail(err, RK_E_REMOTE, "%s: no such file (rekey edits configuration "
		    "files, it does not create them)", ch->label);
	if (ch->found.is_symlink)
		return rk_fail(err, RK_E_USAGE, "%s: is a symbolic link; name the file it points "
		    "to, so that the link stays", ch->label);
	if (!ch->found.is_regular)
		return rk_fail(err, RK_E_USAGE, "%s: not a regular file", ch->label);
	/* The read checks the size cap on the host before a byte is sent: a 2 GB file costs
	 * nothing. The hash is of the bytes read, so the apply finds any change made since. */
	if ((r = t->ops->read_file(&ch->before, t, path, RK_CLIENT_FILE_MAX, err)) != 0)
		return r;
	return rk_sha256_hex(ch->found.sha256, rk_buf_bytes(&ch->before), err);
}

int
rk_client_change_read_after(struct rk_client_change **out, struct rk_transport *t,
    const struct rk_client *client, const struct rk_client_change *prev, struct rk_err *err)
{
	struct rk_client_change *ch;
	int r;

	*out = NULL;
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return rk_fail_nomem(err);
	ch->client = client;
	rk_buf_init(&ch->before, RK_CLIENT_FILE_MAX);
	rk_buf_init(&ch->after, RK_CLIENT_OUT_MAX);
	if (asprintf(&ch->label, "%s:%s", client->host->name, client->path) < 0) {
		ch->label = NULL;
		r = rk_fail_nomem(err);
		goto out;
	}
	r = edits_same_file(prev, client) ? start_after(ch, prev, err) :
	    read_from_host(ch, t, err);
	if (r != 0 || (r = rk_clientconf_edit(&ch->after, rk_buf_bytes(&ch->before), client,
	    ch->label, err)) != 0)
		goto out;
	ch->changed = ch->after.len != ch->before.len || (ch->before.len > 0 &&
	    memcmp(ch->after.ptr, ch->before.ptr, ch->before.len) != 0);
	*out = ch;
	ch = NULL;
 out:
	rk_client_change_free(ch);
	return r;
}

int
rk_client_change_diff(struct rk_buf *out, const struct rk_client_change *change,
    struct rk_err *err)
{
	struct rk_buf old_shown, new_shown;
	struct rk_udiff_input in = { change->label, change->label, rk_buf_bytes(&change->before),
	    rk_buf_bytes(&change->after), { NULL, 0 }, { NULL, 0 }, RK_UDIFF_CONTEXT };
	int r;

	rk_buf_init(&new_shown, 0);
	if ((r = rk_clientconf_mask(&old_shown, in.old_text, change->client, change->label,
	    err)) != 0 ||
	    (r = rk_clientconf_mask(&new_shown, in.new_text, change->client, change->label,
	    err)) != 0)
		goto out;
	in.old_shown = rk_buf_bytes(&old_shown);
	in.new_shown = rk_buf_bytes(&new_shown);
	/* An empty file masks to an empty copy, which must still count as given. */
	if (in.old_shown.ptr == NULL)
		in.old_shown.ptr = (const unsigned char *)"";
	if (in.new_shown.ptr == NULL)
		in.new_shown.ptr = (const unsigned char *)"";
	r = rk_udiff(out, &in, NULL, err);
 out:
	rk_buf_clear(&old_shown);
	rk_buf_clear(&new_shown);
	return r;
}

int
rk_client_change_apply(struct rk_backup *backup, struct rk_transport *t,
    const struct rk_client_change *change, struct rk_err *err)
{
	struct rk_file_stat now;
	struct rk_file_spec spec = { change->client->path, NULL, NULL, change->found.mode, false };
	int r;

	memset(backup, 0, sizeof(*backup));
	if (!change->changed)
		return 0;
	if ((r = t->ops->stat(&now, t, change->client->path, RK_CLIENT_FILE_MAX, err)) != 0)
		return r;
	if (!now.exists || now.is_symlink || strcmp(now.sha256, change->found.sha256) != 0)
		return rk_fail(err, RK_E_REMOTE, "%s: changed since it was read; nothing written "
		    "(run again to see the new difference)", change->label);
	/* NULL owner and group: the transport keeps the old file's. */
	return t->ops->replace_file(backup, t, &spec, rk_buf_bytes(&change->after), err);
}
