/*
 * bundle.c - the bundle file: a compiled detection db to bytes and back
 * (see include/ips/bundle.h for the layout).
 *
 * Owns the encoder (control side), the validating decoder (dataplane, at
 * start and on a reload) and the atomic file write.  The decoder treats
 * the file as hostile: every length is checked against what is left
 * before it is used, every index against the table it points into, and
 * nothing reaches Hyperscan before the checksum, the Hyperscan version and
 * the CPU features have been checked.  Part of the ipsruntime library:
 * nothing here parses rule text or compiles.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hs/hs.h>

#include "ips/bundle.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the bundle format is little-endian; add byte swapping first"
#endif

/* A bundle larger than this is refused before it is read: 10,000 rules
 * make a few MB, so this only stops a runaway or hostile file. */
#define BUNDLE_MAX_BYTES  (1ull << 30)
#define BUNDLE_NULL_STR   0xffffffffu
/* Limits the parser already enforces, re-checked because a bundle is
 * not trusted to come from our parser. */
#define BUNDLE_MAX_CONDS  UINT16_MAX    /* ips_pattern.cond is 16 bits */

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME  0x100000001b3ull

/* ---- checksum ------------------------------------------------------------ */

static uint64_t
bundle_fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	return h;
}

uint64_t
ips_bundle_checksum(const void *buf, size_t len)
{
	const uint8_t *file = buf;
	static const uint8_t zero[sizeof(uint64_t)];
	size_t at = offsetof(struct ips_bundle_header, checksum);
	uint64_t h = FNV64_OFFSET;

	h = bundle_fnv(h, file, at);
	h = bundle_fnv(h, zero, sizeof(zero));
	at += sizeof(zero);
	return bundle_fnv(h, file + at, len - at);
}

/* ---- encoder --------------------------------------------------------------- */

struct bundle_out {
	uint8_t *buf;
	size_t len, cap;
	int oom;                /* sticky: checked once at the end */
};

static void
bo_put(struct bundle_out *o, const void *p, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		uint8_t *b;

		while (cap < o->len + n)
			cap *= 2;
		b = realloc(o->buf, cap);
		if (b == NULL) {
			o->oom = 1;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

#define BO_PUT_INT(o, type, v) do { type v_ = (type)(v); \
	bo_put((o), &v_, sizeof(v_)); } while (0)

static void
bo_bytes(struct bundle_out *o, const void *p, uint32_t n)
{
	static const uint8_t nul;

	BO_PUT_INT(o, uint32_t, n);
	bo_put(o, p, n);
	bo_put(o, &nul, 1);
}

static void
bo_str(struct bundle_out *o, const char *s)
{
	if (s == NULL)
		BO_PUT_INT(o, uint32_t, BUNDLE_NULL_STR);
	else
		bo_bytes(o, s, (uint32_t)strlen(s));
}

/* Distinct classtype names in rule order; the rules refer to them by
 * index, so 10,000 rules do not carry 10,000 copies of a dozen names. */
struct bundle_classes {
	const char **name;
	uint32_t n;
};

static uint32_t
bundle_class_index(const struct bundle_classes *c, const char *name)
{
	if (name == NULL)
		return BUNDLE_NULL_STR;
	for (uint32_t i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return i;
	return BUNDLE_NULL_STR;
}

static int
bundle_classes_build(const struct ips_ruleset *rs, struct bundle_classes *c)
{
	c->n = 0;
	c->name = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*c->name));
	if (c->name == NULL)
		return -1;
	for (uint32_t i = 0; i < rs->n_rules; i++) {
		const char *ct = rs->rules[i].classtype;

		if (ct != NULL && bundle_class_index(c, ct) == BUNDLE_NULL_STR)
			c->name[c->n++] = ct;
	}
	return 0;
}

static void
bo_addr_set(struct bundle_out *o, const struct ips_addr_set *s)
{
	BO_PUT_INT(o, uint16_t, s->n_cidrs);
	BO_PUT_INT(o, uint8_t, s->negated);
	for (uint16_t i = 0; i < s->n_cidrs; i++) {
		bo_put(o, s->cidrs[i].addr, sizeof(s->cidrs[i].addr));
		BO_PUT_INT(o, uint8_t, s->cidrs[i].prefix);
	}
}

static void
bo_port_set(struct bundle_out *o, const struct ips_port_set *s)
{
	BO_PUT_INT(o, uint16_t, s->n_ranges);
	BO_PUT_INT(o, uint8_t, s->negated);
	for (uint16_t i = 0; i < s->n_ranges; i++) {
		BO_PUT_INT(o, uint16_t, s->ranges[i].lo);
		BO_PUT_INT(o, uint16_t, s->ranges[i].hi);
	}
}

