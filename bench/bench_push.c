/*
 * bench_push: pushes four files (cert, key, CA, CRL) with mode and owner to many ssh hosts
 * from a pool of worker threads, as rekey's executor will: libssh2_init once, one transport
 * (one SSH session) per host, every replace checked afterwards by the transport itself (stat
 * and sha256sum on the host against the SHA-256 of what was sent). Not a test: bench/push.sh
 * runs it beside Ansible and prints both.
 *
 * usage: bench_push HOSTS USER KEY KNOWN_HOSTS WORKERS CERT KEYFILE CA CRL
 *   HOSTS: lines "name address port folder"; the four files go to folder on that host.
 * Prints one line: "hosts N files N failed N seconds S peak_rss_kib K".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "rekey/fsutil.h"
#include "rekey/ssh.h"
#include "rekey/transport.h"

#define MAX_HOSTS	4096

struct job {
	struct rk_host	 host;
	char		 name[64], address[64], folder[512];
	int		 r;
	char		 msg[512];
};

static struct {
	struct job	*jobs;
	size_t		 njobs;
	size_t		 next;		/* taken with __atomic_fetch_add */
	struct rk_bytes	 content[4];
	char		*user, *key, *known_hosts;
} run;

static const struct {
	const char	*name;
	mode_t		 mode;
} files[4] = {
	{ "server.crt", 0644 }, { "server.key", 0600 }, { "ca.crt", 0644 }, { "ca.crl", 0644 },
};

/* The four files to one host as a rotation pushes them: one replace_files call, which the
 * ssh transport makes one command on the host. */
static int
push_to(struct job *job, struct rk_err *err)
{
	struct rk_file_change changes[4];
	struct rk_transport *t = NULL;
	char paths[4][1024];
	int r;

	memset(changes, 0, sizeof(changes));
	if ((r = rk_ssh_transport_new(&t, &job->host, err)) != 0 ||
	    (r = t->ops->connect(t, err)) != 0)
		goto out;
	for (int i = 0; i < 4; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", job->folder, files[i].name);
		changes[i].spec = (struct rk_file_spec){ .path = paths[i], .owner = run.user,
		    .group = run.user, .mode = files[i].mode };
		changes[i].content = run.content[i];
	}
	r = t->ops->replace_files(t, changes, 4, err);
	rk_file_changes_clear(changes, 4);
 out:
	rk_transport_free(t);
	return r;
}

static void *
worker(void *arg)
{
	size_t i;

	(void)arg;
	while ((i = __atomic_fetch_add(&run.next, 1, __ATOMIC_RELAXED)) < run.njobs) {
		struct rk_err err = { 0 };
		struct job *job = &run.jobs[i];

		job->r = push_to(job, &err);
		snprintf(job->msg, sizeof(job->msg), "%s", err.msg);
	}
	return NULL;
}

static int
read_hosts(const char *path)
{
	char line[1024];
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return -1;
	run.jobs = calloc(MAX_HOSTS, sizeof(*run.jobs));
	while (run.jobs != NULL && run.njobs < MAX_HOSTS && fgets(line, sizeof(line), fp)) {
		struct job *job = &run.jobs[run.njobs];
		int port;

		if (sscanf(line, "%63s %63s %d %511s", job->name, job->address, &port,
		    job->folder) != 4)
			continue;
		job->host = (struct rk_host){ .name = job->name, .transport = RK_TRANSPORT_SSH,
		    .address = job->address, .port = port, .user = run.user,
		    .identity = run.key, .known_hosts = run.known_hosts, .timeout = 60 };
		run.njobs++;
	}
	fclose(fp);
	return run.jobs != NULL && run.njobs > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct rk_buf bufs[4];
	struct rk_err err = { 0 };
	struct timespec t0, t1;
	struct rusage ru;
	pthread_t threads[256];
	int nworkers, failed = 0;
	char *end;

	if (argc != 10) {
		fprintf(stderr, "usage: bench_push HOSTS USER KEY KNOWN_HOSTS WORKERS CERT KEYFILE "
		    "CA CRL\n");
		return 2;
	}
	run.user = argv[2];
	run.key = argv[3];
	run.known_hosts = argv[4];
	nworkers = (int)strtol(argv[5], &end, 10);
	if (*end != '\0' || nworkers < 1 || nworkers > 256) {
		fprintf(stderr, "bench_push: WORKERS must be 1 to 256\n");
		return 2;
	}
	if (read_hosts(argv[1]) != 0) {
		fprintf(stderr, "bench_push: no hosts in %s\n", argv[1]);
		return 2;
	}
	for (int i = 0; i < 4; i++) {
		rk_buf_init(&bufs[i], RK_REMOTE_FILE_MAX);
		if (rk_file_read(&bufs[i], argv[6 + i], RK_REMOTE_FILE_MAX, &err) != 0) {
			fprintf(stderr, "bench_push: %s\n", err.msg);
			return 2;
		}
		run.content[i] = rk_buf_bytes(&bufs[i]);
	}
	if (rk_ssh_global_init(&err) != 0) {
		fprintf(stderr, "bench_push: %s\n", err.msg);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nworkers; i++)
		pthread_create(&threads[i], NULL, worker, NULL);
	for (int i = 0; i < nworkers; i++)
		pthread_join(threads[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (size_t i = 0; i < run.njobs; i++)
		if (run.jobs[i].r != 0 && failed++ < 5)
			fprintf(stderr, "bench_push: %s\n", run.jobs[i].msg);
	getrusage(RUSAGE_SELF, &ru);
	printf("hosts %zu files %zu failed %d seconds %.3f peak_rss_kib %ld\n", run.njobs,
	    run.njobs * 4, failed, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss);
	rk_ssh_global_cleanup();
	for (int i = 0; i < 4; i++)
		rk_buf_clear(&bufs[i]);
	free(run.jobs);
	return failed == 0 ? 0 : 1;
}
