/*
 * decode.c - first stage of the packet path: frame bytes to struct pkt_meta,
 * and IPv4/IPv6 fragment reassembly.
 *
 * The parser (decode_frame) reads only the first segment, allocates nothing
 * and checks every length before using it; each malformation has its own
 * drop_ counter.  Fragments go to DPDK's rte_ip_frag table, but only after
 * decode_frag_check() has compared them with a per-datagram record of the
 * byte ranges already held: rte_ip_frag (22.11) does not look for overlaps,
 * and once it gives up on a datagram it would happily start a new one from
 * the attacker's next fragments.  A record mirrors exactly one rte_ip_frag
 * entry (same key, same start time, same expiry test), so a datagram found
 * overlapping stays "dropped" until rte_ip_frag's entry expires and no
 * fragment of it is ever handed to rte_ip_frag again.
 */
#ifndef ALLOW_EXPERIMENTAL_API
#define ALLOW_EXPERIMENTAL_API /* rte_ip_frag_table_del_expired_entries */
#endif

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "config.h"
#include "decode.h"
#include "hold.h"

#define DECODE_ETH_HLEN        14
#define DECODE_VLAN_HLEN       4
#define DECODE_MAX_VLANS       2
#define DECODE_ETH_IPV4        0x0800
#define DECODE_ETH_IPV6        0x86dd
#define DECODE_ETH_VLAN        0x8100
#define DECODE_ETH_QINQ        0x88a8
#define DECODE_ETH_QINQ_OLD    0x9100   /* pre-802.1ad QinQ, still seen */

#define DECODE_IPV4_MIN_HLEN   20
#define DECODE_IPV4_MF         0x2000
#define DECODE_IPV4_OFF_MASK   0x1fff
#define DECODE_IPV6_HLEN       40
#define DECODE_IPV6_FRAG_HLEN  8
#define DECODE_IPV6_MAX_EXT    8        /* real stacks send 0-3 */
#define DECODE_IP_MAX_LEN      65535u
#define DECODE_TCP_MIN_HLEN    20
#define DECODE_UDP_HLEN        8
#define DECODE_ICMP_MIN_HLEN   8        /* type, code, checksum, 4 more */

#define DECODE_PROTO_HOPOPTS   0
#define DECODE_PROTO_ICMP      1
#define DECODE_PROTO_TCP       6
#define DECODE_PROTO_UDP       17
#define DECODE_PROTO_ROUTING   43
#define DECODE_PROTO_FRAGMENT  44
#define DECODE_PROTO_AH        51
#define DECODE_PROTO_ICMPV6    58
#define DECODE_PROTO_DSTOPTS   60
#define DECODE_PROTO_MOBILITY  135
#define DECODE_PROTO_HIP       139
#define DECODE_PROTO_SHIM6     140

/* rte_ip_frag keeps at most this many fragments of one datagram: slot 0
 * for the last, slot 1 for the first, the rest for the middle ones. */
#define DECODE_FRAG_MAX        RTE_LIBRTE_IP_FRAG_MAX_FRAG
#define DECODE_FRAG_MAX_MID    (DECODE_FRAG_MAX - 2)
#define DECODE_FRAG_LEN_UNKNOWN UINT32_MAX
/* Associativity of rte_ip_frag's buckets; with bucket_num = max / 4 and two
 * candidate buckets the table has >= 2 slots per datagram. */
#define DECODE_FRAG_BUCKET_ENTRIES 4
/* rte_ip_frag appends to the death row without bounds checks; one call may
 * free a stale datagram, a failed datagram and the packet itself. */
#define DECODE_DR_RESERVE      (2 * DECODE_FRAG_MAX + 1)
#define DECODE_DR_PREFETCH     3

/* What the parser learned about a fragment, for the reassembly step. */
struct decode_frag_info {
	uint8_t is_frag;
	uint8_t more;           /* MF */
	uint16_t v4_hlen;       /* IPv4 header length; 0 for IPv6 */
	uint32_t ofs;           /* bytes */
	uint32_t len;           /* fragment data bytes */
	uint32_t id;            /* as on the wire */
	uint32_t frag_hdr_off;  /* IPv6 fragment header, from frame start */
};

enum decode_frag_verdict {
	DECODE_FRAG_OK = 0,
	DECODE_FRAG_OVERLAP,
	DECODE_FRAG_INVALID,
	DECODE_FRAG_TOO_MANY,
};

/* Keyed like rte_ip_frag's ip_frag_key (src, dst, id; families apart). */
struct decode_frag_key {
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
	uint32_t family;
};

/* One datagram rte_ip_frag holds fragments of. */
struct decode_frag_rec {
	TAILQ_ENTRY(decode_frag_rec) fifo;
	struct decode_frag_key key;
	uint64_t start_tsc;     /* = rte_ip_frag's entry start */
	uint32_t total;         /* known once the last fragment is in */
	uint32_t max_end;
	uint16_t first_hlen;    /* IPv4 header of the offset-0 fragment */
	uint8_t n;              /* ranges below */
	uint8_t n_mid;
	uint8_t n_held;         /* fragments held and not yet counted */
	uint8_t dropped;        /* enum decode_frag_verdict, 0 = live */
	uint16_t src;           /* hold.h source bucket of the sender */
	uint32_t ofs[DECODE_FRAG_MAX];
	uint32_t end[DECODE_FRAG_MAX];
};

TAILQ_HEAD(decode_frag_fifo, decode_frag_rec);

