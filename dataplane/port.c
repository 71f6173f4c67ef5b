/*
 * port.c - port and queue setup (see port.h).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include "port.h"

/* Symmetric Toeplitz key: a repeating 0x6d5a gives the same hash for
 * (src, dst) and (dst, src), so a flow's two directions share a queue. */
static uint8_t port_sym_rss_key[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

int
port_find(const char *devargs, uint16_t *port_id)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t n = strcspn(devargs, ",");

	if (n >= sizeof(name))
		return -1;
	memcpy(name, devargs, n);
	name[n] = '\0';
	return rte_eth_dev_get_port_by_name(name, port_id) == 0 ? 0 : -1;
}

int
port_setup(uint16_t port_id, uint16_t n_rxq, uint16_t n_txq,
           struct rte_mempool *const *pools, char *err, size_t errlen)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = PORT_RX_DESC, nb_txd = PORT_TX_DESC;
	int socket = rte_eth_dev_socket_id(port_id);
	int rc;

	rc = rte_eth_dev_info_get(port_id, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %u: info: %s", port_id, rte_strerror(-rc));
		return -1;
	}
	if (n_rxq > info.max_rx_queues || n_txq > info.max_tx_queues) {
		snprintf(err, errlen, "port %u (%s): needs %u rx / %u tx queues, "
		         "has %u / %u", port_id, info.driver_name, n_rxq, n_txq,
		         info.max_rx_queues, info.max_tx_queues);
		return -1;
	}
	if (n_rxq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = port_sym_rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(port_sym_rss_key);
		/* Addresses only: a fragment has no ports, and must reach the
		 * worker that holds its flow. */
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
			RTE_ETH_RSS_IP;
	}
	/* Let the NIC check IP/TCP/UDP checksums where it can: decode drops
	 * what it reports bad (a receiver would discard it). */
	conf.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM;
	rc = rte_eth_dev_configure(port_id, n_rxq, n_txq, &conf);
	if (rc != 0) {
		snprintf(err, errlen, "port %u: configure: %s", port_id,
		         rte_strerror(-rc));
		return -1;
	}
	rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	for (uint16_t q = 0; q < n_rxq; q++) {
		rc = rte_eth_rx_queue_setup(port_id, q, nb_rxd, socket, NULL,
		                            pools[q]);
		if (rc != 0) {
			snprintf(err, errlen, "port %u: rx queue %u: %s", port_id,
			         q, rte_strerror(-rc));
			return -1;
		}
	}
	for (uint16_t q = 0; q < n_txq; q++) {
		rc = rte_eth_tx_queue_setup(port_id, q, nb_txd, socket, NULL);
		if (rc != 0) {
			snprintf(err, errlen, "port %u: tx queue %u: %s", port_id,
			         q, rte_strerror(-rc));
			return -1;
		}
	}
	rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port %u: start: %s", port_id,
		         rte_strerror(-rc));
		return -1;
	}
	rte_eth_promiscuous_enable(port_id);
	return 0;
}

int
port_rx_mode_l3(uint16_t port_id, char *err, size_t errlen)
{
	int rc;

	/* Some drivers cannot leave promiscuous mode (net_pcap, net_null):
	 * the l3 stage drops frames for other stations anyway. */
	rte_eth_promiscuous_disable(port_id);
	rc = rte_eth_allmulticast_enable(port_id);
	if (rc != 0 && rc != -ENOTSUP) {
		snprintf(err, errlen, "port %u: all-multicast: %s", port_id,
		         rte_strerror(-rc));
		return -1;
	}
	return 0;
}

void
port_close_all(void)
{
	uint16_t p;

	RTE_ETH_FOREACH_DEV(p) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
}

/*
 * Without hugepages (VMs, the replay benchmark) DPDK places each mbuf in
 * a 4 KiB page of its own so that its buffer is physically contiguous:
 * 2,368 bytes used of 4,096, and every mbuf header at the same page
 * offset, so headers compete for the same few L1/L2 sets and each mbuf
 * costs a TLB entry.  With virtual addresses as IOVA nothing needs that
 * contiguity, and the pool is packed instead; for a pool that holds a
 * preloaded capture (PORT_POOL_THP), into memory
 * of its own the kernel may back with transparent huge pages (madvise):
 * the 4 KiB pages of EAL's --no-huge memory are a shared memfd, which THP
 * does not cover unless shmem_enabled says so.  The replay benchmark then
 * reads the capture with a TLB entry per 2 MiB.
 */
#define PORT_POOL_HUGE_ALIGN (2u << 20)

static int
port_pool_can_pack(void)
{
	return !rte_eal_has_hugepages() && rte_eal_iova_mode() == RTE_IOVA_VA;
}

static void
port_pool_unmap(struct rte_mempool_memhdr *memhdr, void *opaque)
{
	munmap(opaque, memhdr->len + PORT_POOL_HUGE_ALIGN);
}

/* Populate mp from an anonymous mapping advised for huge pages.  Returns
 * 0, or -1 (the caller falls back to EAL memory). */
static int
port_pool_populate_thp(struct rte_mempool *mp)
{
	size_t len = RTE_ALIGN_CEIL((size_t)mp->size * (mp->header_size +
	                            mp->elt_size + mp->trailer_size),
	                            PORT_POOL_HUGE_ALIGN);
	uint8_t *map, *va;

	map = mmap(NULL, len + PORT_POOL_HUGE_ALIGN, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -1;
	va = RTE_PTR_ALIGN_CEIL(map, PORT_POOL_HUGE_ALIGN);
	(void)madvise(va, len, MADV_HUGEPAGE);     /* a hint: 4 KiB otherwise */
	if (rte_mempool_populate_virt(mp, (char *)va, len, len,
	                              port_pool_unmap, map) < 0 ||
	    mp->populated_size < mp->size) {
		munmap(map, len + PORT_POOL_HUGE_ALIGN);
		return -1;
	}
	return 0;
}

struct rte_mempool *
port_pool_create(const char *name, unsigned n, unsigned cache,
                 uint16_t data_room, int socket, unsigned flags)
{
	struct rte_pktmbuf_pool_private priv = {
		.mbuf_data_room_size = data_room,
	};
	struct rte_mempool *mp;
	int pack = port_pool_can_pack();
	int rc;

	if (!pack && !(flags & PORT_POOL_ONE_VA_AREA))
		return rte_pktmbuf_pool_create(name, n, cache, 0, data_room,
		                               socket);
	mp = rte_mempool_create_empty(name, n,
	                              sizeof(struct rte_mbuf) + data_room,
	                              cache, sizeof(priv), socket,
	                              RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (rc != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	if (!pack || !(flags & PORT_POOL_THP) ||
	    port_pool_populate_thp(mp) != 0) {
		rc = rte_mempool_populate_default(mp);
		if (rc < 0)
			goto fail;
	}
	/* net_af_xdp registers the pool as one UMEM from its first object */
	if ((flags & PORT_POOL_ONE_VA_AREA) && mp->nb_mem_chunks != 1) {
		rc = -ENOMEM;
		goto fail;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = -rc;
	return NULL;
}
