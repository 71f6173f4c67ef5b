/*
 * tls.c - a TLS handshake up to the client's ClientHello and the server's
 * certificates (see tls.h).
 *
 * Two layers, each a saved state resumed at any byte: the record layer
 * (5-byte headers, payloads of handshake records) feeds the handshake
 * layer (4-byte message headers, messages skipped in bulk but for the
 * Certificate message, whose certificate_list is walked entry by entry
 * and each entry copied into the buffer the caller lent; a ClientHello is
 * a message that is its own one entry).  Lengths that
 * disagree with their container end the parsing as malformed: a client
 * would abort the handshake there, so nothing after it is a certificate
 * it would use.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bounded.h"
#include "tls.h"

enum tls_record_state {
	TLS_REC_HEADER = 0,     /* reading a record header */
	TLS_REC_PAYLOAD,        /* inside a handshake record */
	TLS_FINISHED,           /* TLS_DONE returned */
	TLS_BAD,                /* TLS_MALFORMED returned */
};

enum tls_handshake_state {
	TLS_HS_MSG_HEADER = 0,  /* type(1) length(3) */
	TLS_HS_SKIP,            /* a message other than Certificate */
	TLS_HS_LIST_LEN,        /* certificate_list length(3) */
	TLS_HS_CERT_LEN,        /* an entry's length(3) */
	TLS_HS_CERT_BYTES,      /* an entry's DER bytes */
};

#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT              21
#define TLS_CT_HANDSHAKE          22
#define TLS_CT_APPLICATION_DATA   23
#define TLS_HS_CLIENT_HELLO       1
#define TLS_HS_CERTIFICATE        11

/* Whose bytes the state reads. */
enum tls_phase {
	TLS_PHASE_NONE = 0,     /* neither side's yet */
	TLS_PHASE_CLIENT,       /* the client's, to its ClientHello */
	TLS_PHASE_SERVER,       /* the server's, to its certificates */
};

#define TLS_EXT_SERVER_NAME       0
#define TLS_EXT_SUPPORTED_GROUPS  10
#define TLS_EXT_EC_POINT_FORMATS  11
#define TLS_EXT_SUPPORTED_VERSIONS 43
#define TLS_SNI_HOST_NAME         0

static uint32_t
tls_u24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t
tls_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The lent buffer goes back, once per cert_buffer call. */
static void
tls_return_buffer(struct tls_handshake *ts, const struct tls_sink *sink,
                  void *arg)
{
	if (ts->lent)
		sink->certs_end(arg);
	ts->lent = 0;
	ts->buf = NULL;
	ts->cap = 0;
}

static int
tls_stop(struct tls_handshake *ts, int r, const struct tls_sink *sink,
         void *arg)
{
	tls_return_buffer(ts, sink, arg);
	ts->state = r == TLS_DONE ? TLS_FINISHED : TLS_BAD;
	return r;
}

/* Collect want bytes of a header or length into ts->field across pieces.
 * Returns 1 once it holds them (field_len reset for the next one). */
static int
tls_take_field(struct tls_handshake *ts, const uint8_t **p, uint32_t *n,
               uint8_t want)
{
	uint32_t k = tls_min(want - ts->field_len, *n);

	memcpy(ts->field + ts->field_len, *p, k);
	ts->field_len = (uint8_t)(ts->field_len + k);
	*p += k;
	*n -= k;
	if (ts->field_len < want)
		return 0;
	ts->field_len = 0;
	return 1;
}

/* A record header is complete: only handshake records are followed; the
 * first other record means the certificates (if any) are past. */
