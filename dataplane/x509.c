/*
 * x509.c - a certificate's subject, issuer and serial as Suricata's rules
 * read them (see x509.h).
 *
 * A DER reader of the few shapes on the way (definite lengths, one-byte
 * tags): Certificate -> TBSCertificate -> [0] version, serialNumber,
 * signature, issuer, validity, subject.  Each name is written by a
 * bounded writer that turns full into "absent", never into a shorter
 * string a rule could misread.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bounded.h"
#include "x509.h"

#define DER_INTEGER      0x02
#define DER_OID          0x06
#define DER_SEQUENCE     0x30
#define DER_SET          0x31
#define DER_VERSION      0xa0   /* [0] EXPLICIT */

struct der {
	const uint8_t *p;
	uint32_t len;
};

/* The next TLV of in: its tag and content; in moves past it.  -1 when
 * the bytes are not DER (a multi-byte tag, an indefinite or overlong
 * length, content past the end). */
static int
der_next(struct der *in, uint8_t *tag, struct der *content)
{
	uint32_t n, at = 2;

	if (in->len < 2 || (in->p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = in->p[0];
	n = in->p[1];
	if (n & 0x80) {
		uint32_t k = n & 0x7f;

		if (k == 0 || k > 4 || in->len < 2 + k)
			return -1;
		n = 0;
		for (uint32_t i = 0; i < k; i++)
			n = n << 8 | in->p[2 + i];
		at += k;
	}
	if (n > in->len - at)
		return -1;
	content->p = in->p + at;
	content->len = n;
	in->p += at + n;
	in->len -= at + n;
	return 0;
}

/* The next TLV, which must have tag want. */
static int
der_expect(struct der *in, uint8_t want, struct der *content)
{
	uint8_t tag;

	return der_next(in, &tag, content) == 0 && tag == want ? 0 : -1;
}

/* Bytes as upper-case hex pairs, sep between them. */
static void
out_hex(struct bounded_out *o, const uint8_t *p, uint32_t n, const char *sep)
{
	static const char digits[] = "0123456789ABCDEF";

	for (uint32_t i = 0; i < n; i++) {
		char h[2] = { digits[p[i] >> 4], digits[p[i] & 0xf] };

		if (i > 0)
			bounded_str(o, sep);
		bounded_put(o, h, 2);
	}
}

/* ---- attribute types ----------------------------------------------------- */

/* Suricata prints an attribute type by x509-parser's abbreviation, else
 * by the OID registry's short name.  Keyed by the OID's DER content. */
static const struct {
	const char *der;
	uint8_t len;
	const char *name;
} x509_attr_names[] = {
	{ "\x55\x04\x03", 3, "CN" },
	{ "\x55\x04\x06", 3, "C" },
	{ "\x55\x04\x07", 3, "L" },
	{ "\x55\x04\x08", 3, "ST" },
	{ "\x55\x04\x0a", 3, "O" },
	{ "\x55\x04\x0b", 3, "OU" },
	{ "\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10, "DC" },
	{ "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9, "Email" },
	{ "\x55\x04\x00", 3, "objectClass" },
	{ "\x55\x04\x01", 3, "aliasedEntryName" },
	{ "\x55\x04\x02", 3, "knowledgeInformation" },
	{ "\x55\x04\x04", 3, "surname" },
	{ "\x55\x04\x05", 3, "serialNumber" },
	{ "\x55\x04\x09", 3, "streetAddress" },
	{ "\x55\x04\x0c", 3, "title" },
	{ "\x55\x04\x0d", 3, "description" },
	{ "\x55\x04\x2a", 3, "givenName" },
	{ "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x02", 9, "unstructuredName" },
};

/* The OID's dotted form, "OID(2.5.4.97)", as Suricata prints one it has
 * no name for.  -1 when the OID is malformed. */
static int
out_oid(struct bounded_out *o, const struct der *oid)
{
	uint64_t v = 0;
	int first = 1;
	char num[24];

	if (oid->len == 0 || (oid->p[oid->len - 1] & 0x80))
		return -1;
	bounded_str(o, "OID(");
	for (uint32_t i = 0; i < oid->len; i++) {
		if (v > (UINT64_MAX >> 7))
			return -1;
		v = v << 7 | (oid->p[i] & 0x7f);
		if (oid->p[i] & 0x80)
			continue;
		if (first) {
			uint64_t a = v < 80 ? v / 40 : 2;

			snprintf(num, sizeof(num), "%llu.%llu",
			         (unsigned long long)a,
			         (unsigned long long)(v - a * 40));
			first = 0;
		} else {
			snprintf(num, sizeof(num), ".%llu",
			         (unsigned long long)v);
		}
		bounded_str(o, num);
		v = 0;
	}
	bounded_str(o, ")");
	return 0;
}

static int
out_attr_type(struct bounded_out *o, const struct der *oid)
{
	for (size_t i = 0; i < sizeof(x509_attr_names) /
	                        sizeof(x509_attr_names[0]); i++) {
		if (oid->len == x509_attr_names[i].len &&
		    memcmp(oid->p, x509_attr_names[i].der, oid->len) == 0) {
			bounded_str(o, x509_attr_names[i].name);
			return 0;
		}
	}
	return out_oid(o, oid);
}

/* ---- attribute values ---------------------------------------------------- */

/* The string types Suricata prints as text (asn1-rs tags). */
static int
x509_is_string_tag(uint8_t tag)
{
	switch (tag) {
	case 0x07:  /* ObjectDescriptor */
	case 0x0c:  /* UTF8String */
	case 0x12:  /* NumericString */
	case 0x13:  /* PrintableString */
	case 0x14:  /* T61String */
	case 0x15:  /* VideotexString */
	case 0x16:  /* IA5String */
	case 0x19:  /* GraphicString */
	case 0x1a:  /* VisibleString */
	case 0x1b:  /* GeneralString */
	case 0x1e:  /* BMPString */
		return 1;
	default:
		return 0;
	}
}

/* Whether p is well-formed UTF-8 (what Rust's from_utf8 accepts). */
static int
x509_utf8_ok(const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint32_t k, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (uint32_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* One AttributeTypeAndValue as "type=value".  -1: the name is absent. */
static int
out_attr(struct bounded_out *o, struct der atv)
{
	struct der oid, value;
	uint8_t tag;

	if (der_expect(&atv, DER_OID, &oid) < 0 ||
	    der_next(&atv, &tag, &value) < 0 || out_attr_type(o, &oid) < 0)
		return -1;
	bounded_str(o, "=");
	if (!x509_is_string_tag(tag)) {
		out_hex(o, value.p, value.len, "");
		return 0;
	}
	if (!x509_utf8_ok(value.p, value.len))
		return -1;
	bounded_put(o, value.p, value.len);
	return 0;
}

/* A Name (SEQUENCE OF RDN) into o.  -1: the name is absent. */
static int
out_name(struct bounded_out *o, struct der name)
{
	int first_rdn = 1;

	while (name.len > 0) {
		struct der rdn, atv;
		int first_atv = 1;

		if (der_expect(&name, DER_SET, &rdn) < 0)
			return -1;
		if (!first_rdn)
			bounded_str(o, ", ");
		first_rdn = 0;
		while (rdn.len > 0) {
			if (der_expect(&rdn, DER_SEQUENCE, &atv) < 0)
				return -1;
			if (!first_atv)
				bounded_str(o, " + ");
			first_atv = 0;
			if (out_attr(o, atv) < 0)
				return -1;
		}
	}
	return 0;
}

/* ---- certificate --------------------------------------------------------- */

/* Write one name at o's end and point s at it, or leave s absent. */
static void
x509_emit(struct bounded_out *o, struct x509_str *s,
          int (*fmt)(struct bounded_out *, struct der), struct der in,
          uint8_t *truncated)
{
	uint32_t start = o->len;

	o->full = false;
	if (fmt(o, in) < 0 || o->full) {
		*truncated |= (uint8_t)o->full;
		o->len = start;
		return;
	}
	s->p = o->p + start;
	s->len = o->len - start;
}

static int
out_serial(struct bounded_out *o, struct der serial)
{
	out_hex(o, serial.p, serial.len, ":");
	return 0;
}

int
x509_names(const uint8_t *der, uint32_t len, uint8_t *room, uint32_t cap,
           struct x509_names *out)
{
	struct der in = { der, len }, cert, tbs, serial, skip, issuer, subject;
	struct bounded_out o = { room, 0, cap, false };
	uint8_t tag;

	memset(out, 0, sizeof(*out));
	if (der_expect(&in, DER_SEQUENCE, &cert) < 0 ||
	    der_expect(&cert, DER_SEQUENCE, &tbs) < 0 ||
	    der_next(&tbs, &tag, &serial) < 0)
		return -1;
	if (tag == DER_VERSION && der_next(&tbs, &tag, &serial) < 0)
		return -1;
	if (tag != DER_INTEGER || serial.len == 0 ||
	    der_expect(&tbs, DER_SEQUENCE, &skip) < 0 ||      /* signature */
	    der_expect(&tbs, DER_SEQUENCE, &issuer) < 0 ||
	    der_expect(&tbs, DER_SEQUENCE, &skip) < 0 ||      /* validity */
	    der_expect(&tbs, DER_SEQUENCE, &subject) < 0)
		return -1;
	x509_emit(&o, &out->subject, out_name, subject, &out->truncated);
	x509_emit(&o, &out->issuer, out_name, issuer, &out->truncated);
	x509_emit(&o, &out->serial, out_serial, serial, &out->truncated);
	return 0;
}
