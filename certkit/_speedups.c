/*
 * Optional C accelerator for certkit: the key derivation of Java's
 * PBEWithMD5AndTripleDES (JCEKS), which hashes `digest || password` with MD5
 * once per iteration (200,000 by default in keytool). In Python the loop costs
 * ~0.4 us per round in interpreter overhead alone; here it is the MD5 itself.
 *
 * certkit works without this module (certkit._javakeys falls back to Python);
 * the tests check that both give the same bytes. MD5 follows RFC 1321.
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

static PyObject *jce_derive(PyObject *self, PyObject *args)
{
    Py_buffer password, first, second;
    unsigned long iterations;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*k", &password, &first, &second, &iterations)) {
        return NULL;
    }
    PyObject *result = NULL;
    uint8_t *buffer = NULL;
    if (iterations < 1 || first.len > 64 || second.len > 64 || password.len > (1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "iterations must be >= 1, salt halves <= 64 bytes");
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
    iterate(first.buf, (size_t)first.len, password.buf, (size_t)password.len, iterations,
            buffer, derived);
    iterate(second.buf, (size_t)second.len, password.buf, (size_t)password.len, iterations,
            buffer, derived + 16);
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

static PyMethodDef methods[] = {
    {"jce_derive", jce_derive, METH_VARARGS,
     "jce_derive(password, first, second, iterations) -> 32 bytes: both halves of "
     "PBEWithMD5AndTripleDES, each MD5(value || password) iterated."},
    {"md5", md5_digest, METH_VARARGS, "md5(data) -> 16 bytes (for testing the C MD5)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "certkit._speedups",
    "Optional C accelerator for JCEKS key derivation.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    md5_init_table();
    return PyModule_Create(&module);
}
