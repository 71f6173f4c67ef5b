/*
 * test_tls.c - unit tests for dataplane/tls.c: the server's handshake
 * framed into records and messages every way a network cuts it, each
 * certificate handed whole, and every length that disagrees with its
 * container malformed; the client's ClientHello handed whole before the
 * server's turn, and its fields read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bounded.h"
#include "tls.h"

/* ---- a recording sink --------------------------------------------------- */

#define REC_MAX_CERTS 8

struct rec {
	uint8_t buf[4096];
	uint32_t cap;           /* lent: this much of buf; 0: lend nothing */
	int buffers, ends;
	int n;                  /* certificates handed */
	uint8_t der[REC_MAX_CERTS][4096];
	uint32_t len[REC_MAX_CERTS];
	int had_buf[REC_MAX_CERTS];
	int truncated[REC_MAX_CERTS];
};

static uint8_t *
rec_buffer(void *arg, uint32_t *cap)
{
	struct rec *r = arg;

	r->buffers++;
	*cap = r->cap;
	return r->cap ? r->buf : NULL;
}

static void
rec_cert(void *arg, const uint8_t *der, uint32_t len, int truncated)
{
	struct rec *r = arg;

	assert_true(r->n < REC_MAX_CERTS);
	r->had_buf[r->n] = der != NULL;
	if (der != NULL) {
		assert_true(len <= r->cap);
		memcpy(r->der[r->n], der, len);
	}
	r->len[r->n] = len;
	r->truncated[r->n] = truncated;
	r->n++;
}

static void
rec_end(void *arg)
{
	((struct rec *)arg)->ends++;
}

static const struct tls_sink sink = { rec_buffer, rec_cert, rec_end };

/* ---- building a server's flight ------------------------------------------ */

struct msg {
	uint8_t b[8192];
	uint32_t len;
};