static void
bo_cond(struct bundle_out *o, const struct ips_cond *cd)
{
	BO_PUT_INT(o, uint8_t, cd->buffer);
	BO_PUT_INT(o, uint8_t, cd->kind);
	BO_PUT_INT(o, uint8_t, cd->negated);
	BO_PUT_INT(o, uint8_t, cd->nocase);
	BO_PUT_INT(o, uint8_t, cd->relative);
	BO_PUT_INT(o, uint8_t, cd->endswith);
	BO_PUT_INT(o, uint32_t, cd->offset);
	BO_PUT_INT(o, uint32_t, cd->depth);
	BO_PUT_INT(o, int32_t, cd->distance);
	BO_PUT_INT(o, uint32_t, cd->within);
	BO_PUT_INT(o, uint32_t, cd->hs_flags);
	BO_PUT_INT(o, uint8_t, cd->num_op);
	BO_PUT_INT(o, uint8_t, cd->num_bytes);
	BO_PUT_INT(o, uint8_t, cd->num_base);
	BO_PUT_INT(o, uint8_t, cd->retry_next);
	BO_PUT_INT(o, uint8_t, cd->hs_skip);
	BO_PUT_INT(o, uint16_t, cd->pcre_opts);
	BO_PUT_INT(o, uint16_t, cd->num_flags);
	BO_PUT_INT(o, int32_t, cd->num_offset);
	BO_PUT_INT(o, int32_t, cd->num_post);
	BO_PUT_INT(o, uint32_t, cd->num_mult);
	BO_PUT_INT(o, uint32_t, cd->num_bitmask);
	BO_PUT_INT(o, uint64_t, cd->num_value);
	bo_bytes(o, cd->bytes, cd->len);
}

/* Flowbits, or xbits with their track and expiry. */
static void
bo_bits(struct bundle_out *o, const struct ips_flowbit *bits, uint8_t n,
        int xbits)
{
	BO_PUT_INT(o, uint8_t, n);
	for (uint32_t i = 0; i < n; i++) {
		BO_PUT_INT(o, uint8_t, bits[i].op);
		BO_PUT_INT(o, uint8_t, bits[i].or_next);
		BO_PUT_INT(o, uint16_t, bits[i].bit);
		if (xbits) {
			BO_PUT_INT(o, uint8_t, bits[i].track);
			BO_PUT_INT(o, uint32_t, bits[i].expire);
		}
		bo_str(o, bits[i].name);
	}
}

static void
bo_rule(struct bundle_out *o, const struct ips_rule *r,
        const struct bundle_classes *cls)
{
	BO_PUT_INT(o, uint8_t, r->action);
	BO_PUT_INT(o, uint8_t, r->reject);
	BO_PUT_INT(o, uint8_t, r->flow_flags);
	BO_PUT_INT(o, uint8_t, r->bidirectional);
	BO_PUT_INT(o, uint8_t, r->priority);
	BO_PUT_INT(o, uint8_t, r->proto);
	BO_PUT_INT(o, uint8_t, r->twin);
	BO_PUT_INT(o, uint32_t, r->sid);
	BO_PUT_INT(o, uint32_t, r->rev);
	bo_str(o, r->msg);
	BO_PUT_INT(o, uint32_t, bundle_class_index(cls, r->classtype));
	bo_addr_set(o, &r->src);
	bo_addr_set(o, &r->dst);
	bo_port_set(o, &r->sport);
	bo_port_set(o, &r->dport);
	BO_PUT_INT(o, uint32_t, r->n_conds);
	for (uint32_t c = 0; c < r->n_conds; c++)
		bo_cond(o, &r->conds[c]);
	bo_bits(o, r->flowbits, r->n_flowbits, 0);
	bo_bits(o, r->xbits, r->n_xbits, 1);
	BO_PUT_INT(o, uint8_t, r->noalert);
	BO_PUT_INT(o, uint8_t, r->threshold.type);
	BO_PUT_INT(o, uint8_t, r->threshold.track);
	BO_PUT_INT(o, uint32_t, r->threshold.count);
	BO_PUT_INT(o, uint32_t, r->threshold.seconds);
	bo_str(o, r->file);
	BO_PUT_INT(o, uint32_t, r->line);
}

static void
bo_tables(struct bundle_out *o, const struct ips_detect_db *db)
{
	BO_PUT_INT(o, uint32_t, db->n_patterns);
	for (uint32_t i = 0; i < db->n_patterns; i++) {
		const struct ips_pattern *p = &db->patterns[i];

		BO_PUT_INT(o, uint32_t, p->rule);
		BO_PUT_INT(o, uint16_t, p->cond);
		BO_PUT_INT(o, uint8_t, p->buffer);
		BO_PUT_INT(o, uint8_t, p->negated);
	}
	for (uint32_t i = 0; i < db->rules.n_rules; i++) {
		const struct ips_rule_meta *m = &db->meta[i];

		BO_PUT_INT(o, uint32_t, m->first_pattern);
		BO_PUT_INT(o, uint16_t, m->n_positive);
		BO_PUT_INT(o, uint16_t, m->n_negated);
		BO_PUT_INT(o, uint64_t, m->buffers);
		BO_PUT_INT(o, uint8_t, m->needs_body);
	}
	BO_PUT_INT(o, uint32_t, db->n_always);
	for (uint32_t i = 0; i < db->n_always; i++)
		BO_PUT_INT(o, uint32_t, db->always[i]);
}

