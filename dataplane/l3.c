/*
 * l3.c - the L3 gateway: routes, neighbors, the gateway's own addresses,
 * TTL and ICMP (see l3.h).
 *
 * Layout: the shared routing state (built at start), the pure parsers,
 * the per-worker neighbor table, the packets the stage makes (ARP, ND,
 * ICMP), then the entry points.  Neighbor entries live in a fixed array
 * indexed by an rte_hash of (address, port); two intrusive lists order
 * them: by last confirmation (the eviction order) and, for the ones being
 * resolved, by last probe (the retry order, so l3_poll looks only at the
 * head).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "config.h"
#include "l3.h"
#include "pkt_ctx.h"

#define L3_ETH_HLEN         14
#define L3_ETH_ARP          0x0806
#define L3_ETH_IPV4         0x0800
#define L3_ETH_IPV6         0x86dd
#define L3_ARP_LEN          28
/* Ethernet's minimum frame without FCS: a PMD sends what it is given,
 * and a runt is what switches drop */
#define L3_ETH_MIN          60
#define L3_ICMP6_ECHO_REQ   128
#define L3_ICMP6_ECHO_REP   129
#define L3_ICMP_ECHO_REQ    8
#define L3_ICMP_ECHO_REP    0
#define L3_ND_HDR_LEN       24      /* type .. target */
#define L3_ND_OPT_SLLA      1
#define L3_ND_OPT_TLLA      2
#define L3_NA_ROUTER        0x80
#define L3_NA_SOLICITED     0x40
#define L3_NA_OVERRIDE      0x20
#define L3_IPV4_DF          0x4000
#define L3_TTL              64

/* RFC 1812 4.3.2.3: an ICMP error holds as much of the datagram as fits
 * in 576 bytes; RFC 4443 2.4 (c): in the IPv6 minimum MTU. */
#define L3_ICMP4_MAX        576
#define L3_ICMP6_MAX        1280
#define L3_ICMP_BURST_MAX   50

/* Resolution: a request a second, three tries, then the next hop counts
 * as down for a few seconds (what Linux does with its defaults). */
#define L3_PROBE_MS         1000
#define L3_MAX_PROBES       3
#define L3_FAILED_HOLD_MS   3000
#define L3_NEWS_BURST       32
#define L3_POLL_BUDGET      16
#define L3_HELD_CAP         1024
#define L3_NEWS_RING        1024

#define L3_MAX_NEXTHOPS (CONFIG_MAX_ROUTES + CONFIG_MAX_PORTS * CONFIG_MAX_PORT_ADDRS)
#define L3_MAX_OWN      (CONFIG_MAX_PORTS * CONFIG_MAX_PORT_ADDRS)

/* ---- shared routing state ------------------------------------------------ */

struct l3_nexthop {
	uint8_t via[16];            /* the neighbor to send to */
	uint16_t port;              /* port id */
	uint8_t on_link;            /* the destination is the neighbor */
};

struct l3_port {
	uint8_t present;
	uint8_t side;               /* PKT_SIDE_* */
	uint16_t mtu;
	struct rte_ether_addr mac;
	/* the config's, then the link-local one from the MAC */
	struct config_prefix addrs[CONFIG_MAX_PORT_ADDRS + 1];
	unsigned n_addrs;
};

/* An address of the gateway, or the broadcast address of one of its IPv4
 * subnets: never forwarded. */
struct l3_own {
	uint8_t ip[16];
	uint16_t port;
	uint8_t broadcast;
};

/* What one worker learned from the wire, for the others. */
struct l3_news {
	uint8_t ip[16];
	uint16_t port;
	uint8_t mac[6];
	uint8_t pad[8];
};

struct l3_routes {
	struct rte_lpm *v4;         /* DIR-24-8: 64 MiB whatever the routes */
	struct rte_lpm6 *v6;
	/* a handful, scanned: another rte_lpm would cost 64 MiB more */
	struct config_prefix pods[CONFIG_MAX_POD_SUBNETS];
	unsigned n_pods;
	struct l3_nexthop nh[L3_MAX_NEXTHOPS];
	uint32_t n_nh;
	/* rte_lpm takes prefix lengths from 1: a default route is the
	 * answer to a miss */
	uint32_t default4;          /* index into nh[], UINT32_MAX = none */
	uint32_t default6;
	uint64_t service[65536 / 64];   /* bit per TCP/UDP port */
	struct l3_port ports[RTE_MAX_ETHPORTS];
	struct l3_own own[L3_MAX_OWN * 2 + CONFIG_MAX_PORTS];
	unsigned n_own;
	struct config_neighbor statics[CONFIG_MAX_NEIGHBORS];  /* port = id */
	unsigned n_statics;
	uint32_t neigh_capacity;
	uint32_t neigh_timeout_s;
	uint32_t icmp_rate;
	unsigned held_max;
	unsigned n_workers;
	struct rte_ring *news[RTE_MAX_LCORE];
};

/* ---- per-worker neighbor table ------------------------------------------- */

enum l3_neigh_state {
	L3_NB_INCOMPLETE = 1,       /* asked, no answer yet: packets held */
	L3_NB_REACHABLE,            /* answered; refreshed after the timeout */
	L3_NB_FAILED,               /* no answer: drop for L3_FAILED_HOLD_MS */
	L3_NB_STATIC,               /* from the config: never changes */
};

struct l3_nkey {
	uint8_t ip[16];
	uint16_t port;
	uint16_t pad;
};

struct l3_neigh {
	struct l3_nkey key;
	struct rte_ether_addr mac;
	uint8_t state;              /* enum l3_neigh_state */
	uint8_t probes;             /* requests since the last answer */
	uint8_t n_held;
	uint8_t pending;            /* on the retry list */
	uint64_t confirmed_tsc;     /* answer; INCOMPLETE: created; FAILED:
	                             * when it failed */
	uint64_t probe_tsc;         /* last request sent */
	struct rte_mbuf *held[L3_NEIGH_HOLD];
	TAILQ_ENTRY(l3_neigh) lru;
	TAILQ_ENTRY(l3_neigh) retry;
};

TAILQ_HEAD(l3_neigh_list, l3_neigh);

struct l3_worker {
	struct l3_routes *r;
	unsigned id;
	struct worker_stats *ws;
	struct rte_mempool *pool;
	uint64_t now;
	uint64_t hz;
	uint64_t timeout_tsc;
	uint64_t probe_tsc;
	uint64_t failed_tsc;
	struct rte_hash *idx;
	struct l3_neigh *nb;        /* by rte_hash position */
	uint32_t n_nb;
	unsigned n_held;            /* all entries */
	struct l3_neigh_list lru;   /* oldest confirmation first; no statics */
	struct l3_neigh_list retry; /* INCOMPLETE, oldest probe first */
	uint64_t icmp_tokens;
	uint64_t icmp_last_tsc;
	uint64_t icmp_burst;
	uint16_t n_out;
	struct rte_mbuf *out_m[L3_OUTBOX];
	uint16_t out_port[L3_OUTBOX];
} __rte_cache_aligned;

/* ---- addresses ------------------------------------------------------------- */

static const uint8_t l3_v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static inline uint32_t
l3_rd16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t
l3_v4_host(const uint8_t a[16])
{
	return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 |
	       (uint32_t)a[14] << 8 | a[15];
}

static int
l3_is_v4(const uint8_t a[16])
{
	return memcmp(a, l3_v4_mapped, sizeof(l3_v4_mapped)) == 0;
}

/* Multicast, broadcast, unspecified, loopback: no ICMP error about such a
 * source or destination, no neighbor entry for it (RFC 1812 4.3.2.7). */
static int
l3_is_special(const uint8_t a[16])
{
	static const uint8_t zero[16];

	if (l3_is_v4(a))
		return a[12] == 0 || a[12] == 127 || a[12] >= 224;
	return a[0] == 0xff || memcmp(a, zero, 15) == 0;
}

