// SPDX-License-Identifier: GPL-2.0
/* ringlb's sockmap fast path: one sk_skb/stream_verdict program that forwards each skb
 * received on a promoted socket out of its peer socket, inside the kernel.
 *
 * Kernel facts it handles (see the kernel data-path findings, section 3):
 *  - a zero-length skb is the bare FIN: redirecting it kills the peer with EPIPE, so drop it
 *    (TCP already processed the FIN; user space forwards it after the backlog drained);
 *  - a lookup miss must be SK_PASS, so bytes stay readable by user space;
 *  - redirected bytes are uncharged from src, so TCP's window never closes: without a bound a
 *    slow reader pins kernel memory without limit. The program pauses a direction once the bytes
 *    redirected and not yet acknowledged by dst's peer (the psock backlog plus dst's send queue)
 *    would exceed lag_limit; while
 *    paused it passes skbs to src (charged there, so the window closes) and user space forwards
 *    them. A pause ends when user space asks for it AND has consumed every passed byte, decided
 *    here at an skb boundary, so bytes can never overtake each other;
 *  - tcp_read_skb(), which feeds this program, hands on whole skbs from src's receive queue, and
 *    TCP queues a retransmitted segment that partly overlaps bytes already received without
 *    trimming its head (tcp_recvmsg and splice skip that head by copied_seq; tcp_read_skb does
 *    not look). Forwarded as is, the overlap reaches dst twice. The program tracks src's next
 *    sequence number itself and cuts such a head off (bpf_skb_adjust_room) before anything else.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "sockmap_abi.h"

char LICENSE[] SEC("license") = "GPL";

/* Redirected bytes after which the lag accounting is rebased (see below): well under the 4 GiB
 * a u32 sequence delta can hold, with lag_limit (at most 1 GiB) on top: the lag is computed,
 * and the rebase checked, at least once per lag_limit bytes. */
#define REBASE_BYTES (1ULL << 30)

/* Only the fields we read; CO-RE relocates their offsets against the running kernel's BTF. */
struct tcp_sock {
  __u32 write_seq;
  __u32 snd_una;
  __u32 copied_seq;
} __attribute__((preserve_access_index));

/* The kernel's skb, for TCP_SKB_CB(skb)->seq: struct tcp_skb_cb starts with the u32 seq. */
struct sk_buff {
  char cb[48];
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* bpf_skb_adjust_room moves at most 0xfff bytes a call on an sk_skb. */
#define TRIM_STEP 4095
/* Calls allowed per skb: 1 MiB, well over any skb TCP builds (64 KiB, or 512 KiB with BIG TCP). */
#define TRIM_STEPS 256

struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, 65536); /* set from max_connections at load */
  __type(key, __u64);
  __type(value, __u64);
} peers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u64);
  __type(value, struct ringlb_dir_control);
} control SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u64);
  __type(value, struct ringlb_dir_state);
} state SEC(".maps");

struct notice_ring {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, RINGLB_NOTICE_RING_BYTES);
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 256); /* set to the worker count at load; user space fills it */
  __type(key, __u32);
  __array(values, struct notice_ring);
} notices SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256); /* set to the worker count at load */
  __type(key, __u32);
  __type(value, __u64);
} notices_lost SEC(".maps");

/* dst's send sequence: write_seq (everything ever queued on it) and snd_una (what its peer
 * acknowledged). */
static __always_inline int peer_seqs(__u64 *cookie, __u32 *write_seq, __u32 *snd_una) {
  struct bpf_sock *sk = bpf_map_lookup_elem(&peers, cookie);
  if (!sk) return -1;
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  int ok = -1;
  if (tp) {
    *write_seq = BPF_CORE_READ(tp, write_seq);
    *snd_una = BPF_CORE_READ(tp, snd_una);
    ok = 0;
  }
  bpf_sk_release(sk);
  return ok;
}

/* Cuts the first n bytes off the skb's payload. */
static __always_inline int trim_head(struct __sk_buff *skb, __u32 n) {
  for (int i = 0; i < TRIM_STEPS && n > 0; i++) {
    const __u32 step = n > TRIM_STEP ? TRIM_STEP : n;
    if (bpf_skb_adjust_room(skb, -(__s32)step, 0, 0) != 0) return -1;
    n -= step;
  }
  return n == 0 ? 0 : -1;
}

/* src's copied_seq: before the first skb reaches the program, the next byte user space would
 * have read. */
static __always_inline int src_copied_seq(struct __sk_buff *skb, __u32 *out) {
  struct bpf_sock *sk = skb->sk;
  if (!sk) return -1;
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  if (!tp) return -1;
  *out = BPF_CORE_READ(tp, copied_seq);
  return 0;
}

/* Tells the direction's worker to look at it: a notice in the worker's ring, which the worker
 * polls (flags 0: the ring wakes its poller only if the worker had read everything before this
 * notice, so a burst of pauses costs one wakeup), or, with the ring full, a count that makes the
 * worker look at every direction at its next tick. */
