int secagg_vec_check(const void *vec, size_t m, int bits);
int secagg_vec_add(void *acc, const void *x, size_t m, int bits);
int secagg_vec_sub(void *acc, const void *x, size_t m, int bits);
int secagg_mask_apply(int impl, void *vec, size_t m, int bits, const uint8_t *keys, size_t nkeys,
                      const int8_t *signs);
int secagg_mask_apply_at(int impl, void *vec, size_t m, int bits, const uint8_t *keys,
                         size_t nkeys, const int8_t *signs, uint64_t first_block);
int secagg_mask_add_streams(void *vec, size_t m, int bits, const uint8_t *ks, size_t kslen,
                            const int8_t *signs, size_t nstreams);
