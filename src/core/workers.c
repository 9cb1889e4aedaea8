/*
 * The worker pool. No silent cap: a playbook may ask for up to RK_PARALLEL_MAX hosts at once,
 * and each thread mostly sleeps in poll(2) waiting on a host, so that many threads is cheap.
 */
#include "rekey/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct pool {
	size_t		 n;
	atomic_size_t	 next;
	void		(*job)(void *arg, size_t i);
	void		*arg;
};

static void *
take_jobs(void *p)
{
	struct pool *pool = p;
	size_t i;

	while ((i = atomic_fetch_add(&pool->next, 1)) < pool->n)
		pool->job(pool->arg, i);
	return NULL;
}

size_t
rk_workers_run(size_t n, size_t max_threads, void (*job)(void *arg, size_t i), void *arg)
{
	struct pool pool = { .n = n, .job = job, .arg = arg };
	size_t want = n < max_threads ? n : max_threads, started = 0, i;
	pthread_t *tids = NULL;

	atomic_init(&pool.next, 0);
	if (n == 0)
		return 0;
	if (want <= 1 || (tids = calloc(want, sizeof(*tids))) == NULL) {
		take_jobs(&pool);
		return 1;
	}
	for (i = 0; i < want; i++)
		if (pthread_create(&tids[started], NULL, take_jobs, &pool) == 0)
			started++;
	if (started == 0)
		take_jobs(&pool);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	return started > 0 ? started : 1;
}