static __always_inline void tell_worker(__u64 cookie, const struct ringlb_dir_control *ctl) {
  __u32 w = ctl->worker;
  void *ring = bpf_map_lookup_elem(&notices, &w);
  if (ring) {
    struct ringlb_notice n = {.cookie = cookie, .tag = ctl->tag};
    if (bpf_ringbuf_output(ring, &n, sizeof n, 0) == 0) return;
  }
  __u64 *lost = bpf_map_lookup_elem(&notices_lost, &w);
  if (lost) __sync_fetch_and_add(lost, 1);
}

SEC("sk_skb/stream_verdict")
int ringlb_verdict(struct __sk_buff *skb) {
  if (skb->len == 0) return SK_DROP;

  __u64 cookie = bpf_get_socket_cookie(skb);
  struct ringlb_dir_control *ctl = bpf_map_lookup_elem(&control, &cookie);
  struct ringlb_dir_state *st = bpf_map_lookup_elem(&state, &cookie);
  if (!ctl || !st) return SK_PASS;
  if (st->broken) return SK_DROP;  /* the worker resets the connection */

  /* Bytes this skb repeats (see the top): cut them. */
  const struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
  const __u32 seq = *(const __u32 *)&kskb->cb[0];
  if (!st->seq_known) {
    if (src_copied_seq(skb, &st->next_seq) != 0) st->next_seq = seq;
    st->seq_known = 1;
  }
  const __u32 end_seq = seq + skb->len;
  const __s32 repeated = (__s32)(st->next_seq - seq);
  if (repeated > 0) {
    if ((__s32)(end_seq - st->next_seq) <= 0) {  /* all of it: nothing new */
      st->trimmed += skb->len;
      return SK_DROP;
    }
    if (trim_head(skb, (__u32)repeated) != 0) goto broken;
    st->trimmed += (__u32)repeated;
  }
  st->next_seq = end_seq;
  const __u32 len = skb->len;

  /* The common case: redirecting, and even the lag's upper bound leaves room for this skb. The
   * true lag only grows by what is redirected and shrinks as dst's peer acknowledges, so
   * lag_bound (the lag when it was last computed, plus every byte redirected since) is never
   * below it; dst's sequence numbers are read only once the bound nears the limit, about once
   * per lag_limit bytes. */
  if (!st->paused && (__u64)st->lag_bound + len <= ctl->lag_limit) {
    if (bpf_sk_redirect_hash(skb, &peers, &cookie, 0) != SK_PASS) goto pause;
    st->lag_bound += len;
    st->bytes += len;
    st->packets += 1;
    return SK_PASS;
  }

  __u32 write_seq = 0, snd_una = 0;
  const int have_peer = peer_seqs(&cookie, &write_seq, &snd_una) == 0;

  if (st->paused) {
    if (!have_peer || ctl->resume != st->epoch || ctl->user_read != st->passed) goto pass;
    /* User space forwarded every passed byte and asked to resume: rebase the accounting on
     * dst as it is now (everything before this skb is in its send queue). */
    st->paused = 0;
    st->base_bytes = st->bytes;
    st->base_una = snd_una;
    st->base_queued = write_seq - snd_una;
  }
  /* No peer (between the two inserts of a promotion, or while the peer closes): user space
   * takes these bytes, exactly as in a pause. */
  if (!have_peer) goto pause;

  /* Bytes not yet acknowledged by dst's peer: what was queued at the rebase plus what was
   * redirected since, minus what got acknowledged since (u32 deltas wrap correctly). */
  const __u32 acked = snd_una - st->base_una;
  const __s64 lag = (__s64)(st->bytes - st->base_bytes) + st->base_queued - acked;
  if (lag + len > ctl->lag_limit) goto pause;

  if (bpf_sk_redirect_hash(skb, &peers, &cookie, 0) != SK_PASS) goto pause;
  /* snd_una - base_una is a u32 delta: rebase before it could wrap (4 GiB acknowledged), or a
   * long stream would see a false lag and pause. The lag carries over in base_queued. */
  if (st->bytes - st->base_bytes >= REBASE_BYTES) {
    st->base_bytes = st->bytes;
    st->base_una = snd_una;
    st->base_queued = lag > 0 ? (__u32)lag : 0;
  }
  st->lag_bound = (lag > 0 ? (__u32)lag : 0) + len;
  st->bytes += len;
  st->packets += 1;
  return SK_PASS;

pause:
  st->paused = 1;
  st->epoch += 1;
  st->passed += len;
  /* Last: the worker may look at the state as soon as the notice is out, and must find this
   * skb's bytes counted as passed, or it would not take the direction over. */
  tell_worker(cookie, ctl);
  return SK_PASS;

pass:
  st->passed += len;
  return SK_PASS;

broken:
  /* The stream can no longer be forwarded exactly: stop it here, and let the worker reset. */
  st->broken = 1;
  tell_worker(cookie, ctl);
  return SK_DROP;
}