static int
l3_is_link_local6(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* Is a on the subnet of one of port's addresses of its family? */
static int
l3_on_link(const struct l3_port *p, const uint8_t a[16])
{
	for (unsigned i = 0; i < p->n_addrs; i++)
		if (config_prefix_has(&p->addrs[i], a))
			return 1;
	return !l3_is_v4(a) && l3_is_link_local6(a);
}

/* The gateway's address of a's family on port: the one whose subnet
 * holds a if any, else the first.  NULL if the port has none. */
static const uint8_t *
l3_port_addr(const struct l3_port *p, const uint8_t a[16])
{
	const uint8_t *first = NULL;
	int v4 = l3_is_v4(a);

	for (unsigned i = 0; i < p->n_addrs; i++) {
		if ((p->addrs[i].version == 4) != v4)
			continue;
		if (config_prefix_has(&p->addrs[i], a))
			return p->addrs[i].addr;
		if (first == NULL)
			first = p->addrs[i].addr;
	}
	return first;
}

static const struct l3_own *
l3_own_find(const struct l3_routes *r, const uint8_t a[16])
{
	for (unsigned i = 0; i < r->n_own; i++)
		if (memcmp(r->own[i].ip, a, 16) == 0)
			return &r->own[i];
	return NULL;
}

/* Is address a (port's own, on that port) the gateway's? */
static int
l3_is_own_on(const struct l3_routes *r, uint16_t port, const uint8_t a[16])
{
	const struct l3_own *o = l3_own_find(r, a);

	return o != NULL && !o->broadcast && o->port == port;
}

static int
l3_is_pod(const struct l3_routes *r, const uint8_t a[16])
{
	for (unsigned i = 0; i < r->n_pods; i++)
		if (config_prefix_has(&r->pods[i], a))
			return 1;
	return 0;
}

static int
l3_is_service(const struct l3_routes *r, uint16_t port)
{
	return (r->service[port / 64] >> (port % 64)) & 1;
}

static const struct l3_nexthop *
l3_route(const struct l3_routes *r, const uint8_t a[16])
{
	uint32_t nh;
	int v4 = l3_is_v4(a);
	int rc = v4 ? rte_lpm_lookup(r->v4, l3_v4_host(a), &nh)
	            : rte_lpm6_lookup(r->v6, a, &nh);

	if (rc != 0)
		nh = v4 ? r->default4 : r->default6;
	return nh < r->n_nh ? &r->nh[nh] : NULL;
}

/* ---- building the shared state -------------------------------------------- */

static int __attribute__((format(printf, 3, 4)))
l3_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
l3_lpm_add(struct l3_routes *r, const struct config_prefix *p, uint32_t nh)
{
	if (p->len == 0) {
		*(p->version == 4 ? &r->default4 : &r->default6) = nh;
		return 0;
	}
	if (p->version == 4)
		return rte_lpm_add(r->v4, l3_v4_host(p->addr), p->len, nh);
	return rte_lpm6_add(r->v6, p->addr, p->len, nh);
}

/* A network from an interface address: the host bits cleared. */
static struct config_prefix
l3_network(const struct config_prefix *a)
{
	struct config_prefix n = *a;
	unsigned bits = a->len + (a->version == 4 ? 96u : 0u);

	for (unsigned b = bits; b < 128; b++)
		n.addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	return n;
}

static int
l3_add_nexthop(struct l3_routes *r, const struct config_prefix *to,
               const uint8_t *via, uint16_t port, char *err, size_t errlen)
{
	struct l3_nexthop *nh = &r->nh[r->n_nh];
	int rc;

	memset(nh, 0, sizeof(*nh));
	nh->port = port;
	nh->on_link = via == NULL;
	if (via != NULL)
		memcpy(nh->via, via, 16);
	rc = l3_lpm_add(r, to, r->n_nh);
	if (rc != 0)
		return l3_fail(err, errlen, "l3: adding a route: %s",
		               rte_strerror(-rc));
	r->n_nh++;
	return 0;
}

/* fe80::/64 with the modified EUI-64 of the MAC (RFC 4291 2.5.1): the
 * address IPv6 routers on the link use as a next hop.  Never routed. */
static void
l3_add_link_local(struct l3_routes *r, struct l3_port *p, uint16_t port)
{
	struct config_prefix *ll = &p->addrs[p->n_addrs++];
	const uint8_t *m = p->mac.addr_bytes;
	struct l3_own *o = &r->own[r->n_own++];

	memset(ll, 0, sizeof(*ll));
	ll->addr[0] = 0xfe;
	ll->addr[1] = 0x80;
	ll->addr[8] = m[0] ^ 0x02;
	ll->addr[9] = m[1];
	ll->addr[10] = m[2];
	ll->addr[11] = 0xff;
	ll->addr[12] = 0xfe;
	ll->addr[13] = m[3];
	ll->addr[14] = m[4];
	ll->addr[15] = m[5];
	ll->len = 64;
	ll->version = 6;
	memcpy(o->ip, ll->addr, 16);
	o->port = port;
}

/* Each port: its MAC, MTU, addresses, connected routes, own addresses. */
static int
l3_setup_ports(struct l3_routes *r, const struct ips_config *c,
               const uint16_t *port_ids, char *err, size_t errlen)
{
	for (unsigned i = 0; i < c->n_ports; i++) {
		const struct config_port *cp = &c->ports[i];
		struct l3_port *p = &r->ports[port_ids[i]];

		p->present = 1;
		p->side = cp->role == PORT_ROLE_PUBLIC ? PKT_SIDE_PUBLIC
		                                       : PKT_SIDE_PRIVATE;
		if (rte_eth_macaddr_get(port_ids[i], &p->mac) != 0 ||
		    rte_eth_dev_get_mtu(port_ids[i], &p->mtu) != 0)
			return l3_fail(err, errlen, "port '%s': no MAC address "
			               "or MTU", cp->name);
		memcpy(p->addrs, cp->addrs, sizeof(p->addrs));
		p->n_addrs = cp->n_addrs;
		for (unsigned j = 0; j < cp->n_addrs; j++) {
			struct config_prefix net = l3_network(&cp->addrs[j]);
			struct l3_own *o = &r->own[r->n_own++];

			memcpy(o->ip, cp->addrs[j].addr, 16);
			o->port = port_ids[i];
			if (l3_add_nexthop(r, &net, NULL, port_ids[i], err,
			                   errlen) < 0)
				return -1;
			if (cp->addrs[j].version == 4 && cp->addrs[j].len < 31) {
				/* the subnet's broadcast address */
				o = &r->own[r->n_own++];
				memcpy(o->ip, net.addr, 16);
				for (unsigned b = 96u + cp->addrs[j].len; b < 128; b++)
					o->ip[b / 8] |= (uint8_t)(0x80u >> (b % 8));
				o->port = port_ids[i];
				o->broadcast = 1;
			}
		}
		l3_add_link_local(r, p, port_ids[i]);
	}
	return 0;
}

static int
l3_setup_routes(struct l3_routes *r, const struct ips_config *c,
                const uint16_t *port_ids, char *err, size_t errlen)
{
	const struct config_l3 *l3 = &c->l3;

	for (unsigned i = 0; i < l3->n_routes; i++) {
		const struct config_route *cr = &l3->routes[i];

		if (l3_add_nexthop(r, &cr->to, cr->has_via ? cr->via : NULL,
		                   port_ids[cr->port], err, errlen) < 0)
			return -1;
	}
	memcpy(r->pods, l3->pod_subnets, sizeof(r->pods));
	r->n_pods = l3->n_pod_subnets;
	if (l3->n_service_ports == 0) {
		for (unsigned i = 0; i < c->n_http_ports; i++)
			r->service[c->http_ports[i] / 64] |=
				1ull << (c->http_ports[i] % 64);
	}
	for (unsigned i = 0; i < l3->n_service_ports; i++)
		r->service[l3->service_ports[i] / 64] |=
			1ull << (l3->service_ports[i] % 64);
	for (unsigned i = 0; i < l3->n_neighbors; i++) {
		r->statics[i] = l3->neighbors[i];
		r->statics[i].port = port_ids[l3->neighbors[i].port];
	}
	r->n_statics = l3->n_neighbors;
	return 0;
}

static int
l3_create_tables(struct l3_routes *r, char *err, size_t errlen)
{
	static unsigned seq;
	unsigned n = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
	struct rte_lpm_config c4 = {
		.max_rules = L3_MAX_NEXTHOPS,
		/* a tbl8 (1 KiB) per prefix longer than /24, at most */
		.number_tbl8s = L3_MAX_NEXTHOPS,
	};
	struct rte_lpm6_config c6 = {
		.max_rules = L3_MAX_NEXTHOPS,
		/* a /64 takes 5 tbl8s (1 KiB each) past its first 24 bits;
		 * longer prefixes up to 13 */
		.number_tbl8s = 8 * L3_MAX_NEXTHOPS,
	};
	char name[64];

	snprintf(name, sizeof(name), "l3_v4_%u", n);
	r->v4 = rte_lpm_create(name, SOCKET_ID_ANY, &c4);
	snprintf(name, sizeof(name), "l3_v6_%u", n);
	r->v6 = rte_lpm6_create(name, SOCKET_ID_ANY, &c6);
	if (r->v4 == NULL || r->v6 == NULL)
		return l3_fail(err, errlen, "l3: route tables: %s (raise -m in "
		               "eal?)", rte_strerror(rte_errno));
	for (unsigned w = 0; w < r->n_workers; w++) {
		snprintf(name, sizeof(name), "l3_news_%u_%u", n, w);
		/* many workers post, the owner alone reads */
		r->news[w] = rte_ring_create_elem(name, sizeof(struct l3_news),
		                                  L3_NEWS_RING, SOCKET_ID_ANY,
		                                  RING_F_SC_DEQ);
		if (r->news[w] == NULL)
			return l3_fail(err, errlen, "l3: neighbor ring: %s",
			               rte_strerror(rte_errno));
	}
	return 0;
}

unsigned
l3_held_max(const struct ips_config *c)
{
	uint64_t n = (uint64_t)c->l3.neighbor_table * L3_NEIGH_HOLD;

	return config_is_l3(c) ? (unsigned)RTE_MIN(n, (uint64_t)L3_HELD_CAP) : 0;
}

struct l3_routes *
l3_routes_create(const struct ips_config *c, const uint16_t *port_ids,
                 unsigned n_workers, char *err, size_t errlen)
{
	struct l3_routes *r;

	if (n_workers > RTE_MAX_LCORE) {
		l3_fail(err, errlen, "l3: too many workers");
		return NULL;
	}
	r = rte_zmalloc("l3_routes", sizeof(*r), RTE_CACHE_LINE_SIZE);
	if (r == NULL) {
		l3_fail(err, errlen, "l3: out of memory");
		return NULL;
	}
	r->n_workers = n_workers;
	r->default4 = r->default6 = UINT32_MAX;
	r->neigh_capacity = c->l3.neighbor_table;
	r->neigh_timeout_s = c->l3.neighbor_timeout;
	r->icmp_rate = c->l3.icmp_rate;
	r->held_max = l3_held_max(c);
	/* ports first: their connected routes lose to configured ones of
	 * the same prefix (rte_lpm_add replaces) */
	if (l3_create_tables(r, err, errlen) < 0 ||
	    l3_setup_ports(r, c, port_ids, err, errlen) < 0 ||
	    l3_setup_routes(r, c, port_ids, err, errlen) < 0) {
		l3_routes_free(r);
		return NULL;
	}
	return r;
}

void
l3_routes_free(struct l3_routes *r)
{
	if (r == NULL)
		return;
	rte_lpm_free(r->v4);
	rte_lpm6_free(r->v6);
	for (unsigned w = 0; w < r->n_workers; w++)
		rte_ring_free(r->news[w]);
	rte_free(r);
}

/* ---- parsers ---------------------------------------------------------------- */

int
l3_parse_arp(const uint8_t *frame, uint32_t len, uint32_t l3_off,
             struct l3_arp *a)
{
	const uint8_t *p = frame + l3_off;

	if (l3_off < L3_ETH_HLEN || l3_off > len || len - l3_off < L3_ARP_LEN)
		return -1;
	if (l3_rd16(frame + l3_off - 2) != L3_ETH_ARP)
		return -1;
	/* Ethernet hardware, IPv4 protocol, their lengths (RFC 826) */
	if (l3_rd16(p) != RTE_ARP_HRD_ETHER || l3_rd16(p + 2) != L3_ETH_IPV4 ||
	    p[4] != 6 || p[5] != 4)
		return -1;
	a->op = (uint16_t)l3_rd16(p + 6);
	if (a->op != RTE_ARP_OP_REQUEST && a->op != RTE_ARP_OP_REPLY)
		return -1;
	memcpy(a->sha, p + 8, 6);
	memcpy(a->spa, p + 14, 4);
	memcpy(a->tha, p + 18, 6);
	memcpy(a->tpa, p + 24, 4);
	/* a sender must be a station: no group or all-zero address */
	if ((a->sha[0] & 1) ||
	    (a->sha[0] | a->sha[1] | a->sha[2] | a->sha[3] | a->sha[4] |
	     a->sha[5]) == 0)
		return -1;
	return 0;
}

/* One's complement sum of the ICMPv6 pseudo-header and message. */
static uint16_t
l3_icmp6_sum(const uint8_t src[16], const uint8_t dst[16], const void *msg,
             uint32_t len)
{
	uint8_t ph[40];
	uint32_t sum;

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = IPPROTO_ICMPV6;
	sum = __rte_raw_cksum(ph, sizeof(ph), 0);
	sum = __rte_raw_cksum(msg, len, sum);
	return __rte_raw_cksum_reduce(sum);
}

/* ND options: type, length in 8-byte units (never 0), data.  Takes the
 * link-layer address option of type want.  Returns 0, -1 if malformed. */
static int
l3_nd_options(const uint8_t *o, uint32_t n, uint8_t want, struct l3_nd *nd)
{
	while (n > 0) {
		uint32_t olen;

		if (n < 2 || o[1] == 0)
			return -1;
		olen = (uint32_t)o[1] * 8;
		if (olen > n)
			return -1;
		if (o[0] == want && olen == 8) {
			memcpy(nd->lla, o + 2, 6);
			nd->has_lla = 1;
		}
		o += olen;
		n -= olen;
	}
	return 0;
}

int
l3_parse_nd(const uint8_t *frame, uint32_t len, const struct pkt_meta *pm,
            struct l3_nd *nd)
{
	static const uint8_t unspecified[16];
	const uint8_t *ip, *icmp;
	uint32_t ip_end, mlen;

	memset(nd, 0, sizeof(*nd));
	if (pm->ip_version != 6 || pm->proto != IPPROTO_ICMPV6 ||
	    pm->reassembled || pm->l3_off + 40u > len || pm->l4_off > len)
		return -1;
	ip = frame + pm->l3_off;
	ip_end = pm->l3_off + 40u + l3_rd16(ip + 4);
	if (ip_end > len || pm->l4_off >= ip_end)
		return -1;
	icmp = frame + pm->l4_off;
	mlen = ip_end - pm->l4_off;
	if (mlen < L3_ND_HDR_LEN || (icmp[0] != L3_ND_NS && icmp[0] != L3_ND_NA))
		return -1;
	/* RFC 4861 7.1: only from the link itself, never routed */
	if (ip[7] != 255 || icmp[1] != 0 ||
	    l3_icmp6_sum(ip + 8, ip + 24, icmp, mlen) != 0xffff)
		return -1;
	nd->type = icmp[0];
	nd->flags = icmp[4];
	memcpy(nd->target, icmp + 8, 16);
	if (nd->target[0] == 0xff)
		return -1;
	if (l3_nd_options(icmp + L3_ND_HDR_LEN, mlen - L3_ND_HDR_LEN,
	                  nd->type == L3_ND_NS ? L3_ND_OPT_SLLA : L3_ND_OPT_TLLA,
	                  nd) < 0)
		return -1;
	/* a DAD probe comes from :: and must carry no source address */
	if (nd->type == L3_ND_NS && nd->has_lla &&
	    memcmp(ip + 8, unspecified, 16) == 0)
		return -1;
	if (nd->has_lla && (nd->lla[0] & 1))
		return -1;
	return 0;
}

uint16_t
l3_ttl_csum_update(uint16_t hc)
{
	/* HC' = ~(~HC + ~m + m'), m = TTL:proto; TTL - 1 lowers m by 0x100 */
	uint32_t sum = (uint32_t)(~rte_be_to_cpu_16(hc) & 0xffff) + 0xfeff;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return rte_cpu_to_be_16((uint16_t)~sum);
}

/* ---- the outbox and packets this stage makes ------------------------------ */

static void
l3_emit(struct l3_worker *l3, struct rte_mbuf *m, uint16_t port)
{
	/* forward takes the outbox after every call into this stage: a
	 * call adds a handful, so it cannot fill; if it ever did, it is a
	 * lost transmission like a full TX ring */
	if (unlikely(l3->n_out == L3_OUTBOX)) {
		l3->ws->drop_tx_full++;
		rte_pktmbuf_free(m);
		return;
	}
	l3->out_m[l3->n_out] = m;
	l3->out_port[l3->n_out] = port;
	l3->n_out++;
}

static uint8_t *
l3_write_eth(uint8_t *f, const struct rte_ether_addr *dst,
             const struct rte_ether_addr *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return f + L3_ETH_HLEN;
}

static struct rte_mbuf *
l3_alloc(struct l3_worker *l3, uint32_t len, uint8_t **data)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(l3->pool);

	if (m == NULL)
		return NULL;
	*data = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (*data == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(*data, 0, len);
	return m;
}

static void
l3_ipv4_header(uint8_t *ip, const uint8_t src[16], const uint8_t dst[16],
               uint8_t proto, uint32_t total)
{
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

	h->version_ihl = RTE_IPV4_VHL_DEF;
	h->total_length = rte_cpu_to_be_16((uint16_t)total);
	h->time_to_live = L3_TTL;
	h->next_proto_id = proto;
	memcpy(&h->src_addr, src + 12, 4);
	memcpy(&h->dst_addr, dst + 12, 4);
	h->hdr_checksum = 0;
	h->hdr_checksum = rte_ipv4_cksum(h);
}

static void
l3_ipv6_header(uint8_t *ip, const uint8_t src[16], const uint8_t dst[16],
               uint32_t payload, uint8_t hop_limit)
{
	ip[0] = 0x60;
	ip[4] = (uint8_t)(payload >> 8);
	ip[5] = (uint8_t)payload;
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = hop_limit;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
}

/* Ask who has ip on port (ARP request, or NS to its solicited-node
 * multicast group) from the gateway's own address there. */
static void
l3_send_probe(struct l3_worker *l3, const struct l3_nkey *k)
{
	const struct l3_port *p = &l3->r->ports[k->port];
	const uint8_t *src = l3_port_addr(p, k->ip);
	struct rte_ether_addr bcast;
	struct rte_mbuf *m;
	uint8_t *f, *q;

	if (src == NULL)
		return;
	if (l3_is_v4(k->ip)) {
		m = l3_alloc(l3, L3_ETH_MIN, &f);
		if (m == NULL)
			return;
		memset(&bcast, 0xff, sizeof(bcast));
		q = l3_write_eth(f, &bcast, &p->mac, L3_ETH_ARP);
		q[1] = RTE_ARP_HRD_ETHER;
		q[2] = L3_ETH_IPV4 >> 8;
		q[4] = 6;
		q[5] = 4;
		q[7] = RTE_ARP_OP_REQUEST;
		memcpy(q + 8, &p->mac, 6);
		memcpy(q + 14, src + 12, 4);
		memcpy(q + 24, k->ip + 12, 4);
		l3->ws->l3_arp_requests_sent++;
	} else {
		/* ff02::1:ffXX:XXXX and 33:33:ff:XX:XX:XX (RFC 4291 2.7.1) */
		uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff,
		                    k->ip[13], k->ip[14], k->ip[15] };
		struct rte_ether_addr mc = { { 0x33, 0x33, 0xff, k->ip[13],
		                               k->ip[14], k->ip[15] } };
		uint32_t mlen = L3_ND_HDR_LEN + 8;
		uint16_t sum;

		m = l3_alloc(l3, L3_ETH_HLEN + 40 + mlen, &f);
		if (m == NULL)
			return;
		q = l3_write_eth(f, &mc, &p->mac, L3_ETH_IPV6);
		l3_ipv6_header(q, src, dst, mlen, 255);
		q += 40;
		q[0] = L3_ND_NS;
		memcpy(q + 8, k->ip, 16);
		q[24] = L3_ND_OPT_SLLA;
		q[25] = 1;
		memcpy(q + 26, &p->mac, 6);
		sum = l3_icmp6_sum(src, dst, q, mlen);
		sum = (uint16_t)~sum;
		memcpy(q + 2, &sum, 2);
		l3->ws->l3_nd_solicits_sent++;
	}
	l3_emit(l3, m, k->port);
}

