/*
 * http_resp.c - response framing tracker (see http_resp.h).
 *
 * Shape: one byte-at-a-time switch over a saved state, as nginx's
 * ngx_http_parse_status_line and ngx_http_parse_chunked, except that
 * bodies are skipped in bulk.  Header names are matched as they pass
 * against the only two that change framing; everything else in a header
 * line is skipped.  Any byte that does not fit makes the tracker give up
 * (HTTP_RESP_LOST): it must never guess where a response starts, since a
 * wrong guess could read "101" out of a response body.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "http_resp.h"
#include "http_uri.h"

_Static_assert(sizeof(struct http_resp) == 32,
               "http_resp.h promises 32 bytes per flow");

enum http_resp_state {
	RS_START = 0,       /* before a status line */
	RS_PROTO,           /* "HTTP/x.y" */
	RS_CODE,            /* three digits */
	RS_REASON,          /* rest of the status line */
	RS_HDR_START,       /* start of a header line, or the empty line */
	RS_HDR_NAME,
	RS_HDR_VALUE,
	RS_HDR_SKIP,        /* rest of an uninteresting header line */
	RS_HEAD_END_LF,
	RS_BODY,            /* Content-Length bytes */
	RS_CHUNK_SIZE,
	RS_CHUNK_EXT,       /* extension, blanks, CR up to the LF */
	RS_CHUNK_DATA,
	RS_CHUNK_DATA_END,  /* CRLF after chunk data */
	RS_TRAILER,         /* start of a trailer line */
	RS_TRAILER_LINE,
	RS_CLOSE,           /* body delimited by the end of the connection */
	RS_TUNNEL,          /* the server switched protocols */
	RS_LOST,
};

/* Header being read: while in the name, a mask of the candidates still
 * matching; after the colon, the one that matched. */
#define HDR_CAND_CL  0x1
#define HDR_CAND_TE  0x2
#define HDR_CL       0x4
#define HDR_TE       0x8
#define HDR_CAND_CE  0x10
#define HDR_CE       0x20
#define HDR_CANDS    (HDR_CAND_CL | HDR_CAND_TE | HDR_CAND_CE)

#define HTTP_RESP_F_CL      0x01    /* Content-Length seen */
#define HTTP_RESP_F_TE      0x02    /* Transfer-Encoding seen */
#define HTTP_RESP_F_CHUNKED 0x04    /* its last coding is chunked */
#define HTTP_RESP_F_TOK_OK  0x08    /* current coding still reads chunked */

static const char http_resp_cl[] = "content-length";
static const char http_resp_te[] = "transfer-encoding";
static const char http_resp_chunked[] = "chunked";
static const char http_resp_ce[] = "content-encoding";

/* The Content-Encoding tokens libhtp knows. */
static const struct {
	const char *name;
	uint8_t len;
	uint8_t coding;
} http_resp_codings[] = {
	{ "gzip", 4, HTTP_RESP_CODING_GZIP },
	{ "x-gzip", 6, HTTP_RESP_CODING_GZIP },
	{ "deflate", 7, HTTP_RESP_CODING_DEFLATE },
	{ "x-deflate", 9, HTTP_RESP_CODING_DEFLATE },
	{ "identity", 8, HTTP_RESP_CODING_NONE },
};
#define HTTP_RESP_CODING_CANDS 0x1f

static uint8_t
http_resp_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

static bool
http_resp_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

void
http_resp_expect(struct http_resp *r, unsigned kind)
{
	uint32_t bit;

	if (r->state == RS_LOST || r->state == RS_TUNNEL)
		return;
	if (r->n_out >= HTTP_RESP_MAX_OUTSTANDING) {
		r->state = RS_LOST;
		return;
	}
	bit = 1u << r->n_out;
	r->n_out++;
	if (kind & HTTP_RESP_REQ_HEAD)
		r->head_mask |= bit;
	if (kind & HTTP_RESP_REQ_CONNECT)
		r->connect_mask |= bit;
	if (kind & HTTP_RESP_REQ_UPGRADE)
		r->upgrade_mask |= bit;
}

