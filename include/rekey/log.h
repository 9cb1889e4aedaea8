/* The logger: the one piece of global state, so any layer can say what it does without printing. */
#ifndef REKEY_LOG_H
#define REKEY_LOG_H

#include "rekey/err.h"

enum rk_log_level {
	RK_LOG_ERROR,
	RK_LOG_WARN,
	RK_LOG_INFO,
	RK_LOG_DEBUG,
};

/* Where log lines go; cli/ installs a sink that prints. Messages never hold secrets. */
typedef void (*rk_log_sink)(enum rk_log_level level, const char *msg, void *payload);

/* Not thread-safe: call once before any worker starts. */
void	rk_log_set_sink(rk_log_sink sink, void *payload, enum rk_log_level max_level);
/* Thread-safe: the sink is called under a lock so lines never interleave. */
void	rk_log(enum rk_log_level level, const char *fmt, ...) RK_PRINTF(2, 3);
const char *rk_log_level_name(enum rk_log_level level);

#define rk_log_error(...)	rk_log(RK_LOG_ERROR, __VA_ARGS__)
#define rk_log_warn(...)	rk_log(RK_LOG_WARN, __VA_ARGS__)
#define rk_log_info(...)	rk_log(RK_LOG_INFO, __VA_ARGS__)
#define rk_log_debug(...)	rk_log(RK_LOG_DEBUG, __VA_ARGS__)

#endif
