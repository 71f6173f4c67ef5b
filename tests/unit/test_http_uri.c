/*
 * test_http_uri.c - unit tests of http_uri.c: request target normalization
 * (table of raw -> normalized with the anomalies each must raise), host
 * normalization and the absolute-form split.  The differential test
 * against libhtp (paths included) is in test_http.c, which runs whole
 * requests through both parsers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_uri.h"

struct uri_case {
	const char *raw;
	uint32_t raw_len;       /* 0: strlen(raw) */
	const char *want;
	uint32_t want_len;      /* 0: strlen(want) */
	unsigned anom_must;     /* bits that must be set */
	unsigned anom_not;      /* bits that must stay clear */
};

#define A(x) HTTP_URI_ANOM_##x

static const struct uri_case uri_cases[] = {
	/* plain and dot segments */
	{ "/index.html", 0, "/index.html", 0, 0, 0x1ff },
	{ "/a/b/../c", 0, "/a/c", 0, A(DOT_SEGMENT), A(ABOVE_ROOT) },
	{ "/a/./b/.", 0, "/a/b/", 0, A(DOT_SEGMENT), 0 },
	{ "/a/b/..", 0, "/a/", 0, A(DOT_SEGMENT), 0 },
	{ "/../../etc/passwd", 0, "/etc/passwd", 0, A(ABOVE_ROOT), 0 },
	{ "/a/../../../etc/passwd", 0, "/etc/passwd", 0, A(ABOVE_ROOT), 0 },
	{ "a/../../b", 0, "b", 0, A(ABOVE_ROOT), 0 },
	{ "/..;/manager/html", 0, "/manager/html", 0, A(ABOVE_ROOT), 0 },
	{ "/x/..;jsessionid=1/y", 0, "/y", 0, A(DOT_SEGMENT), 0 },
	{ "/a.../b..c/.d", 0, "/a.../b..c/.d", 0, 0, A(DOT_SEGMENT) },
	/* separators */
	{ "/a//b///c", 0, "/a/b/c", 0, A(DOUBLE_SLASH), 0 },
	{ "//etc//passwd", 0, "/etc/passwd", 0, A(DOUBLE_SLASH), 0 },
	{ "/a\\b\\..\\c", 0, "/a/c", 0, A(BACKSLASH), 0 },
	{ "\\..\\..\\windows\\win.ini", 0, "/windows/win.ini", 0,
	  A(BACKSLASH) | A(ABOVE_ROOT), 0 },
	/* percent decoding and encoded traversal */
	{ "/%2e%2e/%2e%2e/etc/passwd", 0, "/etc/passwd", 0, A(ABOVE_ROOT), 0 },
	{ "/cgi/..%2f..%2fetc%2Fpasswd", 0, "/etc/passwd", 0, A(ABOVE_ROOT), 0 },
	{ "/%2E%2e%5c%2e%2E%5cboot.ini", 0, "/boot.ini", 0,
	  A(BACKSLASH) | A(ABOVE_ROOT), 0 },
	{ "/a%20b%41", 0, "/a bA", 0, 0, A(BAD_ESCAPE) },
	{ "/%3f/../x", 0, "/x", 0, 0, 0 },      /* %3f is path, not query */
	{ "/%252e%252e/x", 0, "/%2e%2e/x", 0, 0, A(DOT_SEGMENT) },
	/* invalid escapes kept literally */
	{ "/%zz%4%", 0, "/%zz%4%", 0, A(BAD_ESCAPE), 0 },
	{ "/%u12/%", 0, "/%u12/%", 0, A(BAD_ESCAPE), 0 },
	{ "/%g1%1", 0, "/%g1%1", 0, A(BAD_ESCAPE), 0 },
	/* %u: ASCII, IIS best fit for fullwidth forms, UTF-8 otherwise */
	{ "/a/%u002e%u002e/b", 0, "/b", 0, A(U_ENCODING), 0 },
	{ "/x/%uff0e%uff0e%uff0fetc", 0, "/etc", 0, A(U_ENCODING), 0 },
	{ "/%U0041", 0, "/A", 0, A(U_ENCODING), 0 },
	{ "/%u00e9", 0, "/\xc3\xa9", 0, A(U_ENCODING), 0 },
	{ "/%u4e2d", 0, "/\xe4\xb8\xad", 0, A(U_ENCODING), 0 },
	{ "/%ud800x", 0, "/%ud800x", 0, A(BAD_ESCAPE), 0 },
	/* overlong UTF-8 forms of ASCII, encoded or raw */
	{ "/..%c0%af..%c0%afetc/passwd", 0, "/etc/passwd", 0,
	  A(OVERLONG) | A(ABOVE_ROOT), 0 },
	{ "/%c0%ae%c0%ae/%c0%ae%c0%ae/x", 0, "/x", 0, A(OVERLONG), 0 },
	{ "/a%c1%9cb", 0, "/a/b", 0, A(OVERLONG) | A(BACKSLASH), 0 },
	{ "/a%e0%80%afb", 0, "/a/b", 0, A(OVERLONG), 0 },
	{ "/a%f0%80%80%afb", 0, "/a/b", 0, A(OVERLONG), 0 },
	{ "/a\xc0\xaf" "b", 0, "/a/b", 0, A(OVERLONG), 0 },
	{ "/%e0%a4%b9", 0, "/\xe0\xa4\xb9", 0, 0, A(OVERLONG) },
	{ "/%c3%a9", 0, "/\xc3\xa9", 0, 0, A(OVERLONG) },
	{ "/%c0", 0, "/\xc0", 0, 0, A(OVERLONG) },
	/* NUL: kept as a byte, flagged */
	{ "/a%00b.php", 0, "/a\0b.php", 8, A(NUL), 0 },
	{ "/a%u0000b", 0, "/a\0b", 4, A(NUL), 0 },
	{ "/a%c0%80b", 0, "/a\0b", 4, A(NUL) | A(OVERLONG), 0 },
	/* query: decoded only */
	{ "/a/../b?x=../../y&z=%2e%2e//", 0, "/b?x=../../y&z=..//", 0, 0, 0 },
	{ "/p?a\\b//c/./d", 0, "/p?a\\b//c/./d", 0, 0,
	  A(BACKSLASH) | A(DOUBLE_SLASH) | A(DOT_SEGMENT) },
	{ "/p?q=%27%20OR%201=1--", 0, "/p?q=' OR 1=1--", 0, 0, 0 },
	{ "/p?q=%c0%bcscript%c0%be", 0, "/p?q=<script>", 0, A(OVERLONG), 0 },
	{ "/p?q=%u003cx", 0, "/p?q=<x", 0, A(U_ENCODING), 0 },
	{ "/p?", 0, "/p?", 0, 0, 0 },
	{ "?a=b", 0, "?a=b", 0, 0, 0 },
	/* absolute form: only the path and query */
	{ "http://Example.com:80/a/../b?q=1", 0, "/b?q=1", 0, 0, 0 },
	{ "https://u:p@h/x//y", 0, "/x/y", 0, A(DOUBLE_SLASH), 0 },
	{ "http://host", 0, "/", 0, 0, 0 },
	{ "http://host?x", 0, "/?x", 0, 0, 0 },
	/* other forms pass through */
	{ "*", 0, "*", 0, 0, 0 },
	{ "example.com:443", 0, "example.com:443", 0, 0, 0 },
	{ "", 0, "", 0, 0, 0 },
};