int
http_resp_gap(struct http_resp *r)
{
	if (r->state == RS_LOST || r->state == RS_TUNNEL)
		return HTTP_RESP_MORE;
	r->state = RS_LOST;
	return HTTP_RESP_LOST;
}

static void
http_resp_next(struct http_resp *r)
{
	r->state = RS_START;
	r->status = 0;
	r->left = 0;
	r->pos = 0;
	r->hdr = 0;
	r->bits = 0;
	r->coding = HTTP_RESP_CODING_NONE;
}

/* A response ended: hand it out, then read the next one. */
static void
http_resp_done(struct http_resp *r, const struct http_resp_sink *sink,
               void *arg)
{
	http_resp_next(r);
	if (sink != NULL)
		sink->end(arg);
}

/* The empty line after a response head: RFC 9112 §6.3 in order.
 * Returns enum http_resp_result. */
static int
http_resp_head_end(struct http_resp *r, const struct http_resp_sink *sink,
                   void *arg)
{
	uint16_t s = r->status;
	bool head, connect, upgrade;

	if (r->n_out == 0) {
		/* Unsolicited (408 before closing, or after a request we
		 * never saw end): cannot say which request it answers. */
		r->state = RS_LOST;
		return HTTP_RESP_LOST;
	}
	head = r->head_mask & 1;
	connect = r->connect_mask & 1;
	upgrade = r->upgrade_mask & 1;
	if (s == 101 && upgrade) {
		r->state = RS_TUNNEL;
		return HTTP_RESP_TUNNEL;
	}
	if (s >= 100 && s < 200) {
		/* Interim (100 Continue, 103): the final one follows.  A 101
		 * nobody asked for is not something to follow. */
		if (s == 101) {
			r->state = RS_LOST;
			return HTTP_RESP_LOST;
		}
		http_resp_next(r);
		return HTTP_RESP_MORE;
	}
	r->head_mask >>= 1;
	r->connect_mask >>= 1;
	r->upgrade_mask >>= 1;
	r->n_out--;
	if (connect && s >= 200 && s < 300) {
		r->state = RS_TUNNEL;
		return HTTP_RESP_TUNNEL;
	}
	if (sink != NULL)
		sink->head(arg, s, r->coding);
	if (head || s == 204 || s == 304) {
		http_resp_done(r, sink, arg);
	} else if (r->bits & HTTP_RESP_F_TE) {
		uint8_t chunked = r->bits & HTTP_RESP_F_CHUNKED;

		http_resp_next(r);
		r->state = chunked ? RS_CHUNK_SIZE : RS_CLOSE;
	} else if (r->bits & HTTP_RESP_F_CL) {
		uint64_t n = r->left;

		if (n == 0) {
			http_resp_done(r, sink, arg);
		} else {
			http_resp_next(r);
			r->left = n;
			r->state = RS_BODY;
		}
	} else {
		r->state = RS_CLOSE;
	}
	return HTTP_RESP_MORE;
}

/* The candidates still matching after byte c at position pos of a
 * header name. */
static uint8_t
http_resp_name_narrow(uint8_t cand, unsigned pos, uint8_t c)
{
	uint8_t l = http_resp_lower(c);

	if ((cand & HDR_CAND_CL) &&
	    (pos >= sizeof(http_resp_cl) - 1 || http_resp_cl[pos] != l))
		cand &= (uint8_t)~HDR_CAND_CL;
	if ((cand & HDR_CAND_TE) &&
	    (pos >= sizeof(http_resp_te) - 1 || http_resp_te[pos] != l))
		cand &= (uint8_t)~HDR_CAND_TE;
	if ((cand & HDR_CAND_CE) &&
	    (pos >= sizeof(http_resp_ce) - 1 || http_resp_ce[pos] != l))
		cand &= (uint8_t)~HDR_CAND_CE;
	return cand;
}