static int __attribute__((format(printf, 3, 4)))
bundle_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int
ips_bundle_encode(const struct ips_detect_db *db, void **buf, size_t *len,
                  char *err, size_t errlen)
{
	struct bundle_out o = { 0 };
	struct ips_bundle_header h;
	struct bundle_classes cls = { 0 };
	hs_platform_info_t plat;
	size_t start;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IPS_BUNDLE_MAGIC, sizeof(h.magic));
	h.format = IPS_BUNDLE_FORMAT;
	h.header_bytes = sizeof(h);
	h.generation = db->generation;
	h.compile_us = db->compile_seconds > 0
	               ? (uint64_t)(db->compile_seconds * 1e6) : 0;
	snprintf(h.hs_version, sizeof(h.hs_version), "%s", hs_version());
	/* The databases were compiled for this host (platform NULL), so
	 * its features are the ones they may use. */
	if (hs_populate_platform(&plat) != HS_SUCCESS)
		return bundle_err(err, errlen, "hs_populate_platform failed");
	h.cpu_features = plat.cpu_features;
	h.tune = plat.tune;
	h.n_sections = IPS_BUNDLE_SECTIONS;
	if (bundle_classes_build(&db->rules, &cls) < 0)
		return bundle_err(err, errlen, "out of memory");
	bo_put(&o, &h, sizeof(h));

	start = o.len;
	BO_PUT_INT(&o, uint32_t, cls.n);
	for (uint32_t i = 0; i < cls.n; i++)
		bo_str(&o, cls.name[i]);
	h.section_bytes[IPS_BUNDLE_SEC_CLASSES] = o.len - start;

	start = o.len;
	BO_PUT_INT(&o, uint32_t, db->rules.n_rules);
	for (uint32_t i = 0; i < db->rules.n_rules; i++)
		bo_rule(&o, &db->rules.rules[i], &cls);
	h.section_bytes[IPS_BUNDLE_SEC_RULES] = o.len - start;
	free(cls.name);

	start = o.len;
	bo_tables(&o, db);
	h.section_bytes[IPS_BUNDLE_SEC_TABLES] = o.len - start;

	for (unsigned b = 0; b < IPS_BUF_COUNT; b++) {
		char *ser = NULL;
		size_t n = 0;

		if (db->db[b] == NULL)
			continue;
		if (hs_serialize_database(db->db[b], &ser, &n) != HS_SUCCESS) {
			free(o.buf);
			return bundle_err(err, errlen,
			                  "hs_serialize_database(%s) failed",
			                  ips_buffer_name(b));
		}
		bo_put(&o, ser, n);
		free(ser);      /* Hyperscan's default allocator is malloc */
		h.section_bytes[IPS_BUNDLE_SEC_DB + b] = n;
	}
	if (o.oom) {
		free(o.buf);
		return bundle_err(err, errlen, "out of memory");
	}
	h.file_bytes = o.len;
	memcpy(o.buf, &h, sizeof(h));
	h.checksum = ips_bundle_checksum(o.buf, o.len);
	memcpy(o.buf, &h, sizeof(h));
	*buf = o.buf;
	*len = o.len;
	return 0;
}

/* write(2) all of it, through short writes and EINTR. */
static int
bundle_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
ips_bundle_write(const struct ips_detect_db *db, const char *path,
                 char *err, size_t errlen)
{
	char tmp[4096], dir[4096];
	void *buf;
	size_t len;
	int fd, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp))
		return bundle_err(err, errlen, "%s: path too long", path);
	if (ips_bundle_encode(db, &buf, &len, err, errlen) < 0)
		return -1;
	/* Same directory as the target: rename() is atomic only within one
	 * file system, and a reader must see the old file or the new one. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		free(buf);
		return bundle_err(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	if (bundle_write_all(fd, buf, len) < 0 || fchmod(fd, 0644) < 0 ||
	    fsync(fd) < 0) {
		bundle_err(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		free(buf);
		return -1;
	}
	free(buf);
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		bundle_err(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself must survive a crash too. */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- decoder --------------------------------------------------------------- */

