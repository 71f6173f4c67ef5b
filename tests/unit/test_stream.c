/*
 * test_stream.c - TCP reassembly: what reaches inspection, in what order,
 * and what is forwarded, held or dropped.
 *
 * HTTP is replaced (--wrap) by a recorder that appends every byte it is
 * handed to `inspected`, so each test checks the exact stream detection
 * saw.  A recorded stream containing "EVIL" makes the recorder report the
 * configured verdict; "POLICY" makes it report a policy drop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "dpdk_env.h"
#include "stream.h"
#include "wrap_http.h"

/* ---- HTTP recorder ------------------------------------------------------ */

static char inspected[8192];
static size_t inspected_len;
static uint8_t verdict_on_evil = DETECT_DROP;
static unsigned http_releases;


int
__wrap_http_request_data(struct http_worker *hw, struct http_flow *hf,
                         const uint8_t *data, uint32_t len,
                         const struct detect_tuple *t,
                         struct detect_result *res)
{
	(void)hw; (void)hf; (void)t;
	assert_true(inspected_len + len < sizeof(inspected));
	memcpy(inspected + inspected_len, data, len);
	inspected_len += len;
	inspected[inspected_len] = '\0';
	if (strstr(inspected, "POLICY") != NULL)
		return HTTP_DROP_POLICY;
	if (strstr(inspected, "EVIL") != NULL)
		res->verdict = verdict_on_evil;
	return HTTP_CONTINUE;
}

int
__wrap_http_probe_request(const uint8_t *data, uint32_t len)
{
	return len >= 4 && memcmp(data, "GET ", 4) == 0;
}

void
__wrap_http_flow_release(struct http_worker *hw, struct http_flow *hf)
{
	(void)hw; (void)hf;
	http_releases++;
}

/* Server bytes handed to the response tracker, and gaps reported. */
static char responded[4096];
static size_t responded_len;
static unsigned response_gaps;

int
__wrap_http_response_data(struct http_worker *hw, struct http_flow *hf,
                          const uint8_t *data, uint32_t len,
                          const struct detect_tuple *t,
                          struct detect_result *res)
{
	(void)t; (void)res;
	(void)hw; (void)hf;
	assert_true(responded_len + len < sizeof(responded));
	memcpy(responded + responded_len, data, len);
	responded_len += len;
	responded[responded_len] = '\0';
	return strstr(responded, "101") != NULL ? HTTP_TUNNEL : HTTP_CONTINUE;
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
	response_gaps++;
}

/* ---- fixture ------------------------------------------------------------ */

#define HDR 54          /* Ethernet + IPv4 + TCP, contents irrelevant here */
#define CLIENT_ISN 999u
#define SERVER_ISN 4999u

static struct worker_stats ws;
static struct stream_worker *sw;
static struct stream_flow sf;
static struct pkt_ctx ctx;

static struct rte_mbuf *
make_segment(const char *data, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(test_pool);
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(HDR + len));
	assert_non_null(p);
	memset(p, 0xee, HDR);
	memcpy(p + HDR, data, len);
	return m;
}

static void
assert_emitted_fate(struct rte_mbuf *m, uint8_t fate)
{
	assert_int_equal(ctx.n_emit, 1);
	assert_ptr_equal(ctx.emit[0].m, m);
	assert_int_equal(ctx.emit[0].fate, fate);
}

/* Feed one segment; returns it (it may be in ctx.emit or held). */
static struct rte_mbuf *
feed(int to_server, uint32_t seq, uint8_t flags, uint32_t ack,
     const char *data)
{
	size_t len = data != NULL ? strlen(data) : 0;
	struct rte_mbuf *m = make_segment(data != NULL ? data : "", len);

	pkt_ctx_reset(&ctx);
	ctx.to_server = (uint8_t)to_server;
	ctx.pm.seq = seq;
	ctx.pm.ack = ack;
	ctx.pm.tcp_flags = flags;
	ctx.pm.window = 0;              /* never clamped: headers are junk */
	ctx.pm.tcp_wscale = PKT_WSCALE_NONE;
	ctx.pm.payload_off = HDR;
	ctx.pm.payload_len = (uint32_t)len;
	stream_input(sw, &sf, m, &ctx);
	return m;
}

/* Ethernet, IPv4, TCP: a real header, for the tests that read it back. */
#define L3 14
#define L4 34

