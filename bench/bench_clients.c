/*
 * bench_clients: the client step of a rotation on every client of a playbook, from a pool of
 * worker threads, as rekey's executor will: one ssh transport per host, each configuration
 * file read, edited in memory and replaced atomically with its owner and mode and a backup
 * (rk_client_change_read + rk_client_change_apply). Not a test: bench/clients.sh runs it
 * beside Ansible's lineinfile and prints both.
 *
 * usage: bench_clients PLAYBOOK WORKERS
 * Prints one line: "clients N changed N failed N seconds S".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "rekey/clientfile.h"
#include "rekey/playbook.h"
#include "rekey/ssh.h"

static struct {
	const struct rk_model	*model;
	size_t			 next;		/* taken with __atomic_fetch_add */
	size_t			 changed, failed;
} run;

static int
update(const struct rk_client *c, bool *changed, struct rk_err *err)
{
	struct rk_transport *t = NULL;
	struct rk_client_change *change = NULL;
	struct rk_backup backup = { 0 };
	int r;

	if ((r = rk_ssh_transport_new(&t, c->host, err)) == 0 &&
	    (r = t->ops->connect(t, err)) == 0 &&
	    (r = rk_client_change_read(&change, t, c, err)) == 0 &&
	    (r = rk_client_change_apply(&backup, t, change, err)) == 0)
		*changed = change->changed;
	rk_backup_clear(&backup);
	rk_client_change_free(change);
	rk_transport_free(t);
	return r;
}

static void *
worker(void *arg)
{
	size_t i;

	(void)arg;
	while ((i = __atomic_fetch_add(&run.next, 1, __ATOMIC_RELAXED)) < run.model->nclients) {
		struct rk_err err = { 0 };
		bool changed = false;

		if (update(&run.model->clients[i], &changed, &err) != 0) {
			fprintf(stderr, "bench_clients: %s: %s\n", run.model->clients[i].name,
			    err.msg);
			__atomic_fetch_add(&run.failed, 1, __ATOMIC_RELAXED);
		} else if (changed) {
			__atomic_fetch_add(&run.changed, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct rk_model *model = NULL;
	struct rk_diags diags;
	struct rk_err err = { 0 };
	struct timespec t0, t1;
	pthread_t threads[256];
	int nworkers, started = 0, i;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_clients PLAYBOOK WORKERS\n");
		return 2;
	}
	nworkers = (int)strtol(argv[2], &end, 10);
	if (*end != '\0' || nworkers < 1 || nworkers > 256) {
		fprintf(stderr, "bench_clients: WORKERS must be 1 to 256\n");
		return 2;
	}
	rk_diags_init(&diags, argv[1]);
	if (rk_playbook_load(&model, argv[1], &diags, &err) != 0 || rk_diags_has_errors(&diags)) {
		fprintf(stderr, "bench_clients: %s: %s\n", argv[1],
		    diags.n > 0 ? diags.items[0].msg : err.msg);
		return 2;
	}
	rk_diags_clear(&diags);
	if (rk_ssh_global_init(&err) != 0) {
		fprintf(stderr, "bench_clients: %s\n", err.msg);
		return 1;
	}
	run.model = model;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&threads[started], NULL, worker, NULL) == 0)
			started++;
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("clients %zu changed %zu failed %zu seconds %.3f\n", model->nclients, run.changed,
	    run.failed, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rk_ssh_global_cleanup();
	rk_model_free(model);
	return run.failed == 0 ? 0 : 1;
}
