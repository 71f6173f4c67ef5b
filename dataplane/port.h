/*
 * port.h - bring DPDK ports up: queues, RSS, mempools.
 *
 * Owns: port configuration from the config's devargs (one RX and one TX
 * queue per worker on every port), symmetric RSS where the NIC has it (so
 * both directions of a flow reach the same worker), and the per-worker
 * mbuf pools.  Setup only: errors are returned with a message, the caller
 * exits.
 */
#ifndef IPS_PORT_H
#define IPS_PORT_H

#include <stddef.h>
#include <stdint.h>

struct rte_mempool;

#define PORT_RX_DESC 1024
#define PORT_TX_DESC 1024

/* Find the ethdev probed for devargs ("net_pcap0,rx_pcap=..." or a PCI
 * address).  Returns 0 with *port_id set, or -1. */
int port_find(const char *devargs, uint16_t *port_id);

/*
 * Configure port with n_rxq RX queues (queue q takes mbufs from pools[q])
 * and n_txq TX queues, then start it.  n_rxq may be 0 for a TX-only port.
 * Returns 0, or -1 with the reason in err.
 */
int port_setup(uint16_t port_id, uint16_t n_rxq, uint16_t n_txq,
               struct rte_mempool *const *pools, char *err, size_t errlen);

/* port_pool_create's flags. */
/* The objects must be packed back to back in one virtually contiguous
 * area, which net_af_xdp needs: it registers the pool with the kernel as
 * one UMEM of populated_size x object size bytes from its first object, so
 * a default pool (each buffer inside a page of its own without hugepages)
 * spreads past that area and the kernel drops the frames there.  Only for
 * ports that do not DMA by physical address. */
#define PORT_POOL_ONE_VA_AREA 0x1u
/* The pool will hold a preloaded capture: without hugepages, ask the
 * kernel for transparent huge pages.  Not by default: khugepaged fills a
 * whole 2 MiB around any touched page, so the resident size of a live
 * gateway's pool would grow with uptime rather than with use. */
#define PORT_POOL_THP         0x2u

/* A packet pool of n mbufs with data_room bytes each (see port.c for
 * the layout without hugepages).  NULL with rte_errno set. */
struct rte_mempool *port_pool_create(const char *name, unsigned n,
                                     unsigned cache, uint16_t data_room,
                                     int socket, unsigned flags);

/* L3 mode: receive frames for the port's own MAC, broadcast and every
 * multicast group (IPv6 neighbor discovery), not every frame on the link
 * as port_setup's promiscuous mode does for a bump in the wire.  Returns
 * 0, or -1 with the reason in err. */
int port_rx_mode_l3(uint16_t port_id, char *err, size_t errlen);

/* Stop and close every port (flushes pcap writers). */
void port_close_all(void);

#endif /* IPS_PORT_H */