struct decode_worker {
	struct decode_conf conf;
	struct worker_stats *ws;
	uint64_t timeout_tsc;
	uint64_t now_tsc;              /* last decode_packet, for flush */
	struct rte_ip_frag_tbl *tbl;   /* NULL: reassembly disabled */
	struct rte_hash *rec_idx;      /* key -> position in recs */
	struct decode_frag_rec *recs;
	uint32_t n_recs;
	uint32_t max_recs;
	struct decode_frag_fifo fifo;  /* by start_tsc (creation order) */
	uint32_t src_seed;
	uint32_t share_max;            /* datagrams per source bucket */
	uint32_t src_count[HOLD_SRC_BUCKETS];
	struct rte_ip_frag_death_row dr;
} __rte_cache_aligned;

/* ---- byte helpers ------------------------------------------------------- */

static inline uint32_t
decode_rd16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t
decode_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* RFC 1071 sum of n (even) bytes, folded; a valid header sums to 0xffff. */
static uint32_t
decode_csum_fold(const uint8_t *p, uint32_t n)
{
	uint32_t sum = 0, i;

	for (i = 0; i + 1 < n; i += 2)
		sum += decode_rd16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/*
 * IPv4 and TCP options share one layout: kind 0 ends the list, kind 1 is a
 * one-byte pad, any other kind has a length byte counting kind and length.
 * Returns 1 when every option lies inside the n bytes, 0 otherwise.
 */
static int
decode_kind_len_opts_ok(const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		if (p[i] == 0)
			return 1;
		if (p[i] == 1) {
			i++;
			continue;
		}
		if (n - i < 2 || p[i + 1] < 2 || p[i + 1] > n - i)
			return 0;
		i += p[i + 1];
	}
	return 1;
}

/* The Window Scale shift a SYN offers (RFC 7323 §2.2: kind 3, length 3),
 * or PKT_WSCALE_NONE.  The options were checked by
 * decode_kind_len_opts_ok. */
static uint8_t
decode_tcp_wscale(const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (i < n && p[i] != 0) {
		if (p[i] == 1) {
			i++;
			continue;
		}
		if (p[i] == 3 && p[i + 1] == 3)
			return p[i + 2] > PKT_WSCALE_MAX ? PKT_WSCALE_MAX : p[i + 2];
		i += p[i + 1];
	}
	return PKT_WSCALE_NONE;
}

/* IPv6 hop-by-hop / destination options (RFC 8200 4.2): Pad1 is one byte,
 * every other option is type, length (of the data only), data. */
static int
decode_ipv6_tlv_ok(const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		if (p[i] == 0) {
			i++;
			continue;
		}
		if (n - i < 2 || p[i + 1] > n - i - 2)
			return 0;
		i += 2u + p[i + 1];
	}
	return 1;
}

static void
decode_map_ipv4(uint8_t out[16], const uint8_t *a)
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

/* ---- L4 ------------------------------------------------------------------ */

/*
 * Each L4 decoder sees the first-segment bytes d[0..len) and the IP
 * datagram's end ip_end (<= frame length); pm->l4_off <= ip_end, and
 * pm->l4_off <= len.  Headers must lie in the first segment.
 */
static int
decode_tcp(const uint8_t *d, uint32_t len, uint32_t ip_end,
           struct pkt_meta *pm, struct worker_stats *ws)
{
	uint32_t off = pm->l4_off, doff;
	const uint8_t *t = d + off;
	uint8_t flags;

	if (ip_end - off < DECODE_TCP_MIN_HLEN ||
	    len - off < DECODE_TCP_MIN_HLEN) {
		ws->drop_tcp_truncated++;
		return DECODE_DROP;
	}
	doff = (uint32_t)(t[12] >> 4) * 4;
	if (doff < DECODE_TCP_MIN_HLEN || doff > ip_end - off) {
		ws->drop_tcp_bad_offset++;
		return DECODE_DROP;
	}
	if (doff > len - off) {
		ws->drop_tcp_truncated++;
		return DECODE_DROP;
	}
	if (!decode_kind_len_opts_ok(t + DECODE_TCP_MIN_HLEN,
	                             doff - DECODE_TCP_MIN_HLEN)) {
		ws->drop_tcp_bad_options++;
		return DECODE_DROP;
	}
	flags = t[13];
	/* SYN with FIN or RST has no meaning (RFC 9293); stacks disagree on
	 * it, which is what fingerprinting and evasion feed on. */
	if ((flags & PKT_TCP_SYN) && (flags & (PKT_TCP_FIN | PKT_TCP_RST))) {
		ws->drop_tcp_bad_flags++;
		return DECODE_DROP;
	}
	pm->sport = (uint16_t)decode_rd16(t);
	pm->dport = (uint16_t)decode_rd16(t + 2);
	pm->seq = decode_rd32(t + 4);
	pm->ack = decode_rd32(t + 8);
	pm->tcp_flags = flags;
	pm->window = (uint16_t)decode_rd16(t + 14);
	pm->tcp_wscale = (flags & PKT_TCP_SYN)
	                 ? decode_tcp_wscale(t + DECODE_TCP_MIN_HLEN,
	                                     doff - DECODE_TCP_MIN_HLEN)
	                 : PKT_WSCALE_NONE;
	pm->payload_off = off + doff;
	pm->payload_len = ip_end - pm->payload_off;
	ws->decode_tcp++;
	return DECODE_OK;
}

static int
decode_udp(const uint8_t *d, uint32_t len, uint32_t ip_end,
           struct pkt_meta *pm, struct worker_stats *ws)
{
	uint32_t off = pm->l4_off, ulen;
	const uint8_t *u = d + off;

