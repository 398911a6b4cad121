int secagg_packed_size(size_t m, int bits, size_t *out);
int secagg_pack(const void *vec, size_t m, int bits, uint8_t *out, size_t outlen);
int secagg_unpack(const uint8_t *in, size_t inlen, size_t m, int bits, void *vec);
int secagg_unpack_add(const uint8_t *in, size_t inlen, size_t m, int bits, void *acc);
