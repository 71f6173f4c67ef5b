/*
 * test_l3.c - unit tests for dataplane/l3.c: the ARP and ND parsers, the
 * incremental TTL checksum, and the stage on two net_null ports: ARP and
 * ND answered, next hops resolved (packets held, then released with the
 * right MAC), a reply reaching another worker, give-up with ICMP host
 * unreachable, the pod/service filter, TTL expiry with a rate-limited
 * ICMP error, echo replies, a bounded table that evicts the least
 * recently confirmed entry and never a static one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "config.h"
#include "decode.h"
#include "l3.h"
#include "pkt_ctx.h"

static struct rte_mempool *test_pool;
static uint16_t test_pub, test_priv;
static struct rte_ether_addr test_pub_mac, test_priv_mac;

static const uint8_t CLIENT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t ROUTER_MAC[6] = { 0x02, 0, 0, 0, 0, 0x03 };
static const uint8_t NODE_MAC[6] = { 0x02, 0, 0, 0, 0, 0x12 };
static const uint8_t STATIC_MAC[6] = { 0x02, 0, 0, 0, 0, 0x13 };

/* pub 198.51.100.1/28 (router .2), priv 198.51.100.17/28 (node .18,
 * static .19); pods 203.0.113.0/24 behind the node; clients anywhere via
 * the router. */
static const char test_conf[] =
	"mode = \"l3\";\n"
	"ports = (\n"
	"  { name = \"pub\"; devargs = \"net_null0\"; role = \"public\";\n"
	"    addresses = [ \"198.51.100.1/28\", \"2001:db8:1::1/64\" ]; },\n"
	"  { name = \"priv\"; devargs = \"net_null1\"; role = \"private\";\n"
	"    addresses = [ \"198.51.100.17/28\", \"2001:db8:2::1/64\" ]; } );\n"
	"l3 = {\n"
	"  pod_subnets = [ \"203.0.113.0/24\", \"2001:db8:a::/64\" ];\n"
	"  service_ports = [ 80 ];\n"
	"  routes = (\n"
	"    { to = \"203.0.113.0/24\"; via = \"198.51.100.18\"; },\n"
	"    { to = \"2001:db8:a::/64\"; via = \"2001:db8:2::2\"; },\n"
	"    { to = \"0.0.0.0/0\"; via = \"198.51.100.2\"; },\n"
	"    { to = \"::/0\"; via = \"2001:db8:1::2\"; } );\n"
	"  neighbors = ( { ip = \"198.51.100.19\"; mac = \"02:00:00:00:00:13\"; } );\n"
	"  neighbor_table = %u; icmp_rate = %u;\n"
	"};\n";

/* ---- environment ------------------------------------------------------------ */

static void
test_env_init(void)
{
	const char *dir = getenv("IPS_PMD_DIR");
	char ring[512], null[512];
	/* each rte_lpm is 64 MiB */
	char *argv[] = { "test_l3", "--no-huge", "-m", "512", "--no-shconf",
		"--no-pci", "-l", "0", "--log-level=error", "-d", ring, "-d",
		null, "--vdev=net_null0", "--vdev=net_null1", NULL };
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	if (dir == NULL)
		dir = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0";
	snprintf(ring, sizeof(ring), "%s/librte_mempool_ring.so", dir);
	snprintf(null, sizeof(null), "%s/librte_net_null.so", dir);
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "EAL init: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	test_pool = rte_pktmbuf_pool_create("test_pool", 4096, 0, 0,
	                                    RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (test_pool == NULL ||
	    rte_eth_dev_get_port_by_name("net_null0", &test_pub) != 0 ||
	    rte_eth_dev_get_port_by_name("net_null1", &test_priv) != 0) {
		fprintf(stderr, "no pool or no net_null ports\n");
		exit(1);
	}
	rte_eth_macaddr_get(test_pub, &test_pub_mac);
	rte_eth_macaddr_get(test_priv, &test_priv_mac);
}

/* One l3 setup: routes, n workers, their counters. */
struct test_l3 {
	struct ips_config c;
	struct l3_routes *r;
	struct l3_worker *w[2];
	struct worker_stats ws[2];
	uint64_t now;
};

static void
test_l3_up(struct test_l3 *t, unsigned n_workers, unsigned table,
           unsigned icmp_rate)
{
	char text[4096], err[512];
	uint16_t ids[2] = { test_pub, test_priv };

	memset(t, 0, sizeof(*t));
	snprintf(text, sizeof(text), test_conf, table, icmp_rate);
	config_defaults(&t->c);
	if (config_load_string(&t->c, text, "t.conf", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	t->r = l3_routes_create(&t->c, ids, n_workers, err, sizeof(err));
	if (t->r == NULL)
		fail_msg("%s", err);
	for (unsigned i = 0; i < n_workers; i++) {
		t->w[i] = l3_worker_create(t->r, i, test_pool, &t->ws[i], 0, err,
		                           sizeof(err));
		if (t->w[i] == NULL)
			fail_msg("%s", err);
	}
	t->now = rte_rdtsc();
}

static void
test_l3_down(struct test_l3 *t)
{
	for (unsigned i = 0; i < 2; i++)
		l3_worker_free(t->w[i]);
	l3_routes_free(t->r);
	config_free(&t->c);
}

/* ---- frames ------------------------------------------------------------------ */

static struct rte_mbuf *
test_frame(const uint8_t *bytes, uint32_t len, uint16_t port)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(test_pool);

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), bytes, len);
	m->port = port;
	return m;
}

