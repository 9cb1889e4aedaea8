/*
 * The journal, as PostgreSQL's WAL teaches: the intent is made durable before the change, and
 * recovery trusts only what reached the disk whole. One line per record, one write(2) per
 * line on an O_APPEND descriptor, then fdatasync(2). A crash mid-write leaves at most one
 * torn last line, which the reader recognises (no newline, or no JSON) and drops.
 */
#include "rekey/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "rekey/bytes.h"
#include "rekey/digest.h"
#include "rekey/fsutil.h"

struct rk_journal {
	int	 fd;
	char	*path;
	char	 prev[RK_SHA256_HEX];	/* hash of the last line written or read */
	uint64_t next_seq;
	bool	 broken;		/* a write failed: the file's end is unknown */
};

static const char *const state_names[] = { "start", "done", "failed", "undone" };

const char *
rk_journal_state_name(enum rk_journal_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

static bool
state_from_name(const char *name, enum rk_journal_state *out)
{
	size_t i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(state_names[i], name) == 0) {
			*out = (enum rk_journal_state)i;
			return true;
		}
	return false;
}

/* RFC 3339 UTC with milliseconds: the timeline orders events closer than a second apart. */
static void
format_now(char out[32])
{
	struct timespec ts;
	char secs[24];
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%03dZ", secs, (int)(ts.tv_nsec / 1000000) % 1000);
}

static void
format_time(char out[32], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * A POSIX record lock, not flock(2): F_GETLK names the holder's pid, which the refusal shows.
 * The lock belongs to the process and goes with any close of the file, so the journal keeps
 * one descriptor and reads through it.
 */
static int
lock_journal(int fd, const char *path, struct rk_err *err)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES)
		return rk_fail_errno(err, "lock %s", path);
	fl.l_type = F_WRLCK;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		return rk_fail(err, RK_E_USAGE, "%s is held by another rekey run (pid %ld): one "
		    "run at a time per incident", path, (long)fl.l_pid);
	return rk_fail(err, RK_E_USAGE, "%s is held by another rekey run", path);
}

long
rk_journal_holder(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	long pid = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		pid = (long)fl.l_pid;
	close(fd);
	return pid;
}

static int
kv_to_json(json_t **out, const struct rk_kv *kv, size_t n)
{
	json_t *o = json_object();
	size_t i;

	*out = o;
	for (i = 0; o != NULL && i < n; i++)
		if (json_object_set_new(o, kv[i].key, json_string(kv[i].value)) != 0) {
			json_decref(o);
			*out = NULL;
		}
	return *out != NULL ? 0 : -1;
}

/* Writes one line and makes it durable; the hash of its bytes becomes the next prev. */
static int
write_line(struct rk_journal *j, json_t *record, struct rk_err *err)
{
	struct rk_bytes line;
	char *text = NULL;
	size_t len;
	int r;

	if ((text = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		return rk_fail_nomem(err);
	len = strlen(text);
	line.ptr = (const unsigned char *)text;
	line.len = len;
	if ((r = rk_sha256_hex(j->prev, line, err)) != 0)
		goto out;
	text[len] = '\n';	/* json_dumps' NUL: the line goes out in one write */
	line.len = len + 1;
	if ((r = rk_fd_write_all(j->fd, line, j->path, err)) != 0) {
		j->broken = true;
		goto out;
	}
	if (fdatasync(j->fd) == -1) {
		j->broken = true;
		r = rk_fail_errno(err, "fdatasync %s", j->path);
	}
 out:
	free(text);
	return r;
}

static struct rk_journal *
journal_new(int fd, const char *path)
{
	struct rk_journal *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->path = strdup(path)) == NULL) {
		free(j);
		return NULL;
	}
	j->fd = fd;
	j->next_seq = 1;
	return j;
}

