/* The compiled build's index of IPv4 RTP flows (sniffer/rtpindex.py says when it is used).

   A mapping from the 12-byte key ``src ip + dst ip + sport + dport`` (``frame[26:38]`` of an
   untagged Ethernet/IPv4/UDP frame) to a flow object, as the pure build's dict is, with two
   things a dict cannot do:

   - ``find(frame)`` looks a frame up by its bytes 26..37 in place: no key object is made,
     and the key is compared where it is stored, in the slot, instead of in a key object
     elsewhere in memory;
   - ``prefetch(packets)`` asks the CPU for the memory the packet loop is about to read for a
     batch of frames (each one's slot, then the first two cache lines of its flow and of the
     object ``hint()`` named for it: the flow's statistics), all at once: with thousands of
     concurrent streams each stream's state is cold at each of its packets, and these misses
     then overlap instead of being paid one after another. It changes nothing, and runs no
     Python code.

   The table itself (slots, probing, growth, deletion) is in _flowindex_table.h. Its hash is
   keyed with 16 random bytes from the caller, so keys chosen by a peer (ports and addresses
   in SDP) cannot be made to collide. */

#include "_flowindex_table.h"

#define FRAME_KEY_OFFSET 26    /* Ethernet (14) + the IPv4 header's first 12 bytes */
#define PREFETCH_BLOCK 64      /* frames whose memory is requested together */

static int check_nargs(const char *name, Py_ssize_t nargs)
{
    if (nargs == 1 || nargs == 2)
        return 0;
    PyErr_Format(PyExc_TypeError, "%s expected 1 or 2 arguments, got %zd", name, nargs);
    return -1;
}

/* -- the mapping protocol ----------------------------------------------------------------- */

static Py_ssize_t fi_len(FlowIndex *self) { return self->len; }

static PyObject *fi_subscript(FlowIndex *self, PyObject *key)
{
    Slot *s;
    if (slot_of(self, key, &s) < 0)
        return NULL;
    if (!held(s)) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return Py_NewRef(s->value);
}

static int fi_ass_subscript(FlowIndex *self, PyObject *key, PyObject *value)
{
    Slot *s;
    if (value == NULL) {
        if (slot_of(self, key, &s) < 0)
            return -1;
        if (!held(s)) {
            PyErr_SetObject(PyExc_KeyError, key);
            return -1;
        }
        PyObject *old = s->value;
        remove_slot(self, s);
        Py_DECREF(old);
        return 0;
    }
    uint32_t k[3];
    if (key_of(key, k) < 0)
        return -1;
    s = probe(self, k);
    if (s->value != NULL) {
        s->hint = NULL;
        Py_SETREF(s->value, Py_NewRef(value));
        return 0;
    }
    if ((size_t)(self->len + 1) * 2 > self->mask + 1) { /* grow first: a failure stores nothing */
        if (resize(self, (self->mask + 1) * 2) < 0)
            return -1;
        s = probe(self, k);
    }
    memcpy(s->k, k, KEY_LEN);
    s->hint = NULL;
    s->value = Py_NewRef(value);
    self->len++;
    return 0;
}

static int fi_contains(FlowIndex *self, PyObject *key)
{
    Slot *s;
    if (slot_of(self, key, &s) < 0)
        return -1;
    return held(s);
}

/* -- methods -------------------------------------------------------------------------------- */

static PyObject *fi_get(FlowIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("get", nargs) < 0)
        return NULL;
    Slot *s;
    if (slot_of(self, args[0], &s) < 0)
        return NULL;
    if (held(s))
        return Py_NewRef(s->value);
    return Py_NewRef(nargs == 2 ? args[1] : Py_None);
}

static PyObject *fi_pop(FlowIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("pop", nargs) < 0)
        return NULL;
    Slot *s;
    if (slot_of(self, args[0], &s) < 0)
        return NULL;
    if (!held(s)) {
        if (nargs == 2)
            return Py_NewRef(args[1]);
        PyErr_SetObject(PyExc_KeyError, args[0]);
        return NULL;
    }
    PyObject *value = s->value; /* the slot's reference passes to the caller */
    remove_slot(self, s);
    return value;
}

static PyObject *fi_values(FlowIndex *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyList_New(self->len);
    if (out == NULL)
        return NULL;
    Py_ssize_t n = 0;
    for (size_t i = 0; i <= self->mask; i++) {
        if (self->slots[i].value != NULL)
            PyList_SET_ITEM(out, n++, Py_NewRef(self->slots[i].value));
    }
    return out;
}

