#define SECAGG_OK 0
#define SECAGG_ERR_NULL -1
#define SECAGG_ERR_LENGTH -2
#define SECAGG_ERR_BITS -3
#define SECAGG_ERR_RANGE -4
#define SECAGG_ERR_IMPL -5
#define SECAGG_ERR_DUPLICATE_X -6
#define SECAGG_ERR_ZERO_X -7
#define SECAGG_ERR_THRESHOLD -8
#define SECAGG_ERR_TOO_FEW -9
#define SECAGG_ERR_DECODE -10
#define SECAGG_ERR_PADDING -11
#define SECAGG_ERR_OVERFLOW -12
#define SECAGG_ERR_NOMEM -13
#define SECAGG_ERR_CHUNK -14
#define SECAGG_ERR_ARG -15

const char *secagg_strerror(int code);
const char *secagg_version(void);
const char *secagg_build_hash(void);