int
rk_journal_create(struct rk_journal **out, const char *path,
    const struct rk_journal_header *header, struct rk_err *err)
{
	struct rk_journal *j = NULL;
	json_t *h = NULL, *facts = NULL;
	char started[32], *dir = NULL;
	int fd = -1, r;

	*out = NULL;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return rk_fail_errno(err, "create %s", path);
	if ((r = lock_journal(fd, path, err)) != 0)
		goto fail;
	if ((j = journal_new(fd, path)) == NULL) {
		r = rk_fail_nomem(err);
		goto fail;
	}
	fd = -1;
	format_time(started, header->started);
	h = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "v", RK_JOURNAL_VERSION, "kind",
	    "header", "incident", header->incident, "plan_digest", header->plan_digest,
	    "rekey", header->version, "started", started);
	if (h == NULL || (header->nfacts > 0 && (kv_to_json(&facts, header->facts,
	    header->nfacts) != 0 || json_object_set_new(h, "facts", facts) != 0))) {
		r = rk_fail_nomem(err);
		goto fail;
	}
	if ((r = write_line(j, h, err)) != 0 ||
	    (r = rk_path_dirname(&dir, path, err)) != 0 ||
	    (r = rk_dir_sync(dir, err)) != 0)
		goto fail;
	json_decref(h);
	free(dir);
	*out = j;
	return 0;
 fail:
	json_decref(h);
	free(dir);
	if (j != NULL) {
		(void)unlink(path);
		rk_journal_close(j);
	}
	if (fd != -1) {
		(void)unlink(path);
		close(fd);
	}
	return r;
}

int
rk_journal_append(struct rk_journal *j, const struct rk_journal_entry *e, struct rk_err *err)
{
	json_t *rec = NULL, *kv = NULL;
	char at[32];
	int r;

	if (j->broken)
		return rk_fail(err, RK_E_SYS, "%s: an earlier write failed; the journal takes no "
		    "more records", j->path);
	format_now(at);
	rec = json_pack("{s:i, s:I, s:I, s:s, s:s}", "v", RK_JOURNAL_VERSION, "seq",
	    (json_int_t)j->next_seq, "step", (json_int_t)e->step, "action", e->action, "phase",
	    e->phase);
	if (rec == NULL)
		goto nomem;
	if ((e->wave > 0 && json_object_set_new(rec, "wave", json_integer(e->wave)) != 0) ||
	    (e->host != NULL && json_object_set_new(rec, "host", json_string(e->host)) != 0) ||
	    json_object_set_new(rec, "state", json_string(rk_journal_state_name(e->state))) != 0 ||
	    json_object_set_new(rec, "at", json_string(at)) != 0)
		goto nomem;
	if (e->nout > 0 && (kv_to_json(&kv, e->out, e->nout) != 0 ||
	    json_object_set_new(rec, "out", kv) != 0))
		goto nomem;
	if (e->nundo > 0 && (kv_to_json(&kv, e->undo, e->nundo) != 0 ||
	    json_object_set_new(rec, "undo", kv) != 0))
		goto nomem;
	if ((e->error != NULL && json_object_set_new(rec, "error", json_string(e->error)) != 0) ||
	    json_object_set_new(rec, "prev", json_string(j->prev)) != 0)
		goto nomem;
	if ((r = write_line(j, rec, err)) == 0)
		j->next_seq++;
	json_decref(rec);
	return r;
 nomem:
	json_decref(rec);
	return rk_fail_nomem(err);
}

void
rk_journal_close(struct rk_journal *j)
{
	if (j == NULL)
		return;
	if (j->fd != -1)
		close(j->fd);	/* releases the lock */
	free(j->path);
	free(j);
}

/* Reading. */

static char *
dup_member(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? strdup(s) : NULL;
}

/* *n counts the pairs copied so far, so kv_free() frees them whatever happened. */
static int
kv_from_json(struct rk_kv **out, size_t *n, json_t *o)
{
	const char *key;
	char *k, *v;
	json_t *value;

	*out = NULL;
	*n = 0;
	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return -1;
	if ((*out = calloc(json_object_size(o) + 1, sizeof(**out))) == NULL)
		return -1;
	json_object_foreach(o, key, value) {
		if (!json_is_string(value))
			return -1;
		k = strdup(key);
		v = strdup(json_string_value(value));
		if (k == NULL || v == NULL) {
			free(k);
			free(v);
			return -1;
		}
		(*out)[*n].key = k;
		(*out)[*n].value = v;
		(*n)++;
	}
	return 0;
}

static void
kv_free(struct rk_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; kv != NULL && i < n; i++) {
		free((char *)kv[i].key);
		free((char *)kv[i].value);
	}
	free(kv);
}

static void
record_clear(struct rk_journal_record *r)
{
	free(r->action);
	free(r->phase);
	free(r->host);
	free(r->at);
	free(r->error);
	kv_free(r->out, r->nout);
	kv_free(r->undo, r->nundo);
}