	if (ip_end - off < DECODE_UDP_HLEN || len - off < DECODE_UDP_HLEN) {
		ws->drop_udp_truncated++;
		return DECODE_DROP;
	}
	ulen = decode_rd16(u + 4);
	if (ulen < DECODE_UDP_HLEN || ulen > ip_end - off) {
		ws->drop_udp_bad_length++;
		return DECODE_DROP;
	}
	pm->sport = (uint16_t)decode_rd16(u);
	pm->dport = (uint16_t)decode_rd16(u + 2);
	pm->payload_off = off + DECODE_UDP_HLEN;
	/* Receivers trim to the UDP length; inspect what they will read. */
	pm->payload_len = ulen - DECODE_UDP_HLEN;
	ws->decode_udp++;
	return DECODE_OK;
}

static int
decode_icmp(uint32_t len, uint32_t ip_end, struct pkt_meta *pm,
            struct worker_stats *ws)
{
	uint32_t off = pm->l4_off;

	if (ip_end - off < DECODE_ICMP_MIN_HLEN ||
	    len - off < DECODE_ICMP_MIN_HLEN) {
		ws->drop_icmp_truncated++;
		return DECODE_DROP;
	}
	pm->payload_off = off + DECODE_ICMP_MIN_HLEN;
	pm->payload_len = ip_end - pm->payload_off;
	ws->decode_icmp++;
	return DECODE_OK;
}

static int
decode_l4(const uint8_t *d, uint32_t len, uint32_t ip_end,
          struct pkt_meta *pm, struct worker_stats *ws)
{
	switch (pm->proto) {
	case DECODE_PROTO_TCP:
		return decode_tcp(d, len, ip_end, pm, ws);
	case DECODE_PROTO_UDP:
		return decode_udp(d, len, ip_end, pm, ws);
	case DECODE_PROTO_ICMP:
		if (pm->ip_version == 4)
			return decode_icmp(len, ip_end, pm, ws);
		break;
	case DECODE_PROTO_ICMPV6:
		if (pm->ip_version == 6)
			return decode_icmp(len, ip_end, pm, ws);
		break;
	}
	/* Fail closed: what we cannot inspect does not reach the pods. */
	ws->drop_l4_other++;
	return DECODE_DROP;
}

/* ---- IPv4 ---------------------------------------------------------------- */

/* A fragment is reported without its L4 header: that is decoded once the
 * datagram is whole.  Checks here need no state (RFC 791, RFC 1858). */
static int
decode_ipv4_frag(uint32_t fo, uint32_t hlen, uint32_t tot, const uint8_t *ip,
                 struct pkt_meta *pm, struct decode_frag_info *fi,
                 struct worker_stats *ws)
{
	fi->is_frag = 1;
	fi->more = (fo & DECODE_IPV4_MF) != 0;
	fi->v4_hlen = (uint16_t)hlen;
	fi->ofs = (fo & DECODE_IPV4_OFF_MASK) * 8;
	fi->len = tot - hlen;
	fi->id = decode_rd16(ip + 4);
	pm->payload_off = pm->l4_off;
	if (fi->len == 0 || (fi->more && (fi->len & 7) != 0) ||
	    fi->ofs + fi->len > DECODE_IP_MAX_LEN - hlen) {
		ws->drop_frag_invalid++;
		return DECODE_DROP;
	}
	return DECODE_OK;
}

static int
decode_ipv4(const uint8_t *d, uint32_t len, uint32_t frame_len, int verify,
            struct pkt_meta *pm, struct decode_frag_info *fi,
            struct worker_stats *ws)
{
	uint32_t off = pm->l3_off, hlen, tot, fo;
	const uint8_t *ip = d + off;

	if (len - off < DECODE_IPV4_MIN_HLEN) {
		ws->drop_ipv4_truncated++;
		return DECODE_DROP;
	}
	if ((ip[0] >> 4) != 4) {
		ws->drop_ipv4_bad_version++;
		return DECODE_DROP;
	}
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	if (hlen < DECODE_IPV4_MIN_HLEN) {
		ws->drop_ipv4_bad_ihl++;
		return DECODE_DROP;
	}
	if (len - off < hlen) {
		ws->drop_ipv4_truncated++;
		return DECODE_DROP;
	}
	tot = decode_rd16(ip + 2);
	if (tot < hlen || tot > frame_len - off) {
		ws->drop_ipv4_bad_length++;
		return DECODE_DROP;
	}
	if (!decode_kind_len_opts_ok(ip + DECODE_IPV4_MIN_HLEN,
	                             hlen - DECODE_IPV4_MIN_HLEN)) {
		ws->drop_ipv4_bad_options++;
		return DECODE_DROP;
	}
	if (verify && decode_csum_fold(ip, hlen) != 0xffff) {
		ws->drop_ipv4_bad_checksum++;
		return DECODE_DROP;
	}
	pm->ip_version = 4;
	pm->ttl = ip[8];
	pm->proto = ip[9];
	decode_map_ipv4(pm->src, ip + 12);
	decode_map_ipv4(pm->dst, ip + 16);
	pm->l4_off = (uint16_t)(off + hlen);
	ws->decode_ipv4++;

	fo = decode_rd16(ip + 6);
	if (fo & (DECODE_IPV4_MF | DECODE_IPV4_OFF_MASK))
		return decode_ipv4_frag(fo, hlen, tot, ip, pm, fi, ws);
	/* Ethernet pads short frames: the datagram ends where IP says. */
	return decode_l4(d, len, off + tot, pm, ws);
}

/* ---- IPv6 ---------------------------------------------------------------- */

