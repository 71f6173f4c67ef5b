/*
 * fuzz_x509.c - libFuzzer harness for x509.c: any bytes as a certificate,
 * read into a room the first input byte sizes.
 *
 * Checks, besides the sanitizers: every name present lies inside the
 * room; a name absent only for a reason (not DER, not UTF-8, no room);
 * the same bytes read the same way twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_x509_check(int ok)
{
	if (!ok)
		abort();
}

static void
fuzz_x509_inside(const struct x509_str *s, const uint8_t *room, uint32_t cap)
{
	if (s->p == NULL) {
		fuzz_x509_check(s->len == 0);
		return;
	}
	fuzz_x509_check(s->p >= room && s->len <= cap &&
	                (size_t)(s->p - room) <= cap - s->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t room[4096], again[4096];
	struct x509_names a, b;
	uint32_t cap;
	int ra, rb;

	if (size < 1)
		return 0;
	cap = (uint32_t)data[0] * 16;   /* 0..4080 bytes */
	ra = x509_names(data + 1, (uint32_t)(size - 1), room, cap, &a);
	fuzz_x509_check(ra == 0 || ra == -1);
	if (ra < 0) {
		fuzz_x509_check(a.subject.p == NULL && a.issuer.p == NULL &&
		                a.serial.p == NULL);
		return 0;
	}
	fuzz_x509_inside(&a.subject, room, cap);
	fuzz_x509_inside(&a.issuer, room, cap);
	fuzz_x509_inside(&a.serial, room, cap);
	rb = x509_names(data + 1, (uint32_t)(size - 1), again, cap, &b);
	fuzz_x509_check(rb == ra && a.truncated == b.truncated &&
	                a.subject.len == b.subject.len &&
	                (a.subject.p == NULL) == (b.subject.p == NULL) &&
	                (a.subject.p == NULL ||
	                 memcmp(a.subject.p, b.subject.p, a.subject.len) == 0));
	return 0;
}
