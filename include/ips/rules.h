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
 * stream): the reassembled bytes of one direction of the TCP connection
 * (the client's; the server's for flow:to_client or no direction),
 * whatever its protocol, scanned in streaming mode as they pass; its
 * offset/depth count from that direction's first byte.
 * IPS_BUF_TLS_CERTS is Suricata's tls.certs, a multi-buffer: each
 * certificate (DER) of the server's TLS 1.2 Certificate message on its
 * own, scanned in block mode; a rule's conditions hold within one.
 * IPS_BUF_TLS_SUBJECT, _ISSUER and _SERIAL are the server's first
 * certificate's names as Suricata prints them (x509.h), scanned with it.
 * IPS_BUF_TLS_SNI is the client's ClientHello's server name (tls.h),
 * IPS_BUF_JA3_HASH and _STRING its JA3 fingerprint, scanned with it;
 * IPS_BUF_TLS_VERSION its version (tls.h), which only tls.version reads.
 * IPS_BUF_STAT_CODE and the buffers after IPS_BUF_RESPONSE_BODY belong to
 * one HTTP response's head (flow:to_client rules), complete when it ends
 * (block mode); IPS_BUF_RESPONSE_BODY is its body, de-chunked and
 * decompressed, scanned as it passes (streaming mode).  The request's
 * http.header, http.header_names, http.cookie and http.content_type
 * keywords name the IPS_BUF_RESP_* ones in a to_client rule. */
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
	IPS_BUF_ACCEPT,         /* http.accept */
	IPS_BUF_ACCEPT_ENC,     /* http.accept_enc */
	IPS_BUF_ACCEPT_LANG,    /* http.accept_lang */
	IPS_BUF_REFERER,        /* http.referer */
	IPS_BUF_CONNECTION,     /* http.connection */
	IPS_BUF_CONTENT_LEN,    /* http.content_len */
	IPS_BUF_REQUEST_BODY,   /* http.request_body, de-chunked */
	IPS_BUF_STREAM,         /* no sticky buffer: a direction's stream */
	IPS_BUF_TLS_CERTS,      /* tls.certs: one server certificate */
	IPS_BUF_TLS_SUBJECT,    /* tls.cert_subject: the first one's subject */
	IPS_BUF_TLS_ISSUER,     /* tls.cert_issuer */
	IPS_BUF_TLS_SERIAL,     /* tls.cert_serial: "00:E8:1F" */
	IPS_BUF_TLS_SNI,        /* tls.sni: the ClientHello's server_name */
	IPS_BUF_JA3_HASH,       /* ja3.hash: MD5 of the JA3 string, hex */
	IPS_BUF_JA3_STRING,     /* ja3.string */
	IPS_BUF_TLS_VERSION,    /* not a sticky buffer: the ClientHello's
	                         * version as Suricata keeps it, 2 bytes big
	                         * endian, for tls.version */
	IPS_BUF_STAT_CODE,      /* http.stat_code: the response's 3 digits */
	IPS_BUF_RESPONSE_BODY,  /* http.response_body, file_data: de-chunked,
	                         * decompressed */
	IPS_BUF_STAT_MSG,       /* http.stat_msg: the reason phrase */
	IPS_BUF_RESPONSE_LINE,  /* http.response_line */
	IPS_BUF_RESP_HEADER,    /* http.header of a response: no Set-Cookie */
	IPS_BUF_RESP_HEADER_NAMES,  /* http.header_names of a response */
	IPS_BUF_RESP_COOKIE,    /* http.cookie of a response: Set-Cookie */
	IPS_BUF_RESP_CONTENT_TYPE,  /* http.content_type of a response */
	IPS_BUF_SERVER,         /* http.server */
	IPS_BUF_LOCATION,       /* http.location */
	IPS_BUF_COUNT
};

/* A buffer's bit in a mask of buffers (there are more than 32). */
#define IPS_BUF_BIT(b) (UINT64_C(1) << (b))

#define IPS_BUF_HTTP_COUNT IPS_BUF_STREAM

/* The buffers of a client's ClientHello (tls rules). */
#define IPS_BUF_HELLO_MASK \
	(IPS_BUF_BIT(IPS_BUF_TLS_SNI) | IPS_BUF_BIT(IPS_BUF_JA3_HASH) | \
	 IPS_BUF_BIT(IPS_BUF_JA3_STRING) | IPS_BUF_BIT(IPS_BUF_TLS_VERSION))