/* ICMP error classes, per family. */
enum l3_icmp_kind {
	L3_ICMP_TTL = 0,            /* time exceeded in transit */
	L3_ICMP_NO_ROUTE,           /* net / no route */
	L3_ICMP_NO_HOST,            /* host / address unreachable */
	L3_ICMP_TOO_BIG,            /* fragmentation needed / packet too big */
};

static const uint8_t l3_icmp4_type[][2] = {
	[L3_ICMP_TTL] = { 11, 0 }, [L3_ICMP_NO_ROUTE] = { 3, 0 },
	[L3_ICMP_NO_HOST] = { 3, 1 }, [L3_ICMP_TOO_BIG] = { 3, 4 },
};
static const uint8_t l3_icmp6_type[][2] = {
	[L3_ICMP_TTL] = { 3, 0 }, [L3_ICMP_NO_ROUTE] = { 1, 0 },
	[L3_ICMP_NO_HOST] = { 1, 3 }, [L3_ICMP_TOO_BIG] = { 2, 0 },
};

/* RFC 1812 4.3.2.7 / RFC 4443 2.4 (e): never about an ICMP error, a
 * non-initial fragment, a non-unicast source or destination. */
static int
l3_icmp_allowed(const struct rte_mbuf *m, const struct pkt_meta *pm)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);

	if (l3_is_special(pm->src) || l3_is_special(pm->dst))
		return 0;
	if (pm->proto == IPPROTO_ICMP && pm->ip_version == 4) {
		uint8_t t = f[pm->l4_off];

		if (t != L3_ICMP_ECHO_REQ && t != L3_ICMP_ECHO_REP && t != 13 &&
		    t != 14)
			return 0;
	}
	if (pm->proto == IPPROTO_ICMPV6 && pm->ip_version == 6 &&
	    f[pm->l4_off] < 128)
		return 0;
	if (pm->ip_version == 4 && !pm->reassembled &&
	    (l3_rd16(f + pm->l3_off + 6) & 0x1fff) != 0)
		return 0;
	return 1;
}