static uint32_t
test_eth(uint8_t *f, const void *dst, const void *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

static struct rte_mbuf *
test_arp(uint16_t op, const uint8_t *dst_mac, const uint8_t sha[6],
         const uint8_t spa[4], const uint8_t tpa[4], uint16_t port)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[60] = { 0 };          /* padded to the Ethernet minimum */
	uint32_t o = test_eth(f, dst_mac ? dst_mac : bcast, sha, 0x0806);

	f[o + 1] = 1;
	f[o + 2] = 0x08;
	f[o + 4] = 6;
	f[o + 5] = 4;
	f[o + 7] = (uint8_t)op;
	memcpy(f + o + 8, sha, 6);
	memcpy(f + o + 14, spa, 4);
	memcpy(f + o + 24, tpa, 4);
	return test_frame(f, sizeof(f), port);
}

/* An IPv4 TCP segment (no payload) with valid checksums. */
static struct rte_mbuf *
test_tcp4(const void *dst_mac, const uint8_t src[4], const uint8_t dst[4],
          uint8_t ttl, uint16_t sport, uint16_t dport, uint16_t port)
{
	uint8_t f[14 + 20 + 20] = { 0 };
	uint32_t o = test_eth(f, dst_mac, CLIENT_MAC, 0x0800);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + o);
	uint8_t *tcp = f + o + 20;
	uint16_t sum;

	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(40);
	ip->fragment_offset = rte_cpu_to_be_16(0x4000);   /* DF */
	ip->time_to_live = ttl;
	ip->next_proto_id = IPPROTO_TCP;
	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[12] = 5 << 4;
	tcp[13] = 0x02;                 /* SYN */
	sum = rte_ipv4_udptcp_cksum(ip, tcp);
	memcpy(tcp + 16, &sum, 2);
	return test_frame(f, sizeof(f), port);
}

static struct rte_mbuf *
test_icmp4(const void *dst_mac, const uint8_t src[4], const uint8_t dst[4],
           uint8_t type, uint8_t ttl, uint16_t port)
{
	uint8_t f[14 + 20 + 16] = { 0 };
	uint32_t o = test_eth(f, dst_mac, CLIENT_MAC, 0x0800);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + o);
	uint8_t *icmp = f + o + 20;
	uint16_t sum;

	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(36);
	ip->time_to_live = ttl;
	ip->next_proto_id = IPPROTO_ICMP;
	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp[0] = type;
	icmp[4] = 0x12;                 /* id */
	icmp[7] = 7;                    /* seq */
	memcpy(icmp + 8, "pingdata", 8);
	sum = (uint16_t)~rte_raw_cksum(icmp, 16);
	memcpy(icmp + 2, &sum, 2);
	return test_frame(f, sizeof(f), port);
}

static uint16_t
test_icmp6_csum(const uint8_t *ip, const uint8_t *msg, uint32_t len)
{
	uint8_t ph[40] = { 0 };
	uint32_t sum;

	memcpy(ph, ip + 8, 32);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[39] = 58;
	sum = __rte_raw_cksum(ph, 40, 0);
	sum = __rte_raw_cksum(msg, len, sum);
	return (uint16_t)~__rte_raw_cksum_reduce(sum);
}

/* A neighbor solicitation or advertisement: type, target, option (SLLA
 * for NS, TLLA for NA; opt_len 0 = none), hop limit. */
static uint32_t
test_nd_bytes(uint8_t *f, uint8_t type, const uint8_t src[16],
              const uint8_t dst[16], const uint8_t target[16],
              const uint8_t *lla, uint8_t opt_len, uint8_t hop)
{
	static const uint8_t mc[6] = { 0x33, 0x33, 0xff, 0, 0, 1 };
	uint32_t o = test_eth(f, mc, CLIENT_MAC, 0x86dd);
	uint8_t *ip = f + o, *icmp = ip + 40;
	uint32_t mlen = 24 + (lla != NULL ? 8u : 0u);
	uint16_t sum;

	memset(ip, 0, 40 + mlen);
	ip[0] = 0x60;
	ip[5] = (uint8_t)mlen;
	ip[6] = 58;
	ip[7] = hop;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	icmp[0] = type;
	if (type == L3_ND_NA)
		icmp[4] = 0x60;         /* solicited, override */
	memcpy(icmp + 8, target, 16);
	if (lla != NULL) {
		icmp[24] = type == L3_ND_NS ? 1 : 2;
		icmp[25] = opt_len;
		memcpy(icmp + 26, lla, 6);
	}
	sum = test_icmp6_csum(ip, icmp, mlen);
	memcpy(icmp + 2, &sum, 2);
	return o + 40 + mlen;
}

/* decode's view of m, as the worker hands it to l3_input */
static void
test_decode(struct rte_mbuf *m, struct pkt_meta *pm)
{
	static struct worker_stats ws;
	int frag, rc;

	rc = decode_parse(rte_pktmbuf_mtod(m, const uint8_t *),
	                  rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), pm,
	                  &frag, &ws);
	assert_true(rc == DECODE_OK || rc == DECODE_NOT_IP);
	m->l2_len = 0;
}

static int
test_input(struct test_l3 *t, unsigned w, struct rte_mbuf *m, uint16_t port)
{
	struct pkt_meta pm;
	int rc;

	test_decode(m, &pm);
	rc = l3_input(t->w[w], m, &pm, port, port == test_pub ?
	              PKT_SIDE_PUBLIC : PKT_SIDE_PRIVATE, t->now);
	if (rc == L3_DROP)
		rte_pktmbuf_free(m);
	return rc;
}