void
rk_journal_log_free(struct rk_journal_log *log)
{
	size_t i;

	if (log == NULL)
		return;
	for (i = 0; i < log->nrecords; i++)
		record_clear(&log->records[i]);
	free(log->records);
	free(log->incident);
	free(log->plan_digest);
	free(log->version);
	free(log->started);
	kv_free(log->facts, log->nfacts);
	free(log);
}

/* Fills rec from one parsed line; false when the line is not a record of this journal. */
static bool
parse_record(struct rk_journal_record *rec, json_t *o, uint64_t want_seq, const char *prev)
{
	json_t *seq = json_object_get(o, "seq"), *step = json_object_get(o, "step");
	json_t *wave = json_object_get(o, "wave");
	const char *state = json_string_value(json_object_get(o, "state"));
	const char *p = json_string_value(json_object_get(o, "prev"));

	memset(rec, 0, sizeof(*rec));
	if (json_integer_value(json_object_get(o, "v")) != RK_JOURNAL_VERSION ||
	    !json_is_integer(seq) || (uint64_t)json_integer_value(seq) != want_seq ||
	    !json_is_integer(step) || json_integer_value(step) < 0 ||
	    json_integer_value(step) > UINT32_MAX || state == NULL || p == NULL ||
	    strcmp(p, prev) != 0 || !state_from_name(state, &rec->state))
		return false;
	rec->seq = want_seq;
	rec->step = (uint32_t)json_integer_value(step);
	rec->wave = json_is_integer(wave) ? (unsigned)json_integer_value(wave) : 0;
	rec->action = dup_member(o, "action");
	rec->phase = dup_member(o, "phase");
	rec->host = dup_member(o, "host");
	rec->at = dup_member(o, "at");
	rec->error = dup_member(o, "error");
	if (rec->action == NULL || rec->phase == NULL || rec->at == NULL ||
	    kv_from_json(&rec->out, &rec->nout, json_object_get(o, "out")) != 0 ||
	    kv_from_json(&rec->undo, &rec->nundo, json_object_get(o, "undo")) != 0) {
		record_clear(rec);
		return false;
	}
	return true;
}

static bool
parse_header(struct rk_journal_log *log, json_t *o)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));

	if (json_integer_value(json_object_get(o, "v")) != RK_JOURNAL_VERSION || kind == NULL ||
	    strcmp(kind, "header") != 0)
		return false;
	log->incident = dup_member(o, "incident");
	log->plan_digest = dup_member(o, "plan_digest");
	log->version = dup_member(o, "rekey");
	log->started = dup_member(o, "started");
	if (kv_from_json(&log->facts, &log->nfacts, json_object_get(o, "facts")) != 0)
		return false;
	return log->incident != NULL && log->plan_digest != NULL && log->version != NULL &&
	    log->started != NULL;
}

/*
 * Parses text into *out. *good_len is where the last whole, valid line ends: a torn last
 * line is left out of the log and past good_len. Any other bad line fails the read.
 */
