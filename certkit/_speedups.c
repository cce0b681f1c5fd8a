/*
 * Optional C accelerator for certkit's key derivations.
 *
 * - Java's PBEWithMD5AndTripleDES (JCEKS) hashes `digest || password` with MD5 once per
 *   iteration (200,000 by default in keytool). In Python the loop costs ~0.4 us per round
 *   in interpreter overhead alone; here it is the MD5 itself. MD5 follows RFC 1321.
 * - PBKDF2-HMAC-SHA256 and the PKCS#12 KDF with SHA-256 (RFC 8018, RFC 7292 B.2): what
 *   every modern PFX file costs to open (three derivations of 2,048 rounds for OpenSSL's
 *   defaults). Through OpenSSL each round pays for its EVP layer (context copies, final
 *   padding, cleansing); here a round is one (PKCS#12) or two (HMAC) bare SHA-256
 *   compressions of a block prepared once, with the x86 SHA extensions. Where the CPU
 *   lacks them (or this is not x86-64 built by GCC or Clang) sha256_ni() is False and
 *   certkit keeps using OpenSSL.
 *
 * certkit works without this module (pure Python and OpenSSL fall back); the tests check
 * that every path gives the same bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint32_t md5_k[64];
static const uint8_t md5_shift[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static void md5_init_table(void)
{
    /* RFC 1321: K[i] is the integer part of 2^32 * |sin(i + 1)|. */
    for (int i = 0; i < 64; i++) {
        md5_k[i] = (uint32_t)(fabs(sin((double)(i + 1))) * 4294967296.0);
    }
}

