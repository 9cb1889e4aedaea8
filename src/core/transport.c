#include "rekey/transport.h"

#include <stdlib.h>
#include <string.h>

void
rk_backup_clear(struct rk_backup *backup)
{
	if (backup == NULL)
		return;
	free(backup->target);
	free(backup->path);
	memset(backup, 0, sizeof(*backup));
}

void
rk_file_changes_clear(struct rk_file_change *changes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rk_backup_clear(&changes[i].backup);
		changes[i].state = RK_CHANGE_NOT_REACHED;
		memset(&changes[i].err, 0, sizeof(changes[i].err));
	}
}

void
rk_run_result_init(struct rk_run_result *r)
{
	r->exit_status = -1;
	rk_buf_init(&r->out, RK_REMOTE_OUTPUT_MAX);
	rk_buf_init(&r->err, RK_REMOTE_OUTPUT_MAX);
}

void
rk_run_result_clear(struct rk_run_result *r)
{
	if (r == NULL)
		return;
	rk_buf_clear(&r->out);
	rk_buf_clear(&r->err);
	r->exit_status = -1;
}

void
rk_transport_free(struct rk_transport *t)
{
	if (t != NULL)
		t->ops->free(t);
}
