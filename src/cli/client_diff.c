/*
 * `rekey plan --diff`: each client's configuration file read through its host's transport
 * and edited in memory, one worker per host at a time, so the plan can show the exact change.
 * Reads only; a host that cannot be reached gets its error in the plan, not an abort.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rekey/workers.h"
#include "rekey/clientfile.h"
#include "rekey/envfile.h"
#include "rekey/local.h"
#include "rekey/ssh.h"

struct diff_job {
	const struct rk_model		*model;
	struct cli_client_view		*views;		/* one per model client */
	const struct rk_host		**hosts;	/* the hosts with clients */
	size_t				 nhosts;
};

static char *
message_of(const struct rk_err *err)
{
	return strdup(err->msg[0] != '\0' ? err->msg : "failed");
}

/* The latest change read on this host for the same file, so that edits of one file compose. */
static const struct rk_client_change *
previous_edit_of(struct rk_client_change *const *changes, size_t n, const struct rk_client *c)
{
	while (n-- > 0)
		if (changes[n] != NULL && strcmp(changes[n]->client->path, c->path) == 0)
			return changes[n];
	return NULL;
}

static void
read_host_clients(struct diff_job *job, const struct rk_host *host)
{
	const struct rk_model *m = job->model;
	struct rk_transport *t = NULL;
	struct rk_client_change **changes;
	struct rk_err err = { 0 };
	struct rk_buf diff;
	size_t i, n = 0;
	int r;

	if ((changes = calloc(m->nclients, sizeof(*changes))) == NULL) {
		r = rk_fail_nomem(&err);
	} else {
		r = host->transport == RK_TRANSPORT_LOCAL ? rk_local_transport_new(&t, host, &err) :
		    rk_ssh_transport_new(&t, host, &err);
		if (r == 0)
			r = t->ops->connect(t, &err);
	}
	for (i = 0; i < m->nclients; i++) {
		struct cli_client_view *v = &job->views[i];

		if (m->clients[i].host != host)
			continue;
		v->done = true;
		if (r != 0) {
			v->error = message_of(&err);
			continue;
		}
		rk_err_clear(&err);
		rk_buf_init(&diff, RK_CLIENT_OUT_MAX * 2);
		if (rk_client_change_read_after(&changes[n], t, &m->clients[i],
		    previous_edit_of(changes, n, &m->clients[i]), &err) != 0 ||
		    rk_client_change_diff(&diff, changes[n], &err) != 0) {
			v->error = message_of(&err);
		} else {
			v->changed = changes[n]->changed;
			v->diff = rk_buf_detach(&diff);
		}
		n++;
		rk_buf_clear(&diff);
		rk_err_clear(&err);
	}
	for (i = 0; i < n; i++)
		rk_client_change_free(changes[i]);
	free(changes);
	rk_transport_free(t);
}

static void
diff_worker(void *arg, size_t i)
{
	struct diff_job *job = arg;

	read_host_clients(job, job->hosts[i]);
}

int
cli_read_client_changes(struct cli_client_views *out, const struct rk_model *m,
    struct rk_err *err)
{
	struct diff_job job = { m, NULL, NULL, 0 };
	size_t i, j;
	int r;

	out->views = NULL;
	out->n = 0;
	if (m->nclients == 0)
		return 0;
	if ((r = rk_ssh_global_init(err)) != 0)
		return r;
	job.views = calloc(m->nclients, sizeof(*job.views));
	job.hosts = calloc(m->nclients, sizeof(*job.hosts));
	if (job.views == NULL || job.hosts == NULL) {
		free(job.views);
		free(job.hosts);
		rk_ssh_global_cleanup();
		return rk_fail_nomem(err);
	}
	/* One worker per host: a transport is used by one thread at a time. */
	for (i = 0; i < m->nclients; i++) {
		for (j = 0; j < job.nhosts && job.hosts[j] != m->clients[i].host; j++)
			;
		if (j == job.nhosts)
			job.hosts[job.nhosts++] = m->clients[i].host;
	}
	(void)rk_workers_run(job.nhosts, (size_t)m->policy.max_parallel, diff_worker, &job);
	free(job.hosts);
	rk_ssh_global_cleanup();
	out->views = job.views;
	out->n = m->nclients;
	return 0;
}

void
cli_client_views_clear(struct cli_client_views *views)
{
	size_t i;

	for (i = 0; i < views->n; i++) {
		free(views->views[i].diff);
		free(views->views[i].error);
	}
	free(views->views);
	views->views = NULL;
	views->n = 0;
}

const struct cli_client_view *
cli_client_view_of(const struct cli_client_views *views, const struct rk_model *m,
    const struct rk_client *c)
{
	size_t i;

	if (views == NULL || c == NULL || c < m->clients || c >= m->clients + m->nclients)
		return NULL;
	i = (size_t)(c - m->clients);
	return i < views->n && views->views[i].done ? &views->views[i] : NULL;
}