/* The buffers of a server's certificates (tls rules). */
#define IPS_BUF_CERT_MASK \
	(IPS_BUF_BIT(IPS_BUF_TLS_CERTS) | IPS_BUF_BIT(IPS_BUF_TLS_SUBJECT) | \
	 IPS_BUF_BIT(IPS_BUF_TLS_ISSUER) | IPS_BUF_BIT(IPS_BUF_TLS_SERIAL))

#define IPS_BUF_HEADER_SIDE_MASK \
	((IPS_BUF_BIT(IPS_BUF_HTTP_COUNT) - 1) & ~IPS_BUF_BIT(IPS_BUF_REQUEST_BODY))

/* The buffers of an HTTP response: the status code, the body, and from
 * IPS_BUF_STAT_MSG on those of its head. */
#define IPS_BUF_RESPONSE_MASK \
	(IPS_BUF_BIT(IPS_BUF_STAT_CODE) | IPS_BUF_BIT(IPS_BUF_RESPONSE_BODY) | \
	 ((IPS_BUF_BIT(IPS_BUF_COUNT) - 1) & ~(IPS_BUF_BIT(IPS_BUF_STAT_MSG) - 1)))

/* Rule header protocol.  An http rule's raw-stream conditions apply only to
 * flows the HTTP stage inspects (Suricata: app-layer protocol http); a tcp
 * rule's to every TCP flow its header ports and addresses match; a tls
 * rule's to flows whose server's bytes read as a TLS handshake, on any
 * port. */
enum ips_proto {
	IPS_PROTO_HTTP = 0,
	IPS_PROTO_TCP,
	IPS_PROTO_TLS,
};

enum ips_cond_kind {
	IPS_COND_CONTENT = 0,   /* literal bytes, |hex| decoded */
	IPS_COND_PCRE,          /* PCRE2 regex; Hyperscan prefilters it */
	IPS_COND_ISDATAAT,      /* isdataat:[!]N[,relative] */
	IPS_COND_BSIZE,         /* bsize: the buffer's length */
	IPS_COND_URILEN,        /* urilen: bsize of http.uri / http.uri.raw */
	IPS_COND_BYTE_TEST,     /* byte_test */
	IPS_COND_BYTE_JUMP,     /* byte_jump */
	IPS_COND_TLS_VERSION,   /* tls.version: num_value, on
	                         * IPS_BUF_TLS_VERSION */
	IPS_COND_KIND_COUNT
};

/* Comparison of bsize, urilen and byte_test (num_op). */
enum ips_num_op {
	IPS_OP_EQ = 0,          /* = N  (bsize:N) */
	IPS_OP_LT,              /* < N */
	IPS_OP_GT,              /* > N */
	IPS_OP_LE,              /* <= N */
	IPS_OP_GE,              /* >= N */
	IPS_OP_RANGE,           /* lo < x < hi (N<>M, exclusive as Suricata) */
	IPS_OP_AND,             /* byte_test &: (x & N) != 0 */
	IPS_OP_XOR,             /* byte_test ^: (x ^ N) != 0 */
	IPS_OP_COUNT
};

/* pcre_opts: PCRE2 compile options from the /flags (PCRE2_* values are
 * set by the compiler side; the runtime passes them to pcre2_compile). */
#define IPS_PCRE_CASELESS    0x0001   /* i */
#define IPS_PCRE_MULTILINE   0x0002   /* m */
#define IPS_PCRE_DOTALL      0x0004   /* s */
#define IPS_PCRE_EXTENDED    0x0008   /* x */
#define IPS_PCRE_ANCHORED    0x0010   /* A */
#define IPS_PCRE_DOLLAR_END  0x0020   /* E */
#define IPS_PCRE_UNGREEDY    0x0040   /* G */
/* Set when the db is prepared, not from the rule: the regex looks past
 * where it matches (\b, \B, \z, \Z, lookahead). */
#define IPS_PCRE_END_SENSITIVE 0x8000
/* Set by the compiler, carried by the bundle: a raw-stream pcre that
 * Hyperscan runs exactly over the whole stream (no R, nothing relative
 * after it, a regex Hyperscan compiles as is).  Every other raw-stream
 * pcre is prefiltered and confirmed by PCRE2 on the held window. */
