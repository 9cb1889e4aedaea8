/* A pool of threads for work that mostly waits on other machines (hosts, servers, keygen). */
#ifndef REKEY_WORKERS_H
#define REKEY_WORKERS_H

#include <stddef.h>

/*
 * Calls job(arg, i) once for every i in [0, n), on min(n, max_threads) threads (at least
 * one), and returns when all have returned. Threads take the next index from a shared atomic
 * counter, so a slow job does not hold back the others. Should fewer threads start than
 * asked (the system is out of them), the ones that did share the work, and with none the
 * calling thread does it all: the work is done either way. job must be thread-safe for
 * distinct i. Returns the number of threads that ran jobs.
 */
size_t	rk_workers_run(size_t n, size_t max_threads, void (*job)(void *arg, size_t i),
	    void *arg);

#endif