static inline uint32_t rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void md5_block(uint32_t state[4], const uint8_t block[64])
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++) {
        m[i] = (uint32_t)block[i * 4] | ((uint32_t)block[i * 4 + 1] << 8) |
               ((uint32_t)block[i * 4 + 2] << 16) | ((uint32_t)block[i * 4 + 3] << 24);
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    /* Four rounds of sixteen steps, each step: a = b + rotl(a + f + K[i] + m[g], s[i]),
       then the registers rotate. Separate loops keep the round choice out of the loop. */
#define MD5_STEP(F, G)                                                      \
    do {                                                                    \
        uint32_t sum = a + (F) + md5_k[i] + m[(G)];                         \
        a = d;                                                              \
        d = c;                                                              \
        c = b;                                                              \
        b = b + rotl(sum, md5_shift[i]);                                    \
    } while (0)
    int i = 0;
    for (; i < 16; i++) MD5_STEP((b & c) | (~b & d), i);
    for (; i < 32; i++) MD5_STEP((d & b) | (~d & c), (5 * i + 1) % 16);
    for (; i < 48; i++) MD5_STEP(b ^ c ^ d, (3 * i + 5) % 16);
    for (; i < 64; i++) MD5_STEP(c ^ (b | ~d), (7 * i) % 16);
#undef MD5_STEP
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

/* MD5 of `len` bytes at `data` into `out` (16 bytes). */
static void md5(const uint8_t *data, size_t len, uint8_t out[16])
{
    uint32_t state[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
    size_t full = len / 64;
    for (size_t i = 0; i < full; i++) {
        md5_block(state, data + i * 64);
    }
    uint8_t tail[128];
    size_t rest = len - full * 64;
    memcpy(tail, data + full * 64, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
    memset(tail + rest + 1, 0, tail_len - rest - 1);
    uint64_t bits = (uint64_t)len * 8u;
    for (int i = 0; i < 8; i++) {
        tail[tail_len - 8 + i] = (uint8_t)(bits >> (8 * i));
    }
    md5_block(state, tail);
    if (tail_len == 128) {
        md5_block(state, tail + 64);
    }
    for (int i = 0; i < 4; i++) {
        out[i * 4] = (uint8_t)state[i];
        out[i * 4 + 1] = (uint8_t)(state[i] >> 8);
        out[i * 4 + 2] = (uint8_t)(state[i] >> 16);
        out[i * 4 + 3] = (uint8_t)(state[i] >> 24);
    }
}

/* One half of the derivation: value = MD5(value || password), `iterations` times. */
static void iterate(const uint8_t *start, size_t start_len, const uint8_t *password,
                    size_t password_len, unsigned long iterations, uint8_t *buffer,
                    uint8_t out[16])
{
    memcpy(buffer, start, start_len);
    memcpy(buffer + start_len, password, password_len);
    md5(buffer, start_len + password_len, out);
    if (iterations > 1 && 16 + password_len <= 55) {
        /* Every later message is one padded block: build it once, then only the first
           16 bytes (the previous digest) change from one iteration to the next. */
        uint8_t block[64];
        memset(block, 0, sizeof block);
        memcpy(block + 16, password, password_len);
        block[16 + password_len] = 0x80;
        uint64_t bits = (uint64_t)(16 + password_len) * 8u;
        for (int i = 0; i < 8; i++) {
            block[56 + i] = (uint8_t)(bits >> (8 * i));
        }
        for (unsigned long j = 1; j < iterations; j++) {
            memcpy(block, out, 16);
            uint32_t state[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
            md5_block(state, block);
            for (int i = 0; i < 4; i++) {
                out[i * 4] = (uint8_t)state[i];
                out[i * 4 + 1] = (uint8_t)(state[i] >> 8);
                out[i * 4 + 2] = (uint8_t)(state[i] >> 16);
                out[i * 4 + 3] = (uint8_t)(state[i] >> 24);
            }
        }
    } else if (iterations > 1) {
        memcpy(buffer + 16, password, password_len);
        for (unsigned long j = 1; j < iterations; j++) {
            memcpy(buffer, out, 16);
            md5(buffer, 16 + password_len, out);
        }
    }
}

/* Iteration counts are taken as Py_ssize_t and bounded: a C unsigned long would silently
   wrap a negative or huge count into a loop that runs for hours without the GIL. certkit
   itself checks tighter limits before calling. */
#define MAX_ITERATIONS 100000000

static PyObject *jce_derive(PyObject *self, PyObject *args)
{
    Py_buffer password, first, second;
    Py_ssize_t iterations;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*n", &password, &first, &second, &iterations)) {
        return NULL;
    }
    PyObject *result = NULL;
    uint8_t *buffer = NULL;
    if (iterations < 1 || iterations > MAX_ITERATIONS || first.len > 64 || second.len > 64
            || password.len > (1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "iterations must be 1 to 100,000,000 and the salt "
                        "halves at most 64 bytes");
        goto done;
    }
    size_t longest = (size_t)(first.len > second.len ? first.len : second.len);
    if (longest < 16) {
        longest = 16;
    }
    buffer = PyMem_Malloc(longest + (size_t)password.len);
    if (buffer == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    uint8_t derived[32];
    Py_BEGIN_ALLOW_THREADS
    iterate(first.buf, (size_t)first.len, password.buf, (size_t)password.len,
            (unsigned long)iterations, buffer, derived);
    iterate(second.buf, (size_t)second.len, password.buf, (size_t)password.len,
            (unsigned long)iterations, buffer, derived + 16);
    Py_END_ALLOW_THREADS
    result = PyBytes_FromStringAndSize((const char *)derived, 32);
done:
    PyMem_Free(buffer);
    PyBuffer_Release(&password);
    PyBuffer_Release(&first);
    PyBuffer_Release(&second);
    return result;
}

static PyObject *md5_digest(PyObject *self, PyObject *args)
{
    Py_buffer data;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*", &data)) {
        return NULL;
    }
    uint8_t out[16];
    md5(data.buf, (size_t)data.len, out);
    PyBuffer_Release(&data);
    return PyBytes_FromStringAndSize((const char *)out, 16);
}

/* ---- SHA-256 (FIPS 180-4) with the x86 SHA extensions ------------------------------- */

static const uint32_t sha256_iv[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

/* The SHA intrinsics need GCC 4.9 or Clang 4 on x86-64; anything else gets the stubs
   below, and the MD5 code above still builds. */
#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 4) \
    || (!defined(__clang__) && defined(__GNUC__) \
        && (__GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 9))))
#define CERTKIT_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>

static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u,
    0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
    0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u,
    0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
    0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au,
    0x5b9cca4fu, 0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* Whether the CPU has the SHA extensions and the SSSE3/SSE4.1 shuffles they come with. */
static int sha_ni_present(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19))) {
        return 0;
    }
    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1u;
}

/* The SHA instructions keep the state as two vectors, ABEF and CDGH; messages and
   digests are words in order (lane 0 = word 0), i.e. DCBA and HGFE. */
#define SHA_NI __attribute__((target("sha,sse4.1,ssse3"), always_inline)) static inline