static int
tls_record_begin(struct tls_handshake *ts)
{
	const uint8_t *h = ts->hdr;
	uint32_t len = (uint32_t)h[3] << 8 | h[4];

	if (h[1] != 3 || h[2] > 4)
		return TLS_MALFORMED;
	if (h[0] == TLS_CT_CHANGE_CIPHER_SPEC || h[0] == TLS_CT_ALERT ||
	    h[0] == TLS_CT_APPLICATION_DATA)
		return TLS_DONE;
	if (h[0] != TLS_CT_HANDSHAKE || len == 0 || len > TLS_RECORD_MAX)
		return TLS_MALFORMED;
	ts->rec_left = len;
	ts->state = TLS_REC_PAYLOAD;
	return TLS_CONTINUE;
}

static void
tls_lend(struct tls_handshake *ts, const struct tls_sink *sink, void *arg)
{
	ts->cap = 0;
	ts->buf = sink->cert_buffer(arg, &ts->cap);
	ts->lent = 1;
	if (ts->buf == NULL)
		ts->cap = 0;
}

/* A message header is complete: the message this side's rules read, or
 * one to skip. */
static int
tls_message_begin(struct tls_handshake *ts, const struct tls_sink *sink,
                  void *arg)
{
	uint8_t want = ts->phase == TLS_PHASE_CLIENT ? TLS_HS_CLIENT_HELLO
	                                             : TLS_HS_CERTIFICATE;

	ts->msg_left = tls_u24(ts->field + 1);
	if (ts->msg_left > TLS_MESSAGE_MAX)
		return TLS_MALFORMED;
	if (ts->field[0] != want) {
		ts->hs_state = ts->msg_left ? TLS_HS_SKIP : TLS_HS_MSG_HEADER;
		return TLS_CONTINUE;
	}
	if (ts->msg_left < 3)
		return TLS_MALFORMED;
	tls_lend(ts, sink, arg);
	if (want == TLS_HS_CERTIFICATE) {
		ts->hs_state = TLS_HS_LIST_LEN;
		return TLS_CONTINUE;
	}
	/* the ClientHello: one entry, the whole body */
	ts->list_left = ts->cert_len = ts->msg_left;
	ts->cert_have = 0;
	ts->hs_state = TLS_HS_CERT_BYTES;
	return TLS_CONTINUE;
}

/* After a certificate_list length or an entry: the next entry, or the end
 * of the message and of what is inspected. */
static int
tls_next_entry(struct tls_handshake *ts)
{
	if (ts->list_left == 0)
		return TLS_DONE;
	if (ts->list_left < 3)
		return TLS_MALFORMED;
	ts->hs_state = TLS_HS_CERT_LEN;
	return TLS_CONTINUE;
}

static int
tls_list_begin(struct tls_handshake *ts)
{
	ts->list_left = tls_u24(ts->field);
	ts->msg_left -= 3;
	if (ts->list_left != ts->msg_left)
		return TLS_MALFORMED;
	return tls_next_entry(ts);
}

static int
tls_cert_end(struct tls_handshake *ts, const struct tls_sink *sink, void *arg)
{
	if (ts->buf != NULL)
		sink->cert(arg, ts->buf, tls_min(ts->cert_len, ts->cap),
		           ts->cert_len > ts->cap);
	else
		sink->cert(arg, NULL, ts->cert_len, 0);
	ts->n_certs++;
	return tls_next_entry(ts);
}

static int
tls_entry_begin(struct tls_handshake *ts, const struct tls_sink *sink,
                void *arg)
{
	ts->cert_len = tls_u24(ts->field);
	ts->cert_have = 0;
	ts->list_left -= 3;
	ts->msg_left -= 3;
	if (ts->cert_len > ts->list_left)
		return TLS_MALFORMED;
	if (ts->cert_len == 0)
		return tls_cert_end(ts, sink, arg);
	ts->hs_state = TLS_HS_CERT_BYTES;
	return TLS_CONTINUE;
}