/* Token bucket: icmp_rate a second, bursts up to icmp_burst. */
static int
l3_icmp_token(struct l3_worker *l3)
{
	uint64_t rate = l3->r->icmp_rate, add;

	if (rate == 0)
		return 0;
	add = (l3->now - l3->icmp_last_tsc) * rate / l3->hz;
	if (add > 0) {
		l3->icmp_tokens = RTE_MIN(l3->icmp_tokens + add, l3->icmp_burst);
		l3->icmp_last_tsc += add * l3->hz / rate;
		if (l3->icmp_tokens == l3->icmp_burst)
			l3->icmp_last_tsc = l3->now;
	}
	if (l3->icmp_tokens == 0)
		return 0;
	l3->icmp_tokens--;
	return 1;
}

static void l3_send_routed(struct l3_worker *l3, struct rte_mbuf *m);

/*
 * Tell the sender of m (received on in_port) that it was not delivered.
 * The quote is read with rte_pktmbuf_read: m may be a reassembled chain.
 * m is left to the caller.
 */
static void
l3_icmp_error(struct l3_worker *l3, const struct rte_mbuf *m,
              const struct pkt_meta *pm, uint16_t in_port,
              enum l3_icmp_kind kind, uint32_t mtu)
{
	int v4 = pm->ip_version == 4;
	uint32_t hdr = v4 ? 20 : 40, max = v4 ? L3_ICMP4_MAX : L3_ICMP6_MAX;
	uint32_t dgram = rte_pktmbuf_pkt_len(m) - pm->l3_off;
	uint32_t quote = RTE_MIN(dgram, max - hdr - 8);
	const uint8_t *src = l3_port_addr(&l3->r->ports[in_port], pm->src);
	const uint8_t *type = v4 ? l3_icmp4_type[kind] : l3_icmp6_type[kind];
	struct rte_mbuf *e;
	uint8_t *f, *ip, *icmp;
	const void *q;
	uint16_t sum;

