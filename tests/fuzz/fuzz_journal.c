/*
 * libFuzzer target for the journal reader (journal.h): any bytes as journal.jsonl, read by
 * rk_journal_read() and by rk_journal_reopen(), which go through one parser but reach it by
 * different paths (a plain read; a locked descriptor that is then truncated and written to).
 * Beyond crashes, leaks and sanitizer reports, it aborts when a result breaks the header's
 * contract:
 *   - a failure with a log, without a message, or with a code other than usage or memory;
 *   - a log without its header strings, a record whose seq is not its place (1, 2, ...),
 *     without action, phase or at, with a state that has no name, or an out/undo pair
 *     without key or value; a key that rk_kv_get() does not find, or a step that
 *     rk_journal_log_last() does not find newest;
 *   - input that does not end in a newline read as a log without a torn tail;
 *   - a torn last line (a write cut short, with or without its newline) added to a log that
 *     had none, changing anything but torn_tail;
 *   - rk_journal_reopen() disagreeing with rk_journal_read(), leaving the torn line in the
 *     file, or leaving a journal to which a record cannot be appended and read back whole
 *     (the chain must go on from the last good line).
 * The input is written to a file in a private folder made once under $TMPDIR (or /tmp); with
 * TMPDIR=/dev/shm the fsyncs the journal makes cost nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "rekey/journal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
contract_broken(const char *what)
{
	fprintf(stderr, "fuzz_journal: contract broken: %s\n", what);
	abort();		/* libFuzzer keeps the input */
}

/* The journal holds a then b. */
static void
write_file(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
	fuzz_file_write("fuzz_journal", a, alen, b, blen);
}

static off_t
file_size(void)
{
	struct stat st;

	if (stat(fuzz_path, &st) == -1) {
		perror("fuzz_journal: stat");
		exit(1);
	}
	return st.st_size;
}

static void
check_failure(int r, const struct rk_journal_log *log, const struct rk_err *err)
{
	if (log != NULL)
		contract_broken("a failure that gave a log");
	if (err->msg[0] == '\0' || memchr(err->msg, '\0', sizeof(err->msg)) == NULL)
		contract_broken("a failure with no message");
	if (r != (int)err->code || (r != RK_E_USAGE && r != RK_E_NOMEM)) {
		fprintf(stderr, "fuzz_journal: %s: %s\n", rk_code_name(err->code), err->msg);
		contract_broken("a failure other than a bad journal or memory");
	}
}

static void
check_kv(const struct rk_kv *kv, size_t n)
{
	size_t i;

	if (n > 0 && kv == NULL)
		contract_broken("pairs counted but none given");
	for (i = 0; i < n; i++) {
		if (kv[i].key == NULL || kv[i].value == NULL)
			contract_broken("a pair without key or value");
		/* Duplicate keys are refused, so the first with the key is this one. */
		if (rk_kv_get(kv, n, kv[i].key) != kv[i].value)
			contract_broken("rk_kv_get does not find a key of the pairs");
	}
}