static struct rte_ipv4_hdr *
frame_ip(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, L3);
}

static struct rte_tcp_hdr *
frame_tcp(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, L4);
}

/* The TCP checksum of m's frame is right. */
static bool
cksum_ok(struct rte_mbuf *m)
{
	struct rte_tcp_hdr *th = frame_tcp(m);
	uint16_t sent = th->cksum;
	uint16_t want;

	th->cksum = 0;
	want = rte_ipv4_udptcp_cksum(frame_ip(m), th);
	th->cksum = sent;
	return sent == want;
}

/* Feed a payload-less segment with a real, checksummed header carrying
 * window (as sent) and, on a SYN, the Window Scale shift decode would
 * have read (PKT_WSCALE_NONE: no option).  Returns it, emitted. */
static struct rte_mbuf *
feed_tcp(int to_server, uint32_t seq, uint8_t flags, uint32_t ack,
         uint16_t window, uint8_t wscale)
{
	struct rte_mbuf *m = make_segment("", 0);
	struct rte_ipv4_hdr *ip = frame_ip(m);
	struct rte_tcp_hdr *th = frame_tcp(m);

	memset(rte_pktmbuf_mtod(m, uint8_t *), 0, HDR);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(HDR - L3);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(to_server ? 0xc000020a : 0xc633640a);
	ip->dst_addr = rte_cpu_to_be_32(to_server ? 0xc633640a : 0xc000020a);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;              /* PKT_TCP_* are the wire bits */
	th->rx_win = rte_cpu_to_be_16(window);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	pkt_ctx_reset(&ctx);
	ctx.to_server = (uint8_t)to_server;
	ctx.pm.seq = seq;
	ctx.pm.ack = ack;
	ctx.pm.tcp_flags = flags;
	ctx.pm.l3_off = L3;
	ctx.pm.l4_off = L4;
	ctx.pm.window = window;
	ctx.pm.tcp_wscale = (flags & PKT_TCP_SYN) ? wscale : PKT_WSCALE_NONE;
	ctx.pm.payload_off = HDR;
	ctx.pm.payload_len = 0;
	stream_input(sw, &sf, m, &ctx);
	assert_emitted_fate(m, PKT_FORWARD);
	return m;
}

/* The emitted packets leave the test: free them as TX would. */
static void
release_emitted(void)
{
	for (unsigned i = 0; i < ctx.n_emit; i++)
		rte_pktmbuf_free(ctx.emit[i].m);
	ctx.n_emit = 0;
}

static void
assert_emitted(unsigned i, struct rte_mbuf *m, uint8_t fate)
{
	assert_true(i < ctx.n_emit);
	assert_ptr_equal(ctx.emit[i].m, m);
	assert_int_equal(ctx.emit[i].fate, fate);
}

/* The worker of most tests: kept segments bounded at 8 per flow. */
static const struct stream_conf test_conf = {
	.held_per_flow = 4, .kept_bytes_per_flow = 65536,
	.kept_segs_per_flow = 8, .held_total = 64,
	.kept_bytes_total = 1u << 20, .kept_segs_total = 64,
	.drop_on_hold_full = 1,
};

static void
handshake(void)
{
	feed(1, CLIENT_ISN, PKT_TCP_SYN, 0, NULL);
	release_emitted();
	feed(0, SERVER_ISN, PKT_TCP_SYN | PKT_TCP_ACK, CLIENT_ISN + 1, NULL);
	release_emitted();
	feed(1, CLIENT_ISN + 1, PKT_TCP_ACK, SERVER_ISN + 1, NULL);
	release_emitted();
}

/* Replace the fixture's worker by one with conf, on a fresh flow (no
 * handshake yet). */
static void
use_worker(const struct stream_conf *conf)
{
	stream_flow_release(sw, &sf, 0);
	stream_worker_free(sw);
	sw = stream_worker_create(conf, NULL, NULL, &ws);
	assert_non_null(sw);
	stream_flow_init(&sf, 1, 1);
}

