/*
 * rules.h - the rule model: what a parsed signature is.
 *
 * A rule is a compatible subset of the Suricata rule language for HTTP
 * (protocol `http`) and the raw TCP stream (protocol `tcp`, or contents
 * with no sticky buffer; to_server only):
 *
 *   ACTION http SRC SPORT -> DST DPORT (msg:"..."; flow:to_server,established;
 *       http.uri; content:"..."; nocase; pcre:"/.../i"; classtype:...;
 *       sid:N; rev:N;)
 *
 * The parser (control/rule_parse.c) turns rule files into an ips_ruleset;
 * names, freeing and the tuple match live in control/rule_runtime.c, which
 * the dataplane links without the parser;
 * the compiler (control/rule_compile.c, see detect_db.h) turns that into the
 * Hyperscan databases the dataplane scans with.  Anything the parser does not
 * support is an error naming the keyword and file:line:col, never silently
 * ignored: an operator must know when a rule does not do what it says.
 *
 * Ownership: an ips_ruleset owns every string and array below it; free it
 * with ips_ruleset_free().  Not thread-safe; used by one thread at a time.
 */
#ifndef IPS_RULES_H
#define IPS_RULES_H

#include <stddef.h>
#include <stdint.h>

/* Order is evaluation priority (Suricata's default action order): a pass
 * rule that matches hides lower-priority rules of the same transaction. */
enum ips_action {
	IPS_ACTION_PASS = 0,
	IPS_ACTION_DROP,
	IPS_ACTION_REJECT,
	IPS_ACTION_ALERT,
	IPS_ACTION_COUNT
};

/* Inspection buffers.  The first IPS_BUF_HTTP_COUNT belong to one HTTP
 * request transaction (DESIGN §6): all but IPS_BUF_REQUEST_BODY are complete
 * when the request headers end and are scanned in Hyperscan block mode; the
 * body is scanned in streaming mode as it passes.  IPS_BUF_STREAM is the
 * content/pcre written with no sticky buffer (Suricata's payload/raw
 * stream): the reassembled client-to-server bytes of the TCP connection,
 * whatever its protocol, scanned in streaming mode as they pass; its
 * offset/depth count from the first byte of the connection. */
enum ips_buffer {
	IPS_BUF_METHOD = 0,     /* http.method */
	IPS_BUF_URI,            /* http.uri, normalized */
	IPS_BUF_URI_RAW,        /* http.uri.raw */
	IPS_BUF_PROTOCOL,       /* http.protocol */
	IPS_BUF_REQUEST_LINE,   /* http.request_line */
	IPS_BUF_HEADER,         /* http.header: "Name: value\r\n" lines, no cookie */
	IPS_BUF_HEADER_NAMES,   /* http.header_names: "\r\nName\r\nName\r\n\r\n" */
	IPS_BUF_HOST,           /* http.host, lowercased, port stripped */
	IPS_BUF_USER_AGENT,     /* http.user_agent */
	IPS_BUF_COOKIE,         /* http.cookie */
	IPS_BUF_CONTENT_TYPE,   /* http.content_type */
	IPS_BUF_REQUEST_BODY,   /* http.request_body, de-chunked */
	IPS_BUF_STREAM,         /* no sticky buffer: client->server stream */
	IPS_BUF_COUNT
};

#define IPS_BUF_HTTP_COUNT IPS_BUF_STREAM

#define IPS_BUF_HEADER_SIDE_MASK \
	(((1u << IPS_BUF_HTTP_COUNT) - 1) & ~(1u << IPS_BUF_REQUEST_BODY))

/* Rule header protocol.  An http rule's raw-stream conditions apply only to
 * flows the HTTP stage inspects (Suricata: app-layer protocol http); a tcp
 * rule's to every TCP flow its header ports and addresses match. */
enum ips_proto {
	IPS_PROTO_HTTP = 0,
	IPS_PROTO_TCP,
};

enum ips_cond_kind {
	IPS_COND_CONTENT = 0,   /* literal bytes, |hex| decoded */
	IPS_COND_PCRE,          /* Hyperscan-compatible regex */
};

/* One content or pcre condition, bound to the buffer that was sticky when
 * it was written. */
struct ips_cond {
	uint8_t buffer;         /* enum ips_buffer */
	uint8_t kind;           /* enum ips_cond_kind */
	uint8_t negated;        /* content:!"..." - rule needs it absent */
	uint8_t nocase;
	uint32_t offset;        /* bytes from buffer start; 0 = none */
	uint32_t depth;         /* bytes searched from offset; 0 = unlimited */
	uint8_t *bytes;         /* content: decoded bytes; pcre: the regex body,
	                         * without delimiters, NUL-terminated */
	uint32_t len;           /* length of bytes (without the NUL) */
	unsigned hs_flags;      /* pcre: HS_FLAG_* from the /flags */
	/* content placed relative to the end of the previous content of the
	 * same buffer (distance/within): Hyperscan only prefilters, the
	 * dataplane verifies the positions.  Header-side buffers only. */
	uint8_t relative;       /* distance or within given */
	uint8_t endswith;       /* match must end where the buffer ends */
	int32_t distance;       /* start >= previous end + distance */
	uint32_t within;        /* end <= previous end + distance + within;
	                         * 0 = unlimited */
};

