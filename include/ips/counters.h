/*
 * counters.h - names of every per-worker counter.
 *
 * Each worker owns one cache-aligned struct worker_stats (dataplane/stats.h)
 * generated from these lists and increments its fields without atomics; the
 * service thread sums them on read.  The names here are the names in the
 * replay summary, `ipsctl stats` and the docs, so keep them stable.
 *
 * Convention: a counter starting with "drop_" counts packets NOT forwarded
 * for that reason; the summary's per-reason drop table is exactly the drop_
 * counters, and "dropped" is their sum.  Every packet read is either
 * forwarded, dropped for one reason, or still held at exit (counted in
 * stream_held_at_exit / frag_held_at_exit / l3_held_at_exit), or absorbed
 * into a reassembled IP datagram (frag_merged), or (mode "l3") meant for
 * the gateway itself (l3_local):
 * rx_packets = forwarded + dropped + held + merged + local.
 *
 * Each module owns one list; add a counter to your module's list only.
 */
#ifndef IPS_COUNTERS_H
#define IPS_COUNTERS_H

/* The worker loop (dataplane/worker.c): a poll-mode worker's thread is
 * always 100 % busy for the OS; these say how much of it did work. */
#define IPS_COUNTERS_WORKER(X)                                           \
	X(worker_cycles)        /* TSC cycles the loop ran */            \
	X(worker_busy_cycles)   /* ... in rounds that received packets */

#define IPS_COUNTERS_PORT(X)                                             \
	X(rx_packets)                                                     \
	X(rx_bytes)                                                       \
	X(tx_packets)                                                     \
	X(tx_bytes)                                                       \
	X(drop_tx_full)         /* TX ring full: short burst freed */    \
	X(drop_no_route)        /* no output port for this packet */  \
	X(fwd_refragmented)     /* datagrams longer than the MTU, cut */\
	X(fwd_fragments_added)  /* pieces beyond one per such datagram */\
	X(drop_refragment)      /* ... and cutting it failed */

#define IPS_COUNTERS_DECODE(X)                                           \
	X(decode_ipv4)                                                    \
	X(decode_ipv6)                                                    \
	X(decode_tcp)                                                     \
	X(decode_udp)                                                     \
	X(decode_icmp)                                                    \
	X(decode_other_l3)      /* ARP etc.: forwarded in L2 mode */     \
	X(drop_eth_truncated)                                             \
	X(drop_vlan_truncated)                                            \
	X(drop_vlan_too_deep)                                             \
	X(drop_ipv4_truncated)                                            \
	X(drop_ipv4_bad_version)                                          \
	X(drop_ipv4_bad_ihl)                                              \
	X(drop_ipv4_bad_length)                                           \
	X(drop_ipv4_bad_options)                                          \
	X(drop_ipv4_bad_checksum)                                         \
	X(drop_l4_bad_checksum) /* NIC verdict: the receiver discards it */\
	X(drop_ipv6_truncated)                                            \
	X(drop_ipv6_bad_version)                                          \
	X(drop_ipv6_bad_length)                                           \
	X(drop_ipv6_bad_ext)                                              \
	X(drop_tcp_truncated)                                             \
	X(drop_tcp_bad_offset)                                            \
	X(drop_tcp_bad_flags)                                             \
	X(drop_tcp_bad_options) /* option length runs past header */     \
	X(drop_udp_truncated)                                             \
	X(drop_udp_bad_length)                                            \
	X(drop_icmp_truncated)                                            \
	X(drop_l4_other)        /* policy: non TCP/UDP/ICMP */           \
	X(frag_received)                                                  \
	X(frag_reassembled)                                               \
	X(frag_merged)          /* fragments absorbed into a datagram */ \
	X(drop_frag_overlap)    /* datagram dropped whole */             \
	X(drop_frag_table_full)                                           \
	X(frag_evicted)         /* datagrams ended for a newcomer */     \
	X(drop_frag_evicted)    /* ... their held fragments */           \
	X(drop_frag_share)      /* its source has its share in progress */\
	X(drop_frag_invalid)                                              \
	X(drop_frag_too_many)   /* over rte_ip_frag's 8 per datagram */  \
	X(drop_frag_unsupported) /* IPv6 ext header before fragment */   \
	X(drop_frag_timeout)    /* held fragments of expired datagram */ \
	X(frag_held_at_exit)