#define IPS_PCRE_EXACT_HS    0x4000

/* num_flags of byte_test / byte_jump */
#define IPS_BYTE_RELATIVE    0x0001
#define IPS_BYTE_LITTLE      0x0002   /* default: big endian */
#define IPS_BYTE_STRING      0x0004   /* ASCII number in num_base */
#define IPS_BYTE_ALIGN       0x0008   /* byte_jump: round up to 4 */
#define IPS_BYTE_FROM_BEGIN  0x0010   /* byte_jump: from buffer start */
#define IPS_BYTE_FROM_END    0x0020   /* byte_jump: from buffer end */
#define IPS_BYTE_BITMASK     0x0040   /* num_bitmask applies */
/* num_flags of tls.version: the value was written as a number (0x0303),
 * compared as is; else TLS 1.3's drafts (0x7fNN) count as 1.3 */
#define IPS_TLS_VERSION_RAW  0x0001

/*
 * One condition of a rule, bound to the buffer that was sticky when it was
 * written.  The conditions of one buffer, in rule order, are inspected the
 * way Suricata's content inspection does (dataplane/detect_inspect.c):
 * each content match moves the "previous match end" that relative
 * keywords (distance, within, pcre R, isdataat/byte_* relative) count
 * from, and a failed relative keyword makes the content before it retry
 * at its next occurrence.
 */