static void
test_uri_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(uri_cases) / sizeof(uri_cases[0]); i++) {
		const struct uri_case *k = &uri_cases[i];
		uint32_t rl = k->raw_len ? k->raw_len : (uint32_t)strlen(k->raw);
		uint32_t wl = k->want_len ? k->want_len : (uint32_t)strlen(k->want);
		uint8_t out[256];
		unsigned anom = 0;
		uint32_t n;

		memset(out, 0xee, sizeof(out));
		n = http_uri_normalize((const uint8_t *)k->raw, rl, out,
		                       sizeof(out), &anom);
		if (n != wl || memcmp(out, k->want, wl) != 0)
			fail_msg("case %zu \"%s\": got \"%.*s\" (%u), want \"%s\"",
			         i, k->raw, (int)n, out, n, k->want);
		if ((anom & k->anom_must) != k->anom_must ||
		    (anom & k->anom_not) != 0)
			fail_msg("case %zu \"%s\": anomalies %#x, must %#x, not %#x",
			         i, k->raw, anom, k->anom_must, k->anom_not);
		assert_true(n <= rl + 1);
	}
}

/* Output never exceeds cap, whatever cap is, and what is written is a
 * prefix-compatible truncation flagged as such. */
static void
test_uri_cap(void **state)
{
	static const char raw[] = "/a/%2e%2e/bb/%u4e2d?q=%41%42";
	uint8_t full[64], out[64];
	uint32_t fn = http_uri_normalize((const uint8_t *)raw, sizeof(raw) - 1,
	                                 full, sizeof(full), NULL);

	(void)state;
	for (uint32_t cap = 0; cap < fn; cap++) {
		unsigned anom = 0;
		uint32_t n;

		memset(out, 0xee, sizeof(out));
		n = http_uri_normalize((const uint8_t *)raw, sizeof(raw) - 1, out,
		                       cap, &anom);
		assert_true(n <= cap);
		assert_int_equal(out[cap], 0xee);
		assert_true(anom & HTTP_URI_ANOM_TRUNCATED);
	}
	assert_int_equal(fn, strlen("/bb/\xe4\xb8\xad?q=AB"));
	assert_memory_equal(full, "/bb/\xe4\xb8\xad?q=AB", fn);
}

