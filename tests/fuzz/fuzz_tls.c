/*
 * fuzz_tls.c - libFuzzer harness for tls.c: a server's bytes, cut into
 * pieces at points the input chooses, with a small certificate buffer
 * lent or not.
 *
 * Checks, besides the sanitizers: a certificate never longer than the
 * buffer lent, every lent buffer returned exactly once (at the latest by
 * tls_server_release), and nothing read once the parser said done or
 * malformed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

#define FUZZ_TLS_CAP 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_sink {
	uint8_t buf[FUZZ_TLS_CAP];
	int lend;
	int lent, returned;
	uint32_t certs;
};

static void
fuzz_tls_check(int ok)
{
	if (!ok)
		abort();
}

static uint8_t *
fuzz_tls_buffer(void *arg, uint32_t *cap)
{
	struct fuzz_sink *s = arg;

	fuzz_tls_check(s->lent == s->returned);     /* one at a time */
	s->lent++;
	*cap = s->lend ? FUZZ_TLS_CAP : 0;
	return s->lend ? s->buf : NULL;
}

static void
fuzz_tls_cert(void *arg, const uint8_t *der, uint32_t len, int truncated)
{
	struct fuzz_sink *s = arg;

	fuzz_tls_check(s->lent == s->returned + 1);
	if (der != NULL) {
		fuzz_tls_check(der == s->buf && len <= FUZZ_TLS_CAP);
		/* the bytes handed are readable */
		for (uint32_t i = 0; i < len; i++)
			s->buf[i] ^= 0;
	} else {
		fuzz_tls_check(!truncated);
	}
	s->certs++;
}

static void
fuzz_tls_end(void *arg)
{
	struct fuzz_sink *s = arg;

	s->returned++;
	fuzz_tls_check(s->returned == s->lent);
}

static const struct tls_sink fuzz_sink_ops = {
	fuzz_tls_buffer, fuzz_tls_cert, fuzz_tls_end,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_sink s = { .lend = 0 };
	struct tls_server ts;
	uint32_t step, at = 1;
	int r = TLS_CONTINUE;

	if (size < 1)
		return 0;
	memset(&ts, 0, sizeof(ts));
	s.lend = data[0] & 1;
	step = (data[0] >> 1) + 1;      /* 1..128 bytes per piece */
	while (at < size) {
		uint32_t n = size - at < step ? (uint32_t)(size - at) : step;

		if (r != TLS_CONTINUE) {
			/* finished: the same answer, nothing read */
			uint32_t certs = s.certs;

			fuzz_tls_check(tls_server_data(&ts, data + at, n,
			                               &fuzz_sink_ops, &s) == r);
			fuzz_tls_check(s.certs == certs);
		} else {
			r = tls_server_data(&ts, data + at, n, &fuzz_sink_ops,
			                    &s);
			fuzz_tls_check(r == TLS_CONTINUE || r == TLS_DONE ||
			               r == TLS_MALFORMED);
		}
		at += n;
	}
	if (r != TLS_CONTINUE)
		fuzz_tls_check(s.lent == s.returned);
	tls_server_release(&ts, &fuzz_sink_ops, &s);
	fuzz_tls_check(s.lent == s.returned);
	fuzz_tls_check(ts.n_certs == s.certs);
	return 0;
}