static void
put(struct msg *m, const void *p, uint32_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void
put24(struct msg *m, uint32_t v)
{
	uint8_t b[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(m, b, 3);
}

static void
put_handshake(struct msg *m, uint8_t type, const struct msg *body)
{
	put(m, &type, 1);
	put24(m, body->len);
	put(m, body->b, body->len);
}

static void
put_server_hello(struct msg *m)
{
	struct msg body = { .len = 0 };
	static const uint8_t tail[] = { 0x00, 0xc0, 0x2f, 0x00 };

	put(&body, "\x03\x03", 2);
	put(&body, "0123456789abcdef0123456789abcdef", 32);
	put(&body, tail, sizeof(tail));
	put_handshake(m, 2, &body);
}

/* A Certificate message of n certificates. */
static void
put_certificate(struct msg *m, const char *const *certs, int n)
{
	struct msg list = { .len = 0 }, body = { .len = 0 };

	for (int i = 0; i < n; i++) {
		put24(&list, (uint32_t)strlen(certs[i]));
		put(&list, certs[i], (uint32_t)strlen(certs[i]));
	}
	put24(&body, list.len);
	put(&body, list.b, list.len);
	put_handshake(m, 11, &body);
}

/* msgs wrapped in records of at most rec_size payload bytes. */
static void
put_records(struct msg *out, uint8_t type, const struct msg *msgs,
            uint32_t rec_size)
{
	for (uint32_t at = 0; at < msgs->len; at += rec_size) {
		uint32_t n = msgs->len - at < rec_size ? msgs->len - at
		                                       : rec_size;
		uint8_t h[5] = { type, 3, 3, (uint8_t)(n >> 8), (uint8_t)n };

		put(out, h, 5);
		put(out, msgs->b + at, n);
	}
}

static const char *const two_certs[] = {
	"0\x82 first certificate CN=evil.example",
	"0\x82 second certificate O=Example CA",
};

/* ServerHello, Certificate, ServerHelloDone in records of rec_size. */
static void
flight(struct msg *out, uint32_t rec_size)
{
	struct msg msgs = { .len = 0 }, done = { .len = 0 };

	put_server_hello(&msgs);
	put_certificate(&msgs, two_certs, 2);
	put_handshake(&msgs, 14, &done);
	put_records(out, 22, &msgs, rec_size);
}

/* Feed data in pieces of step bytes; returns the last result. */
static int
feed(struct tls_handshake *ts, struct rec *r, const struct msg *m,
     uint32_t step)
{
	int res = TLS_CONTINUE;

	for (uint32_t at = 0; at < m->len && res == TLS_CONTINUE; at += step) {
		uint32_t n = m->len - at < step ? m->len - at : step;

		res = tls_server_data(ts, m->b + at, n, &sink, r);
	}
	return res;
}

static void
assert_two_certs(const struct rec *r)
{
	assert_int_equal(r->n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r->len[i], strlen(two_certs[i]));
		assert_memory_equal(r->der[i], two_certs[i], r->len[i]);
		assert_false(r->truncated[i]);
	}
	assert_int_equal(r->buffers, 1);
	assert_int_equal(r->ends, 1);
}

/* ---- tests -------------------------------------------------------------- */

/* One record, then one byte at a time, then records cut mid-message and
 * mid-length: the same two certificates, then TLS_DONE. */
static void
test_flight_any_cut(void **state)
{
	static const uint32_t steps[] = { 100000, 1, 2, 3, 7, 64 };
	static const uint32_t recs[] = { 16384, 1, 5, 41, 100 };

	(void)state;
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++)
		for (size_t c = 0; c < sizeof(recs) / sizeof(recs[0]); c++) {
			struct tls_handshake ts = { 0 };
			struct rec r = { .cap = sizeof(r.buf) };
			struct msg m = { .len = 0 };

			flight(&m, recs[c]);
			assert_int_equal(feed(&ts, &r, &m, steps[s]), TLS_DONE);
			assert_two_certs(&r);
			assert_int_equal(ts.n_certs, 2);
			assert_true(tls_server_ended(&ts));
			/* done stays done, reading nothing */
			assert_int_equal(tls_server_data(&ts, m.b, 1, &sink, &r),
			                 TLS_DONE);
			assert_int_equal(r.n, 2);
		}
}

/* A certificate longer than the lent buffer: its prefix, flagged. */
static void
test_truncated_and_no_buffer(void **state)
{
	struct tls_handshake ts = { 0 };
	struct rec r = { .cap = 10 };
	struct msg m = { .len = 0 };

	(void)state;
	flight(&m, 16384);
	assert_int_equal(feed(&ts, &r, &m, 9), TLS_DONE);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.len[0], 10);
	assert_true(r.truncated[0]);
	assert_memory_equal(r.der[0], two_certs[0], 10);
	assert_int_equal(r.ends, 1);

	memset(&ts, 0, sizeof(ts));
	memset(&r, 0, sizeof(r));
	assert_int_equal(feed(&ts, &r, &m, 100000), TLS_DONE);
	assert_int_equal(r.n, 2);
	assert_false(r.had_buf[0]);
	assert_int_equal(r.len[1], strlen(two_certs[1]));
	assert_int_equal(r.buffers, 1);
	assert_int_equal(r.ends, 1);
}

/* TLS 1.3's flight (ServerHello, then ChangeCipherSpec and encrypted
 * records) and a resumed 1.2 session: done, no certificate. */
static void
test_no_certificate_shapes(void **state)
{
	struct msg hello = { .len = 0 }, m = { .len = 0 };
	struct msg ccs = { .b = { 1 }, .len = 1 };
	struct msg app = { .len = 0 };
	struct tls_handshake ts = { 0 };
	struct rec r = { .cap = 64 };

	(void)state;
	put_server_hello(&hello);
	put_records(&m, 22, &hello, 16384);
	put_records(&m, 20, &ccs, 16384);
	put(&app, "encrypted", 9);
	put_records(&m, 23, &app, 16384);
	assert_int_equal(feed(&ts, &r, &m, 3), TLS_DONE);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.buffers, 0);
	assert_int_equal(r.ends, 0);
}