/* Everything worker w made or released, freed; how many. */
static unsigned
test_take_all(struct test_l3 *t, unsigned w, struct rte_mbuf **keep,
              uint16_t *port, unsigned max)
{
	struct rte_mbuf *m[L3_OUTBOX];
	uint16_t p[L3_OUTBOX];
	unsigned n = l3_take(t->w[w], m, p, L3_OUTBOX);

	for (unsigned i = 0; i < n; i++) {
		if (i < max) {
			keep[i] = m[i];
			port[i] = p[i];
		} else {
			rte_pktmbuf_free(m[i]);
		}
	}
	return n;
}

static void
test_free_n(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static const uint8_t *
test_data(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const uint8_t *);
}

/* The router asks for the gateway's public address: both learn each
 * other (errors to clients go through it); the reply is freed. */
static void
test_know_router(struct test_l3 *t)
{
	const uint8_t router[4] = { 198, 51, 100, 2 };
	const uint8_t gw[4] = { 198, 51, 100, 1 };
	struct rte_mbuf *out[8];
	uint16_t port[8];

	assert_int_equal(test_input(t, 0, test_arp(1, NULL, ROUTER_MAC, router,
	                                            gw, test_pub), test_pub),
	                 L3_CONSUMED);
	assert_int_equal(test_take_all(t, 0, out, port, 8), 1);
	test_free_n(out, 1);
}

/* ---- pure parts ------------------------------------------------------------------ */

/* The incremental update equals a full recomputation, for every TTL and
 * a spread of headers (including the checksum's 0x0000/0xffff edges). */
static void
test_ttl_checksum(void **state)
{
	struct rte_ipv4_hdr h;

	(void)state;
	srand(7);
	for (int i = 0; i < 200000; i++) {
		uint16_t inc;

		memset(&h, 0, sizeof(h));
		h.version_ihl = 0x45;
		h.total_length = (uint16_t)rand();
		h.packet_id = (uint16_t)rand();
		h.time_to_live = (uint8_t)(2 + rand() % 254);
		h.next_proto_id = (uint8_t)rand();
		h.src_addr = (uint32_t)rand();
		h.dst_addr = (uint32_t)rand();
		h.hdr_checksum = rte_ipv4_cksum(&h);
		inc = l3_ttl_csum_update(h.hdr_checksum);
		h.time_to_live--;
		h.hdr_checksum = 0;
		/* 0x0000 and 0xffff are the same one's complement number */
		if (inc != rte_ipv4_cksum(&h) &&
		    !((inc == 0 || inc == 0xffff) &&
		      (rte_ipv4_cksum(&h) == 0 || rte_ipv4_cksum(&h) == 0xffff)))
			fail_msg("ttl %u: incremental %04x, full %04x",
			         h.time_to_live + 1, inc, rte_ipv4_cksum(&h));
		h.hdr_checksum = inc;
		assert_int_equal(rte_ipv4_cksum(&h) == 0 ||
		                 rte_ipv4_cksum(&h) == 0xffff, 1);
	}
}

static void
test_parse_arp(void **state)
{
	const uint8_t spa[4] = { 198, 51, 100, 2 }, tpa[4] = { 198, 51, 100, 1 };
	struct rte_mbuf *m = test_arp(1, NULL, ROUTER_MAC, spa, tpa, 0);
	uint8_t f[64];
	struct l3_arp a;

	(void)state;
	memcpy(f, test_data(m), 60);
	assert_int_equal(l3_parse_arp(f, 60, 14, &a), 0);
	assert_int_equal(a.op, 1);
	assert_memory_equal(a.sha, ROUTER_MAC, 6);
	assert_memory_equal(a.tpa, tpa, 4);
	assert_int_equal(l3_parse_arp(f, 41, 14, &a), -1);     /* truncated */
	assert_int_equal(l3_parse_arp(f, 60, 61, &a), -1);     /* past end */
	f[14 + 7] = 3;                                          /* RARP op */
	assert_int_equal(l3_parse_arp(f, 60, 14, &a), -1);
	f[14 + 7] = 2;
	f[14 + 4] = 8;                                          /* hlen */
	assert_int_equal(l3_parse_arp(f, 60, 14, &a), -1);
	f[14 + 4] = 6;
	f[14 + 8] = 0x01;                                       /* group sha */
	assert_int_equal(l3_parse_arp(f, 60, 14, &a), -1);
	f[14 + 8] = 0x02;
	f[12] = 0x08;
	f[13] = 0x00;                                           /* not ARP */
	assert_int_equal(l3_parse_arp(f, 60, 14, &a), -1);
	rte_pktmbuf_free(m);
}

/* l3_parse_nd of an ND message built by test_nd_bytes, as the worker
 * would call it (after decode). */
static int
test_nd_parse(uint8_t type, const uint8_t *src, const uint8_t *dst,
              const uint8_t *tgt, const uint8_t *lla, uint8_t opt_len,
              uint8_t hop, struct l3_nd *nd)
{
	struct pkt_meta pm;
	struct rte_mbuf *m;
	uint8_t f[128];
	uint32_t n;
	int rc;

	n = test_nd_bytes(f, type, src, dst, tgt, lla, opt_len, hop);
	m = test_frame(f, n, 0);
	test_decode(m, &pm);
	rc = l3_parse_nd(f, n, &pm, nd);
	if (rc == 0) {
		/* one byte short, or one bit off the checksum: refused */
		assert_int_equal(l3_parse_nd(f, n - 1, &pm, nd), -1);
		f[n - 1] ^= 1;
		assert_int_equal(l3_parse_nd(f, n, &pm, nd), -1);
		f[n - 1] ^= 1;
		rc = l3_parse_nd(f, n, &pm, nd);
	}
	rte_pktmbuf_free(m);
	return rc;
}

