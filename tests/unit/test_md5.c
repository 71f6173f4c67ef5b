/*
 * test_md5.c - md5.c against RFC 1321's test suite, and the same digest
 * whichever pieces the bytes come in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "md5.h"

static const struct {
	const char *in, *hex;
} rfc1321[] = {
	{ "", "d41d8cd98f00b204e9800998ecf8427e" },
	{ "a", "0cc175b9c0f1b6a831c399e269772661" },
	{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
	{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
	{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	  "d174ab98d277d9f5a5611c2c9f419d9f" },
	{ "1234567890123456789012345678901234567890123456789012345678901234"
	  "5678901234567890", "57edf4a22be3c955ac49da2e2107b67a" },
};

static void
test_rfc1321_suite(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc1321) / sizeof(rfc1321[0]); i++) {
		char hex[33] = { 0 };

		md5_hex(rfc1321[i].in, (uint32_t)strlen(rfc1321[i].in), hex);
		assert_string_equal(hex, rfc1321[i].hex);
	}
}

/* Fed in pieces of every size, across the 56- and 64-byte boundaries. */
static void
test_pieces(void **state)
{
	const char *in = rfc1321[6].in;
	uint32_t n = (uint32_t)strlen(in);

	(void)state;
	for (uint32_t step = 1; step <= n; step++) {
		struct md5_ctx c;
		uint8_t d[16];
		char hex[33] = { 0 };
		static const char digits[] = "0123456789abcdef";

		md5_init(&c);
		for (uint32_t at = 0; at < n; at += step)
			md5_update(&c, in + at, n - at < step ? n - at : step);
		md5_final(&c, d);
		for (int i = 0; i < 16; i++) {
			hex[2 * i] = digits[d[i] >> 4];
			hex[2 * i + 1] = digits[d[i] & 0xf];
		}
		assert_string_equal(hex, rfc1321[6].hex);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1321_suite),
		cmocka_unit_test(test_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