static int
malformed(const struct msg *m, struct rec *r)
{
	struct tls_handshake ts = { 0 };
	int res = feed(&ts, r, m, 1);

	/* stays malformed */
	if (res == TLS_MALFORMED) {
		assert_true(tls_server_ended(&ts));
		assert_int_equal(tls_server_data(&ts, m->b, 1, &sink, r),
		                 TLS_MALFORMED);
	}
	return res;
}

/* Not TLS as a client would take it: the buffer still goes back once. */
static void
test_malformed(void **state)
{
	static const uint8_t http[] = "HTTP/1.1 200 OK\r\n\r\n";
	static const uint8_t bad_version[] = { 22, 2, 0, 0, 4, 2, 0, 0, 0 };
	static const uint8_t zero_len[] = { 22, 3, 3, 0, 0 };
	static const uint8_t huge[] = { 22, 3, 3, 0x48, 0x01 };
	struct msg m = { .len = 0 }, body = { .len = 0 }, msgs = { .len = 0 };
	struct rec r = { .cap = 64 };

	(void)state;
	put(&m, http, sizeof(http) - 1);
	assert_int_equal(malformed(&m, &r), TLS_MALFORMED);
	m.len = 0;
	put(&m, bad_version, sizeof(bad_version));
	assert_int_equal(malformed(&m, &r), TLS_MALFORMED);
	m.len = 0;
	put(&m, zero_len, sizeof(zero_len));
	assert_int_equal(malformed(&m, &r), TLS_MALFORMED);
	m.len = 0;
	put(&m, huge, sizeof(huge));
	assert_int_equal(malformed(&m, &r), TLS_MALFORMED);
	assert_int_equal(r.buffers, 0);

	/* an entry that runs past the list, inside a consistent message */
	put24(&body, 10);
	put24(&body, 20);
	put(&body, "0123456", 7);
	put_handshake(&msgs, 11, &body);
	m.len = 0;
	put_records(&m, 22, &msgs, 16384);
	memset(&r, 0, sizeof(r));
	r.cap = 64;
	assert_int_equal(malformed(&m, &r), TLS_MALFORMED);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.buffers, 1);
	assert_int_equal(r.ends, 1);

	/* a list length that disagrees with the message's */
	body.len = msgs.len = 0;
	put24(&body, 5);
	put(&body, "\x00\x00\x01X", 4);
	put_handshake(&msgs, 11, &body);
	m.len = 0;
	put_records(&m, 22, &msgs, 16384);
	memset(&r, 0, sizeof(r));
	r.cap = 64;
	assert_int_equal(malformed(&m, &r), TLS_MALFORMED);
	assert_int_equal(r.ends, 1);
}

/* The flow ends midway: a lent buffer goes back, once. */
static void
test_release_midway(void **state)
{
	struct tls_handshake ts = { 0 };
	struct rec r = { .cap = 64 };
	struct msg m = { .len = 0 };

	(void)state;
	flight(&m, 16384);
	assert_int_equal(tls_server_data(&ts, m.b, m.len - 30, &sink, &r),
	                 TLS_CONTINUE);
	assert_int_equal(r.buffers, 1);
	assert_int_equal(r.ends, 0);
	assert_false(tls_server_ended(&ts));
	tls_server_release(&ts, &sink, &r);
	assert_int_equal(r.ends, 1);
	tls_server_release(&ts, &sink, &r);
	assert_int_equal(r.ends, 1);
}

/* ---- the client's side ------------------------------------------------- */

/* A ClientHello body: a session id, two suites, the server_name
 * extension (when sni) between two others. */