	if (src == NULL || !l3_icmp_allowed(m, pm))
		return;
	if (!l3_icmp_token(l3)) {
		l3->ws->l3_icmp_rate_limited++;
		return;
	}
	e = l3_alloc(l3, L3_ETH_HLEN + hdr + 8 + quote, &f);
	if (e == NULL)
		return;
	ip = f + L3_ETH_HLEN;
	icmp = ip + hdr;
	q = rte_pktmbuf_read(m, pm->l3_off, quote, icmp + 8);
	if (q == NULL) {
		rte_pktmbuf_free(e);
		return;
	}
	if (q != icmp + 8)
		memcpy(icmp + 8, q, quote);
	icmp[0] = type[0];
	icmp[1] = type[1];
	if (kind == L3_ICMP_TOO_BIG) {
		/* RFC 1191: next-hop MTU in the low 16 bits; RFC 4443 3.2:
		 * the MTU as 32 bits */
		icmp[4] = v4 ? 0 : (uint8_t)(mtu >> 24);
		icmp[5] = v4 ? 0 : (uint8_t)(mtu >> 16);
		icmp[6] = (uint8_t)(mtu >> 8);
		icmp[7] = (uint8_t)mtu;
	}
	if (v4) {
		l3_ipv4_header(ip, src, pm->src, IPPROTO_ICMP, hdr + 8 + quote);
		sum = (uint16_t)~rte_raw_cksum(icmp, 8 + quote);
	} else {
		l3_ipv6_header(ip, src, pm->src, 8 + quote, L3_TTL);
		sum = (uint16_t)~l3_icmp6_sum(src, pm->src, icmp, 8 + quote);
	}
	memcpy(icmp + 2, &sum, 2);
	l3->ws->l3_icmp_errors_sent++;
	l3_send_routed(l3, e);
}

/* ---- neighbor table --------------------------------------------------------- */

static struct l3_neigh *
l3_neigh_find(struct l3_worker *l3, const uint8_t ip[16], uint16_t port)
{
	struct l3_nkey k;
	int32_t pos;

	memset(&k, 0, sizeof(k));
	memcpy(k.ip, ip, 16);
	k.port = port;
	pos = rte_hash_lookup(l3->idx, &k);
	return pos < 0 ? NULL : &l3->nb[pos];
}

static void
l3_neigh_unretry(struct l3_worker *l3, struct l3_neigh *e)
{
	if (e->pending) {
		TAILQ_REMOVE(&l3->retry, e, retry);
		e->pending = 0;
	}
}

/* Drop what e holds (the reason counted by the caller's choice). */
static void
l3_neigh_drop_held(struct l3_worker *l3, struct l3_neigh *e, uint64_t *reason)
{
	for (unsigned i = 0; i < e->n_held; i++) {
		rte_pktmbuf_free(e->held[i]);
		(*reason)++;
	}
	l3->n_held -= e->n_held;
	e->n_held = 0;
}

static void
l3_neigh_delete(struct l3_worker *l3, struct l3_neigh *e)
{
	l3_neigh_drop_held(l3, e, &l3->ws->drop_l3_neigh_table_full);
	l3_neigh_unretry(l3, e);
	if (e->state != L3_NB_STATIC)
		TAILQ_REMOVE(&l3->lru, e, lru);
	rte_hash_del_key(l3->idx, &e->key);
	e->state = 0;
	l3->n_nb--;
}

/* A new entry for (ip, port) in state; when full the least recently
 * confirmed entry goes (DESIGN §9: the stalest holder pays).  NULL when
 * nothing can go (every entry static). */
static struct l3_neigh *
l3_neigh_new(struct l3_worker *l3, const uint8_t ip[16], uint16_t port,
             uint8_t state)
{
	struct l3_neigh *e;
	struct l3_nkey k;
	int32_t pos;

	if (l3->n_nb >= l3->r->neigh_capacity) {
		e = TAILQ_FIRST(&l3->lru);
		if (e == NULL)
			return NULL;
		l3->ws->l3_neigh_evicted++;
		l3_neigh_delete(l3, e);
	}
	memset(&k, 0, sizeof(k));
	memcpy(k.ip, ip, 16);
	k.port = port;
	pos = rte_hash_add_key(l3->idx, &k);
	if (pos < 0)
		return NULL;
	e = &l3->nb[pos];
	memset(e, 0, sizeof(*e));
	e->key = k;
	e->state = state;
	e->confirmed_tsc = l3->now;
	if (state != L3_NB_STATIC)
		TAILQ_INSERT_TAIL(&l3->lru, e, lru);
	l3->n_nb++;
	return e;
}

/* Send what waited for e, now that its MAC is known. */
static void
l3_neigh_release(struct l3_worker *l3, struct l3_neigh *e)
{
	const struct l3_port *p = &l3->r->ports[e->key.port];

	for (unsigned i = 0; i < e->n_held; i++) {
		struct rte_mbuf *m = e->held[i];
		uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);

		l3_write_eth(f, &e->mac, &p->mac, (f[L3_ETH_HLEN] >> 4) == 4 ?
		             L3_ETH_IPV4 : L3_ETH_IPV6);
		l3_emit(l3, m, e->key.port);
	}
	l3->n_held -= e->n_held;
	e->n_held = 0;
}

/* e answered with mac: reachable again, its packets go. */
static void
l3_neigh_confirm(struct l3_worker *l3, struct l3_neigh *e, const uint8_t mac[6])
{
	if (e->state == L3_NB_STATIC)
		return;             /* pinned: the wire cannot move it */
	memcpy(&e->mac, mac, 6);
	e->state = L3_NB_REACHABLE;
	e->probes = 0;
	e->confirmed_tsc = l3->now;
	l3_neigh_unretry(l3, e);
	TAILQ_REMOVE(&l3->lru, e, lru);
	TAILQ_INSERT_TAIL(&l3->lru, e, lru);
	l3->ws->l3_neigh_learned++;
	l3_neigh_release(l3, e);
}

/* Tell the other workers: they may be resolving the same neighbor, and
 * its answer reached this worker's queue. */
static void
l3_news_post(struct l3_worker *l3, const uint8_t ip[16], uint16_t port,
             const uint8_t mac[6])
{
	struct l3_news n;

	memset(&n, 0, sizeof(n));
	memcpy(n.ip, ip, 16);
	n.port = port;
	memcpy(n.mac, mac, 6);
	for (unsigned w = 0; w < l3->r->n_workers; w++)
		if (w != l3->id &&
		    rte_ring_mp_enqueue_elem(l3->r->news[w], &n, sizeof(n)) != 0)
			l3->ws->l3_neigh_news_lost++;
}

/*
 * The wire says ip on port is at mac.  create: make an entry if there is
 * none (the sender asked for us, so we will answer it: RFC 826's merge
 * rule); otherwise only update one.  Only on-link senders are learned.
 */
static void
l3_neigh_learn(struct l3_worker *l3, const uint8_t ip[16], uint16_t port,
               const uint8_t mac[6], int create)
{
	struct l3_neigh *e = l3_neigh_find(l3, ip, port);

	if (l3_is_special(ip) || !l3_on_link(&l3->r->ports[port], ip))
		return;
	if (e == NULL) {
		if (!create)
			return;
		e = l3_neigh_new(l3, ip, port, L3_NB_REACHABLE);
		if (e == NULL)
			return;
	} else if (e->state == L3_NB_REACHABLE &&
	           memcmp(&e->mac, mac, 6) == 0 &&
	           l3->now - e->confirmed_tsc < l3->timeout_tsc / 2) {
		return;             /* nothing new: no news either */
	}
	l3_neigh_confirm(l3, e, mac);
	l3_news_post(l3, ip, port, mac);
}

/* Hold m for e: the oldest held packet goes when e or the worker is full. */
static void
l3_neigh_hold(struct l3_worker *l3, struct l3_neigh *e, struct rte_mbuf *m)
{
	if (e->n_held == L3_NEIGH_HOLD || l3->n_held >= l3->r->held_max) {
		if (e->n_held == 0) {
			l3->ws->drop_l3_neigh_hold_full++;
			rte_pktmbuf_free(m);
			return;
		}
		l3->ws->drop_l3_neigh_hold_full++;
		rte_pktmbuf_free(e->held[0]);
		memmove(e->held, e->held + 1, (e->n_held - 1) * sizeof(e->held[0]));
		e->n_held--;
		l3->n_held--;
	}
	e->held[e->n_held++] = m;
	l3->n_held++;
	l3->ws->l3_held++;
}

