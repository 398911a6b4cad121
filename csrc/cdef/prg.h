int secagg_impl_count(void);
const char *secagg_impl_name(int impl);
int secagg_impl_supported(int impl);
int secagg_keystream(int impl, const uint8_t *key, size_t keylen, const uint8_t *counter,
                     size_t counterlen, uint8_t *out, size_t nbytes);
int secagg_expand(int impl, const uint8_t *key, size_t keylen, int bits, void *out, size_t m);
