/*
 * detect.h - scan HTTP buffers and the raw TCP stream with Hyperscan and
 * decide which rules fire.
 *
 * Owns: the worker's Hyperscan scratch, the pools of body streams and raw
 * streams, per transaction match state (struct detect_txn), per flow raw
 * stream state (struct detect_raw), and rule evaluation.  Does
 * not own the database (read-only, shared by all workers; swapped by the
 * control path under RCU) and does not act on a match: it reports fired
 * rules in struct detect_result and the verdict stage applies them.
 *
 * Life of a transaction, driven by the HTTP stage:
 *   detect_txn_begin -> detect_headers -> detect_body* -> detect_txn_end
 * or detect_txn_abort when the flow dies first.  A rule fires at most once
 * per transaction, when all its positive conditions have matched in that
 * transaction and none of its negated ones has (negated body conditions are
 * decided at detect_txn_end; negated header-side conditions at
 * detect_headers).
 *
 * Life of a flow's raw stream (rules with content/pcre and no sticky
 * buffer), driven by the stream stage for every TCP flow when
 * detect_wants_raw(), and for its server's bytes too when
 * detect_wants_raw_server():
 *   detect_raw_open -> detect_raw_data* -> detect_raw_close
 * A raw rule fires at most once per flow and direction, when all its
 * conditions have matched in that direction's bytes so far: a to_server
 * rule on the client's, a to_client rule on the server's (its header read
 * server to client), a rule with neither on each.
 *
 * Life of a TLS flow's certificates (tls.certs rules), driven by the
 * stream stage as the server's Certificate message passes:
 *   detect_tls_begin -> detect_tls_cert* -> detect_tls_end
 * Each certificate is one buffer (Suricata's multi-buffer): a rule's
 * conditions hold within one certificate, and it fires at most once per
 * flow.  Its header is matched server to client, as the rule reads.
 *
 * Inspection that cannot be completed (Hyperscan error, a stream pool
 * empty) is not a rule match: it is reported as a DETECT_FAULT_* bit in
 * struct detect_result and the verdict stage applies policy.detect_error.
 *
 * No allocation, syscall or logging in any function called per packet.
 * Thread: each detect_worker belongs to one worker lcore.
 */
#ifndef IPS_DETECT_H
#define IPS_DETECT_H

#include <stdint.h>

#include "hold.h"
#include "ips/detect_db.h"
#include "stats.h"

struct detect_worker;

/* Buffers of one request, complete when its headers end. Pointers are
 * windows owned by the HTTP stage, valid for the duration of the call. */
struct detect_bufs {
	const uint8_t *ptr[IPS_BUF_COUNT];
	uint32_t len[IPS_BUF_COUNT];
};

/* The flow in to_server orientation: src is the client. */
struct detect_tuple {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t ip_version;
	uint64_t *flowbits;         /* the flow's IPS_MAX_FLOWBITS bits (owned
	                             * by the flow stage), or NULL: all clear,
	                             * nothing kept */
	uint64_t now_ms;            /* packet time, for threshold windows */
};

#define DETECT_FLOWBITS_WORDS (IPS_MAX_FLOWBITS / 64)

/* threshold / detection_filter counters per worker: (sid, address)
 * entries in a fixed table; a full probe window evicts its oldest entry
 * (counted as detect_threshold_evicted). */
#define DETECT_THRESH_SLOTS 4096
#define DETECT_THRESH_PROBE 8

/* Per-transaction match state, embedded in the HTTP transaction.
 * Fixed size: matches beyond DETECT_TXN_MAX_MATCHES are counted
 * (detect_match_overflow is reported as a scan error) and the transaction
 * is then treated as matching every overflowed rule's condition: failing
 * closed keeps an attacker from hiding a match behind many decoys. */
#define DETECT_TXN_MAX_MATCHES 128
/* Bytes of a request body held for the rules that inspect it by position
 * or with pcre (Suricata inspects a body of up to
 * request-body-minimal-inspect-size, 32 KiB by default, in one piece):
 * such rules see the first DETECT_BODY_INSPECT_BYTES; the Hyperscan
 * stream still sees every byte.  One buffer per body stream, allocated
 * with the rule set and only when a rule needs it. */
