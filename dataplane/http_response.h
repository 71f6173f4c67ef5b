/*
 * http_response.h - inspect HTTP responses for the response rules
 * (http.stat_code, http.response_body / file_data).
 *
 * Owns: the worker's pool of response transactions, each a detection
 * transaction (detect.h) plus the decoder of its body: the response
 * tracker (http_resp.h) frames the server's bytes and hands each final
 * response's head, de-chunked body bytes and end to the sink below, which
 * scans the status code at the head, the body as it passes (gzip and
 * deflate inflated with zlib into a worker buffer, as libhtp does for
 * Suricata; any other coding as it is) and decides the end-of-body rules
 * at its end.  Does not own the flow (http.c does) nor act on a verdict
 * (the stream stage drops the server's packet and blocks the flow).
 *
 * Bounds, all taken at start: http_responses transactions per worker (a
 * coded body also holds a decoder from http_inflate.h's pool);
 * http_body_limit bytes of each body inspected after decoding (Suricata's
 * response-body-limit), which also bounds what a compressed body can cost
 * to inflate.  A full pool takes the place of the response that stalled
 * longest (its flow is reported in res->evicted and reset), never the
 * newcomer's; with none to take the response's bytes carry
 * DETECT_FAULT_RESPONSE, a body that cannot be decoded
 * DETECT_FAULT_DECODE, for policy.detect_error.
 *
 * No allocation, syscall or logging per packet.  Thread: the worker.
 */
#ifndef IPS_HTTP_RESPONSE_H
#define IPS_HTTP_RESPONSE_H

#include <stdint.h>

#include "detect.h"
#include "http_inflate.h"
#include "http_resp.h"
#include "stats.h"

struct http_responses;
struct http_rtxn;

/* Per flow: the response being inspected.  All zero: none. */
struct http_response_flow {
	struct http_rtxn *rtxn;     /* from the pool, or NULL */
	uint8_t fault;              /* DETECT_FAULT_* of this response's
	                             * bytes (no transaction to be had, a
	                             * body that cannot be decoded) */
	uint8_t followed;           /* its head was handed to the sink */
};

/* One call's context: the sink's arg. */
struct http_response_call {
	struct http_responses *hr;
	struct http_response_flow *rf;
	const void *owner;          /* the flow's, reported if evicted */
	const struct detect_tuple *t;
	struct detect_result *res;
};

/* n transactions, body_limit bytes inspected per body, share_pct of the
 * pool per source (0: no limit); coded bodies take a decoder from
 * decoders.  Returns NULL when out of memory or n is 0 (setup only). */
struct http_responses *http_responses_create(uint32_t n, uint32_t body_limit,
                                             uint32_t share_pct,
                                             struct http_decoders *decoders,
                                             struct detect_worker *dw,
                                             struct worker_stats *ws);
void http_responses_free(struct http_responses *hr);

/* The tracker's sink; its arg is a struct http_response_call. */
extern const struct http_resp_sink http_response_sink;

/* The flow's framing was lost or the flow is gone: end its response
 * transaction undecided.  Safe on an idle rf. */
void http_response_abort(struct http_responses *hr,
                         struct http_response_flow *rf);

/* Transactions currently taken (for stats and tests). */
uint32_t http_responses_in_use(const struct http_responses *hr);

#endif /* IPS_HTTP_RESPONSE_H */
