/* Real functions around DPDK's static-inline fast-path helpers (see shim.c). */
#ifndef WEIR_DPDK_SHIM_H
#define WEIR_DPDK_SHIM_H
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

uint16_t weir_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *weir_pktmbuf_alloc(struct rte_mempool *mp);
void weir_pktmbuf_free(struct rte_mbuf *m);
uint16_t weir_mbuf_refcnt_read(const struct rte_mbuf *m);
uint16_t weir_mbuf_refcnt_update(struct rte_mbuf *m, int16_t value);
const uint8_t *weir_mbuf_data(const struct rte_mbuf *m);
uint16_t weir_mbuf_data_len(const struct rte_mbuf *m);
uint32_t weir_mbuf_pkt_len(const struct rte_mbuf *m);
uint16_t weir_mbuf_nb_segs(const struct rte_mbuf *m);
uint64_t weir_mbuf_ol_flags(const struct rte_mbuf *m);
uint64_t weir_mbuf_dynfield_u64(const struct rte_mbuf *m, int offset);
uint32_t weir_mbuf_rss_hash(const struct rte_mbuf *m);
char *weir_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
unsigned int weir_ring_enqueue(struct rte_ring *r, void *obj);
unsigned int weir_ring_dequeue(struct rte_ring *r, void **obj);
unsigned int weir_ring_count(const struct rte_ring *r);
unsigned int weir_lcore_id(void);
uint64_t weir_rdtsc(void);
int weir_errno(void);

#endif
