/*
 * test_decode.c - unit tests for dataplane/decode.c: frames built by hand
 * byte by byte cover every drop_ reason and the OK paths (VLAN, QinQ, IPv4
 * options, IPv6 extension chain, Ethernet padding); an EAL started in the
 * test drives fragment reassembly through real mbufs (in order, out of
 * order, overlaps with equal and different data, timeout, table full), and
 * every fragment test checks that all mbufs went back to the pool.
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
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "decode.h"

#define T_POOL_SIZE 511

static struct rte_mempool *t_pool;
static struct worker_stats t_ws;

/* ------------------------------------------------------------------------
 * Frame builders: each writes one header at b and returns its length.
 */

static void
t_w16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
t_w32(uint8_t *p, uint32_t v)
{
	t_w16(p, v >> 16);
	t_w16(p + 2, v);
}

static uint32_t
t_rd16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* RFC 1071 one's complement sum, folded. */
static uint32_t
t_csum(const uint8_t *p, uint32_t n)
{
	uint32_t s = 0, i;

	for (i = 0; i + 1 < n; i += 2)
		s += t_rd16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static uint32_t
t_eth(uint8_t *b, uint32_t type)
{
	static const uint8_t macs[12] = {
		0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2 };

	memcpy(b, macs, 12);
	t_w16(b + 12, type);
	return 14;
}

static uint32_t
t_vlan(uint8_t *b, uint32_t vid, uint32_t next_type)
{
	t_w16(b, vid);
	t_w16(b + 2, next_type);
	return 4;
}

/* IPv4 header 192.0.2.1 -> 198.51.100.2 with opts (a multiple of 4);
 * total length and checksum are set later by t_ipv4_fix. */
static uint32_t
t_ipv4(uint8_t *b, uint8_t proto, const uint8_t *opts, uint32_t optlen,
       uint32_t id, uint32_t frag)
{
	static const uint8_t addrs[8] = { 192, 0, 2, 1, 198, 51, 100, 2 };
	uint32_t hlen = 20 + optlen;

	memset(b, 0, 20);
	b[0] = (uint8_t)(0x40 | hlen / 4);
	t_w16(b + 4, id);
	t_w16(b + 6, frag);
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, addrs, 8);
	if (optlen != 0)
		memcpy(b + 20, opts, optlen);
	return hlen;
}

static void
t_ipv4_fix(uint8_t *ip, uint32_t tot)
{
	t_w16(ip + 2, tot);
	ip[10] = ip[11] = 0;
	t_w16(ip + 10, ~t_csum(ip, (uint32_t)(ip[0] & 15) * 4) & 0xffff);
}

/* IPv6 header 2001:db8::1 -> 2001:db8::2; payload length set later. */
static uint32_t
t_ipv6(uint8_t *b, uint8_t nh)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	b[6] = nh;
	b[7] = 61;
	b[8] = 0x20; b[9] = 0x01; b[10] = 0x0d; b[11] = 0xb8; b[23] = 1;
	b[24] = 0x20; b[25] = 0x01; b[26] = 0x0d; b[27] = 0xb8; b[39] = 2;
	return 40;
}

static void
t_ipv6_fix(uint8_t *ip, uint32_t plen)
{
	t_w16(ip + 4, plen);
}

/* Generic extension header of 8 * (1 + hlen8) bytes, PadN-filled. */
static uint32_t
t_ipv6_ext(uint8_t *b, uint8_t nh, uint8_t hlen8)
{
	uint32_t n = 8u * (1u + hlen8);

	memset(b, 0, n);
	b[0] = nh;
	b[1] = hlen8;
	b[2] = 1;               /* PadN */
	b[3] = (uint8_t)(n - 4);
	return n;
}

static uint32_t
t_ipv6_frag(uint8_t *b, uint8_t nh, uint32_t ofs, int more, uint32_t id)
{
	b[0] = nh;
	b[1] = 0;
	t_w16(b + 2, ofs | (more ? 1u : 0u));
	t_w32(b + 4, id);
	return 8;
}

static uint32_t
t_tcp(uint8_t *b, uint32_t sport, uint32_t dport, uint32_t seq, uint32_t ack,
      uint8_t flags, const uint8_t *opts, uint32_t optlen)
{
	memset(b, 0, 20);
	t_w16(b, sport);
	t_w16(b + 2, dport);
	t_w32(b + 4, seq);
	t_w32(b + 8, ack);
	b[12] = (uint8_t)((20 + optlen) / 4 << 4);
	b[13] = flags;
	t_w16(b + 14, 65535);
	if (optlen != 0)
		memcpy(b + 20, opts, optlen);
	return 20 + optlen;
}

static uint32_t
t_udp(uint8_t *b, uint32_t sport, uint32_t dport, uint32_t ulen)
{
	t_w16(b, sport);
	t_w16(b + 2, dport);
	t_w16(b + 4, ulen);
	t_w16(b + 6, 0);
	return 8;
}

/* eth + IPv4 + TCP + payload, the workhorse of the L4 tests */
static uint32_t
t_v4_tcp(uint8_t *b, uint8_t flags, const uint8_t *pl, uint32_t pl_len)
{
	uint32_t n = t_eth(b, 0x0800);

	n += t_ipv4(b + n, 6, NULL, 0, 1, 0);
	n += t_tcp(b + n, 40000, 80, 1000, 2000, flags, NULL, 0);
	if (pl_len != 0)
		memcpy(b + n, pl, pl_len);
	n += pl_len;
	t_ipv4_fix(b + 14, n - 14);
	return n;
}

static int
t_parse(const uint8_t *b, uint32_t n, struct pkt_meta *pm, int *frag)
{
	return decode_parse(b, n, n, pm, frag, &t_ws);
}

static int
t_setup(void **state)
{
	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	return 0;
}

/* ------------------------------------------------------------------------
 * OK paths
 */

static void
test_ipv4_tcp_fields(void **state)
{
	uint8_t b[256];
	struct pkt_meta pm;
	int frag = -1;
	uint32_t n = t_v4_tcp(b, PKT_TCP_ACK | PKT_TCP_PSH, (const uint8_t *)"GET /", 5);
	static const uint8_t src[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	                                 0xff, 0xff, 192, 0, 2, 1 };
	static const uint8_t dst[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	                                 0xff, 0xff, 198, 51, 100, 2 };

	(void)state;
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(frag, 0);
	assert_memory_equal(pm.src, src, 16);
	assert_memory_equal(pm.dst, dst, 16);
	assert_int_equal(pm.sport, 40000);
	assert_int_equal(pm.dport, 80);
	assert_int_equal(pm.seq, 1000);
	assert_int_equal(pm.ack, 2000);
	assert_int_equal(pm.window, 65535);
	assert_int_equal(pm.tcp_flags, PKT_TCP_ACK | PKT_TCP_PSH);
	assert_int_equal(pm.ip_version, 4);
	assert_int_equal(pm.proto, 6);
	assert_int_equal(pm.ttl, 64);
	assert_int_equal(pm.n_vlans, 0);
	assert_int_equal(pm.l3_off, 14);
	assert_int_equal(pm.l4_off, 34);
	assert_int_equal(pm.payload_off, 54);
	assert_int_equal(pm.payload_len, 5);
	assert_memory_equal(b + pm.payload_off, "GET /", 5);
	assert_int_equal(pm.reassembled, 0);
	assert_int_equal(t_ws.decode_ipv4, 1);
	assert_int_equal(t_ws.decode_tcp, 1);
}