/* Mode "l3" (dataplane/l3.c).  l3_local counts packets for the gateway
 * itself (ARP, ND, ping): rx_packets = forwarded + dropped + held +
 * merged + l3_local.  The *_sent counters are packets the gateway made. */
#define IPS_COUNTERS_L3(X)                                               \
	X(l3_local)             /* for the gateway: answered or absorbed */\
	X(l3_arp_requests_sent)                                           \
	X(l3_arp_replies_sent)                                            \
	X(l3_nd_solicits_sent)                                            \
	X(l3_nd_adverts_sent)                                             \
	X(l3_echo_replies_sent)                                           \
	X(l3_icmp_errors_sent)  /* time exceeded, unreachable, too big */ \
	X(l3_icmp_rate_limited) /* errors not sent: over l3.icmp_rate */  \
	X(l3_neigh_learned)     /* entries resolved or refreshed */       \
	X(l3_neigh_evicted)     /* table full: least recently confirmed */\
	X(l3_neigh_news_lost)   /* another worker's ring was full */      \
	X(l3_held)              /* packets that waited for a neighbor */  \
	X(l3_held_at_exit)                                                \
	X(drop_l3_not_ip)       /* neither IP nor ARP */                  \
	X(drop_l3_vlan)         /* tagged: l3 ports are untagged */       \
	X(drop_l3_foreign_mac)  /* unicast to another station's MAC */    \
	X(drop_l3_malformed)    /* ARP or ND a host would ignore */       \
	X(drop_l3_to_gateway)   /* for the gateway, no service there */   \
	X(drop_l3_multicast)    /* not routed */                          \
	X(drop_l3_not_pod)      /* destination outside the pod subnets */ \
	X(drop_l3_port_closed)  /* not one of l3.service_ports */         \
	X(drop_l3_spoofed)      /* from the private side, not from a pod */\
	X(drop_l3_no_route)                                               \
	X(drop_l3_ttl_expired)                                            \
	X(drop_l3_too_big)      /* DF or IPv6, over the egress MTU */     \
	X(drop_l3_neigh_unresolved) /* next hop did not answer */         \
	X(drop_l3_neigh_hold_full)  /* older packet of a full hold */     \
	X(drop_l3_neigh_table_full)

#define IPS_COUNTERS_FLOW(X)                                             \
	X(flow_created)                                                   \
	X(flow_evicted)         /* table full: oldest evicted */         \
	X(flow_timed_out)                                                 \
	X(flow_closed)                                                    \
	X(flow_reused)          /* SYN on a closed flow: new flow */     \
	X(flow_midstream_bypass) /* picked up mid-stream, uninspected */ \
	X(drop_flow_table_full) /* table full and policy drop */         \
	X(flow_share_evicted)   /* its source's share full: its oldest */\
	X(drop_flow_share)      /* ... and policy drop */                \
	X(drop_flow_midstream)  /* TCP without a handshake seen */       \
	X(drop_flow_blocked)    /* later packets of a dropped flow */    \
	X(drop_tcp_state)       /* segment invalid for the TCP state */  \
	X(drop_flow_wrong_side) /* direction disagrees with its port */  \
	X(flow_rst_ignored)     /* RST the endpoint would not accept */

