/*
 * forward.c - output port choice and TX batching (see forward.h).
 */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "forward.h"
#include "l3.h"

#define FWD_BURST 32
/* A 64 KiB datagram cut at the smallest IPv6 MTU (1280) gives 52 pieces. */
#define FWD_MAX_FRAGS 64
#define FWD_MAX_L2 64

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
	if (fw->conf.l3 != NULL)
		return FWD_ROUTE_L3;
	if (fw->conf.replay)
		return to_server ? fw->conf.private_port : fw->conf.public_port;
	if (in_port >= fw->conf.n_ports)
		return FWD_NO_PORT;
	return fw->conf.peer[in_port];
}

uint16_t
fwd_route_back(const struct fwd_worker *fw, uint16_t in_port)
{
	if (fw->conf.l3 != NULL)
		return FWD_ROUTE_L3;
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

static void fwd_queue(struct fwd_worker *fw, uint16_t out_port,
                      struct rte_mbuf *m);

/*
 * Send a datagram longer than the port's MTU as fragments.  The original
 * may still be referenced by the stream (kept for overlap checks), so it
 * is never changed: a clone is cut, whose pieces point into its data.
 */
static void
fwd_send_fragmented(struct fwd_worker *fw, uint16_t out_port,
                    struct rte_mbuf *m)
{
	struct rte_mbuf *frags[FWD_MAX_FRAGS], *clone;
	uint8_t l2[FWD_MAX_L2];
	uint16_t l2_len = m->l2_len;
	int32_t n;
	int v4;

	clone = l2_len <= sizeof(l2) ? rte_pktmbuf_clone(m, fw->conf.indirect)
	                             : NULL;
	rte_pktmbuf_free(m);
	if (unlikely(clone == NULL)) {
		fw->ws->drop_refragment++;
		return;
	}
	memcpy(l2, rte_pktmbuf_mtod(clone, void *), l2_len);
	rte_pktmbuf_adj(clone, l2_len);
	v4 = (*rte_pktmbuf_mtod(clone, uint8_t *) >> 4) == 4;
	n = v4 ? rte_ipv4_fragment_packet(clone, frags, FWD_MAX_FRAGS,
	                                  fw->conf.mtu[out_port], fw->conf.pool,
	                                  fw->conf.indirect)
	       : rte_ipv6_fragment_packet(clone, frags, FWD_MAX_FRAGS,
	                                  fw->conf.mtu[out_port], fw->conf.pool,
	                                  fw->conf.indirect);
	rte_pktmbuf_free(clone);            /* the pieces hold their refs */
	if (unlikely(n <= 0)) {
		fw->ws->drop_refragment++;
		return;
	}
	fw->ws->fwd_refragmented++;
	fw->ws->fwd_fragments_added += (uint64_t)n - 1;
	for (int32_t i = 0; i < n; i++) {
		uint8_t *p = (uint8_t *)rte_pktmbuf_prepend(frags[i], l2_len);

		if (unlikely(p == NULL)) {
			rte_pktmbuf_free(frags[i]);
			continue;
		}
		memcpy(p, l2, l2_len);
		if (v4) {
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + l2_len);

			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		fwd_queue(fw, out_port, frags[i]);
	}
}

static void fwd_send_port(struct fwd_worker *fw, uint16_t out_port,
                          struct rte_mbuf *m);

/* Send what the l3 stage made or released since the last call. */
static void
fwd_take_l3(struct fwd_worker *fw)
{
	struct rte_mbuf *m[FWD_BURST];
	uint16_t port[FWD_BURST];
	unsigned n;

	while ((n = l3_take(fw->conf.l3, m, port, FWD_BURST)) > 0)
		for (unsigned i = 0; i < n; i++)
			fwd_send_port(fw, port[i], m[i]);
}

void
fwd_send(struct fwd_worker *fw, uint16_t out_port, struct rte_mbuf *m)
{
	if (out_port == FWD_ROUTE_L3 && fw->conf.l3 != NULL) {
		out_port = l3_output(fw->conf.l3, m);
		/* a probe for the next hop, perhaps */
		fwd_take_l3(fw);
		if (out_port == L3_NO_PORT)
			return;         /* held or dropped by l3 */
	}
	fwd_send_port(fw, out_port, m);
}

static void
fwd_send_port(struct fwd_worker *fw, uint16_t out_port, struct rte_mbuf *m)
{
	if (unlikely(out_port >= fw->conf.n_ports)) {
		fw->ws->drop_no_route++;
		rte_pktmbuf_free(m);
		return;
	}
	if (unlikely(m->pkt_len > (uint32_t)m->l2_len + fw->conf.mtu[out_port]) &&
	    m->l2_len != 0) {
		fwd_send_fragmented(fw, out_port, m);
		return;
	}
	fwd_queue(fw, out_port, m);
}

static void
fwd_queue(struct fwd_worker *fw, uint16_t out_port, struct rte_mbuf *m)
{
	struct fwd_txbuf *b = &fw->tx[out_port];

	b->m[b->n++] = m;
	if (b->n == FWD_BURST)
		fwd_tx(fw, out_port);
}

void
fwd_flush(struct fwd_worker *fw)
{
	if (fw->conf.l3 != NULL)
		fwd_take_l3(fw);
	for (uint16_t p = 0; p < fw->conf.n_ports; p++)
		if (fw->tx[p].n > 0)
			fwd_tx(fw, p);
}