static void
test_parse_nd(void **state)
{
	uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };
	uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 1 };
	uint8_t tgt[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 };
	uint8_t zero[16] = { 0 };
	struct l3_nd nd;

	(void)state;
	assert_int_equal(test_nd_parse(L3_ND_NS, src, dst, tgt, CLIENT_MAC, 1,
	                               255, &nd), 0);
	assert_int_equal(nd.type, L3_ND_NS);
	assert_int_equal(nd.has_lla, 1);
	assert_memory_equal(nd.lla, CLIENT_MAC, 6);
	assert_memory_equal(nd.target, tgt, 16);
	/* hop limit below 255: routed, so forged (RFC 4861 7.1.1) */
	assert_int_equal(test_nd_parse(L3_ND_NS, src, dst, tgt, CLIENT_MAC, 1,
	                               64, &nd), -1);
	/* an option of length 0 would loop forever */
	assert_int_equal(test_nd_parse(L3_ND_NS, src, dst, tgt, CLIENT_MAC, 0,
	                               255, &nd), -1);
	/* an option longer than the message */
	assert_int_equal(test_nd_parse(L3_ND_NS, src, dst, tgt, CLIENT_MAC, 2,
	                               255, &nd), -1);
	/* DAD: from ::, with a source address option: invalid */
	assert_int_equal(test_nd_parse(L3_ND_NS, zero, dst, tgt, CLIENT_MAC, 1,
	                               255, &nd), -1);
	/* NA without an option: valid, no MAC learned from it */
	assert_int_equal(test_nd_parse(L3_ND_NA, src, tgt, src, NULL, 0, 255,
	                               &nd), 0);
	assert_int_equal(nd.type, L3_ND_NA);
	assert_int_equal(nd.has_lla, 0);
	/* multicast target */
	tgt[0] = 0xff;
	assert_int_equal(test_nd_parse(L3_ND_NA, src, dst, tgt, CLIENT_MAC, 1,
	                               255, &nd), -1);
}

/* ---- the stage --------------------------------------------------------------------- */

/* An ARP request for the gateway's address is answered in place; one
 * for another station is absorbed; both teach the sender's MAC only when
 * it asked for us. */
static void
test_arp_responder(void **state)
{
	const uint8_t router[4] = { 198, 51, 100, 2 };
	const uint8_t gw[4] = { 198, 51, 100, 1 }, other[4] = { 198, 51, 100, 9 };
	struct rte_mbuf *out[8];
	uint16_t port[8];
	struct test_l3 t;
	const uint8_t *f;

	(void)state;
	test_l3_up(&t, 1, 64, 100);
	assert_int_equal(test_input(&t, 0, test_arp(1, NULL, ROUTER_MAC, router,
	                                             other, test_pub), test_pub),
	                 L3_CONSUMED);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 0);
	assert_int_equal(test_input(&t, 0, test_arp(1, NULL, ROUTER_MAC, router,
	                                             gw, test_pub), test_pub),
	                 L3_CONSUMED);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 1);
	assert_int_equal(port[0], test_pub);
	f = test_data(out[0]);
	assert_int_equal(rte_pktmbuf_pkt_len(out[0]), 60);     /* padded */
	for (unsigned i = 42; i < 60; i++)
		assert_int_equal(test_data(out[0])[i], 0);
	assert_memory_equal(f, ROUTER_MAC, 6);
	assert_memory_equal(f + 6, &test_pub_mac, 6);
	assert_int_equal(f[14 + 7], 2);                         /* reply */
	assert_memory_equal(f + 14 + 8, &test_pub_mac, 6);
	assert_memory_equal(f + 14 + 14, gw, 4);
	assert_memory_equal(f + 14 + 18, ROUTER_MAC, 6);
	assert_memory_equal(f + 14 + 24, router, 4);
	test_free_n(out, 1);
	assert_int_equal(t.ws[0].l3_local, 2);
	assert_int_equal(t.ws[0].l3_arp_replies_sent, 1);
	assert_int_equal(t.ws[0].l3_neigh_learned, 1);
	/* the same request on the private port is not for that link */
	assert_int_equal(test_input(&t, 0, test_arp(1, NULL, ROUTER_MAC, router,
	                                             gw, test_priv), test_priv),
	                 L3_CONSUMED);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 0);
	test_l3_down(&t);
}

/* A SYN to a pod: the node's MAC is unknown, so an ARP request goes out
 * and the SYN waits; the reply releases it with the node's MAC. */