/* Bytes of an entry: copied while the lent buffer has room. */
static int
tls_entry_bytes(struct tls_handshake *ts, const uint8_t **p, uint32_t *n,
                const struct tls_sink *sink, void *arg)
{
	uint32_t k = tls_min(ts->cert_len - ts->cert_have, *n);

	if (ts->buf != NULL && ts->cert_have < ts->cap)
		memcpy(ts->buf + ts->cert_have, *p,
		       tls_min(k, ts->cap - ts->cert_have));
	ts->cert_have += k;
	ts->list_left -= k;
	ts->msg_left -= k;
	*p += k;
	*n -= k;
	return ts->cert_have == ts->cert_len ? tls_cert_end(ts, sink, arg)
	                                     : TLS_CONTINUE;
}

/* n payload bytes of handshake records. */
static int
tls_handshake_bytes(struct tls_handshake *ts, const uint8_t *p, uint32_t n,
                    const struct tls_sink *sink, void *arg)
{
	int r = TLS_CONTINUE;

	while (n > 0 && r == TLS_CONTINUE) {
		uint32_t k;

		switch (ts->hs_state) {
		case TLS_HS_MSG_HEADER:
			if (tls_take_field(ts, &p, &n, 4))
				r = tls_message_begin(ts, sink, arg);
			break;
		case TLS_HS_SKIP:
			k = tls_min(ts->msg_left, n);
			ts->msg_left -= k;
			p += k;
			n -= k;
			if (ts->msg_left == 0)
				ts->hs_state = TLS_HS_MSG_HEADER;
			break;
		case TLS_HS_LIST_LEN:
			if (tls_take_field(ts, &p, &n, 3))
				r = tls_list_begin(ts);
			break;
		case TLS_HS_CERT_LEN:
			if (tls_take_field(ts, &p, &n, 3))
				r = tls_entry_begin(ts, sink, arg);
			break;
		default:
			r = tls_entry_bytes(ts, &p, &n, sink, arg);
			break;
		}
	}
	return r;
}

/* Records of this phase's side, from a state not ended. */
static int
tls_parse(struct tls_handshake *ts, const uint8_t *p, uint32_t len,
          const struct tls_sink *sink, void *arg)
{
	while (len > 0) {
		uint32_t n;
		int r;

		if (ts->state == TLS_REC_HEADER) {
			n = tls_min(5 - ts->hdr_len, len);
			memcpy(ts->hdr + ts->hdr_len, p, n);
			ts->hdr_len = (uint8_t)(ts->hdr_len + n);
			p += n;
			len -= n;
			if (ts->hdr_len < 5)
				break;
			ts->hdr_len = 0;
			r = tls_record_begin(ts);
			if (r != TLS_CONTINUE)
				return tls_stop(ts, r, sink, arg);
			continue;
		}
		n = tls_min(ts->rec_left, len);
		r = tls_handshake_bytes(ts, p, n, sink, arg);
		if (r != TLS_CONTINUE)
			return tls_stop(ts, r, sink, arg);
		p += n;
		len -= n;
		ts->rec_left -= n;
		if (ts->rec_left == 0)
			ts->state = TLS_REC_HEADER;
	}
	return TLS_CONTINUE;
}

/* The server's turn: its parse starts at its first byte, a ClientHello
 * still coming given up. */
static void
tls_begin_server(struct tls_handshake *ts, const struct tls_sink *sink,
                 void *arg)
{
	tls_return_buffer(ts, sink, arg);
	memset(ts, 0, sizeof(*ts));
	ts->phase = TLS_PHASE_SERVER;
}

int
tls_client_data(struct tls_handshake *ts, const uint8_t *p, uint32_t len,
                const struct tls_sink *sink, void *arg)
{
	int r;

	if (ts->state == TLS_BAD)
		return TLS_MALFORMED;
	if (ts->phase == TLS_PHASE_SERVER)
		return TLS_DONE;
	ts->phase = TLS_PHASE_CLIENT;
	r = tls_parse(ts, p, len, sink, arg);
	if (r == TLS_DONE)
		tls_begin_server(ts, sink, arg);
	return r;
}

int
tls_client_ended(const struct tls_handshake *ts)
{
	return ts->phase == TLS_PHASE_SERVER || ts->state == TLS_BAD;
}

