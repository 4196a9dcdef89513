// jemalloc's settings for the reflex program, read by jemalloc as it
// starts (the program's definition of malloc_conf overrides the
// library's). Between the housekeeping's purges (every second, of every
// unused dirty page: proxy/heap.h) jemalloc's own decay returns dirty
// pages unused for about a second as it allocates; no muzzy stage
// (MADV_FREE pages still count as resident until the kernel wants them,
// so they would not look given back). No background thread: the
// housekeeping is the clock.
extern "C" {
__attribute__((used)) const char* malloc_conf = "dirty_decay_ms:1000,muzzy_decay_ms:0";
}