static void
put_hello_body(struct msg *body, const char *sni)
{
	struct msg ext = { .len = 0 }, names = { .len = 0 };
	static const uint8_t before[] = { 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00 };
	static const uint8_t after[] = { 0x00, 0x2b, 0x00, 0x03, 0x02, 0x03,
	                                 0x04 };
	uint8_t n2[2];

	put(body, "\x03\x03", 2);
	put(body, "0123456789abcdef0123456789abcdef", 32);
	put(body, "\x04sess", 5);
	put(body, "\x00\x04\x13\x01\xc0\x2f", 6);
	put(body, "\x01\x00", 2);
	put(&ext, before, sizeof(before));
	if (sni != NULL) {
		uint16_t l = (uint16_t)strlen(sni);

		put(&names, "\x00", 1);
		n2[0] = (uint8_t)(l >> 8), n2[1] = (uint8_t)l;
		put(&names, n2, 2);
		put(&names, sni, l);
		put(&ext, "\x00\x00", 2);
		n2[0] = (uint8_t)((names.len + 2) >> 8);
		n2[1] = (uint8_t)(names.len + 2);
		put(&ext, n2, 2);
		n2[0] = (uint8_t)(names.len >> 8), n2[1] = (uint8_t)names.len;
		put(&ext, n2, 2);
		put(&ext, names.b, names.len);
	}
	put(&ext, after, sizeof(after));
	n2[0] = (uint8_t)(ext.len >> 8), n2[1] = (uint8_t)ext.len;
	put(body, n2, 2);
	put(body, ext.b, ext.len);
}

/* The client's first flight, in records of rec_size, cut in pieces of
 * step: the body of its ClientHello, whole, then TLS_DONE; the server's
 * certificates are read after it with the same state. */
static void
test_client_hello_then_certificates(void **state)
{
	static const uint32_t steps[] = { 100000, 1, 3, 50 };
	static const uint32_t recs[] = { 16384, 1, 7, 60 };

	(void)state;
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++)
		for (size_t c = 0; c < sizeof(recs) / sizeof(recs[0]); c++) {
			struct tls_handshake ts = { 0 };
			struct rec r = { .cap = sizeof(r.buf) };
			struct msg body = { .len = 0 }, hs = { .len = 0 };
			struct msg m = { .len = 0 }, srv = { .len = 0 };
			struct tls_hello h;
			int res = TLS_CONTINUE;

			put_hello_body(&body, "evil.example");
			put_handshake(&hs, 1, &body);
			put_records(&m, 22, &hs, recs[c]);
			for (uint32_t at = 0; at < m.len && res == TLS_CONTINUE;
			     at += steps[s]) {
				uint32_t n = m.len - at < steps[s] ? m.len - at
				                                   : steps[s];

				res = tls_client_data(&ts, m.b + at, n, &sink, &r);
			}
			assert_int_equal(res, TLS_DONE);
			assert_int_equal(r.n, 1);
			assert_int_equal(r.len[0], body.len);
			assert_memory_equal(r.der[0], body.b, body.len);
			assert_int_equal(r.ends, 1);
			assert_true(tls_client_ended(&ts));
			assert_int_equal(tls_client_data(&ts, m.b, 5, &sink, &r),
			                 TLS_DONE);
			assert_int_equal(tls_hello_parse(r.der[0], r.len[0], &h), 0);
			assert_int_equal(h.sni_len, 12);
			assert_memory_equal(h.sni, "evil.example", 12);
			assert_int_equal(h.version, 0x0303);
			/* the server's turn, from its first byte */
			flight(&srv, 100);
			r = (struct rec){ .cap = sizeof(r.buf) };
			assert_int_equal(feed(&ts, &r, &srv, steps[s]), TLS_DONE);
			assert_two_certs(&r);
		}
}

/* The server speaking first (or a ClientHello cut short): the client's
 * parse is given up, its buffer returned, and the server's read from its
 * first byte.  Client bytes that are not TLS end both sides. */
