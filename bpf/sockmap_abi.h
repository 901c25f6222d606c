/* The one ABI shared by the sockmap BPF program (sockmap.bpf.c) and user space
 * (src/sockmap/). Plain C, fixed-size types, no padding holes: both compilers must agree on
 * every offset. Keys of every map are the socket cookie of the *receiving* socket, so one
 * direction of a connection (src -> dst) is named by cookie(src). */
#ifndef RINGLB_SOCKMAP_ABI_H
#define RINGLB_SOCKMAP_ABI_H

#ifdef __cplusplus
#include <cstdint>
typedef std::uint32_t ringlb_u32;
typedef std::uint64_t ringlb_u64;
#else
typedef __u32 ringlb_u32;
typedef __u64 ringlb_u64;
#endif

/* Map names, as the object file declares them. */
#define RINGLB_MAP_PEERS "peers"       /* SOCKHASH: cookie(src) -> dst socket */
#define RINGLB_MAP_CONTROL "control"   /* HASH: cookie(src) -> struct ringlb_dir_control */
#define RINGLB_MAP_STATE "state"       /* HASH: cookie(src) -> struct ringlb_dir_state */
#define RINGLB_MAP_NOTICES "notices"   /* ARRAY_OF_MAPS: worker id -> RINGBUF of ringlb_notice */
#define RINGLB_MAP_NOTICES_LOST "notices_lost"  /* ARRAY: worker id -> notices that found the
                                                    worker's ring full (u64) */
#define RINGLB_PROG_VERDICT "ringlb_verdict"

/* Written by user space only (whole-value updates; the map is not preallocated, so the program
 * always sees one complete version). */
struct ringlb_dir_control {
  ringlb_u64 user_read;   /* bytes user space read from src while paused and wrote to dst */
  ringlb_u32 resume;      /* the pause epoch user space asks to end (see ringlb_dir_state) */
  ringlb_u32 lag_limit;   /* bytes redirected and not yet acknowledged by dst's peer (in the
                             psock backlog or dst's send queue): pause above it */
  ringlb_u32 worker;      /* which worker to tell (index into notices and notices_lost) */
  ringlb_u32 tag;         /* the worker's name for this direction, handed back in notices */
};

/* What the program tells a worker, through the worker's ring, when a direction pauses or
 * breaks: the worker then looks at that direction's state instead of at every direction's.
 * A notice that finds the ring full is counted in notices_lost instead, and the worker looks
 * at all of its directions. */
struct ringlb_notice {
  ringlb_u64 cookie;  /* the direction (cookie of its source socket) */
  ringlb_u32 tag;     /* ringlb_dir_control.tag */
  ringlb_u32 pad;
};

/* Bytes of each worker's notice ring (a power of 2, a multiple of the page size): about 2,700
 * notices (24 bytes each with the ring's header) between two of the worker's looks. */
#define RINGLB_NOTICE_RING_BYTES 65536

/* Written by the program only. The verdict program runs serialized per receiving socket (under
 * its socket lock), so plain increments are safe; user space only reads. */
struct ringlb_dir_state {
  ringlb_u64 bytes;        /* redirected to dst */
  ringlb_u64 packets;      /* skbs redirected */
  ringlb_u64 passed;       /* bytes left to user space while paused */
  ringlb_u64 base_bytes;   /* `bytes` when the lag accounting was (re)based */
  ringlb_u32 base_una;     /* dst's snd_una at that moment */
  ringlb_u32 base_queued;  /* dst's write_seq - snd_una then: bytes it still had to deliver */
  ringlb_u32 paused;       /* 1: redirecting stopped; the skbs stay on src for user space */
  ringlb_u32 epoch;        /* pauses so far; the current pause is number `epoch` */
  ringlb_u64 trimmed;      /* bytes cut from the head of skbs that repeated bytes already
                              handed on (a retransmission overlapping what src had received) */
  ringlb_u32 next_seq;     /* src's TCP sequence number of the next byte not yet handed on */
  ringlb_u32 seq_known;    /* 1: next_seq is set (from src's copied_seq at the first skb) */
  ringlb_u32 broken;       /* 1: an overlap could not be cut; user space must reset */
  ringlb_u32 lag_bound;    /* at least the bytes redirected and not yet acknowledged by dst's
                              peer: the lag when last computed plus what was redirected since */
};

#endif
