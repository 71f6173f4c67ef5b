/*
 * test_eve.c - unit tests of the EVE writer's pure parts (eve.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "eve.h"

#define GHZ3 3000000000ull

/* Timestamps stay exact long after start: the product (tsc - base) * 10^6
 * overflows 64 bits after 6.1e12 ticks, 34 minutes at 3 GHz. */
static void
test_tsc_to_us_long_uptime(void **state)
{
	const uint64_t base_us = 1700000000ull * 1000000u;
	const uint64_t base_tsc = 123456789;
	const uint64_t days = 400;
	uint64_t tsc = base_tsc + days * 86400ull * GHZ3 + GHZ3 / 4;

	(void)state;
	assert_int_equal(eve_tsc_to_us(base_us, base_tsc, tsc, GHZ3),
	                 base_us + days * 86400ull * 1000000u + 250000u);
	/* two hours and a microsecond */
	tsc = base_tsc + 7200ull * GHZ3 + 3000;
	assert_int_equal(eve_tsc_to_us(base_us, base_tsc, tsc, GHZ3),
	                 base_us + 7200ull * 1000000u + 1);
}

static void
test_tsc_to_us_before_base(void **state)
{
	(void)state;
	assert_int_equal(eve_tsc_to_us(5000000, 1000, 10, GHZ3), 5000000);
	assert_int_equal(eve_tsc_to_us(5000000, 1000, 1000, GHZ3), 5000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsc_to_us_long_uptime),
		cmocka_unit_test(test_tsc_to_us_before_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