static void
test_resolve_and_release(void **state)
{
	const uint8_t cli[4] = { 192, 0, 2, 10 }, pod[4] = { 203, 0, 113, 10 };
	const uint8_t node[4] = { 198, 51, 100, 18 }, gw[4] = { 198, 51, 100, 17 };
	struct rte_mbuf *out[8], *syn;
	uint16_t port[8];
	struct test_l3 t;
	const uint8_t *f;

	(void)state;
	test_l3_up(&t, 1, 64, 100);
	syn = test_tcp4(&test_pub_mac, cli, pod, 64, 40000, 80, test_pub);
	assert_int_equal(test_input(&t, 0, syn, test_pub), L3_TRANSIT);
	assert_int_equal(test_data(syn)[14 + 8], 63);           /* TTL - 1 */
	assert_int_equal(rte_ipv4_cksum(rte_pktmbuf_mtod_offset(syn,
	                 struct rte_ipv4_hdr *, 14)) == 0xffff ||
	                 rte_ipv4_cksum(rte_pktmbuf_mtod_offset(syn,
	                 struct rte_ipv4_hdr *, 14)) == 0, 1);
	assert_int_equal(l3_output(t.w[0], syn), L3_NO_PORT);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 1);
	f = test_data(out[0]);
	assert_int_equal(port[0], test_priv);
	assert_int_equal(f[12], 0x08);
	assert_int_equal(f[13], 0x06);
	assert_int_equal(f[14 + 7], 1);                         /* request */
	assert_memory_equal(f + 14 + 14, gw, 4);                /* from priv */
	assert_memory_equal(f + 14 + 24, node, 4);
	test_free_n(out, 1);
	assert_int_equal(t.ws[0].l3_held, 1);

	assert_int_equal(test_input(&t, 0, test_arp(2, test_priv_mac.addr_bytes,
	                                             NODE_MAC, node, gw, test_priv),
	                            test_priv), L3_CONSUMED);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 1);
	assert_ptr_equal(out[0], syn);
	assert_int_equal(port[0], test_priv);
	assert_memory_equal(test_data(syn), NODE_MAC, 6);
	assert_memory_equal(test_data(syn) + 6, &test_priv_mac, 6);
	test_free_n(out, 1);
	/* now known: straight out */
	syn = test_tcp4(&test_pub_mac, cli, pod, 64, 40001, 80, test_pub);
	assert_int_equal(test_input(&t, 0, syn, test_pub), L3_TRANSIT);
	assert_int_equal(l3_output(t.w[0], syn), test_priv);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 0);
	rte_pktmbuf_free(syn);
	test_l3_down(&t);
}

/* Worker 0 asks; the reply reaches worker 1's queue.  Worker 1 learns it
 * (it is addressed to the gateway) and tells worker 0, whose held packet
 * then leaves.  A reply to someone else teaches nobody. */
static void
test_reply_on_other_worker(void **state)
{
	const uint8_t cli[4] = { 192, 0, 2, 10 }, pod[4] = { 203, 0, 113, 10 };
	const uint8_t node[4] = { 198, 51, 100, 18 }, gw[4] = { 198, 51, 100, 17 };
	const uint8_t other[4] = { 198, 51, 100, 30 };
	struct rte_mbuf *out[8], *syn;
	uint16_t port[8];
	struct test_l3 t;

	(void)state;
	test_l3_up(&t, 2, 64, 100);
	syn = test_tcp4(&test_pub_mac, cli, pod, 64, 40000, 80, test_pub);
	assert_int_equal(test_input(&t, 0, syn, test_pub), L3_TRANSIT);
	assert_int_equal(l3_output(t.w[0], syn), L3_NO_PORT);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 1);    /* ARP */
	test_free_n(out, 1);
	assert_int_equal(test_input(&t, 1, test_arp(2, test_priv_mac.addr_bytes,
	                                             NODE_MAC, node, other,
	                                             test_priv), test_priv),
	                 L3_CONSUMED);
	assert_int_equal(t.ws[1].l3_neigh_learned, 0);
	l3_poll(t.w[0], t.now);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 0);    /* held */
	assert_int_equal(test_input(&t, 1, test_arp(2, test_priv_mac.addr_bytes,
	                                             NODE_MAC, node, gw, test_priv),
	                            test_priv), L3_CONSUMED);
	assert_int_equal(t.ws[1].l3_neigh_learned, 1);
	assert_int_equal(test_take_all(&t, 1, out, port, 8), 0);
	l3_poll(t.w[0], t.now);
	assert_int_equal(test_take_all(&t, 0, out, port, 8), 1);
	assert_ptr_equal(out[0], syn);
	assert_int_equal(port[0], test_priv);
	assert_memory_equal(test_data(syn), NODE_MAC, 6);
	test_free_n(out, 1);
	assert_int_equal(t.ws[0].l3_neigh_news_lost + t.ws[1].l3_neigh_news_lost, 0);
	test_l3_down(&t);
}

/* No answer: three requests a second apart, then the held packet is
 * dropped (counted) and its sender gets ICMP host unreachable. */
static void
test_resolve_gives_up(void **state)
{
	const uint8_t cli[4] = { 192, 0, 2, 10 }, pod[4] = { 203, 0, 113, 10 };
	struct rte_mbuf *out[8], *syn;
	uint16_t port[8];
	struct test_l3 t;
	uint64_t hz = rte_get_tsc_hz();
	unsigned arp = 0, icmp = 0;

	(void)state;
	test_l3_up(&t, 1, 64, 100);
	test_know_router(&t);   /* for the ICMP back to the client */
	syn = test_tcp4(&test_pub_mac, cli, pod, 64, 40000, 80, test_pub);
	assert_int_equal(test_input(&t, 0, syn, test_pub), L3_TRANSIT);
	assert_int_equal(l3_output(t.w[0], syn), L3_NO_PORT);
	for (unsigned s = 0; s <= 4; s++) {
		unsigned n;

		l3_poll(t.w[0], t.now + s * hz + hz / 100);
		n = test_take_all(&t, 0, out, port, 8);
		for (unsigned i = 0; i < n; i++) {
			const uint8_t *f = test_data(out[i]);

			if (f[12] == 0x08 && f[13] == 0x06)
				arp++;
			if (f[12] == 0x08 && f[13] == 0 && f[14 + 9] == 1) {
				icmp++;
				assert_int_equal(f[14 + 20], 3);        /* unreachable */
				assert_int_equal(f[14 + 21], 1);        /* host */
				assert_memory_equal(f + 14 + 16, cli, 4);
				assert_memory_equal(f, ROUTER_MAC, 6);
				/* the quote starts with the SYN's IP header */
				assert_memory_equal(f + 14 + 28 + 16, pod, 4);
			}
		}
		test_free_n(out, RTE_MIN(n, 8u));
	}
	assert_int_equal(arp, 3);
	assert_int_equal(icmp, 1);
	assert_int_equal(t.ws[0].drop_l3_neigh_unresolved, 1);
	/* held down: the next packet is dropped at once, no new request */
	t.now += 4 * hz + hz / 100;
	syn = test_tcp4(&test_pub_mac, cli, pod, 64, 40001, 80, test_pub);
	assert_int_equal(test_input(&t, 0, syn, test_pub), L3_TRANSIT);
	assert_int_equal(l3_output(t.w[0], syn), L3_NO_PORT);
	assert_int_equal(t.ws[0].drop_l3_neigh_unresolved, 2);
	test_l3_down(&t);
}