static void
test_vlan_and_qinq(void **state)
{
	uint8_t b[256];
	struct pkt_meta pm;
	int frag;
	uint32_t n, l3;

	(void)state;
	/* one 802.1Q tag */
	n = t_eth(b, 0x8100);
	n += t_vlan(b + n, 100, 0x0800);
	l3 = n;
	n += t_ipv4(b + n, 17, NULL, 0, 1, 0);
	n += t_udp(b + n, 53, 5353, 12);
	memcpy(b + n, "abcd", 4);
	n += 4;
	t_ipv4_fix(b + l3, n - l3);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.n_vlans, 1);
	assert_int_equal(pm.l3_off, 18);
	assert_int_equal(pm.payload_len, 4);

	/* 802.1ad outer + 802.1Q inner */
	n = t_eth(b, 0x88a8);
	n += t_vlan(b + n, 10, 0x8100);
	n += t_vlan(b + n, 20, 0x0800);
	l3 = n;
	n += t_ipv4(b + n, 17, NULL, 0, 1, 0);
	n += t_udp(b + n, 53, 5353, 12);
	memcpy(b + n, "abcd", 4);
	n += 4;
	t_ipv4_fix(b + l3, n - l3);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.n_vlans, 2);
	assert_int_equal(pm.l3_off, 22);
	assert_int_equal(pm.sport, 53);
	assert_int_equal(pm.dport, 5353);
	assert_int_equal(pm.payload_off, 22 + 20 + 8);
	assert_int_equal(t_ws.decode_udp, 2);
}

static void
test_ipv4_options_ok(void **state)
{
	/* NOP, NOP, Record Route (len 7, one slot), EOL, then padding */
	static const uint8_t opts[12] = { 1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t b[256];
	struct pkt_meta pm;
	int frag;
	uint32_t n = t_eth(b, 0x0800);

	(void)state;
	n += t_ipv4(b + n, 6, opts, sizeof(opts), 7, 0);
	n += t_tcp(b + n, 1, 2, 3, 4, PKT_TCP_SYN, NULL, 0);
	t_ipv4_fix(b + 14, n - 14);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.l4_off, 14 + 32);
	assert_int_equal(pm.payload_len, 0);
	assert_int_equal(pm.tcp_flags, PKT_TCP_SYN);
}

static void
test_tcp_options_ok(void **state)
{
	/* MSS, SACK-permitted, timestamps, NOP, window scale */
	static const uint8_t opts[20] = {
		2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
		1, 3, 3, 7 };
	uint8_t b[256];
	struct pkt_meta pm;
	int frag;
	uint32_t n = t_eth(b, 0x0800);

	(void)state;
	n += t_ipv4(b + n, 6, NULL, 0, 1, 0);
	n += t_tcp(b + n, 1, 2, 3, 4, PKT_TCP_SYN | PKT_TCP_ACK, opts, 20);
	memcpy(b + n, "xy", 2);
	n += 2;
	t_ipv4_fix(b + 14, n - 14);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.payload_off, 14 + 20 + 40);
	assert_int_equal(pm.payload_len, 2);
	assert_int_equal(pm.tcp_wscale, 7);
}

/* The Window Scale shift a SYN offers (RFC 7323 §2.2-2.3): the stream
 * stage clamps the server's window with it. */
static void
test_tcp_window_scale(void **state)
{
	static const struct {
		uint8_t flags;
		uint8_t opts[8];
		uint32_t optlen;
		uint8_t want;
	} cases[] = {
		{ PKT_TCP_SYN, { 1, 3, 3, 9 }, 4, 9 },
		{ PKT_TCP_SYN, { 1, 3, 3, 15 }, 4, 14 },    /* > 14 means 14 */
		{ PKT_TCP_SYN, { 2, 4, 5, 180 }, 4, PKT_WSCALE_NONE },
		{ PKT_TCP_SYN, { 0, 3, 3, 9 }, 4, PKT_WSCALE_NONE }, /* after EOL */
		{ PKT_TCP_SYN, { 0 }, 0, PKT_WSCALE_NONE },
		{ PKT_TCP_ACK, { 1, 3, 3, 9 }, 4, PKT_WSCALE_NONE }, /* not a SYN */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[256];
		struct pkt_meta pm;
		int frag;
		uint32_t n = t_eth(b, 0x0800);

		n += t_ipv4(b + n, 6, NULL, 0, 1, 0);
		n += t_tcp(b + n, 1, 2, 3, 4, cases[i].flags, cases[i].opts,
		           cases[i].optlen);
		t_ipv4_fix(b + 14, n - 14);
		assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
		assert_int_equal(pm.window, 65535);
		if (pm.tcp_wscale != cases[i].want)
			fail_msg("case %zu: wscale %u, want %u", i, pm.tcp_wscale,
			         cases[i].want);
	}
}

/* Ethernet pads frames to 60 bytes; padding is not payload. */
static void
test_padding_not_payload(void **state)
{
	uint8_t b[256];
	struct pkt_meta pm;
	int frag;
	uint32_t n = t_eth(b, 0x0800), l3 = n;

	(void)state;
	n += t_ipv4(b + n, 17, NULL, 0, 1, 0);
	n += t_udp(b + n, 1000, 2000, 10);
	b[n++] = 'h';
	b[n++] = 'i';
	t_ipv4_fix(b + l3, n - l3);
	memset(b + n, 0xee, 60 - n);
	assert_int_equal(t_parse(b, 60, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.payload_len, 2);

	/* TCP too: payload bounded by the IP length */
	n = t_v4_tcp(b, PKT_TCP_ACK, (const uint8_t *)"z", 1);
	memset(b + n, 0xee, 60 - n);
	assert_int_equal(t_parse(b, 60, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.payload_len, 1);

	/* IPv6 + UDP, padded */
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 17);
	n += t_udp(b + n, 1, 2, 9);
	b[n++] = 'q';
	t_ipv6_fix(b + 14, n - 54);
	memset(b + n, 0xee, 80 - n);
	assert_int_equal(t_parse(b, 80, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.payload_len, 1);
}

static void
test_ipv6_tcp_and_ext_chain(void **state)
{
	static const uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	                                 0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t b[512];
	struct pkt_meta pm;
	int frag;
	uint32_t n, l4;

	(void)state;
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 6);
	n += t_tcp(b + n, 443, 50000, 7, 8, PKT_TCP_ACK, NULL, 0);
	memcpy(b + n, "data", 4);
	n += 4;
	t_ipv6_fix(b + 14, n - 54);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.ip_version, 6);
	assert_int_equal(pm.ttl, 61);
	assert_memory_equal(pm.src, src, 16);
	assert_int_equal(pm.l4_off, 54);
	assert_int_equal(pm.payload_len, 4);

	/* hop-by-hop, routing, destination options, atomic fragment, TCP */
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 0);
	n += t_ipv6_ext(b + n, 43, 0);
	n += t_ipv6_ext(b + n, 60, 1);
	n += t_ipv6_ext(b + n, 44, 0);
	n += t_ipv6_frag(b + n, 6, 0, 0, 99);
	l4 = n;
	n += t_tcp(b + n, 443, 50000, 7, 8, PKT_TCP_ACK, NULL, 0);
	memcpy(b + n, "abc", 3);
	n += 3;
	t_ipv6_fix(b + 14, n - 54);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(frag, 0);
	assert_int_equal(pm.proto, 6);
	assert_int_equal(pm.l4_off, l4);
	assert_int_equal(pm.payload_len, 3);
	assert_int_equal(t_ws.decode_ipv6, 2);
	assert_int_equal(t_ws.decode_tcp, 2);
}

static void
test_icmp_ok(void **state)
{
	uint8_t b[256];
	struct pkt_meta pm;
	int frag;
	uint32_t n = t_eth(b, 0x0800);

	(void)state;
	n += t_ipv4(b + n, 1, NULL, 0, 1, 0);
	memset(b + n, 0, 12);
	b[n] = 8;               /* echo request */
	n += 12;
	t_ipv4_fix(b + 14, n - 14);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.payload_len, 4);
	assert_int_equal(pm.sport, 0);

	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 58);
	memset(b + n, 0, 8);
	b[n] = 128;
	n += 8;
	t_ipv6_fix(b + 14, 8);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(pm.proto, 58);
	assert_int_equal(t_ws.decode_icmp, 2);
}