SHA_NI void to_sha_form(__m128i dcba, __m128i hgfe, __m128i *abef, __m128i *cdgh)
{
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    *abef = _mm_alignr_epi8(cdab, efgh, 8);
    *cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

SHA_NI void to_word_form(__m128i abef, __m128i cdgh, __m128i *dcba, __m128i *hgfe)
{
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    *dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    *hgfe = _mm_alignr_epi8(dchg, feba, 8);
}

/* The 64 rounds of one block whose 16 message words are m0..m3, added into the state.
   Each step does four rounds and derives the next four words from the previous sixteen
   (msg1 and msg2 are the sigma terms); w[g & 3] holds W(g-4), then W(g-3), W(g-2), W(g-1)
   around the ring. Unrolled, everything stays in registers. */
SHA_NI void sha256_rounds(__m128i *abef, __m128i *cdgh, __m128i m0, __m128i m1, __m128i m2,
                          __m128i m3)
{
    __m128i state0 = *abef, state1 = *cdgh;
    __m128i w[4] = {m0, m1, m2, m3};
#if defined(__clang__) || __GNUC__ >= 8
#pragma GCC unroll 16
#endif
    for (int g = 0; g < 16; g++) {
        if (g >= 4) {
            __m128i words = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
            words = _mm_add_epi32(words, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
            w[g & 3] = _mm_sha256msg2_epu32(words, w[(g + 3) & 3]);
        }
        __m128i k = _mm_add_epi32(w[g & 3], _mm_load_si128((const __m128i *)&sha256_k[4 * g]));
        state1 = _mm_sha256rnds2_epu32(state1, state0, k);
        k = _mm_shuffle_epi32(k, 0x0E);
        state0 = _mm_sha256rnds2_epu32(state0, state1, k);
    }
    *abef = _mm_add_epi32(*abef, state0);
    *cdgh = _mm_add_epi32(*cdgh, state1);
}

SHA_NI __m128i load_be(const uint8_t *data)
{
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)data), byteswap);
}

SHA_NI void store_be_vec(uint8_t *out, __m128i words)
{
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(words, byteswap));
}

/* Compress `blocks` 64-byte blocks into `state` (a..h). */
__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks)
{
    __m128i abef, cdgh;
    to_sha_form(_mm_loadu_si128((const __m128i *)&state[0]),
                _mm_loadu_si128((const __m128i *)&state[4]), &abef, &cdgh);
    for (; blocks; blocks--, data += 64) {
        sha256_rounds(&abef, &cdgh, load_be(data), load_be(data + 16), load_be(data + 32),
                      load_be(data + 48));
    }
    __m128i dcba, hgfe;
    to_word_form(abef, cdgh, &dcba, &hgfe);
    _mm_storeu_si128((__m128i *)&state[0], dcba);
    _mm_storeu_si128((__m128i *)&state[4], hgfe);
}

/* The padding words of a 32-byte message after `prefix_bytes` already compressed. */
SHA_NI void tail_words(uint64_t prefix_bytes, __m128i *m2, __m128i *m3)
{
    uint64_t bits = (prefix_bytes + 32u) * 8u;
    *m2 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    *m3 = _mm_set_epi32((int)(uint32_t)bits, (int)(uint32_t)(bits >> 32), 0, 0);
}

/* PBKDF2's rounds 2..n for one block: u = HMAC(u) with the key's inner and outer states
   already compressed, t ^= u each time. u and t are 32-byte digests in and out. */
__attribute__((target("sha,sse4.1,ssse3")))
static void hmac_sha256_rounds(const uint32_t inner[8], const uint32_t outer[8], uint8_t u[32],
                               uint8_t t[32], unsigned long rounds)
{
    __m128i in_abef, in_cdgh, out_abef, out_cdgh, m2, m3;
    to_sha_form(_mm_loadu_si128((const __m128i *)&inner[0]),
                _mm_loadu_si128((const __m128i *)&inner[4]), &in_abef, &in_cdgh);
    to_sha_form(_mm_loadu_si128((const __m128i *)&outer[0]),
                _mm_loadu_si128((const __m128i *)&outer[4]), &out_abef, &out_cdgh);
    tail_words(64, &m2, &m3);
    __m128i u_lo = load_be(u), u_hi = load_be(u + 16);
    __m128i t_lo = load_be(t), t_hi = load_be(t + 16);
    for (unsigned long j = 0; j < rounds; j++) {
        __m128i abef = in_abef, cdgh = in_cdgh;
        sha256_rounds(&abef, &cdgh, u_lo, u_hi, m2, m3);
        to_word_form(abef, cdgh, &u_lo, &u_hi);
        abef = out_abef;
        cdgh = out_cdgh;
        sha256_rounds(&abef, &cdgh, u_lo, u_hi, m2, m3);
        to_word_form(abef, cdgh, &u_lo, &u_hi);
        t_lo = _mm_xor_si128(t_lo, u_lo);
        t_hi = _mm_xor_si128(t_hi, u_hi);
    }
    store_be_vec(u, u_lo);
    store_be_vec(u + 16, u_hi);
    store_be_vec(t, t_lo);
    store_be_vec(t + 16, t_hi);
}