/* Not an open router: every way out of the pod subnets and service
 * ports is dropped and counted. */
static void
test_transit_filter(void **state)
{
	const uint8_t cli[4] = { 192, 0, 2, 10 }, pod[4] = { 203, 0, 113, 10 };
	const uint8_t node[4] = { 198, 51, 100, 18 }, web[4] = { 192, 0, 2, 99 };
	struct test_l3 t;
	struct rte_mbuf *m;

	(void)state;
	test_l3_up(&t, 1, 64, 100);
	/* public: not a pod (the node itself, and the internet) */
	m = test_tcp4(&test_pub_mac, cli, node, 64, 40000, 80, test_pub);
	assert_int_equal(test_input(&t, 0, m, test_pub), L3_DROP);
	m = test_tcp4(&test_pub_mac, cli, web, 64, 40000, 80, test_pub);
	assert_int_equal(test_input(&t, 0, m, test_pub), L3_DROP);
	assert_int_equal(t.ws[0].drop_l3_not_pod, 2);
	/* public: a pod, not a service port */
	m = test_tcp4(&test_pub_mac, cli, pod, 64, 40000, 22, test_pub);
	assert_int_equal(test_input(&t, 0, m, test_pub), L3_DROP);
	assert_int_equal(t.ws[0].drop_l3_port_closed, 1);
	/* private: a pod answering from port 80 goes; from 22 not; a non-pod
	 * source is spoofed; a pod to the internet on its own is not an
	 * answer */
	m = test_tcp4(&test_priv_mac, pod, cli, 64, 80, 40000, test_priv);
	assert_int_equal(test_input(&t, 0, m, test_priv), L3_TRANSIT);
	rte_pktmbuf_free(m);
	m = test_tcp4(&test_priv_mac, pod, cli, 64, 22, 40000, test_priv);
	assert_int_equal(test_input(&t, 0, m, test_priv), L3_DROP);
	m = test_tcp4(&test_priv_mac, node, cli, 64, 80, 40000, test_priv);
	assert_int_equal(test_input(&t, 0, m, test_priv), L3_DROP);
	m = test_tcp4(&test_priv_mac, pod, pod, 64, 80, 40000, test_priv);
	assert_int_equal(test_input(&t, 0, m, test_priv), L3_DROP);
	assert_int_equal(t.ws[0].drop_l3_port_closed, 2);
	assert_int_equal(t.ws[0].drop_l3_spoofed, 1);
	assert_int_equal(t.ws[0].drop_l3_not_pod, 3);
	/* a frame for another station's MAC is not ours to route */
	m = test_tcp4(ROUTER_MAC, cli, pod, 64, 40000, 80, test_pub);
	assert_int_equal(test_input(&t, 0, m, test_pub), L3_DROP);
	assert_int_equal(t.ws[0].drop_l3_foreign_mac, 1);
	/* TCP to the gateway's own address: nothing listens */
	m = test_tcp4(&test_pub_mac, cli, (const uint8_t[]){ 198, 51, 100, 1 },
	              64, 40000, 80, test_pub);
	assert_int_equal(test_input(&t, 0, m, test_pub), L3_DROP);
	assert_int_equal(t.ws[0].drop_l3_to_gateway, 1);
	test_l3_down(&t);
}

/* TTL 1: dropped with time exceeded, from the gateway's public address,
 * and no more than the bucket allows. */