#define DETECT_BODY_INSPECT_BYTES 32768
/* The same for a response body (Suricata's
 * response-body-minimal-inspect-size, 40 KiB by default). */
#define DETECT_RESP_BODY_INSPECT_BYTES 40960
/* Bytes of a client stream held for the raw-stream rules Hyperscan cannot
 * decide alone (distance/within, pcre R or back-references, isdataat,
 * byte_test, byte_jump: ips_cond_needs_window): such rules see the first
 * DETECT_RAW_WINDOW_BYTES of the stream, as Suricata's raw rules see the
 * stream up to stream.reassembly.depth; Hyperscan's stream still sees
 * every byte for the others.  From a pool of limits.raw_windows, only
 * when a rule needs it. */
#define DETECT_RAW_WINDOW_BYTES 8192
#define DETECT_TXN_MAX_FIRED 16

struct detect_set;

struct detect_txn {
	struct detect_set *set;     /* the rules it started on (a reload
	                             * never changes them mid-transaction) */
	void *body_stream;          /* hs_stream_t from the pool, or NULL */
	struct hold_node hold;      /* its place in the body stream pool */
	const void *owner;          /* the caller's handle, reported when the
	                             * body stream is evicted; set after
	                             * detect_txn_begin */
	uint8_t body_fault;         /* DETECT_FAULT_* that stopped the body
	                             * scan: reported for the rest of it */
	uint32_t n_matched;
	uint32_t n_fired;
	uint8_t passed;             /* a pass rule fired: no more rules */
	uint8_t headers_done;
	uint8_t line_done;          /* detect_request_line ran */
	uint8_t overflow;
	uint8_t body_seen;          /* a body byte passed: the request has
	                             * an http.request_body */
	uint8_t response;           /* a response's transaction */
	uint8_t *body_buf;          /* the held body, from the set's pool,
	                             * when a rule inspects it (else NULL);
	                             * in a raw stream's state: its window */
	uint32_t body_len;          /* bytes held (at most
	                             * DETECT_BODY_INSPECT_BYTES) */
	uint8_t body_cut;           /* more body passed than is held: a
	                             * pcre's $ never matches at its end */
	uint32_t matched[DETECT_TXN_MAX_MATCHES];  /* pattern ids, sorted */
	uint32_t fired[DETECT_TXN_MAX_FIRED];      /* rule indexes */
};

enum detect_verdict {
	DETECT_NONE = 0,            /* nothing (or only pass) fired */
	DETECT_ALERT,
	DETECT_DROP,
	DETECT_REJECT,
};

/* Why inspection of some bytes could not be completed (bit mask in
 * struct detect_result.faults).  The bytes were not shown to every rule;
 * the verdict stage applies policy.detect_error to the packet carrying
 * them. */
#define DETECT_FAULT_SCAN_ERROR     0x01    /* Hyperscan returned an error */
#define DETECT_FAULT_BODY_POOL_FULL 0x02    /* no body stream free */
#define DETECT_FAULT_RAW_POOL_FULL  0x04    /* no raw stream free */
#define DETECT_FAULT_INSPECT_LIMIT  0x08    /* a rule's inspection reached
                                             * the PCRE2 match limit or the
                                             * recursion limit, or PCRE2
                                             * failed, or a certificate
                                             * was longer than its buffer:
                                             * undecided */
#define DETECT_FAULT_TLS_POOL_FULL  0x10    /* no certificate buffer */
#define DETECT_FAULT_RESPONSE       0x20    /* no response transaction */
#define DETECT_FAULT_DECODE         0x40    /* a content-coded body that
                                             * cannot be decoded: bad
                                             * bytes, stacked codings, no
                                             * decoder free */

/* A holder that lost its body or raw stream to a newcomer (the pool was
 * full and it had made no progress for longest, or its source held its
 * share): the caller ends its flow, which cannot be inspected further. */
#define DETECT_EVICT_MAX 4
struct detect_evicted {
	const void *owner;          /* detect_txn.owner / detect_raw_open's */
	const char *layer;          /* EVE anomaly layer and event: static */
	const char *event;
};