#define IPS_COUNTERS_STREAM(X)                                           \
	X(stream_segments)                                                \
	X(stream_bytes_inspected)                                         \
	X(stream_segments_held)                                           \
	X(stream_segments_released)                                       \
	X(stream_retransmit_same)   /* overlap with identical bytes */   \
	X(stream_retransmit_unverified) /* overlap of acked bytes */     \
	X(drop_stream_hold_full)                                          \
	X(drop_stream_overlap_mismatch)                                   \
	X(drop_stream_out_of_window)                                      \
	X(drop_stream_unverifiable) /* overlap of unretained bytes */    \
	X(drop_stream_flow_gone)    /* held when the flow ended */  \
	X(stream_hold_bypass)       /* hold full, policy bypass */  \
	X(stream_kept_evicted)      /* kept copy dropped: window full */\
	/* flows that gave up their held segments and connection: */     \
	X(stream_hold_evicted)      /* hold full, it stalled longest */ \
	X(stream_hold_share_evicted) /* its source held its share */    \
	X(stream_gap_timeout)       /* a gap unfilled too long */       \
	X(drop_stream_hold_evicted) /* ... the held segments */         \
	X(drop_stream_gap_timeout)  /* ... the held segments */         \
	X(drop_stream_kept_full)    /* new bytes could not be kept */  \
	X(stream_window_clamped)    /* server window lowered to keep */\
	X(tls_server_handshakes)    /* servers followed to their certs */\
	X(tls_server_not_tls)       /* server bytes not TLS: not followed */\
	X(tls_client_hellos)        /* clients followed to their hello */ \
	X(tls_client_not_tls)       /* client bytes not TLS: not followed */\
	X(drop_server_out_of_order) /* ahead, its bytes inspected */\
	X(drop_tcp_urgent)          /* URG data: server reads other bytes */\
	X(stream_held_at_exit)

#define IPS_COUNTERS_HTTP(X)                                             \
	X(http_requests)                                                  \
	X(http_requests_complete)                                         \
	X(http_requests_cut_by_fin)  /* body cut short by the client */  \
	X(http_body_bytes)                                                \
	X(http_detected_by_content)  /* HTTP found on a non-HTTP port */ \
	X(http_anomaly_cl_te)        /* both Content-Length and TE */    \
	X(http_anomaly_dup_cl)                                            \
	X(http_anomaly_bad_chunk)                                         \
	X(http_anomaly_bare_lf)                                           \
	X(http_anomaly_obs_fold)                                          \
	X(http_anomaly_bad_request)                                       \
	X(http_anomaly_bad_cl)       /* Content-Length not 1*DIGIT */    \
	X(http_anomaly_bad_te)       /* TE not ending in one chunked */  \
	X(http_anomaly_bad_header)   /* no colon, "Name :", bare CR */   \
	X(http_anomaly_dup_host)                                          \
	X(http_anomaly_request_line) /* servers split it differently */  \
	X(http_bypass_malformed)     /* not HTTP, bypass: HTTP ended */  \
	X(http_bypass_txn_pool_full) /* no txn, bypass: HTTP ended */    \
	X(http_header_arena_used)    /* heads inspected from a large arena */\
	X(http_bypass_header_arena_full) /* no large arena, bypass */   \
	X(http_tunnel_opened)        /* 101, 2xx to CONNECT: HTTP ended */\
	X(http_response_lost)        /* framing lost: no tunnel trusted */\
	X(http_responses_inspected)  /* for response rules */             \
	X(http_response_pool_full)   /* none to inspect one: a fault */   \
	X(http_response_head_too_long) /* its buffers unbuilt: a fault */ \
	X(http_response_evicted)     /* taken from the stalled longest */ \
	X(http_response_share_evicted) /* its source held its share */    \
	X(http_coding_stacked)       /* several codings: a fault */      \
	X(http_decode_error)         /* gzip/deflate broken: a fault */  \
	X(http_decoder_pool_full)    /* none for a coded body: a fault */\
	X(http_decoder_evicted)      /* taken from the stalled longest */ \
	X(http_decoder_share_evicted) /* its source held its share */     \
	X(http_body_limit_reached)   /* rest of a body not inspected */   \
	X(drop_http_ambiguous)       /* smuggling ambiguity, policy */   \
	X(drop_http_malformed)                                            \
	X(drop_http_header_too_long)                                      \
	X(drop_http_txn_pool_full)                                        \
	/* flows that gave up their transaction and connection: */       \
	X(http_txn_evicted)          /* pool full, it stalled longest */ \
	X(http_txn_share_evicted)    /* its source held its share */     \
	X(http_header_timeout)       /* head unfinished in time */       \
	X(http_body_timeout)         /* body without progress in time */ \
	X(drop_http_header_arena_full) /* a big head, no large arena */