/* The slot holding a key given to hint() or hint_address(), or NULL (absent). */
static int held_slot(FlowIndex *self, const char *name, PyObject *const *args,
                     Py_ssize_t nargs, Py_ssize_t want, Slot **out)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s expected %zd argument%s, got %zd", name, want,
                     want == 1 ? "" : "s", nargs);
        return -1;
    }
    if (slot_of(self, args[0], out) < 0)
        return -1;
    if (!held(*out))
        *out = NULL;
    return 0;
}

static PyObject *fi_hint(FlowIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    Slot *s;
    if (held_slot(self, "hint", args, nargs, 2, &s) < 0)
        return NULL;
    if (s == NULL)
        Py_RETURN_FALSE;
    s->hint = args[1];
    Py_RETURN_TRUE;
}

static PyObject *fi_hint_address(FlowIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    Slot *s;
    if (held_slot(self, "hint_address", args, nargs, 1, &s) < 0)
        return NULL;
    return PyLong_FromVoidPtr(s != NULL ? (void *)s->hint : NULL);
}

static PyObject *fi_find(FlowIndex *self, PyObject *frame)
{
    if (!PyBytes_Check(frame)) {
        PyErr_Format(PyExc_TypeError, "frame must be bytes, not %.100s",
                     Py_TYPE(frame)->tp_name);
        return NULL;
    }
    if (PyBytes_GET_SIZE(frame) < FRAME_KEY_OFFSET + KEY_LEN)
        Py_RETURN_NONE;
    uint32_t k[3];
    memcpy(k, PyBytes_AS_STRING(frame) + FRAME_KEY_OFFSET, KEY_LEN);
    PyObject *value = probe(self, k)->value;
    return Py_NewRef(value != NULL ? value : Py_None);
}

/* The frame of a ``(timestamp, frame)`` item of at least the key's length, else NULL. */
static inline const char *frame_of(PyObject *item)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) < 2)
        return NULL;
    PyObject *frame = PyTuple_GET_ITEM(item, 1);
    if (!PyBytes_Check(frame) || PyBytes_GET_SIZE(frame) < FRAME_KEY_OFFSET + KEY_LEN)
        return NULL;
    return PyBytes_AS_STRING(frame);
}

static void prefetch_block(FlowIndex *self, PyObject **items, Py_ssize_t n)
{
    size_t at[PREFETCH_BLOCK];
    uint32_t keys[PREFETCH_BLOCK][3];
    Py_ssize_t m = 0;
    /* 1: each frame's home slot */
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *frame = frame_of(items[i]);
        if (frame == NULL)
            continue;
        memcpy(keys[m], frame + FRAME_KEY_OFFSET, KEY_LEN);
        at[m] = home(self, keys[m]);
        __builtin_prefetch(&self->slots[at[m]]);
        m++;
    }
    /* 2: the flows found and their hints (the first two cache lines of each) */
    for (Py_ssize_t i = 0; i < m; i++) {
        const Slot *s = probe_from(self, keys[i], at[i]);
        if (s->value == NULL)
            continue;
        __builtin_prefetch(s->value);
        __builtin_prefetch((const char *)s->value + 64);
        if (s->hint != NULL) {
            __builtin_prefetch(s->hint);
            __builtin_prefetch((const char *)s->hint + 64);
        }
    }
}

static PyObject *fi_prefetch(FlowIndex *self, PyObject *packets)
{
    if (!PyList_Check(packets)) {
        PyErr_Format(PyExc_TypeError, "packets must be a list, not %.100s",
                     Py_TYPE(packets)->tp_name);
        return NULL;
    }
    /* no Python code runs here: the list cannot change under the loop */
    Py_ssize_t n = PyList_GET_SIZE(packets);
    for (Py_ssize_t i = 0; i < n; i += PREFETCH_BLOCK) {
        Py_ssize_t len = n - i < PREFETCH_BLOCK ? n - i : PREFETCH_BLOCK;
        prefetch_block(self, &PyList_GET_ITEM(packets, i), len);
    }
    Py_RETURN_NONE;
}

/* -- the type --------------------------------------------------------------------------- */