/* a = SHA-256(a), `rounds` times (the PKCS#12 KDF's iterations). */
__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_rehash(uint8_t a[32], unsigned long rounds)
{
    __m128i iv_abef, iv_cdgh, m2, m3;
    to_sha_form(_mm_loadu_si128((const __m128i *)&sha256_iv[0]),
                _mm_loadu_si128((const __m128i *)&sha256_iv[4]), &iv_abef, &iv_cdgh);
    tail_words(0, &m2, &m3);
    __m128i lo = load_be(a), hi = load_be(a + 16);
    for (unsigned long j = 0; j < rounds; j++) {
        __m128i abef = iv_abef, cdgh = iv_cdgh;
        sha256_rounds(&abef, &cdgh, lo, hi, m2, m3);
        to_word_form(abef, cdgh, &lo, &hi);
    }
    store_be_vec(a, lo);
    store_be_vec(a + 16, hi);
}
#else
static int sha_ni_present(void) { return 0; }
/* Never called where sha_ni_present() is 0: every entry point checks need_sha_ni(). */
static void sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks)
{
    (void)state; (void)data; (void)blocks;
}
static void hmac_sha256_rounds(const uint32_t inner[8], const uint32_t outer[8], uint8_t u[32],
                               uint8_t t[32], unsigned long rounds)
{
    (void)inner; (void)outer; (void)u; (void)t; (void)rounds;
}
static void sha256_rehash(uint8_t a[32], unsigned long rounds)
{
    (void)a; (void)rounds;
}
#endif

static int sha_ni = 0;

/* Zero a buffer that held key material, in a way the compiler may not drop. */
static void wipe(void *buffer, size_t size)
{
    volatile uint8_t *bytes = buffer;
    while (size--) {
        *bytes++ = 0;
    }
}

typedef struct {
    uint32_t h[8];
    uint8_t buffer[64];
    size_t used;
    uint64_t total;
} sha256_ctx;

static void sha256_start(sha256_ctx *ctx, const uint32_t state[8], uint64_t already)
{
    memcpy(ctx->h, state, sizeof ctx->h);
    ctx->used = 0;
    ctx->total = already;
}

static void sha256_update(sha256_ctx *ctx, const uint8_t *data, size_t size)
{
    ctx->total += size;
    if (ctx->used) {
        size_t take = 64 - ctx->used < size ? 64 - ctx->used : size;
        memcpy(ctx->buffer + ctx->used, data, take);
        ctx->used += take;
        data += take;
        size -= take;
        if (ctx->used < 64) {
            return;
        }
        sha256_blocks(ctx->h, ctx->buffer, 1);
        ctx->used = 0;
    }
    if (size >= 64) {
        sha256_blocks(ctx->h, data, size / 64);
        data += size & ~(size_t)63;
        size &= 63;
    }
    memcpy(ctx->buffer, data, size);
    ctx->used = size;
}

static void store_be(uint8_t *out, const uint32_t *words, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        out[4 * i] = (uint8_t)(words[i] >> 24);
        out[4 * i + 1] = (uint8_t)(words[i] >> 16);
        out[4 * i + 2] = (uint8_t)(words[i] >> 8);
        out[4 * i + 3] = (uint8_t)words[i];
    }
}

