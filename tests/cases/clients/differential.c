/*
 * The client editors judged by the programs that read their files in production (issue #12):
 * random inputs from a fixed seed, each edited by rekey, each read before and after by
 *
 * - bash, sourcing a .env (env -i PATH=/nonexistent-rekey bash --noprofile --norc -r, in an
 *   empty folder, its own session, as nobody when run as root, under a CPU limit; and the
 *   inputs are made from an alphabet without $, `, ;, &, |, <, >, ( and ), whose only lower-case
 *   letters spell no builtin or keyword, so no command can run);
 * - libpq's PQconninfoParse, for connection strings;
 * - libpq's own service-file reader, for pg_service.conf: PGSERVICEFILE names the file, and
 *   PQconnectStartParams gets "service=NAME" with host and hostaddr 127.0.0.1 and a closed
 *   loopback port, which win over the file's, so libpq never connects anywhere else;
 *   PQconninfo then tells the options it took from the file;
 * - MariaDB's my_print_defaults --defaults-file=F GROUP, for my.cnf;
 * - bash then PQconninfoParse, for a connection string in $DSN of a .env.
 *
 * For each input: rekey refuses it, or the reader sees exactly the values set and every other
 * value as before, and reads the file without complaint. Every mismatch this found is kept
 * as a golden case under tests/cases/clients/<format>/, and the golden cases given with
 * --golden are judged the same way.
 *
 * Usage: differential_clients --bash PATH --my-print-defaults PATH [--count N] [--seed S]
 *            [--keep DIR] [--golden FORMAT DIR]...
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "rekey/bytes.h"
#include "rekey/conninfo.h"
#include "rekey/envfile.h"
#include "rekey/err.h"
#include "rekey/inifile.h"
#include "rekey/model.h"

#define DEADLINE_SECONDS	20	/* for one run of a reader; they take milliseconds */
#define NSET_MAX		4

enum format { F_ENV, F_CONNINFO, F_PG_SERVICE, F_MYCNF, F_ENV_DSN, F_COUNT };
static const char *const format_names[] = { "env", "conninfo", "pg_service", "ini",
    "env-conninfo" };

static const char *bash_path, *mpd_path;
static char workdir[] = "/tmp/rk-differential-XXXXXX";
static char closed_port[16];

/* ---- a fixed-seed generator (xorshift64*): the same inputs on every run ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static bool
chance(unsigned percent)
{
	return rnd(100) < percent;
}

static const char *
pick(const char *const *list, size_t n)
{
	return list[rnd((uint32_t)n)];
}

#define PICK(list)	pick((list), sizeof(list) / sizeof((list)[0]))

/* ---- growable strings ---- */

struct str {
	char	*p;
	size_t	 len, cap;
};

static void
str_add(struct str *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		if ((s->p = realloc(s->p, s->cap)) == NULL)
			abort();
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void
str_adds(struct str *s, const char *p)
{
	str_add(s, p, strlen(p));
}

static void
str_reset(struct str *s)
{
	s->len = 0;
	str_add(s, "", 0);
}

static void
str_free(struct str *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

/* Random text from alphabet, n bytes at most (UTF-8 sequences stay whole). */
static void
add_random(struct str *s, const char *alphabet, unsigned max)
{
	unsigned n = rnd(max + 1), i;
	size_t na = strlen(alphabet);

	for (i = 0; i < n; i++) {
		size_t at = rnd((uint32_t)na);

		/* A multibyte character is picked by its first byte. */
		while (at > 0 && ((unsigned char)alphabet[at] & 0xc0) == 0x80)
			at--;
		str_add(s, alphabet + at, ((unsigned char)alphabet[at] & 0x80) == 0 ? 1 :
		    ((unsigned char)alphabet[at] & 0xe0) == 0xc0 ? 2 : 3);
	}
}

/* ---- what a reader sees: names and values in order, or an error ---- */

struct view {
	size_t	 n;
	char	*name[256];
	char	*value[256];
	char	*error;		/* NULL: read without complaint */
	char	*pq_error;	/* env-conninfo: libpq could not read $DSN */
};

static void
view_set(struct view *v, const char *name, const char *value, size_t vlen)
{
	size_t i;

	for (i = 0; i < v->n && strcmp(v->name[i], name) != 0; i++)
		;
	if (i == v->n) {
		if (v->n == 256)
			return;
		v->name[v->n++] = strdup(name);
	} else {
		free(v->value[i]);
	}
	v->value[i] = malloc(vlen + 1);
	memcpy(v->value[i], value, vlen);
	v->value[i][vlen] = '\0';
}

static const char *
view_get(const struct view *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->name[i], name) == 0)
			return v->value[i];
	return NULL;
}

static void
view_error(struct view *v, const char *what, size_t n)
{
	if (v->error == NULL) {
		v->error = malloc(n + 1);
		memcpy(v->error, what, n);
		v->error[n] = '\0';
	}
}

static void
view_clear(struct view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->name[i]);
		free(v->value[i]);
	}
	free(v->error);
	free(v->pq_error);
	memset(v, 0, sizeof(*v));
}

/* ---- running a reader: argv exec, a deadline, output captured ---- */

static void
write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd == -1 || write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
		perror(path);
		exit(2);
	}
}

static void
child_sandbox(bool sandbox)
{
	struct rlimit cpu = { 5, 5 }, fsize = { 0, 0 };

	(void)setsid();
	if (!sandbox)
		return;
	/* bash -r cannot redirect; no file may grow anyway, and no loop may spin. */
	(void)setrlimit(RLIMIT_CPU, &cpu);
	(void)setrlimit(RLIMIT_FSIZE, &fsize);
	if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
	    setuid(65534) != 0))
		_exit(126);
}

/* Runs argv in dir with envp; stdout and stderr into out and err. Returns the wait status. */
static int
run(const char *const *argv, const char *const *envp, const char *dir, bool sandbox,
    struct str *out, struct str *err)
{
	int po[2], pe[2], status = 0, devnull;
	struct pollfd fds[2];
	time_t deadline = time(NULL) + DEADLINE_SECONDS;
	char buf[4096];
	ssize_t n;
	pid_t pid;
	int open_fds = 2, i;