/* Rules fired while one packet was processed, for the verdict stage.
 * HTTP fields are copied (truncated, NUL-terminated) from the transaction
 * that fired first, for the EVE alert. */
#define DETECT_RESULT_MAX 8
struct detect_fired {
	uint32_t sid;
	uint32_t rev;
	uint8_t action;             /* enum ips_action */
	uint8_t reject;             /* IPS_REJECT_* of a reject rule */
	uint8_t priority;
	uint8_t to_client;          /* fired on the server's bytes: the
	                             * server is the alert's source */
	const char *msg;            /* owned by the db: valid until the worker */
	const char *classtype;      /* next reports RCU quiescence; may be NULL */
};

struct detect_result {
	uint8_t verdict;            /* strongest enum detect_verdict so far */
	uint8_t n_fired;
	uint8_t n_lost;             /* fired beyond DETECT_RESULT_MAX */
	uint8_t faults;             /* DETECT_FAULT_* since the caller last
	                             * cleared it */
	struct detect_fired fired[DETECT_RESULT_MAX];
	char url[256];
	char host[128];
	char method[16];
	char user_agent[128];
	uint8_t n_evicted;          /* set by the caller to 0 per packet */
	struct detect_evicted evicted[DETECT_EVICT_MAX];
};

/* Per-flow raw stream state, embedded in the stream stage's flow state.
 * All zero: not opened.  The Hyperscan stream and the flow's matched
 * patterns live in a slot of the worker's pool, so an idle flow costs only
 * this struct. */
struct detect_raw_slot;

struct detect_raw {
	struct detect_raw_slot *slot;   /* NULL: not open, refused or evicted */
	uint8_t opened;             /* detect_raw_open was called */
	uint8_t app_http;           /* the HTTP stage inspects the flow */
	uint8_t server;             /* the server-to-client stream */
	uint8_t fault;              /* DETECT_FAULT_* that stopped the scan:
	                             * reported for every later byte */
};

/* Per-flow tls.certs state, embedded in the stream stage's flow state.
 * While the Certificate message passes, a slot of the worker's pool holds
 * the certificate being reassembled and the rules fired on the flow. */
struct detect_tls_slot;

struct detect_tls {
	struct detect_tls_slot *slot;   /* NULL: no message in progress */
	uint8_t fault;              /* DETECT_FAULT_* for later certificates */
};

/* Bytes of one certificate held for inspection (real chains' largest,
 * with long subjectAltName lists, stay far below); a longer one is
 * inspected on this prefix and reported DETECT_FAULT_INSPECT_LIMIT. */
#define DETECT_TLS_CERT_BYTES 32768

/* Room for the first certificate's subject, issuer and serial strings
 * (tls.cert_*); names that do not fit are absent and reported
 * DETECT_FAULT_INSPECT_LIMIT. */
#define DETECT_TLS_NAMES_BYTES 8192

/* Report owner's flow as evicted (layer, event: static) in res.  Returns
 * 0, or -1 when res has no room: then the caller must evict nothing. */
static inline int
detect_report_evicted(struct detect_result *res, const void *owner,
                      const char *layer, const char *event)
{
	if (res == NULL || res->n_evicted >= DETECT_EVICT_MAX)
		return -1;
	res->evicted[res->n_evicted].owner = owner;
	res->evicted[res->n_evicted].layer = layer;
	res->evicted[res->n_evicted].event = event;
	res->n_evicted++;
	return 0;
}

/*
 * Create a worker's detection context for db.  pools->body_streams bounds
 * the transactions that can scan a body at once, raw_streams the TCP flows
 * whose raw stream is scanned at once (each holds one Hyperscan stream,
 * allocated here, never on the hot path; none when db has no rule of that
 * kind), raw_windows those holding their first DETECT_RAW_WINDOW_BYTES.
 * A full pool gives the stream of the holder that made no progress for
 * longest to the newcomer; no one source (the tuple's client) holds more
 * than source_share_pct percent of a pool (0 = no limit).  A raw stream
 * that loses its window to a newcomer is not ended: only a rule that
 * needed the window and becomes a candidate later is a fault
 * (DETECT_FAULT_RAW_POOL_FULL) for policy.detect_error.
 * Returns NULL with err set on failure (setup only).
 */