static void
test_client_side_given_up(void **state)
{
	struct tls_handshake ts = { 0 };
	struct rec r = { .cap = sizeof(r.buf) };
	struct msg body = { .len = 0 }, hs = { .len = 0 }, m = { .len = 0 };
	struct msg srv = { .len = 0 };

	(void)state;
	put_hello_body(&body, "a.example");
	put_handshake(&hs, 1, &body);
	put_records(&m, 22, &hs, 16384);
	assert_int_equal(tls_client_data(&ts, m.b, 20, &sink, &r),
	                 TLS_CONTINUE);
	assert_int_equal(r.buffers, 1);
	flight(&srv, 16384);
	assert_int_equal(feed(&ts, &r, &srv, 9), TLS_DONE);
	assert_int_equal(r.ends, 2);            /* the hello's, the certs' */
	assert_int_equal(r.n, 2);
	assert_int_equal(tls_client_data(&ts, m.b + 20, 5, &sink, &r),
	                 TLS_DONE);
	ts = (struct tls_handshake){ 0 };
	assert_int_equal(tls_client_data(&ts, (const uint8_t *)"GET / HTTP/1.1",
	                                 14, &sink, &r), TLS_MALFORMED);
	assert_true(tls_client_ended(&ts));
	assert_int_equal(feed(&ts, &r, &srv, 100), TLS_MALFORMED);
}

/* The fields of a ClientHello: no SNI, an SNI that is not a host_name,
 * lengths past the body. */
static void
test_hello_fields(void **state)
{
	struct msg body = { .len = 0 };
	struct tls_hello h;

	(void)state;
	put_hello_body(&body, NULL);
	assert_int_equal(tls_hello_parse(body.b, body.len, &h), 0);
	assert_null(h.sni);
	/* no extensions at all */
	assert_int_equal(tls_hello_parse(body.b, 2 + 32 + 5 + 6 + 2, &h), 0);
	assert_null(h.sni);
	body.len = 0;
	put_hello_body(&body, "x.example");
	for (uint32_t n = 0; n < body.len; n++) {
		int r = tls_hello_parse(body.b, n, &h);

		/* cut anywhere but after the compression methods: malformed */
		assert_int_equal(r, n == 2 + 32 + 5 + 6 + 2 ? 0 : -1);
	}
	/* the first name of another type: no SNI, not malformed */
	body.b[2 + 32 + 5 + 6 + 2 + 2 + 6 + 2 + 2 + 2] = 1;
	assert_int_equal(tls_hello_parse(body.b, body.len, &h), 0);
	assert_null(h.sni);
}

/* JA3 as Suricata builds it: GREASE values out of every list, the
 * extensions in the order sent, point formats as bytes. */
static void
test_hello_ja3(void **state)
{
	static const uint8_t body[] = {
		0x03, 0x03,
		'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r',
		'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r',
		'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r',
		0x00,                                   /* session_id */
		0x00, 0x06, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f,
		0x01, 0x00,                             /* compression */
		0x00, 0x27,                             /* extensions */
		0x1a, 0x1a, 0x00, 0x00,                 /* GREASE */
		0x00, 0x00, 0x00, 0x06, 0x00, 0x04, 0x00, 0x00, 0x01, 'h',
		0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x2a, 0x2a, 0x00, 0x1d,
		0x00, 0x17,                             /* supported_groups */
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,     /* ec_point_formats */
		0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04,
	};
	static const char want[] = "771,4865-49199,0-10-11-43,29-23,0";
	struct tls_hello h;
	uint8_t room[64];
	struct bounded_out o = { room, 0, sizeof(room), false };

	(void)state;
	assert_int_equal(tls_hello_parse(body, sizeof(body), &h), 0);
	assert_int_equal(h.sni_len, 1);
	tls_hello_ja3(&h, &o);
	assert_false(o.full);
	assert_int_equal(o.len, strlen(want));
	assert_memory_equal(room, want, o.len);
	/* a room too small says so */
	o = (struct bounded_out){ room, 0, 20, false };
	tls_hello_ja3(&h, &o);
	assert_true(o.full);
}