static int
setup(void **state)
{

	(void)state;
	memset(&ws, 0, sizeof(ws));
	inspected_len = 0;
	inspected[0] = '\0';
	verdict_on_evil = DETECT_DROP;
	http_releases = 0;
	responded_len = 0;
	responded[0] = '\0';
	response_gaps = 0;
	sw = stream_worker_create(&test_conf, NULL, NULL, &ws);
	assert_non_null(sw);
	stream_flow_init(&sf, 1, 1);
	handshake();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	stream_flow_release(sw, &sf, 0);
	stream_worker_free(sw);
	/* Every mbuf, held or kept, must be back in the pool. */
	assert_int_equal(rte_mempool_in_use_count(test_pool), 0);
	return 0;
}

#define C(n) (CLIENT_ISN + 1 + (n))   /* client sequence of stream byte n */
#define ACK_S (SERVER_ISN + 1)

/* ---- tests -------------------------------------------------------------- */

static void
test_in_order_inspected_then_forwarded(void **state)
{
	struct rte_mbuf *a, *b;

	(void)state;
	a = feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET / HTTP/1.1\r\n");
	assert_int_equal(ctx.n_emit, 1);
	assert_emitted(0, a, PKT_FORWARD);
	release_emitted();
	b = feed(1, C(16), PKT_TCP_ACK, ACK_S, "Host: x\r\n\r\n");
	assert_emitted(0, b, PKT_FORWARD);
	release_emitted();
	assert_string_equal(inspected, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(ws.stream_bytes_inspected, 27);
}

static void
test_out_of_order_held_until_gap_fills(void **state)
{
	struct rte_mbuf *s1, *s2, *s3;

	(void)state;
	s3 = feed(1, C(8), PKT_TCP_ACK, ACK_S, "CCCC");
	assert_int_equal(ctx.n_emit, 0);            /* held, not forwarded */
	s2 = feed(1, C(4), PKT_TCP_ACK, ACK_S, "BBBB");
	assert_int_equal(ctx.n_emit, 0);
	assert_int_equal(inspected_len, 0);         /* nothing seen early */
	assert_int_equal(ws.stream_segments_held, 2);
	s1 = feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET ");
	assert_int_equal(ctx.n_emit, 3);            /* released in order */
	assert_emitted(0, s1, PKT_FORWARD);
	assert_emitted(1, s2, PKT_FORWARD);
	assert_emitted(2, s3, PKT_FORWARD);
	release_emitted();
	assert_string_equal(inspected, "GET BBBBCCCC");
	assert_int_equal(ws.stream_segments_released, 2);
}

static void
test_identical_retransmission_forwarded_not_reinspected(void **state)
{
	struct rte_mbuf *again;

	(void)state;
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /a");
	release_emitted();
	again = feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /a");
	assert_emitted(0, again, PKT_FORWARD);
	release_emitted();
	assert_string_equal(inspected, "GET /a");
	assert_int_equal(ws.stream_retransmit_same, 1);
}

static void
test_overlap_with_different_bytes_dropped(void **state)
{
	struct rte_mbuf *evil;

	(void)state;
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /index.html");
	release_emitted();
	/* Same sequence range, other bytes: what the server would keep
	 * depends on its stack, so it must never see them. */
	evil = feed(1, C(4), PKT_TCP_ACK, ACK_S, "/etc/passwd");
	assert_emitted(0, evil, PKT_DROP);
	release_emitted();
	assert_int_equal(ws.drop_stream_overlap_mismatch, 1);
	assert_true(ctx.events & PKT_EVENT_OVERLAP_MISMATCH);
	assert_string_equal(inspected, "GET /index.html");
}

static void
test_partial_overlap_checks_old_inspects_new(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /ab");
	release_emitted();
	m = feed(1, C(5), PKT_TCP_ACK, ACK_S, "abcd");  /* "ab" old, "cd" new */
	assert_emitted(0, m, PKT_FORWARD);
	release_emitted();
	assert_string_equal(inspected, "GET /abcd");
	m = feed(1, C(5), PKT_TCP_ACK, ACK_S, "aXcdef");  /* old part differs */
	assert_emitted(0, m, PKT_DROP);
	release_emitted();
	assert_string_equal(inspected, "GET /abcd");
}

static void
test_retransmission_of_acked_bytes_passes(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /x");
	release_emitted();
	/* The server acknowledges all six bytes: they are delivered, kept
	 * copies are released, and a retransmission cannot change them. */
	feed(0, ACK_S, PKT_TCP_ACK, C(6), NULL);
	release_emitted();
	m = feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /y");
	assert_emitted(0, m, PKT_FORWARD);
	release_emitted();
	assert_string_equal(inspected, "GET /x");
}

static void
test_unverifiable_overlap_dropped(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	/* Bytes forwarded while the flow was not inspected (raw-stream
	 * rules loaded by a reload mid-flow) were never kept: a
	 * retransmission of them, not acknowledged yet, cannot be checked. */
	stream_flow_release(sw, &sf, 0);
	stream_flow_init(&sf, 0, 0);
	handshake();
	m = feed(1, C(0), PKT_TCP_ACK, ACK_S, "aaaa");
	assert_emitted(0, m, PKT_FORWARD);
	release_emitted();
	assert_null(sf.dir[STREAM_CLIENT].kept);
	sf.inspect = 1;
	m = feed(1, C(0), PKT_TCP_ACK, ACK_S, "aaaa");
	assert_emitted(0, m, PKT_DROP);
	release_emitted();
	assert_int_equal(ws.drop_stream_unverifiable, 1);
}

/* The client sends data at seq; it alone leaves, with fate. */
static void
client_sends(uint32_t seq, const char *data, uint8_t fate)
{
	struct rte_mbuf *m = feed(1, seq, PKT_TCP_ACK, ACK_S, data);

	assert_emitted_fate(m, fate);
	release_emitted();
}

static void
server_acks(uint32_t ack)
{
	feed(0, ACK_S, PKT_TCP_ACK, ack, NULL);
	release_emitted();
}

/* A segment lost after the gateway: the client goes on sending (its
 * window is larger than the 4 segments the hold limit allows, the old
 * keep budget), then retransmits it.  Its bytes are still kept, so the
 * retransmission is checked and forwarded. */
static void
test_lost_segment_retransmission_forwarded(void **state)
{
	char seg[8];

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		snprintf(seg, sizeof(seg), "seg%u.", i);
		client_sends(C(5 * i), seg, PKT_FORWARD);
		/* the server lacks segment 0: it acknowledges nothing new */
		server_acks(C(0));
	}
	assert_int_equal(sf.dir[STREAM_CLIENT].kept_bytes, 40);
	client_sends(C(0), "seg0.", PKT_FORWARD);
	client_sends(C(0), "segX.", PKT_DROP);
	assert_int_equal(ws.stream_retransmit_same, 1);
	assert_int_equal(ws.drop_stream_overlap_mismatch, 1);
	assert_int_equal(ws.drop_stream_unverifiable, 0);
	/* all acknowledged: nothing kept any more */
	server_acks(C(40));
	assert_int_equal(sf.dir[STREAM_CLIENT].kept_bytes, 0);
	assert_null(sf.dir[STREAM_CLIENT].kept);
}

