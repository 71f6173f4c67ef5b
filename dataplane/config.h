/*
 * config.h - the dataplane's configuration (libconfig file, DESIGN §10).
 *
 * Owns: reading and validating the config file into struct ips_config, with
 * defaults for everything optional.  Every error names file:line and what
 * was expected; unknown keys are errors (a typo must not silently leave a
 * limit at its default).  Runs once at start, before EAL init.
 *
 * File layout (all groups optional except where noted):
 *
 *   eal = [ "--no-huge", "-m", "1024", "--no-shconf" ];   extra EAL args
 *   pmd_dir = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0"; -d for EAL
 *   workers = 1;                       worker lcores (one per RX queue)
 *   mode = "l2";                       "l2" (port pairs) or "l3" (gateway)
 *   ports = (                          required unless --replay
 *     { name = "pub0"; devargs = "net_af_packet0,iface=veth0";
 *       role = "public"; peer = "priv0"; },
 *     { name = "priv0"; devargs = "net_af_packet1,iface=veth1";
 *       role = "private"; peer = "pub0"; } );
 *                                      l3: no peer, but addresses = [
 *                                      "198.51.100.1/24", "2001:db8::1/64" ]
 *   l3 = {                             mode "l3" only
 *     pod_subnets = [ "203.0.113.0/24", "2001:db8:a::/64" ];   required
 *     service_ports = [ 80, 443 ];     TCP/UDP ports of the pods reachable
 *                                      from the public side; [] = http.ports
 *     routes = ( { to = "203.0.113.0/24"; via = "198.51.100.18"; },
 *                { to = "0.0.0.0/0"; via = "198.51.100.2"; port = "pub0"; } );
 *     neighbors = ( { ip = "198.51.100.18"; mac = "02:00:00:00:00:12"; } );
 *     neighbor_table = 1024;           entries per worker
 *     neighbor_timeout = 300;          seconds before a learned entry is
 *                                      confirmed again
 *     icmp_rate = 100;                 ICMP errors per second per worker
 *   };
 *   limits = {
 *     flows = 65536;                   per worker
 *     flow_timeout_syn = 30;           seconds, per TCP state
 *     flow_timeout_established = 600;
 *     flow_timeout_closed = 10;
 *     flow_timeout_udp = 60;
 *     stream_held_per_flow = 32;       out-of-order segments per direction
 *     stream_held = 4096;              held (out-of-order) mbufs per worker
 *     stream_kept_bytes_per_flow = 262144;  unacked client bytes kept per
 *                                      flow: the server's window is
 *                                      clamped to it
 *     stream_kept_bytes = 4194304;     the same, per worker
 *     http_transactions = 4096;        in-progress requests per worker
 *     http_header_bytes = 16384;       request line + headers
 *     http_header_arenas = 256;        large arenas (heads over ~3 KiB)
 *     body_streams = 1024;             concurrent body scans per worker
 *     raw_streams = 65536;             TCP flow directions scanned raw
 *     raw_windows = 2048;              of them holding their first 8 KiB
 *     tls_handshakes = 256;            TLS servers mid Certificate message
 *     http_responses = 256;            responses inspected at once
 *     http_decoders = 256;             gzip/deflate bodies decoded at once
 *     xbits = 4096;                    xbits records per worker (all
 *                                      workers read them all)
 *     http_body_limit = 102400;        decoded body bytes inspected
 *     frag_datagrams = 4096;           in-progress IP datagrams per worker
 *     frag_timeout_ms = 2000;
 *     alert_ring = 4096;               EVE records in flight per worker
 *     mbufs = 0;                       0 = derived from the limits above
 *     source_share = 50;               percent of any pool one source holds
 *     http_header_timeout = 60;        seconds for a whole request header
 *     http_body_timeout = 60;          seconds without body progress
 *     stream_gap_timeout = 30;         seconds a gap may stay unfilled
 *   };
 *   policy = {                          "drop" (fail closed) or "bypass"
 *     malformed = "drop";
 *     midstream = "drop";              TCP flows whose handshake we missed
 *     flow_table_full = "evict";       "evict" oldest, or "drop"
 *     stream_hold_full = "drop";
 *     http_ambiguous = "drop";
 *     http_malformed = "drop";         bytes that cannot be HTTP on an
 *                                      HTTP flow; "bypass" ends HTTP
 *                                      inspection of it (counted, logged)
 *     http_txn_full = "drop";
 *     detect_error = "drop";           scan error or stream pool empty
 *     verify_ip_checksum = false;
 *     reject_client = "reset";         what a reject rule sends the client:
 *                                      "reset" or "block_page" (HTTP 403)
 *   };
 *   http = { ports = [ 80, 8080 ]; detect_by_content = true; };
 *   signatures = {
 *     files = [ "signatures/sqli.rules", ... ];   relative to the config
 *     classification = "signatures/classification.config";
 *     vars = { HOME_NET = "any"; EXTERNAL_NET = "any"; HTTP_PORTS = "[80,8080]"; };
 *     bundle = "/var/lib/ips/rules.bundle";  compiled by ipsctl compile;
 *                                      when set, files are not read
 *     compiler = "/usr/bin/ipsctl";    compiles files into a bundle out of
 *                                      process; "" = ipsctl next to the
 *                                      dataplane binary
 *   };
 *   log = { eve = "eve.json"; };
 *   control = { socket = "/run/ips/ctl.sock"; mode = 0660; group = "ips"; };
 */