static void
l3_neigh_probe(struct l3_worker *l3, struct l3_neigh *e)
{
	e->probe_tsc = l3->now;
	e->probes++;
	l3_send_probe(l3, &e->key);
	if (e->state == L3_NB_INCOMPLETE) {
		l3_neigh_unretry(l3, e);
		TAILQ_INSERT_TAIL(&l3->retry, e, retry);
		e->pending = 1;
	}
}

/* Start resolving e again (new, failed long enough, or silent too long). */
static void
l3_neigh_resolve(struct l3_worker *l3, struct l3_neigh *e)
{
	e->state = L3_NB_INCOMPLETE;
	e->probes = 0;
	e->confirmed_tsc = l3->now;
	l3_neigh_probe(l3, e);
}

/*
 * The MAC of neighbor ip on port for m, or NULL when m was held or
 * dropped.  A reachable entry older than the timeout is asked again
 * while in use; one that stays silent through L3_MAX_PROBES is resolved
 * from scratch.
 */
static const struct rte_ether_addr *
l3_neigh_mac(struct l3_worker *l3, const uint8_t ip[16], uint16_t port,
             struct rte_mbuf *m)
{
	struct l3_neigh *e = l3_neigh_find(l3, ip, port);
	uint64_t age;

	if (e == NULL) {
		e = l3_neigh_new(l3, ip, port, L3_NB_INCOMPLETE);
		if (e == NULL) {
			l3->ws->drop_l3_neigh_table_full++;
			rte_pktmbuf_free(m);
			return NULL;
		}
		l3_neigh_resolve(l3, e);
	}
	age = l3->now - e->confirmed_tsc;
	switch (e->state) {
	case L3_NB_STATIC:
		return &e->mac;
	case L3_NB_REACHABLE:
		if (age < l3->timeout_tsc)
			return &e->mac;
		if (age < l3->timeout_tsc + L3_MAX_PROBES * l3->probe_tsc) {
			if (l3->now - e->probe_tsc >= l3->probe_tsc)
				l3_neigh_probe(l3, e);
			return &e->mac;
		}
		l3_neigh_resolve(l3, e);
		break;
	case L3_NB_FAILED:
		if (age < l3->failed_tsc) {
			l3->ws->drop_l3_neigh_unresolved++;
			rte_pktmbuf_free(m);
			return NULL;
		}
		l3_neigh_resolve(l3, e);
		break;
	}
	l3_neigh_hold(l3, e, m);
	return NULL;
}

/* Route m (from this stage or forward) and give it its Ethernet header.
 * Returns the port, or L3_NO_PORT (held or freed, counted). */
static uint16_t
l3_route_out(struct l3_worker *l3, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	const struct rte_ether_addr *mac;
	const struct l3_nexthop *nh;
	uint8_t dst[16];
	int v4 = (f[L3_ETH_HLEN] >> 4) == 4;

	if (v4) {
		memcpy(dst, l3_v4_mapped, 12);
		memcpy(dst + 12, f + L3_ETH_HLEN + 16, 4);
	} else {
		memcpy(dst, f + L3_ETH_HLEN + 24, 16);
	}
	nh = l3_route(l3->r, dst);
	if (unlikely(nh == NULL)) {
		l3->ws->drop_l3_no_route++;
		rte_pktmbuf_free(m);
		return L3_NO_PORT;
	}
	mac = l3_neigh_mac(l3, nh->on_link ? dst : nh->via, nh->port, m);
	if (mac == NULL)
		return L3_NO_PORT;
	l3_write_eth(f, mac, &l3->r->ports[nh->port].mac,
	             v4 ? L3_ETH_IPV4 : L3_ETH_IPV6);
	return nh->port;
}

static void
l3_send_routed(struct l3_worker *l3, struct rte_mbuf *m)
{
	uint16_t port = l3_route_out(l3, m);

	if (port != L3_NO_PORT)
		l3_emit(l3, m, port);
}

/* ---- for the gateway itself: ARP, ND, ping ------------------------------- */

/* Answer an ARP request in place: the request becomes the reply. */
static void
l3_arp_reply(struct l3_worker *l3, struct rte_mbuf *m, uint16_t port,
             const struct l3_arp *a)
{
	const struct l3_port *p = &l3->r->ports[port];
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *q = f + L3_ETH_HLEN;

	l3_write_eth(f, (const struct rte_ether_addr *)a->sha, &p->mac,
	             L3_ETH_ARP);
	q[6] = 0;
	q[7] = RTE_ARP_OP_REPLY;
	memcpy(q + 8, &p->mac, 6);
	memcpy(q + 14, a->tpa, 4);
	memcpy(q + 18, a->sha, 6);
	memcpy(q + 24, a->spa, 4);
	/* the request's padding, if any, is the reply's: zero it */
	if (rte_pktmbuf_data_len(m) > L3_ETH_HLEN + L3_ARP_LEN)
		memset(q + L3_ARP_LEN, 0, rte_pktmbuf_data_len(m) - L3_ETH_HLEN -
		       L3_ARP_LEN);
	l3->ws->l3_arp_replies_sent++;
	l3_emit(l3, m, port);
}

static int
l3_input_arp(struct l3_worker *l3, struct rte_mbuf *m, const struct pkt_meta *pm,
             uint16_t port)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint8_t spa[16], tpa[16];
	struct l3_arp a;
	int for_us;

	if (l3_rd16(f + pm->l3_off - 2) != L3_ETH_ARP) {
		l3->ws->drop_l3_not_ip++;
		return L3_DROP;
	}
	if (l3_parse_arp(f, rte_pktmbuf_data_len(m), pm->l3_off, &a) < 0) {
		l3->ws->drop_l3_malformed++;
		return L3_DROP;
	}
	memcpy(spa, l3_v4_mapped, 12);
	memcpy(spa + 12, a.spa, 4);
	memcpy(tpa, l3_v4_mapped, 12);
	memcpy(tpa + 12, a.tpa, 4);
	for_us = l3_is_own_on(l3->r, port, tpa);
	l3_neigh_learn(l3, spa, port, a.sha, for_us);
	l3->ws->l3_local++;
	if (for_us && a.op == RTE_ARP_OP_REQUEST) {
		l3_arp_reply(l3, m, port, &a);
		return L3_CONSUMED;
	}
	rte_pktmbuf_free(m);
	return L3_CONSUMED;
}

/* Advertise target (ours) to the solicitor: a router, solicited unless
 * the solicitation came from :: (duplicate address detection), which is
 * answered to all nodes (RFC 4861 7.2.4). */
static void
l3_nd_advert(struct l3_worker *l3, uint16_t port, const uint8_t target[16],
             const uint8_t to[16], const struct rte_ether_addr *to_mac)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const struct rte_ether_addr all_nodes_mac = {
		{ 0x33, 0x33, 0, 0, 0, 1 } };
	static const uint8_t unspecified[16];
	const struct l3_port *p = &l3->r->ports[port];
	int dad = memcmp(to, unspecified, 16) == 0;
	const uint8_t *dst = dad ? all_nodes : to;
	uint32_t mlen = L3_ND_HDR_LEN + 8;
	struct rte_mbuf *m;
	uint8_t *f, *q;
	uint16_t sum;

	m = l3_alloc(l3, L3_ETH_HLEN + 40 + mlen, &f);
	if (m == NULL)
		return;
	q = l3_write_eth(f, dad ? &all_nodes_mac : to_mac, &p->mac, L3_ETH_IPV6);
	l3_ipv6_header(q, target, dst, mlen, 255);
	q += 40;
	q[0] = L3_ND_NA;
	q[4] = L3_NA_ROUTER | L3_NA_OVERRIDE | (dad ? 0 : L3_NA_SOLICITED);
	memcpy(q + 8, target, 16);
	q[24] = L3_ND_OPT_TLLA;
	q[25] = 1;
	memcpy(q + 26, &p->mac, 6);
	sum = (uint16_t)~l3_icmp6_sum(target, dst, q, mlen);
	memcpy(q + 2, &sum, 2);
	l3->ws->l3_nd_adverts_sent++;
	l3_emit(l3, m, port);
}