/* One byte of a header name: narrow the candidates. */
static void
http_resp_name_byte(struct http_resp *r, uint8_t c)
{
	r->hdr = http_resp_name_narrow(r->hdr, r->pos, c);
	if (r->pos < UINT8_MAX)
		r->pos++;
}

/* The colon: which header is this?  Returns false when the value is not
 * needed. */
static bool
http_resp_name_end(struct http_resp *r)
{
	uint8_t cand = r->hdr;

	r->hdr = 0;
	if ((cand & HDR_CAND_CL) && r->pos == sizeof(http_resp_cl) - 1)
		r->hdr = HDR_CL;
	else if ((cand & HDR_CAND_TE) && r->pos == sizeof(http_resp_te) - 1)
		r->hdr = HDR_TE;
	else if ((cand & HDR_CAND_CE) && r->pos == sizeof(http_resp_ce) - 1)
		r->hdr = HDR_CE;
	r->pos = 0;
	r->ce_cand = HTTP_RESP_CODING_CANDS;
	if (r->hdr == HDR_TE) {
		r->bits |= HTTP_RESP_F_TE | HTTP_RESP_F_TOK_OK;
		r->bits &= (uint8_t)~HTTP_RESP_F_CHUNKED;
	}
	return r->hdr != 0;
}

/* One byte of a Content-Length value: 1*DIGIT between blanks.  A second
 * Content-Length, a list or junk loses the tracker (false). */
static bool
http_resp_cl_byte(struct http_resp *r, uint8_t c)
{
	unsigned d = (unsigned)c - '0';

	if (http_resp_blank(c)) {
		if (r->pos == 1)
			r->pos = 2;     /* digits ended */
		return true;
	}
	if (d > 9 || r->pos == 2 || r->left > (UINT64_MAX - d) / 10)
		return false;
	r->left = r->left * 10 + d;
	r->pos = 1;
	return true;
}

/* One byte of a Transfer-Encoding value: does the last coding read
 * "chunked"?  Blanks are ignored. */
static void
http_resp_te_byte(struct http_resp *r, uint8_t c)
{
	if (http_resp_blank(c))
		return;
	if (c == ',') {
		r->pos = 0;
		r->bits |= HTTP_RESP_F_TOK_OK;
		return;
	}
	if (r->pos >= sizeof(http_resp_chunked) - 1 ||
	    http_resp_chunked[r->pos] != http_resp_lower(c))
		r->bits &= (uint8_t)~HTTP_RESP_F_TOK_OK;
	if (r->pos < UINT8_MAX)
		r->pos++;
}

/* A Content-Encoding token ended (r->pos bytes long): add its coding. */
static void
http_resp_ce_token(struct http_resp *r)
{
	uint8_t coding = HTTP_RESP_CODING_OTHER;

	if (r->pos == 0)
		return;                 /* an empty list element */
	for (unsigned i = 0; i < sizeof(http_resp_codings) /
	                         sizeof(http_resp_codings[0]); i++)
		if ((r->ce_cand & (1u << i)) &&
		    r->pos == http_resp_codings[i].len)
			coding = http_resp_codings[i].coding;
	if (coding != HTTP_RESP_CODING_NONE)
		r->coding = r->coding == HTTP_RESP_CODING_NONE
		            ? coding : HTTP_RESP_CODING_STACKED;
	r->pos = 0;
	r->ce_cand = HTTP_RESP_CODING_CANDS;
}

/* One byte of a Content-Encoding value: a list of tokens; blanks are
 * ignored. */
static void
http_resp_ce_byte(struct http_resp *r, uint8_t c)
{
	if (http_resp_blank(c))
		return;
	if (c == ',') {
		http_resp_ce_token(r);
		return;
	}
	for (unsigned i = 0; i < sizeof(http_resp_codings) /
	                         sizeof(http_resp_codings[0]); i++)
		if (r->pos >= http_resp_codings[i].len ||
		    http_resp_codings[i].name[r->pos] != http_resp_lower(c))
			r->ce_cand &= (uint8_t)~(1u << i);
	if (r->pos < UINT8_MAX)
		r->pos++;
}

