#include "rekey/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static struct {
	pthread_mutex_t		 lock;
	rk_log_sink		 sink;
	void			*payload;
	enum rk_log_level	 max_level;
} logger = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, RK_LOG_WARN };

void
rk_log_set_sink(rk_log_sink sink, void *payload, enum rk_log_level max_level)
{
	logger.sink = sink;
	logger.payload = payload;
	logger.max_level = max_level;
}

void
rk_log(enum rk_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (logger.sink == NULL || level > logger.max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&logger.lock);
	logger.sink(level, line, logger.payload);
	pthread_mutex_unlock(&logger.lock);
}

const char *
rk_log_level_name(enum rk_log_level level)
{
	switch (level) {
	case RK_LOG_ERROR:	return "error";
	case RK_LOG_WARN:	return "warning";
	case RK_LOG_INFO:	return "info";
	case RK_LOG_DEBUG:	return "debug";
	}
	return "?";
}
