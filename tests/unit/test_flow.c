/*
 * test_flow.c - flow table: one entry per connection, direction, TCP
 * state, capacity and eviction, timeouts, blocked flows.
 *
 * HTTP is replaced (--wrap) by a recorder, as in test_stream.c; a client
 * stream containing "EVIL" gets a drop verdict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>

#include "dpdk_env.h"
#include "flow.h"
#include "wrap_http.h"


static struct detect_tuple last_tuple;

int
__wrap_http_request_data(struct http_worker *hw, struct http_flow *hf,
                         const uint8_t *data, uint32_t len,
                         const struct detect_tuple *t,
                         struct detect_result *res)
{
	(void)hw; (void)hf;
	last_tuple = *t;
	if (memmem(data, len, "EVIL", 4) != NULL)
		res->verdict = DETECT_DROP;
	return HTTP_CONTINUE;
}

int
__wrap_http_probe_request(const uint8_t *data, uint32_t len)
{
	(void)data; (void)len;
	return 1;
}

void
__wrap_http_flow_release(struct http_worker *hw, struct http_flow *hf)
{
	(void)hw; (void)hf;
}

int
__wrap_http_response_data(struct http_worker *hw, struct http_flow *hf,
                          const uint8_t *data, uint32_t len,
                          const struct detect_tuple *t,
                          struct detect_result *res)
{
	(void)t; (void)res;
	(void)hw; (void)hf; (void)data; (void)len;
	return HTTP_CONTINUE;
}

int
__wrap_http_inspects_responses(const struct http_worker *hw,
                               const struct http_flow *hf)
{
	(void)hw; (void)hf;
	return 0;
}

void
__wrap_http_response_gap(struct http_worker *hw, struct http_flow *hf)
{
	(void)hw; (void)hf;
}

#define HZ 1000000ull   /* fake TSC rate: 1 tick = 1 us */
#define HDR 54

/* Which port a host's packets come in on: hosts below 20 are on the
 * public side, the rest (the pods) on the private side.  side_any makes
 * every packet arrive as in replay, where one port carries both. */
static int side_any;

static struct worker_stats ws;
static struct stream_worker *sw;
static struct flow_table *ft;
static struct pkt_ctx ctx;
static const uint16_t http_ports[] = { 80, 8080 };

static void
make_table(uint32_t capacity, int evict, int bypass_midstream)
{
	static unsigned n;
	struct stream_conf sc = { .held_per_flow = 8,
	                          .kept_bytes_per_flow = 65536,
	                          .kept_segs_per_flow = 128, .held_total = 256,
	                          .kept_bytes_total = 1u << 20,
	                          .kept_segs_total = 1024,
	                          .drop_on_hold_full = 1 };
	struct flow_conf fc = {
		.capacity = capacity, .timeout_syn_s = 5,
		.timeout_established_s = 100, .timeout_closed_s = 2,
		.timeout_udp_s = 30, .evict_when_full = (uint8_t)evict,
		.bypass_midstream = (uint8_t)bypass_midstream, .http_probe = 1,
		.http_ports = http_ports, .n_http_ports = 2, .tsc_hz = HZ,
		.worker_id = n++, .socket = 0,
	};

	memset(&ws, 0, sizeof(ws));
	side_any = 0;
	sw = stream_worker_create(&sc, NULL, NULL, &ws);
	assert_non_null(sw);
	ft = flow_table_create(&fc, sw, &ws);
	assert_non_null(ft);
}

static int
teardown(void **state)
{
	(void)state;
	flow_table_free(ft);
	stream_worker_free(sw);
	assert_int_equal(rte_mempool_in_use_count(test_pool), 0);
	return 0;
}

static void
addr4(uint8_t a[16], uint8_t last)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	                                    0xff, 0xff };

	memcpy(a, prefix, 12);
	a[12] = 192; a[13] = 0; a[14] = 2; a[15] = last;
}

/* Send a packet from host `from` to host `to`; returns the fate of the
 * packet itself (it is freed here, as TX or the verdict stage would). */