static int
l3_input_nd(struct l3_worker *l3, struct rte_mbuf *m, const struct pkt_meta *pm,
            uint16_t port)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct l3_nd nd;

	if (l3_parse_nd(f, rte_pktmbuf_data_len(m), pm, &nd) < 0) {
		l3->ws->drop_l3_malformed++;
		return L3_DROP;
	}
	if (nd.type == L3_ND_NS) {
		int for_us = l3_is_own_on(l3->r, port, nd.target);

		if (nd.has_lla)
			l3_neigh_learn(l3, pm->src, port, nd.lla, for_us);
		if (for_us)
			l3_nd_advert(l3, port, nd.target, pm->src, nd.has_lla ?
			             (const struct rte_ether_addr *)nd.lla :
			             (const struct rte_ether_addr *)(f + 6));
	} else if (nd.has_lla) {
		/* an advertisement updates, never creates (RFC 4861 7.2.5) */
		l3_neigh_learn(l3, nd.target, port, nd.lla, 0);
	}
	l3->ws->l3_local++;
	rte_pktmbuf_free(m);
	return L3_CONSUMED;
}

/* Answer a ping to the gateway in place: swap the ends, flip the type,
 * and update the checksum by the type's difference (the pseudo-header
 * of ICMPv6 sums the same with the addresses swapped). */
static int
l3_input_echo(struct l3_worker *l3, struct rte_mbuf *m, const struct pkt_meta *pm,
              uint16_t port)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *ip = f + pm->l3_off, *icmp = f + pm->l4_off;
	uint8_t reply = pm->ip_version == 4 ? L3_ICMP_ECHO_REP : L3_ICMP6_ECHO_REP;
	struct rte_ether_addr peer;
	uint32_t sum;
	uint16_t hc;

	memcpy(&peer, f + 6, 6);
	memcpy(&hc, icmp + 2, 2);
	/* RFC 1624 eqn. 3 over the type:code word */
	sum = (uint32_t)(~rte_be_to_cpu_16(hc) & 0xffff) +
	      (~l3_rd16(icmp) & 0xffff) + ((uint32_t)reply << 8 | icmp[1]);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	icmp[0] = reply;
	hc = rte_cpu_to_be_16((uint16_t)~sum);
	memcpy(icmp + 2, &hc, 2);
	if (pm->ip_version == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint32_t a = h->src_addr;

		h->src_addr = h->dst_addr;
		h->dst_addr = a;
		h->time_to_live = L3_TTL;
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
	} else {
		uint8_t a[16];

		memcpy(a, ip + 8, 16);
		memcpy(ip + 8, ip + 24, 16);
		memcpy(ip + 24, a, 16);
		ip[7] = L3_TTL;
	}
	l3_write_eth(f, &peer, &l3->r->ports[port].mac, pm->ip_version == 4 ?
	             L3_ETH_IPV4 : L3_ETH_IPV6);
	l3->ws->l3_local++;
	l3->ws->l3_echo_replies_sent++;
	l3_emit(l3, m, port);
	return L3_CONSUMED;
}

static int
l3_is_nd_type(uint8_t t)
{
	return t == L3_ND_NS || t == L3_ND_NA;
}

/* Addressed to the gateway (one of its addresses, a broadcast or a
 * multicast group): ND, ping, or nothing it serves. */
static int
l3_input_local(struct l3_worker *l3, struct rte_mbuf *m,
               const struct pkt_meta *pm, uint16_t port, int unicast)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint8_t icmp_type = pm->proto == IPPROTO_ICMP ||
	                    pm->proto == IPPROTO_ICMPV6 ? f[pm->l4_off] : 0;

	if (pm->ip_version == 6 && pm->proto == IPPROTO_ICMPV6) {
		if (l3_is_nd_type(icmp_type))
			return l3_input_nd(l3, m, pm, port);
		if (!unicast) {
			/* MLD reports, router solicitations: link chatter */
			l3->ws->l3_local++;
			rte_pktmbuf_free(m);
			return L3_CONSUMED;
		}
		if (icmp_type == L3_ICMP6_ECHO_REQ)
			return l3_input_echo(l3, m, pm, port);
	}
	if (pm->ip_version == 4 && pm->proto == IPPROTO_ICMP && unicast &&
	    icmp_type == L3_ICMP_ECHO_REQ)
		return l3_input_echo(l3, m, pm, port);
	if (unicast)
		l3->ws->drop_l3_to_gateway++;
	else
		l3->ws->drop_l3_multicast++;
	return L3_DROP;
}

/* ---- transit ----------------------------------------------------------------- */

/* The rule that makes the gateway no open router: from the public side
 * only to a service port of a pod, from the private side only a pod's
 * answer from a service port, toward the public side. */
static int
l3_transit_allowed(struct l3_worker *l3, const struct pkt_meta *pm,
                   uint8_t side)
{
	const struct l3_routes *r = l3->r;
	int ported = pm->proto == IPPROTO_TCP || pm->proto == IPPROTO_UDP;

	if (side == PKT_SIDE_PUBLIC) {
		if (!l3_is_pod(r, pm->dst)) {
			l3->ws->drop_l3_not_pod++;
			return 0;
		}
		if (ported && !l3_is_service(r, pm->dport)) {
			l3->ws->drop_l3_port_closed++;
			return 0;
		}
		return 1;
	}
	if (!l3_is_pod(r, pm->src)) {
		l3->ws->drop_l3_spoofed++;
		return 0;
	}
	if (l3_is_pod(r, pm->dst)) {
		l3->ws->drop_l3_not_pod++;
		return 0;
	}
	if (ported && !l3_is_service(r, pm->sport)) {
		l3->ws->drop_l3_port_closed++;
		return 0;
	}
	return 1;
}

static void
l3_ttl_decrement(struct rte_mbuf *m, const struct pkt_meta *pm)
{
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, pm->l3_off);

	if (pm->ip_version == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

		h->time_to_live--;
		h->hdr_checksum = l3_ttl_csum_update(h->hdr_checksum);
	} else {
		ip[7]--;
	}
}

static int
l3_transit(struct l3_worker *l3, struct rte_mbuf *m, const struct pkt_meta *pm,
           uint16_t port, uint8_t side)
{
	const struct l3_nexthop *nh;
	uint32_t ip_len, mtu;

	if (!l3_transit_allowed(l3, pm, side))
		return L3_DROP;
	nh = l3_route(l3->r, pm->dst);
	if (nh == NULL) {
		l3_icmp_error(l3, m, pm, port, L3_ICMP_NO_ROUTE, 0);
		l3->ws->drop_l3_no_route++;
		return L3_DROP;
	}
	if (l3->r->ports[nh->port].side == side) {
		l3->ws->drop_l3_not_pod++;      /* back out the side it came */
		return L3_DROP;
	}
	if (pm->ttl <= 1) {
		l3_icmp_error(l3, m, pm, port, L3_ICMP_TTL, 0);
		l3->ws->drop_l3_ttl_expired++;
		return L3_DROP;
	}
	ip_len = rte_pktmbuf_pkt_len(m) - pm->l3_off;
	mtu = l3->r->ports[nh->port].mtu;
	if (ip_len > mtu) {
		const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *,
		                                            pm->l3_off);

		if (pm->ip_version == 4 &&
		    (pm->reassembled || !(l3_rd16(ip + 6) & L3_IPV4_DF))) {
			m->l2_len = pm->l3_off;  /* forward cuts it */
		} else if (!pm->reassembled) {
			l3_icmp_error(l3, m, pm, port, L3_ICMP_TOO_BIG, mtu);
			l3->ws->drop_l3_too_big++;
			return L3_DROP;
		}
	}
	l3_ttl_decrement(m, pm);
	return L3_TRANSIT;
}

/* ---- entry points -------------------------------------------------------------- */

int
l3_input(struct l3_worker *l3, struct rte_mbuf *m, const struct pkt_meta *pm,
         uint16_t port, uint8_t side, uint64_t now_tsc)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct l3_port *p = &l3->r->ports[port];
	const struct l3_own *own;
	int group = f[0] & 1;

	l3->now = now_tsc;
	if (pm->n_vlans != 0) {
		l3->ws->drop_l3_vlan++;
		return L3_DROP;
	}
	if (!group && memcmp(f, &p->mac, 6) != 0) {
		l3->ws->drop_l3_foreign_mac++;
		return L3_DROP;
	}
	if (pm->ip_version == 0)
		return l3_input_arp(l3, m, pm, port);
	own = l3_own_find(l3->r, pm->dst);
	if (own != NULL)
		return l3_input_local(l3, m, pm, port, !own->broadcast && !group);
	if (l3_is_special(pm->dst) || group)
		return l3_input_local(l3, m, pm, port, 0);
	return l3_transit(l3, m, pm, port, side);
}