/* A window over one section; every read checks what is left first. */
struct bundle_in {
	const uint8_t *p;
	size_t left;
	const char *name;       /* file name, for messages */
	const char *what;       /* section name, for messages */
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
bi_fail(struct bundle_in *in, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return bundle_err(in->err, in->errlen, "%s: %s section: %s", in->name,
	                  in->what, why);
}

static int
bi_get(struct bundle_in *in, void *out, size_t n)
{
	if (n > in->left)
		return bi_fail(in, "truncated (%zu bytes needed, %zu left)", n,
		               in->left);
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
	return 0;
}

#define BI_U8(in, v)  bi_get((in), &(v), sizeof(uint8_t))
#define BI_U16(in, v) bi_get((in), &(v), sizeof(uint16_t))
#define BI_U32(in, v) bi_get((in), &(v), sizeof(uint32_t))
#define BI_U64(in, v) bi_get((in), &(v), sizeof(uint64_t))

/* Bytes with their NUL; *out is malloc'd, NUL-terminated.  len 0xffffffff
 * gives NULL when nullable.  cstr: no NUL inside (text, regex). */
static int
bi_bytes(struct bundle_in *in, uint8_t **out, uint32_t *outlen, int nullable,
         int cstr)
{
	uint32_t n = 0;

	*out = NULL;
	if (BI_U32(in, n) < 0)
		return -1;
	if (n == BUNDLE_NULL_STR) {
		if (!nullable)
			return bi_fail(in, "missing string");
		return 0;
	}
	if ((size_t)n >= in->left)
		return bi_fail(in, "string of %u bytes overruns the section", n);
	if (in->p[n] != '\0')
		return bi_fail(in, "string not NUL-terminated");
	if (cstr && memchr(in->p, '\0', n) != NULL)
		return bi_fail(in, "NUL inside a string");
	*out = malloc((size_t)n + 1);
	if (*out == NULL)
		return bi_fail(in, "out of memory");
	memcpy(*out, in->p, (size_t)n + 1);
	in->p += (size_t)n + 1;
	in->left -= (size_t)n + 1;
	if (outlen != NULL)
		*outlen = n;
	return 0;
}

static int
bi_str(struct bundle_in *in, char **out, int nullable)
{
	return bi_bytes(in, (uint8_t **)out, NULL, nullable, 1);
}

/* An element count whose elements take at least min_bytes each: refused
 * if the section cannot hold them, before anything is allocated. */
static int
bi_count(struct bundle_in *in, uint32_t n, size_t min_bytes, const char *what)
{
	if ((uint64_t)n * min_bytes > in->left)
		return bi_fail(in, "%u %s cannot fit in %zu bytes", n, what,
		               in->left);
	return 0;
}

static int
bi_addr_set(struct bundle_in *in, struct ips_addr_set *s)
{
	if (BI_U16(in, s->n_cidrs) < 0 || BI_U8(in, s->negated) < 0)
		return -1;
	if (s->n_cidrs == 0)
		return 0;
	if (bi_count(in, s->n_cidrs, 17, "addresses") < 0)
		return -1;
	s->cidrs = calloc(s->n_cidrs, sizeof(*s->cidrs));
	if (s->cidrs == NULL)
		return bi_fail(in, "out of memory");
	for (uint16_t i = 0; i < s->n_cidrs; i++) {
		if (bi_get(in, s->cidrs[i].addr, 16) < 0 ||
		    BI_U8(in, s->cidrs[i].prefix) < 0)
			return -1;
		if (s->cidrs[i].prefix > 128)
			return bi_fail(in, "address prefix /%u",
			               s->cidrs[i].prefix);
	}
	return 0;
}

static int
bi_port_set(struct bundle_in *in, struct ips_port_set *s)
{
	if (BI_U16(in, s->n_ranges) < 0 || BI_U8(in, s->negated) < 0)
		return -1;
	if (s->n_ranges == 0)
		return 0;
	if (bi_count(in, s->n_ranges, 4, "port ranges") < 0)
		return -1;
	s->ranges = calloc(s->n_ranges, sizeof(*s->ranges));
	if (s->ranges == NULL)
		return bi_fail(in, "out of memory");
	for (uint16_t i = 0; i < s->n_ranges; i++) {
		if (BI_U16(in, s->ranges[i].lo) < 0 ||
		    BI_U16(in, s->ranges[i].hi) < 0)
			return -1;
		if (s->ranges[i].lo > s->ranges[i].hi)
			return bi_fail(in, "port range %u:%u",
			               s->ranges[i].lo, s->ranges[i].hi);
	}
	return 0;
}

static int
bi_cond(struct bundle_in *in, struct ips_cond *cd)
{
	if (BI_U8(in, cd->buffer) < 0 || BI_U8(in, cd->kind) < 0 ||
	    BI_U8(in, cd->negated) < 0 || BI_U8(in, cd->nocase) < 0 ||
	    BI_U8(in, cd->relative) < 0 || BI_U8(in, cd->endswith) < 0 ||
	    BI_U32(in, cd->offset) < 0 || BI_U32(in, cd->depth) < 0 ||
	    BI_U32(in, cd->distance) < 0 || BI_U32(in, cd->within) < 0 ||
	    BI_U32(in, cd->hs_flags) < 0 || BI_U8(in, cd->num_op) < 0 ||
	    BI_U8(in, cd->num_bytes) < 0 || BI_U8(in, cd->num_base) < 0 ||
	    BI_U8(in, cd->retry_next) < 0 || BI_U8(in, cd->hs_skip) < 0 ||
	    BI_U16(in, cd->pcre_opts) < 0 || BI_U16(in, cd->num_flags) < 0 ||
	    BI_U32(in, cd->num_offset) < 0 || BI_U32(in, cd->num_post) < 0 ||
	    BI_U32(in, cd->num_mult) < 0 || BI_U32(in, cd->num_bitmask) < 0 ||
	    BI_U64(in, cd->num_value) < 0)
		return -1;
	if (cd->buffer >= IPS_BUF_COUNT)
		return bi_fail(in, "condition buffer %u", cd->buffer);
	if (cd->kind >= IPS_COND_KIND_COUNT)
		return bi_fail(in, "condition kind %u", cd->kind);
	if (cd->num_op >= IPS_OP_COUNT)
		return bi_fail(in, "condition operator %u", cd->num_op);
	/* the version is two bytes, and only tls.version reads them */
	if ((cd->kind == IPS_COND_TLS_VERSION) !=
	    (cd->buffer == IPS_BUF_TLS_VERSION) ||
	    (cd->kind == IPS_COND_TLS_VERSION && cd->num_value > UINT16_MAX))
		return bi_fail(in, "condition kind %u on buffer %u", cd->kind,
		               cd->buffer);
	/* byte_test/byte_jump read at most 20 digits or 8 bytes; 0: a
	 * byte_test's digits to the buffer's end */
	if (cd->num_bytes > 20 ||
	    ((cd->kind == IPS_COND_BYTE_TEST || cd->kind == IPS_COND_BYTE_JUMP) &&
	     ((cd->num_bytes == 0 && (cd->kind == IPS_COND_BYTE_JUMP ||
	                              !(cd->num_flags & IPS_BYTE_STRING))) ||
	      (!(cd->num_flags & IPS_BYTE_STRING) && cd->num_bytes > 8))))
		return bi_fail(in, "condition reads %u bytes", cd->num_bytes);
	if (cd->kind == IPS_COND_BYTE_JUMP &&
	    (cd->num_flags & IPS_BYTE_BITMASK))
		return bi_fail(in, "byte_jump with a bitmask");
	if ((cd->num_flags & IPS_BYTE_STRING) && cd->num_base != 0 &&
	    cd->num_base != 8 && cd->num_base != 10 && cd->num_base != 16)
		return bi_fail(in, "condition number base %u", cd->num_base);
	/* A regex is handed to PCRE2 as a C string; contents may hold NULs. */
	return bi_bytes(in, &cd->bytes, &cd->len, 0, cd->kind == IPS_COND_PCRE);
}

/* Flowbits, or xbits (whose identity is derived again from the name and
 * kind, not read).  The count covers only entries read whole, as for
 * conditions. */
static int
bi_bits(struct bundle_in *in, struct ips_rule *r, int xbits)
{
	struct ips_flowbit **list = xbits ? &r->xbits : &r->flowbits;
	uint8_t *count = xbits ? &r->n_xbits : &r->n_flowbits;
	const char *what = xbits ? "xbit" : "flowbit";
	uint8_t n = 0;

	if (BI_U8(in, n) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (n > IPS_MAX_RULE_BITS)
		return bi_fail(in, "sid %u: %u %ss", r->sid, n, what);
	if (bi_count(in, n, xbits ? 14 : 9, what) < 0)
		return -1;
	*list = calloc(n, sizeof(**list));
	if (*list == NULL)
		return bi_fail(in, "out of memory");
	for (uint8_t i = 0; i < n; i++) {
		struct ips_flowbit *fb = &(*list)[i];

		if (BI_U8(in, fb->op) < 0 || BI_U8(in, fb->or_next) < 0 ||
		    BI_U16(in, fb->bit) < 0)
			return -1;
		if (xbits && (BI_U8(in, fb->track) < 0 ||
		              BI_U32(in, fb->expire) < 0))
			return -1;
		if (fb->op >= IPS_FB_COUNT || fb->bit >= IPS_MAX_FLOWBITS ||
		    (xbits && (fb->track == IPS_XBIT_NONE ||
		               fb->track >= IPS_XBIT_COUNT || fb->expire == 0 ||
		               fb->or_next || fb->bit != 0)))
			return bi_fail(in, "sid %u: %s %u/%u/%u", r->sid, what,
			               fb->op, fb->bit, fb->track);
		if (bi_str(in, &fb->name, 0) < 0)
			return -1;
		if (xbits)
			fb->id = ips_xbit_id(fb->name, fb->track);
		(*count)++;
	}
	return 0;
}

static int
bi_rule(struct bundle_in *in, struct ips_rule *r, char *const *classes,
        uint32_t n_classes)
{
	uint32_t cls = 0, n = 0;

	if (BI_U8(in, r->action) < 0 || BI_U8(in, r->reject) < 0 ||
	    BI_U8(in, r->flow_flags) < 0 ||
	    BI_U8(in, r->bidirectional) < 0 || BI_U8(in, r->priority) < 0 ||
	    BI_U8(in, r->proto) < 0 || BI_U8(in, r->twin) < 0 ||
	    BI_U32(in, r->sid) < 0 ||
	    BI_U32(in, r->rev) < 0 || bi_str(in, &r->msg, 1) < 0 ||
	    BI_U32(in, cls) < 0)
		return -1;
	if (r->action >= IPS_ACTION_COUNT)
		return bi_fail(in, "sid %u: action %u", r->sid, r->action);
	if ((r->reject & ~IPS_REJECT_MASK) != 0 ||
	    (r->reject != 0) != (r->action == IPS_ACTION_REJECT))
		return bi_fail(in, "sid %u: reject variant %#x", r->sid,
		               r->reject);
	if (r->proto > IPS_PROTO_TLS)
		return bi_fail(in, "sid %u: protocol %u", r->sid, r->proto);
	if (cls != BUNDLE_NULL_STR) {
		if (cls >= n_classes)
			return bi_fail(in, "sid %u: classtype %u of %u", r->sid,
			               cls, n_classes);
		r->classtype = strdup(classes[cls]);
		if (r->classtype == NULL)
			return bi_fail(in, "out of memory");
	}
	if (bi_addr_set(in, &r->src) < 0 || bi_addr_set(in, &r->dst) < 0 ||
	    bi_port_set(in, &r->sport) < 0 || bi_port_set(in, &r->dport) < 0 ||
	    BI_U32(in, n) < 0)
		return -1;
	/* r->n_conds counts only conditions read whole: ips_rule_free
	 * walks conds[0..n_conds) when a later one fails. */
	if (n > BUNDLE_MAX_CONDS)
		return bi_fail(in, "sid %u: %u conditions", r->sid, n);
	if (n > 0) {
		/* 59 fixed bytes and a length+NUL per condition */
		if (bi_count(in, n, 64, "conditions") < 0)
			return -1;
		r->conds = calloc(n, sizeof(*r->conds));
		if (r->conds == NULL)
			return bi_fail(in, "out of memory");
		for (uint32_t c = 0; c < n; c++) {
			int rc = bi_cond(in, &r->conds[c]);

			r->n_conds += r->conds[c].bytes != NULL;
			if (rc < 0)
				return -1;
		}
	}
	if (bi_bits(in, r, 0) < 0 || bi_bits(in, r, 1) < 0 ||
	    BI_U8(in, r->noalert) < 0 ||
	    BI_U8(in, r->threshold.type) < 0 ||
	    BI_U8(in, r->threshold.track) < 0 ||
	    BI_U32(in, r->threshold.count) < 0 ||
	    BI_U32(in, r->threshold.seconds) < 0)
		return -1;
	if (r->threshold.type >= IPS_THRESH_COUNT ||
	    r->threshold.track >= IPS_TRACK_COUNT)
		return bi_fail(in, "sid %u: threshold %u/%u", r->sid,
		               r->threshold.type, r->threshold.track);
	return bi_str(in, &r->file, 1) < 0 || BI_U32(in, r->line) < 0 ? -1 : 0;
}

static int
bi_classes(struct bundle_in *in, char ***classes, uint32_t *n)
{
	uint32_t cnt = 0;

	if (BI_U32(in, cnt) < 0 || bi_count(in, cnt, 5, "classtypes") < 0)
		return -1;
	*classes = calloc(cnt ? cnt : 1, sizeof(**classes));
	if (*classes == NULL)
		return bi_fail(in, "out of memory");
	for (*n = 0; *n < cnt; (*n)++)
		if (bi_str(in, &(*classes)[*n], 0) < 0)
			return -1;
	return in->left ? bi_fail(in, "%zu trailing bytes", in->left) : 0;
}

static int
bi_rules(struct bundle_in *in, struct ips_ruleset *rs, char *const *classes,
         uint32_t n_classes)
{
	uint32_t n = 0;

	/* a rule takes at least 6+8+4+4+4*3+4+4+4 bytes */
	if (BI_U32(in, n) < 0 || bi_count(in, n, 46, "rules") < 0)
		return -1;
	rs->rules = calloc(n ? n : 1, sizeof(*rs->rules));
	if (rs->rules == NULL)
		return bi_fail(in, "out of memory");
	rs->cap_rules = n;
	for (rs->n_rules = 0; rs->n_rules < n; ) {
		/* counted before reading: a half-read rule is freed too */
		const struct ips_rule *r = &rs->rules[rs->n_rules];

		if (bi_rule(in, &rs->rules[rs->n_rules++], classes,
		            n_classes) < 0)
			return -1;
		/* a twin is the response reading of the rule before it */
		if (r->twin > 1 || (r->twin && (r == rs->rules || r[-1].twin ||
		                                r[-1].sid != r->sid)))
			return bi_fail(in, "sid %u: a twin without its rule",
			               r->sid);
	}
	return in->left ? bi_fail(in, "%zu trailing bytes", in->left) : 0;
}

/* Patterns, meta and always[], each index checked against what it names:
 * the dataplane indexes with them on the hot path without checking. */
static int
bi_tables(struct bundle_in *in, struct ips_detect_db *db)
{
	const struct ips_ruleset *rs = &db->rules;
	uint32_t nr = rs->n_rules;

	if (BI_U32(in, db->n_patterns) < 0 ||
	    bi_count(in, db->n_patterns, 8, "patterns") < 0)
		return -1;
	db->patterns = calloc(db->n_patterns ? db->n_patterns : 1,
	                      sizeof(*db->patterns));
	db->meta = calloc(nr ? nr : 1, sizeof(*db->meta));
	if (db->patterns == NULL || db->meta == NULL)
		return bi_fail(in, "out of memory");
	for (uint32_t i = 0; i < db->n_patterns; i++) {
		struct ips_pattern *p = &db->patterns[i];
		const struct ips_cond *cd;

		if (BI_U32(in, p->rule) < 0 || BI_U16(in, p->cond) < 0 ||
		    BI_U8(in, p->buffer) < 0 || BI_U8(in, p->negated) < 0)
			return -1;
		if (p->rule >= nr || p->cond >= rs->rules[p->rule].n_conds)
			return bi_fail(in, "pattern %u names rule %u cond %u",
			               i, p->rule, p->cond);
		cd = &rs->rules[p->rule].conds[p->cond];
		if (p->buffer != cd->buffer || p->negated != cd->negated)
			return bi_fail(in, "pattern %u disagrees with its "
			               "condition", i);
	}
	if (bi_count(in, nr, 17, "rule entries") < 0)
		return -1;
	for (uint32_t i = 0; i < nr; i++) {
		struct ips_rule_meta *m = &db->meta[i];
		uint64_t end;

		if (BI_U32(in, m->first_pattern) < 0 ||
		    BI_U16(in, m->n_positive) < 0 ||
		    BI_U16(in, m->n_negated) < 0 ||
		    BI_U64(in, m->buffers) < 0 || BI_U8(in, m->needs_body) < 0)
			return -1;
		end = (uint64_t)m->first_pattern + m->n_positive + m->n_negated;
		if (end > db->n_patterns ||
		    m->buffers >= IPS_BUF_BIT(IPS_BUF_COUNT))
			return bi_fail(in, "rule %u: patterns %u+%u outside "
			               "%u, or buffers 0x%llx", i,
			               m->first_pattern,
			               m->n_positive + m->n_negated,
			               db->n_patterns,
			               (unsigned long long)m->buffers);
		for (uint64_t p = m->first_pattern; p < end; p++)
			if (db->patterns[p].rule != i)
				return bi_fail(in, "rule %u: pattern %llu "
				               "belongs to rule %u", i,
				               (unsigned long long)p,
				               db->patterns[p].rule);
	}
	if (BI_U32(in, db->n_always) < 0 ||
	    bi_count(in, db->n_always, 4, "always-rules") < 0)
		return -1;
	db->always = calloc(db->n_always ? db->n_always : 1,
	                    sizeof(*db->always));
	if (db->always == NULL)
		return bi_fail(in, "out of memory");
	for (uint32_t i = 0; i < db->n_always; i++) {
		if (BI_U32(in, db->always[i]) < 0)
			return -1;
		if (db->always[i] >= nr)
			return bi_fail(in, "always-rule %u of %u",
			               db->always[i], nr);
	}
	return in->left ? bi_fail(in, "%zu trailing bytes", in->left) : 0;
}

/* Names for HS_CPU_FEATURES_* bits, for messages an operator can act on. */
static void
bundle_features(uint64_t f, char *out, size_t len)
{
	static const struct { uint64_t bit; const char *name; } names[] = {
		{ HS_CPU_FEATURES_AVX2, "AVX2" },
		{ HS_CPU_FEATURES_AVX512, "AVX512" },
#ifdef HS_CPU_FEATURES_AVX512VBMI
		{ HS_CPU_FEATURES_AVX512VBMI, "AVX512VBMI" },
#endif
	};
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(f & names[i].bit))
			continue;
		o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "+" : "",
		                      names[i].name);
		if (o >= len)
			return;
		f &= ~names[i].bit;
	}
	if (f != 0 && o < len)
		o += (size_t)snprintf(out + o, len - o, "%s0x%llx", o ? "+" : "",
		                      (unsigned long long)f);
	if (o == 0)
		snprintf(out, len, "no AVX2/AVX512");
}