/* Kept bytes are exactly the unacknowledged ones: an acknowledged head
 * of a segment, and the already-checked part of a retransmission that
 * carries new bytes too, are not counted. */
static void
test_kept_bytes_are_the_unacked_bytes(void **state)
{
	(void)state;
	client_sends(C(0), "0123456789", PKT_FORWARD);
	client_sends(C(10), "abcdefghij", PKT_FORWARD);
	assert_int_equal(sf.dir[STREAM_CLIENT].kept_bytes, 20);
	server_acks(C(15));
	assert_int_equal(sf.dir[STREAM_CLIENT].kept_bytes, 5);
	/* "fghij" checked, "KLM" new */
	client_sends(C(15), "fghijKLM", PKT_FORWARD);
	assert_int_equal(sf.dir[STREAM_CLIENT].kept_bytes, 8);
	assert_int_equal(sf.dir[STREAM_CLIENT].n_kept, 2);
	/* a later retransmission of all of it is checked against both */
	client_sends(C(15), "fghijKLM", PKT_FORWARD);
	client_sends(C(15), "fghijKLN", PKT_DROP);
	assert_string_equal(inspected, "0123456789abcdefghijKLM");
	assert_int_equal(ws.stream_retransmit_same, 2);
}

/* New bytes that cannot be kept are dropped before inspection, whatever
 * bound is reached, and come through once acknowledgements free room. */
