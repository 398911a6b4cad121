#define SECAGG_GF61_ADD 0
#define SECAGG_GF61_SUB 1
#define SECAGG_GF61_MUL 2
#define SECAGG_GF61_INV 3
#define SECAGG_GF61_REDUCE 4
#define SECAGG_GF61_POW 5

int secagg_gf61_vec(int op, const uint64_t *a, const uint64_t *b, uint64_t *out, size_t n);
size_t secagg_shamir_share_size(size_t secret_len);
size_t secagg_shamir_rand_size(size_t secret_len, size_t t);
int secagg_shamir_split(const uint8_t *secrets, const size_t *secret_lens, size_t n_secrets,
                        size_t t, const uint64_t *xs, size_t n_xs,
                        const uint8_t *rand, size_t rand_len,
                        uint8_t *out, size_t out_len);
int secagg_shamir_lagrange_at_zero(const uint64_t *xs, size_t n, uint64_t *out);
int secagg_shamir_reconstruct(const uint64_t *xs, size_t n_shares, size_t t,
                              const uint8_t *shares, size_t shares_len,
                              size_t n_secrets, size_t secret_len,
                              uint8_t *out, size_t out_len);
int secagg_rs_decode(const uint64_t *xs, size_t h, size_t t,
                     const uint8_t *shares, size_t shares_len, size_t secret_len,
                     uint8_t *out, size_t out_len, uint8_t *wrong, size_t wrong_len);
