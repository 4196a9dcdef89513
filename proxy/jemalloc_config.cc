// jemalloc's settings for the reflex program, read by jemalloc as it
// starts. Dirty pages (freed, still resident) are purged once unused for
// a second, when the runtime's housekeeping asks every second
// (proxy/heap.h); no muzzy stage (MADV_FREE pages still count as
// resident until the kernel wants them, so they would not look given
// back). No background thread: the housekeeping is the clock.
extern "C" {
__attribute__((used)) const char* malloc_conf = "dirty_decay_ms:1000,muzzy_decay_ms:0";
}
