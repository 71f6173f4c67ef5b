/*
 * fuzz_http_uri.c - libFuzzer harness for http_uri.c: request target and
 * host normalization on arbitrary bytes.
 *
 * Checks, besides the sanitizers: output within cap at every cap, never
 * longer than the input + 1, and normalizing a normalized path again
 * changes nothing (when nothing decodable is left in it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_uri.h"

#define FUZZ_URI_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_uri_check(int ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[FUZZ_URI_MAX + 1], again[FUZZ_URI_MAX + 1];
	static uint8_t small[FUZZ_URI_MAX + 1];
	uint32_t len, n, n2, cap, hoff, hlen;
	unsigned anom = 0;

	if (size < 1 || size > FUZZ_URI_MAX)
		return 0;
	len = (uint32_t)size;
	n = http_uri_normalize(data, len, out, len + 1, &anom);
	fuzz_uri_check(n <= len + 1);
	fuzz_uri_check((anom & HTTP_URI_ANOM_TRUNCATED) == 0);

	/* A smaller cap: bounded, and flagged when it cut the output. */
	cap = data[0] % (len + 1);
	memset(small, 0xa5, sizeof(small));
	anom = 0;
	n2 = http_uri_normalize(data, len, small, cap, &anom);
	fuzz_uri_check(n2 <= cap && small[cap] == 0xa5);
	fuzz_uri_check(n2 == n || (anom & HTTP_URI_ANOM_TRUNCATED));

	/* Idempotent once nothing is left to decode or split differently. */
	if (!memchr(out, '%', n) && !memchr(out, '?', n) &&
	    !memchr(out, '\\', n) && !memchr(out, '#', n)) {
		n2 = http_uri_normalize(out, n, again, n + 1, NULL);
		fuzz_uri_check(n2 == n && memcmp(again, out, n) == 0);
	}

	if (http_uri_authority(data, len, &hoff, &hlen))
		fuzz_uri_check(hoff <= len && hlen <= len - hoff);
	n = http_host_normalize(data, len, out, len);
	fuzz_uri_check(n <= len);
	return 0;
}
