/* CPU detection: cpuid says what the processor implements, xgetbv says which
 * register state the operating system saves on a context switch. A vector
 * path is usable only when both agree. */
#include <stdatomic.h>

#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned eax, edx;
    /* xgetbv with ecx = 0 (XCR0); encoded as bytes so no target attribute is needed. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static unsigned detect(void) {
    unsigned a, b, c, d;
    unsigned feats = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int has_aes = (c >> 25) & 1, has_ssse3 = (c >> 9) & 1, has_sse41 = (c >> 19) & 1;
    const int has_osxsave = (c >> 27) & 1, has_avx = (c >> 28) & 1;
    if (has_aes && has_ssse3 && has_sse41) feats |= SECAGG_CPU_AESNI;
    if (!has_osxsave) return feats;
    const unsigned long long xcr0 = read_xcr0();
    const int os_ymm = (xcr0 & 0x6) == 0x6;           /* xmm + ymm state */
    const int os_zmm = os_ymm && (xcr0 & 0xe0) == 0xe0; /* opmask + zmm_hi256 + hi16_zmm */
    if (__get_cpuid_max(0, 0) < 7) return feats;
    __cpuid_count(7, 0, a, b, c, d);
    const int has_avx2 = (b >> 5) & 1, has_avx512f = (b >> 16) & 1, has_avx512bw = (b >> 30) & 1;
    const int has_vaes = (c >> 9) & 1;
    if ((feats & SECAGG_CPU_AESNI) && has_avx && has_avx2 && has_vaes && os_ymm)
        feats |= SECAGG_CPU_VAES256;
    if ((feats & SECAGG_CPU_VAES256) && has_avx512f && has_avx512bw && os_zmm)
        feats |= SECAGG_CPU_VAES512;
    return feats;
}
#else
static unsigned detect(void) { return 0; }
#endif

/* Cached result with a "computed" flag in the top bit. Threads racing on the
 * first call all compute and store the same value; the atomic makes that
 * well defined. */
#define DETECTED 0x80000000u
static atomic_uint cached_features;

unsigned secagg_cpu_features(void) {
    unsigned v = atomic_load_explicit(&cached_features, memory_order_relaxed);
    if (!(v & DETECTED)) {
        v = detect() | DETECTED;
        atomic_store_explicit(&cached_features, v, memory_order_relaxed);
    }
    return v & ~DETECTED;
}