static void
test_keep_limits_drop_before_inspection(void **state)
{
	struct stream_conf per_flow = test_conf, per_worker = test_conf;

	(void)state;
	/* mbufs per flow: test_conf keeps 8 segments */
	for (unsigned i = 0; i < 8; i++)
		client_sends(C(i), "x", PKT_FORWARD);
	feed(1, C(8), PKT_TCP_ACK, ACK_S, "y");
	assert_int_equal(ctx.emit[0].fate, PKT_DROP);
	assert_true(ctx.events & PKT_EVENT_KEEP_FULL);
	release_emitted();
	assert_int_equal(ws.drop_stream_kept_full, 1);
	assert_int_equal(inspected_len, 8);
	server_acks(C(1));
	client_sends(C(8), "y", PKT_FORWARD);
	assert_string_equal(inspected, "xxxxxxxxy");

	/* bytes per flow */
	per_flow.kept_bytes_per_flow = 10;
	use_worker(&per_flow);
	handshake();
	client_sends(C(0), "12345678", PKT_FORWARD);
	client_sends(C(8), "abc", PKT_DROP);
	client_sends(C(8), "ab", PKT_FORWARD);
	assert_int_equal(ws.drop_stream_kept_full, 2);

	/* bytes per worker: a second flow finds the budget spent */
	per_worker.kept_bytes_total = 10;
	use_worker(&per_worker);
	handshake();
	client_sends(C(0), "12345678", PKT_FORWARD);
	{
		struct stream_flow first = sf;

		stream_flow_init(&sf, 1, 1);
		handshake();
		client_sends(C(0), "abc", PKT_DROP);
		assert_int_equal(ws.drop_stream_kept_full, 3);
		stream_flow_release(sw, &sf, 0);
		sf = first;
	}
}

/* Out-of-order segments filling the worker's hold do not stop in-order
 * bytes from being kept: the two budgets are apart. */
static void
test_full_hold_does_not_stop_in_order_bytes(void **state)
{
	struct stream_conf conf = test_conf;

	(void)state;
	conf.held_total = 2;
	use_worker(&conf);
	handshake();
	feed(1, C(10), PKT_TCP_ACK, ACK_S, "kk"); release_emitted();
	feed(1, C(20), PKT_TCP_ACK, ACK_S, "mm"); release_emitted();
	client_sends(C(30), "nn", PKT_DROP);
	assert_int_equal(ws.drop_stream_hold_full, 1);
	client_sends(C(0), "GET /", PKT_FORWARD);
	assert_int_equal(sf.dir[STREAM_CLIENT].n_kept, 1);
	assert_int_equal(ws.drop_stream_kept_full, 0);
}

/* ---- the server's window: clamped to what the flow may keep ------------- */

/* Client SYN with wscale_c, server SYN-ACK with wscale_s (both windows
 * 65535, which a SYN never scales), the client's ACK.  Returns the
 * window the SYN-ACK left with. */
static uint16_t
handshake_scaled(uint8_t wscale_c, uint8_t wscale_s)
{
	struct rte_mbuf *m;
	uint16_t win;

	feed_tcp(1, CLIENT_ISN, PKT_TCP_SYN, 0, 65535, wscale_c);
	release_emitted();
	m = feed_tcp(0, SERVER_ISN, PKT_TCP_SYN | PKT_TCP_ACK, CLIENT_ISN + 1,
	             65535, wscale_s);
	win = rte_be_to_cpu_16(frame_tcp(m)->rx_win);
	assert_true(cksum_ok(m));
	release_emitted();
	feed_tcp(1, CLIENT_ISN + 1, PKT_TCP_ACK, SERVER_ISN + 1, 65535,
	         PKT_WSCALE_NONE);
	release_emitted();
	return win;
}

/* The window a server ACK advertising `window` leaves with; its
 * checksum must still be right. */
static uint16_t
server_window(uint16_t window, uint8_t flags)
{
	struct rte_mbuf *m = feed_tcp(0, SERVER_ISN + 1, flags, C(0), window,
	                              PKT_WSCALE_NONE);
	uint16_t win = rte_be_to_cpu_16(frame_tcp(m)->rx_win);

	assert_true(cksum_ok(m));
	release_emitted();
	return win;
}

