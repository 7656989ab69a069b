/* The table core of the compiled build's RTP flow index (_flowindex.c, which includes it and
   holds the Python type): slots, the keyed hash, probing, growth and deletion. Open
   addressing with linear probing in a power-of-two array of slots at most half full;
   deletion shifts the following slots of the cluster back (no tombstones). */

#ifndef CALLSIFT_FLOWINDEX_TABLE_H
#define CALLSIFT_FLOWINDEX_TABLE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define KEY_LEN 12             /* src ip (4), dst ip (4), sport (2), dport (2) */
#define HASH_KEY_LEN 16
#define MIN_SLOTS 64

typedef struct {
    uint32_t k[3];             /* the key's bytes */
    uint32_t pad;
    PyObject *value;           /* NULL: free slot */
    const void *hint;          /* an address prefetch() requests with the flow's; only an
                                  address: never read, holds no reference */
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    size_t mask;               /* slots - 1 */
    Py_ssize_t len;
    uint64_t seed[2];
} FlowIndex;

/* 64x64 -> 128-bit multiply folded to 64 bits (the wyhash mix) */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t m = (__uint128_t)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

static inline size_t home(const FlowIndex *self, const uint32_t *k)
{
    uint64_t lo = ((uint64_t)k[1] << 32) | k[0];
    uint64_t h = mix(lo ^ self->seed[0], (uint64_t)k[2] ^ self->seed[1]);
    return (size_t)mix(h ^ 0x9E3779B97F4A7C15ull, self->seed[0] ^ 0xBF58476D1CE4E5B9ull)
           & self->mask;
}

static inline int same(const uint32_t *a, const uint32_t *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

/* The slot holding ``k``, or the free slot ending its probe sequence from ``i`` (its home). */
static inline Slot *probe_from(const FlowIndex *self, const uint32_t *k, size_t i)
{
    for (;;) {
        Slot *s = &self->slots[i];
        if (s->value == NULL || same(s->k, k))
            return s;
        i = (i + 1) & self->mask;
    }
}

static inline Slot *probe(const FlowIndex *self, const uint32_t *k)
{
    return probe_from(self, k, home(self, k));
}

static int resize(FlowIndex *self, size_t n)
{
    Slot *old = self->slots;
    size_t old_n = self->mask + 1;
    Slot *fresh = PyMem_Calloc(n, sizeof(Slot));
    if (fresh == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->slots = fresh;
    self->mask = n - 1;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].value != NULL)
            *probe(self, old[i].k) = old[i];
    }
    PyMem_Free(old);
    return 0;
}

static int not_bytes(PyObject *key)
{
    PyErr_Format(PyExc_TypeError, "flow key must be bytes, not %.100s", Py_TYPE(key)->tp_name);
    return -1;
}

/* A key to store: exactly KEY_LEN bytes. */
static int key_of(PyObject *key, uint32_t *k)
{
    if (!PyBytes_Check(key))
        return not_bytes(key);
    if (PyBytes_GET_SIZE(key) != KEY_LEN) {
        PyErr_Format(PyExc_ValueError, "flow key must be %d bytes, got %zd", KEY_LEN,
                     PyBytes_GET_SIZE(key));
        return -1;
    }
    memcpy(k, PyBytes_AS_STRING(key), KEY_LEN);
    return 0;
}

/* A key to look up: ``*out`` is its slot, found or free, or NULL for a key of another length
   (an IPv6 flow's: never held, absent as from a dict). */
static int slot_of(FlowIndex *self, PyObject *key, Slot **out)
{
    if (!PyBytes_Check(key))
        return not_bytes(key);
    *out = NULL;
    if (PyBytes_GET_SIZE(key) == KEY_LEN) {
        uint32_t k[3];
        memcpy(k, PyBytes_AS_STRING(key), KEY_LEN);
        *out = probe(self, k);
    }
    return 0;
}

static inline int held(const Slot *s) { return s != NULL && s->value != NULL; }

/* Empty slot ``s`` and close the gap it leaves in its cluster. */
static void remove_slot(FlowIndex *self, Slot *s)
{
    size_t i = (size_t)(s - self->slots);
    size_t j = i;
    for (;;) {
        j = (j + 1) & self->mask;
        Slot *t = &self->slots[j];
        if (t->value == NULL)
            break;
        size_t h = home(self, t->k);
        /* t stays when its home lies cyclically in (i, j]: moving it to i would put it
           before its home */
        int stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (!stays) {
            self->slots[i] = *t;
            i = j;
        }
    }
    self->slots[i].value = NULL;
    self->len--;
}

#endif