static int
decode_ipv6_frag(const uint8_t *fh, uint32_t cur, uint32_t ip_end,
                 uint32_t unfrag_len, struct pkt_meta *pm,
                 struct decode_frag_info *fi, struct worker_stats *ws)
{
	uint32_t fo = decode_rd16(fh + 2);

	fi->is_frag = 1;
	fi->more = fo & 1;
	fi->ofs = fo & 0xfff8;
	fi->len = ip_end - cur - DECODE_IPV6_FRAG_HLEN;
	fi->id = decode_rd32(fh + 4);
	fi->frag_hdr_off = cur;
	pm->proto = fh[0];
	pm->l4_off = (uint16_t)(cur + DECODE_IPV6_FRAG_HLEN);
	pm->payload_off = pm->l4_off;
	/* RFC 8200 4.5: the reassembled payload must fit 65535 bytes. */
	if (fi->len == 0 || (fi->more && (fi->len & 7) != 0) ||
	    fi->ofs + fi->len > DECODE_IP_MAX_LEN - unfrag_len) {
		ws->drop_frag_invalid++;
		return DECODE_DROP;
	}
	return DECODE_OK;
}

/* Length of the extension header at p (which has >= 2 bytes), 0 if nh is
 * not an extension header we walk. */
static uint32_t
decode_ipv6_ext_len(uint8_t nh, const uint8_t *p)
{
	switch (nh) {
	case DECODE_PROTO_HOPOPTS:
	case DECODE_PROTO_ROUTING:
	case DECODE_PROTO_DSTOPTS:
	case DECODE_PROTO_MOBILITY:
	case DECODE_PROTO_HIP:
	case DECODE_PROTO_SHIM6:
		return ((uint32_t)p[1] + 1) * 8;  /* RFC 6564 layout */
	case DECODE_PROTO_AH:
		return ((uint32_t)p[1] + 2) * 4;  /* RFC 4302 */
	case DECODE_PROTO_FRAGMENT:
		return DECODE_IPV6_FRAG_HLEN;
	}
	return 0;
}

static int
decode_ipv6_is_ext(uint8_t nh)
{
	/* only the length byte varies, and it is never needed here */
	static const uint8_t p[2] = { 0, 0 };

	return decode_ipv6_ext_len(nh, p) != 0;
}

/*
 * Walk the extension-header chain from cur (just after the fixed header)
 * to the upper-layer header, at most DECODE_IPV6_MAX_EXT headers.  An
 * atomic fragment (offset 0, M 0: RFC 6946) is walked through.
 */
static int
decode_ipv6_ext(const uint8_t *d, uint32_t len, uint32_t ip_end, uint8_t nh,
                struct pkt_meta *pm, struct decode_frag_info *fi,
                struct worker_stats *ws)
{
	uint32_t first = pm->l3_off + DECODE_IPV6_HLEN, cur = first, n, hl;
	int seen_frag = 0;
	const uint8_t *p;

	for (n = 0; decode_ipv6_is_ext(nh); n++) {
		if (n == DECODE_IPV6_MAX_EXT ||
		    (nh == DECODE_PROTO_HOPOPTS && cur != first) ||
		    (nh == DECODE_PROTO_FRAGMENT && seen_frag) ||
		    ip_end - cur < 2) {
			ws->drop_ipv6_bad_ext++;
			return DECODE_DROP;
		}
		if (len - cur < 2) {
			ws->drop_ipv6_truncated++;
			return DECODE_DROP;
		}
		p = d + cur;
		hl = decode_ipv6_ext_len(nh, p);
		if (hl > ip_end - cur) {
			ws->drop_ipv6_bad_ext++;
			return DECODE_DROP;
		}
		if (hl > len - cur) {
			ws->drop_ipv6_truncated++;
			return DECODE_DROP;
		}
		if ((nh == DECODE_PROTO_HOPOPTS || nh == DECODE_PROTO_DSTOPTS) &&
		    !decode_ipv6_tlv_ok(p + 2, hl - 2)) {
			ws->drop_ipv6_bad_ext++;
			return DECODE_DROP;
		}
		if (nh == DECODE_PROTO_FRAGMENT) {
			seen_frag = 1;
			if ((decode_rd16(p + 2) & 0xfff9) != 0)
				return decode_ipv6_frag(p, cur, ip_end,
				                        cur - first, pm, fi, ws);
		}
		nh = p[0];
		cur += hl;
	}
	pm->proto = nh;
	pm->l4_off = (uint16_t)cur;
	return decode_l4(d, len, ip_end, pm, ws);
}

static int
decode_ipv6(const uint8_t *d, uint32_t len, uint32_t frame_len,
            struct pkt_meta *pm, struct decode_frag_info *fi,
            struct worker_stats *ws)
{
	uint32_t off = pm->l3_off, plen;
	const uint8_t *ip = d + off;

	if (len - off < DECODE_IPV6_HLEN) {
		ws->drop_ipv6_truncated++;
		return DECODE_DROP;
	}
	if ((ip[0] >> 4) != 6) {
		ws->drop_ipv6_bad_version++;
		return DECODE_DROP;
	}
	plen = decode_rd16(ip + 4);
	/* Payload length 0 means a jumbogram (RFC 2675): not on Ethernet. */
	if (plen == 0 || plen > frame_len - off - DECODE_IPV6_HLEN) {
		ws->drop_ipv6_bad_length++;
		return DECODE_DROP;
	}
	pm->ip_version = 6;
	pm->ttl = ip[7];
	memcpy(pm->src, ip + 8, 16);
	memcpy(pm->dst, ip + 24, 16);
	ws->decode_ipv6++;
	return decode_ipv6_ext(d, len, off + DECODE_IPV6_HLEN + plen, ip[6],
	                       pm, fi, ws);
}