static void
test_ttl_expired_rate_limited(void **state)
{
	const uint8_t cli[4] = { 192, 0, 2, 10 }, pod[4] = { 203, 0, 113, 10 };
	const uint8_t gw[4] = { 198, 51, 100, 1 };
	struct rte_mbuf *out[64];
	uint16_t port[64];
	struct test_l3 t;
	unsigned n;

	(void)state;
	test_l3_up(&t, 1, 64, 5);       /* 5 a second: a burst of 5 */
	test_know_router(&t);
	for (int i = 0; i < 20; i++)
		assert_int_equal(test_input(&t, 0, test_tcp4(&test_pub_mac, cli,
		                 pod, 1, (uint16_t)(40000 + i), 80, test_pub),
		                 test_pub), L3_DROP);
	n = test_take_all(&t, 0, out, port, 64);
	assert_int_equal(n, 5);
	assert_int_equal(t.ws[0].drop_l3_ttl_expired, 20);
	assert_int_equal(t.ws[0].l3_icmp_errors_sent, 5);
	assert_int_equal(t.ws[0].l3_icmp_rate_limited, 15);
	{
		const uint8_t *f = test_data(out[0]);
		const struct rte_ipv4_hdr *ip =
			(const struct rte_ipv4_hdr *)(f + 14);

		assert_memory_equal(f, ROUTER_MAC, 6);
		assert_memory_equal(&ip->src_addr, gw, 4);
		assert_memory_equal(&ip->dst_addr, cli, 4);
		assert_int_equal(f[14 + 20], 11);               /* time exceeded */
		assert_int_equal((uint16_t)~rte_raw_cksum(f + 34,
		                 rte_pktmbuf_pkt_len(out[0]) - 34), 0);
		assert_int_equal(rte_ipv4_cksum(ip) == 0xffff ||
		                 rte_ipv4_cksum(ip) == 0, 1);
	}
	test_free_n(out, n);
	/* a second later the bucket has refilled */
	t.now += rte_get_tsc_hz();
	assert_int_equal(test_input(&t, 0, test_tcp4(&test_pub_mac, cli, pod, 1,
	                 41000, 80, test_pub), test_pub), L3_DROP);
	assert_int_equal(test_take_all(&t, 0, out, port, 64), 1);
	test_free_n(out, 1);
	/* no error about an ICMP error (an echo would get one) */
	t.now += rte_get_tsc_hz();
	assert_int_equal(test_input(&t, 0, test_icmp4(&test_pub_mac, cli, pod, 3,
	                 1, test_pub), test_pub), L3_DROP);
	assert_int_equal(test_take_all(&t, 0, out, port, 64), 0);
	assert_int_equal(test_input(&t, 0, test_icmp4(&test_pub_mac, cli, pod, 8,
	                 1, test_pub), test_pub), L3_DROP);
	assert_int_equal(test_take_all(&t, 0, out, port, 1), 1);
	test_free_n(out, 1);
	assert_int_equal(test_take_all(&t, 0, out, port, 64), 0);
	test_l3_down(&t);
}

static void
test_echo(void **state)
{
	const uint8_t cli[4] = { 192, 0, 2, 10 }, gw[4] = { 198, 51, 100, 1 };
	struct rte_mbuf *out[4];
	uint16_t port[4];
	struct test_l3 t;
	const uint8_t *f;

	(void)state;
	test_l3_up(&t, 1, 64, 100);
	assert_int_equal(test_input(&t, 0, test_icmp4(&test_pub_mac, cli, gw, 8,
	                 64, test_pub), test_pub), L3_CONSUMED);
	assert_int_equal(test_take_all(&t, 0, out, port, 4), 1);
	f = test_data(out[0]);
	assert_memory_equal(f, CLIENT_MAC, 6);
	assert_memory_equal(f + 14 + 12, gw, 4);
	assert_memory_equal(f + 14 + 16, cli, 4);
	assert_int_equal(f[34], 0);                             /* reply */
	assert_int_equal((uint16_t)~rte_raw_cksum(f + 34, 16), 0);
	test_free_n(out, 1);
	assert_int_equal(t.ws[0].l3_echo_replies_sent, 1);
	test_l3_down(&t);
}

/* An NS for the gateway's address: answered with an NA carrying its MAC,
 * solicited, router, override; the solicitor learned. */
static void
test_nd_responder(void **state)
{
	uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };
	uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 1 };
	uint8_t tgt[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 };
	struct rte_mbuf *out[4];
	uint16_t port[4];
	struct test_l3 t;
	const uint8_t *f;
	uint8_t frame[128];
	uint32_t n;

	(void)state;
	test_l3_up(&t, 1, 64, 100);
	n = test_nd_bytes(frame, L3_ND_NS, src, dst, tgt, CLIENT_MAC, 1, 255);
	assert_int_equal(test_input(&t, 0, test_frame(frame, n, test_pub),
	                            test_pub), L3_CONSUMED);
	assert_int_equal(test_take_all(&t, 0, out, port, 4), 1);
	f = test_data(out[0]);
	assert_memory_equal(f, CLIENT_MAC, 6);
	assert_int_equal(f[14 + 7], 255);
	assert_memory_equal(f + 14 + 8, tgt, 16);
	assert_memory_equal(f + 14 + 24, src, 16);
	assert_int_equal(f[54], L3_ND_NA);
	assert_int_equal(f[54 + 4], 0xe0);
	assert_memory_equal(f + 54 + 26, &test_pub_mac, 6);
	assert_int_equal(test_icmp6_csum(f + 14, f + 54, 32), 0);
	test_free_n(out, 1);
	assert_int_equal(t.ws[0].l3_neigh_learned, 1);
	test_l3_down(&t);
}

/* Build an IPv4 packet to dst (on priv's subnet), routed from nowhere:
 * what l3_output makes of it. */
static uint16_t
test_output_to(struct test_l3 *t, const uint8_t dst[4], uint8_t *mac_out)
{
	const uint8_t cli[4] = { 192, 0, 2, 10 };
	struct rte_mbuf *m = test_tcp4(&test_pub_mac, cli, dst, 64, 40000, 80,
	                               test_pub);
	uint16_t port = l3_output(t->w[0], m);

	if (port != L3_NO_PORT) {
		memcpy(mac_out, test_data(m), 6);
		rte_pktmbuf_free(m);
	}
	return port;
}

/* The gateway's link-local address (from the MAC) answers solicitations:
 * IPv6 routers use it as their next hop. */
