/* A client's configuration file on its host: read, edited in memory, shown as a diff, replaced. */
#ifndef REKEY_CLIENTFILE_H
#define REKEY_CLIENTFILE_H

#include <stdbool.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/transport.h"

/*
 * One configuration file's change, worked out before anything is written: the bytes on the
 * host now, the bytes rekey would write, and what the file was (owner, group, mode, SHA-256),
 * so the replace keeps the first three and can tell when someone changed the file meanwhile.
 */
struct rk_client_change {
	const struct rk_client	*client;	/* borrowed from the model */
	char			*label;		/* "host:path", for messages and the diff */
	struct rk_file_stat	 found;
	struct rk_buf		 before;	/* may hold passwords: wiped when freed */
	struct rk_buf		 after;
	bool			 changed;	/* after differs from before */
};

/*
 * Reads client's configuration file through t (connected, to client->host), checks it is a
 * regular file (a symlink is refused: replacing it would cut the link; name its target), at
 * most RK_CLIENT_FILE_MAX bytes, and edits a copy in memory. Changes nothing on the host. A
 * file that does not parse fails with its line, as the editors say it (rk_clientconf_edit).
 */
int	rk_client_change_read(struct rk_client_change **out, struct rk_transport *t,
	    const struct rk_client *client, struct rk_err *err) RK_MUST_CHECK;

/*
 * As rk_client_change_read when prev is NULL or edits another file. When prev edits the same
 * file of the same host (two clients, say one for DB_SSL_* and one for DATABASE_URL, in one
 * .env), the change starts from prev->after instead, so the diffs compose and the second
 * apply expects the file as the first one left it.
 */
int	rk_client_change_read_after(struct rk_client_change **out, struct rk_transport *t,
	    const struct rk_client *client, const struct rk_client_change *prev,
	    struct rk_err *err) RK_MUST_CHECK;

/*
 * Appends the unified diff of the change to out (caller-initialised), secrets masked in
 * every line shown (rk_clientconf_mask); nothing when the file stays as it is.
 */
int	rk_client_change_diff(struct rk_buf *out, const struct rk_client_change *change,
	    struct rk_err *err) RK_MUST_CHECK;

/*
 * Writes the change through t: the file is hashed again first, and if it is no longer what
 * rk_client_change_read saw, nothing is written (RK_E_REMOTE, "changed since it was read").
 * Then an atomic replace keeping the owner, group and mode found, with a backup recorded in
 * backup for rollback (the transport's restore_file puts it back). A change that changes
 * nothing writes nothing, and leaves backup empty (backup->target NULL).
 */
int	rk_client_change_apply(struct rk_backup *backup, struct rk_transport *t,
	    const struct rk_client_change *change, struct rk_err *err) RK_MUST_CHECK;

void	rk_client_change_free(struct rk_client_change *change);

#endif
