/* Shared includes for cmocka unit tests (cmocka needs these before its header). */
#ifndef REKEY_TEST_UTIL_H
#define REKEY_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#endif
