/*
 * The fault injector of the torture tests (fault.h). Each wrapper counts the call, and the
 * one whose number was asked for fails the way the system call or allocator fails; the rest
 * go to the real function (__real_X, which the linker binds to the C library's, or to
 * ASan's interceptor in a sanitizer build).
 *
 * Global state, which STYLE.md keeps to the logger: a test seam, linked into test programs
 * only, never into bin/rekey.
 */
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rekey/err.h"

struct rk_transport;

/* The wrapped functions, as the linker names them (-Wl,--wrap=X). */
void	*__real_malloc(size_t n);
void	*__real_calloc(size_t n, size_t size);
void	*__real_realloc(void *p, size_t n);
void	*__real_reallocarray(void *p, size_t n, size_t size);
char	*__real_strdup(const char *s);
char	*__real_strndup(const char *s, size_t n);
int	 __real_vasprintf(char **out, const char *fmt, va_list ap);
ssize_t	 __real_write(int fd, const void *buf, size_t n);
int	 __real_fsync(int fd);
int	 __real_fdatasync(int fd);
int	 __real_rename(const char *from, const char *to);
int	 __real_link(const char *from, const char *to);
int	 __real_tp_fault_point(const struct rk_transport *t, const char *op, struct rk_err *err);

void	*__wrap_malloc(size_t n);
void	*__wrap_calloc(size_t n, size_t size);
void	*__wrap_realloc(void *p, size_t n);
void	*__wrap_reallocarray(void *p, size_t n, size_t size);
char	*__wrap_strdup(const char *s);
char	*__wrap_strndup(const char *s, size_t n);
int	 __wrap_asprintf(char **out, const char *fmt, ...);
int	 __wrap_vasprintf(char **out, const char *fmt, va_list ap);
ssize_t	 __wrap_write(int fd, const void *buf, size_t n);
int	 __wrap_fsync(int fd);
int	 __wrap_fdatasync(int fd);
int	 __wrap_rename(const char *from, const char *to);
int	 __wrap_link(const char *from, const char *to);
int	 __wrap_tp_fault_point(const struct rk_transport *t, const char *op, struct rk_err *err);

/* Where the executable starts (GNU ld provides it): call sites as offsets from it are the
 * same in every run of one binary, whatever ASLR does. */
extern const char __executable_start[];

#define SITES_MAX	8192

struct site {
	uintptr_t	 offset;	/* 0: free slot */
	long long	 first;		/* the number of the first call made from there */
	const char	*kind;
};

static atomic_llong calls;		/* since the last arm */
static atomic_llong fail_at;		/* 0: none */
static atomic_int fired;
static atomic_int started;		/* the environment has been read */
static bool want_report;
static pthread_mutex_t sites_lock = PTHREAD_MUTEX_INITIALIZER;
static struct site sites[SITES_MAX];
static size_t sites_used;
static struct site failed;

static void
read_environment(void)
{
	const char *v;

	if (atomic_exchange(&started, 1) != 0)
		return;
	/* strtoll and getenv allocate nothing, so this is safe inside malloc. */
	if ((v = getenv("RK_FAULT")) != NULL)
		atomic_store(&fail_at, strtoll(v, NULL, 10));
	want_report = getenv("RK_FAULT_REPORT") != NULL;
}

static void
note_site(uintptr_t offset, long long n, const char *kind)
{
	size_t i;

	pthread_mutex_lock(&sites_lock);
	for (i = (offset * 2654435761u) % SITES_MAX; sites_used < SITES_MAX - 1;
	    i = (i + 1) % SITES_MAX) {
		if (sites[i].offset == offset)
			break;
		if (sites[i].offset == 0) {
			sites[i] = (struct site){ offset, n, kind };
			sites_used++;
			break;
		}
	}
	pthread_mutex_unlock(&sites_lock);
}

/* Counts one call from caller; true when it is the one that must fail. */
static bool
must_fail(const char *kind, const void *caller)
{
	uintptr_t offset = (uintptr_t)caller - (uintptr_t)__executable_start;
	long long n;

	read_environment();
	n = atomic_fetch_add(&calls, 1) + 1;
	if (want_report)
		note_site(offset, n, kind);
	if (n != atomic_load(&fail_at))
		return false;
	atomic_store(&fired, 1);
	failed = (struct site){ offset, n, kind };
	return true;
}

#define FAILS(kind)	must_fail((kind), __builtin_return_address(0))

void *
__wrap_malloc(size_t n)
{
	if (FAILS("alloc")) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	if (FAILS("alloc")) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	if (FAILS("alloc")) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, n);
}

void *
__wrap_reallocarray(void *p, size_t n, size_t size)
{
	if (FAILS("alloc")) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_reallocarray(p, n, size);
}

char *
__wrap_strdup(const char *s)
{
	if (FAILS("alloc")) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
	if (FAILS("alloc")) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strndup(s, n);
}

/* glibc leaves *out undefined on failure; rekey's callers must not rely on it either. */
int
__wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
	if (FAILS("alloc")) {
		errno = ENOMEM;
		return -1;
	}
	return __real_vasprintf(out, fmt, ap);
}

int
__wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (FAILS("alloc")) {
		errno = ENOMEM;
		return -1;
	}
	va_start(ap, fmt);
	r = __real_vasprintf(out, fmt, ap);
	va_end(ap);
	return r;
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	if (FAILS("write")) {
		errno = ENOSPC;
		return -1;
	}
	return __real_write(fd, buf, n);
}

int
__wrap_fsync(int fd)
{
	if (FAILS("fsync")) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

int
__wrap_fdatasync(int fd)
{
	if (FAILS("fsync")) {
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}

int
__wrap_rename(const char *from, const char *to)
{
	if (FAILS("rename")) {
		errno = EIO;
		return -1;
	}
	return __real_rename(from, to);
}

int
__wrap_link(const char *from, const char *to)
{
	if (FAILS("link")) {
		errno = EIO;
		return -1;
	}
	return __real_link(from, to);
}

int
__wrap_tp_fault_point(const struct rk_transport *t, const char *op, struct rk_err *err)
{
	if (FAILS("transport"))
		return rk_err_set(err, RK_E_REMOTE, __FILE__, __LINE__,
		    "connection lost (injected fault)");
	return __real_tp_fault_point(t, op, err);
}

void
rk_fault_arm(long long n)
{
	atomic_store(&started, 1);
	atomic_store(&calls, 0);
	atomic_store(&fired, 0);
	atomic_store(&fail_at, n);
}

long long
rk_fault_calls(void)
{
	return atomic_load(&calls);
}

int
rk_fault_fired(void)
{
	return atomic_load(&fired);
}

/* The report, written with the real write(2) at exit: numbers only, no stdio (it may be
 * what failed). */
static void
put_line(int fd, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)__real_write(fd, line, (size_t)n);
}

__attribute__((destructor)) static void
write_report(void)
{
	const char *path = getenv("RK_FAULT_REPORT");
	int fd;

	if (path == NULL || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return;
	put_line(fd, "calls %lld\n", (long long)atomic_load(&calls));
	pthread_mutex_lock(&sites_lock);
	for (size_t i = 0; i < SITES_MAX; i++)
		if (sites[i].offset != 0)
			put_line(fd, "site %lld %s %#lx\n", sites[i].first, sites[i].kind,
			    (unsigned long)sites[i].offset);
	pthread_mutex_unlock(&sites_lock);
	if (atomic_load(&fired))
		put_line(fd, "failed %lld %s %#lx\n", failed.first, failed.kind,
		    (unsigned long)failed.offset);
	close(fd);
}