#define IPS_COUNTERS_DETECT(X)                                           \
	X(detect_scans)                                                   \
	X(detect_bytes_scanned)                                           \
	X(detect_rules_evaluated)                                         \
	X(detect_rules_matched)                                           \
	X(detect_scan_errors)                                             \
	X(detect_stream_pool_full)  /* body streams: requests refused */  \
	X(detect_raw_pool_full)     /* raw streams: TCP flows refused */  \
	/* a newcomer took the stream of the holder stalled longest ... */  \
	X(detect_body_stream_evicted)                                      \
	X(detect_raw_stream_evicted)                                       \
	/* ... or its source's own oldest: the source held its share */    \
	X(detect_body_stream_share_evicted)                                \
	X(detect_raw_stream_share_evicted)                                 \
	/* raw stream windows (rules Hyperscan cannot decide alone) */     \
	X(detect_raw_window_evicted) /* taken from the stalled longest */  \
	X(detect_raw_window_pool_full) /* none for a new stream */         \
	X(detect_raw_window_passed) /* the stream went past its window */ \
	/* tls.certs: certificate buffers of TLS flows */                  \
	X(detect_response_body_evicted) /* response body stream lost */  \
	X(detect_response_body_share_evicted) /* ... its source's share */ \
	X(detect_tls_certs)         /* certificates inspected */          \
	X(detect_tls_cert_truncated) /* longer than a buffer: prefix */   \
	X(detect_tls_cert_unparsed) /* first one not DER: no tls.cert_* */ \
	X(detect_tls_hellos)        /* ClientHellos inspected (tls.sni) */ \
	X(detect_tls_hello_malformed) /* fields past its length: no SNI */ \
	X(detect_tls_hello_truncated) /* longer than a buffer: prefix */  \
	X(detect_tls_evicted)       /* taken from the stalled longest */  \
	X(detect_tls_share_evicted) /* its source held its share */       \
	X(detect_tls_pool_full)     /* none for a Certificate message */  \
	X(detect_inspect_limit)     /* PCRE2 / inspection limit reached */\
	X(detect_pcre_runs)         /* buffer inspections run */          \
	X(detect_threshold_suppressed) /* matches threshold kept quiet */ \
	X(detect_threshold_evicted) /* threshold entries evicted (full) */\
	X(detect_xbits_evicted)     /* live xbits pushed out (full) */    \
	X(detect_xbits_unreadable)  /* xbits kept mid-write: undecided */

#define IPS_COUNTERS_VERDICT(X)                                          \
	X(verdict_alerts)                                                 \
	X(verdict_rejects)                                                \
	X(verdict_rst_sent)                                               \
	X(verdict_block_pages)    /* HTTP 403 sent to the client */      \
	X(verdict_alerts_truncated) /* > DETECT_RESULT_MAX in a packet */\
	X(drop_rule)              /* a drop/reject rule matched */       \
	/* inspection could not complete, policy.detect_error = "drop" */   \
	X(drop_detect_scan_error)     /* Hyperscan returned an error */    \
	X(drop_detect_body_pool_full) /* no body stream for a request */   \
	X(drop_detect_raw_pool_full)  /* no raw stream for a TCP flow */   \
	X(drop_detect_inspect_limit)  /* a PCRE2 or inspection limit */    \
	X(drop_detect_tls_pool_full)  /* no buffer for a certificate */    \
	X(drop_detect_response)       /* a response not inspectable */     \
	X(drop_detect_decode)         /* a coded body not decodable */     \
	/* ... = "bypass": forwarded uninspected (not drops) */            \
	X(bypass_detect_scan_error)                                        \
	X(bypass_detect_body_pool_full)                                    \
	X(bypass_detect_raw_pool_full)                                     \
	X(bypass_detect_inspect_limit)                                     \
	X(bypass_detect_tls_pool_full)                                     \
	X(bypass_detect_response)                                          \
	X(bypass_detect_decode)                                            \
	X(eve_ring_full)          /* alert record lost, never blocks */

#define IPS_COUNTERS(X)          \
	IPS_COUNTERS_WORKER(X)   \
	IPS_COUNTERS_PORT(X)     \
	IPS_COUNTERS_DECODE(X)   \
	IPS_COUNTERS_L3(X)       \
	IPS_COUNTERS_FLOW(X)     \
	IPS_COUNTERS_STREAM(X)   \
	IPS_COUNTERS_HTTP(X)     \
	IPS_COUNTERS_DETECT(X)   \
	IPS_COUNTERS_VERDICT(X)

#endif /* IPS_COUNTERS_H */
