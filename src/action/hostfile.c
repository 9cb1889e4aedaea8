/* File pushes and commands, shared by the server and client steps. */
#include "rekey/hostfile.h"

#include <string.h>

#include "rekey/conninfo.h"

struct rk_file_spec
rk_file_spec_of_target(const struct rk_file_target *target)
{
	return (struct rk_file_spec){ target->path, target->owner, target->group, target->mode,
	    target->allow_symlink };
}

int
rk_push_file(struct rk_backup *backup, struct rk_transport *t,
    const struct rk_file_target *target, struct rk_bytes content, struct rk_err *err)
{
	struct rk_file_spec spec = rk_file_spec_of_target(target);

	return t->ops->replace_file(backup, t, &spec, content, err);
}

int
rk_push_files(struct rk_transport *t, struct rk_file_change *changes, size_t n,
    struct rk_err *err)
{
	return t->ops->replace_files(t, changes, n, err);
}

/* The last non-blank line of text, as [*start, *end). */
static void
last_line(const struct rk_buf *text, size_t *start, size_t *end)
{
	size_t e = text->len, s;

	while (e > 0 && (text->ptr[e - 1] == '\n' || text->ptr[e - 1] == '\r' ||
	    text->ptr[e - 1] == ' ' || text->ptr[e - 1] == '\t'))
		e--;
	for (s = e; s > 0 && text->ptr[s - 1] != '\n'; s--)
		;
	*start = s;
	*end = e;
}

static void
summarize(char *out, const struct rk_run_result *res)
{
	const struct rk_buf *from = &res->err;
	struct rk_buf masked;
	struct rk_err err = { 0 };
	size_t s, e, i, n = 0;

	out[0] = '\0';
	last_line(from, &s, &e);
	if (s == e) {
		from = &res->out;
		last_line(from, &s, &e);
	}
	if (s == e || rk_conninfo_mask_text(&masked, (struct rk_bytes){ from->ptr + s, e - s },
	    &err) != 0)
		return;
	for (i = 0; i < masked.len && n < RK_COMMAND_SUMMARY_MAX; i++, n++)
		out[n] = masked.ptr[i] < 0x20 || masked.ptr[i] == 0x7f ? '?' : (char)masked.ptr[i];
	out[n] = '\0';
	rk_buf_clear(&masked);
}

int
rk_run_host_command(struct rk_command_outcome *out, struct rk_transport *t,
    const char *command_line, struct rk_err *err)
{
	const char *argv[] = { "sh", "-c", command_line, NULL };
	struct rk_run_result res;
	int r;

	memset(out, 0, sizeof(*out));
	out->exit_status = -1;
	rk_run_result_init(&res);
	if ((r = t->ops->run(&res, t, argv, t->host->sudo, err)) == 0) {
		out->exit_status = res.exit_status;
		summarize(out->summary, &res);
	}
	rk_run_result_clear(&res);
	return r;
}