#ifndef IPS_CONFIG_H
#define IPS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_PORTS 16
#define CONFIG_MAX_EAL_ARGS 64
#define CONFIG_MAX_HTTP_PORTS 64
#define CONFIG_MAX_RULE_FILES 256
#define CONFIG_MAX_VARS 64
#define CONFIG_MAX_PORT_ADDRS 8
#define CONFIG_MAX_ROUTES 256
#define CONFIG_MAX_NEIGHBORS 256
#define CONFIG_MAX_POD_SUBNETS 64
#define CONFIG_MAX_SERVICE_PORTS 64

enum config_port_role { PORT_ROLE_PUBLIC = 0, PORT_ROLE_PRIVATE };

/* An address with a prefix length.  IPv4 is kept mapped (::ffff:a.b.c.d)
 * like every address in the dataplane; len counts the family's bits
 * (0..32 for IPv4, 0..128 for IPv6). */
struct config_prefix {
	uint8_t addr[16];
	uint8_t len;
	uint8_t version;            /* 4 or 6 */
};

struct config_port {
	char name[32];
	char devargs[512];
	uint8_t role;               /* enum config_port_role */
	int peer;                   /* index into ports[], -1 none */
	/* l3: the port's own addresses, each with its on-link subnet */
	struct config_prefix addrs[CONFIG_MAX_PORT_ADDRS];
	unsigned n_addrs;
};

/* l3: a static route.  port is resolved at load: the one given, or the
 * port whose on-link subnet holds via. */
struct config_route {
	struct config_prefix to;
	uint8_t via[16];            /* next hop; all zero = on-link */
	uint8_t has_via;
	int port;                   /* index into ports[] */
};

/* l3: a neighbor that is never resolved, never expires. */
struct config_neighbor {
	uint8_t ip[16];
	uint8_t version;
	uint8_t mac[6];
	int port;                   /* index into ports[] */
};

struct config_l3 {
	struct config_prefix pod_subnets[CONFIG_MAX_POD_SUBNETS];
	unsigned n_pod_subnets;
	uint16_t service_ports[CONFIG_MAX_SERVICE_PORTS];
	unsigned n_service_ports;   /* 0 = the http.ports */
	struct config_route routes[CONFIG_MAX_ROUTES];
	unsigned n_routes;
	struct config_neighbor neighbors[CONFIG_MAX_NEIGHBORS];
	unsigned n_neighbors;
	uint32_t neighbor_table;    /* entries per worker */
	uint32_t neighbor_timeout;  /* seconds a learned entry is trusted */
	uint32_t icmp_rate;         /* ICMP errors per second per worker */
};

enum config_policy { POLICY_DROP = 0, POLICY_BYPASS, POLICY_EVICT };