/* ---- Ethernet ------------------------------------------------------------ */

static int
decode_frame(const uint8_t *d, uint32_t len, uint32_t frame_len, int verify,
             struct pkt_meta *pm, struct decode_frag_info *fi,
             struct worker_stats *ws)
{
	uint32_t off = DECODE_ETH_HLEN, type;

	memset(pm, 0, sizeof(*pm));
	memset(fi, 0, sizeof(*fi));
	if (len > frame_len)
		len = frame_len;
	if (len < DECODE_ETH_HLEN) {
		ws->drop_eth_truncated++;
		return DECODE_DROP;
	}
	type = decode_rd16(d + 12);
	while (type == DECODE_ETH_VLAN || type == DECODE_ETH_QINQ ||
	       type == DECODE_ETH_QINQ_OLD) {
		if (pm->n_vlans == DECODE_MAX_VLANS) {
			ws->drop_vlan_too_deep++;
			return DECODE_DROP;
		}
		if (len - off < DECODE_VLAN_HLEN) {
			ws->drop_vlan_truncated++;
			return DECODE_DROP;
		}
		type = decode_rd16(d + off + 2);
		off += DECODE_VLAN_HLEN;
		pm->n_vlans++;
	}
	pm->l3_off = (uint16_t)off;
	if (type == DECODE_ETH_IPV4)
		return decode_ipv4(d, len, frame_len, verify, pm, fi, ws);
	if (type == DECODE_ETH_IPV6)
		return decode_ipv6(d, len, frame_len, pm, fi, ws);
	ws->decode_other_l3++;
	return DECODE_NOT_IP;
}

int
decode_parse(const uint8_t *data, uint32_t len, uint32_t frame_len,
             struct pkt_meta *pm, int *is_fragment, struct worker_stats *ws)
{
	struct decode_frag_info fi;
	int rc;

	rc = decode_frame(data, len, frame_len, 0, pm, &fi, ws);
	*is_fragment = fi.is_frag;
	return rc;
}

/* ---- fragment records ---------------------------------------------------- */

static struct decode_frag_rec *
decode_frag_lookup(struct decode_worker *dw, const struct decode_frag_key *k)
{
	int32_t pos = rte_hash_lookup(dw->rec_idx, k);

	return pos < 0 ? NULL : &dw->recs[pos];
}

/* NULL when max_recs datagrams are in progress. */
static struct decode_frag_rec *
decode_frag_rec_new(struct decode_worker *dw, const struct decode_frag_key *k,
                    uint16_t src, uint64_t now)
{
	struct decode_frag_rec *rec;
	int32_t pos;

	if (dw->n_recs >= dw->max_recs)
		return NULL;
	pos = rte_hash_add_key(dw->rec_idx, k);
	if (pos < 0)
		return NULL;
	rec = &dw->recs[pos];
	memset(rec, 0, sizeof(*rec));
	rec->key = *k;
	rec->start_tsc = now;
	rec->total = DECODE_FRAG_LEN_UNKNOWN;
	rec->src = src;
	TAILQ_INSERT_TAIL(&dw->fifo, rec, fifo);
	dw->n_recs++;
	dw->src_count[src]++;
	return rec;
}

static void
decode_frag_rec_del(struct decode_worker *dw, struct decode_frag_rec *rec)
{
	TAILQ_REMOVE(&dw->fifo, rec, fifo);
	rte_hash_del_key(dw->rec_idx, &rec->key);
	dw->n_recs--;
	dw->src_count[rec->src]--;
}

static void
decode_frag_count(struct worker_stats *ws, uint8_t why, uint64_t n)
{
	switch (why) {
	case DECODE_FRAG_OVERLAP:
		ws->drop_frag_overlap += n;
		break;
	case DECODE_FRAG_TOO_MANY:
		ws->drop_frag_too_many += n;
		break;
	default:
		ws->drop_frag_invalid += n;
		break;
	}
}

/*
 * May fragment fi join rec?  Any byte covered twice is an overlap, equal
 * data or not: hosts resolve overlaps differently (first wins, last wins),
 * which lets an attacker show the IPS one payload and the pod another.
 */
static enum decode_frag_verdict
decode_frag_check(const struct decode_frag_rec *rec,
                  const struct decode_frag_info *fi)
{
	uint32_t end = fi->ofs + fi->len, i, hlen, max_end;

	for (i = 0; i < rec->n; i++)
		if (fi->ofs < rec->end[i] && rec->ofs[i] < end)
			return DECODE_FRAG_OVERLAP;
	if (!fi->more &&
	    (rec->total != DECODE_FRAG_LEN_UNKNOWN || rec->max_end > end))
		return DECODE_FRAG_INVALID;
	if (fi->more && rec->total != DECODE_FRAG_LEN_UNKNOWN &&
	    end > rec->total)
		return DECODE_FRAG_INVALID;
	/* rte_ip_frag writes first header length + data length into the
	 * 16-bit total length: check it cannot wrap (ping of death). */
	hlen = fi->ofs == 0 ? fi->v4_hlen : rec->first_hlen;
	max_end = RTE_MAX(rec->max_end, end);
	if (max_end + hlen > DECODE_IP_MAX_LEN)
		return DECODE_FRAG_INVALID;
	if (rec->n == DECODE_FRAG_MAX ||
	    (fi->more && fi->ofs != 0 && rec->n_mid == DECODE_FRAG_MAX_MID))
		return DECODE_FRAG_TOO_MANY;
	return DECODE_FRAG_OK;
}