static int
parse_journal(struct rk_journal_log **out, size_t *good_len, struct rk_bytes text,
    const char *path, struct rk_err *err)
{
	struct rk_journal_log *log = calloc(1, sizeof(*log));
	char prev[RK_SHA256_HEX] = "";
	size_t start = 0, end, lineno = 0, cap = 0;
	json_t *o = NULL;
	int r = 0;

	*out = NULL;
	*good_len = 0;
	if (log == NULL)
		return rk_fail_nomem(err);
	for (start = 0; start < text.len; start = end + 1) {
		const unsigned char *nl = memchr(text.ptr + start, '\n', text.len - start);
		struct rk_bytes line;
		bool last;

		lineno++;
		end = nl != NULL ? (size_t)(nl - text.ptr) : text.len;
		last = nl == NULL || end + 1 == text.len;
		line.ptr = text.ptr + start;
		line.len = end - start;
		o = nl != NULL ? json_loadb((const char *)line.ptr, line.len, JSON_REJECT_DUPLICATES,
		    NULL) : NULL;
		if (lineno == 1 && (o == NULL || !parse_header(log, o))) {
			r = rk_fail(err, RK_E_USAGE, "%s:1: not a rekey journal (no header line)",
			    path);
			goto out;
		}
		if (lineno > 1) {
			struct rk_journal_record rec;

			if (o == NULL || !parse_record(&rec, o, lineno - 1, prev)) {
				if (last && (nl == NULL || o == NULL)) {
					/* Cut short by a crash: not a record. */
					log->torn_tail = 1;
					break;
				}
				r = rk_fail(err, RK_E_USAGE, "%s:%zu: the journal is damaged here (a "
				    "record that does not follow the one before it)", path, lineno);
				goto out;
			}
			if (log->nrecords == cap) {
				struct rk_journal_record *grown;

				cap = cap == 0 ? 64 : cap * 2;
				if ((grown = reallocarray(log->records, cap, sizeof(*grown))) ==
				    NULL) {
					record_clear(&rec);
					r = rk_fail_nomem(err);
					goto out;
				}
				log->records = grown;
			}
			log->records[log->nrecords++] = rec;
		}
		json_decref(o);
		o = NULL;
		if ((r = rk_sha256_hex(prev, line, err)) != 0)
			goto out;
		*good_len = end + 1;
	}
	if (lineno == 0)
		r = rk_fail(err, RK_E_USAGE, "%s: not a rekey journal (it is empty)", path);
 out:
	json_decref(o);
	if (r != 0) {
		rk_journal_log_free(log);
		return r;
	}
	*out = log;
	return 0;
}

int
rk_journal_read(struct rk_journal_log **out, const char *path, struct rk_err *err)
{
	struct rk_buf buf;
	size_t good;
	int r;

	*out = NULL;
	rk_buf_init(&buf, RK_JOURNAL_MAX);
	if ((r = rk_file_read(&buf, path, RK_JOURNAL_MAX, err)) == 0)
		r = parse_journal(out, &good, rk_buf_bytes(&buf), path, err);
	rk_buf_clear(&buf);
	return r;
}

int
rk_journal_reopen(struct rk_journal **out, struct rk_journal_log **log, const char *path,
    struct rk_err *err)
{
	struct rk_journal *j = NULL;
	struct rk_buf buf;
	struct stat st;
	size_t good;
	int fd = -1, r;

	*out = NULL;
	*log = NULL;
	rk_buf_init(&buf, RK_JOURNAL_MAX);
	/* Not followed: a link would let the journal be written elsewhere. Read through the
	 * locked descriptor itself: closing another one would drop the lock. */
	if ((r = rk_file_open_regular(&fd, &st, path, O_RDWR | O_APPEND | O_NOFOLLOW, err)) != 0)
		return r;
	if ((r = lock_journal(fd, path, err)) != 0 ||
	    (r = rk_fd_read_all(&buf, fd, path, RK_JOURNAL_MAX, err)) != 0 ||
	    (r = parse_journal(log, &good, rk_buf_bytes(&buf), path, err)) != 0)
		goto fail;
	/* A torn line would glue itself to the next record: cut it off, durably. */
	if (good < buf.len && (ftruncate(fd, (off_t)good) == -1 || fsync(fd) == -1)) {
		r = rk_fail_errno(err, "drop the torn last line of %s", path);
		goto fail;
	}
	if ((j = journal_new(fd, path)) == NULL) {
		r = rk_fail_nomem(err);
		goto fail;
	}
	fd = -1;
	j->next_seq = (*log)->nrecords + 1;
	/* The chain goes on from the last good line. */
	if (good > 0) {
		size_t start = good - 1;
		struct rk_bytes last;

		while (start > 0 && buf.ptr[start - 1] != '\n')
			start--;
		last.ptr = buf.ptr + start;
		last.len = good - 1 - start;
		if ((r = rk_sha256_hex(j->prev, last, err)) != 0)
			goto fail;
	}
	rk_buf_clear(&buf);
	*out = j;
	return 0;
 fail:
	rk_journal_close(j);
	if (fd != -1)
		close(fd);
	rk_journal_log_free(*log);
	*log = NULL;
	rk_buf_clear(&buf);
	return r;
}

const struct rk_journal_record *
rk_journal_log_last(const struct rk_journal_log *log, uint32_t step)
{
	size_t i;

	for (i = log->nrecords; i > 0; i--)
		if (log->records[i - 1].step == step)
			return &log->records[i - 1];
	return NULL;
}

const char *
rk_kv_get(const struct rk_kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}