static void
test_not_ip(void **state)
{
	uint8_t b[64] = { 0 };
	struct pkt_meta pm;
	int frag;

	(void)state;
	t_eth(b, 0x0806);
	assert_int_equal(t_parse(b, 42, &pm, &frag), DECODE_NOT_IP);
	assert_int_equal(t_ws.decode_other_l3, 1);
	assert_int_equal(pm.ip_version, 0);
}

/* ------------------------------------------------------------------------
 * Drops: each malformation under its own counter
 */

#define T_DROP(b, n, counter) do {                                      \
	struct pkt_meta pm_;                                            \
	int frag_;                                                      \
	uint64_t before_ = t_ws.counter;                                \
	assert_int_equal(t_parse((b), (n), &pm_, &frag_), DECODE_DROP); \
	assert_int_equal(t_ws.counter, before_ + 1);                    \
} while (0)

static void
test_drop_l2(void **state)
{
	uint8_t b[128];
	uint32_t n;

	(void)state;
	n = t_eth(b, 0x0800);
	T_DROP(b, 13, drop_eth_truncated);
	T_DROP(b, 0, drop_eth_truncated);

	n = t_eth(b, 0x8100);
	n += t_vlan(b + n, 1, 0x0800);
	T_DROP(b, n - 1, drop_vlan_truncated);

	n = t_eth(b, 0x88a8);
	n += t_vlan(b + n, 1, 0x8100);
	n += t_vlan(b + n, 2, 0x8100);
	n += t_vlan(b + n, 3, 0x0800);
	n += t_ipv4(b + n, 17, NULL, 0, 1, 0);
	n += t_udp(b + n, 1, 2, 8);
	t_ipv4_fix(b + 26, n - 26);
	T_DROP(b, n, drop_vlan_too_deep);
}

static void
test_drop_ipv4(void **state)
{
	static const uint8_t bad_len0[4] = { 7, 0, 0, 0 };   /* len 0 */
	static const uint8_t bad_len1[4] = { 1, 68, 1, 0 };  /* len 1 */
	static const uint8_t bad_over[4] = { 1, 7, 8, 0 };   /* past header */
	uint8_t b[256];
	uint32_t n;

	(void)state;
	n = t_v4_tcp(b, PKT_TCP_ACK, NULL, 0);
	T_DROP(b, 14 + 19, drop_ipv4_truncated);

	b[14] = 0x55;
	T_DROP(b, n, drop_ipv4_bad_version);
	b[14] = 0x65;           /* IPv6 under the IPv4 ethertype */
	T_DROP(b, n, drop_ipv4_bad_version);
	b[14] = 0x46;           /* IHL 6 but only 20 header bytes there */
	T_DROP(b, 14 + 22, drop_ipv4_truncated);
	b[14] = 0x40 | 4;       /* version 4, IHL 4 */
	T_DROP(b, n, drop_ipv4_bad_ihl);

	n = t_v4_tcp(b, PKT_TCP_ACK, (const uint8_t *)"abcd", 4);
	t_ipv4_fix(b + 14, 19);                 /* shorter than the header */
	T_DROP(b, n, drop_ipv4_bad_length);
	t_ipv4_fix(b + 14, n - 14 + 1);         /* longer than the frame */
	T_DROP(b, n, drop_ipv4_bad_length);

	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 6, bad_len0, 4, 1, 0);
	n += t_tcp(b + n, 1, 2, 3, 4, PKT_TCP_ACK, NULL, 0);
	t_ipv4_fix(b + 14, n - 14);
	T_DROP(b, n, drop_ipv4_bad_options);
	memcpy(b + 34, bad_len1, 4);
	t_ipv4_fix(b + 14, n - 14);
	T_DROP(b, n, drop_ipv4_bad_options);
	memcpy(b + 34, bad_over, 4);
	t_ipv4_fix(b + 14, n - 14);
	T_DROP(b, n, drop_ipv4_bad_options);
}

static void
test_drop_ipv6(void **state)
{
	uint8_t b[512];
	uint32_t n, i;

	(void)state;
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 17);
	n += t_udp(b + n, 1, 2, 8);
	t_ipv6_fix(b + 14, 8);
	T_DROP(b, 14 + 39, drop_ipv6_truncated);
	b[14] = 0x40;
	T_DROP(b, n, drop_ipv6_bad_version);
	b[14] = 0x60;
	t_ipv6_fix(b + 14, 9);
	T_DROP(b, n, drop_ipv6_bad_length);
	t_ipv6_fix(b + 14, 0);
	T_DROP(b, n, drop_ipv6_bad_length);

	/* hop-by-hop anywhere but first */
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 60);
	n += t_ipv6_ext(b + n, 0, 0);
	n += t_ipv6_ext(b + n, 17, 0);
	n += t_udp(b + n, 1, 2, 8);
	t_ipv6_fix(b + 14, n - 54);
	T_DROP(b, n, drop_ipv6_bad_ext);

	/* extension header longer than the payload */
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 60);
	n += t_ipv6_ext(b + n, 17, 0);
	n += t_udp(b + n, 1, 2, 8);
	t_ipv6_fix(b + 14, n - 54);
	b[54 + 1] = 2;          /* claims 24 bytes, 16 remain */
	T_DROP(b, n, drop_ipv6_bad_ext);

	/* option TLV running past its header */
	b[54 + 1] = 0;
	b[54 + 3] = 5;          /* PadN of 5 in a 6-byte area: 7 > 6 */
	T_DROP(b, n, drop_ipv6_bad_ext);

	/* chain of 9 destination-options headers: over the walk bound */
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 60);
	for (i = 0; i < 9; i++)
		n += t_ipv6_ext(b + n, i < 8 ? 60 : 17, 0);
	n += t_udp(b + n, 1, 2, 8);
	t_ipv6_fix(b + 14, n - 54);
	T_DROP(b, n, drop_ipv6_bad_ext);

	/* two fragment headers */
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 44);
	n += t_ipv6_frag(b + n, 44, 0, 0, 1);
	n += t_ipv6_frag(b + n, 17, 0, 0, 1);
	n += t_udp(b + n, 1, 2, 8);
	t_ipv6_fix(b + 14, n - 54);
	T_DROP(b, n, drop_ipv6_bad_ext);
}

static void
test_drop_tcp(void **state)
{
	static const uint8_t bad_opt[4] = { 2, 6, 0, 0 };  /* MSS len 6 > 4 */
	uint8_t b[256];
	uint32_t n;

	(void)state;
	n = t_v4_tcp(b, PKT_TCP_ACK, NULL, 0);
	t_ipv4_fix(b + 14, 20 + 19);
	T_DROP(b, n - 1, drop_tcp_truncated);

	n = t_v4_tcp(b, PKT_TCP_ACK, NULL, 0);
	b[34 + 12] = 4 << 4;
	T_DROP(b, n, drop_tcp_bad_offset);
	b[34 + 12] = 6 << 4;    /* 24 bytes, only 20 in the datagram */
	T_DROP(b, n, drop_tcp_bad_offset);

	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 6, NULL, 0, 1, 0);
	n += t_tcp(b + n, 1, 2, 3, 4, PKT_TCP_SYN, bad_opt, 4);
	t_ipv4_fix(b + 14, n - 14);
	T_DROP(b, n, drop_tcp_bad_options);

	n = t_v4_tcp(b, PKT_TCP_SYN | PKT_TCP_FIN, NULL, 0);
	T_DROP(b, n, drop_tcp_bad_flags);
	n = t_v4_tcp(b, PKT_TCP_SYN | PKT_TCP_RST | PKT_TCP_ACK, NULL, 0);
	T_DROP(b, n, drop_tcp_bad_flags);
	n = t_v4_tcp(b, PKT_TCP_FIN | PKT_TCP_ACK, NULL, 0);
	{
		struct pkt_meta pm;
		int frag;

		assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	}
}

