/* Private to src/transport: what the ssh and local backends share. Not installed, not public. */
#ifndef REKEY_TRANSPORT_INT_H
#define REKEY_TRANSPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/digest.h"
#include "rekey/transport.h"

/* Small tools (tputil.c). */

/* A replace target must be a regular file, absent, or a symlink the spec allows. */
int	tp_check_target_kind(const struct rk_file_stat *st, const struct rk_file_spec *spec,
	    struct rk_err *err) RK_MUST_CHECK;
/*
 * A target path as every backend takes it: absolute, and without '.', '..' or empty
 * components (the playbook refuses them too; here a caller of the interface is held to it).
 * The replace acts on the path as written; a '..' would name a file the plan does not show.
 */
int	tp_check_target_path(const char *path, struct rk_err *err) RK_MUST_CHECK;

/*
 * The refusals of target_checks.sh (replace.sh and the rehearsal's probe run it on the host,
 * the local backend makes the same checks with system calls), in the words all of them use.
 * Exit statuses of the scripts, and what each prints on standard error:
 */
#define TP_EXIT_HARD_LINKS	15	/* "N": the file has N names besides the target */
#define TP_EXIT_OPEN_FOLDER	16	/* "MODE FOLDER": a folder on the way others may write */
#define TP_EXIT_FOREIGN_FILE	17	/* "MODE OWNER": another user's file in a sticky folder */
/* RK_E_USAGE: the target has other hard links, which a rename would leave on the old bytes. */
int	tp_fail_hard_links(unsigned long long others, struct rk_err *err);
/* RK_E_USAGE: folder (on the way to the target) is writable by its group or others, without
 * the sticky bit. */
int	tp_fail_open_folder(const char *folder, unsigned mode, struct rk_err *err);
/* RK_E_USAGE: the target is owner's, in folder, which others may write (mode, sticky). */
int	tp_fail_foreign_file(const char *owner, const char *folder, unsigned mode,
	    struct rk_err *err);
/* After a script exited with status and printed line (its first line of stderr) about a
 * target in folder dir: the refusal in those words when status is one of TP_EXIT_*, else 0. */
int	tp_fail_from_target_check(int status, const char *line, const char *dir,
	    struct rk_err *err);
/* target_checks.sh (embedded) then script, in out (initialised here, NUL-terminated; the
 * caller clears it): the one `sh -c` argument of a script that calls those functions. */
int	tp_script_with_checks(struct rk_buf *out, const char *script, struct rk_err *err)
	    RK_MUST_CHECK;
/* Returns r; on failure puts "HOST: VERB PATH: " before the message, kept on one line. */
/*
 * A seam for the fault-injection build (tests/torture/): every operation of the local
 * transport calls it first, and here it never fails. bin/rekey-fault is linked with
 * -Wl,--wrap=tp_fault_point, so there the Nth fallible call, this one among them, fails
 * with err set, as a host that went away would.
 */
int	tp_fault_point(const struct rk_transport *t, const char *op, struct rk_err *err);
int	tp_finish(int r, const struct rk_transport *t, const char *verb, const char *path,
	    struct rk_err *err);

/* "<path>.rekey-tmp-<16 random hex>": a name in the target's folder, so rename(2) is atomic. */
int	tp_temp_sibling(char **out, const char *path, struct rk_err *err) RK_MUST_CHECK;
/* "<path>.rekey-bak-<UTC YYYYmmddTHHMMSSZ>-<8 random hex>": sorts by time, never collides. */
int	tp_backup_sibling(char **out, const char *path, struct rk_err *err) RK_MUST_CHECK;
/* n random bytes as 2n hex digits and a NUL (getrandom(2)). */
int	tp_random_hex(char *out, size_t n, struct rk_err *err) RK_MUST_CHECK;
/* Standard base64 of data without '=' padding, as OpenSSH prints fingerprints. */
int	tp_base64_unpadded(char *out, size_t size, const unsigned char *data, size_t len);
/* Decodes standard base64 (padding optional, whitespace skipped); -1 on a bad character
 * or when out is too small, else the decoded length. */
long	tp_base64_decode(unsigned char *out, size_t size, const char *in, size_t len);
/* The first non-empty line of b, control characters replaced by '?', cut to fit size. */
void	tp_first_line(char *dst, size_t size, const struct rk_buf *b);
/* Replaces control characters in err->msg (a path may hold a newline): messages are one line. */
void	tp_err_make_one_line(struct rk_err *err);
/* Fills backup from the stat of the old file: copies target and backup_path (may be NULL). */
int	tp_backup_record(struct rk_backup *backup, const struct rk_file_stat *old,
	    const char *target, const char *backup_path, struct rk_err *err) RK_MUST_CHECK;
/* RK_E_LIMIT: "file is SIZE bytes, over the limit of CAP", the one wording of every cap. */
int	tp_fail_over_cap(unsigned long long size, size_t cap, struct rk_err *err);
/* Compares what is on the host with what was asked; the message names the first difference. */
int	tp_check_result(const struct rk_file_stat *now, const char *path, mode_t mode,
	    const char *owner, const char *group, const char *sha256, struct rk_err *err)
	    RK_MUST_CHECK;

/*
 * Commands bounded on the host. Every command a backend runs goes under timeout(1) where the
 * host has it (GNU coreutils): TERM at the host's timeout, KILL TP_KILL_AFTER seconds later,
 * sent to the whole process group timeout(1) makes, so a sha256sum under `sh -c` ends with
 * it, and under sudo it runs as root inside sudo, where it may signal what it started.
 * Whether the host has it is learned once per session by running tp_timeout_probe (exit 0
 * only where `timeout -k` works), which prints the login's `id` on the way, so the command
 * engine needs no command of its own to learn it (tp_identity_learned). Without it a command that overruns is abandoned at the
 * deadline (ssh: the session is dropped; local: its process group is killed).
 */