static void
test_window_clamp_arithmetic(void **state)
{
	struct stream_conf conf = test_conf;
	struct rte_mbuf *m;

	(void)state;
	conf.kept_bytes_per_flow = 40000;
	use_worker(&conf);
	/* Both ends scale, by 7: 65535 << 7 is 8 MiB; 40000 >> 7 = 312
	 * units of 128 bytes (39936 bytes).  A window within it stays. */
	assert_int_equal(handshake_scaled(7, 7), 40000);    /* SYN: unscaled */
	assert_int_equal(server_window(65535, PKT_TCP_ACK), 312);
	assert_int_equal(server_window(312, PKT_TCP_ACK), 312);
	assert_int_equal(server_window(100, PKT_TCP_ACK), 100);
	/* a reset's window means nothing: left alone */
	assert_int_equal(server_window(65535, PKT_TCP_RST | PKT_TCP_ACK),
	                 65535);
	assert_int_equal(ws.stream_window_clamped, 2);
	/* the client's own window is not ours to touch */
	m = feed_tcp(1, C(0), PKT_TCP_ACK, SERVER_ISN + 1, 65535,
	             PKT_WSCALE_NONE);
	assert_int_equal(rte_be_to_cpu_16(frame_tcp(m)->rx_win), 65535);
	release_emitted();

	/* Only the server offered scaling: neither end scales. */
	use_worker(&conf);
	handshake_scaled(PKT_WSCALE_NONE, 7);
	assert_int_equal(server_window(65535, PKT_TCP_ACK), 40000);
	assert_int_equal(server_window(40000, PKT_TCP_ACK), 40000);

	/* Largest shift: 3 << 14 = 49152 > 40000, so 40000 >> 14 = 2. */
	use_worker(&conf);
	handshake_scaled(14, 14);
	assert_int_equal(server_window(3, PKT_TCP_ACK), 2);
	assert_int_equal(server_window(2, PKT_TCP_ACK), 2);

	/* The client scales by 2 but the server by 0: what counts is the
	 * shift of the one advertising. */
	use_worker(&conf);
	handshake_scaled(2, 0);
	assert_int_equal(server_window(65535, PKT_TCP_ACK), 40000);

	/* Handshake not seen: assume the largest shift. */
	use_worker(&conf);
	assert_int_equal(server_window(65535, PKT_TCP_ACK), 2);
}

static void
test_urgent_data_dropped(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	/* The server's socket would drop the urgent byte from what it reads:
	 * "/etc/pasXswd" inspected, "/etc/passwd" read. */
	m = feed(1, C(0), PKT_TCP_ACK | PKT_TCP_URG, ACK_S, "GET /etc/pasXswd");
	assert_emitted(0, m, PKT_DROP);
	release_emitted();
	assert_int_equal(ws.drop_tcp_urgent, 1);
	assert_int_equal(inspected_len, 0);
}

static void
test_syn_ack_fixes_client_stream_start(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	/* The server acknowledged a SYN other than the one the stream saw
	 * first (that one had a bad checksum): bytes start where the server
	 * says, so filler before it is old data, not the request. */
	stream_syn_acked(&sf, C(100));
	m = feed(1, C(100), PKT_TCP_ACK, ACK_S, "GET /x");
	assert_emitted(0, m, PKT_FORWARD);
	release_emitted();
	assert_string_equal(inspected, "GET /x");
}

static void
test_rst_acceptable_only_at_exact_sequence(void **state)
{
	struct pkt_meta pm = { .tcp_flags = PKT_TCP_RST | PKT_TCP_ACK };

	(void)state;
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /");
	release_emitted();
	pm.seq = C(5);
	assert_true(stream_rst_acceptable(&sf, 1, &pm));
	pm.seq = C(6);                          /* in window, not exact */
	assert_false(stream_rst_acceptable(&sf, 1, &pm));
	pm.seq = C(1000);
	assert_false(stream_rst_acceptable(&sf, 1, &pm));
	pm.seq = ACK_S;                         /* from the server side */
	assert_true(stream_rst_acceptable(&sf, 0, &pm));
}

static void
test_fin_taken_only_in_order(void **state)
{
	struct pkt_meta pm = { .tcp_flags = PKT_TCP_FIN | PKT_TCP_ACK };

	(void)state;
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /");
	release_emitted();
	pm.seq = C(9);                          /* ahead: bytes missing */
	assert_false(stream_take_fin(sw, &sf, 1, &pm));
	pm.seq = C(5);
	assert_true(stream_take_fin(sw, &sf, 1, &pm));
	assert_true(stream_take_fin(sw, &sf, 1, &pm));   /* retransmitted FIN */
	/* the FIN took a sequence number: a RST after it sits one further */
	pm.tcp_flags = PKT_TCP_RST;
	pm.seq = C(6);
	assert_true(stream_rst_acceptable(&sf, 1, &pm));
}