/* "5.4.2 2023-..." -> length of "5.4.2": the build date does not change
 * the serialized format, the version number does. */
static size_t
bundle_version_len(const char *v)
{
	size_t n = strcspn(v, " ");

	return n;
}

/* Header checks that need no section: shape, then the Hyperscan version
 * and CPU, then the checksum.  Foreign bundles are named as such before
 * their checksum is looked at: the operator's fix differs. */
static int
bundle_check_header(const uint8_t *buf, size_t len, const char *name,
                    struct ips_bundle_header *h, char *err, size_t errlen)
{
	hs_platform_info_t host;
	const char *hv = hs_version();
	char want[128], have[128];
	uint64_t total;

	if (len < sizeof(h->magic) ||
	    memcmp(buf, IPS_BUNDLE_MAGIC, sizeof(h->magic)) != 0)
		return bundle_err(err, errlen, "%s: not a bundle (bad magic)",
		                  name);
	if (len < sizeof(*h))
		return bundle_err(err, errlen, "%s: truncated header (%zu of "
		                  "%zu bytes)", name, len, sizeof(*h));
	memcpy(h, buf, sizeof(*h));
	if (h->format != IPS_BUNDLE_FORMAT)
		return bundle_err(err, errlen, "%s: bundle format %u, this "
		                  "dataplane reads format %u", name, h->format,
		                  IPS_BUNDLE_FORMAT);
	if (h->header_bytes != sizeof(*h) ||
	    h->n_sections != IPS_BUNDLE_SECTIONS)
		return bundle_err(err, errlen, "%s: header of %u bytes with %u "
		                  "sections, expected %zu and %u", name,
		                  h->header_bytes, h->n_sections, sizeof(*h),
		                  IPS_BUNDLE_SECTIONS);
	if (memchr(h->hs_version, '\0', sizeof(h->hs_version)) == NULL)
		return bundle_err(err, errlen, "%s: Hyperscan version not "
		                  "NUL-terminated", name);
	if (hs_populate_platform(&host) != HS_SUCCESS)
		return bundle_err(err, errlen, "hs_populate_platform failed");
	if (bundle_version_len(h->hs_version) != bundle_version_len(hv) ||
	    memcmp(h->hs_version, hv, bundle_version_len(hv)) != 0 ||
	    (h->cpu_features & ~host.cpu_features) != 0) {
		bundle_features(h->cpu_features, want, sizeof(want));
		bundle_features(host.cpu_features, have, sizeof(have));
		return bundle_err(err, errlen, "%s: compiled for Hyperscan %s "
		                  "on a CPU with %s; this host has Hyperscan %s "
		                  "with %s: recompile it here", name,
		                  h->hs_version, want, hv, have);
	}
	total = sizeof(*h);
	for (unsigned s = 0; s < IPS_BUNDLE_SECTIONS; s++) {
		if (h->section_bytes[s] > BUNDLE_MAX_BYTES)
			return bundle_err(err, errlen, "%s: section %u of %llu "
			                  "bytes", name, s, (unsigned long long)
			                  h->section_bytes[s]);
		total += h->section_bytes[s];
	}
	if (total != h->file_bytes || h->file_bytes != len)
		return bundle_err(err, errlen, "%s: truncated or padded: %zu "
		                  "bytes, the header says %llu (sections add up "
		                  "to %llu)", name, len,
		                  (unsigned long long)h->file_bytes,
		                  (unsigned long long)total);
	if (ips_bundle_checksum(buf, len) != h->checksum)
		return bundle_err(err, errlen, "%s: checksum mismatch (corrupt "
		                  "file)", name);
	return 0;
}

