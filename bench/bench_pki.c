/*
 * Certificates issued per second by rekey's PKI engine: a fresh key and a signed certificate
 * each, on a pool of threads (issuing is CPU-bound and each certificate is independent).
 * Prints one line: "<type> <count> <seconds> <per-second>". Used by bench/pki.sh.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rekey/ca.h"

struct job {
	struct rk_signing_ca	*ca;
	enum rk_key_type	 type;
	atomic_int		 next;
	int			 count;
	atomic_int		 failed;
};

static struct rk_dn_attr attrs[] = { { "O", "rekey bench" }, { "CN", "db.example.com" } };
static struct rk_dn dn = { attrs, 2 };
static char *sans[] = { "DNS:db.example.com", "IP:10.0.0.5" };

static void *
worker(void *arg)
{
	struct job *job = arg;
	struct rk_cert_spec spec = { RK_PROFILE_SERVER, &dn, sans, 2, 90, false };

	while (atomic_fetch_add(&job->next, 1) < job->count) {
		struct rk_cert *cert = NULL;
		struct rk_key *key = NULL;
		struct rk_secret pem = { NULL, 0 };
		struct rk_err err = { 0 };

		/* The PEM encoding is part of the job: it is what gets pushed to a host. */
		if (rk_issue_with_new_key(&cert, &key, &spec, job->type, job->ca, &err) != 0 ||
		    rk_key_to_pem(&pem, key, NULL, &err) != 0) {
			fprintf(stderr, "bench: %s\n", err.msg);
			atomic_fetch_add(&job->failed, 1);
		}
		rk_secret_clear(&pem);
		rk_cert_free(cert);
		rk_key_free(key);
	}
	return NULL;
}

/* A count from the command line, 1 to max; 1 when it is not a number in that range. */
static long
count_of(const char *s, long max)
{
	char *end;
	long n = strtol(s, &end, 10);

	return end != s && *end == '\0' && n >= 1 && n <= max ? n : 1;
}

int
main(int argc, char **argv)
{
	struct rk_signing_ca ca = { NULL, NULL, NULL };
	struct rk_err err = { 0 };
	struct timespec t0, t1;
	pthread_t tids[64];
	struct job job;
	int v, threads, i;
	double secs;

	if (argc != 6 || !rk_enum_lookup(rk_key_type_names, argv[3], &v)) {
		fprintf(stderr, "usage: bench_pki CA_CERT CA_KEY TYPE COUNT THREADS\n");
		return 2;
	}
	threads = (int)count_of(argv[5], 64);
	if (rk_signing_ca_open(&ca, argv[1], argv[2], NULL, &err) != 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return 1;
	}
	memset(&job, 0, sizeof(job));
	job.ca = &ca;
	job.type = (enum rk_key_type)v;
	job.count = (int)count_of(argv[4], 1000000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, worker, &job);
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s %d %.3f %.1f\n", argv[3], job.count, secs, job.count / secs);
	rk_signing_ca_close(&ca);
	return atomic_load(&job.failed) == 0 ? 0 : 1;
}