/* The client version tls.version reads of a hello with this
 * legacy_version and, unless sv is NULL, a supported_versions extension
 * of sv_len bytes; -1: malformed. */
static int
hello_version(uint16_t legacy, const uint8_t *sv, uint8_t sv_len)
{
	struct msg body = { .len = 0 };
	uint8_t v[2] = { (uint8_t)(legacy >> 8), (uint8_t)legacy };
	uint8_t ext_len[2] = { 0, (uint8_t)(4 + sv_len) };
	uint8_t ext_head[4] = { 0x00, 0x2b, 0x00, sv_len };
	struct tls_hello h;

	put(&body, v, 2);
	put(&body, "0123456789abcdef0123456789abcdef", 32);
	put(&body, "\x00\x00\x02\x13\x01\x01\x00", 7);
	if (sv != NULL) {
		put(&body, ext_len, 2);
		put(&body, ext_head, 4);
		put(&body, sv, sv_len);
	}
	if (tls_hello_parse(body.b, body.len, &h) < 0)
		return -1;
	return h.client_version;
}

/* tls.version's value, Suricata 7's client version: legacy_version (the
 * drafts before 16 as one), then the first supported_versions entry
 * Suricata knows, GREASE and unknown values skipped. */
static void
test_hello_version(void **state)
{
	static const uint8_t grease_13_12[] = { 6, 0x1a, 0x1a, 0x03, 0x04,
	                                        0x03, 0x03 };
	static const uint8_t grease_draft28[] = { 4, 0x0a, 0x0a, 0x7f, 0x1c };
	static const uint8_t unknown_only[] = { 4, 0x03, 0x05, 0xfa, 0xfa };
	static const uint8_t fb_draft[] = { 2, 0xfb, 0x1a };
	static const uint8_t odd_13[] = { 3, 0x03, 0x04, 0x03 };
	static const uint8_t odd_grease[] = { 3, 0x0a, 0x0a, 0x03 };
	static const uint8_t short_list[] = { 1, 0x03 };
	static const uint8_t past_end[] = { 4, 0x03, 0x04 };

	(void)state;
	assert_int_equal(hello_version(0x0303, NULL, 0), 0x0303);
	assert_int_equal(hello_version(0x0301, NULL, 0), 0x0301);
	assert_int_equal(hello_version(0x0304, NULL, 0), 0x7f01);
	assert_int_equal(hello_version(0x7f05, NULL, 0), 0x7f01);
	assert_int_equal(hello_version(0x7f10, NULL, 0), 0x7f10);
	assert_int_equal(hello_version(0x0303, grease_13_12,
	                               sizeof(grease_13_12)), 0x0304);
	assert_int_equal(hello_version(0x0303, grease_draft28,
	                               sizeof(grease_draft28)), 0x7f1c);
	assert_int_equal(hello_version(0x0303, fb_draft, sizeof(fb_draft)),
	                 0xfb1a);
	assert_int_equal(hello_version(0x0303, unknown_only,
	                               sizeof(unknown_only)), 0x0303);
	assert_int_equal(hello_version(0x0303, odd_13, sizeof(odd_13)),
	                 0x0304);
	assert_int_equal(hello_version(0x0302, odd_grease,
	                               sizeof(odd_grease)), 0x0302);
	/* an empty extension changes nothing */
	assert_int_equal(hello_version(0x0303, short_list, 0), 0x0303);
	assert_int_equal(hello_version(0x0303, short_list,
	                               sizeof(short_list)), -1);
	assert_int_equal(hello_version(0x0303, past_end, sizeof(past_end)),
	                 -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flight_any_cut),
		cmocka_unit_test(test_truncated_and_no_buffer),
		cmocka_unit_test(test_no_certificate_shapes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_release_midway),
		cmocka_unit_test(test_client_hello_then_certificates),
		cmocka_unit_test(test_client_side_given_up),
		cmocka_unit_test(test_hello_fields),
		cmocka_unit_test(test_hello_ja3),
		cmocka_unit_test(test_hello_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
