/* The worker pool: every job runs once, and as many at once as asked (no silent cap). */
#include "test_util.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "rekey/workers.h"

struct counts {
	atomic_int	*calls;
	atomic_int	 arrived;
	int		 want_together;
	atomic_bool	 all_met;
};

static void
count_call(void *arg, size_t i)
{
	struct counts *c = arg;

	atomic_fetch_add(&c->calls[i], 1);
}

static void
test_workers_run_every_job_once(void **state)
{
	static const size_t sizes[][2] = { { 0, 4 }, { 1, 4 }, { 5, 1 }, { 1000, 16 }, { 3, 50 } };
	struct counts c = { 0 };
	size_t k, i, used;

	(void)state;
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		c.calls = calloc(sizes[k][0] + 1, sizeof(*c.calls));
		assert_non_null(c.calls);
		used = rk_workers_run(sizes[k][0], sizes[k][1], count_call, &c);
		assert_true(used <= (sizes[k][0] < sizes[k][1] ? sizes[k][0] : sizes[k][1]) ||
		    (sizes[k][0] > 0 && used == 1));
		for (i = 0; i < sizes[k][0]; i++)
			assert_int_equal(atomic_load(&c.calls[i]), 1);
		free(c.calls);
	}
}

/* Each job waits until all have arrived: only a pool that really runs them together ends. */
static void
wait_for_all(void *arg, size_t i)
{
	struct counts *c = arg;
	struct timespec pause = { 0, 1000000 };
	time_t deadline = time(NULL) + 20;

	(void)i;
	atomic_fetch_add(&c->arrived, 1);
	while (atomic_load(&c->arrived) < c->want_together && time(NULL) < deadline)
		nanosleep(&pause, NULL);
	if (atomic_load(&c->arrived) < c->want_together)
		atomic_store(&c->all_met, false);
}

static void
test_workers_run_more_than_64_at_once(void **state)
{
	struct counts c = { 0 };

	(void)state;
	c.want_together = 200;
	atomic_store(&c.all_met, true);
	assert_int_equal(rk_workers_run(200, 1024, wait_for_all, &c), 200);
	assert_int_equal(atomic_load(&c.arrived), 200);
	assert_true(atomic_load(&c.all_met));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers_run_every_job_once),
		cmocka_unit_test(test_workers_run_more_than_64_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
