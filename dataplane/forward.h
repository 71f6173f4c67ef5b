/*
 * forward.h - last stage: where a clean packet leaves, and TX batching.
 *
 * Owns: the output-port decision (L2 mode: the peer port of the port it
 * came in on; replay: the private port for client-to-server packets, the
 * public port for the rest; L3 mode: the route and next hop the l3 stage
 * finds for the packet's destination, l3_output, which also writes its
 * Ethernet header), per-worker TX buffers, one per port, flushed when full
 * and once per burst, sending what the l3 stage made (ARP, ND, ICMP) or
 * released, and re-fragmenting a datagram rebuilt from IP fragments (or,
 * in L3 mode, one without DF) that is longer than the egress MTU.  A short
 * TX burst frees what the NIC did not take and counts it (drop_tx_full): a
 * worker never retries or waits.
 *
 * Thread: one fwd_worker per worker; it owns TX queue `queue` of every port.
 */
#ifndef IPS_FORWARD_H
#define IPS_FORWARD_H

#include <stdint.h>

#include "stats.h"

struct rte_mbuf;
struct rte_mempool;
struct fwd_worker;
struct l3_worker;

#define FWD_MAX_PORTS 32
#define FWD_NO_PORT UINT16_MAX
#define FWD_ROUTE_L3 (UINT16_MAX - 1)   /* L3 mode: by destination address */

struct fwd_conf {
	uint16_t n_ports;
	uint16_t queue;                 /* this worker's TX queue */
	uint16_t peer[FWD_MAX_PORTS];   /* L2 pairs: port -> port */
	uint8_t replay;                 /* route by direction, see above */
	uint16_t public_port;           /* replay */
	uint16_t private_port;          /* replay */
	uint16_t mtu[FWD_MAX_PORTS];    /* L3 MTU of each port */
	struct rte_mempool *pool;       /* fragment headers (direct) */
	struct rte_mempool *indirect;   /* fragment payloads (indirect) */
	struct l3_worker *l3;           /* L3 mode, else NULL */
};

struct fwd_worker *fwd_worker_create(const struct fwd_conf *conf,
                                     struct worker_stats *ws, int socket);
void fwd_worker_free(struct fwd_worker *fw);

/* Output port for a packet that came in on in_port; to_server: sent by
 * the client of its flow (ignored outside replay).  FWD_NO_PORT if none;
 * FWD_ROUTE_L3 in L3 mode (fwd_send routes each packet). */
uint16_t fwd_route(const struct fwd_worker *fw, uint16_t in_port,
                   int to_server);

/* Output port for a packet sent back toward the side in_port faces (a
 * reset to the client). */
uint16_t fwd_route_back(const struct fwd_worker *fw, uint16_t in_port);

/* Queue m for out_port, or route it (FWD_ROUTE_L3) (takes ownership).
 * m->l2_len must be set for IP packets: one longer than the port's MTU is
 * sent as IP fragments. */
void fwd_send(struct fwd_worker *fw, uint16_t out_port, struct rte_mbuf *m);

/* Transmit everything buffered.  Call once per burst. */
void fwd_flush(struct fwd_worker *fw);

#endif /* IPS_FORWARD_H */