int
tls_server_data(struct tls_handshake *ts, const uint8_t *p, uint32_t len,
                const struct tls_sink *sink, void *arg)
{
	if (ts->phase == TLS_PHASE_CLIENT && ts->state != TLS_BAD)
		tls_begin_server(ts, sink, arg);
	ts->phase = TLS_PHASE_SERVER;
	if (ts->state == TLS_FINISHED)
		return TLS_DONE;
	if (ts->state == TLS_BAD)
		return TLS_MALFORMED;
	return tls_parse(ts, p, len, sink, arg);
}

int
tls_server_ended(const struct tls_handshake *ts)
{
	return ts->state == TLS_FINISHED || ts->state == TLS_BAD;
}

void
tls_server_release(struct tls_handshake *ts, const struct tls_sink *sink,
                   void *arg)
{
	tls_return_buffer(ts, sink, arg);
}

/* ---- ClientHello fields ------------------------------------------------- */

/* A length-prefixed vector of the body: *v its content, *p moved past. */
static int
tls_vector(const uint8_t **p, const uint8_t *end, uint32_t len_bytes,
           const uint8_t **v, uint32_t *n)
{
	uint32_t k = 0;

	if ((uint32_t)(end - *p) < len_bytes)
		return -1;
	for (uint32_t i = 0; i < len_bytes; i++)
		k = k << 8 | (*p)[i];
	*p += len_bytes;
	if ((uint32_t)(end - *p) < k)
		return -1;
	*v = *p;
	*n = k;
	*p += k;
	return 0;
}

/* server_name: the first entry, if it is a host_name (RFC 6066 §3). */
static int
tls_hello_sni(const uint8_t *ext, uint32_t len, struct tls_hello *out)
{
	const uint8_t *p = ext, *end = ext + len, *list, *name;
	uint32_t list_len, name_len;

	if (tls_vector(&p, end, 2, &list, &list_len) < 0 || p != end ||
	    list_len < 3)
		return -1;
	p = list;
	end = list + list_len;
	if (*p++ != TLS_SNI_HOST_NAME)
		return 0;
	if (tls_vector(&p, end, 2, &name, &name_len) < 0)
		return -1;
	out->sni = name;
	out->sni_len = name_len;
	return 0;
}

/* An extension JA3 reads: its list, behind a length of n bytes. */
static int
tls_hello_list(const uint8_t *ext, uint32_t len, uint32_t n,
               struct tls_vec *out)
{
	const uint8_t *p = ext;

	if (tls_vector(&p, ext + len, n, &out->p, &out->len) < 0 ||
	    p != ext + len)
		return -1;
	return 0;
}

/* The versions Suricata 7 knows (TLSVersionValid): SSL 3.0 to TLS 1.3,
 * and TLS 1.3's drafts as their implementations numbered them. */
static int
tls_version_known(uint32_t v)
{
	switch (v) {
	case 0xfb14: case 0xfb15: case 0xfb16: case 0xfb17: case 0xfb1a:
	case 0x7f01:
		return 1;
	default:
		return (v >= 0x0300 && v <= 0x0304) ||
		       (v >= 0x7f10 && v <= 0x7f1c);
	}
}

/* legacy_version as Suricata keeps it: the drafts before 16 (0x7f01 to
 * 0x7f0f, and 0x0304, which drafts 1 to 15 sent there) are one value. */
static uint16_t
tls_legacy_version(uint16_t v)
{
	return v == 0x0304 || (v >= 0x7f01 && v < 0x7f10) ? 0x7f01 : v;
}

/* supported_versions: the client's first entry that is a version Suricata
 * knows (so GREASE is skipped) becomes its version.  A list shorter than
 * one entry or past the extension is malformed, as there. */