struct config_limits {
	uint32_t flows;
	uint32_t flow_timeout_syn;          /* seconds */
	uint32_t flow_timeout_established;
	uint32_t flow_timeout_closed;
	uint32_t flow_timeout_udp;
	uint32_t stream_held_per_flow;
	uint32_t stream_held;
	uint32_t stream_kept_bytes_per_flow;
	uint32_t stream_kept_bytes;
	uint32_t http_transactions;
	uint32_t http_header_bytes;
	uint32_t http_header_arenas;
	uint32_t body_streams;
	uint32_t raw_streams;
	uint32_t raw_windows;
	uint32_t tls_handshakes;
	uint32_t http_responses;
	uint32_t http_decoders;
	uint32_t xbits;
	uint32_t http_body_limit;
	uint32_t frag_datagrams;
	uint32_t frag_timeout_ms;
	uint32_t alert_ring;
	uint32_t mbufs;
	uint32_t source_share;              /* percent of any pool */
	uint32_t http_header_timeout;       /* seconds */
	uint32_t http_body_timeout;         /* seconds */
	uint32_t stream_gap_timeout;        /* seconds */
};

struct config_policies {
	uint8_t malformed;          /* enum config_policy: DROP or BYPASS */
	uint8_t midstream;
	uint8_t flow_table_full;    /* EVICT or DROP */
	uint8_t stream_hold_full;
	uint8_t http_ambiguous;
	uint8_t http_malformed;
	uint8_t http_txn_full;
	uint8_t detect_error;       /* a scan error or an empty body/raw
	                             * stream pool: DROP or BYPASS */
	uint8_t verify_ip_checksum; /* boolean */
	uint8_t reject_client;      /* enum config_reject_client */
};

/* What a reject rule sends the client (the server always gets a reset). */
enum config_reject_client { REJECT_CLIENT_RESET = 0, REJECT_CLIENT_PAGE };

struct config_var {
	char name[64];
	char value[512];
};

struct ips_config {
	char path[512];             /* the file read; base for relative paths */
	const char *eal_args[CONFIG_MAX_EAL_ARGS];
	unsigned n_eal_args;
	char pmd_dir[256];          /* "" = none */
	unsigned workers;
	char mode[8];               /* "l2" or "l3" */
	struct config_port ports[CONFIG_MAX_PORTS];
	unsigned n_ports;
	struct config_l3 l3;        /* mode "l3" */
	struct config_limits limits;
	struct config_policies policy;
	uint16_t http_ports[CONFIG_MAX_HTTP_PORTS];
	unsigned n_http_ports;
	uint8_t http_detect_by_content;
	char *rule_files[CONFIG_MAX_RULE_FILES];   /* resolved paths */
	unsigned n_rule_files;
	char classification[512];   /* resolved path, "" = built-in */
	char bundle[512];           /* resolved path, "" = compile the files */
	char compiler[512];         /* ipsctl to run, "" = next to the binary */
	struct config_var vars[CONFIG_MAX_VARS];
	unsigned n_vars;
	char eve_path[512];         /* "" = no EVE log */
	char ctl_socket[256];
	unsigned ctl_mode;
	char ctl_group[64];         /* group owning the socket, "" = ours */
	void *owner;                /* libconfig storage behind the strings */
};

/* Defaults for every field (no ports, no rule files). */
void config_defaults(struct ips_config *c);

/*
 * Read path into c (after config_defaults).  Relative paths inside the file
 * are resolved against the file's directory.
 * Returns 0, or -1 with "file:line: reason" in err.
 */
int config_load(struct ips_config *c, const char *path, char *err, size_t errlen);

/*
 * Parse config text already in memory (name is used in messages).
 * Same contract as config_load; the fuzz harness's entry point.
 */
int config_load_string(struct ips_config *c, const char *text,
                       const char *name, char *err, size_t errlen);

void config_free(struct ips_config *c);

/* Append a rule file given on the command line (takes a copy). */
int config_add_rule_file(struct ips_config *c, const char *path);

const char *config_policy_name(uint8_t p);

/* 1 in mode "l3" (gateway), 0 in mode "l2" (port pairs). */
int config_is_l3(const struct ips_config *c);

/* Parse "a.b.c.d/len" or "x:y::z/len" into p (want_len 0: no "/len",
 * a host address: len is the family's full length).  Returns 0, or -1
 * with the reason in err. */
int config_parse_prefix(const char *text, int want_len,
                        struct config_prefix *p, char *err, size_t errlen);

/* Does prefix p hold address a (16 bytes, IPv4 mapped)? */
int config_prefix_has(const struct config_prefix *p, const uint8_t a[16]);

#endif /* IPS_CONFIG_H */