static PyObject *fi_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Py_buffer key;
    static char *kwlist[] = {"hash_key", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*:FlowIndex", kwlist, &key))
        return NULL;
    if (key.len != HASH_KEY_LEN) {
        PyErr_Format(PyExc_ValueError, "hash_key must be %d bytes, got %zd", HASH_KEY_LEN,
                     key.len);
        PyBuffer_Release(&key);
        return NULL;
    }
    FlowIndex *self = (FlowIndex *)type->tp_alloc(type, 0);
    if (self == NULL) {
        PyBuffer_Release(&key);
        return NULL;
    }
    memcpy(self->seed, key.buf, HASH_KEY_LEN);
    PyBuffer_Release(&key);
    self->slots = PyMem_Calloc(MIN_SLOTS, sizeof(Slot));
    if (self->slots == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->mask = MIN_SLOTS - 1;
    return (PyObject *)self;
}

static int fi_traverse(FlowIndex *self, visitproc visit, void *arg)
{
    if (self->slots != NULL) {
        for (size_t i = 0; i <= self->mask; i++)
            Py_VISIT(self->slots[i].value);
    }
    return 0;
}

/* Remove every flow; each is released only once the table is consistent without it, so
   whatever its release runs finds a sound index. */
static int fi_clear(FlowIndex *self)
{
    size_t i = 0;
    while (self->slots != NULL && self->len > 0) {
        if (i > self->mask)
            i = 0;
        Slot *s = &self->slots[i];
        if (s->value == NULL) {
            i++;
            continue;
        }
        PyObject *value = s->value;
        remove_slot(self, s); /* may shift a later flow into slot i: looked at again */
        Py_DECREF(value);
    }
    return 0;
}

static void fi_dealloc(FlowIndex *self)
{
    PyObject_GC_UnTrack(self);
    fi_clear(self);
    PyMem_Free(self->slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef fi_methods[] = {
    {"get", (PyCFunction)(void (*)(void))fi_get, METH_FASTCALL,
     "get(key, default=None): the flow at a 12-byte key."},
    {"pop", (PyCFunction)(void (*)(void))fi_pop, METH_FASTCALL,
     "pop(key[, default]): remove and return the flow at key."},
    {"values", (PyCFunction)fi_values, METH_NOARGS, "values(): a list of the flows."},
    {"find", (PyCFunction)fi_find, METH_O,
     "find(frame): the flow keyed by frame[26:38], None if none or the frame is shorter."},
    {"hint", (PyCFunction)(void (*)(void))fi_hint, METH_FASTCALL,
     "hint(key, obj): prefetch() also requests obj's first two cache lines for the frames of "
     "key's flow, until that flow is replaced or removed (obj is not referenced: only its "
     "address is kept, never read); False if key is absent."},
    {"hint_address", (PyCFunction)(void (*)(void))fi_hint_address, METH_FASTCALL,
     "hint_address(key): the address hint() gave for key's flow, 0 if none or absent."},
    {"prefetch", (PyCFunction)fi_prefetch, METH_O,
     "prefetch(packets): request the memory find() and the flows found will read for a list "
     "of (timestamp, frame) items; changes nothing."},
    {NULL, NULL, 0, NULL},
};

static PyMappingMethods fi_mapping = {
    .mp_length = (lenfunc)fi_len,
    .mp_subscript = (binaryfunc)fi_subscript,
    .mp_ass_subscript = (objobjargproc)fi_ass_subscript,
};

static PySequenceMethods fi_sequence = {
    .sq_contains = (objobjproc)fi_contains,
};

static PyTypeObject FlowIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sniffer._flowindex.FlowIndex",
    .tp_doc = "FlowIndex(hash_key): IPv4 RTP flows by 12-byte 4-tuple key.",
    .tp_basicsize = sizeof(FlowIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = fi_new,
    .tp_dealloc = (destructor)fi_dealloc,
    .tp_traverse = (traverseproc)fi_traverse,
    .tp_clear = (inquiry)fi_clear,
    .tp_methods = fi_methods,
    .tp_as_mapping = &fi_mapping,
    .tp_as_sequence = &fi_sequence,
};

static struct PyModuleDef flowindex_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sniffer._flowindex",
    .m_doc = "The compiled build's index of IPv4 RTP flows.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__flowindex(void)
{
    if (PyType_Ready(&FlowIndexType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&flowindex_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "FlowIndex", (PyObject *)&FlowIndexType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
