/*
 * Fault injection for the torture tests, as curl's memdebug and torture mode: linked into a
 * program with the -Wl,--wrap options of tests/torture/CMakeLists.txt, it counts every
 * fallible call rekey's own code makes (allocations, write, fsync, fdatasync, rename, link,
 * and each operation of the local transport) and makes the Nth one fail, as the system
 * would: NULL and ENOMEM, -1 and ENOSPC or EIO, a transport error. Calls made inside the
 * libraries (OpenSSL, libyaml, jansson) are not counted: their own failures are theirs to
 * test, and rekey sees them through the functions it calls.
 *
 * In a program (bin/rekey-fault) the environment drives it:
 *   RK_FAULT=N          the Nth call fails (1-based); unset or 0: none does
 *   RK_FAULT_REPORT=F   at exit, F gets "calls T" and, for each call site, the first call made
 *                       there ("site N KIND OFFSET"), and "failed N KIND OFFSET" when one
 *                       failed, so a test can fail each site once instead of every call
 */
#ifndef REKEY_TORTURE_FAULT_H
#define REKEY_TORTURE_FAULT_H

/* In-process use (tests/torture/torture_parse.c): fail call n from now (0: none), and count. */
void		rk_fault_arm(long long n);
long long	rk_fault_calls(void);	/* since the last arm */
int		rk_fault_fired(void);	/* whether the armed call came */

#endif
