/*
 * dpdk_env.h - start a minimal EAL for unit tests that need mbufs: no
 * hugepages, no PCI, no shared config, one lcore.  Header-only so each
 * test binary stays one file.
 */
#ifndef IPS_TEST_DPDK_ENV_H
#define IPS_TEST_DPDK_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

static struct rte_mempool *test_pool;

static inline void
test_dpdk_init(unsigned n_mbufs)
{
	const char *dir = getenv("IPS_PMD_DIR");
	char plugin[512];
	char *argv[] = { "test", "--no-huge", "-m", "256", "--no-shconf",
		"--no-pci", "-l", "0", "--log-level=error", "-d", plugin, NULL };
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	snprintf(plugin, sizeof(plugin), "%s/librte_mempool_ring.so",
	         dir != NULL ? dir : "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0");
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "EAL init: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	test_pool = rte_pktmbuf_pool_create("test_pool", n_mbufs, 0, 0,
	                                    RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (test_pool == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
}

#endif /* IPS_TEST_DPDK_ENV_H */
