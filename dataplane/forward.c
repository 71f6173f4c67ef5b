/*
 * forward.c - output port choice and TX batching (see forward.h).
 */
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "forward.h"

#define FWD_BURST 32

struct fwd_txbuf {
	uint16_t n;
	struct rte_mbuf *m[FWD_BURST];
};

struct fwd_worker {
	struct fwd_conf conf;
	struct worker_stats *ws;
	struct fwd_txbuf tx[FWD_MAX_PORTS];
};

struct fwd_worker *
fwd_worker_create(const struct fwd_conf *conf, struct worker_stats *ws,
                  int socket)
{
	struct fwd_worker *fw;

	if (conf->n_ports > FWD_MAX_PORTS)
		return NULL;
	fw = rte_zmalloc_socket("fwd_worker", sizeof(*fw), 64, socket);
	if (fw == NULL)
		return NULL;
	fw->conf = *conf;
	fw->ws = ws;
	return fw;
}

void
fwd_worker_free(struct fwd_worker *fw)
{
	if (fw == NULL)
		return;
	fwd_flush(fw);
	rte_free(fw);
}

uint16_t
fwd_route(const struct fwd_worker *fw, uint16_t in_port, int to_server)
{
	if (fw->conf.replay)
		return to_server ? fw->conf.private_port : fw->conf.public_port;
	if (in_port >= fw->conf.n_ports)
		return FWD_NO_PORT;
	return fw->conf.peer[in_port];
}

uint16_t
fwd_route_back(const struct fwd_worker *fw, uint16_t in_port)
{
	return fw->conf.replay ? fw->conf.public_port : in_port;
}

static void
fwd_tx(struct fwd_worker *fw, uint16_t port)
{
	struct fwd_txbuf *b = &fw->tx[port];
	uint64_t bytes = 0;
	uint16_t sent;

	/* Sized before TX: a sent mbuf belongs to the driver and may be
	 * freed already when tx_burst returns. */
	for (uint16_t i = 0; i < b->n; i++)
		bytes += b->m[i]->pkt_len;
	sent = rte_eth_tx_burst(port, fw->conf.queue, b->m, b->n);
	if (unlikely(sent < b->n)) {
		for (uint16_t i = sent; i < b->n; i++)
			bytes -= b->m[i]->pkt_len;
		fw->ws->drop_tx_full += b->n - sent;
		rte_pktmbuf_free_bulk(&b->m[sent], b->n - sent);
	}
	fw->ws->tx_packets += sent;
	fw->ws->tx_bytes += bytes;
	b->n = 0;
}

void
fwd_send(struct fwd_worker *fw, uint16_t out_port, struct rte_mbuf *m)
{
	struct fwd_txbuf *b;

	if (unlikely(out_port >= fw->conf.n_ports)) {
		fw->ws->drop_no_route++;
		rte_pktmbuf_free(m);
		return;
	}
	b = &fw->tx[out_port];
	b->m[b->n++] = m;
	if (b->n == FWD_BURST)
		fwd_tx(fw, out_port);
}

void
fwd_flush(struct fwd_worker *fw)
{
	for (uint16_t p = 0; p < fw->conf.n_ports; p++)
		if (fw->tx[p].n > 0)
			fwd_tx(fw, p);
}