struct detect_pools {
	uint32_t body_streams;      /* requests scanning a body at once */
	uint32_t response_bodies;   /* responses scanning a body at once */
	uint32_t raw_streams;       /* TCP flow directions scanned raw */
	uint32_t raw_windows;       /* raw streams holding their window */
	uint32_t tls_handshakes;    /* TLS flows in their Certificate
	                             * message at once */
	uint32_t source_share_pct;  /* 0 = no limit */
};

/* The gateway's xbits (xbits.h) as one worker uses them: its own table
 * is `own`.  store NULL: not shared, so checks see nothing set and
 * actions keep nothing. */
struct xbits;
struct detect_xbits {
	struct xbits *store;
	unsigned own;
};

struct detect_worker *detect_worker_create(const struct ips_detect_db *db,
                                           const struct detect_pools *pools,
                                           struct worker_stats *ws,
                                           char *err, size_t errlen);
/* Let the worker's rules use the gateway's xbits, x's table `own` being
 * its own.  Thread: setup, before the worker runs. */
void detect_worker_share_xbits(struct detect_worker *dw, struct xbits *x,
                               unsigned own);
/* Free the worker's context and its current and published sets (any
 * other set is the reloader's).  Thread: setup or shut-down. */
void detect_worker_free(struct detect_worker *dw);

/*
 * Rule sets and reload (DESIGN §4).  A set is what one worker derives from
 * one db: scratch, stream pools, per-rule tables and hit counters.  The
 * service thread builds a set per worker for a new db (detect_set_create,
 * allocates, may take a while: never on a worker), publishes it
 * (detect_set_publish); the worker adopts it at its next burst
 * (detect_worker_sync, one load, never waits).  A transaction or a flow's
 * raw stream stays on the set it started on.  The old set may be freed
 * (detect_set_free) once detect_set_idle holds and then one RCU grace
 * period has passed: the grace period covers a worker still inside the
 * call that released it.
 */
/* Returns the set, or NULL with err set.  Thread: service (or setup). */
struct detect_set *detect_set_create(struct detect_worker *dw,
                                     const struct ips_detect_db *db,
                                     char *err, size_t errlen);
/* Thread: service, once the set is idle and a grace period has passed. */
void detect_set_free(struct detect_set *s);
/* Make s the set new transactions start on.  Thread: service. */
void detect_set_publish(struct detect_worker *dw, struct detect_set *s);
/* The set the worker starts transactions on now.  Thread: any. */
struct detect_set *detect_set_current(const struct detect_worker *dw);
/* 1 when s is neither current nor published and nothing in progress
 * uses it.  Once true it stays true.  Thread: service. */
int detect_set_idle(const struct detect_worker *dw, const struct detect_set *s);
/* Adopt the published set.  Thread: the worker, once per burst. */
void detect_worker_sync(struct detect_worker *dw);
const struct ips_detect_db *detect_set_db(const struct detect_set *s);
/* Times rule (index in the db's rule table) fired on this worker with
 * this set; a relaxed read of a counter only the worker writes.
 * Thread: any. */
uint64_t detect_set_hits(const struct detect_set *s, uint32_t rule);

/* Start a transaction on the current set: resets dt (which need not be
 * initialised).  Every begin is followed by one detect_txn_end or
 * detect_txn_abort: the set counts its users. */
void detect_txn_begin(struct detect_worker *dw, struct detect_txn *dt);

/* The buffers of a request line: detect_request_line scans these. */
#define DETECT_LINE_BUFFERS \
	(IPS_BUF_BIT(IPS_BUF_METHOD) | IPS_BUF_BIT(IPS_BUF_URI) | \
	 IPS_BUF_BIT(IPS_BUF_URI_RAW) | IPS_BUF_BIT(IPS_BUF_PROTOCOL) | \
	 IPS_BUF_BIT(IPS_BUF_REQUEST_LINE))