static int
send_pkt(uint8_t from, uint16_t sport, uint8_t to, uint16_t dport,
         uint8_t proto, uint8_t flags, uint32_t seq, uint32_t ack,
         const char *data, uint64_t now)
{
	size_t len = data != NULL ? strlen(data) : 0;
	struct rte_mbuf *m = rte_pktmbuf_alloc(test_pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(HDR + len));
	int fate = -1;

	memcpy(p + HDR, data != NULL ? data : "", len);
	pkt_ctx_reset(&ctx);
	ctx.in_side = side_any ? PKT_SIDE_ANY
	            : from < 20 ? PKT_SIDE_PUBLIC : PKT_SIDE_PRIVATE;
	memset(&ctx.pm, 0, sizeof(ctx.pm));
	addr4(ctx.pm.src, from);
	addr4(ctx.pm.dst, to);
	ctx.pm.sport = sport;
	ctx.pm.dport = dport;
	ctx.pm.proto = proto;
	ctx.pm.ip_version = 4;
	ctx.pm.tcp_flags = flags;
	ctx.pm.seq = seq;
	ctx.pm.ack = ack;
	ctx.pm.payload_off = HDR;
	ctx.pm.payload_len = (uint32_t)len;
	flow_input(ft, m, &ctx, now);
	for (unsigned i = 0; i < ctx.n_emit; i++) {
		if (ctx.emit[i].m == m)
			fate = ctx.emit[i].fate;
		rte_pktmbuf_free(ctx.emit[i].m);
	}
	return fate;
}

/* Client host 10 port 40000 connects to server host 20 port 80. */
static void
handshake(uint16_t cport, uint64_t now)
{
	assert_int_equal(send_pkt(10, cport, 20, 80, IPPROTO_TCP, PKT_TCP_SYN,
	                          100, 0, NULL, now), PKT_FORWARD);
	assert_int_equal(send_pkt(20, 80, 10, cport, IPPROTO_TCP,
	                          PKT_TCP_SYN | PKT_TCP_ACK, 500, 101, NULL,
	                          now), PKT_FORWARD);
	assert_int_equal(send_pkt(10, cport, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          101, 501, NULL, now), PKT_FORWARD);
}

static void
test_both_directions_share_one_flow(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	handshake(40000, 1);
	assert_int_equal(flow_count(ft), 1);
	assert_int_equal(ws.flow_created, 1);
	/* direction: the server's packet is not to_server */
	send_pkt(20, 80, 10, 40000, IPPROTO_TCP, PKT_TCP_ACK, 501, 101, NULL, 2);
	assert_false(ctx.to_server);
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK, 101, 501, "GET /", 3);
	assert_true(ctx.to_server);
	/* detection sees the tuple from the client's side */
	assert_int_equal(last_tuple.sport, 40000);
	assert_int_equal(last_tuple.dport, 80);
	assert_int_equal(last_tuple.src[15], 10);
}

static void
test_midstream_dropped_by_default(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	assert_int_equal(send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          101, 501, "GET /", 1), PKT_DROP);
	assert_int_equal(ws.drop_flow_midstream, 1);
	assert_int_equal(flow_count(ft), 0);
}

static void
test_midstream_bypass_forwards_uninspected(void **state)
{
	(void)state;
	make_table(16, 1, 1);
	memset(&last_tuple, 0, sizeof(last_tuple));
	assert_int_equal(send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          101, 501, "GET /EVIL", 1), PKT_FORWARD);
	assert_int_equal(last_tuple.sport, 0);      /* never inspected */
	assert_int_equal(flow_count(ft), 1);
}

static void
test_data_before_handshake_completes_dropped(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_SYN, 100, 0, NULL, 1);
	assert_int_equal(send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          101, 0, "GET /", 1), PKT_DROP);
	assert_int_equal(ws.drop_tcp_state, 1);
}

static void
test_table_full_evicts_oldest(void **state)
{
	(void)state;
	make_table(4, 1, 0);
	for (uint16_t i = 0; i < 6; i++)
		handshake((uint16_t)(40000 + i), 10 + i);
	assert_int_equal(flow_count(ft), 4);
	assert_int_equal(ws.flow_evicted, 2);
	/* The newest flow is still tracked: its data is inspected. */
	assert_int_equal(send_pkt(10, 40005, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          101, 501, "GET /", 20), PKT_FORWARD);
}

static void
test_table_full_drop_policy(void **state)
{
	(void)state;
	make_table(2, 0, 0);
	handshake(40000, 1);
	handshake(40001, 1);
	assert_int_equal(send_pkt(10, 40002, 20, 80, IPPROTO_TCP, PKT_TCP_SYN,
	                          100, 0, NULL, 2), PKT_DROP);
	assert_int_equal(ws.drop_flow_table_full, 1);
	assert_int_equal(flow_count(ft), 2);
}