static void
test_drop_udp_icmp_other(void **state)
{
	uint8_t b[256];
	uint32_t n;

	(void)state;
	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 17, NULL, 0, 1, 0);
	n += t_udp(b + n, 1, 2, 8);
	t_ipv4_fix(b + 14, 20 + 7);
	T_DROP(b, n - 1, drop_udp_truncated);

	t_ipv4_fix(b + 14, 20 + 8);
	t_udp(b + 34, 1, 2, 7);
	T_DROP(b, n, drop_udp_bad_length);
	t_udp(b + 34, 1, 2, 9);
	T_DROP(b, n, drop_udp_bad_length);

	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 1, NULL, 0, 1, 0);
	memset(b + n, 0, 7);
	n += 7;
	t_ipv4_fix(b + 14, n - 14);
	T_DROP(b, n, drop_icmp_truncated);

	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 47, NULL, 0, 1, 0);     /* GRE */
	memset(b + n, 0, 8);
	n += 8;
	t_ipv4_fix(b + 14, n - 14);
	T_DROP(b, n, drop_l4_other);

	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 1);                      /* ICMPv4 in IPv6 */
	memset(b + n, 0, 8);
	n += 8;
	t_ipv6_fix(b + 14, 8);
	T_DROP(b, n, drop_l4_other);
}

/* Headers must lie in the first segment: data shorter than frame_len. */
static void
test_headers_in_first_segment(void **state)
{
	uint8_t b[256];
	struct pkt_meta pm;
	int frag;
	uint32_t n = t_v4_tcp(b, PKT_TCP_ACK, (const uint8_t *)"payload", 7);

	(void)state;
	assert_int_equal(decode_parse(b, 54, n, &pm, &frag, &t_ws), DECODE_OK);
	assert_int_equal(pm.payload_len, 7);
	assert_int_equal(decode_parse(b, 50, n, &pm, &frag, &t_ws),
	                 DECODE_DROP);
	assert_int_equal(t_ws.drop_tcp_truncated, 1);
}

static void
test_fragment_parse(void **state)
{
	uint8_t b[256];
	struct pkt_meta pm;
	int frag;
	uint32_t n;

	(void)state;
	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 6, NULL, 0, 77, 0x2000);    /* MF, offset 0 */
	memset(b + n, 'a', 16);
	n += 16;
	t_ipv4_fix(b + 14, n - 14);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(frag, 1);
	assert_int_equal(pm.proto, 6);
	assert_int_equal(pm.payload_len, 0);
	assert_int_equal(pm.l4_off, 34);
	assert_int_equal(t_ws.decode_tcp, 0);

	/* non-last fragment, length not a multiple of 8 */
	t_ipv4_fix(b + 14, n - 14 - 1);
	T_DROP(b, n - 1, drop_frag_invalid);
	/* offset + length past 65535 */
	t_w16(b + 20, 0x2000 | 8190);
	t_ipv4_fix(b + 14, n - 14);
	T_DROP(b, n, drop_frag_invalid);
	/* empty fragment */
	t_w16(b + 20, 8);
	t_ipv4_fix(b + 14, 20);
	T_DROP(b, 34, drop_frag_invalid);

	/* IPv6 fragment */
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 44);
	n += t_ipv6_frag(b + n, 17, 8, 1, 5);
	memset(b + n, 'b', 16);
	n += 16;
	t_ipv6_fix(b + 14, n - 54);
	assert_int_equal(t_parse(b, n, &pm, &frag), DECODE_OK);
	assert_int_equal(frag, 1);
	assert_int_equal(pm.proto, 17);
	assert_int_equal(pm.l4_off, 62);
	t_ipv6_fix(b + 14, n - 54 - 3);
	T_DROP(b, n - 3, drop_frag_invalid);
}

/* Hostile bytes: random frames and random mutations of a valid one must
 * never read out of bounds (run under ASan) and always return a result. */
static void
test_random_frames(void **state)
{
	uint8_t base[128], b[128];
	struct pkt_meta pm;
	int frag, rc;
	uint32_t n = t_v4_tcp(base, PKT_TCP_ACK, (const uint8_t *)"x", 1);
	uint32_t i, k, seed = 12345;

	(void)state;
	for (i = 0; i < 200000; i++) {
		memcpy(b, base, sizeof(b));
		for (k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			b[(seed >> 8) % n] = (uint8_t)(seed >> 16);
		}
		seed = seed * 1103515245u + 12345u;
		rc = decode_parse(b, (seed >> 8) % (n + 1), n, &pm, &frag,
		                  &t_ws);
		assert_true(rc >= DECODE_OK && rc <= DECODE_DROP);
		if (rc == DECODE_OK && !frag)
			assert_true(pm.payload_off + pm.payload_len <= n);
	}
}

/* ------------------------------------------------------------------------
 * Through decode_packet, with mbufs
 */

static struct rte_mbuf *
t_mbuf(const uint8_t *b, uint32_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(t_pool);
	char *p;

	assert_non_null(m);
	p = rte_pktmbuf_append(m, (uint16_t)n);
	assert_non_null(p);
	memcpy(p, b, n);
	return m;
}

/* decode_packet on a copy of b; DROP and NOT_IP packets are freed here as
 * the caller would; an OK packet is returned in *out (caller frees). */
static int
t_feed(struct decode_worker *dw, const uint8_t *b, uint32_t n, uint64_t now,
       struct pkt_meta *pm, struct rte_mbuf **out)
{
	struct rte_mbuf *m = t_mbuf(b, n);
	int rc = decode_packet(dw, &m, pm, now);

	*out = NULL;
	if (rc == DECODE_OK)
		*out = m;
	else if (rc != DECODE_HELD)
		rte_pktmbuf_free(m);
	return rc;
}

static struct decode_worker *
t_worker(uint32_t max_datagrams, uint8_t verify)
{
	struct decode_conf c = {
		.frag_max_datagrams = max_datagrams,
		.frag_timeout_ms = 100,
		.verify_ip_checksum = verify,
	};
	struct decode_worker *dw = decode_worker_create(&c, SOCKET_ID_ANY,
	                                                &t_ws);

	assert_non_null(dw);
	return dw;
}

/* Every mbuf is back in the pool once the worker is drained and freed. */
static void
t_worker_done(struct decode_worker *dw)
{
	decode_drain(dw);
	decode_worker_free(dw);
	assert_int_equal(rte_mempool_avail_count(t_pool), T_POOL_SIZE);
}

/* The UDP datagram fragmented in the tests: 8-byte header + 56 bytes. */
#define T_DGRAM_LEN 64
static uint8_t t_dgram[T_DGRAM_LEN];

static void
t_dgram_init(void)
{
	uint32_t i;

	t_udp(t_dgram, 4000, 53, T_DGRAM_LEN);
	for (i = 8; i < T_DGRAM_LEN; i++)
		t_dgram[i] = (uint8_t)('A' + i % 26);
}

/* Ethernet + IPv4 fragment of t_dgram bytes [ofs, ofs + len), or of data
 * when it is not NULL. */
static uint32_t
t_frag4(uint8_t *b, uint32_t id, uint32_t ofs, uint32_t len, int more,
        const uint8_t *data)
{
	uint32_t n = t_eth(b, 0x0800);

	n += t_ipv4(b + n, 17, NULL, 0, id, (more ? 0x2000u : 0) | ofs / 8);
	memcpy(b + n, data != NULL ? data : t_dgram + ofs, len);
	n += len;
	t_ipv4_fix(b + 14, n - 14);
	return n;
}

