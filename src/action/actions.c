/*
 * The action table: one row of operations per action of the plan, filled by the family that
 * owns the action (act_pki.c, act_hosts.c, act_services.c). The executor refuses a table
 * with a row missing, and a unit test proves every action has one.
 */
#include <pthread.h>

#include "action_int.h"

static struct rk_action_ops table[RK_ACTIONS];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
fill_table(void)
{
	act_pki_rows(table);
	act_hosts_rows(table);
	act_services_rows(table);
}

const struct rk_action_ops *
rk_action_table(void)
{
	(void)pthread_once(&table_once, fill_table);
	return table;
}