#define TP_KILL_AFTER	2		/* seconds between timeout(1)'s TERM and its KILL */
#define TP_ARGV_MAX	256		/* words of a command, sudo and timeout included */

enum tp_bound {
	TP_BOUND_UNKNOWN,		/* not asked yet this session */
	TP_BOUND_BY_TIMEOUT,		/* the host has timeout(1) */
	TP_BOUND_NONE,			/* it has not: abandoned at the deadline */
};

extern const char *const tp_timeout_probe[];

/* A command as the backend runs it: [sudo -n --] [timeout -k K T] argv..., NULL. */
struct tp_command {
	const char	*words[TP_ARGV_MAX];
	char		 seconds[16];
	char		 kill_after[16];
	bool		 bounded;	/* under timeout(1) */
	int		 timeout;	/* the host's, in seconds */
};

/* Builds c from argv (borrowed: c points into it); fails on an empty or oversized argv. */
int	tp_command_build(struct tp_command *c, const char *const *argv, bool sudo,
	    enum tp_bound bound, int timeout, struct rk_err *err) RK_MUST_CHECK;
/* How long the backend waits for c (ms): past the host's timeout when timeout(1) bounds it
 * there, so that its TERM and KILL land, and are reported, first. */
long long tp_command_wait_ms(const struct tp_command *c);
/* After c exited with exit_status, elapsed_ms after it started: RK_E_REMOTE ("timed out
 * after T s; timeout(1) stopped it on the host") when that was timeout(1) stopping it (124
 * after TERM, 137 after KILL, once the time was up: a command's own 124 is not mistaken for
 * it), else 0. */
int	tp_command_check_stopped(const struct tp_command *c, int exit_status,
	    long long elapsed_ms, struct rk_err *err) RK_MUST_CHECK;
/* After the session learned (or not) that the host has timeout(1): decides and logs. */
enum tp_bound tp_bound_learned(int probe_exit_status, const struct rk_host *host, int timeout);

/*
 * The command engine (filecmd.c): stat, read, replace and restore done with commands on the
 * host (GNU coreutils: stat, sha256sum, cp, install, chown, chmod, sync, mv, rm, cat). The ssh
 * backend uses it for every host; the local backend uses it for `sudo: true` when rekey is
 * not root. Each command is an argv array; the backend decides how it runs (an exec channel,
 * or fork and exec) and puts `sudo -n --` in front when asked.
 */
struct tp_cmd_host {
	const struct rk_host	*host;
	void			*ctx;		/* the backend */
	/* Runs argv, through sudo -n when sudo; stdout capped at out_cap. A command that ran and
	 * failed is not an error here: out->exit_status tells. */
	int	(*run)(struct rk_run_result *out, void *ctx, const char *const *argv, bool sudo,
		    size_t out_cap, struct rk_err *err);
	/* The same with input on the command's stdin, then its end; output is read meanwhile,
	 * so neither side waits on the other. The input may hold keys: never logged. */
	int	(*run_input)(struct rk_run_result *out, void *ctx, const char *const *argv,
		    bool sudo, struct rk_bytes input, size_t out_cap, struct rk_err *err);
	/* The login's user and primary group, learned once (`id`), "" until then. */
	char			 login_user[64];
	char			 login_group[64];
};

/* The login's names from the timeout probe's output (`id`), when they are not known yet. */
void	tp_identity_learned(struct tp_cmd_host *h, const struct rk_buf *probe_out);

/* As the stat operation (transport.h): hash_cap 0 hashes nothing. */
int	tp_cmd_stat(struct rk_file_stat *out, struct tp_cmd_host *h, const char *path,
	    size_t hash_cap, struct rk_err *err) RK_MUST_CHECK;
int	tp_cmd_read_file(struct rk_buf *out, struct tp_cmd_host *h, const char *path, size_t cap,
	    struct rk_err *err) RK_MUST_CHECK;
int	tp_cmd_replace(struct rk_backup *backup, struct tp_cmd_host *h,
	    const struct rk_file_spec *spec, struct rk_bytes content, struct rk_err *err)
	    RK_MUST_CHECK;
/* As the replace_files operation: one command per RK_REPLACE_BATCH_MAX files. */
int	tp_cmd_replace_many(struct tp_cmd_host *h, struct rk_file_change *changes, size_t n,
	    struct rk_err *err) RK_MUST_CHECK;
/* replace_files as a loop of t's replace_file, for a backend whose replace is local. */
int	tp_replace_each(struct rk_transport *t, struct rk_file_change *changes, size_t n,
	    struct rk_err *err) RK_MUST_CHECK;
int	tp_cmd_restore(struct tp_cmd_host *h, const struct rk_backup *backup, struct rk_err *err)
	    RK_MUST_CHECK;
/* probe_replace for both backends (pushprobe.c), through t's own run operation. */
int	tp_probe_replace(struct rk_push_probe *out, struct rk_transport *t,
	    const struct rk_file_spec *spec, unsigned long long need, struct rk_err *err)
	    RK_MUST_CHECK;
/* Runs argv and turns a non-zero exit into an error: the first line of stderr (which names
 * the program, as GNU tools and sudo write it), or "<argv0> exited with status N". */
int	tp_cmd_must_succeed(struct tp_cmd_host *h, const char *const *argv, bool sudo,
	    struct rk_err *err) RK_MUST_CHECK;
/* The same check on a result already in hand. */
int	tp_run_result_check(const struct rk_run_result *res, const char *const *argv,
	    struct rk_err *err) RK_MUST_CHECK;

#endif