/*
 * The request line is complete but the head is still coming: scan the
 * line's buffers (http.method, http.uri, http.uri.raw, http.protocol,
 * http.request_line; bufs need hold no other) and decide the rules that
 * read only those, as Suricata does at that progress, so they need not
 * wait for headers that may never end.  At most once per transaction,
 * before detect_headers, which evaluates again those that did not fire:
 * as Suricata inspects a transaction's undecided rules with each packet,
 * a flowbit a header rule sets may make one hold.  Same return as
 * detect_headers.
 */
int detect_request_line(struct detect_worker *dw, struct detect_txn *dt,
                        const struct detect_bufs *bufs,
                        const struct detect_tuple *t,
                        struct detect_result *res);

/*
 * Scan the header-side buffers and evaluate rules that do not need the
 * body.  Appends fired rules to res.  Returns the strongest
 * enum detect_verdict fired by this call.
 */
int detect_headers(struct detect_worker *dw, struct detect_txn *dt,
                   const struct detect_bufs *bufs,
                   const struct detect_tuple *t,
                   struct detect_result *res);

/*
 * Scan the next len bytes of de-chunked request body (streaming mode) and
 * evaluate rules whose conditions are now all met.  Same return as
 * detect_headers.  A full pool gives the body stream of the transaction
 * whose body made no progress for longest to this one (or, when this
 * client's source holds its share of the pool, that source's own oldest):
 * the victim's dt->owner is added to res->evicted for the caller to end
 * its flow.  With no body stream available (nothing to evict, or no room
 * in res->evicted) the rest of the body is not scanned: detect_stream_pool_full is counted once and
 * DETECT_FAULT_BODY_POOL_FULL set in res for every piece; after a scan
 * error, DETECT_FAULT_SCAN_ERROR likewise.
 */
int detect_body(struct detect_worker *dw, struct detect_txn *dt,
                const uint8_t *data, uint32_t len,
                const struct detect_bufs *bufs,
                const struct detect_tuple *t,
                struct detect_result *res);

/* End of request body: decide negated body conditions, release the body
 * stream.  Same return as detect_headers. */
int detect_txn_end(struct detect_worker *dw, struct detect_txn *dt,
                   const struct detect_bufs *bufs,
                   const struct detect_tuple *t,
                   struct detect_result *res);

/* Release the transaction's resources without evaluating (flow gone). */
void detect_txn_abort(struct detect_worker *dw, struct detect_txn *dt);

/* Whether any rule inspects the request body (lets HTTP skip body work). */
int detect_wants_body(const struct detect_worker *dw);

/*
 * Responses (http.stat_code, http.response_body / file_data rules) are
 * transactions too, driven by the HTTP stage as the server's bytes pass:
 *   detect_response_begin -> detect_headers -> detect_body* ->
 *   detect_txn_end (or detect_txn_abort)
 * bufs holds the response's buffers (IPS_BUF_STAT_CODE); the body is
 * de-chunked and decompressed.  Only response rules are evaluated, their
 * header read server to client; the body pool is the response's
 * (pools->response_bodies).
 */
void detect_response_begin(struct detect_worker *dw, struct detect_txn *dt);

/* Whether any rule inspects responses: without one the HTTP stage need
 * not follow them beyond their framing. */
int detect_wants_response(const struct detect_worker *dw);

/* Whether any rule inspects the raw stream: without one the stream stage
 * need not call detect_raw_*.  Thread: the worker. */
int detect_wants_raw(const struct detect_worker *dw);

/* A raw stream's flags (detect_raw_open). */
#define DETECT_RAW_APP_HTTP 0x1     /* the HTTP stage inspects the flow (raw
                                     * conditions of `http` rules apply
                                     * only then) */
#define DETECT_RAW_SERVER   0x2     /* the server's bytes, not the client's */

/* Whether any raw-stream rule reads the server's bytes (to_client or no
 * direction).  Thread: the worker. */
int detect_wants_raw_server(const struct detect_worker *dw);