static uint32_t
t_frag6(uint8_t *b, uint32_t id, uint32_t ofs, uint32_t len, int more,
        const uint8_t *data)
{
	uint32_t n = t_eth(b, 0x86dd);

	n += t_ipv6(b + n, 44);
	n += t_ipv6_frag(b + n, 17, ofs, more, id);
	memcpy(b + n, data != NULL ? data : t_dgram + ofs, len);
	n += len;
	t_ipv6_fix(b + 14, n - 54);
	return n;
}

/* The same fragments behind an 802.1ad + 802.1Q pair of tags. */
static uint32_t
t_add_qinq(uint8_t *b, uint32_t n)
{
	memmove(b + 20, b + 12, n - 12);
	t_w16(b + 12, 0x88a8);
	t_w16(b + 14, 10);
	t_w16(b + 16, 0x8100);
	t_w16(b + 18, 20);
	return n + 8;
}

static uint32_t
t_frag4_qinq(uint8_t *b, uint32_t id, uint32_t ofs, uint32_t len, int more,
             const uint8_t *data)
{
	return t_add_qinq(b, t_frag4(b, id, ofs, len, more, data));
}

static uint32_t
t_frag6_qinq(uint8_t *b, uint32_t id, uint32_t ofs, uint32_t len, int more,
             const uint8_t *data)
{
	return t_add_qinq(b, t_frag6(b, id, ofs, len, more, data));
}

/* Short fragments padded to Ethernet's 60-byte minimum. */
static uint32_t
t_frag4_padded(uint8_t *b, uint32_t id, uint32_t ofs, uint32_t len, int more,
               const uint8_t *data)
{
	uint32_t n = t_frag4(b, id, ofs, len, more, data);

	if (n < 60) {
		memset(b + n, 0xee, 60 - n);
		n = 60;
	}
	return n;
}

typedef uint32_t (*t_frag_fn)(uint8_t *, uint32_t, uint32_t, uint32_t, int,
                              const uint8_t *);

/* Fragments of t_dgram given as {ofs, len, more}; feeds them in order,
 * expects HELD for all but the last, which completes the datagram. */
struct t_piece {
	uint32_t ofs, len;
	int more;
};

static void
t_check_reassembled(struct rte_mbuf *m, const struct pkt_meta *pm,
                    int version)
{
	uint8_t buf[T_DGRAM_LEN];
	const uint8_t *p;
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *,
	                                            pm->l3_off);

	assert_int_equal(pm->reassembled, 1);
	assert_int_equal(pm->ip_version, version);
	assert_int_equal(pm->proto, 17);
	assert_int_equal(pm->sport, 4000);
	assert_int_equal(pm->dport, 53);
	assert_int_equal(pm->payload_len, T_DGRAM_LEN - 8);
	assert_true(m->nb_segs > 1);
	p = rte_pktmbuf_read(m, pm->payload_off, pm->payload_len, buf);
	assert_non_null(p);
	assert_memory_equal(p, t_dgram + 8, T_DGRAM_LEN - 8);
	if (version == 4) {
		assert_int_equal(t_rd16(ip + 2), 20 + T_DGRAM_LEN);
		assert_int_equal(t_csum(ip, 20), 0xffff);
		assert_int_equal(t_rd16(ip + 6) & 0x3fff, 0);
	} else {
		assert_int_equal(t_rd16(ip + 4), T_DGRAM_LEN);
		assert_int_equal(ip[6], 17);
	}
}

static void
t_reassemble(t_frag_fn mk, int version, const struct t_piece *pc,
             unsigned n_pc, uint32_t id)
{
	struct decode_worker *dw = t_worker(16, 1);
	struct pkt_meta pm;
	struct rte_mbuf *out;
	uint8_t b[256];
	uint32_t n;
	unsigned i;

	memset(&t_ws, 0, sizeof(t_ws));
	for (i = 0; i < n_pc; i++) {
		n = mk(b, id, pc[i].ofs, pc[i].len, pc[i].more, NULL);
		if (i + 1 < n_pc) {
			assert_int_equal(t_feed(dw, b, n, 1000 + i, &pm, &out),
			                 DECODE_HELD);
			continue;
		}
		assert_int_equal(t_feed(dw, b, n, 1000 + i, &pm, &out),
		                 DECODE_OK);
		t_check_reassembled(out, &pm, version);
		rte_pktmbuf_free(out);
	}
	decode_flush(dw);
	assert_int_equal(t_ws.frag_received, n_pc);
	assert_int_equal(t_ws.frag_reassembled, 1);
	assert_int_equal(t_ws.decode_udp, 1);
	t_worker_done(dw);
	assert_int_equal(t_ws.frag_held_at_exit, 0);
	assert_int_equal(t_ws.drop_frag_timeout, 0);
}

static void
test_reassemble_ipv4_in_order(void **state)
{
	static const struct t_piece pc[] = {
		{ 0, 16, 1 }, { 16, 24, 1 }, { 40, 24, 0 } };

	(void)state;
	t_reassemble(t_frag4, 4, pc, 3, 0x1234);
}

static void
test_reassemble_ipv4_out_of_order(void **state)
{
	static const struct t_piece a[] = {
		{ 40, 24, 0 }, { 0, 16, 1 }, { 16, 24, 1 } };
	static const struct t_piece c[] = {
		{ 16, 24, 1 }, { 40, 24, 0 }, { 0, 16, 1 } };
	static const struct t_piece d[] = {
		{ 32, 8, 1 }, { 8, 8, 1 }, { 56, 8, 0 }, { 40, 16, 1 },
		{ 16, 16, 1 }, { 0, 8, 1 } };

	(void)state;
	t_reassemble(t_frag4, 4, a, 3, 1);
	t_reassemble(t_frag4, 4, c, 3, 2);
	t_reassemble(t_frag4, 4, d, 6, 3);
}

static void
test_reassemble_ipv6(void **state)
{
	static const struct t_piece in[] = {
		{ 0, 16, 1 }, { 16, 24, 1 }, { 40, 24, 0 } };
	static const struct t_piece out[] = {
		{ 40, 24, 0 }, { 16, 24, 1 }, { 0, 16, 1 } };

	(void)state;
	t_reassemble(t_frag6, 6, in, 3, 0xdeadbeef);
	t_reassemble(t_frag6, 6, out, 3, 7);
}

/* rte_ip_frag strips l2_len + l3_len from later fragments: VLAN tags and
 * Ethernet padding must be accounted for. */
static void
test_reassemble_vlan_and_padding(void **state)
{
	static const struct t_piece pc[] = {
		{ 16, 40, 1 }, { 56, 8, 0 }, { 0, 8, 1 }, { 8, 8, 1 } };

	(void)state;
	t_reassemble(t_frag4_qinq, 4, pc, 4, 21);
	t_reassemble(t_frag6_qinq, 6, pc, 4, 22);
	t_reassemble(t_frag4_padded, 4, pc, 4, 23);
}

/* A first fragment too short for the TCP header: after reassembly the
 * header is split across segments and the datagram is dropped (RFC 1858
 * tiny-fragment evasion), never passed on half-decoded. */
static void
test_reassemble_tiny_first_fragment(void **state)
{
	struct decode_worker *dw = t_worker(4, 0);
	uint8_t seg[40], b[256];
	struct pkt_meta pm;
	struct rte_mbuf *out;
	uint32_t n;

	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	t_tcp(seg, 5555, 80, 1, 2, PKT_TCP_ACK, NULL, 0);
	memset(seg + 20, 'p', 20);
	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 6, NULL, 0, 4, 0x2000);
	memcpy(b + n, seg, 8);
	n += 8;
	t_ipv4_fix(b + 14, n - 14);
	assert_int_equal(t_feed(dw, b, n, 1, &pm, &out), DECODE_HELD);
	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 6, NULL, 0, 4, 1);
	memcpy(b + n, seg + 8, 32);
	n += 32;
	t_ipv4_fix(b + 14, n - 14);
	assert_int_equal(t_feed(dw, b, n, 2, &pm, &out), DECODE_DROP);
	assert_int_equal(t_ws.frag_reassembled, 1);
	assert_int_equal(t_ws.drop_tcp_truncated, 1);
	assert_int_equal(pm.reassembled, 1);
	t_worker_done(dw);
}