static void
test_largest_hold_released_by_one_packet(void **state)
{
	struct stream_conf conf = { .held_per_flow = 63,
	                            .kept_bytes_per_flow = 65536,
	                            .kept_segs_per_flow = 64, .held_total = 1000,
	                            .kept_bytes_total = 65536,
	                            .kept_segs_total = 64,
	                            .drop_on_hold_full = 1 };
	struct stream_worker *big = stream_worker_create(&conf, NULL, NULL, &ws);
	char byte[2] = "x";

	(void)state;
	stream_flow_release(sw, &sf, 0);
	stream_flow_init(&sf, 1, 1);
	feed(1, CLIENT_ISN, PKT_TCP_SYN, 0, NULL);
	release_emitted();
	/* 63 one-byte segments after a one-byte gap, then the gap: 64
	 * packets leave, exactly what one packet's emit list holds. */
	for (unsigned i = 1; i <= 63; i++) {
		pkt_ctx_reset(&ctx);
		ctx.to_server = 1;
		ctx.pm.seq = C(i);
		ctx.pm.tcp_flags = PKT_TCP_ACK;
		ctx.pm.payload_off = HDR;
		ctx.pm.payload_len = 1;
		stream_input(big, &sf, make_segment(byte, 1), &ctx);
		assert_int_equal(ctx.n_emit, 0);
	}
	pkt_ctx_reset(&ctx);
	ctx.to_server = 1;
	ctx.pm.seq = C(0);
	ctx.pm.tcp_flags = PKT_TCP_ACK;
	ctx.pm.payload_off = HDR;
	ctx.pm.payload_len = 1;
	stream_input(big, &sf, make_segment(byte, 1), &ctx);
	assert_int_equal(ctx.n_emit, PKT_EMIT_MAX);
	release_emitted();
	stream_flow_release(big, &sf, 0);
	stream_worker_free(big);
	assert_int_equal(inspected_len, 64);
}

static void
test_hold_limit_drops_and_counts(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	for (unsigned i = 1; i <= 4; i++) {
		feed(1, C(i * 10), PKT_TCP_ACK, ACK_S, "xx");
		assert_int_equal(ctx.n_emit, 0);
	}
	m = feed(1, C(100), PKT_TCP_ACK, ACK_S, "yy");
	assert_emitted(0, m, PKT_DROP);
	release_emitted();
	assert_int_equal(ws.drop_stream_hold_full, 1);
	assert_int_equal(ws.stream_segments_held, 4);
}

static void
test_drop_verdict_blocks_packet_and_released_segments(void **state)
{
	struct rte_mbuf *s1, *s2, *s3;

	(void)state;
	s3 = feed(1, C(8), PKT_TCP_ACK, ACK_S, "tail");
	s2 = feed(1, C(4), PKT_TCP_ACK, ACK_S, "EVIL");
	assert_int_equal(ctx.n_emit, 0);
	s1 = feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET ");
	assert_int_equal(ctx.n_emit, 3);
	assert_emitted(0, s1, PKT_FORWARD);     /* before the attack: passes */
	assert_emitted(1, s2, PKT_DROP);        /* completes it: dropped */
	assert_emitted(2, s3, PKT_DROP);        /* after it: dropped */
	assert_true(ctx.flow_blocked);
	release_emitted();
	assert_int_equal(ws.drop_rule, 1);
	assert_int_equal(ws.drop_flow_blocked, 1);
	assert_string_equal(inspected, "GET EVIL");  /* tail never inspected */
}

static void
test_reject_gives_reset_sequence_numbers(void **state)
{
	(void)state;
	verdict_on_evil = DETECT_REJECT;
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /");
	release_emitted();
	/* The server sends 7 bytes the client has not acknowledged yet. */
	feed(0, ACK_S, PKT_TCP_ACK, C(5), "HTTP/1.");
	release_emitted();
	feed(1, C(5), PKT_TCP_ACK, ACK_S, "EVIL");
	assert_int_equal(ctx.emit[0].fate, PKT_DROP);
	assert_true(ctx.rst_pending);
	/* The server has every byte before the dropped segment; the client
	 * expects the byte after the server's last one, acked or not. */
	assert_int_equal(ctx.rst_seq_to_server, C(5));
	assert_int_equal(ctx.rst_seq_to_client, ACK_S + 7);
	release_emitted();
}

