/* DPDK's per-packet API is static inline in its headers, so Rust cannot link
 * it; each function here is a one-line real function around one of them. */
#include <rte_config.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>
#include "shim.h"

uint16_t weir_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(port, queue, pkts, n);
}

struct rte_mbuf *weir_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

void weir_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

uint16_t weir_mbuf_refcnt_read(const struct rte_mbuf *m)
{
	return rte_mbuf_refcnt_read(m);
}

uint16_t weir_mbuf_refcnt_update(struct rte_mbuf *m, int16_t value)
{
	return rte_mbuf_refcnt_update(m, value);
}

const uint8_t *weir_mbuf_data(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const uint8_t *);
}

uint16_t weir_mbuf_data_len(const struct rte_mbuf *m)
{
	return rte_pktmbuf_data_len(m);
}

uint32_t weir_mbuf_pkt_len(const struct rte_mbuf *m)
{
	return rte_pktmbuf_pkt_len(m);
}

uint16_t weir_mbuf_nb_segs(const struct rte_mbuf *m)
{
	return m->nb_segs;
}

uint64_t weir_mbuf_ol_flags(const struct rte_mbuf *m)
{
	return m->ol_flags;
}

uint64_t weir_mbuf_dynfield_u64(const struct rte_mbuf *m, int offset)
{
	return *RTE_MBUF_DYNFIELD(m, offset, const uint64_t *);
}

uint32_t weir_mbuf_rss_hash(const struct rte_mbuf *m)
{
	return m->hash.rss;
}

char *weir_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_append(m, len);
}

unsigned int weir_ring_enqueue(struct rte_ring *r, void *obj)
{
	return rte_ring_enqueue(r, obj) == 0;
}

unsigned int weir_ring_dequeue(struct rte_ring *r, void **obj)
{
	return rte_ring_dequeue(r, obj) == 0;
}

unsigned int weir_ring_count(const struct rte_ring *r)
{
	return rte_ring_count(r);
}

unsigned int weir_lcore_id(void)
{
	return rte_lcore_id();
}

uint64_t weir_rdtsc(void)
{
	return rte_rdtsc();
}

int weir_errno(void)
{
	return rte_errno;
}
