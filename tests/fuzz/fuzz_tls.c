/*
 * fuzz_tls.c - libFuzzer harness for tls.c: a client's bytes then a
 * server's (or a server's alone), cut into pieces at points the input
 * chooses, with a small message buffer lent or not; each ClientHello
 * handed is read for its fields and its JA3 string.
 *
 * Checks, besides the sanitizers: a certificate never longer than the
 * buffer lent, every lent buffer returned exactly once (at the latest by
 * tls_server_release), and nothing read once the parser said done or
 * malformed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounded.h"
#include "tls.h"

#define FUZZ_TLS_CAP 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_sink {
	uint8_t buf[FUZZ_TLS_CAP];
	int lend;
	int client;                 /* the client's bytes are being fed */
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
		struct tls_hello h;

		fuzz_tls_check(der == s->buf && len <= FUZZ_TLS_CAP);
		/* the bytes handed are readable */
		for (uint32_t i = 0; i < len; i++)
			s->buf[i] ^= 0;
		if (s->client && tls_hello_parse(der, len, &h) == 0) {
			uint8_t room[96];
			struct bounded_out o = { room, 0, sizeof(room), false };

			if (h.sni != NULL)
				fuzz_tls_check(h.sni >= der &&
				               h.sni + h.sni_len <= der + len);
			tls_hello_ja3(&h, &o);
			fuzz_tls_check(o.len <= sizeof(room));
		}
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

/* Feed data[at, end) in pieces of step to one side; returns the last
 * result, checking that a finished side reads nothing more. */
static int
fuzz_tls_side(struct tls_handshake *ts, struct fuzz_sink *s,
              const uint8_t *data, size_t at, size_t end, uint32_t step,
              int client)
{
	int r = TLS_CONTINUE;

	s->client = client;
	while (at < end) {
		uint32_t n = end - at < step ? (uint32_t)(end - at) : step;
		uint32_t certs = s->certs;
		int before = r;

		r = client ? tls_client_data(ts, data + at, n, &fuzz_sink_ops, s)
		           : tls_server_data(ts, data + at, n, &fuzz_sink_ops, s);
		fuzz_tls_check(r == TLS_CONTINUE || r == TLS_DONE ||
		               r == TLS_MALFORMED);
		if (before != TLS_CONTINUE)
			/* finished: the same answer, nothing read */
			fuzz_tls_check(r == before && s->certs == certs);
		at += n;
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_sink s = { .lend = 0 };
	struct tls_handshake ts;
	uint32_t step;
	size_t split = 1;
	int r;

	if (size < 2)
		return 0;
	memset(&ts, 0, sizeof(ts));
	s.lend = data[0] & 1;
	step = (data[0] >> 2) + 1;      /* 1..64 bytes per piece */
	if (data[0] & 2) {
		/* the client's first, from data[2] up to the split data[1]
		 * chooses; the server's after */
		split = 2 + ((size_t)data[1] * 4 < size - 2 ? (size_t)data[1] * 4
		                                            : size - 2);
		r = fuzz_tls_side(&ts, &s, data, 2, split, step, 1);
		if (r != TLS_CONTINUE)
			fuzz_tls_check(s.lent == s.returned);
		fuzz_tls_check(tls_client_ended(&ts) == (r != TLS_CONTINUE));
	}
	s.certs = 0;
	r = fuzz_tls_side(&ts, &s, data, split, size, step, 0);
	if (r != TLS_CONTINUE)
		fuzz_tls_check(s.lent == s.returned);
	tls_server_release(&ts, &fuzz_sink_ops, &s);
	fuzz_tls_check(s.lent == s.returned);
	fuzz_tls_check(ts.n_certs == s.certs);
	return 0;
}