static void
http_resp_value_end(struct http_resp *r)
{
	if (r->hdr == HDR_CE)
		http_resp_ce_token(r);
	if (r->hdr == HDR_TE) {
		if ((r->bits & HTTP_RESP_F_TOK_OK) &&
		    r->pos == sizeof(http_resp_chunked) - 1)
			r->bits |= HTTP_RESP_F_CHUNKED;
		else
			r->bits &= (uint8_t)~HTTP_RESP_F_CHUNKED;
	}
	r->hdr = 0;
	r->pos = 0;
	r->state = RS_HDR_START;
}

/* Status line bytes.  Returns false when the byte does not fit. */
static bool
http_resp_status_byte(struct http_resp *r, uint8_t c)
{
	switch (r->state) {
	case RS_START:
		if (c == '\r' || c == '\n')
			return true;    /* stray CRLF after a body */
		r->state = RS_PROTO;
		r->pos = 0;
		__attribute__((fallthrough));
	case RS_PROTO:
		if (r->pos < 5) {
			if (c != (uint8_t)"HTTP/"[r->pos])
				return false;
			r->pos++;
			return true;
		}
		if (c == ' ') {
			r->state = RS_CODE;
			r->pos = 0;
			return true;
		}
		return (c >= '0' && c <= '9') || c == '.';
	case RS_CODE:
		if (r->pos == 3) {
			if (c != ' ' && c != '\r' && c != '\n')
				return false;
			r->state = RS_REASON;
			return c == ' ' || http_resp_status_byte(r, c);
		}
		if (c < '0' || c > '9')
			return false;
		r->status = (uint16_t)(r->status * 10 + (c - '0'));
		r->pos++;
		return true;
	default:    /* RS_REASON */
		if (c == '\n') {
			r->state = RS_HDR_START;
			r->pos = 0;
		}
		return true;
	}
}

/* Header-section bytes.  Returns enum http_resp_result, or -1 when the
 * byte does not fit. */
static int
http_resp_header_byte(struct http_resp *r, uint8_t c,
                      const struct http_resp_sink *sink, void *arg)
{
	switch (r->state) {
	case RS_HDR_START:
		if (c == '\r') {
			r->state = RS_HEAD_END_LF;
			return HTTP_RESP_MORE;
		}
		if (c == '\n')
			return http_resp_head_end(r, sink, arg);
		if (http_resp_blank(c))
			return -1;      /* obs-fold in a response: give up */
		r->state = RS_HDR_NAME;
		r->hdr = HDR_CANDS;
		r->pos = 0;
		__attribute__((fallthrough));
	case RS_HDR_NAME:
		if (c == ':') {
			if (!http_resp_name_end(r))
				r->state = RS_HDR_SKIP;
			else if (r->hdr == HDR_CL && (r->bits & HTTP_RESP_F_CL))
				return -1;      /* a second Content-Length */
			else
				r->state = RS_HDR_VALUE;
			if (r->hdr == HDR_CL)
				r->bits |= HTTP_RESP_F_CL;
			return HTTP_RESP_MORE;
		}
		if (c == '\r' || c == '\n')
			return -1;
		http_resp_name_byte(r, c);
		return HTTP_RESP_MORE;
	case RS_HDR_VALUE:
		if (c == '\r')
			return HTTP_RESP_MORE;
		if (c == '\n') {
			http_resp_value_end(r);
			return HTTP_RESP_MORE;
		}
		if (r->hdr == HDR_CL) {
			if (!http_resp_cl_byte(r, c))
				return -1;
		} else if (r->hdr == HDR_CE) {
			http_resp_ce_byte(r, c);
		} else {
			http_resp_te_byte(r, c);
		}
		return HTTP_RESP_MORE;
	case RS_HDR_SKIP:
		if (c == '\n')
			r->state = RS_HDR_START;
		return HTTP_RESP_MORE;
	default:    /* RS_HEAD_END_LF */
		if (c != '\n')
			return -1;
		return http_resp_head_end(r, sink, arg);
	}
}