static void
test_nd_link_local(void **state)
{
	uint8_t src[16] = { 0xfe, 0x80, [15] = 2 };
	uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	uint8_t ll[16] = { 0xfe, 0x80, [11] = 0xff, [12] = 0xfe };
	const uint8_t *mac = test_pub_mac.addr_bytes;
	struct rte_mbuf *out[4];
	uint16_t port[4];
	struct test_l3 t;
	uint8_t frame[128];
	uint32_t n;

	(void)state;
	ll[8] = mac[0] ^ 2;
	ll[9] = mac[1];
	ll[10] = mac[2];
	ll[13] = dst[13] = mac[3];
	ll[14] = dst[14] = mac[4];
	ll[15] = dst[15] = mac[5];
	test_l3_up(&t, 1, 64, 100);
	n = test_nd_bytes(frame, L3_ND_NS, src, dst, ll, CLIENT_MAC, 1, 255);
	assert_int_equal(test_input(&t, 0, test_frame(frame, n, test_pub),
	                            test_pub), L3_CONSUMED);
	assert_int_equal(test_take_all(&t, 0, out, port, 4), 1);
	assert_memory_equal(test_data(out[0]) + 14 + 8, ll, 16);
	assert_int_equal(test_data(out[0])[54], L3_ND_NA);
	test_free_n(out, 1);
	test_l3_down(&t);
}

/* Longer than the egress MTU (1500): with DF the sender is told the MTU
 * (RFC 1191); without, forward will cut it (l2_len set). */
static void
test_too_big(void **state)
{
	const uint8_t cli[4] = { 192, 0, 2, 10 }, pod[4] = { 203, 0, 113, 10 };
	struct rte_mbuf *out[4], *m;
	uint16_t port[4];
	struct test_l3 t;
	const uint8_t *f;

	(void)state;
	test_l3_up(&t, 1, 64, 100);
	test_know_router(&t);
	for (int df = 1; df >= 0; df--) {
		struct rte_ipv4_hdr *ip;

		m = test_tcp4(&test_pub_mac, cli, pod, 64, 40000, 80, test_pub);
		assert_non_null(rte_pktmbuf_append(m, 1600));
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		ip->total_length = rte_cpu_to_be_16(1640);
		ip->fragment_offset = rte_cpu_to_be_16(df ? 0x4000 : 0);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		if (df) {
			assert_int_equal(test_input(&t, 0, m, test_pub), L3_DROP);
			assert_int_equal(test_take_all(&t, 0, out, port, 4), 1);
			f = test_data(out[0]);
			assert_int_equal(f[34], 3);             /* unreachable */
			assert_int_equal(f[35], 4);             /* frag needed */
			assert_int_equal(f[34 + 6] << 8 | f[34 + 7], 1500);
			test_free_n(out, 1);
		} else {
			assert_int_equal(test_input(&t, 0, m, test_pub),
			                 L3_TRANSIT);
			assert_int_equal(m->l2_len, 14);
			rte_pktmbuf_free(m);
		}
	}
	assert_int_equal(t.ws[0].drop_l3_too_big, 1);
	test_l3_down(&t);
}

/* Full table: the least recently confirmed entry goes, the static one
 * never does, and the wire cannot move a static neighbor. */
static void
test_table_bounded(void **state)
{
	uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 1 };
	uint8_t gw6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 };
	const uint8_t gw[4] = { 198, 51, 100, 17 };
	const uint8_t stat[4] = { 198, 51, 100, 19 };
	const uint8_t first[4] = { 198, 51, 100, 20 };
	const uint8_t forged[6] = { 2, 0, 0, 0, 0x66, 0x66 };
	struct rte_mbuf *out[4];
	uint16_t port[4];
	struct test_l3 t;
	uint8_t frame[128], mac[6];
	uint32_t n;

	(void)state;
	test_l3_up(&t, 1, 16, 100);     /* the static entry + 15 */
	test_input(&t, 0, test_arp(1, NULL, NODE_MAC, first, gw, test_priv),
	           test_priv);
	test_free_n(out, test_take_all(&t, 0, out, port, 4));
	assert_int_equal(test_output_to(&t, first, mac), test_priv);
	assert_memory_equal(mac, NODE_MAC, 6);
	for (uint8_t i = 0; i < 20; i++) {
		uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [14] = 1, i };
		uint8_t lla[6] = { 2, 0, 0, 0, 2, i };

		t.now += 1000;
		n = test_nd_bytes(frame, L3_ND_NS, src, dst, gw6, lla, 1, 255);
		assert_int_equal(test_input(&t, 0, test_frame(frame, n, test_priv),
		                            test_priv), L3_CONSUMED);
		test_free_n(out, test_take_all(&t, 0, out, port, 4));
	}
	/* 1 + 20 learned into 15 free places */
	assert_int_equal(t.ws[0].l3_neigh_evicted, 6);
	/* the first (oldest) is gone: asking for it again */
	assert_int_equal(test_output_to(&t, first, mac), L3_NO_PORT);
	assert_int_equal(test_take_all(&t, 0, out, port, 4), 1);
	assert_int_equal(t.ws[0].l3_arp_requests_sent, 1);
	test_free_n(out, 1);
	/* the static one stays, and a forged ARP from it changes nothing */
	test_input(&t, 0, test_arp(1, NULL, forged, stat, gw, test_priv),
	           test_priv);
	test_free_n(out, test_take_all(&t, 0, out, port, 4));
	assert_int_equal(test_output_to(&t, stat, mac), test_priv);
	assert_memory_equal(mac, STATIC_MAC, 6);
	test_l3_down(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_checksum),
		cmocka_unit_test(test_parse_arp),
		cmocka_unit_test(test_parse_nd),
		cmocka_unit_test(test_arp_responder),
		cmocka_unit_test(test_resolve_and_release),
		cmocka_unit_test(test_reply_on_other_worker),
		cmocka_unit_test(test_resolve_gives_up),
		cmocka_unit_test(test_transit_filter),
		cmocka_unit_test(test_ttl_expired_rate_limited),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_nd_responder),
		cmocka_unit_test(test_nd_link_local),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_table_bounded),
	};

	test_env_init();
	return cmocka_run_group_tests_name("l3", tests, NULL, NULL);
}
