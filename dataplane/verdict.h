/*
 * verdict.h - carry out what the earlier stages decided for a packet.
 *
 * Owns: turning fired rules into EVE alert records and anomaly bits into
 * anomaly records (pushed to the worker's ring, never written here), what
 * `reject` sends (TCP resets with sequence numbers the endpoints accept,
 * to the ends the rule's variant names; to the client, by policy or the
 * rule, an HTTP 403 block page with the alert's id instead of a reset),
 * policy.detect_error for packets detection could not inspect
 * (PKT_UNINSPECTED), and handing each emitted packet to forward or
 * freeing it.
 *
 * Entry point: verdict_apply().  Thread: one verdict_worker per worker.
 */
#ifndef IPS_VERDICT_H
#define IPS_VERDICT_H

#include <stdint.h>

#include "forward.h"
#include "pkt_ctx.h"
#include "stats.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct verdict_worker;

struct verdict_conf {
	uint8_t bypass_detect_error;    /* policy.detect_error: 1 = forward a
	                                 * PKT_UNINSPECTED packet (counted
	                                 * bypass_detect_*), 0 = drop it and
	                                 * block its flow (drop_detect_*) */
	uint8_t block_page;             /* policy.reject_client: 1 = the
	                                 * client of a rejected HTTP request
	                                 * gets a 403 page, 0 = a reset */
	uint64_t alert_id_base;         /* first alert id of this worker:
	                                 * see verdict_alert_id_base */
};

/* Alert ids of worker `worker` in a process started at unix time
 * start_s: worker in the top 8 bits, the start time above a 24-bit
 * count, so ids differ between workers and between runs. */
uint64_t verdict_alert_id_base(unsigned worker, uint64_t start_s);

/* NULL on allocation failure (setup only). */
struct ips_config;
/* This stage's settings from the config (policy.detect_error).  Cannot
 * fail. */
void verdict_conf_init(struct verdict_conf *vc, const struct ips_config *c);

struct verdict_worker *verdict_worker_create(const struct verdict_conf *conf,
                                             struct fwd_worker *fw,
                                             struct rte_mempool *pool,
                                             struct rte_ring *eve,
                                             struct worker_stats *ws,
                                             int socket);
void verdict_worker_free(struct verdict_worker *vw);

/* Log, reset, forward or drop everything ctx->emit holds.  A
 * PKT_UNINSPECTED packet is forwarded or dropped by policy.detect_error,
 * with an anomaly event naming the fault either way; when dropped, the
 * flow is blocked and every later packet of ctx->emit dropped too (the
 * server would wait forever for the missing bytes). */
void verdict_apply(struct verdict_worker *vw, struct pkt_ctx *ctx);

/* A packet no stage inspects (not IP): forward it as it is. */
void verdict_pass(struct verdict_worker *vw, struct rte_mbuf *m,
                  uint16_t in_port);

/* Raise an anomaly event outside a flow (decode layer). */
void verdict_anomaly(struct verdict_worker *vw, const struct pkt_ctx *ctx,
                     const char *layer, const char *event);

#endif /* IPS_VERDICT_H */