/* Chunk framing bytes (not the data).  Returns false when the byte does
 * not fit. */
static bool
http_resp_chunk_byte(struct http_resp *r, uint8_t c,
                     const struct http_resp_sink *sink, void *arg)
{
	int d = http_hex_digit(c);

	switch (r->state) {
	case RS_CHUNK_SIZE:
		if (d >= 0) {
			if (r->left > (UINT64_MAX >> 4))
				return false;
			r->left = (r->left << 4) | (uint64_t)d;
			r->pos = 1;
			return true;
		}
		if (r->pos == 0)
			return false;
		r->state = RS_CHUNK_EXT;
		__attribute__((fallthrough));
	case RS_CHUNK_EXT:
		if (c == '\n') {
			r->pos = 0;
			r->state = r->left ? RS_CHUNK_DATA : RS_TRAILER;
		}
		return true;
	case RS_CHUNK_DATA_END:
		if (c == '\r')
			return true;
		if (c != '\n')
			return false;
		r->state = RS_CHUNK_SIZE;
		r->left = 0;
		r->pos = 0;
		return true;
	case RS_TRAILER:
		if (c == '\r')
			return true;
		if (c == '\n') {
			http_resp_done(r, sink, arg);
			return true;
		}
		r->state = RS_TRAILER_LINE;
		return true;
	default:    /* RS_TRAILER_LINE */
		if (c == '\n')
			r->state = RS_TRAILER;
		return true;
	}
}

/*
 * Most of a response head is bytes whose only effect is to be passed
 * over, and dispatching them one by one through the state machine was
 * the costliest part of a worker on API traffic (17% of its time).
 * These runs take them in a tight loop; the byte that ends a run (LF,
 * colon, CR) still goes through the state machine.  Each returns the
 * bytes it took, 0 when it does not apply.
 */

/* Reason phrase, uninteresting header value, trailer line, chunk
 * extension: everything up to the LF. */
static uint32_t
http_resp_run_to_lf(const struct http_resp *r, const uint8_t *p, uint32_t len)
{
	const uint8_t *lf;

	if (r->state != RS_REASON && r->state != RS_HDR_SKIP &&
	    r->state != RS_TRAILER_LINE && r->state != RS_CHUNK_EXT)
		return 0;
	lf = memchr(p, '\n', len);
	return lf != NULL ? (uint32_t)(lf - p) : len;
}

/* Header name bytes up to the colon (or the CR/LF that makes it bad);
 * the state kept in locals, which stores through r would not allow. */
static uint32_t
http_resp_run_name(struct http_resp *r, const uint8_t *p, uint32_t len)
{
	uint8_t cand = r->hdr;
	unsigned pos = r->pos;
	uint32_t i = 0;

	if (r->state != RS_HDR_NAME)
		return 0;
	for (; i < len && p[i] != ':' && p[i] != '\r' && p[i] != '\n'; i++) {
		if (cand != 0)
			cand = http_resp_name_narrow(cand, pos, p[i]);
		pos++;
	}
	r->hdr = cand;
	r->pos = (uint8_t)(pos < UINT8_MAX ? pos : UINT8_MAX);
	return i;
}

/* Whether the byte at the current state is part of a response head: from
 * the status line's first byte (not a stray CRLF before it) to the empty
 * line. */
static bool
http_resp_in_head(const struct http_resp *r, uint8_t c)
{
	if (r->state == RS_START)
		return c != '\r' && c != '\n';
	return r->state >= RS_PROTO && r->state <= RS_HEAD_END_LF;
}

/* Hand the n head bytes at p to the sink (a status line's first: it
 * begins). */
