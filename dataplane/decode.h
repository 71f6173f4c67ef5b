/*
 * decode.h - first stage: frame bytes to struct pkt_meta.
 *
 * Owns: Ethernet, 802.1Q/802.1ad (QinQ, at most 2 tags), IPv4 (with
 * options), IPv6 (with extension headers), TCP, UDP, ICMP/ICMPv6 header
 * validation, and IPv4/IPv6 fragment reassembly (rte_ip_frag, one table per
 * worker, bounded, with a timeout).  A malformed or truncated packet is
 * counted under its own drop_ reason and reported as DECODE_DROP; decode
 * never forwards and never frees a packet it reports as DROP (the caller
 * does, through the verdict stage), but it owns fragments it holds.
 *
 * A full reassembly table ends the datagram begun longest ago for a new
 * one (drop_frag_evicted): a flood of first fragments that never complete
 * costs the flood, not the next legitimate datagram.  A source with
 * limits.source_share percent of the table in progress has its new
 * datagrams refused (drop_frag_share).
 *
 * Fragments whose byte ranges overlap make the whole datagram be dropped
 * (drop_frag_overlap): overlapping fragments are how an attacker shows the
 * IPS one payload and the server another.
 *
 * Entry point: decode_packet().  Called by the worker for each received
 * packet; not thread-safe per decode_worker (one per worker).
 */
#ifndef IPS_DECODE_H
#define IPS_DECODE_H

#include <stdint.h>

#include "pkt.h"
#include "stats.h"

struct rte_mbuf;
struct decode_worker;

struct decode_conf {
	uint32_t frag_max_datagrams;  /* in-progress datagrams per worker */
	uint32_t frag_timeout_ms;     /* an incomplete datagram is dropped after */
	uint32_t source_share_pct;    /* datagrams one source may have in
	                               * progress, percent; 0 = no limit */
	uint8_t verify_ip_checksum;   /* IPv4 header checksum */
};

enum decode_result {
	DECODE_OK = 0,      /* pm filled: IP packet to inspect */
	DECODE_NOT_IP,      /* valid Ethernet, not IP (ARP...): forward as-is */
	DECODE_HELD,        /* a fragment, now owned by the reassembly table */
	DECODE_DROP,        /* malformed: drop_ counter already incremented */
};

/*
 * Create the per-worker decoder on NUMA socket `socket`.  Counters go to ws.
 * Returns NULL on allocation failure (setup only).
 */
struct ips_config;
/* This stage's settings from the config (limits.frag_*,
 * policy.verify_ip_checksum).  Cannot fail. */
void decode_conf_init(struct decode_conf *dc, const struct ips_config *c);

struct decode_worker *decode_worker_create(const struct decode_conf *conf,
                                           int socket,
                                           struct worker_stats *ws);
void decode_worker_free(struct decode_worker *dw);

/*
 * Decode *m.  When the packet completes a fragmented datagram, *m is
 * replaced by the reassembled mbuf chain (pm->reassembled = 1) and the
 * fragments it was built from belong to the chain.
 *
 * now_tsc: rte_rdtsc() of the burst, for fragment timeouts.
 * Returns enum decode_result.
 */
int decode_packet(struct decode_worker *dw, struct rte_mbuf **m,
                  struct pkt_meta *pm, uint64_t now_tsc);

/*
 * Parse a contiguous frame of len bytes (no fragment handling: a fragment
 * reports DECODE_OK with pm describing the IP header and proto of the
 * fragment, payload_len 0, and *is_fragment = 1).  frame_len is the length
 * of the whole packet when data holds only its first segment (headers must
 * lie in data).  Pure and allocation-free: the libFuzzer entry point.
 */
int decode_parse(const uint8_t *data, uint32_t len, uint32_t frame_len,
                 struct pkt_meta *pm, int *is_fragment,
                 struct worker_stats *ws);

/* Free fragments the reassembly table expired or rejected (DPDK's
 * "death row").  Call once per burst. */
void decode_flush(struct decode_worker *dw);

/* Count fragments still held (frag_held_at_exit) and free them. */
void decode_drain(struct decode_worker *dw);

#endif /* IPS_DECODE_H */
