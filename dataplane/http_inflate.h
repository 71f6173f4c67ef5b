/*
 * http_inflate.h - decode content-coded HTTP bodies for inspection.
 *
 * Owns: the worker's pool of body decoders.  A body sent with
 * Content-Encoding gzip or deflate is inspected decoded, as libhtp decodes
 * it for Suricata (response bodies, and request bodies since Suricata
 * 7.0.16): the HTTP stage takes a decoder when such a body begins and
 * feeds it the de-chunked bytes; each decoded piece goes to detection.
 *
 * Bounds, all taken at start: n decoders per worker, each zlib's state in
 * a 48 KiB arena zlib allocates from (calloc'd: a page costs nothing until
 * a body inflates; never the heap per packet).  A body holds its decoder
 * from its first byte to its end, in hold.h order (progress: a byte): a
 * full pool takes the decoder of the body stalled longest, whose flow is
 * reported in res->evicted and reset, never the newcomer's.
 *
 * No allocation, syscall or logging per packet.  Thread: the worker.
 */
#ifndef IPS_HTTP_INFLATE_H
#define IPS_HTTP_INFLATE_H

#include <stdint.h>

#include "detect.h"
#include "stats.h"

struct http_decoders;
struct http_decoder;

/* Decoded bytes, in order; return 1 to stop decoding (a limit reached). */
typedef int (*http_decoded_fn)(void *arg, const uint8_t *p, uint32_t len);

/* n decoders (0: none: every coded body is then a fault for the caller);
 * share_pct of them per source.  NULL when out of memory (setup). */
struct http_decoders *http_decoders_create(uint32_t n, uint32_t share_pct,
                                           struct worker_stats *ws);
void http_decoders_free(struct http_decoders *pd);

/*
 * A decoder for a body coded `coding` (HTTP_RESP_CODING_GZIP or
 * _DEFLATE), held in *slot until http_decoder_put; owner is reported (in
 * res->evicted) if a newcomer takes it, and *slot is then cleared.  t: the
 * flow (its client is the source).  Returns NULL, counted, when none can
 * be had.
 */
struct http_decoder *http_decoder_take(struct http_decoders *pd,
                                       struct http_decoder **slot,
                                       unsigned coding, const void *owner,
                                       const struct detect_tuple *t,
                                       struct detect_result *res);

/*
 * Decode the next len coded bytes, handing each decoded piece to out.
 * out may give the decoder back (its transaction ended) only if it then
 * returns 1: nothing of d is touched after that.
 * What is not coded is handed out as it is, so that a wrong header hides
 * nothing: a body that does not decode from its first bytes (clear text
 * under "Content-Encoding: gzip", inspected as clear text as libhtp
 * passes it through for Suricata: its issue 6959) from its first byte,
 * and whatever follows the end of the coded stream.  Returns 0 (more may
 * follow), 1 (out asked to stop: later bytes need not be fed), or -1
 * (the bytes stopped decoding after some did: what they hold cannot be
 * told; counted as http_decode_error, a fault for the caller).  The
 * result does not depend on how the body is cut.
 */
int http_decoder_data(struct http_decoders *pd, struct http_decoder *d,
                      const uint8_t *p, uint32_t len, http_decoded_fn out,
                      void *arg);

/* Give *slot's decoder back (safe when *slot is NULL). */
void http_decoder_put(struct http_decoders *pd, struct http_decoder **slot);

/* Decoders taken now (for stats and tests). */
uint32_t http_decoders_in_use(const struct http_decoders *pd);

#endif /* IPS_HTTP_INFLATE_H */