static void
test_idle_flows_expire_per_state(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	handshake(40000, 0);                                 /* established */
	send_pkt(10, 40001, 20, 80, IPPROTO_TCP, PKT_TCP_SYN, 100, 0, NULL, 0);
	assert_int_equal(flow_count(ft), 2);
	flow_expire(ft, 6 * HZ, 64, &ctx);     /* past syn (5 s), not established */
	assert_int_equal(flow_count(ft), 1);
	assert_int_equal(ws.flow_timed_out, 1);
	flow_expire(ft, 99 * HZ, 64, &ctx);
	assert_int_equal(flow_count(ft), 1);
	flow_expire(ft, 101 * HZ, 64, &ctx);
	assert_int_equal(flow_count(ft), 0);
}

static void
test_closed_flow_reused_by_new_syn(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	handshake(40000, 1);
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_RST | PKT_TCP_ACK,
	         101, 501, NULL, 2);
	handshake(40000, 3);
	assert_int_equal(ws.flow_reused, 1);
	assert_int_equal(flow_count(ft), 1);
}

static void
test_blocked_flow_drops_both_directions(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	handshake(40000, 1);
	assert_int_equal(send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          101, 501, "GET /EVIL", 2), PKT_DROP);
	assert_int_equal(send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          110, 501, "more", 3), PKT_DROP);
	assert_int_equal(send_pkt(20, 80, 10, 40000, IPPROTO_TCP, PKT_TCP_ACK,
	                          501, 101, "HTTP/1.1 200", 3), PKT_DROP);
	assert_int_equal(ws.drop_rule, 1);
	assert_int_equal(ws.drop_flow_blocked, 2);
}

static void
test_udp_tracked_and_forwarded(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	assert_int_equal(send_pkt(10, 5353, 20, 53, IPPROTO_UDP, 0, 0, 0,
	                          "q", 1), PKT_FORWARD);
	assert_int_equal(send_pkt(20, 53, 10, 5353, IPPROTO_UDP, 0, 0, 0,
	                          "a", 1), PKT_FORWARD);
	assert_int_equal(flow_count(ft), 1);
}

static void
test_forged_server_packet_from_public_side_dropped(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	handshake(40000, 1);
	/* A RST "from the server" that came in on the public port. */
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(test_pool);

		rte_pktmbuf_append(m, HDR);
		pkt_ctx_reset(&ctx);
		ctx.in_side = PKT_SIDE_PUBLIC;
		memset(&ctx.pm, 0, sizeof(ctx.pm));
		addr4(ctx.pm.src, 20);
		addr4(ctx.pm.dst, 10);
		ctx.pm.sport = 80;
		ctx.pm.dport = 40000;
		ctx.pm.proto = IPPROTO_TCP;
		ctx.pm.ip_version = 4;
		ctx.pm.tcp_flags = PKT_TCP_RST | PKT_TCP_ACK;
		ctx.pm.seq = 501;
		ctx.pm.payload_off = HDR;
		flow_input(ft, m, &ctx, 2);
		assert_int_equal(ctx.n_emit, 1);
		assert_int_equal(ctx.emit[0].fate, PKT_DROP);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(ws.drop_flow_wrong_side, 1);
	/* the connection lives on: its data is still inspected */
	assert_int_equal(send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          101, 501, "GET /EVIL", 3), PKT_DROP);
	assert_int_equal(ws.drop_rule, 1);
}

static void
test_forged_syn_from_server_address_cannot_flip_roles(void **state)
{
	(void)state;
	/* Replay (no ports): a SYN forged from the server's address:port
	 * creates a flow whose "client" is the server; a forged RST would
	 * close it.  The real client's SYN must then start a new flow with
	 * the real client, so its request is inspected. */
	make_table(16, 1, 0);
	side_any = 1;
	send_pkt(20, 80, 10, 40000, IPPROTO_TCP, PKT_TCP_SYN, 7000, 0, NULL, 1);
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_RST, 0, 0, NULL, 1);
	handshake(40000, 2);
	assert_true(ctx.to_server);
	assert_int_equal(send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          101, 501, "GET /EVIL", 3), PKT_DROP);
	assert_int_equal(ws.drop_rule, 1);
}

static void
test_out_of_window_rst_does_not_close(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	handshake(40000, 1);
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_RST, 99999, 0, NULL, 2);
	assert_int_equal(ws.flow_rst_ignored, 1);
	/* still established: not expired on the 2 s closed timeout */
	flow_expire(ft, 5 * HZ, 64, &ctx);
	assert_int_equal(flow_count(ft), 1);
	/* an exact RST closes it */
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_RST, 101, 0, NULL, 6);
	flow_expire(ft, 9 * HZ, 64, &ctx);
	assert_int_equal(flow_count(ft), 0);
	assert_int_equal(ws.flow_closed, 1);
}