/* Random bytes: bounded output, and normalizing twice is stable for the
 * path (nothing left to remove once normalized), when no '%' remains. */
static void
test_uri_random(void **state)
{
	static const char alphabet[] = "/.\\%?;a2eEfFuc0\xc0\xaf";
	uint8_t raw[48], out[64], out2[64];

	(void)state;
	srand(1234);
	for (int iter = 0; iter < 20000; iter++) {
		uint32_t len = (uint32_t)(rand() % (int)sizeof(raw));
		uint32_t n, n2;

		for (uint32_t i = 0; i < len; i++)
			raw[i] = (uint8_t)alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		n = http_uri_normalize(raw, len, out, sizeof(out), NULL);
		assert_true(n <= len + 1);
		if (memchr(out, '%', n) || memchr(out, '?', n) ||
		    memchr(out, 0xc0, n) || memchr(out, 0, n))
			continue;
		n2 = http_uri_normalize(out, n, out2, sizeof(out2), NULL);
		assert_int_equal(n2, n);
		assert_memory_equal(out2, out, n);
	}
}

static void
test_host(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "Example.COM:8080", "example.com" },
		{ " www.Example.com. ", "www.example.com" },
		{ "[2001:DB8::1]:443", "[2001:db8::1]" },
		{ "[::1]", "[::1]" },
		{ "192.0.2.1:80", "192.0.2.1" },
		{ "", "" },
		{ ":80", "" },
		{ "a..", "a" },
	};
	uint8_t out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t n = http_host_normalize((const uint8_t *)cases[i].in,
		                                 (uint32_t)strlen(cases[i].in),
		                                 out, sizeof(out));
		if (n != strlen(cases[i].want) || memcmp(out, cases[i].want, n))
			fail_msg("host \"%s\": got \"%.*s\"", cases[i].in, (int)n, out);
	}
	/* cap bounds the copy */
	assert_int_equal(http_host_normalize((const uint8_t *)"ABCDEF", 6, out, 3),
	                 3);
	assert_memory_equal(out, "abc", 3);
}

static void
test_authority(void **state)
{
	static const char a[] = "http://user:pw@Host:8/x?y";
	uint32_t off = 99, len = 99;

	(void)state;
	assert_int_equal(http_uri_authority((const uint8_t *)a, sizeof(a) - 1,
	                                    &off, &len), 21);
	assert_memory_equal(a + off, "Host:8", 6);
	assert_int_equal(len, 6);
	assert_int_equal(http_uri_authority((const uint8_t *)"/x", 2, &off, &len),
	                 0);
	assert_int_equal(http_uri_authority((const uint8_t *)"http:/x", 7, &off,
	                                    &len), 0);
	assert_int_equal(http_uri_authority((const uint8_t *)"1http://h/", 10,
	                                    &off, &len), 0);
	assert_int_equal(http_uri_authority((const uint8_t *)"HTTP://h", 8, &off,
	                                    &len), 8);
	assert_int_equal(len, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_table),
		cmocka_unit_test(test_uri_cap),
		cmocka_unit_test(test_uri_random),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_authority),
	};

	return cmocka_run_group_tests_name("http_uri", tests, NULL, NULL);
}