static void
decode_frag_rec_add(struct decode_frag_rec *rec,
                    const struct decode_frag_info *fi)
{
	uint32_t end = fi->ofs + fi->len;

	rec->ofs[rec->n] = fi->ofs;
	rec->end[rec->n] = end;
	rec->n++;
	if (fi->more && fi->ofs != 0)
		rec->n_mid++;
	if (!fi->more)
		rec->total = end;
	if (fi->ofs == 0)
		rec->first_hlen = fi->v4_hlen;
	rec->max_end = RTE_MAX(rec->max_end, end);
	rec->n_held++;
}

static void
decode_frag_key_make(struct decode_frag_key *k, const struct pkt_meta *pm,
                     const struct decode_frag_info *fi)
{
	memcpy(k->src, pm->src, 16);
	memcpy(k->dst, pm->dst, 16);
	k->id = fi->id;
	k->family = pm->ip_version;
}

/* ---- death row and expiry ------------------------------------------------ */

static void
decode_dr_make_room(struct decode_worker *dw)
{
	if (RTE_IP_FRAG_DEATH_ROW_MBUF_LEN - dw->dr.cnt < DECODE_DR_RESERVE)
		rte_ip_frag_free_death_row(&dw->dr, DECODE_DR_PREFETCH);
}

/* Take m back off the death row if rte_ip_frag put it there since index
 * from: the caller frees DROP packets itself.  Returns 1 if it was. */
static int
decode_dr_take(struct decode_worker *dw, uint32_t from, struct rte_mbuf *m)
{
	uint32_t i;

	for (i = from; i < dw->dr.cnt; i++) {
		if (dw->dr.row[i] == m) {
			dw->dr.row[i] = dw->dr.row[--dw->dr.cnt];
			return 1;
		}
	}
	return 0;
}

/* Free rte_ip_frag's entries older than the timeout at now; it stops when
 * the death row is full, so empty it and go on. */
static void
decode_frag_expire_tbl(struct decode_worker *dw, uint64_t now)
{
	for (;;) {
		rte_ip_frag_table_del_expired_entries(dw->tbl, &dw->dr, now);
		if (dw->dr.cnt <= RTE_IP_FRAG_DEATH_ROW_MBUF_LEN - DECODE_FRAG_MAX)
			break;
		rte_ip_frag_free_death_row(&dw->dr, DECODE_DR_PREFETCH);
	}
}

/* Same test as rte_ip_frag (max_cycles + start < now), so a record and
 * its rte_ip_frag entry end together.  The live fragments of each
 * datagram ended are counted in *dropped; returns the datagrams ended. */
static unsigned
decode_frag_end_before(struct decode_worker *dw, uint64_t now,
                       uint64_t *dropped)
{
	struct decode_frag_rec *rec;
	unsigned n = 0;

	while ((rec = TAILQ_FIRST(&dw->fifo)) != NULL &&
	       dw->timeout_tsc + rec->start_tsc < now) {
		if (!rec->dropped)
			*dropped += rec->n_held;
		decode_frag_rec_del(dw, rec);
		n++;
	}
	decode_frag_expire_tbl(dw, now);
	return n;
}

static void
decode_frag_expire(struct decode_worker *dw, uint64_t now)
{
	decode_frag_end_before(dw, now, &dw->ws->drop_frag_timeout);
}

/*
 * The table is full: the datagram begun longest ago gives up its place,
 * not the newcomer (DESIGN §9).  One that is still incomplete after the
 * others began is the one a flood of first fragments left; a real
 * datagram's fragments follow each other within milliseconds.  rte_ip_frag
 * can only end its entries oldest first, by time: those begun in the same
 * burst as the oldest go with it.  Their fragments are dropped (the
 * senders retransmit), counted drop_frag_evicted.
 */
static void
decode_frag_evict_oldest(struct decode_worker *dw)
{
	const struct decode_frag_rec *oldest = TAILQ_FIRST(&dw->fifo);

	if (oldest == NULL)
		return;
	dw->ws->frag_evicted += decode_frag_end_before(dw,
		oldest->start_tsc + dw->timeout_tsc + 1,
		&dw->ws->drop_frag_evicted);
}

/* ---- reassembly ---------------------------------------------------------- */

/* Decode the datagram rte_ip_frag built.  Headers are in the first
 * segment (the offset-0 fragment); the payload may span segments. */
static int
decode_reassembled(struct decode_worker *dw, struct rte_mbuf *m,
                   struct pkt_meta *pm)
{
	struct decode_frag_info fi;
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, m->l2_len);
	uint32_t sum;
	int rc;

	if ((ip[0] >> 4) == 4) {
		/* rte_ip_frag zeroes the checksum; the pod needs a valid one. */
		ip[10] = 0;
		ip[11] = 0;
		sum = ~decode_csum_fold(ip, (uint32_t)(ip[0] & 0x0f) * 4);
		ip[10] = (uint8_t)(sum >> 8);
		ip[11] = (uint8_t)sum;
	}
	rc = decode_frame(rte_pktmbuf_mtod(m, const uint8_t *),
	                  rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), 0,
	                  pm, &fi, dw->ws);
	pm->reassembled = 1;
	if (rc == DECODE_OK && fi.is_frag) {
		/* A fragment header inside the fragmented part. */
		dw->ws->drop_frag_invalid++;
		return DECODE_DROP;
	}
	return rc;
}

/* Hand m to rte_ip_frag.  Returns the reassembled chain, NULL with
 * *rejected = 0 when m is held, NULL with *rejected = 1 when rte_ip_frag
 * refused m (then m is the caller's again). */