	str_reset(out);
	str_reset(err);
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
		abort();
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		devnull = open("/dev/null", O_RDONLY);
		if (devnull == -1 || dup2(devnull, 0) == -1 || dup2(po[1], 1) == -1 ||
		    dup2(pe[1], 2) == -1 || chdir(dir) != 0)
			_exit(127);
		child_sandbox(sandbox);
		execve(argv[0], (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	fds[0] = (struct pollfd){ po[0], POLLIN, 0 };
	fds[1] = (struct pollfd){ pe[0], POLLIN, 0 };
	while (open_fds > 0) {
		if (time(NULL) > deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			str_adds(err, "(killed at the deadline)");
			break;
		}
		if (poll(fds, 2, 1000) < 0 && errno != EINTR)
			abort();
		for (i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || fds[i].revents == 0)
				continue;
			n = read(fds[i].fd, buf, sizeof(buf));
			if (n > 0) {
				str_add(i == 0 ? out : err, buf, (size_t)n);
			} else {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	if (waitpid(pid, &status, 0) != pid)
		abort();
	return status;
}

/* ---- the readers ---- */

static bool
is_name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Every NAME followed by "=" or "+=" in text: what bash may have assigned. */
static void
add_names(struct str *names, const char *text)
{
	const char *p = text, *q;
	char word[80];

	for (; *p != '\0'; p++) {
		if (!is_name_start((unsigned char)*p) || (p > text && is_name_char((unsigned
		    char)p[-1])))
			continue;
		for (q = p; is_name_char((unsigned char)*q); q++)
			;
		if ((*q != '=' && !(q[0] == '+' && q[1] == '=')) || q - p >= 70 || (q - p == 1 &&
		    *p == '_'))
			continue;
		snprintf(word, sizeof(word), " %.*s ", (int)(q - p), p);
		if (names->p == NULL || strstr(names->p, word) == NULL)
			str_add(names, word, strlen(word) - 1);
	}
}

/*
 * Bytes that must never reach bash: with them a random input could run a command. (A CR is
 * safe, but bash keeps it in the value: a CRLF .env is for other readers.)
 */
static bool
is_safe_for_bash(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (text[i] == '\0' || strchr("$`;&|<>()\r", text[i]) != NULL)
			return false;
	return true;
}

static void
assert_safe_for_bash(const char *text, size_t len)
{
	if (!is_safe_for_bash(text, len)) {
		fprintf(stderr, "differential: an unsafe byte for bash; not run\n");
		exit(2);
	}
}

static void
read_with_bash(struct view *v, const char *text, size_t len, const char *names)
{
	static const char marker[] = "\001rekey-judge\001";
	const char *envp[] = { "PATH=/nonexistent-rekey", NULL };
	struct str script = { 0 }, out = { 0 }, err = { 0 };
	const char *argv[] = { bash_path, "--noprofile", "--norc", "-r", "-c", NULL, NULL };
	char path[200], *p, *end, *name;
	int status;

	assert_safe_for_bash(text, len);
	snprintf(path, sizeof(path), "%s/judge.env", workdir);
	write_file(path, text, len);
	/* "." without a slash: restricted bash looks in PATH, then in the folder. */
	str_adds(&script, ". judge.env; printf '\\001rekey-judge\\001'; for n in");
	str_adds(&script, names);
	str_adds(&script, "; do if [[ -v $n ]]; then printf '%s\\0%s\\0' \"$n\" \"${!n}\"; fi; "
	    "done");
	argv[5] = script.p;
	status = run(argv, envp, workdir, true, &out, &err);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		view_error(v, "bash failed", 11);
	if (err.len > 0)
		view_error(v, err.p, err.len);
	if ((p = memmem(out.p, out.len, marker, sizeof(marker) - 1)) == NULL) {
		view_error(v, "no output", 9);
		goto out;
	}
	/* Anything before the marker: the file ran a command. */
	if (p != out.p)
		view_error(v, out.p, (size_t)(p - out.p));
	p += sizeof(marker) - 1;
	end = out.p + out.len;
	while (p < end) {
		name = p;
		p += strlen(p) + 1;
		if (p >= end)
			break;
		view_set(v, name, p, strlen(p));
		p += strlen(p) + 1;
	}
 out:
	unlink(path);
	str_free(&script);
	str_free(&out);
	str_free(&err);
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The string alone in a file, as an application passes it on: without the blanks around it. */
static void
read_with_libpq(struct view *v, const char *text)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL, *s;
	size_t n;

	while (is_space((unsigned char)*text))
		text++;
	for (n = strlen(text); n > 0 && is_space((unsigned char)text[n - 1]); n--)
		;
	if ((s = strndup(text, n)) == NULL)
		abort();
	opts = PQconninfoParse(s, &msg);
	free(s);
	if (opts == NULL) {
		view_error(v, msg != NULL ? msg : "out of memory", msg != NULL ? strlen(msg) : 13);
		PQfreemem(msg);
		return;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (o->val != NULL)
			view_set(v, o->keyword, o->val, strlen(o->val));
	PQconninfoFree(opts);
}

/* libpq, with LDAP built in, would look a line starting "ldap" up on the network. */
static void
assert_safe_for_libpq(const char *text)
{
	const char *p = text;

	for (;;) {
		while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
			p++;
		if (strncmp(p, "ldap", 4) == 0) {
			fprintf(stderr, "differential: an ldap line for libpq; not run\n");
			exit(2);
		}
		if ((p = strchr(p, '\n')) == NULL)
			return;
		p++;
	}
}

static void
read_service(struct view *v, const char *text, size_t len, const char *service)
{
	const char *const keys[] = { "service", "host", "hostaddr", "port", NULL };
	const char *vals[] = { service, "127.0.0.1", "127.0.0.1", closed_port, NULL };
	PQconninfoOption *opts, *o;
	char path[200];
	const char *msg;
	PGconn *conn;

	assert_safe_for_libpq(text);
	snprintf(path, sizeof(path), "%s/pg_service.conf", workdir);
	write_file(path, text, len);
	setenv("PGSERVICEFILE", path, 1);
	if ((conn = PQconnectStartParams(keys, vals, 0)) == NULL)
		abort();
	msg = PQerrorMessage(conn);
	/* The service file's own errors; an error about the values it gave is no read error. */
	if (PQstatus(conn) == CONNECTION_BAD && (strstr(msg, "service") != NULL))
		view_error(v, msg, strlen(msg));
	if ((opts = PQconninfo(conn)) != NULL) {
		for (o = opts; o->keyword != NULL; o++)
			if (o->val != NULL && strcmp(o->keyword, "host") != 0 &&
			    strcmp(o->keyword, "hostaddr") != 0 && strcmp(o->keyword, "port") != 0)
				view_set(v, o->keyword, o->val, strlen(o->val));
		PQconninfoFree(opts);
	}
	PQfinish(conn);
	unlink(path);
}

/*
 * What a MariaDB client takes from my_print_defaults' options (my_getopt): "-" and "_" alike,
 * "loose-K" as K, "skip-K" and "disable-K" as K=0 (with "=0" as K=1), "enable-K" as K=1 (or
 * its value), a bare "K" as K with no value.
 */
static void
mycnf_option(struct view *v, const char *opt, size_t n)
{
	static const char *const prefixes[] = { "skip-", "disable-", "enable-" };
	char name[256];
	const char *eq = memchr(opt, '=', n), *val = "(no value)", *base;
	size_t nlen = eq != NULL ? (size_t)(eq - opt) : n, vlen = strlen(val), i;
	bool zero;

	if (nlen >= sizeof(name))
		nlen = sizeof(name) - 1;
	for (i = 0; i < nlen; i++)
		name[i] = opt[i] == '_' ? '-' : opt[i];
	name[nlen] = '\0';
	if (eq != NULL) {
		val = eq + 1;
		vlen = n - nlen - 1;
	}
	base = name + (nlen > 6 && memcmp(name, "loose-", 6) == 0 ? 6 : 0);
	zero = eq != NULL && vlen == 1 && val[0] == '0';
	for (i = 0; i < 3; i++) {
		if (strncmp(base, prefixes[i], strlen(prefixes[i])) != 0)
			continue;
		base += strlen(prefixes[i]);
		if (i < 2)
			view_set(v, base, zero ? "1" : "0", 1);
		else if (eq != NULL)
			view_set(v, base, val, vlen);
		else
			view_set(v, base, "1", 1);
		return;
	}
	view_set(v, base, val, vlen);
}

static void
read_with_mysys(struct view *v, const char *text, size_t len, const char *group)
{
	const char *envp[] = { "PATH=/nonexistent-rekey", NULL };
	struct str out = { 0 }, err = { 0 };
	char path[200], arg[260];
	const char *argv[] = { mpd_path, arg, group, NULL };
	const char *p, *next, *end;
	int status;

	snprintf(path, sizeof(path), "%s/my.cnf", workdir);
	snprintf(arg, sizeof(arg), "--defaults-file=%s", path);
	write_file(path, text, len);
	status = run(argv, envp, workdir, false, &out, &err);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		view_error(v, "my_print_defaults failed", 24);
	if (err.len > 0)
		view_error(v, err.p, err.len);
	/* One option a line, each starting "--"; a value's escaped newline continues it. */
	end = out.p + out.len;
	for (p = out.p; p < end; p = next) {
		for (next = p + 1; next < end && !(next[-1] == '\n' && next + 1 < end &&
		    next[0] == '-' && next[1] == '-'); next++)
			;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			mycnf_option(v, p + 2, (size_t)(next - p - 2 - (next[-1] == '\n')));
	}
	unlink(path);
	str_free(&out);
	str_free(&err);
}

/* ---- one case ---- */

struct setting {
	const char	*key;
	char		*value;
};

struct kase {
	enum format	 format;
	struct str	 text;
	const char	*section;	/* ini and service formats */
	struct rk_setting set[NSET_MAX];
	size_t		 nset;
};

/*
 * A connection string in an env file has two readers: bash reads $DSN, then libpq reads that.
 * Its parameters show as DSN.<keyword>.
 */
static void
read_dsn(struct view *v, const char *text, size_t len, const char *names)
{
	struct view pq = { 0 };
	char name[200], *dsn;
	size_t i, j;

	read_with_bash(v, text, len, names);
	for (i = 0; i < v->n && strcmp(v->name[i], "DSN") != 0; i++)
		;
	if (i == v->n)
		return;
	dsn = v->value[i];
	free(v->name[i]);
	for (j = i + 1; j < v->n; j++) {
		v->name[j - 1] = v->name[j];
		v->value[j - 1] = v->value[j];
	}
	v->n--;
	read_with_libpq(&pq, dsn);
	free(dsn);
	if (pq.error != NULL) {
		v->pq_error = pq.error;
		pq.error = NULL;
	}
	for (j = 0; j < pq.n; j++) {
		snprintf(name, sizeof(name), "DSN.%s", pq.name[j]);
		view_set(v, name, pq.value[j], strlen(pq.value[j]));
	}
	view_clear(&pq);
}

static void
read_any(struct view *v, const struct kase *k, const char *text, size_t len,
    const char *names)
{
	switch (k->format) {
	case F_ENV_DSN:
		read_dsn(v, text, len, names);
		return;
	case F_ENV:
		read_with_bash(v, text, len, names);
		return;
	case F_CONNINFO:
		read_with_libpq(v, text);
		return;
	case F_PG_SERVICE:
		read_service(v, text, len, k->section);
		return;
	case F_MYCNF:
		read_with_mysys(v, text, len, k->section);
		return;
	case F_COUNT:
		break;
	}
	abort();
}

static int
edit(struct rk_buf *out, const struct kase *k, struct rk_err *err)
{
	struct rk_bytes in = { (const unsigned char *)k->text.p, k->text.len };

	switch (k->format) {
	case F_ENV:
		return rk_envfile_set(out, in, k->set, k->nset, "case", err);
	case F_CONNINFO:
		return rk_conninfo_set(out, in, NULL, k->set, k->nset, "case", err);
	case F_PG_SERVICE:
		return rk_inifile_set(out, in, RK_FORMAT_PG_SERVICE, k->section, k->set, k->nset,
		    "case", err);
	case F_MYCNF:
		return rk_inifile_set(out, in, RK_FORMAT_INI, k->section, k->set, k->nset, "case",
		    err);
	case F_ENV_DSN:
		return rk_conninfo_set(out, in, "DSN", k->set, k->nset, "case", err);
	case F_COUNT:
		break;
	}
	abort();
}

/* The name under which a reader shows key (my.cnf: "-" for "_"). */
static void
reader_name(char *out, size_t size, const struct kase *k, const char *key)
{
	size_t i;

	snprintf(out, size, k->format == F_ENV_DSN ? "DSN.%s" : "%s", key);
	for (i = 0; k->format == F_MYCNF && out[i] != '\0'; i++)
		if (out[i] == '_')
			out[i] = '-';
}

static bool
is_set_key(const struct kase *k, const char *name)
{
	char want[128];
	size_t i;

	for (i = 0; i < k->nset; i++) {
		reader_name(want, sizeof(want), k, k->set[i].key);
		if (k->format == F_MYCNF) {
			struct view v = { 0 };
			char opt[600];

			snprintf(opt, sizeof(opt), "%s=%s", k->set[i].key, k->set[i].value);
			mycnf_option(&v, opt, strlen(opt));
			snprintf(want, sizeof(want), "%s", v.name[0]);
			view_clear(&v);
		}
		if (strcmp(want, name) == 0)
			return true;
	}
	return false;
}

static void
show(FILE *fp, const char *what, const char *s, size_t n)
{
	size_t i;

	fprintf(fp, "  %s: \"", what);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			fputs("\\n", fp);
		else if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(fp, "\\x%02x", c);
		else
			fputc(c, fp);
	}
	fputs("\"\n", fp);
}

/* The mismatch, for a person and as files that make a golden case. */
static void
report(const struct kase *k, const char *why, const struct rk_buf *out, const char *keep,
    unsigned number)
{
	char path[600];
	FILE *fp;
	size_t i;

	fprintf(stderr, "MISMATCH %s case %u: %s\n", format_names[k->format], number, why);
	show(stderr, "in", k->text.p, k->text.len);
	if (out != NULL && out->ptr != NULL)
		show(stderr, "out", (const char *)out->ptr, out->len);
	for (i = 0; i < k->nset; i++)
		fprintf(stderr, "  set %s=%s\n", k->set[i].key, k->set[i].value);
	if (keep == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s-%u.in", keep, format_names[k->format], number);
	write_file(path, k->text.p, k->text.len);
	snprintf(path, sizeof(path), "%s/%s-%u.set", keep, format_names[k->format], number);
	if ((fp = fopen(path, "w")) == NULL)
		return;
	if (k->section != NULL)
		fprintf(fp, "[%s]\n", k->section);
	for (i = 0; i < k->nset; i++)
		fprintf(fp, "%s=%s\n", k->set[i].key, k->set[i].value);
	fclose(fp);
}

/*
 * Judges one case; returns 1 when it was accepted and read as meant, 0 refused, 2 accepted
 * but not judged (libpq reads neither version), -1 a mismatch.
 */
static int
judge(const struct kase *k, const char *keep, unsigned number)
{
	struct view before = { 0 }, after = { 0 }, base = { 0 };
	struct rk_buf out = { 0 };
	struct rk_err err = { 0 };
	struct str names = { 0 };
	char why[700], want_name[128];
	const char *got, *was;
	size_t i;
	int r = 1;

	if (edit(&out, k, &err) != 0) {
		rk_buf_clear(&out);
		return 0;
	}
	str_adds(&names, "");
	add_names(&names, k->text.p);
	add_names(&names, (const char *)out.ptr);
	for (i = 0; i < k->nset; i++)
		if (strstr(names.p, k->set[i].key) == NULL) {
			str_adds(&names, " ");
			str_adds(&names, k->set[i].key);
		}
	read_any(&before, k, k->text.p, k->text.len, names.p);
	read_any(&after, k, (const char *)out.ptr, out.len, names.p);
	why[0] = '\0';
	/*
	 * libpq's URL grammar (hosts, ports, escapes) is wider than what rekey edits: a string
	 * libpq cannot read before or after the edit was neither helped nor harmed by it.
	 */
	if ((k->format == F_CONNINFO && before.error != NULL && after.error != NULL) ||
	    (before.pq_error != NULL && after.pq_error != NULL)) {
		r = 2;
		goto out;
	}
	if (after.pq_error != NULL) {
		snprintf(why, sizeof(why), "libpq cannot read the new $DSN: %s", after.pq_error);
	} else if (after.error != NULL) {
		snprintf(why, sizeof(why), "the reader complains about rekey's output: %s",
		    after.error);
	} else if (before.error != NULL && k->format != F_CONNINFO &&
	    (k->format != F_PG_SERVICE || strstr(before.error, "not found") == NULL)) {
		snprintf(why, sizeof(why), "rekey accepted a file its reader complains about: %s",
		    before.error);
	}
	for (i = 0; why[0] == '\0' && i < k->nset; i++) {
		struct view want = { 0 };
		const char *value = k->set[i].value;

		reader_name(want_name, sizeof(want_name), k, k->set[i].key);
		/* my.cnf: what a client makes of "skip-ssl=FALSE" is ssl, and its value. */
		if (k->format == F_MYCNF) {
			char opt[600];

			snprintf(opt, sizeof(opt), "%s=%s", k->set[i].key, value);
			mycnf_option(&want, opt, strlen(opt));
			snprintf(want_name, sizeof(want_name), "%s", want.name[0]);
			value = want.value[0];
		}
		got = view_get(&after, want_name);
		if (got == NULL || strcmp(got, value) != 0)
			snprintf(why, sizeof(why), "%s reads as %s%s%s, not as set", want_name,
			    got != NULL ? "\"" : "", got != NULL ? got : "unset",
			    got != NULL ? "\"" : "");
		view_clear(&want);
	}
	/* A service rekey added: the other values are libpq's defaults, as in "[NAME]" alone. */
	if (why[0] == '\0' && k->format == F_PG_SERVICE && before.error != NULL) {
		char hdr[200];

		snprintf(hdr, sizeof(hdr), "[%s]\n", k->section);
		read_service(&base, hdr, strlen(hdr), k->section);
		view_clear(&before);
		before = base;
		memset(&base, 0, sizeof(base));
	}
	/* What libpq could not read before has no values to compare with. */
	for (i = 0; why[0] == '\0' && !(k->format == F_CONNINFO && before.error != NULL) &&
	    i < after.n; i++) {
		if (is_set_key(k, after.name[i]) || (before.pq_error != NULL &&
		    strncmp(after.name[i], "DSN.", 4) == 0))
			continue;
		was = view_get(&before, after.name[i]);
		if (was == NULL || strcmp(was, after.value[i]) != 0)
			snprintf(why, sizeof(why), "%s changed from %s to \"%s\"", after.name[i],
			    was != NULL ? was : "unset", after.value[i]);
	}
	for (i = 0; why[0] == '\0' && i < before.n; i++)
		if (!is_set_key(k, before.name[i]) && view_get(&after, before.name[i]) == NULL)
			snprintf(why, sizeof(why), "%s was \"%s\" and is now unset", before.name[i],
			    before.value[i]);
	if (why[0] != '\0') {
		report(k, why, &out, keep, number);
		r = -1;
	}
 out:
	view_clear(&before);
	view_clear(&after);
	str_free(&names);
	rk_buf_clear(&out);
	return r;
}

/* ---- generators: the documented dialects, their edges, and what lies beyond them ---- */

/*
 * For bash: no $ ` ; & | < > ( ), and only lower-case letters that spell no builtin or
 * keyword (a b x y z), so a word bash takes as a command is never one it has.
 */
#define ENV_ALPHABET	"ABXYZabxyz019_./:@%+,=^-~#{}*?[]! \t'\"\\\xc3\xa9"

static void
env_value(struct str *s)
{
	unsigned parts = 1 + rnd(2), i;

	for (i = 0; i < parts; i++) {
		switch (rnd(5)) {
		case 0:
			str_adds(s, "'");
			add_random(s, "ABXab01 #=\"\\~:/.\t", 6);
			if (chance(90))
				str_adds(s, "'");
			break;
		case 1:
			str_adds(s, "\"");
			add_random(s, "ABXab01 #='\\~:/.\t", 6);
			if (chance(90))
				str_adds(s, "\"");
			break;
		case 2:
			str_adds(s, PICK(((const char *const[]){ "~/.postgresql/root.crt", "a:~/b",
			    "{A,B}", "/etc/ssl/A.crt", "", "#x", "VERIFY-FULL" })));
			break;
		default:
			add_random(s, ENV_ALPHABET, 5);
		}
	}
}

static const char *const env_keys[] = { "K", "B", "DB_SSL_MODE", "PGSSLROOTCERT", "X_1" };

static void
gen_env(struct kase *k)
{
	unsigned lines = rnd(6), i;
	struct str *s = &k->text;

	for (i = 0; i < lines; i++) {
		switch (rnd(10)) {
		case 0:
			break;
		case 1:
			str_adds(s, PICK(((const char *const[]){ "# note", "  # x = y", "#" })));
			break;
		case 2:
			add_random(s, ENV_ALPHABET, 8);
			break;
		default:
			if (chance(20))
				str_adds(s, PICK(((const char *const[]){ " ", "\t", "  " })));
			if (chance(25))
				str_adds(s, PICK(((const char *const[]){ "export ", "export\t",
				    "export  " })));
			str_adds(s, PICK(env_keys));
			if (chance(10))
				str_adds(s, PICK(((const char *const[]){ " ", "+", "." })));
			str_adds(s, "=");
			if (chance(15))
				str_adds(s, PICK(((const char *const[]){ " ", "\t" })));
			env_value(s);
			if (chance(20))
				str_adds(s, PICK(((const char *const[]){ " ", "  ", "\t", " X=1",
				    " B", "\\", " #c", "#c", " # A=B" })));
		}
		if (i + 1 < lines || chance(80))
			str_adds(s, "\n");
	}
	k->nset = 1 + rnd(2);
	k->set[0].key = (char *)PICK(env_keys);
	k->set[1].key = (char *)(strcmp(k->set[0].key, "K") == 0 ? "B" : "K");
	for (i = 0; i < k->nset; i++) {
		struct str v = { 0 };

		str_adds(&v, "");
		if (chance(50))
			str_adds(&v, PICK(((const char *const[]){ "VERIFY-FULL", "S3CRET",
			    "~/.postgresql/root.crt", "/A B/c.crt", "A'B", "X\"Y", "", "#A",
			    "a:~/b", "{A,B}", "\\A" })));
		else
			add_random(&v, "ABXab019_./:@%+,=^-~#{}*?[]! '\"\\", 6);
		k->set[i].value = v.p;
	}
}

static const char *const pq_keys[] = {
	"host", "dbname", "user", "password", "sslmode", "sslrootcert", "requiressl",
	"application_name", "sslcert",
};

static void
pq_value(struct str *s, bool url)
{
	if (chance(30))
		str_adds(s, PICK(((const char *const[]){ "require", "disable", "verify-full",
		    "1", "0", "true", "" })));
	else
		add_random(s, url ? "ABab01%2_.~/:@=?# '+" : "ABab01_.~/:@=?&# '\\\t", 5);
}

static void
gen_conninfo(struct kase *k)
{
	unsigned n = rnd(5), i;
	struct str *s = &k->text;
	bool url = chance(50);

	if (url) {
		str_adds(s, PICK(((const char *const[]){ "postgresql://", "postgres://" })));
		if (chance(40)) {
			str_adds(s, PICK(((const char *const[]){ "app", "app:pw", "app:p%40w",
			    "app:p#w", "a@b", ":x" })));
			str_adds(s, "@");
		}
		str_adds(s, PICK(((const char *const[]){ "db1", "db1:5432", "", "[::1]:5432",
		    "a,b:1" })));
		if (chance(60))
			str_adds(s, PICK(((const char *const[]){ "/", "/app", "/a%20b", "/a#b" })));
		if (n > 0 || chance(30))
			str_adds(s, "?");
	}
	for (i = 0; i < n; i++) {
		if (url && i > 0)
			str_adds(s, chance(5) ? "&&" : "&");
		else if (!url && i > 0)
			str_adds(s, PICK(((const char *const[]){ " ", "  ", "\t" })));
		str_adds(s, url && chance(15) ? "ssl" : PICK(pq_keys));
		if (url && chance(5))
			continue;
		if (!url && chance(20))
			str_adds(s, PICK(((const char *const[]){ " =", "= ", " = " })));
		else
			str_adds(s, "=");
		if (!url && chance(30)) {
			str_adds(s, "'");
			pq_value(s, url);
			str_adds(s, "'");
		} else {
			pq_value(s, url);
		}
	}
	if (url && chance(10))
		str_adds(s, PICK(((const char *const[]){ "#frag", "&", "#" })));
	k->nset = 1 + rnd(3);
	k->set[0].key = (char *)"sslmode";
	k->set[1].key = (char *)"sslrootcert";
	k->set[2].key = (char *)"application_name";
	for (i = 0; i < k->nset; i++) {
		struct str v = { 0 };

		str_adds(&v, "");
		if (i == 0)
			str_adds(&v, PICK(((const char *const[]){ "verify-full", "verify-ca",
			    "require" })));
		else
			add_random(&v, "ABab01 %&=?#@/:'\\+", 6);
		k->set[i].value = v.p;
	}
}

static const char *const svc_keys[] = {
	"sslmode", "sslrootcert", "sslcert", "dbname", "user", "application_name",
};

static void
gen_pg_service(struct kase *k)
{
	unsigned lines = rnd(8), i;
	struct str *s = &k->text;

	k->section = "svc";
	for (i = 0; i < lines; i++) {
		if (chance(20))
			str_adds(s, PICK(((const char *const[]){ " ", "\t", "\v", "  " })));
		switch (rnd(10)) {
		case 0:
			break;
		case 1:
			str_adds(s, PICK(((const char *const[]){ "# c", ";c", "!include /x", "#" })));
			break;
		case 2:
		case 3:
			str_adds(s, PICK(((const char *const[]){ "[svc]", "[ svc ]", "[svc ]",
			    "[SVC]", "[svc]x", "[other]", "[svcx]", "[sv]" })));
			break;
		default:
			str_adds(s, PICK(svc_keys));
			if (chance(15))
				str_adds(s, PICK(((const char *const[]){ " =", "= ", " = ", "" })));
			else
				str_adds(s, "=");
			if (chance(25))
				str_adds(s, PICK(((const char *const[]){ "require", "verify-full",
				    "disable" })));
			else
				add_random(s, "ABab01 #;=[]'\"\\\t/.", 6);
		}
		if (chance(15))
			str_adds(s, PICK(((const char *const[]){ " ", "\t", "\f" })));
		if (i + 1 < lines || chance(80))
			str_adds(s, "\n");
	}
	k->nset = 1 + rnd(2);
	k->set[0].key = (char *)PICK(((const char *const[]){ "sslmode", "sslrootcert" }));
	k->set[1].key = (char *)(k->set[0].key[3] == 'm' ? "sslrootcert" : "sslmode");
	for (i = 0; i < k->nset; i++) {
		struct str v = { 0 };

		str_adds(&v, "");
		if (strcmp(k->set[i].key, "sslmode") == 0)
			str_adds(&v, PICK(((const char *const[]){ "verify-full", "verify-ca" })));
		else
			add_random(&v, "ABab01#;=[]'\"\\/.", 6);
		k->set[i].value = v.p;
	}
}

static const char *const my_keys[] = {
	"ssl-ca", "ssl_ca", "loose-ssl-ca", "ssl-cert", "ssl", "skip-ssl", "enable-ssl",
	"ssl-verify-server-cert", "skip-ssl-verify-server-cert", "user", "port",
};

/* No "n" or "r" (and so no "\n" or "\r" escape): an option stays on one output line. */
#define MY_ALPHABET	"ABab01st_./:=#; '\"\\\t\xc3\xa0\xc3\xa9"

static void
gen_mycnf(struct kase *k)
{
	unsigned lines = rnd(8), i;
	struct str *s = &k->text;

	k->section = "client";
	if (chance(85))
		str_adds(s, "[client]\n");
	for (i = 0; i < lines; i++) {
		if (chance(15))
			str_adds(s, PICK(((const char *const[]){ " ", "\t", "  " })));
		switch (rnd(10)) {
		case 0:
			break;
		case 1:
			str_adds(s, PICK(((const char *const[]){ "# c", ";c", "!include "
			    "/nonexistent-rekey.cnf", "#" })));
			break;
		case 2:
			str_adds(s, PICK(((const char *const[]){ "[client]", "[CLIENT]",
			    "[ client ]", "[client ]", "[client]x", "[Client]", "[mysql]",
			    "[clients]" })));
			break;
		case 3:
			add_random(s, MY_ALPHABET, 8);
			break;
		default:
			str_adds(s, PICK(my_keys));
			if (chance(25))
				break;
			str_adds(s, PICK(((const char *const[]){ "=", " = ", "= ", "\t=" })));
			if (chance(30)) {
				const char *q = chance(50) ? "\"" : "'";

				str_adds(s, q);
				add_random(s, MY_ALPHABET, 6);
				if (chance(85))
					str_adds(s, q);
			} else {
				add_random(s, MY_ALPHABET, 6);
			}
		}
		if (chance(15))
			str_adds(s, PICK(((const char *const[]){ " ", " # c", "#c", "\t# A=B" })));
		if (i + 1 < lines || chance(80))
			str_adds(s, "\n");
	}
	k->nset = 1 + rnd(3);
	k->set[0].key = (char *)PICK(((const char *const[]){ "ssl-ca", "ssl_ca" }));
	k->set[1].key = (char *)"ssl-verify-server-cert";
	k->set[2].key = (char *)"ssl";
	for (i = 0; i < k->nset; i++) {
		struct str v = { 0 };

		str_adds(&v, "");
		if (i > 0)
			str_adds(&v, PICK(((const char *const[]){ "1", "ON", "0" })));
		else if (chance(40))
			str_adds(&v, PICK(((const char *const[]){ "/etc/A B/ca.pem", "a#b", "x\\y",
			    "\xc3\xa0", " lead", "\"q\"", "" })));
		else
			add_random(&v, MY_ALPHABET, 6);
		k->set[i].value = v.p;
	}
}

/* A keyword connection string (libpq's), quoted for the env file in one of its styles. */
static void
gen_env_dsn(struct kase *k)
{
	struct str *s = &k->text;
	unsigned n = 1 + rnd(3), i, lines = rnd(3);
	char q = "\0'\""[rnd(3)];

	for (i = 0; i < lines; i++) {
		str_adds(s, PICK(((const char *const[]){ "# app", "K=1", "B='x y'", "" })));
		str_adds(s, "\n");
	}
	if (chance(20))
		str_adds(s, "export ");
	str_adds(s, "DSN=");
	if (q != 0)
		str_add(s, &q, 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			str_adds(s, q == 0 ? "" : " ");
		str_adds(s, PICK(((const char *const[]){ "host", "sslmode", "requiressl", "dbname",
		    "sslrootcert" })));
		str_adds(s, "=");
		if (chance(30)) {
			str_adds(s, "'");
			add_random(s, "ABab01 ./:=\\\"", 5);
			str_adds(s, "'");
		} else {
			add_random(s, "ABab01./:=\\", 5);
		}
		if (q == 0)
			break;
	}
	if (q != 0 && chance(95))
		str_add(s, &q, 1);
	if (chance(30))
		str_adds(s, PICK(((const char *const[]){ " # c", "\nK=2", " x" })));
	if (chance(80))
		str_adds(s, "\n");
	k->nset = 1 + rnd(2);
	k->set[0].key = (char *)"sslmode";
	k->set[1].key = (char *)"sslrootcert";
	for (i = 0; i < k->nset; i++) {
		struct str v = { 0 };

		str_adds(&v, "");
		if (i == 0)
			str_adds(&v, PICK(((const char *const[]){ "verify-full", "verify-ca" })));
		else
			add_random(&v, "ABab01 ./:='\"\\#", 6);
		k->set[i].value = v.p;
	}
}

static void
generate(struct kase *k, enum format f)
{
	memset(k, 0, sizeof(*k));
	k->format = f;
	str_adds(&k->text, "");
	switch (f) {
	case F_ENV:
		gen_env(k);
		return;
	case F_CONNINFO:
		gen_conninfo(k);
		return;
	case F_PG_SERVICE:
		gen_pg_service(k);
		return;
	case F_MYCNF:
		gen_mycnf(k);
		return;
	case F_ENV_DSN:
		gen_env_dsn(k);
		return;
	case F_COUNT:
		break;
	}
	abort();
}

static void
kase_clear(struct kase *k)
{
	size_t i;

	for (i = 0; i < k->nset; i++)
		free(k->set[i].value);
	str_free(&k->text);
}

/* ---- golden cases, judged by the same readers ---- */

static char *
slurp(const char *path, size_t *len)
{
	struct str s = { 0 };
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return NULL;
	str_adds(&s, "");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_add(&s, buf, (size_t)n);
	close(fd);
	*len = s.len;
	return s.p;
}

static int
has_in_suffix(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 3 && strcmp(e->d_name + n - 3, ".in") == 0;
}

/* Input, values and rekey's output alike: bash gets none of them when one is unsafe. */
static bool
golden_is_safe_for_bash(const struct kase *k)
{
	struct rk_buf out = { 0 };
	struct rk_err err = { 0 };
	bool safe = is_safe_for_bash(k->text.p, k->text.len);
	size_t i;

	for (i = 0; i < k->nset; i++)
		safe = safe && is_safe_for_bash(k->set[i].value, strlen(k->set[i].value));
	if (safe && edit(&out, k, &err) == 0)
		safe = is_safe_for_bash((const char *)out.ptr, out.len);
	rk_buf_clear(&out);
	return safe;
}

/* Returns the number of mismatches among the golden cases of one folder. */
static unsigned
judge_golden(enum format f, const char *dir, unsigned *accepted, unsigned *total)
{
	struct dirent **names = NULL;
	char path[1200], *setf, *line, *next;
	size_t len = 0, setlen = 0;
	unsigned bad = 0;
	int n, i;

	if ((n = scandir(dir, &names, has_in_suffix, alphasort)) < 0) {
		perror(dir);
		exit(2);
	}
	for (i = 0; i < n; i++) {
		struct kase k;
		char *section = NULL, *variable = NULL;

		memset(&k, 0, sizeof(k));
		k.format = f;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		k.text.p = slurp(path, &len);
		k.text.len = len;
		k.text.cap = len + 1;
		/* "x.in" becomes "x.set" */
		snprintf(path + strlen(path) - 3, sizeof(path) - (strlen(path) - 3), ".set");
		if (k.text.p == NULL || (setf = slurp(path, &setlen)) == NULL) {
			fprintf(stderr, "differential: cannot read %s\n", path);
			exit(2);
		}
		for (line = setf; *line != '\0'; line = next) {
			if ((next = strchr(line, '\n')) == NULL)
				next = line + strlen(line);
			else
				*next++ = '\0';
			if (line[0] == '[' && line[strlen(line) - 1] == ']') {
				line[strlen(line) - 1] = '\0';
				section = line + 1;
			} else if (line[0] == '$') {
				variable = line;
			} else if (line[0] != '\0' && line[0] != '#' && k.nset < NSET_MAX) {
				k.set[k.nset].key = line;
				k.set[k.nset].value = strchr(line, '=');
				*k.set[k.nset].value++ = '\0';
				k.set[k.nset].value = strdup(k.set[k.nset].value);
				k.nset++;
			}
		}
		k.section = section;
		/* A string in $DSN of an env file: bash reads the file, then libpq the string. */
		if (f == F_CONNINFO && variable != NULL && strcmp(variable, "$DSN") == 0) {
			k.format = F_ENV_DSN;
			variable = NULL;
		}
		/*
		 * A connection string in another variable is left to the unit tests, and a URL of
		 * another scheme is no libpq string: neither is judged here.
		 */
		if (variable == NULL && !(f == F_CONNINFO && strstr(k.text.p, "://") != NULL &&
		    strncmp(k.text.p, "postgres", 8) != 0) && !((k.format == F_ENV ||
		    k.format == F_ENV_DSN) && !golden_is_safe_for_bash(&k))) {
			int r;

			(*total)++;
			r = judge(&k, NULL, (unsigned)i);
			if (r < 0) {
				fprintf(stderr, "  (golden case %s/%s)\n", dir, names[i]->d_name);
				bad++;
			}
			*accepted += r == 1;
		}
		kase_clear(&k);
		free(setf);
		free(names[i]);
	}
	free(names);
	return bad;
}

static void
cleanup(void)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/judge.env", workdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pg_service.conf", workdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/my.cnf", workdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/empty", workdir);
	rmdir(path);
	rmdir(workdir);
}

/* A loopback port nothing listens on: bound, then closed (nothing else binds it meanwhile). */
static void
find_closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("socket");
		exit(2);
	}
	snprintf(closed_port, sizeof(closed_port), "%u", ntohs(sa.sin_port));
	close(fd);
}

static void
clean_environment(void)
{
	extern char **environ;
	char path[200];
	size_t i;

	/* No PG* variable of the caller's may change what libpq reads. */
	for (i = 0; environ[i] != NULL;) {
		if (strncmp(environ[i], "PG", 2) == 0) {
			char name[128];
			const char *eq = strchr(environ[i], '=');

			snprintf(name, sizeof(name), "%.*s", (int)(eq != NULL ? eq - environ[i] :
			    (long)strlen(environ[i])), environ[i]);
			unsetenv(name);
			continue;
		}
		i++;
	}
	snprintf(path, sizeof(path), "%s/empty", workdir);
	if (mkdir(path, 0755) != 0)
		abort();
	setenv("PGSYSCONFDIR", path, 1);
	setenv("PGPASSFILE", "/nonexistent-rekey/pgpass", 1);
}

static enum format
format_of(const char *name)
{
	int f;

	for (f = 0; f < F_COUNT; f++)
		if (strcmp(name, format_names[f]) == 0)
			return (enum format)f;
	fprintf(stderr, "differential: unknown format %s\n", name);
	exit(2);
}

int
main(int argc, char **argv)
{
	unsigned count = 300, bad = 0, accepted[F_COUNT] = { 0 }, refused[F_COUNT] = { 0 };
	unsigned gaccepted = 0, gtotal = 0, i;
	const char *keep = NULL;
	int a, f, r;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--bash") == 0 && a + 1 < argc)
			bash_path = argv[++a];
		else if (strcmp(argv[a], "--my-print-defaults") == 0 && a + 1 < argc)
			mpd_path = argv[++a];
		else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc)
			count = (unsigned)strtoul(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc)
			rng = (strtoull(argv[++a], NULL, 0) + 1) * 0x9e3779b97f4a7c15ULL;
		else if (strcmp(argv[a], "--keep") == 0 && a + 1 < argc)
			keep = argv[++a];
		else if (strcmp(argv[a], "--golden") == 0 && a + 2 < argc)
			a += 2;		/* after the random cases */
		else {
			fprintf(stderr, "usage: differential_clients --bash PATH "
			    "--my-print-defaults PATH [--count N] [--seed S] [--keep DIR] "
			    "[--golden FORMAT DIR]...\n");
			return 2;
		}
	}
	if (bash_path == NULL || mpd_path == NULL || access(bash_path, X_OK) != 0 ||
	    access(mpd_path, X_OK) != 0) {
		fprintf(stderr, "differential: bash and my_print_defaults are needed\n");
		return 2;
	}
	if (mkdtemp(workdir) == NULL || chmod(workdir, 0755) != 0) {
		perror("mkdtemp");
		return 2;
	}
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	clean_environment();
	find_closed_port();
	for (f = 0; f < F_COUNT; f++) {
		for (i = 0; i < count; i++) {
			struct kase k;

			generate(&k, (enum format)f);
			if ((r = judge(&k, keep, i)) < 0)
				bad++;
			else if (r == 1)
				accepted[f]++;
			else if (r == 0)
				refused[f]++;
			kase_clear(&k);
		}
		printf("%-10s %u cases: %u edited and read back as meant, %u refused\n",
		    format_names[f], count, accepted[f], refused[f]);
		/* A suite that refuses everything proves nothing: most inputs are in the dialect. */
		if (count >= 100 && accepted[f] < count / 5) {
			printf("%-10s too few accepted (%u of %u): the judge proves little\n",
			    format_names[f], accepted[f], count);
			bad++;
		}
	}
	for (a = 1; a < argc; a++)
		if (strcmp(argv[a], "--golden") == 0 && a + 2 < argc) {
			bad += judge_golden(format_of(argv[a + 1]), argv[a + 2], &gaccepted, &gtotal);
			a += 2;
		}
	if (gtotal > 0)
		printf("golden     %u cases judged: %u edited and read back as meant\n", gtotal,
		    gaccepted);
	printf("%u mismatches\n", bad);
	return bad == 0 ? 0 : 1;
}
