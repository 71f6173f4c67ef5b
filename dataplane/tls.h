/*
 * tls.h - follow a TLS handshake to what rules read of it: the client's
 * ClientHello (tls.sni), then the server's certificates (tls.certs).
 *
 * Owns: the per flow framing state of a TLS flow (struct tls_handshake,
 * embedded in the stream stage's flow state): records, handshake messages
 * split across records and segments, the TLS 1.2 Certificate message's
 * certificate_list; and the reading of a ClientHello's fields.  One state
 * serves both sides in turn, as the handshake does: the client's bytes up
 * to the end of its ClientHello (when rules read it), then the server's.
 * Does not own the message bytes: the caller lends a buffer when a
 * ClientHello or Certificate message begins (struct tls_sink), and is
 * handed the ClientHello's body, or each certificate, whole and
 * contiguous, as Suricata's buffers see them.
 *
 * Nothing in the handshake after the certificates is inspected, and
 * nothing of TLS 1.3's (encrypted) handshake: the parser reports
 * TLS_DONE at the end of the Certificate message, or at the first record
 * that is not a handshake one (ChangeCipherSpec, alert, application
 * data), whichever comes first.  No decryption.
 *
 * No allocation, no syscall, no logging: called per packet.
 */
#ifndef IPS_TLS_H
#define IPS_TLS_H

#include <stdint.h>

enum tls_result {
	TLS_CONTINUE = 0,   /* feed the next bytes */
	TLS_DONE,           /* the certificates are past: stop feeding */
	TLS_MALFORMED,      /* not TLS as a client would accept it */
};

/* The largest record payload a client accepts (TLS 1.2: 2^14 plus
 * 2048 of compression/cipher expansion) and the largest handshake
 * message this parser follows. */
#define TLS_RECORD_MAX   (16384 + 2048)
#define TLS_MESSAGE_MAX  (1u << 20)

/* Per flow state.  All zero: before either side's first byte. */
struct tls_handshake {
	uint32_t rec_left;          /* payload bytes left in this record */
	uint32_t msg_left;          /* bytes left of this handshake message */
	uint32_t list_left;         /* certificate_list bytes left */
	uint32_t cert_len;          /* this certificate's length */
	uint32_t cert_have;         /* of it read so far */
	uint32_t cap;               /* the lent buffer's size, 0: none */
	uint8_t *buf;               /* the lent buffer, or NULL */
	uint8_t hdr[5];             /* a record header read across pieces */
	uint8_t hdr_len;
	uint8_t field[4];           /* a message header or a 24-bit length
	                             * read across pieces or records */
	uint8_t field_len;
	uint8_t state;              /* private to tls.c: record layer */
	uint8_t hs_state;           /* private to tls.c: handshake layer */
	uint8_t lent : 1;           /* cert_buffer was called, certs_end not */
	uint8_t phase : 2;          /* private to tls.c: whose bytes */
	uint16_t n_certs;           /* certificates handed so far */
};

/* What the parser hands out; arg is tls_server_data's (or
 * tls_client_data's: its "certificate" is the ClientHello's body, the one
 * item of its message). */
struct tls_sink {
	/* A Certificate message begins: lend a buffer for its certificates
	 * (one at a time), *cap bytes, or return NULL: its certificates are
	 * then skipped and each reported with der NULL. */
	uint8_t *(*cert_buffer)(void *arg, uint32_t *cap);
	/* One certificate, DER, whole (truncated 0) or its first cap bytes
	 * when longer than the buffer (truncated 1); der NULL, len its length
	 * when no buffer was lent.  Valid during the call only. */
	void (*cert)(void *arg, const uint8_t *der, uint32_t len, int truncated);
	/* The Certificate message ended or the flow's parsing stopped: the
	 * buffer is no longer used.  Called once per cert_buffer call. */
	void (*certs_end)(void *arg);
};

/*
 * Feed the next len client-to-server bytes of the flow (in order, each
 * byte once, from its first), while the client side is followed: the
 * ClientHello's body is handed whole, then TLS_DONE and the state waits
 * for the server's bytes.  TLS_MALFORMED: not TLS (neither side is read
 * any more).  Once the server's bytes came, TLS_DONE without reading.
 */
int tls_client_data(struct tls_handshake *ts, const uint8_t *p, uint32_t len,
                    const struct tls_sink *sink, void *arg);

/* 1 once the client's bytes need not be fed any more. */
int tls_client_ended(const struct tls_handshake *ts);

/*
 * Feed the next len server-to-client bytes of the flow (in order, each
 * byte once).  Returns enum tls_result; after TLS_DONE or TLS_MALFORMED
 * the state stays there and later calls return the same without reading.
 * A ClientHello still coming is given up (the server does not speak
 * before it ends): its buffer goes back through sink->certs_end.
 */
int tls_server_data(struct tls_handshake *ts, const uint8_t *p, uint32_t len,
                    const struct tls_sink *sink, void *arg);

/* 1 once tls_server_data has returned TLS_DONE or TLS_MALFORMED: the
 * flow's server bytes need not be fed any more. */
int tls_server_ended(const struct tls_handshake *ts);

/* Drop a flow's parsing midway (flow ended): returns a lent buffer
 * (certs_end) if one is held.  Safe on a zeroed or finished state. */
void tls_server_release(struct tls_handshake *ts, const struct tls_sink *sink,
                        void *arg);

/* A vector of a ClientHello's body: its content. */
struct tls_vec {
	const uint8_t *p;
	uint32_t len;
};

/* What rules read of a ClientHello (pointers into its body). */
struct tls_hello {
	const uint8_t *sni;         /* the first server_name host_name, or
	                             * NULL */
	uint32_t sni_len;
	uint16_t version;           /* legacy_version */
	uint16_t client_version;    /* what tls.version reads: Suricata 7's
	                             * client version once the hello is
	                             * parsed (tls.c) */
	/* for JA3: cipher_suites, the extensions block, supported_groups'
	 * and ec_point_formats' lists (len 0 when absent) */
	struct tls_vec ciphers, extensions, groups, formats;
};

/* Read a ClientHello's body (the handshake message without its 4-byte
 * header).  Returns 0, or -1 when its fields disagree with its length. */
int tls_hello_parse(const uint8_t *body, uint32_t len, struct tls_hello *out);

struct bounded_out;

/* The JA3 string of a parsed ClientHello, as Suricata builds it:
 * "version,ciphers,extensions,groups,point_formats", each list's values
 * in decimal joined by '-', GREASE values left out.  Written to o (full
 * set when it does not fit). */
void tls_hello_ja3(const struct tls_hello *h, struct bounded_out *o);

#endif /* IPS_TLS_H */