static void
test_policy_drop_blocks(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	m = feed(1, C(0), PKT_TCP_ACK, ACK_S, "POLICY");
	assert_emitted(0, m, PKT_DROP);
	assert_true(ctx.flow_blocked);
	assert_true(ctx.events & PKT_EVENT_HTTP_POLICY);
	release_emitted();
	assert_int_equal(ws.drop_rule, 0);     /* HTTP counts its reason */
}

static void
test_server_direction_not_inspected(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	m = feed(0, ACK_S + 10, PKT_TCP_ACK, C(0), "HTTP/1.1 200 OK EVIL");
	assert_emitted(0, m, PKT_FORWARD);     /* out of order, still passes */
	release_emitted();
	assert_int_equal(inspected_len, 0);
	/* ... but the response tracker is told it lost its place */
	assert_int_equal(response_gaps, 1);
	assert_int_equal(responded_len, 0);
}

/* In-order server bytes reach the response tracker once each, in order;
 * a switch of protocols it reports is logged as an event. */
static void
test_server_bytes_to_response_tracker(void **state)
{
	(void)state;
	feed(0, ACK_S, PKT_TCP_ACK, C(0), "HTTP/1.1 1");
	assert_int_equal(ctx.emit[0].fate, PKT_FORWARD);
	release_emitted();
	feed(0, ACK_S, PKT_TCP_ACK, C(0), "HTTP/1.1 1");  /* retransmission */
	release_emitted();
	feed(0, ACK_S + 5, PKT_TCP_ACK, C(0), "1.1 101 Switching");
	assert_int_equal(ctx.emit[0].fate, PKT_FORWARD);
	assert_true(ctx.events & PKT_EVENT_HTTP_TUNNEL);
	release_emitted();
	assert_string_equal(responded, "HTTP/1.1 101 Switching");
	assert_int_equal(response_gaps, 0);
	assert_int_equal(inspected_len, 0);
}

static void
test_release_frees_held_and_counts(void **state)
{
	(void)state;
	feed(1, C(10), PKT_TCP_ACK, ACK_S, "later");
	feed(1, C(20), PKT_TCP_ACK, ACK_S, "later2");
	stream_flow_release(sw, &sf, 0);
	assert_int_equal(ws.drop_stream_flow_gone, 2);
	assert_int_equal(http_releases, 1);
	assert_int_equal(rte_mempool_in_use_count(test_pool), 0);
}

static void
test_non_http_port_probed_by_content(void **state)
{
	(void)state;
	stream_flow_init(&sf, 0, 1);
	feed(1, CLIENT_ISN, PKT_TCP_SYN, 0, NULL); release_emitted();
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "SSH-2.0-OpenSSH EVIL");
	assert_int_equal(ctx.emit[0].fate, PKT_FORWARD);
	release_emitted();
	assert_int_equal(inspected_len, 0);     /* not HTTP: not inspected */

	stream_flow_release(sw, &sf, 0);
	stream_flow_init(&sf, 0, 1);
	feed(1, CLIENT_ISN, PKT_TCP_SYN, 0, NULL); release_emitted();
	feed(1, C(0), PKT_TCP_ACK, ACK_S, "GET /EVIL");
	assert_int_equal(ctx.emit[0].fate, PKT_DROP);
	release_emitted();
	assert_int_equal(ws.http_detected_by_content, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order_inspected_then_forwarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_held_until_gap_fills, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identical_retransmission_forwarded_not_reinspected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_with_different_bytes_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_overlap_checks_old_inspects_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmission_of_acked_bytes_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unverifiable_overlap_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_segment_retransmission_forwarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_bytes_are_the_unacked_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_limits_drop_before_inspection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_hold_does_not_stop_in_order_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_clamp_arithmetic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_limit_drops_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_verdict_blocks_packet_and_released_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_gives_reset_sequence_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_drop_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_direction_not_inspected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_bytes_to_response_tracker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_frees_held_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_http_port_probed_by_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_urgent_data_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_ack_fixes_client_stream_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst_acceptable_only_at_exact_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_taken_only_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_largest_hold_released_by_one_packet, setup, teardown),
	};

	test_dpdk_init(1024);
	if (stream_register_dynfield() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