/*
 * Start inspecting one direction of a flow's stream: take a raw stream
 * from the worker's pool.  Call once, before that direction's first
 * byte, and only when detect_wants_raw(dw) (otherwise there is no pool).
 * flags: DETECT_RAW_*.
 *
 * A full pool gives the raw stream of the flow that made no progress for
 * longest to the newcomer (one whose source holds its share of the pool
 * takes its own oldest instead): the victim's owner is added to
 * res->evicted, for the caller to end that flow.  Without res (NULL) or
 * room in it, nothing is evicted.  t: the flow (its client is the source).
 *
 * Returns 0, or -1 when no raw stream could be had: detect_raw_pool_full
 * is counted and every later detect_raw_data on raw reports
 * DETECT_FAULT_RAW_POOL_FULL (the flow's bytes cannot all be inspected;
 * starting later would shift every offset and depth).  Thread: the worker.
 */
int detect_raw_open(struct detect_worker *dw, struct detect_raw *raw,
                    int flags, const void *owner,
                    const struct detect_tuple *t, struct detect_result *res);

/*
 * Scan the next len bytes of the flow's direction (in order, each
 * byte once) and evaluate the raw rules whose conditions are now all met
 * and whose header matches t.  Fired rules are added to res as by
 * detect_headers.  Returns the strongest enum detect_verdict fired by this
 * call.  On a Hyperscan error, DETECT_FAULT_SCAN_ERROR is set in res (and
 * for every later call: the stream state is lost); with no slot (see
 * detect_raw_open), DETECT_FAULT_RAW_POOL_FULL.  Thread: the worker.
 */
int detect_raw_data(struct detect_worker *dw, struct detect_raw *raw,
                    const uint8_t *data, uint32_t len,
                    const struct detect_tuple *t,
                    struct detect_result *res);

/* The flow is gone: return its raw stream to the pool and zero raw.  Safe
 * on a zeroed or refused raw.  Thread: the worker. */
void detect_raw_close(struct detect_worker *dw, struct detect_raw *raw);

/* Whether any rule reads the server's certificates (tls.certs,
 * tls.cert_*): without one the stream stage need not follow TLS servers.
 * Thread: the worker. */
int detect_wants_tls(const struct detect_worker *dw);

/* Whether any rule reads the client's ClientHello (tls.sni): without one
 * the stream stage need not follow TLS clients.  Thread: the worker. */
int detect_wants_tls_hello(const struct detect_worker *dw);

/*
 * A TLS flow's Certificate message begins: take a slot from the pool and
 * return its certificate buffer (*cap bytes), or NULL.  A full pool gives
 * the slot of the flow that made no progress for longest to the newcomer
 * (the victim's owner goes to res->evicted for the caller to end its
 * flow, as detect_raw_open); with none to be had, detect_tls_pool_full is
 * counted and each of this flow's certificates reports
 * DETECT_FAULT_TLS_POOL_FULL.  t: the flow, to_server orientation.
 */
uint8_t *detect_tls_begin(struct detect_worker *dw, struct detect_tls *tls,
                          const void *owner, const struct detect_tuple *t,
                          struct detect_result *res, uint32_t *cap);

/*
 * One certificate of the message, in the buffer detect_tls_begin lent
 * (der NULL: none was).  truncated: only its first len bytes were kept.
 * Scans it and evaluates the tls.certs rules.  Returns the strongest
 * enum detect_verdict fired by this call; fired rules are added to res.
 */
int detect_tls_cert(struct detect_worker *dw, struct detect_tls *tls,
                    const uint8_t *der, uint32_t len, int truncated,
                    const struct detect_tuple *t, struct detect_result *res);

/*
 * The client's ClientHello body, in the buffer detect_tls_begin lent (body
 * NULL: none was), with the same truncated and return as
 * detect_tls_cert: its server name is scanned and the tls.sni rules
 * evaluated, read client to server.  One detect_tls_begin ..
 * detect_tls_end per ClientHello, before the server's certificates.
 */
int detect_tls_hello(struct detect_worker *dw, struct detect_tls *tls,
                     const uint8_t *body, uint32_t len, int truncated,
                     const struct detect_tuple *t,
                     struct detect_result *res);

/* The message ended, or the flow did: the slot goes back to the pool.
 * Safe on a zeroed tls or one whose slot was evicted. */
void detect_tls_end(struct detect_worker *dw, struct detect_tls *tls);

/* Raw streams currently taken from the pool (for stats and tests). */
uint32_t detect_raw_in_use(const struct detect_worker *dw);

#endif /* IPS_DETECT_H */
