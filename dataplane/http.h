/*
 * http.h - HTTP/1.x request parsing over the reassembled client stream.
 *
 * Owns: the per-flow request parser (struct http_flow, embedded in the
 * flow), the worker's pool of in-progress transactions (request line and
 * header bytes, normalized buffers, detection state), URI normalization
 * (http_uri.h) and the HTTP anomaly policy (smuggling ambiguity, malformed
 * requests, limits).  Calls only the detect stage.
 *
 * The parser is a resumable state machine in the style of nginx's
 * ngx_http_parse_request_line: it is handed the stream in arbitrary pieces,
 * in order, exactly once, and never looks back at bytes it was not handed
 * again.  Request line and headers are copied into the transaction's arena
 * (bounded by http_conf.max_header_bytes) because detection needs them
 * whole; the body is never buffered: de-chunked pieces go straight to
 * detect_body.  Pipelined requests and keep-alive are handled by looping.
 *
 * Memory, all taken at start: a pool of transactions of 4 KiB each, whose
 * small arena holds a typical head and its normalized buffers (which are
 * windows into the head wherever normalization changed nothing), and a
 * smaller pool of large arenas (a max_header_bytes head and its copies),
 * taken only by a head that outgrows the small arena and returned with
 * the transaction.  A flow holds a transaction only while a request is in
 * progress, so idle keep-alive flows cost only sizeof(struct http_flow).
 *
 * The transaction pool is kept in hold.h order (DESIGN §9): a request
 * head counts as progress only when it completes (as nginx's
 * client_header_timeout runs from the first byte), a body at each byte.
 * When the pool is full the transaction stalled longest gives up its
 * place for the newcomer (its flow is reported in res->evicted and ends);
 * no one source holds more than its share; and a head or a body stalled
 * past its timeout ends its flow (http_expire).  No large arena free is
 * policy.http_txn_full.
 *
 * Entry point: http_request_data().  Thread: one http_worker per worker.
 */
#ifndef IPS_HTTP_H
#define IPS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "http_resp.h"
#include "http_response.h"
#include "stats.h"

struct http_worker;
struct http_txn;

struct http_conf {
	uint32_t max_txns;          /* in-progress transactions per worker */
	uint32_t max_header_bytes;  /* request line + headers of one request */
	uint8_t drop_ambiguous;     /* CL+TE, repeated CL, bad chunk size,
	                             * bare LF, obs-fold: 1 = drop the flow */
	uint8_t drop_malformed;     /* bytes that cannot be HTTP on an HTTP
	                             * flow: 1 = drop the flow (default),
	                             * 0 = stop HTTP inspection (bypass:
	                             * counted, raw-stream rules still run) */
	uint8_t bypass_txn_full;    /* no transaction or large arena free:
	                             * 0 = drop the flow (default), 1 = end
	                             * HTTP inspection of it (counted,
	                             * logged) */
	uint32_t max_header_arenas; /* large arenas per worker (>= 1) */
	uint32_t source_share_pct;  /* of max_txns one client source may
	                             * hold; 0 = no limit */
	uint32_t header_timeout_s;  /* a request head not complete this long
	                             * after its first byte ends its flow;
	                             * 0 = never */
	uint32_t body_timeout_s;    /* a body without progress this long
	                             * ends its flow; 0 = never */
	uint32_t max_responses;     /* responses inspected at once */
	uint32_t max_decoders;      /* coded bodies decoded at once */
	uint32_t body_limit;        /* decoded bytes inspected per body */
	uint64_t tsc_hz;            /* the caller's clock, for the timeouts */
};

/* Per-flow HTTP state.  All zero = no request seen yet. */
struct http_flow {
	struct http_txn *txn;       /* pooled; NULL between requests */
	const void *owner;          /* the caller's handle for this flow,
	                             * reported when a pool evicts it */
	uint64_t body_left;         /* Content-Length or chunk bytes left */
	uint32_t state;             /* parser state (http.c enum) */
	uint16_t flags;             /* http.c HTTP_FLOW_* */
	uint16_t n_requests;        /* completed on this flow, saturating */
	struct http_resp resp;      /* where the server's responses are */
	struct http_response_flow rf;   /* the response being inspected */
};

enum http_result {
	HTTP_CONTINUE = 0,          /* forward the data; see res->verdict */
	HTTP_DROP_POLICY,           /* anomaly/limit under a drop policy:
	                             * the counter is incremented, the caller
	                             * drops the packet and the flow */
	HTTP_BYPASS,                /* not HTTP, bypass policy: HTTP
	                             * inspection of this flow ended now
	                             * (counted); forward, log an anomaly */
	HTTP_BYPASS_POOL,           /* no transaction or large arena free,
	                             * bypass policy: HTTP
	                             * inspection of this flow ended now
	                             * (counted); forward, log an anomaly */
	HTTP_TUNNEL,                /* the server switched protocols (101, or
	                             * 2xx to CONNECT), counted: log it.  HTTP
	                             * parsing goes on while the client's
	                             * bytes are HTTP and ends quietly at the
	                             * first that is not */
};