static int
bundle_load_db(struct ips_detect_db *db, unsigned b, const uint8_t *p,
               size_t n, const char *name, char *err, size_t errlen)
{
	char *info = NULL;
	int stream, ok_mode;
	hs_error_t rc;

	rc = hs_serialized_database_info((const char *)p, n, &info);
	if (rc != HS_SUCCESS)
		return bundle_err(err, errlen, "%s: %s database: not a "
		                  "Hyperscan database (error %d)", name,
		                  ips_buffer_name(b), rc);
	stream = strstr(info, "Mode: STREAM") != NULL;
	ok_mode = stream == ips_buffer_streaming(b) &&
	          (stream || strstr(info, "Mode: BLOCK") != NULL);
	if (!ok_mode) {
		bundle_err(err, errlen, "%s: %s database in the wrong mode (%s)",
		           name, ips_buffer_name(b), info);
		free(info);
		return -1;
	}
	free(info);
	rc = hs_deserialize_database((const char *)p, n, &db->db[b]);
	if (rc != HS_SUCCESS) {
		db->db[b] = NULL;
		return bundle_err(err, errlen, "%s: %s database: "
		                  "hs_deserialize_database error %d%s", name,
		                  ips_buffer_name(b), rc,
		                  rc == HS_DB_PLATFORM_ERROR ? " (CPU)" :
		                  rc == HS_DB_VERSION_ERROR ? " (version)" : "");
	}
	return 0;
}

