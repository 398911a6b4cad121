/* Run-time CPU feature detection for the keystream implementations. */
#ifndef SECAGG_CPU_H
#define SECAGG_CPU_H

/* Feature bits reported by secagg_cpu_features(). */
#define SECAGG_CPU_AESNI   0x01u  /* AES-NI + SSSE3 + SSE4.1, OS saves xmm state */
#define SECAGG_CPU_VAES256 0x02u  /* VAES + AVX2, OS saves ymm state */
#define SECAGG_CPU_VAES512 0x04u  /* VAES + AVX-512 F/BW, OS saves zmm/opmask state */

/* Returns the feature bits of the running CPU (cpuid + xgetbv), computed once
 * and cached; 0 on non-x86 targets. */
unsigned secagg_cpu_features(void);

#endif
