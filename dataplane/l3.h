/*
 * l3.h - the L3 gateway (mode "l3"): the gateway's own addresses, its
 * neighbors, its routes, and the rule that it is not an open router.
 *
 * Owns:
 *  - the routes (rte_lpm / rte_lpm6, built once at start from the ports'
 *    subnets and l3.routes, read-only afterwards and shared by all
 *    workers) and the pod subnets and service ports a transit packet must
 *    match (l3.pod_subnets, l3.service_ports): from the public side only
 *    to a service port of a pod, from the private side only a pod's
 *    answer from a service port; everything else is dropped and counted;
 *  - the neighbor table, one per worker, bounded (l3.neighbor_table),
 *    never locked: ARP (RFC 826) and IPv6 neighbor discovery (RFC 4861)
 *    answered for the gateway's addresses and resolved for next hops,
 *    static neighbors from the config, packets held (4 per neighbor)
 *    while their next hop resolves, the least recently confirmed entry
 *    evicted when full.  Each worker resolves on its own; what one learns
 *    from the wire is passed to the others on lock-free rings (a reply
 *    may reach a different queue than the worker that asked);
 *  - TTL and hop-limit decrement (IPv4 checksum updated incrementally,
 *    RFC 1624), and the ICMP and ICMPv6 errors a router sends (time
 *    exceeded, destination unreachable, fragmentation needed / packet too
 *    big; RFC 1812 4.3.2.7 and RFC 4443 2.4 say when not to), rate
 *    limited per worker by a token bucket (l3.icmp_rate); echo replies
 *    for the gateway's own addresses.
 *
 * Must not touch: flows, streams, detection, verdicts.  A transit packet
 * leaves l3_input unchanged but for its TTL; its Ethernet header is
 * rewritten by l3_output when forward sends it.
 *
 * Entry points: l3_input() (the worker, after decode), l3_output()
 * (forward, for every packet it sends in mode "l3"), l3_poll() (the
 * worker, once per burst), l3_take() (forward: packets this stage made or
 * released).  Thread: one l3_worker per worker; the l3_routes are shared
 * read-only.
 */
#ifndef IPS_L3_H
#define IPS_L3_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"
#include "stats.h"

struct ips_config;
struct rte_mbuf;
struct rte_mempool;
struct l3_routes;
struct l3_worker;

/* Packets held per unresolved neighbor (the newest are kept: TCP
 * retransmits what is lost). */
#define L3_NEIGH_HOLD 4
/* Packets made or released between two l3_take calls, at most. */
#define L3_OUTBOX 512
#define L3_NO_PORT UINT16_MAX

/*
 * Build the shared routing state from c (mode "l3") for ports port_ids[i]
 * = c->ports[i], and one neighbor news ring for each of n_workers.
 * Reads each port's MAC address and MTU: call after the ports are probed.
 * Setup only.  Returns NULL with the reason in err.
 */
struct l3_routes *l3_routes_create(const struct ips_config *c,
                                   const uint16_t *port_ids,
                                   unsigned n_workers, char *err,
                                   size_t errlen);
void l3_routes_free(struct l3_routes *r);

/* Mbufs one worker may hold for unresolved neighbors (pool sizing). */
unsigned l3_held_max(const struct ips_config *c);

/*
 * The stage of worker `worker` (< n_workers of l3_routes_create): its
 * neighbor table with the static neighbors in it, its ICMP budget.
 * Generated packets come from pool.  NULL with the reason in err.
 */
struct l3_worker *l3_worker_create(struct l3_routes *r, unsigned worker,
                                   struct rte_mempool *pool,
                                   struct worker_stats *ws, int socket,
                                   char *err, size_t errlen);

/* Free held packets (counted l3_held_at_exit) and what is queued. */
void l3_worker_free(struct l3_worker *l3);

enum l3_input_result {
	L3_TRANSIT = 0,     /* go on to flow; the TTL is decremented */
	L3_CONSUMED,        /* for the gateway itself, answered or absorbed:
	                     * the stage owns the mbuf (counted l3_local) */
	L3_DROP,            /* the caller frees it; the reason is counted */
};

/*
 * A packet received on port (PKT_SIDE_* side).  pm is decode's result;
 * pm->ip_version == 0 for a frame decode found not to be IP (ARP).
 * now_tsc: the burst's TSC.  Returns enum l3_input_result.
 */
int l3_input(struct l3_worker *l3, struct rte_mbuf *m, const struct pkt_meta *pm,
             uint16_t port, uint8_t side, uint64_t now_tsc);

/*
 * Route m (an IP packet after a 14-byte Ethernet header: mode "l3" takes
 * no VLAN tags) and write its Ethernet header for the next hop.  Returns
 * the output port, or L3_NO_PORT when the stage kept m (held until its
 * next hop resolves) or freed it (the reason counted).
 */
uint16_t l3_output(struct l3_worker *l3, struct rte_mbuf *m);

/* Once per burst: neighbor news from the other workers, resolution
 * retries and give-ups. */
void l3_poll(struct l3_worker *l3, uint64_t now_tsc);

/* Move up to max packets the stage made or released (ARP and ND
 * messages, ICMP, packets whose neighbor resolved) to m[], their output
 * ports to port[].  Returns how many. */
unsigned l3_take(struct l3_worker *l3, struct rte_mbuf **m, uint16_t *port,
                 unsigned max);

/* ---- parsers (pure: the fuzz harness's entry points) -------------------- */

struct l3_arp {
	uint16_t op;                /* 1 request, 2 reply */
	uint8_t sha[6];
	uint8_t spa[4];
	uint8_t tha[6];
	uint8_t tpa[4];
};

/* An Ethernet/IPv4 ARP message at frame[l3_off..len).  Returns 0, or -1
 * when it is not one a host would act on (RFC 826 fields, unicast
 * sender hardware address). */
int l3_parse_arp(const uint8_t *frame, uint32_t len, uint32_t l3_off,
                 struct l3_arp *a);

#define L3_ND_NS 135
#define L3_ND_NA 136

struct l3_nd {
	uint8_t type;               /* L3_ND_NS or L3_ND_NA */
	uint8_t flags;              /* NA: R 0x80, S 0x40, O 0x20 */
	uint8_t target[16];
	uint8_t has_lla;            /* source (NS) / target (NA) link-layer
	                             * address option present */
	uint8_t lla[6];
};

/*
 * A neighbor solicitation or advertisement, checked as RFC 4861 7.1.1 and
 * 7.1.2 say (hop limit 255, code 0, length, checksum, options of non-zero
 * length, target not multicast, no SLLA from the unspecified address).
 * pm is decode's result for the frame (ICMPv6); the whole message must be
 * in frame[0..len).  Returns 0, or -1 (not ND, or invalid).
 */
int l3_parse_nd(const uint8_t *frame, uint32_t len, const struct pkt_meta *pm,
                struct l3_nd *nd);

/* IPv4 header checksum after the TTL went down by one (RFC 1624,
 * eqn. 3).  hc and the result in network byte order. */
uint16_t l3_ttl_csum_update(uint16_t hc);

#endif /* IPS_L3_H */