/* Reassembled IPv4 TCP with checksum verification on. */
static void
test_reassemble_tcp_checksum(void **state)
{
	struct decode_worker *dw = t_worker(4, 1);
	uint8_t seg[48], b[256];
	struct pkt_meta pm;
	struct rte_mbuf *out;
	uint32_t n;

	(void)state;
	t_tcp(seg, 5555, 80, 100, 200, PKT_TCP_ACK | PKT_TCP_PSH, NULL, 0);
	memcpy(seg + 20, "GET /evil HTTP/1.1\r\nHost: x\r\n", 28);
	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 6, NULL, 0, 9, 0x2000);
	memcpy(b + n, seg, 24);
	n += 24;
	t_ipv4_fix(b + 14, n - 14);
	assert_int_equal(t_feed(dw, b, n, 10, &pm, &out), DECODE_HELD);
	n = t_eth(b, 0x0800);
	n += t_ipv4(b + n, 6, NULL, 0, 9, 3);
	memcpy(b + n, seg + 24, 24);
	n += 24;
	t_ipv4_fix(b + 14, n - 14);
	assert_int_equal(t_feed(dw, b, n, 11, &pm, &out), DECODE_OK);
	assert_int_equal(pm.proto, 6);
	assert_int_equal(pm.dport, 80);
	assert_int_equal(pm.seq, 100);
	assert_int_equal(pm.payload_len, 28);
	assert_int_equal(pm.reassembled, 1);
	assert_int_equal(t_ws.drop_ipv4_bad_checksum, 0);
	rte_pktmbuf_free(out);
	t_worker_done(dw);
}

/* Fragment list fed in order with the expected result of each. */
struct t_step {
	uint32_t id, ofs, len;
	int more;
	const uint8_t *data;
	int rc;
};

static void
t_run(t_frag_fn mk, struct decode_worker *dw, const struct t_step *st,
      unsigned n_st, uint64_t now)
{
	struct pkt_meta pm;
	struct rte_mbuf *out;
	uint8_t b[256];
	uint32_t n;
	unsigned i;

	for (i = 0; i < n_st; i++) {
		n = mk(b, st[i].id, st[i].ofs, st[i].len, st[i].more,
		       st[i].data);
		assert_int_equal(t_feed(dw, b, n, now + i, &pm, &out),
		                 st[i].rc);
		if (out != NULL)
			rte_pktmbuf_free(out);
	}
	decode_flush(dw);
}

/* Overlapping fragments drop the datagram whole, equal bytes or not, and
 * the datagram's later fragments too, even those that would complete a
 * clean datagram. */
static void
t_overlap_cases(t_frag_fn mk)
{
	static const uint8_t evil[64] = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
	/* same bytes, overlapping range */
	const struct t_step same[] = {
		{ 1, 0, 16, 1, NULL, DECODE_HELD },
		{ 1, 8, 16, 1, t_dgram + 8, DECODE_DROP },
		{ 1, 16, 48, 0, NULL, DECODE_DROP },   /* would complete */
	};
	/* different bytes over the end of the first fragment */
	const struct t_step diff[] = {
		{ 2, 0, 24, 1, NULL, DECODE_HELD },
		{ 2, 40, 24, 0, NULL, DECODE_HELD },
		{ 2, 16, 24, 1, evil, DECODE_DROP },
		{ 2, 24, 16, 1, NULL, DECODE_DROP },   /* exact gap filler */
	};
	/* exact duplicate of the first fragment (rte_ip_frag alone would
	 * discard the entry and rebuild from the attacker's next ones) */
	const struct t_step dup[] = {
		{ 3, 0, 32, 1, NULL, DECODE_HELD },
		{ 3, 0, 32, 1, evil, DECODE_DROP },
		{ 3, 32, 32, 0, NULL, DECODE_DROP },
		{ 3, 0, 32, 1, NULL, DECODE_DROP },
	};
	/* overlapping last fragments */
	const struct t_step last[] = {
		{ 4, 32, 32, 0, NULL, DECODE_HELD },
		{ 4, 48, 16, 0, evil, DECODE_DROP },
		{ 4, 0, 32, 1, NULL, DECODE_DROP },
	};
	struct decode_worker *dw = t_worker(16, 0);

	memset(&t_ws, 0, sizeof(t_ws));
	t_run(mk, dw, same, 3, 100);
	assert_int_equal(t_ws.drop_frag_overlap, 3);
	t_run(mk, dw, diff, 4, 200);
	assert_int_equal(t_ws.drop_frag_overlap, 3 + 4);
	t_run(mk, dw, dup, 4, 300);
	assert_int_equal(t_ws.drop_frag_overlap, 7 + 4);
	t_run(mk, dw, last, 3, 400);
	assert_int_equal(t_ws.drop_frag_overlap, 11 + 3);
	assert_int_equal(t_ws.frag_received, 14);
	assert_int_equal(t_ws.frag_reassembled, 0);
	assert_int_equal(t_ws.decode_udp, 0);

	/* after the timeout the fragments are freed but not counted twice */
	t_run(mk, dw, NULL, 0, 0);
	{
		uint8_t b[128];
		struct pkt_meta pm;
		struct rte_mbuf *out;
		uint32_t n = t_v4_tcp(b, PKT_TCP_ACK, NULL, 0);

		assert_int_equal(t_feed(dw, b, n, 1000 + rte_get_tsc_hz(),
		                        &pm, &out), DECODE_OK);
		rte_pktmbuf_free(out);
	}
	decode_flush(dw);
	assert_int_equal(rte_mempool_avail_count(t_pool), T_POOL_SIZE);
	assert_int_equal(t_ws.drop_frag_timeout, 0);

	/* the key is usable again once its entry expired */
	{
		const struct t_step again[] = {
			{ 1, 0, 16, 1, NULL, DECODE_HELD },
			{ 1, 16, 48, 0, NULL, DECODE_OK },
		};
		t_run(mk, dw, again, 2, 1000 + rte_get_tsc_hz());
	}
	assert_int_equal(t_ws.frag_reassembled, 1);
	t_worker_done(dw);
	assert_int_equal(t_ws.frag_held_at_exit, 0);
}

static void
test_overlap_ipv4(void **state)
{
	(void)state;
	t_overlap_cases(t_frag4);
}

static void
test_overlap_ipv6(void **state)
{
	(void)state;
	t_overlap_cases(t_frag6);
}

static void
test_frag_invalid_datagram(void **state)
{
	/* data past the end set by the last fragment */
	const struct t_step past[] = {
		{ 5, 16, 16, 0, NULL, DECODE_HELD },
		{ 5, 32, 16, 1, NULL, DECODE_DROP },
		{ 5, 0, 16, 1, NULL, DECODE_DROP },
	};
	/* last fragment ending before data already held */
	const struct t_step early[] = {
		{ 6, 32, 16, 1, NULL, DECODE_HELD },
		{ 6, 8, 8, 0, NULL, DECODE_DROP },
	};
	struct decode_worker *dw = t_worker(16, 0);

	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	t_run(t_frag4, dw, past, 3, 10);
	assert_int_equal(t_ws.drop_frag_invalid, 3);
	t_run(t_frag4, dw, early, 2, 20);
	assert_int_equal(t_ws.drop_frag_invalid, 5);
	assert_int_equal(t_ws.drop_frag_overlap, 0);

	/* each fragment fits 65535 bytes on its own, but the 60-byte header
	 * of the first plus the data would not (ping of death) */
	{
		static const uint8_t big[32] = { 0 };
		uint8_t nops[40], b[256];
		struct pkt_meta pm;
		struct rte_mbuf *out;
		uint32_t n;

		memset(nops, 1, sizeof(nops));
		n = t_eth(b, 0x0800);
		n += t_ipv4(b + n, 17, NULL, 0, 7, 65480 / 8);
		memcpy(b + n, big, 30);
		n += 30;
		t_ipv4_fix(b + 14, n - 14);
		assert_int_equal(t_feed(dw, b, n, 30, &pm, &out), DECODE_HELD);
		n = t_eth(b, 0x0800);
		n += t_ipv4(b + n, 17, nops, 40, 7, 0x2000);
		memcpy(b + n, t_dgram, 16);
		n += 16;
		t_ipv4_fix(b + 14, n - 14);
		assert_int_equal(t_feed(dw, b, n, 31, &pm, &out), DECODE_DROP);
		assert_int_equal(t_ws.drop_frag_invalid, 7);
	}
	t_worker_done(dw);
	assert_int_equal(t_ws.frag_held_at_exit, 0);
}