static void
http_resp_give_head(const struct http_resp *r, const uint8_t *p, uint32_t n,
                    const struct http_resp_sink *sink, void *arg)
{
	if (sink == NULL || !http_resp_in_head(r, *p))
		return;
	if (r->state == RS_START)
		sink->begin(arg);
	sink->head_bytes(arg, p, n);
}

/* One step from p: consumes at least one byte.  Returns the bytes used
 * and sets *res. */
static uint32_t
http_resp_step(struct http_resp *r, const uint8_t *p, uint32_t len, int *res,
               const struct http_resp_sink *sink, void *arg)
{
	uint32_t n;
	int rc;

	*res = HTTP_RESP_MORE;
	n = http_resp_run_to_lf(r, p, len);
	if (n > 0) {
		http_resp_give_head(r, p, n, sink, arg);
		return n;
	}
	if (r->state == RS_HDR_NAME) {
		n = http_resp_run_name(r, p, len);
		if (n > 0) {
			http_resp_give_head(r, p, n, sink, arg);
			return n;
		}
	}
	http_resp_give_head(r, p, 1, sink, arg);
	switch (r->state) {
	case RS_BODY:
	case RS_CHUNK_DATA:
		n = r->left < len ? (uint32_t)r->left : len;
		r->left -= n;
		if (sink != NULL)
			sink->body(arg, p, n);
		if (r->left == 0) {
			if (r->state == RS_BODY)
				http_resp_done(r, sink, arg);
			else
				r->state = RS_CHUNK_DATA_END;
		}
		return n;
	case RS_CLOSE:
		if (sink != NULL)
			sink->body(arg, p, len);
		return len;
	case RS_TUNNEL:
	case RS_LOST:
		return len;
	case RS_START:
	case RS_PROTO:
	case RS_CODE:
	case RS_REASON:
		rc = http_resp_status_byte(r, *p) ? HTTP_RESP_MORE : -1;
		break;
	case RS_HDR_START:
	case RS_HDR_NAME:
	case RS_HDR_VALUE:
	case RS_HDR_SKIP:
	case RS_HEAD_END_LF:
		rc = http_resp_header_byte(r, *p, sink, arg);
		break;
	default:
		rc = http_resp_chunk_byte(r, *p, sink, arg) ? HTTP_RESP_MORE : -1;
		break;
	}
	if (rc < 0) {
		r->state = RS_LOST;
		rc = HTTP_RESP_LOST;
	}
	*res = rc;
	return 1;
}

int
http_resp_data(struct http_resp *r, const uint8_t *p, uint32_t len,
               const struct http_resp_sink *sink, void *arg)
{
	uint32_t i = 0;
	int res = HTTP_RESP_MORE;

	if (r->state == RS_LOST || r->state == RS_TUNNEL)
		return HTTP_RESP_MORE;
	while (i < len && res == HTTP_RESP_MORE)
		i += http_resp_step(r, p + i, len - i, &res, sink, arg);
	return res;
}

unsigned
http_resp_coding(unsigned coding, const uint8_t *value, uint32_t len)
{
	struct http_resp r;

	memset(&r, 0, sizeof(r));
	r.coding = (uint8_t)coding;
	r.ce_cand = HTTP_RESP_CODING_CANDS;
	for (uint32_t i = 0; i < len; i++)
		http_resp_ce_byte(&r, value[i]);
	http_resp_ce_token(&r);
	return r.coding;
}

int
http_resp_eof(struct http_resp *r, const struct http_resp_sink *sink,
              void *arg)
{
	/* A head cut by the close: what came of it is the response's head,
	 * as libhtp hands it to Suricata when the connection closes. */
	if (r->state >= RS_HDR_START && r->state <= RS_HEAD_END_LF &&
	    r->n_out > 0 && r->status >= 200 && sink != NULL) {
		sink->head(arg, r->status, r->coding);
		r->state = RS_CLOSE;
	}
	if (r->state != RS_CLOSE)
		return 0;
	http_resp_done(r, sink, arg);
	r->state = RS_LOST;     /* nothing follows a close */
	return 1;
}