/* data, when given, is what the log was read from. */
static void
check_log(const struct rk_journal_log *log, const uint8_t *data, size_t size)
{
	const struct rk_journal_record *rec, *last;
	size_t i, newlines = 0;

	if (log == NULL)
		contract_broken("success without a log");
	if (log->incident == NULL || log->plan_digest == NULL || log->version == NULL ||
	    log->started == NULL)
		contract_broken("a header string missing");
	check_kv(log->facts, log->nfacts);
	if (log->torn_tail != 0 && log->torn_tail != 1)
		contract_broken("torn_tail neither 0 nor 1");
	if (data != NULL) {
		if (size > 0 && data[size - 1] != '\n' && !log->torn_tail)
			contract_broken("a last line without its newline not taken as torn");
		for (i = 0; i < size; i++)
			newlines += data[i] == '\n';
		/* The header and each record end in a newline. */
		if (log->nrecords + 1 > newlines)
			contract_broken("more records than whole lines");
	}
	if (log->nrecords > 0 && log->records == NULL)
		contract_broken("records counted but none given");
	for (i = 0; i < log->nrecords; i++) {
		rec = &log->records[i];
		if (rec->seq != i + 1)
			contract_broken("a record's seq that is not its place");
		if (rec->action == NULL || rec->phase == NULL || rec->at == NULL)
			contract_broken("a record without action, phase or at");
		if (strcmp(rk_journal_state_name(rec->state), "?") == 0)
			contract_broken("a state with no name");
		check_kv(rec->out, rec->nout);
		check_kv(rec->undo, rec->nundo);
		last = rk_journal_log_last(log, rec->step);
		if (last == NULL || last->step != rec->step || last < rec)
			contract_broken("rk_journal_log_last does not give the newest of a step");
	}
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Same header and records; torn_tail aside. */
static bool
same_log(const struct rk_journal_log *a, const struct rk_journal_log *b)
{
	size_t i, k;

	if (!same_str(a->incident, b->incident) || !same_str(a->plan_digest, b->plan_digest) ||
	    !same_str(a->version, b->version) || !same_str(a->started, b->started) ||
	    a->nfacts != b->nfacts || a->nrecords != b->nrecords)
		return false;
	for (k = 0; k < a->nfacts; k++)
		if (!same_str(a->facts[k].key, b->facts[k].key) ||
		    !same_str(a->facts[k].value, b->facts[k].value))
			return false;
	for (i = 0; i < a->nrecords; i++) {
		const struct rk_journal_record *x = &a->records[i], *y = &b->records[i];

		if (x->seq != y->seq || x->step != y->step || x->wave != y->wave ||
		    x->state != y->state || !same_str(x->action, y->action) ||
		    !same_str(x->phase, y->phase) || !same_str(x->host, y->host) ||
		    !same_str(x->at, y->at) || !same_str(x->error, y->error) ||
		    x->nout != y->nout || x->nundo != y->nundo)
			return false;
		for (k = 0; k < x->nout; k++)
			if (!same_str(x->out[k].key, y->out[k].key) ||
			    !same_str(x->out[k].value, y->out[k].value))
				return false;
		for (k = 0; k < x->nundo; k++)
			if (!same_str(x->undo[k].key, y->undo[k].key) ||
			    !same_str(x->undo[k].value, y->undo[k].value))
				return false;
	}
	return true;
}

/* A torn line after a log that had none must change nothing but torn_tail. */
static void
check_torn(const struct rk_journal_log *log, const uint8_t *data, size_t size,
    const char *torn)
{
	struct rk_journal_log *again = NULL;
	struct rk_err err = { 0 };

	write_file(data, size, torn, strlen(torn));
	if (rk_journal_read(&again, fuzz_path, &err) != 0) {
		fprintf(stderr, "fuzz_journal: %s\n", err.msg);
		contract_broken("a torn last line made the journal unreadable");
	}
	if (!again->torn_tail || !same_log(log, again))
		contract_broken("a torn last line changed the log");
	rk_journal_log_free(again);
}

/* What the appended record holds: every optional field set. */
static const struct rk_kv out_kv[] = { { "serial", "0A:0B" }, { "sha256", "ab" } };
static const struct rk_kv undo_kv[] = { { "path", "/x/y.key" }, { "mode", "0600" } };
static const struct rk_journal_entry entry = {
	.step = 7, .action = "push-file", .phase = "replace", .wave = 2, .host = "db1",
	.state = RK_JOURNAL_FAILED, .out = out_kv, .nout = 2, .undo = undo_kv, .nundo = 2,
	.error = "db1: fuzz",
};

/* Reopen agrees with read, drops the torn line from the file, and takes a new record. */
static void
check_reopen(const struct rk_journal_log *read_log, const uint8_t *data, size_t size)
{
	struct rk_journal *j = NULL;
	struct rk_journal_log *log = NULL, *after = NULL;
	const struct rk_journal_record *rec;
	struct rk_err err = { 0 };
	int r;

	write_file(data, size, NULL, 0);
	r = rk_journal_reopen(&j, &log, fuzz_path, &err);
	if ((r == 0) != (read_log != NULL)) {
		fprintf(stderr, "fuzz_journal: reopen %d: %s\n", r, err.msg);
		contract_broken("reopen and read disagree on whether the journal is good");
	}
	if (r != 0) {
		if (j != NULL)
			contract_broken("a failed reopen that gave a journal");
		check_failure(r, log, &err);
		return;
	}
	if (j == NULL || !same_log(read_log, log) || log->torn_tail != read_log->torn_tail)
		contract_broken("reopen read another log than read");
	/* The torn line is gone from the file, the good lines are all there. */
	if (file_size() > (off_t)size || (read_log->torn_tail && file_size() == (off_t)size) ||
	    (!read_log->torn_tail && file_size() != (off_t)size))
		contract_broken("reopen left the torn line, or cut a good one");
	if (rk_journal_append(j, &entry, &err) != 0) {
		fprintf(stderr, "fuzz_journal: append: %s\n", err.msg);
		contract_broken("a reopened journal refused a record");
	}
	rk_journal_close(j);
	if (rk_journal_read(&after, fuzz_path, &err) != 0) {
		fprintf(stderr, "fuzz_journal: %s\n", err.msg);
		contract_broken("a record appended after reopen made the journal unreadable");
	}
	if (after->torn_tail || after->nrecords != log->nrecords + 1)
		contract_broken("the appended record was not read back as the last");
	rec = &after->records[after->nrecords - 1];
	if (rec->seq != after->nrecords || rec->step != entry.step || rec->wave != entry.wave ||
	    rec->state != entry.state || !same_str(rec->action, entry.action) ||
	    !same_str(rec->phase, entry.phase) || !same_str(rec->host, entry.host) ||
	    !same_str(rec->error, entry.error) || rec->nout != 2 || rec->nundo != 2 ||
	    !same_str(rk_kv_get(rec->out, rec->nout, "serial"), "0A:0B") ||
	    !same_str(rk_kv_get(rec->undo, rec->nundo, "mode"), "0600"))
		contract_broken("the appended record reads back otherwise");
	check_log(after, NULL, 0);
	after->nrecords--;		/* the rest must be what was there */
	if (!same_log(log, after))
		contract_broken("appending changed the records before it");
	after->nrecords++;
	rk_journal_log_free(after);
	rk_journal_log_free(log);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rk_journal_log *log = NULL;
	struct rk_err err = { 0 };
	int r;

	(void)fuzz_file_path("fuzz_journal", "journal.jsonl");
	write_file(data, size, NULL, 0);
	if ((r = rk_journal_read(&log, fuzz_path, &err)) != 0)
		check_failure(r, log, &err);
	else {
		check_log(log, data, size);
		if (!log->torn_tail) {
			check_torn(log, data, size, "{\"v\":1,\"seq\":");
			check_torn(log, data, size, "{\"v\":1,\"se\n");
		}
	}
	check_reopen(log, data, size);
	rk_journal_log_free(log);
	return 0;
}