static int
tls_hello_versions(const uint8_t *ext, uint32_t len, struct tls_hello *out)
{
	uint32_t n;

	if (len == 0)
		return 0;
	n = ext[0];
	if (n < 2 || n > len - 1)
		return -1;
	for (uint32_t i = 1; i + 1 < 1 + n; i += 2) {
		uint32_t v = (uint32_t)ext[i] << 8 | ext[i + 1];

		if (tls_version_known(v)) {
			out->client_version = (uint16_t)v;
			break;
		}
	}
	return 0;
}

int
tls_hello_parse(const uint8_t *body, uint32_t len, struct tls_hello *out)
{
	const uint8_t *p = body, *end = body + len, *v;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (len < 2 + 32)
		return -1;
	out->version = (uint16_t)(p[0] << 8 | p[1]);
	out->client_version = tls_legacy_version(out->version);
	p += 2 + 32;                                    /* random */
	if (tls_vector(&p, end, 1, &v, &n) < 0 ||       /* session_id */
	    tls_vector(&p, end, 2, &out->ciphers.p, &out->ciphers.len) < 0 ||
	    tls_vector(&p, end, 1, &v, &n) < 0)         /* compression */
		return -1;
	if (p == end)
		return 0;                               /* no extensions */
	if (tls_vector(&p, end, 2, &v, &n) < 0 || p != end)
		return -1;
	out->extensions.p = v;
	out->extensions.len = n;
	p = v;
	end = v + n;
	while (p < end) {
		uint32_t type;
		const uint8_t *ext;
		uint32_t ext_len;
		int r = 0;

		if (end - p < 2)
			return -1;
		type = (uint32_t)p[0] << 8 | p[1];
		p += 2;
		if (tls_vector(&p, end, 2, &ext, &ext_len) < 0)
			return -1;
		if (type == TLS_EXT_SERVER_NAME && out->sni == NULL)
			r = tls_hello_sni(ext, ext_len, out);
		else if (type == TLS_EXT_SUPPORTED_GROUPS)
			r = tls_hello_list(ext, ext_len, 2, &out->groups);
		else if (type == TLS_EXT_EC_POINT_FORMATS)
			r = tls_hello_list(ext, ext_len, 1, &out->formats);
		else if (type == TLS_EXT_SUPPORTED_VERSIONS)
			r = tls_hello_versions(ext, ext_len, out);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* RFC 8701's reserved values: 0x0a0a, 0x1a1a, .. 0xfafa. */
static int
tls_is_grease(uint32_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* One JA3 field: the values of a list of width-byte items (of the
 * extensions block: the type of each extension), '-' between them. */
static void
tls_ja3_field(struct bounded_out *o, const struct tls_vec *v, uint32_t width,
              int extensions)
{
	const uint8_t *p = v->p, *end;
	int first = 1;

	if (v->len == 0)
		return;                 /* absent: p may be NULL */
	end = p + v->len;
	while ((uint32_t)(end - p) >= (extensions ? 4 : width)) {
		uint32_t x = width == 1 ? p[0] : (uint32_t)p[0] << 8 | p[1];
		char num[8];

		if (extensions) {
			/* type(2) length(2) data: checked by tls_hello_parse */
			p += 4 + ((uint32_t)p[2] << 8 | p[3]);
		} else {
			p += width;
		}
		if (width == 2 && tls_is_grease(x))
			continue;
		snprintf(num, sizeof(num), first ? "%u" : "-%u", x);
		bounded_str(o, num);
		first = 0;
	}
}

void
tls_hello_ja3(const struct tls_hello *h, struct bounded_out *o)
{
	char num[8];

	snprintf(num, sizeof(num), "%u,", h->version);
	bounded_str(o, num);
	tls_ja3_field(o, &h->ciphers, 2, 0);
	bounded_str(o, ",");
	tls_ja3_field(o, &h->extensions, 2, 1);
	bounded_str(o, ",");
	tls_ja3_field(o, &h->groups, 2, 0);
	bounded_str(o, ",");
	tls_ja3_field(o, &h->formats, 1, 0);
}
