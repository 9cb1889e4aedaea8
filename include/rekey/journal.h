/*
 * The incident's journal: an append-only file of JSON lines, one record per step and state,
 * each written and fdatasync'ed before the caller goes on, so a run that dies at any point
 * leaves a journal that says exactly what was started and what was finished. Records are
 * chained: each carries the SHA-256 of the line before it, so a record that was changed or
 * removed later is found when the journal is read. Never holds a secret: keys are named by
 * path, never by content.
 *
 * A journal open for writing holds a POSIX write lock on its file: a second run of the same
 * incident is refused with the holder's pid. Not thread-safe: one writer, the coordinator.
 */
#ifndef REKEY_JOURNAL_H
#define REKEY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rekey/err.h"

/* A journal larger than this is refused when read: no run writes that much. */
#define RK_JOURNAL_MAX		(64 * 1024 * 1024)
#define RK_JOURNAL_VERSION	1

enum rk_journal_state {
	RK_JOURNAL_START,	/* written before the step touches anything */
	RK_JOURNAL_DONE,
	RK_JOURNAL_FAILED,	/* the step failed; undo says what it had changed */
	RK_JOURNAL_UNDONE,	/* rolled back */
};

/* One name and value of a record's "out" or "undo" object. */
struct rk_kv {
	const char	*key;
	const char	*value;
};

struct rk_journal_header {
	const char	*incident;
	const char	*plan_digest;	/* "sha256:<hex>" of the plan, so resume refuses a changed one */
	const char	*version;	/* rekey's */
	time_t		 started;
	/* What the run settled when it began and must not work out again on resume (the
	 * serials each revocation hits), as "facts": {key: value}. Never a secret. */
	const struct rk_kv *facts;
	size_t		 nfacts;
};

/* What the writer appends; every string is borrowed for the call. */
struct rk_journal_entry {
	uint32_t		 step;
	const char		*action;	/* the action's journal name, "push-file" */
	const char		*phase;
	unsigned		 wave;		/* 0: not part of a wave */
	const char		*host;		/* NULL: on this machine, by the coordinator */
	enum rk_journal_state	 state;
	const struct rk_kv	*out;		/* what the step produced (serial, sha256) */
	size_t			 nout;
	const struct rk_kv	*undo;		/* what undoes it (backup, old_sha256, mode) */
	size_t			 nundo;
	const char		*error;		/* FAILED: one line, never a secret */
};

/* A record as read back: everything owned by the log it belongs to. */
struct rk_journal_record {
	uint64_t		 seq;
	uint32_t		 step;
	char			*action;
	char			*phase;
	unsigned		 wave;
	char			*host;		/* NULL when the record has none */
	enum rk_journal_state	 state;
	char			*at;		/* RFC 3339 UTC with milliseconds */
	struct rk_kv		*out;		/* strings owned here too */
	size_t			 nout;
	struct rk_kv		*undo;
	size_t			 nundo;
	char			*error;
};

struct rk_journal_log {
	char			*incident;
	char			*plan_digest;
	char			*version;
	char			*started;
	struct rk_kv		*facts;		/* the header's, strings owned here */
	size_t			 nfacts;
	struct rk_journal_record *records;
	size_t			 nrecords;
	/* The last line had no newline or did not parse: a write cut short by a crash. It is
	 * not counted in records, and a journal reopened for writing drops it from the file. */
	int			 torn_tail;
};

struct rk_journal;

/*
 * Creates the journal at path (it must not exist: O_EXCL), mode 0600, takes its lock and
 * writes the header. The folder is fsynced, so the file survives a crash.
 */
int	rk_journal_create(struct rk_journal **out, const char *path,
	    const struct rk_journal_header *header, struct rk_err *err) RK_MUST_CHECK;
/*
 * Opens an existing journal to go on with it (resume, rollback): takes the lock, reads it
 * into *log (the caller frees it) and drops a torn last line from the file. A journal whose
 * chain is broken anywhere else is refused with the line that breaks it.
 */
int	rk_journal_reopen(struct rk_journal **out, struct rk_journal_log **log, const char *path,
	    struct rk_err *err) RK_MUST_CHECK;
/* Appends one record and fdatasyncs it before returning. */
int	rk_journal_append(struct rk_journal *j, const struct rk_journal_entry *entry,
	    struct rk_err *err) RK_MUST_CHECK;
/* The pid of the run that holds the journal's lock now, or 0 when none does. */
long	rk_journal_holder(const char *path);
/* Releases the lock and closes; NULL is fine. */
void	rk_journal_close(struct rk_journal *j);

/* Reads a journal without locking it (to show or check it). */
int	rk_journal_read(struct rk_journal_log **out, const char *path, struct rk_err *err)
	    RK_MUST_CHECK;
void	rk_journal_log_free(struct rk_journal_log *log);
/* The newest record of step in log, or NULL. */
const struct rk_journal_record *rk_journal_log_last(const struct rk_journal_log *log,
	    uint32_t step);
/* The value of key in kv[0..n), or NULL. */
const char *rk_kv_get(const struct rk_kv *kv, size_t n, const char *key);

const char *rk_journal_state_name(enum rk_journal_state s);

#endif