/* More fragments than rte_ip_frag keeps (8) */
static void
test_frag_too_many(void **state)
{
	struct t_step st[9];
	struct decode_worker *dw = t_worker(16, 0);
	unsigned i;

	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	for (i = 0; i < 7; i++)
		st[i] = (struct t_step){ 8, 8 + i * 8, 8, 1, NULL,
		                         DECODE_HELD };
	st[6].rc = DECODE_DROP;     /* 7th middle fragment: no slot */
	st[7] = (struct t_step){ 8, 0, 8, 1, NULL, DECODE_DROP };
	t_run(t_frag4, dw, st, 8, 10);
	assert_int_equal(t_ws.drop_frag_too_many, 8);
	assert_int_equal(t_ws.frag_reassembled, 0);
	t_worker_done(dw);
}

static void
test_frag_timeout(void **state)
{
	const struct t_step first[] = {
		{ 9, 0, 32, 1, NULL, DECODE_HELD },
		{ 10, 0, 32, 1, NULL, DECODE_HELD },
	};
	/* the rest of datagram 9 after the timeout: a new, incomplete one */
	const struct t_step rest[] = {
		{ 9, 32, 32, 0, NULL, DECODE_HELD },
	};
	struct decode_worker *dw = t_worker(16, 0);
	uint64_t hz = rte_get_tsc_hz();

	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	t_run(t_frag4, dw, first, 2, 1000);
	/* just before the timeout nothing expires */
	t_run(t_frag4, dw, NULL, 0, 0);
	{
		uint8_t b[128];
		struct pkt_meta pm;
		struct rte_mbuf *out;
		uint32_t n = t_v4_tcp(b, PKT_TCP_ACK, NULL, 0);

		assert_int_equal(t_feed(dw, b, n, 1000 + hz / 20, &pm, &out),
		                 DECODE_OK);
		rte_pktmbuf_free(out);
		decode_flush(dw);
		assert_int_equal(t_ws.drop_frag_timeout, 0);
		/* the timeout is 100 ms; flush expires with the burst time */
		assert_int_equal(t_feed(dw, b, n, 1000 + hz / 5, &pm, &out),
		                 DECODE_OK);
		rte_pktmbuf_free(out);
	}
	decode_flush(dw);
	assert_int_equal(t_ws.drop_frag_timeout, 2);
	assert_int_equal(rte_mempool_avail_count(t_pool), T_POOL_SIZE);
	t_run(t_frag4, dw, rest, 1, 1000 + hz / 5);
	assert_int_equal(t_ws.frag_reassembled, 0);
	decode_drain(dw);
	assert_int_equal(t_ws.frag_held_at_exit, 1);
	t_worker_done(dw);
	assert_int_equal(t_ws.frag_held_at_exit, 1);
}

static void
test_frag_table_full(void **state)
{
	/* a full table ends the datagram begun longest ago, not the new
	 * one (each step one TSC tick later) */
	const struct t_step st[] = {
		{ 11, 0, 32, 1, NULL, DECODE_HELD },
		{ 12, 0, 32, 1, NULL, DECODE_HELD },
		{ 13, 0, 32, 1, NULL, DECODE_HELD },    /* 11 evicted */
		{ 12, 32, 32, 0, NULL, DECODE_OK },     /* 12 was not */
		{ 11, 32, 32, 0, NULL, DECODE_HELD },   /* 11 begins again */
	};
	struct decode_worker *dw = t_worker(2, 0);

	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	t_run(t_frag4, dw, st, 5, 10);
	assert_int_equal(t_ws.frag_evicted, 1);
	assert_int_equal(t_ws.drop_frag_evicted, 1);
	assert_int_equal(t_ws.drop_frag_table_full, 0);
	assert_int_equal(t_ws.frag_reassembled, 1);
	t_worker_done(dw);
	assert_int_equal(t_ws.frag_held_at_exit, 2);
}

/* One source may have source_share_pct of the table in progress: its
 * next datagram is refused, others' are not. */
static void
test_frag_source_share(void **state)
{
	struct decode_conf c = {
		.frag_max_datagrams = 4,
		.frag_timeout_ms = 100,
		.source_share_pct = 50,
	};
	const struct t_step st[] = {
		{ 21, 0, 32, 1, NULL, DECODE_HELD },
		{ 22, 0, 32, 1, NULL, DECODE_HELD },
		{ 23, 0, 32, 1, NULL, DECODE_DROP },    /* its share: 2 of 4 */
		{ 21, 32, 32, 0, NULL, DECODE_OK },
		{ 23, 0, 32, 1, NULL, DECODE_HELD },
	};
	struct decode_worker *dw = decode_worker_create(&c, SOCKET_ID_ANY,
	                                                &t_ws);

	(void)state;
	assert_non_null(dw);
	memset(&t_ws, 0, sizeof(t_ws));
	t_run(t_frag4, dw, st, 5, 10);
	assert_int_equal(t_ws.drop_frag_share, 1);
	assert_int_equal(t_ws.frag_evicted, 0);
	t_worker_done(dw);
	assert_int_equal(t_ws.frag_held_at_exit, 2);
}

static void
test_frag_disabled_and_unsupported(void **state)
{
	struct decode_worker *dw = t_worker(0, 0);
	struct pkt_meta pm;
	struct rte_mbuf *out;
	uint8_t b[256];
	uint32_t n;

	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	n = t_frag4(b, 1, 0, 16, 1, NULL);
	assert_int_equal(t_feed(dw, b, n, 1, &pm, &out), DECODE_DROP);
	assert_int_equal(t_ws.drop_frag_table_full, 1);
	t_worker_done(dw);

	/* IPv6 fragment header after a destination-options header */
	dw = t_worker(4, 0);
	n = t_eth(b, 0x86dd);
	n += t_ipv6(b + n, 60);
	n += t_ipv6_ext(b + n, 44, 0);
	n += t_ipv6_frag(b + n, 17, 0, 1, 1);
	memcpy(b + n, t_dgram, 16);
	n += 16;
	t_ipv6_fix(b + 14, n - 54);
	assert_int_equal(t_feed(dw, b, n, 1, &pm, &out), DECODE_DROP);
	assert_int_equal(t_ws.drop_frag_unsupported, 1);
	t_worker_done(dw);
}

/*
 * Random fragment storms (overlaps, duplicates, holes, too many, a table of
 * 3 for 6 ids, time jumps): every fragment received ends up counted exactly
 * once - dropped for one reason, in a reassembled chain, or held at exit -
 * and every mbuf returns to the pool.
 */
