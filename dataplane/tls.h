/*
 * tls.h - follow the server's side of a TLS handshake to its certificates.
 *
 * Owns: the per flow framing state of the server-to-client bytes of a TLS
 * flow (struct tls_server, embedded in the stream stage's flow state):
 * records, handshake messages split across records and segments, and the
 * TLS 1.2 Certificate message's certificate_list.  Does not own the
 * certificate bytes: the caller lends a buffer when a Certificate message
 * begins (struct tls_sink), and is handed each certificate, whole and
 * contiguous, as Suricata's tls.certs buffer sees it.
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

/* Per flow server-side state.  All zero: before the server's first byte. */
struct tls_server {
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
	uint8_t lent;               /* cert_buffer was called, certs_end not */
	uint16_t n_certs;           /* certificates handed so far */
};

/* What the parser hands out; arg is tls_server_data's. */
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
 * Feed the next len server-to-client bytes of the flow (in order, each
 * byte once).  Returns enum tls_result; after TLS_DONE or TLS_MALFORMED
 * the state stays there and later calls return the same without reading.
 */
int tls_server_data(struct tls_server *ts, const uint8_t *p, uint32_t len,
                    const struct tls_sink *sink, void *arg);

/* 1 once tls_server_data has returned TLS_DONE or TLS_MALFORMED: the
 * flow's server bytes need not be fed any more. */
int tls_server_ended(const struct tls_server *ts);

/* Drop a flow's parsing midway (flow ended): returns a lent buffer
 * (certs_end) if one is held.  Safe on a zeroed or finished state. */
void tls_server_release(struct tls_server *ts, const struct tls_sink *sink,
                        void *arg);

#endif /* IPS_TLS_H */