struct ips_config;
/* This stage's settings from the config (limits.http_*, policy.http_*).
 * Cannot fail. */
void http_conf_init(struct http_conf *hc, const struct ips_config *c);

struct http_worker *http_worker_create(const struct http_conf *conf,
                                       struct detect_worker *dw,
                                       struct worker_stats *ws);
void http_worker_free(struct http_worker *hw);

/*
 * Feed the next len bytes of the client-to-server stream of a flow.
 * Rules fired are added to res (res->verdict is the strongest so far).
 * Returns enum http_result.
 */
int http_request_data(struct http_worker *hw, struct http_flow *hf,
                      const uint8_t *data, uint32_t len,
                      const struct detect_tuple *t,
                      struct detect_result *res);

/*
 * The client's FIN came in order: no more request bytes.  A request whose
 * body was in progress ends here, its end-of-body rules decided (added to
 * res).  Returns enum http_result.
 */
int http_request_eof(struct http_worker *hw, struct http_flow *hf,
                     const struct detect_tuple *t,
                     struct detect_result *res);

/*
 * Feed the next len bytes of the server-to-client stream, in order.
 * Response framing is read, to learn whether a CONNECT or Upgrade request
 * opened a tunnel; while response rules are loaded each response is
 * inspected too (http_response.h), fired rules added to res.  Returns
 * HTTP_TUNNEL when a tunnel opened (now), otherwise HTTP_CONTINUE.
 */
int http_response_data(struct http_worker *hw, struct http_flow *hf,
                       const uint8_t *data, uint32_t len,
                       const struct detect_tuple *t,
                       struct detect_result *res);

/* The server's FIN came in order: a body delimited by the close ends,
 * its end-of-body rules decided (added to res). */
void http_response_eof(struct http_worker *hw, struct http_flow *hf,
                       const struct detect_tuple *t,
                       struct detect_result *res);

/* Whether the flow's responses are inspected now: then every server byte
 * must be fed in order (a gap cannot be skipped). */
int http_inspects_responses(const struct http_worker *hw,
                            const struct http_flow *hf);

/* Server bytes were forwarded without being fed (a gap in the server
 * stream): response framing is lost, a tunnel will not be trusted. */
void http_response_gap(struct http_worker *hw, struct http_flow *hf);

/* The flow is gone (closed, timed out, evicted): release its transaction
 * and reset hf.  Safe on an idle or zeroed hf. */
void http_flow_release(struct http_worker *hw, struct http_flow *hf);

/*
 * Does this look like the start of an HTTP/1.x request (a known method
 * token, in any case, followed by a space or tab)?  Used to find HTTP on ports not listed in the
 * config.  Returns 1 yes, 0 no, -1 not enough bytes to tell.
 */
int http_probe_request(const uint8_t *data, uint32_t len);

/* The time of the bytes about to be fed (the burst's TSC): the order of
 * the transaction pool and its timeouts run on it.  Thread: the worker. */
void http_set_clock(struct http_worker *hw, uint64_t now_tsc);

/*
 * End requests stalled past their timeout at now_tsc: a head not complete
 * within header_timeout_s of its first byte, a body without progress for
 * body_timeout_s.  Each is counted (http_header_timeout,
 * http_body_timeout), its transaction freed and its flow's owner added to
 * res->evicted, while res has room.  Called once per burst.
 */
void http_expire(struct http_worker *hw, uint64_t now_tsc,
                 struct detect_result *res);

/* Transactions currently taken from the pool (for stats and tests). */
uint32_t http_txns_in_use(const struct http_worker *hw);

/* Body decoders currently taken (for stats and tests). */
uint32_t http_decoders_in_use_of(const struct http_worker *hw);

/* Response transactions currently taken (for stats and tests). */
uint32_t http_response_txns_in_use(const struct http_worker *hw);

/* Large header arenas currently taken (for stats and tests). */
uint32_t http_header_arenas_in_use(const struct http_worker *hw);

/* Memory one pooled transaction takes, its small arena included (for
 * the memory benchmark). */
size_t http_txn_bytes(const struct http_worker *hw);

/* Memory one large header arena takes (for the memory benchmark). */
size_t http_header_arena_bytes(const struct http_worker *hw);

#endif /* IPS_HTTP_H */