/* Address and port constraints of the rule header.  An empty list means
 * "any".  Addresses are kept as IPv6 (IPv4 mapped to ::ffff:a.b.c.d). */
struct ips_cidr {
	uint8_t addr[16];
	uint8_t prefix;         /* 0..128, counted in the 128-bit form */
};

struct ips_addr_set {
	struct ips_cidr *cidrs;
	uint16_t n_cidrs;
	uint8_t negated;        /* "!x": match when the address is NOT in set */
};

struct ips_port_range {
	uint16_t lo, hi;
};

struct ips_port_set {
	struct ips_port_range *ranges;
	uint16_t n_ranges;
	uint8_t negated;
};

/* What a reject rule sends (struct ips_rule.reject).  The actions
 * reject (server and client), rejectboth (resets to both), rejectsrc
 * (the client only), rejectdst (the server only) are Suricata's; the
 * client gets a reset or, by policy.reject_client or the rule's
 * "metadata: ips_reject_client block_page|reset;", an HTTP 403 page. */
#define IPS_REJECT_SERVER    0x01   /* TCP reset to the server */
#define IPS_REJECT_CLIENT    0x02   /* a reset or a block page to the client */
#define IPS_REJECT_PAGE      0x04   /* the client gets the block page */
#define IPS_REJECT_RST       0x08   /* the client gets a reset */
#define IPS_REJECT_MASK      0x0f

#define IPS_FLOW_TO_SERVER   0x01
#define IPS_FLOW_TO_CLIENT   0x02
#define IPS_FLOW_ESTABLISHED 0x04

struct ips_rule {
	uint8_t action;         /* enum ips_action */
	uint8_t flow_flags;     /* IPS_FLOW_* */
	uint8_t bidirectional;  /* "<>" */
	uint8_t priority;       /* 1 (highest) .. 255; from priority: or
	                         * classtype, default 3 */
	uint8_t proto;          /* enum ips_proto */
	uint8_t reject;         /* IPS_REJECT_*: reject rules only */
	uint32_t sid;
	uint32_t rev;
	char *msg;
	char *classtype;        /* NULL when absent */
	struct ips_addr_set src, dst;
	struct ips_port_set sport, dport;
	struct ips_cond *conds;
	uint32_t n_conds;
	char *file;             /* where it was read, for messages */
	uint32_t line;
};

struct ips_ruleset {
	struct ips_rule *rules;
	uint32_t n_rules;
	uint32_t cap_rules;
};

/* Variables ($HOME_NET, $HTTP_PORTS, ...) a rule header may name.  Values
 * are rule-language text ("any", "[192.0.2.0/24,!192.0.2.7]", "80"). */
struct ips_rule_var {
	const char *name;       /* without the '$' */
	const char *value;
};

struct ips_parse_opts {
	const struct ips_rule_var *vars;
	size_t n_vars;
	/* classification.config lines ("config classification: name,desc,prio")
	 * give classtype priorities; NULL = built-in defaults. */
	const char *classification_file;
};

#define IPS_ERRBUF_SIZE 512

/*
 * Parse one rule line.  file/line name the source in messages.
 * Blank lines and '#' comments return 0 without adding a rule.
 *
 * Returns 1 when a rule was added to rs, 0 for blank/comment, -1 on error
 * with "file:line:col: reason" in err (rs unchanged).
 */
int ips_rule_parse_line(struct ips_ruleset *rs, const char *text,
                        const char *file, uint32_t line,
                        const struct ips_parse_opts *opts,
                        char *err, size_t errlen);

/*
 * Parse a rule file.  Every error is reported through report() (may be
 * NULL), one call per bad rule, and parsing continues so an operator sees all
 * of them at once.  Duplicate sids (in rs so far) are errors.
 *
 * Returns the number of bad rules (0 = clean), or -1 when the file cannot be
 * read (err says why).
 */
int ips_rule_parse_file(struct ips_ruleset *rs, const char *path,
                        const struct ips_parse_opts *opts,
                        void (*report)(void *arg, const char *msg), void *arg,
                        char *err, size_t errlen);

/* Free everything a rule owns and zero it (the struct itself is the
 * caller's).  Cannot fail. */
void ips_rule_free(struct ips_rule *r);

/* Free every rule and the array; rs is left empty.  rs may be NULL. */
void ips_ruleset_free(struct ips_ruleset *rs);

/* Names as written in rules: "http.uri", "drop", ... */
const char *ips_buffer_name(enum ips_buffer b);
const char *ips_action_name(enum ips_action a);

/*
 * Header match for one rule against a flow tuple in the to_server
 * direction.  Addresses are 16 bytes (IPv4 mapped).  Returns 1 on match.
 * Thread-safe (reads only).
 */
int ips_rule_match_tuple(const struct ips_rule *r,
                         const uint8_t src[16], uint16_t sport,
                         const uint8_t dst[16], uint16_t dport);

#endif /* IPS_RULES_H */
