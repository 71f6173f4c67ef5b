/*
 * http_resp.h - response framing tracker: just enough of every response
 * on a connection to know where the next one starts and whether the
 * server switched protocols.
 *
 * Why: after CONNECT or an Upgrade request the client's next bytes are
 * either the tunnelled protocol (the server said 101, or 2xx to CONNECT)
 * or the next HTTP request (the server refused).  Only the server's answer
 * tells which, so HTTP inspection of the client stream goes on until the
 * tracker has seen that answer.  Trusting the tunnel from the request
 * alone would let an attacker end inspection with one header.
 *
 * The tracker reads the server-to-client stream in order, byte by byte,
 * keeps a fixed 32 bytes per flow and copies nothing: status code, the
 * Content-Length, Transfer-Encoding and Content-Encoding values, chunk
 * framing.  When response rules are loaded the caller passes a sink and
 * is handed each response's head bytes, each final response's status and
 * coding, its body bytes de-chunked (still content-coded) and its end.  It follows
 * RFC 9112 §6.3 (no body for HEAD, 1xx, 204, 304; chunked wins; else
 * Content-Length; else until close).  Anything it cannot follow exactly
 * (a gap in the server stream, a malformed status line or length, more
 * than HTTP_RESP_MAX_OUTSTANDING pipelined requests) makes it give up for
 * the rest of the flow: the tunnel is then never trusted, which fails
 * safe (HTTP inspection goes on).
 *
 * Used only by http.c; pure state machine, no allocation.  Thread: the
 * flow's worker.
 */
#ifndef IPS_HTTP_RESP_H
#define IPS_HTTP_RESP_H

#include <stdint.h>

/* Requests whose response is still due, tracked per flow. */
#define HTTP_RESP_MAX_OUTSTANDING 32

/* What the request awaiting a response asked for (http_resp_expect). */
#define HTTP_RESP_REQ_HEAD    0x1   /* response has no body */
#define HTTP_RESP_REQ_CONNECT 0x2   /* 2xx opens a tunnel */
#define HTTP_RESP_REQ_UPGRADE 0x4   /* 101 opens a tunnel */

struct http_resp {
	uint64_t left;          /* body or chunk bytes still to skip */
	uint32_t head_mask;     /* bit i: i-th outstanding request is HEAD */
	uint32_t connect_mask;  /* ... is CONNECT */
	uint32_t upgrade_mask;  /* ... asked for Upgrade */
	uint16_t status;        /* of the response being read */
	uint8_t n_out;          /* outstanding requests, <= MAX_OUTSTANDING */
	uint8_t state;          /* http_resp.c enum */
	uint8_t pos;            /* progress in the current token */
	uint8_t hdr;            /* header being read: http_resp.c enum */
	uint8_t bits;           /* http_resp.c HTTP_RESP_F_* */
	uint8_t coding;         /* HTTP_RESP_CODING_* of the response */
	uint8_t ce_cand;        /* Content-Encoding token candidates */
};

/* The response body's content coding (Content-Encoding), as libhtp reads
 * it for Suricata: gzip and deflate are decoded; any other single coding
 * is inspected as it is (Suricata does not decode it either); several
 * codings stacked are not followed. */
#define HTTP_RESP_CODING_NONE     0   /* none or identity */
#define HTTP_RESP_CODING_GZIP     1   /* gzip, x-gzip */
#define HTTP_RESP_CODING_DEFLATE  2   /* deflate, x-deflate */
#define HTTP_RESP_CODING_OTHER    3   /* br, zstd, ...: as it is */
#define HTTP_RESP_CODING_STACKED  4   /* more than one coding */

/* What the tracker hands a caller that follows responses (may be NULL).
 * Interim (1xx) responses and tunnels are not handed out. */
struct http_resp_sink {
	/* A response's status line begins (an interim one's too: the final
	 * one begins again). */
	void (*begin)(void *arg);
	/* Bytes of its head, in order, from "HTTP/" to the empty line. */
	void (*head_bytes)(void *arg, const uint8_t *p, uint32_t len);
	/* A final response's head ended. */
	void (*head)(void *arg, uint16_t status, unsigned coding);
	/* Its body's next bytes, de-chunked, in order. */
	void (*body)(void *arg, const uint8_t *p, uint32_t len);
	/* It ended (right after head when it has no body). */
	void (*end)(void *arg);
};

enum http_resp_result {
	HTTP_RESP_MORE = 0,     /* keep feeding */
	HTTP_RESP_TUNNEL,       /* the server switched protocols: the client
	                         * bytes after the tunnel request are not
	                         * HTTP any more */
	HTTP_RESP_LOST,         /* gave up on this flow (just now) */
};

/*
 * A request's head ended: its response is now due.  kind is a mask of
 * HTTP_RESP_REQ_*.  Over HTTP_RESP_MAX_OUTSTANDING the tracker gives up.
 */
void http_resp_expect(struct http_resp *r, unsigned kind);

/*
 * Feed the next len bytes of the server-to-client stream.  Returns enum
 * http_resp_result: what the first byte that opened a tunnel or lost the
 * tracker did; the bytes after it are not looked at (nor are any later
 * ones: both ends are final).
 */
int http_resp_data(struct http_resp *r, const uint8_t *p, uint32_t len,
                   const struct http_resp_sink *sink, void *arg);

/* The coding after a Content-Encoding value (a list), given the coding
 * of those before it: what the tracker reads on a response, for a
 * request's header. */
unsigned http_resp_coding(unsigned coding, const uint8_t *value,
                          uint32_t len);

/* The server closed its side: a body delimited by the close ends
 * (sink->end), and a head it cut short is handed out as it came
 * (sink->head, then end).  Returns 1 when a response ended. */
int http_resp_eof(struct http_resp *r, const struct http_resp_sink *sink,
                  void *arg);

/* Server bytes were skipped (a gap): give up.  Returns HTTP_RESP_LOST
 * the first time, HTTP_RESP_MORE when already lost. */
int http_resp_gap(struct http_resp *r);

#endif /* IPS_HTTP_RESP_H */