static struct rte_mbuf *
decode_frag_submit(struct decode_worker *dw, struct rte_mbuf *m,
                   const struct pkt_meta *pm, const struct decode_frag_info *fi,
                   uint64_t now, int *rejected)
{
	struct rte_mbuf *out;
	uint32_t from;
	void *ip;

	/* rte_ip_frag finds the IP header and fragment data through these. */
	m->l2_len = pm->l3_off;
	m->l3_len = (uint16_t)(pm->l4_off - pm->l3_off);
	ip = rte_pktmbuf_mtod_offset(m, void *, pm->l3_off);
	decode_dr_make_room(dw);
	from = dw->dr.cnt;
	if (pm->ip_version == 4)
		out = rte_ipv4_frag_reassemble_packet(dw->tbl, &dw->dr, m,
		                                      now, ip);
	else
		out = rte_ipv6_frag_reassemble_packet(dw->tbl, &dw->dr, m,
			now, ip, rte_pktmbuf_mtod_offset(m,
				struct rte_ipv6_fragment_ext *,
				fi->frag_hdr_off));
	*rejected = decode_dr_take(dw, from, m);
	return out;
}

/* Drop the whole datagram of rec: the fragments rte_ip_frag holds stay
 * there until its entry expires, but are counted now and never released. */
static void
decode_frag_drop_datagram(struct decode_worker *dw, struct decode_frag_rec *rec,
                          enum decode_frag_verdict why)
{
	decode_frag_count(dw->ws, why, (uint64_t)rec->n_held + 1);
	rec->n_held = 0;
	rec->dropped = (uint8_t)why;
}

/* Find or start the record of fi's datagram and check fi against it.
 * Returns the record, or NULL when fi is dropped (and counted). */
static struct decode_frag_rec *
decode_frag_admit(struct decode_worker *dw, const struct pkt_meta *pm,
                  const struct decode_frag_info *fi, uint64_t now)
{
	struct decode_frag_rec *rec;
	struct decode_frag_key key;
	enum decode_frag_verdict v;

	decode_frag_key_make(&key, pm, fi);
	rec = decode_frag_lookup(dw, &key);
	if (rec == NULL) {
		/* a lone fragment has nothing to conflict with: decode_frame
		 * already checked it on its own */
		uint16_t src = hold_src_bucket(pm->src, pm->ip_version,
		                               dw->src_seed);

		if (dw->src_count[src] >= dw->share_max) {
			/* rte_ip_frag can end no datagram but the oldest: the
			 * source over its share loses its newcomer */
			dw->ws->drop_frag_share++;
			return NULL;
		}
		if (dw->n_recs >= dw->max_recs)
			decode_frag_evict_oldest(dw);
		rec = decode_frag_rec_new(dw, &key, src, now);
		if (rec == NULL)
			dw->ws->drop_frag_table_full++;
		return rec;
	}
	if (rec->dropped) {
		decode_frag_count(dw->ws, rec->dropped, 1);
		return NULL;
	}
	v = decode_frag_check(rec, fi);
	if (v != DECODE_FRAG_OK) {
		decode_frag_drop_datagram(dw, rec, v);
		return NULL;
	}
	return rec;
}

static int
decode_frag(struct decode_worker *dw, struct rte_mbuf **mp,
            struct pkt_meta *pm, const struct decode_frag_info *fi,
            uint64_t now)
{
	struct worker_stats *ws = dw->ws;
	struct decode_frag_rec *rec;
	struct rte_mbuf *out;
	int rejected;

	ws->frag_received++;
	if (dw->tbl == NULL) {
		ws->drop_frag_table_full++;
		return DECODE_DROP;
	}
	/* rte_ip_frag only handles the fragment header right after the
	 * fixed header (it strips exactly 8 bytes there). */
	if (pm->ip_version == 6 &&
	    fi->frag_hdr_off != (uint32_t)pm->l3_off + DECODE_IPV6_HLEN) {
		ws->drop_frag_unsupported++;
		return DECODE_DROP;
	}
	decode_frag_expire(dw, now);
	rec = decode_frag_admit(dw, pm, fi, now);
	if (rec == NULL)
		return DECODE_DROP;

	out = decode_frag_submit(dw, *mp, pm, fi, now, &rejected);
	if (rejected) {
		if (rec->n_held == 0) {
			/* No free slot in rte_ip_frag for a new datagram. */
			decode_frag_rec_del(dw, rec);
			ws->drop_frag_table_full++;
			return DECODE_DROP;
		}
		/* rte_ip_frag gave up on the datagram (our checks should
		 * prevent it): keep its key out until the entry expires. */
		decode_frag_drop_datagram(dw, rec, DECODE_FRAG_INVALID);
		return DECODE_DROP;
	}
	decode_frag_rec_add(rec, fi);
	if (out == NULL)
		return DECODE_HELD;
	/* n fragments leave as one datagram: n - 1 packets are absorbed,
	 * which the summary's accounting has to know. */
	ws->frag_merged += rec->n_held - 1u;
	decode_frag_rec_del(dw, rec);
	ws->frag_reassembled++;
	*mp = out;
	return decode_reassembled(dw, out, pm);
}

/* ---- public -------------------------------------------------------------- */

int
decode_packet(struct decode_worker *dw, struct rte_mbuf **m,
              struct pkt_meta *pm, uint64_t now_tsc)
{
	struct decode_frag_info fi;
	int rc;