static void sha256_finish(sha256_ctx *ctx, uint8_t out[32])
{
    static const uint8_t padding[64] = {0x80};
    uint8_t length[8];
    uint64_t bits = ctx->total * 8u;
    for (int i = 0; i < 8; i++) {
        length[i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    sha256_update(ctx, padding, ctx->used < 56 ? 56 - ctx->used : 120 - ctx->used);
    sha256_update(ctx, length, 8);
    store_be(out, ctx->h, 8);
}

/* PBKDF2 with HMAC-SHA256 (RFC 8018 section 5.2; HMAC per RFC 2104). */
static void pbkdf2_sha256_run(const uint8_t *password, size_t password_len,
                              const uint8_t *salt, size_t salt_len, unsigned long iterations,
                              uint8_t *out, size_t length)
{
    uint8_t key[64] = {0}, pad[64], u[32], t[32], counter[4];
    uint32_t inner[8], outer[8];
    sha256_ctx ctx;
    if (password_len > 64) {
        sha256_start(&ctx, sha256_iv, 0);
        sha256_update(&ctx, password, password_len);
        sha256_finish(&ctx, key);
    } else {
        memcpy(key, password, password_len);
    }
    for (int i = 0; i < 64; i++) {
        pad[i] = key[i] ^ 0x36;
    }
    memcpy(inner, sha256_iv, sizeof inner);
    sha256_blocks(inner, pad, 1);
    for (int i = 0; i < 64; i++) {
        pad[i] = key[i] ^ 0x5c;
    }
    memcpy(outer, sha256_iv, sizeof outer);
    sha256_blocks(outer, pad, 1);
    for (uint32_t index = 1; length; index++) {
        store_be(counter, &index, 1);
        sha256_start(&ctx, inner, 64);
        sha256_update(&ctx, salt, salt_len);
        sha256_update(&ctx, counter, 4);
        sha256_finish(&ctx, u);
        sha256_start(&ctx, outer, 64);
        sha256_update(&ctx, u, 32);
        sha256_finish(&ctx, u);
        memcpy(t, u, 32);
        hmac_sha256_rounds(inner, outer, u, t, iterations - 1);
        size_t take = length < 32 ? length : 32;
        memcpy(out, t, take);
        out += take;
        length -= take;
    }
    wipe(key, sizeof key);
    wipe(pad, sizeof pad);
    wipe(u, sizeof u);
    wipe(t, sizeof t);
    wipe(inner, sizeof inner);
    wipe(outer, sizeof outer);
    wipe(&ctx, sizeof ctx);
}

/* The PKCS#12 KDF with SHA-256 (RFC 7292 appendix B.2: u = 32, v = 64). `work` holds
   I = S || P, each stretched to a multiple of 64 bytes; `work_len` is its size. */
static void pkcs12_kdf_sha256_run(uint8_t *work, size_t work_len, int purpose,
                                  unsigned long iterations, uint8_t *out, size_t length)
{
    uint8_t diversifier[64], a[32];
    sha256_ctx ctx;
    memset(diversifier, purpose, 64);
    for (;;) {
        sha256_start(&ctx, sha256_iv, 0);
        sha256_update(&ctx, diversifier, 64);
        sha256_update(&ctx, work, work_len);
        sha256_finish(&ctx, a);
        sha256_rehash(a, iterations - 1);
        size_t take = length < 32 ? length : 32;
        memcpy(out, a, take);
        out += take;
        length -= take;
        if (!length) {
            wipe(a, sizeof a);
            wipe(&ctx, sizeof ctx);
            return;
        }
        /* I_j = (I_j + B + 1) mod 2^512 for every 64-byte block of I, B = A || A. */
        for (size_t start = 0; start < work_len; start += 64) {
            unsigned int carry = 1;
            for (int k = 63; k >= 0; k--) {
                carry += (unsigned int)work[start + k] + a[k & 31];
                work[start + k] = (uint8_t)carry;
                carry >>= 8;
            }
        }
    }
}

static int need_sha_ni(void)
{
    if (!sha_ni) {
        PyErr_SetString(PyExc_RuntimeError, "this CPU has no SHA extensions (sha256_ni() is "
                        "False): use another implementation");
        return 0;
    }
    return 1;
}

static PyObject *sha256_ni_available(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyBool_FromLong(sha_ni);
}

static PyObject *sha256_digest(PyObject *self, PyObject *args)
{
    Py_buffer data;
    (void)self;
    if (!need_sha_ni() || !PyArg_ParseTuple(args, "y*", &data)) {
        return NULL;
    }
    uint8_t out[32];
    sha256_ctx ctx;
    sha256_start(&ctx, sha256_iv, 0);
    sha256_update(&ctx, data.buf, (size_t)data.len);
    sha256_finish(&ctx, out);
    PyBuffer_Release(&data);
    return PyBytes_FromStringAndSize((const char *)out, 32);
}

static PyObject *pbkdf2_sha256(PyObject *self, PyObject *args)
{
    Py_buffer password, salt;
    Py_ssize_t iterations, length;
    (void)self;
    if (!need_sha_ni() || !PyArg_ParseTuple(args, "y*y*nn", &password, &salt, &iterations,
                                            &length)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (iterations < 1 || iterations > MAX_ITERATIONS || length < 1 || length > 1024) {
        PyErr_SetString(PyExc_ValueError, "iterations must be 1 to 100,000,000 and length "
                        "1 to 1024");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, length);
    if (result == NULL) {
        goto done;
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    pbkdf2_sha256_run(password.buf, (size_t)password.len, salt.buf, (size_t)salt.len,
                      (unsigned long)iterations, out, (size_t)length);
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&password);
    PyBuffer_Release(&salt);
    return result;
}

static size_t stretched(size_t size)
{
    return (size + 63) / 64 * 64;
}

static PyObject *pkcs12_kdf_sha256(PyObject *self, PyObject *args)
{
    Py_buffer password, salt;
    int purpose;
    Py_ssize_t iterations, length;
    (void)self;
    if (!need_sha_ni() || !PyArg_ParseTuple(args, "y*y*inn", &password, &salt, &purpose,
                                            &iterations, &length)) {
        return NULL;
    }
    PyObject *result = NULL;
    uint8_t *work = NULL;
    size_t salt_part = 0, work_len = 0;
    if (iterations < 1 || iterations > MAX_ITERATIONS || length < 1 || length > 1024
            || purpose < 0 || purpose > 255 || password.len > (1 << 20)
            || salt.len > (1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "iterations must be 1 to 100,000,000, length 1 "
                        "to 1024, purpose a byte, password and salt at most 1 MiB");
        goto done;
    }
    salt_part = stretched((size_t)salt.len);
    work_len = salt_part + stretched((size_t)password.len);
    work = PyMem_Malloc(work_len ? work_len : 1);
    result = work ? PyBytes_FromStringAndSize(NULL, length) : PyErr_NoMemory();
    if (result == NULL) {
        goto done;
    }
    for (size_t i = 0; i < salt_part; i++) {
        work[i] = ((const uint8_t *)salt.buf)[i % (size_t)salt.len];
    }
    for (size_t i = salt_part; i < work_len; i++) {
        work[i] = ((const uint8_t *)password.buf)[(i - salt_part) % (size_t)password.len];
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    pkcs12_kdf_sha256_run(work, work_len, purpose, (unsigned long)iterations, out,
                          (size_t)length);
    Py_END_ALLOW_THREADS
done:
    if (work) {
        wipe(work, work_len ? work_len : 1);
    }
    PyMem_Free(work);
    PyBuffer_Release(&password);
    PyBuffer_Release(&salt);
    return result;
}

static PyMethodDef methods[] = {
    {"jce_derive", jce_derive, METH_VARARGS,
     "jce_derive(password, first, second, iterations) -> 32 bytes: both halves of "
     "PBEWithMD5AndTripleDES, each MD5(value || password) iterated."},
    {"md5", md5_digest, METH_VARARGS, "md5(data) -> 16 bytes (for testing the C MD5)."},
    {"sha256_ni", sha256_ni_available, METH_NOARGS,
     "sha256_ni() -> bool: whether the SHA-256 functions below can run on this CPU."},
    {"sha256", sha256_digest, METH_VARARGS,
     "sha256(data) -> 32 bytes (for testing the SHA-256 below)."},
    {"pbkdf2_sha256", pbkdf2_sha256, METH_VARARGS,
     "pbkdf2_sha256(password, salt, iterations, length) -> bytes: PBKDF2-HMAC-SHA256."},
    {"pkcs12_kdf_sha256", pkcs12_kdf_sha256, METH_VARARGS,
     "pkcs12_kdf_sha256(password, salt, purpose, iterations, length) -> bytes: the "
     "PKCS#12 KDF (RFC 7292 B.2) with SHA-256; password already in BMPString form."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "certkit._speedups",
    "Optional C accelerator for key derivations (JCEKS, PBKDF2-SHA256, PKCS#12 KDF).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    md5_init_table();
    sha_ni = sha_ni_present();
    return PyModule_Create(&module);
}