struct ips_cond {
	uint8_t buffer;         /* enum ips_buffer */
	uint8_t kind;           /* enum ips_cond_kind */
	uint8_t negated;        /* content:!"..." / pcre:!"..." /
	                         * isdataat:! / byte_test !op */
	uint8_t nocase;
	uint32_t offset;        /* content: bytes from buffer start; 0 = none.
	                         * isdataat: N.  bsize/urilen/byte_test: the
	                         * first operand (lo for a range) */
	uint32_t depth;         /* content: bytes searched from offset, 0 =
	                         * unlimited; bsize/urilen: hi of a range */
	uint8_t *bytes;         /* content: decoded bytes; pcre: the regex body,
	                         * without delimiters, NUL-terminated; others:
	                         * the keyword's text, for messages */
	uint32_t len;           /* length of bytes (without the NUL) */
	unsigned hs_flags;      /* pcre: HS_FLAG_* for the prefilter */
	/* content placed relative to the end of the previous match in the
	 * same buffer (distance/within); pcre R; isdataat/byte_* relative */
	uint8_t relative;
	uint8_t endswith;       /* match must end where the buffer ends */
	uint8_t num_op;         /* enum ips_num_op */
	uint8_t num_bytes;      /* byte_test/byte_jump: bytes to read */
	uint8_t num_base;       /* string: 8, 10 or 16 */
	uint8_t retry_next;     /* when what follows fails, retry this match
	                         * further on: a content followed by a within
	                         * on it (Suricata's WITHIN_NEXT), a pcre by
	                         * any relative keyword (RELATIVE_NEXT) */
	uint8_t hs_skip;        /* set by the compiler: not in the Hyperscan
	                         * database, decided by inspection only */
	uint16_t pcre_opts;     /* IPS_PCRE_* */
	uint16_t num_flags;     /* IPS_BYTE_* */
	int32_t distance;       /* start >= previous end + distance */
	uint32_t within;        /* end <= previous end + distance + within;
	                         * 0 = unlimited */
	int32_t num_offset;     /* byte_test/byte_jump offset */
	int32_t num_post;       /* byte_jump post_offset */
	uint32_t num_mult;      /* byte_jump multiplier (0 = 1) */
	uint32_t num_bitmask;   /* with IPS_BYTE_BITMASK */
	uint64_t num_value;     /* byte_test value */
	void *re;               /* pcre: pcre2_code, compiled when the db is
	                         * loaded (ips_detect_db_prepare); not in the
	                         * bundle */
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
/* flowbits: per-flow named bits shared by the rules of a set.  set,
 * unset and toggle act when the rule matches; isset and isnotset are
 * conditions.  Bits are numbered by the compiler (at most
 * IPS_MAX_FLOWBITS names per rule set). */
enum ips_flowbit_op {
	IPS_FB_SET = 0,
	IPS_FB_UNSET,
	IPS_FB_TOGGLE,
	IPS_FB_ISSET,
	IPS_FB_ISNOTSET,
	IPS_FB_COUNT
};

#define IPS_MAX_FLOWBITS 128
#define IPS_MAX_RULE_BITS 16    /* flowbits, and xbits, per rule */

/* xbits: Suricata's bits kept per host (track ip_src / ip_dst: the
 * packet's source or destination address) or per address pair (ip_pair,
 * either order), each with an expiry, seen by every flow and every
 * worker.  Same operations as flowbits; a bit is known by its name and
 * kind (host or pair), so it survives a reload. */
enum ips_xbit_track {
	IPS_XBIT_NONE = 0,      /* a flowbit */
	IPS_XBIT_IP_SRC,
	IPS_XBIT_IP_DST,
	IPS_XBIT_IP_PAIR,
	IPS_XBIT_COUNT
};

#define IPS_XBIT_EXPIRE_DEFAULT 30      /* seconds, Suricata's */

struct ips_flowbit {
	uint8_t op;             /* enum ips_flowbit_op */
	uint8_t or_next;        /* isset/isnotset a|b: holds when this one or
	                         * the next one (same op) does */
	uint16_t bit;           /* flowbits: set by the compiler */
	uint8_t track;          /* enum ips_xbit_track: xbits only */
	uint32_t expire;        /* xbits: seconds a set lasts */
	uint64_t id;            /* xbits: ips_xbit_id(name, track) */
	char *name;
};

/* The identity of an xbit: a hash of its name and kind (ip_src and
 * ip_dst bits of one name are the same host bit, as in Suricata). */
uint64_t ips_xbit_id(const char *name, uint8_t track);

/* threshold / detection_filter: how often a matching rule fires, counted
 * per tracked address (per worker, in a bounded table). */
enum ips_thresh_type {
	IPS_THRESH_NONE = 0,
	IPS_THRESH_LIMIT,       /* the first count matches per window */
	IPS_THRESH_THRESHOLD,   /* every count-th match in a window */
	IPS_THRESH_BOTH,        /* once per window, at the count-th match */
	IPS_THRESH_DETECTION,   /* detection_filter: each match past count */
	IPS_THRESH_COUNT
};

enum ips_thresh_track {
	IPS_TRACK_SRC = 0,      /* by_src: the packet's source address */
	IPS_TRACK_DST,          /* by_dst */
	IPS_TRACK_RULE,         /* by_rule: one counter for the rule */
	IPS_TRACK_COUNT
};

struct ips_threshold {
	uint8_t type;           /* enum ips_thresh_type */
	uint8_t track;          /* enum ips_thresh_track */
	uint32_t count;
	uint32_t seconds;
};

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
	struct ips_flowbit *flowbits;
	uint8_t n_flowbits;
	struct ips_flowbit *xbits;
	uint8_t n_xbits;
	uint8_t noalert;        /* flowbits:noalert: matches, acts on its
	                         * flowbits and xbits, never alerts nor
	                         * drops */
	struct ips_threshold threshold;
	/* 1: the response's reading of the rule before it (same sid).  A
	 * rule with no direction whose buffers both sides have (http.header,
	 * http.cookie, ...) is inspected by Suricata on requests and on
	 * responses; the parser adds this twin, its buffers the response's.
	 * Not counted or listed on its own. */
	uint8_t twin;
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
 * Returns 1 when a rule was added to rs (with its twin, struct ips_rule,
 * when it has one), 0 for blank/comment, -1 on error with
 * "file:line:col: reason" in err (rs unchanged).
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

/* The rules as written: twins (struct ips_rule) not counted. */
uint32_t ips_ruleset_count(const struct ips_ruleset *rs);

/* Free every rule and the array; rs is left empty.  rs may be NULL. */
void ips_ruleset_free(struct ips_ruleset *rs);

/* Names as written in rules: "http.uri", "drop", ... */
const char *ips_buffer_name(enum ips_buffer b);
/* 1 for the buffers that pass in pieces, never held whole, and are
 * scanned in Hyperscan streaming mode (the bodies, the raw stream);
 * 0 for those scanned whole in block mode. */
int ips_buffer_streaming(enum ips_buffer b);
/* 1 for the request and response bodies. */
int ips_buffer_is_body(enum ips_buffer b);
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