uint16_t
l3_output(struct l3_worker *l3, struct rte_mbuf *m)
{
	return l3_route_out(l3, m);
}

/* News from another worker: refresh or resolve an entry, or make one if
 * there is room (this worker is likely to need it too). */
static void
l3_news_apply(struct l3_worker *l3, const struct l3_news *n)
{
	struct l3_neigh *e = l3_neigh_find(l3, n->ip, n->port);

	if (e == NULL) {
		if (l3->n_nb >= l3->r->neigh_capacity)
			return;
		e = l3_neigh_new(l3, n->ip, n->port, L3_NB_REACHABLE);
		if (e == NULL)
			return;
	}
	l3_neigh_confirm(l3, e, n->mac);
}

/* What l3_icmp_error reads of a held packet (decode checked it when it
 * came in; its headers are in the first segment after 14 bytes). */
static int
l3_held_meta(const struct rte_mbuf *m, struct pkt_meta *pm)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *,
	                                            L3_ETH_HLEN);
	uint32_t hlen;

	memset(pm, 0, sizeof(*pm));
	pm->l3_off = L3_ETH_HLEN;
	pm->reassembled = m->l2_len != 0;
	if ((ip[0] >> 4) == 4) {
		hlen = (uint32_t)(ip[0] & 0x0f) * 4;
		pm->ip_version = 4;
		pm->proto = ip[9];
		memcpy(pm->src, l3_v4_mapped, 12);
		memcpy(pm->src + 12, ip + 12, 4);
		memcpy(pm->dst, l3_v4_mapped, 12);
		memcpy(pm->dst + 12, ip + 16, 4);
	} else {
		hlen = 40;
		pm->ip_version = 6;
		pm->proto = ip[6];
		memcpy(pm->src, ip + 8, 16);
		memcpy(pm->dst, ip + 24, 16);
	}
	pm->l4_off = (uint16_t)(L3_ETH_HLEN + hlen);
	return pm->l4_off < rte_pktmbuf_data_len(m) ? 0 : -1;
}

void
l3_poll(struct l3_worker *l3, uint64_t now_tsc)
{
	struct l3_news news[L3_NEWS_BURST];
	struct l3_neigh *e;
	unsigned n, budget = L3_POLL_BUDGET;

	l3->now = now_tsc;
	n = rte_ring_sc_dequeue_burst_elem(l3->r->news[l3->id], news,
	                                   sizeof(news[0]), L3_NEWS_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		l3_news_apply(l3, &news[i]);
	/* the retry list is in probe order: stop at the first not due */
	while (budget-- > 0 && (e = TAILQ_FIRST(&l3->retry)) != NULL &&
	       now_tsc - e->probe_tsc >= l3->probe_tsc) {
		if (e->probes < L3_MAX_PROBES) {
			l3_neigh_probe(l3, e);
			continue;
		}
		/* silent: tell the senders (a router would), then hold off */
		for (unsigned i = 0; i < e->n_held; i++) {
			struct pkt_meta pm;

			/* only what came in a port: not packets we made */
			if (e->held[i]->port < RTE_MAX_ETHPORTS &&
			    l3->r->ports[e->held[i]->port].present &&
			    l3_held_meta(e->held[i], &pm) == 0)
				l3_icmp_error(l3, e->held[i], &pm,
				              e->held[i]->port, L3_ICMP_NO_HOST, 0);
		}
		l3_neigh_drop_held(l3, e, &l3->ws->drop_l3_neigh_unresolved);
		l3_neigh_unretry(l3, e);
		e->state = L3_NB_FAILED;
		e->confirmed_tsc = now_tsc;
	}
}

unsigned
l3_take(struct l3_worker *l3, struct rte_mbuf **m, uint16_t *port,
        unsigned max)
{
	unsigned n = RTE_MIN(max, (unsigned)l3->n_out);

	memcpy(m, l3->out_m, n * sizeof(m[0]));
	memcpy(port, l3->out_port, n * sizeof(port[0]));
	if (n < l3->n_out) {
		memmove(l3->out_m, l3->out_m + n,
		        (l3->n_out - n) * sizeof(m[0]));
		memmove(l3->out_port, l3->out_port + n,
		        (l3->n_out - n) * sizeof(port[0]));
	}
	l3->n_out = (uint16_t)(l3->n_out - n);
	return n;
}

/* ---- worker lifetime ----------------------------------------------------------- */

static uint64_t
l3_ms_to_tsc(uint64_t hz, uint64_t ms)
{
	return hz / 1000 * ms;
}

static int
l3_worker_table(struct l3_worker *l3, int socket, char *err, size_t errlen)
{
	static unsigned seq;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = RTE_MAX(l3->r->neigh_capacity, 16u),
		.key_len = sizeof(struct l3_nkey),
		.hash_func = rte_jhash,
		/* the addresses come from the wire */
		.hash_func_init_val = (uint32_t)rte_rand(),
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	int32_t max_id;

	snprintf(name, sizeof(name), "l3_nb_%u",
	         __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	l3->idx = rte_hash_create(&hp);
	if (l3->idx == NULL)
		return l3_fail(err, errlen, "l3: neighbor table of %u: %s",
		               l3->r->neigh_capacity, rte_strerror(rte_errno));
	max_id = rte_hash_max_key_id(l3->idx);
	l3->nb = rte_zmalloc_socket("l3_neigh", ((size_t)max_id + 1) *
	                            sizeof(*l3->nb), RTE_CACHE_LINE_SIZE, socket);
	if (l3->nb == NULL)
		return l3_fail(err, errlen, "l3: neighbor table: out of memory");
	for (unsigned i = 0; i < l3->r->n_statics; i++) {
		const struct config_neighbor *s = &l3->r->statics[i];
		struct l3_neigh *e = l3_neigh_new(l3, s->ip, (uint16_t)s->port,
		                                  L3_NB_STATIC);

		if (e == NULL)
			return l3_fail(err, errlen, "l3: neighbor table too "
			               "small for the static neighbors");
		memcpy(&e->mac, s->mac, 6);
	}
	return 0;
}

struct l3_worker *
l3_worker_create(struct l3_routes *r, unsigned worker, struct rte_mempool *pool,
                 struct worker_stats *ws, int socket, char *err, size_t errlen)
{
	struct l3_worker *l3;

	if (worker >= r->n_workers) {
		l3_fail(err, errlen, "l3: worker %u of %u", worker, r->n_workers);
		return NULL;
	}
	l3 = rte_zmalloc_socket("l3_worker", sizeof(*l3), RTE_CACHE_LINE_SIZE,
	                        socket);
	if (l3 == NULL) {
		l3_fail(err, errlen, "l3: out of memory");
		return NULL;
	}
	l3->r = r;
	l3->id = worker;
	l3->ws = ws;
	l3->pool = pool;
	l3->hz = rte_get_tsc_hz();
	l3->now = rte_rdtsc();
	l3->timeout_tsc = l3->hz * r->neigh_timeout_s;
	l3->probe_tsc = l3_ms_to_tsc(l3->hz, L3_PROBE_MS);
	l3->failed_tsc = l3_ms_to_tsc(l3->hz, L3_FAILED_HOLD_MS);
	l3->icmp_burst = RTE_MIN((uint64_t)r->icmp_rate, (uint64_t)L3_ICMP_BURST_MAX);
	l3->icmp_tokens = l3->icmp_burst;
	l3->icmp_last_tsc = l3->now;
	TAILQ_INIT(&l3->lru);
	TAILQ_INIT(&l3->retry);
	if (l3_worker_table(l3, socket, err, errlen) < 0) {
		l3_worker_free(l3);
		return NULL;
	}
	return l3;
}

void
l3_worker_free(struct l3_worker *l3)
{
	if (l3 == NULL)
		return;
	if (l3->nb != NULL && l3->idx != NULL) {
		const void *key;
		void *data;
		uint32_t it = 0;
		int32_t pos;

		while ((pos = rte_hash_iterate(l3->idx, &key, &data, &it)) >= 0)
			l3_neigh_drop_held(l3, &l3->nb[pos],
			                   &l3->ws->l3_held_at_exit);
	}
	for (unsigned i = 0; i < l3->n_out; i++)
		rte_pktmbuf_free(l3->out_m[i]);
	rte_hash_free(l3->idx);
	rte_free(l3->nb);
	rte_free(l3);
}