	dw->now_tsc = now_tsc;
	/* Where the NIC checked checksums, believe it: a segment the
	 * receiver's stack will discard must not be inspected as if the
	 * server read it.  (Virtual ports report "unknown": no cost.) */
	if (unlikely(((*m)->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
	             RTE_MBUF_F_RX_IP_CKSUM_BAD)) {
		dw->ws->drop_ipv4_bad_checksum++;
		return DECODE_DROP;
	}
	if (unlikely(((*m)->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
	             RTE_MBUF_F_RX_L4_CKSUM_BAD)) {
		dw->ws->drop_l4_bad_checksum++;
		return DECODE_DROP;
	}
	rc = decode_frame(rte_pktmbuf_mtod(*m, const uint8_t *),
	                  rte_pktmbuf_data_len(*m), rte_pktmbuf_pkt_len(*m),
	                  dw->conf.verify_ip_checksum, pm, &fi, dw->ws);
	if (rc != DECODE_OK || !fi.is_frag)
		return rc;
	return decode_frag(dw, m, pm, &fi, now_tsc);
}

void
decode_flush(struct decode_worker *dw)
{
	if (dw->tbl != NULL)
		decode_frag_expire(dw, dw->now_tsc);
	rte_ip_frag_free_death_row(&dw->dr, DECODE_DR_PREFETCH);
}

void
decode_drain(struct decode_worker *dw)
{
	struct decode_frag_rec *rec;

	while ((rec = TAILQ_FIRST(&dw->fifo)) != NULL) {
		if (!rec->dropped)
			dw->ws->frag_held_at_exit += rec->n_held;
		decode_frag_rec_del(dw, rec);
	}
	if (dw->tbl != NULL)
		decode_frag_expire_tbl(dw, UINT64_MAX);
	rte_ip_frag_free_death_row(&dw->dr, DECODE_DR_PREFETCH);
}

static uint64_t
decode_ms_to_tsc(uint32_t ms)
{
	return (rte_get_tsc_hz() + 999) / 1000 * ms;
}

/* rte_ip_frag table plus our record index, both sized for
 * frag_max_datagrams datagrams in progress. */
static int
decode_frag_setup(struct decode_worker *dw, int socket)
{
	static uint32_t decode_seq;
	char name[RTE_HASH_NAMESIZE];
	uint32_t max = dw->conf.frag_max_datagrams;
	struct rte_hash_parameters hp = {
		.name = name,
		/* rte_hash wants at least one bucket (8 entries) */
		.entries = RTE_MAX(max, 8u),
		.key_len = sizeof(struct decode_frag_key),
		.hash_func = rte_jhash,
		/* random seed: keys are attacker-chosen */
		.hash_func_init_val = (uint32_t)rte_rand(),
		.socket_id = socket,
		/* chained overflow: a full bucket never refuses a key */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	int32_t max_id;

	snprintf(name, sizeof(name), "decode_frag_%u",
	         __atomic_fetch_add(&decode_seq, 1, __ATOMIC_RELAXED));
	dw->rec_idx = rte_hash_create(&hp);
	if (dw->rec_idx == NULL)
		return -1;
	max_id = rte_hash_max_key_id(dw->rec_idx);
	if (max_id < 0)
		return -1;
	dw->recs = rte_zmalloc_socket("decode_frag_recs",
	        ((size_t)max_id + 1) * sizeof(*dw->recs), RTE_CACHE_LINE_SIZE,
	        socket);
	if (dw->recs == NULL)
		return -1;
	dw->max_recs = max;
	dw->src_seed = (uint32_t)rte_rand();
	dw->share_max = hold_share_max(max, dw->conf.source_share_pct);
	/* Twice the buckets the datagrams need: a new datagram whose two
	 * candidate buckets are full of live ones is refused even with the
	 * table not full, which evicting the oldest cannot help. */
	dw->tbl = rte_ip_frag_table_create(
	        2 * ((max + DECODE_FRAG_BUCKET_ENTRIES - 1) /
	             DECODE_FRAG_BUCKET_ENTRIES),
	        DECODE_FRAG_BUCKET_ENTRIES, max, dw->timeout_tsc, socket);
	return dw->tbl == NULL ? -1 : 0;
}

void
decode_conf_init(struct decode_conf *dc, const struct ips_config *c)
{
	memset(dc, 0, sizeof(*dc));
	dc->frag_max_datagrams = c->limits.frag_datagrams;
	dc->frag_timeout_ms = c->limits.frag_timeout_ms;
	dc->source_share_pct = c->limits.source_share;
	dc->verify_ip_checksum = c->policy.verify_ip_checksum;
}

struct decode_worker *
decode_worker_create(const struct decode_conf *conf, int socket,
                     struct worker_stats *ws)
{
	struct decode_worker *dw;

	dw = rte_zmalloc_socket("decode_worker", sizeof(*dw),
	                        RTE_CACHE_LINE_SIZE, socket);
	if (dw == NULL)
		return NULL;
	dw->conf = *conf;
	dw->ws = ws;
	dw->timeout_tsc = decode_ms_to_tsc(conf->frag_timeout_ms);
	TAILQ_INIT(&dw->fifo);
	/* frag_max_datagrams = 0: no reassembly, every fragment dropped. */
	if (conf->frag_max_datagrams != 0 && decode_frag_setup(dw, socket) < 0) {
		decode_worker_free(dw);
		return NULL;
	}
	return dw;
}

void
decode_worker_free(struct decode_worker *dw)
{
	if (dw == NULL)
		return;
	if (dw->tbl != NULL)
		rte_ip_frag_table_destroy(dw->tbl);
	rte_ip_frag_free_death_row(&dw->dr, DECODE_DR_PREFETCH);
	rte_hash_free(dw->rec_idx);
	rte_free(dw->recs);
	rte_free(dw);
}
