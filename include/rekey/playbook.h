/* The playbook language: YAML text in, a validated rk_model and every problem as a diag out. */
#ifndef REKEY_PLAYBOOK_H
#define REKEY_PLAYBOOK_H

#include "rekey/bytes.h"
#include "rekey/diag.h"
#include "rekey/err.h"
#include "rekey/model.h"

/* Limits on playbook input, so hostile YAML cannot exhaust memory or the stack. */
#define RK_PLAYBOOK_MAX		(8 * 1024 * 1024)	/* bytes: about 6,000 hosts written out in full */
#define RK_PLAYBOOK_DEPTH_MAX	32		/* nested collections */
/* A 1,000-host estate of 2,000 services with owners and modes is some 200,000 nodes; the byte
 * cap bounds what can be written anyway (a node takes two bytes at least). */
#define RK_PLAYBOOK_NODES_MAX	1000000
#define RK_PLAYBOOK_STRING_MAX	4096		/* one scalar */
/* Cap on a certificate, key or CRL file a playbook names (1 MB, as for every PEM input). */
#define RK_PEM_FILE_MAX		(1000 * 1000)

/*
 * Parses and validates the playbook at path. Relative paths in it resolve against its folder.
 * Every problem found is added to diags (initialised by the caller). On success *out holds a
 * model the caller frees with rk_model_free(); on any error diag the result is RK_E_USAGE and
 * *out is NULL. err is used only for failures that are not the playbook's fault (memory).
 * Reads only the playbook and stat()s the files it names; opens no connection.
 */
int	rk_playbook_load(struct rk_model **out, const char *path, struct rk_diags *diags,
	    struct rk_err *err) RK_MUST_CHECK;
/* As rk_playbook_load for text already in memory; name labels diags, base_dir anchors paths. */
int	rk_playbook_parse(struct rk_model **out, const char *name, const char *base_dir,
	    struct rk_bytes text, struct rk_diags *diags, struct rk_err *err) RK_MUST_CHECK;

#endif