static void
test_syn_ack_pins_client_sequence(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	/* First SYN (isn 100) was dropped by the server, e.g. bad checksum;
	 * the server answers a second SYN (isn 5000). */
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_SYN, 100, 0, NULL, 1);
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_SYN, 5000, 0, NULL, 1);
	send_pkt(20, 80, 10, 40000, IPPROTO_TCP, PKT_TCP_SYN | PKT_TCP_ACK, 500,
	         5001, NULL, 1);
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK, 5001, 501, NULL, 1);
	/* The request at 5001 is the stream's start: inspected, blocked. */
	assert_int_equal(send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK,
	                          5001, 501, "GET /EVIL", 2), PKT_DROP);
}

static void
test_ipv4_mapped_ipv6_is_another_flow(void **state)
{
	(void)state;
	make_table(16, 1, 0);
	handshake(40000, 1);
	send_pkt(10, 40000, 20, 80, IPPROTO_TCP, PKT_TCP_ACK, 101, 501, NULL, 2);
	assert_int_equal(flow_count(ft), 1);
	/* same 16-byte addresses, but an IPv6 packet: not the IPv4 flow */
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(test_pool);

		rte_pktmbuf_append(m, HDR);
		pkt_ctx_reset(&ctx);
		ctx.in_side = PKT_SIDE_PUBLIC;
		memset(&ctx.pm, 0, sizeof(ctx.pm));
		addr4(ctx.pm.src, 10);
		addr4(ctx.pm.dst, 20);
		ctx.pm.sport = 40000;
		ctx.pm.dport = 80;
		ctx.pm.proto = IPPROTO_TCP;
		ctx.pm.ip_version = 6;
		ctx.pm.tcp_flags = PKT_TCP_SYN;
		ctx.pm.payload_off = HDR;
		flow_input(ft, m, &ctx, 3);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(flow_count(ft), 2);
}

static void
test_symmetric_hash(void **state)
{
	struct pkt_meta a = { 0 }, b = { 0 };

	(void)state;
	addr4(a.src, 1); addr4(a.dst, 2); a.sport = 1234; a.dport = 80;
	a.proto = IPPROTO_TCP;
	addr4(b.src, 2); addr4(b.dst, 1); b.sport = 80; b.dport = 1234;
	b.proto = IPPROTO_TCP;
	assert_int_equal(flow_symmetric_hash(&a, 7), flow_symmetric_hash(&b, 7));
	b.sport = 81;
	assert_int_not_equal(flow_symmetric_hash(&a, 7),
	                     flow_symmetric_hash(&b, 7));
	/* keyed: the seed changes where a tuple lands */
	assert_int_not_equal(flow_symmetric_hash(&a, 7),
	                     flow_symmetric_hash(&a, 8));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_both_directions_share_one_flow, teardown),
		cmocka_unit_test_teardown(test_midstream_dropped_by_default, teardown),
		cmocka_unit_test_teardown(test_midstream_bypass_forwards_uninspected, teardown),
		cmocka_unit_test_teardown(test_data_before_handshake_completes_dropped, teardown),
		cmocka_unit_test_teardown(test_table_full_evicts_oldest, teardown),
		cmocka_unit_test_teardown(test_table_full_drop_policy, teardown),
		cmocka_unit_test_teardown(test_idle_flows_expire_per_state, teardown),
		cmocka_unit_test_teardown(test_closed_flow_reused_by_new_syn, teardown),
		cmocka_unit_test_teardown(test_blocked_flow_drops_both_directions, teardown),
		cmocka_unit_test_teardown(test_udp_tracked_and_forwarded, teardown),
		cmocka_unit_test_teardown(test_forged_server_packet_from_public_side_dropped, teardown),
		cmocka_unit_test_teardown(test_forged_syn_from_server_address_cannot_flip_roles, teardown),
		cmocka_unit_test_teardown(test_out_of_window_rst_does_not_close, teardown),
		cmocka_unit_test_teardown(test_syn_ack_pins_client_sequence, teardown),
		cmocka_unit_test_teardown(test_ipv4_mapped_ipv6_is_another_flow, teardown),
		cmocka_unit_test(test_symmetric_hash),
	};

	test_dpdk_init(1024);
	if (stream_register_dynfield() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