/* A buffer that has a Hyperscan-scanned condition must have a database
 * and one that has none must not: otherwise a rule would silently never
 * match, or ids would name patterns of another buffer. */
static int
bundle_check_dbs(const struct ips_detect_db *db, const char *name, char *err,
                 size_t errlen)
{
	uint64_t need = 0;

	for (uint32_t i = 0; i < db->n_patterns; i++) {
		const struct ips_pattern *p = &db->patterns[i];
		const struct ips_cond *cd = &db->rules.rules[p->rule].conds[p->cond];

		/* rule_compile.c leaves some conditions to the dataplane's
		 * inspection of the held buffer */
		if (!cd->hs_skip)
			need |= IPS_BUF_BIT(p->buffer);
	}
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++)
		if (!!(need & IPS_BUF_BIT(b)) != (db->db[b] != NULL))
			return bundle_err(err, errlen, "%s: %s database %s",
			                  name, ips_buffer_name(b),
			                  db->db[b] ? "has no conditions"
			                            : "missing");
	return 0;
}

struct ips_detect_db *
ips_bundle_read_mem(const void *buf, size_t len, const char *name, char *err,
                    size_t errlen)
{
	static const char *const what[IPS_BUNDLE_SEC_DB] = {
		"classification", "rules", "tables" };
	const uint8_t *file = buf;
	struct ips_bundle_header h;
	struct ips_detect_db *db;
	struct bundle_in in[IPS_BUNDLE_SEC_DB];
	char **classes = NULL;
	uint32_t n_classes = 0;
	size_t at;
	int rc = -1;

	if (bundle_check_header(file, len, name, &h, err, errlen) < 0)
		return NULL;
	db = calloc(1, sizeof(*db));
	if (db == NULL) {
		bundle_err(err, errlen, "out of memory");
		return NULL;
	}
	db->generation = h.generation;
	db->compile_seconds = (double)h.compile_us / 1e6;
	at = sizeof(h);
	for (unsigned s = 0; s < IPS_BUNDLE_SEC_DB; s++) {
		in[s] = (struct bundle_in){ file + at, h.section_bytes[s], name,
		                            what[s], err, errlen };
		at += h.section_bytes[s];
	}
	if (bi_classes(&in[IPS_BUNDLE_SEC_CLASSES], &classes, &n_classes) < 0 ||
	    bi_rules(&in[IPS_BUNDLE_SEC_RULES], &db->rules, classes,
	             n_classes) < 0 ||
	    bi_tables(&in[IPS_BUNDLE_SEC_TABLES], db) < 0)
		goto out;
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++) {
		size_t n = h.section_bytes[IPS_BUNDLE_SEC_DB + b];

		if (n != 0 && bundle_load_db(db, b, file + at, n, name, err,
		                             errlen) < 0)
			goto out;
		at += n;
	}
	if (bundle_check_dbs(db, name, err, errlen) < 0)
		goto out;
	/* The regexes travel as source: PCRE2 (and its JIT) compiles them
	 * here, on the loading thread, never on a worker. */
	if (ips_detect_db_prepare(db, err, errlen) < 0) {
		char why[IPS_ERRBUF_SIZE];

		snprintf(why, sizeof(why), "%s", err);
		bundle_err(err, errlen, "%s: %s", name, why);
		goto out;
	}
	rc = 0;
out:
	for (uint32_t i = 0; i < n_classes; i++)
		free(classes[i]);
	free(classes);
	if (rc < 0) {
		ips_detect_db_free(db);
		return NULL;
	}
	return db;
}

struct ips_detect_db *
ips_bundle_read(const char *path, char *err, size_t errlen)
{
	struct ips_detect_db *db = NULL;
	struct stat st = { 0 };
	uint8_t *buf;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bundle_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > BUNDLE_MAX_BYTES) {
		bundle_err(err, errlen, "%s: %s", path,
		           S_ISREG(st.st_mode) ? "larger than 1 GiB"
		                               : "not a regular file");
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		bundle_err(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size)
		bundle_err(err, errlen, "%s: short read (%zu of %lld bytes)",
		           path, got, (long long)st.st_size);
	else
		db = ips_bundle_read_mem(buf, got, path, err, errlen);
	free(buf);
	return db;
}
