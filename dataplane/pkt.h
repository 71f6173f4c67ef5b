/*
 * pkt.h - what decode learns about a packet, read by every later stage.
 *
 * Offsets are from the start of the frame (the first mbuf segment's data).
 * After IP reassembly the frame is an mbuf chain: headers are in the first
 * segment, the L4 payload may span segments (see pkt_payload_walk in
 * stream.c).  Addresses are kept in 16-byte form; IPv4 is mapped
 * (::ffff:a.b.c.d) so flows and rules compare one way for both families.
 */
#ifndef IPS_PKT_H
#define IPS_PKT_H

#include <stdint.h>

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20

#define PKT_WSCALE_NONE 0xff    /* no Window Scale option */
#define PKT_WSCALE_MAX 14       /* RFC 7323 §2.3: larger means 14 */

struct pkt_meta {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;         /* host order; 0 for ICMP */
	uint16_t dport;
	uint8_t ip_version;     /* 4 or 6; 0 = not IP */
	uint8_t proto;          /* IPPROTO_* of the L4 header */
	uint8_t tcp_flags;      /* PKT_TCP_* */
	uint8_t ttl;            /* IPv4 TTL / IPv6 hop limit */
	uint16_t l3_off;        /* after Ethernet and VLAN tags */
	uint16_t l4_off;        /* after IP header and extension headers */
	uint32_t seq;           /* TCP, host order */
	uint32_t ack;
	uint16_t window;        /* as sent: unscaled */
	uint8_t tcp_wscale;     /* SYN: Window Scale shift (RFC 7323, at
	                         * most 14), else PKT_WSCALE_NONE */
	uint8_t reassembled;    /* built from IP fragments */
	uint8_t n_vlans;
	uint32_t payload_off;   /* L4 payload */
	uint32_t payload_len;   /* bounded by the IP length, not the frame */
};

#endif /* IPS_PKT_H */