static void
t_storm(t_frag_fn mk, uint32_t seed)
{
	struct decode_worker *dw = t_worker(3, 0);
	uint64_t now = 1000, in_chains = 0, dropped;
	uint8_t b[256], data[64];
	struct pkt_meta pm;
	struct rte_mbuf *m;
	uint32_t i, k, n, ofs, len;
	int rc, more;

	memset(&t_ws, 0, sizeof(t_ws));
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		ofs = (seed >> 4) % 6 * 8;
		more = (seed >> 8) % 3 != 0;
		len = more ? ((seed >> 12) % 3 + 1) * 8 : (seed >> 12) % 17 + 1;
		for (k = 0; k < len; k++)
			data[k] = (seed >> 20) % 4 == 0 ? (uint8_t)(seed + k) :
			          t_dgram[(ofs + k) % T_DGRAM_LEN];
		n = mk(b, (seed >> 16) % 6, ofs, len, more, data);
		if ((seed >> 24) % 64 == 0)
			now += rte_get_tsc_hz() / 5;    /* past the timeout */
		m = t_mbuf(b, n);
		rc = decode_packet(dw, &m, &pm, now++);
		if (pm.reassembled)
			in_chains += m->nb_segs;
		if (rc != DECODE_HELD)
			rte_pktmbuf_free(m);
		if (i % 32 == 31)
			decode_flush(dw);
	}
	decode_drain(dw);
	dropped = t_ws.drop_frag_overlap + t_ws.drop_frag_invalid +
	          t_ws.drop_frag_too_many + t_ws.drop_frag_table_full +
	          t_ws.drop_frag_timeout + t_ws.drop_frag_evicted +
	          t_ws.drop_frag_share;
	assert_int_equal(t_ws.frag_received,
	                 dropped + t_ws.frag_held_at_exit + in_chains);
	assert_true(t_ws.frag_reassembled > 0);
	assert_true(t_ws.drop_frag_overlap > 0);
	assert_true(t_ws.frag_evicted > 0);
	t_worker_done(dw);
}

static void
test_frag_storm(void **state)
{
	(void)state;
	t_storm(t_frag4, 1);
	t_storm(t_frag6, 2);
}

static void
test_checksum_verify(void **state)
{
	struct decode_worker *on = t_worker(4, 1), *off = t_worker(4, 0);
	struct pkt_meta pm;
	struct rte_mbuf *out;
	uint8_t b[128];
	uint32_t n = t_v4_tcp(b, PKT_TCP_ACK, NULL, 0);

	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	assert_int_equal(t_feed(on, b, n, 1, &pm, &out), DECODE_OK);
	rte_pktmbuf_free(out);
	b[14 + 8] = 63;         /* TTL changed, checksum stale */
	assert_int_equal(t_feed(on, b, n, 1, &pm, &out), DECODE_DROP);
	assert_int_equal(t_ws.drop_ipv4_bad_checksum, 1);
	assert_int_equal(t_feed(off, b, n, 1, &pm, &out), DECODE_OK);
	rte_pktmbuf_free(out);
	/* a fragment with a bad checksum never reaches the table */
	n = t_frag4(b, 1, 0, 16, 1, NULL);
	b[14 + 8] = 1;
	assert_int_equal(t_feed(on, b, n, 1, &pm, &out), DECODE_DROP);
	assert_int_equal(t_ws.drop_ipv4_bad_checksum, 2);
	assert_int_equal(t_ws.frag_received, 0);
	t_worker_done(on);
	t_worker_done(off);
}

static void
test_nic_checksum_verdicts(void **state)
{
	struct decode_worker *dw = t_worker(4, 0);
	struct pkt_meta pm;
	struct rte_mbuf *m;
	uint8_t b[128];
	uint32_t n = t_v4_tcp(b, PKT_TCP_ACK, NULL, 0);

	(void)state;
	memset(&t_ws, 0, sizeof(t_ws));
	/* The NIC says the TCP checksum is bad: the receiver's stack would
	 * discard the segment, so it is not inspected as if read. */
	m = t_mbuf(b, n);
	m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
	assert_int_equal(decode_packet(dw, &m, &pm, 1), DECODE_DROP);
	rte_pktmbuf_free(m);
	assert_int_equal(t_ws.drop_l4_bad_checksum, 1);
	m = t_mbuf(b, n);
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
	assert_int_equal(decode_packet(dw, &m, &pm, 1), DECODE_DROP);
	rte_pktmbuf_free(m);
	assert_int_equal(t_ws.drop_ipv4_bad_checksum, 1);
	/* good or unknown (virtual ports): decoded as usual */
	m = t_mbuf(b, n);
	m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	assert_int_equal(decode_packet(dw, &m, &pm, 1), DECODE_OK);
	rte_pktmbuf_free(m);
	t_worker_done(dw);
}

int
main(void)
{
	char *eal_argv[] = { "test_decode", "--no-huge", "-m", "256",
	                     "--no-shconf", "--no-pci", "-l", "0",
	                     "--log-level=error", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ipv4_tcp_fields, t_setup),
		cmocka_unit_test_setup(test_vlan_and_qinq, t_setup),
		cmocka_unit_test_setup(test_ipv4_options_ok, t_setup),
		cmocka_unit_test_setup(test_tcp_window_scale, t_setup),
		cmocka_unit_test_setup(test_tcp_options_ok, t_setup),
		cmocka_unit_test_setup(test_padding_not_payload, t_setup),
		cmocka_unit_test_setup(test_ipv6_tcp_and_ext_chain, t_setup),
		cmocka_unit_test_setup(test_icmp_ok, t_setup),
		cmocka_unit_test_setup(test_not_ip, t_setup),
		cmocka_unit_test_setup(test_drop_l2, t_setup),
		cmocka_unit_test_setup(test_drop_ipv4, t_setup),
		cmocka_unit_test_setup(test_drop_ipv6, t_setup),
		cmocka_unit_test_setup(test_drop_tcp, t_setup),
		cmocka_unit_test_setup(test_drop_udp_icmp_other, t_setup),
		cmocka_unit_test_setup(test_headers_in_first_segment, t_setup),
		cmocka_unit_test_setup(test_fragment_parse, t_setup),
		cmocka_unit_test_setup(test_random_frames, t_setup),
		cmocka_unit_test_setup(test_reassemble_ipv4_in_order, t_setup),
		cmocka_unit_test_setup(test_reassemble_ipv4_out_of_order,
		                       t_setup),
		cmocka_unit_test_setup(test_reassemble_ipv6, t_setup),
		cmocka_unit_test_setup(test_reassemble_vlan_and_padding,
		                       t_setup),
		cmocka_unit_test_setup(test_reassemble_tiny_first_fragment,
		                       t_setup),
		cmocka_unit_test_setup(test_reassemble_tcp_checksum, t_setup),
		cmocka_unit_test_setup(test_overlap_ipv4, t_setup),
		cmocka_unit_test_setup(test_overlap_ipv6, t_setup),
		cmocka_unit_test_setup(test_frag_invalid_datagram, t_setup),
		cmocka_unit_test_setup(test_frag_too_many, t_setup),
		cmocka_unit_test_setup(test_frag_timeout, t_setup),
		cmocka_unit_test_setup(test_frag_table_full, t_setup),
		cmocka_unit_test_setup(test_frag_source_share, t_setup),
		cmocka_unit_test_setup(test_frag_disabled_and_unsupported,
		                       t_setup),
		cmocka_unit_test_setup(test_frag_storm, t_setup),
		cmocka_unit_test_setup(test_checksum_verify, t_setup),
		cmocka_unit_test_setup(test_nic_checksum_verdicts, t_setup),
	};

	if (rte_eal_init((int)RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "test_decode: rte_eal_init failed\n");
		return 1;
	}
	t_pool = rte_pktmbuf_pool_create("test_decode", T_POOL_SIZE, 0, 0,
	                                 RTE_MBUF_DEFAULT_BUF_SIZE,
	                                 SOCKET_ID_ANY);
	if (t_pool == NULL) {
		fprintf(stderr, "test_decode: mbuf pool failed\n");
		return 1;
	}
	t_dgram_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
