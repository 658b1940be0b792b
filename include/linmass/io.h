/* Files: safetensors reading and writing, atomic writes, and checkpoints.
 *
 * Every function here returns an lm_status and, on failure, sets a message that names the file
 * and the problem (see linmass/error.h). Bad files are refused with LM_EINVAL, never a crash;
 * the operating system's refusals (open, write, rename, a full disk) are LM_EIO. A path that
 * does not exist or is a directory where a file is expected counts as bad input (LM_EINVAL).
 *
 * Safetensors (https://github.com/huggingface/safetensors), as linmass reads and writes it:
 *
 *   bytes [0, 8)        N, the header length, a little-endian uint64
 *   bytes [8, 8+N)      a JSON object, padded with spaces (linmass pads to a multiple of 8):
 *                         {"__metadata__": {"key": "value", ...},        (optional, strings)
 *                          "name": {"dtype": "F32", "shape": [100, 784],
 *                                   "data_offsets": [begin, end]}, ...}
 *   bytes [8+N, EOF)    the data region: each tensor's elements, little-endian, row-major,
 *                       at [begin, end) relative to the start of the data region
 *
 * The reader checks everything before it hands out a pointer: N fits in the file (and is at
 * most 100 MB), the JSON parses, every entry has a known dtype, a shape of non-negative
 * integers (at most LM_ST_MAX_DIMS, [] is a scalar) and two data_offsets with
 * end - begin == numel * dtype size, names are unique and non-empty, and the tensors tile the
 * data region exactly: no overlap, no gap, no trailing bytes (as the reference implementation
 * demands). The writer lays tensors out by decreasing element size (then in the order they
 * were added), so every tensor starts aligned to its element size.
 *
 * Checkpoints (format version 1) are safetensors files with this content:
 *
 *   tensors   the model's parameters and buffers under their torch.nn.Sequential state_dict
 *             names and layouts: "0.weight" F32 [out, in], "3.running_mean" F32 [C],
 *             "3.num_batches_tracked" I64 [] (a scalar), ...
 *             optimizer state per parameter, "optim.<state>.<param name>", with the shape of
 *             that parameter: "optim.momentum_buffer.0.weight", "optim.exp_avg.0.weight",
 *             "optim.exp_avg_sq.0.weight" (PyTorch's state names; MaSS keeps "optim.u.<p>")
 *   metadata  (all strings, as safetensors requires)
 *             "format": "linmass-checkpoint"   "format_version": "1"
 *             "step": optimizer steps taken     "epoch": completed epochs
 *             "epoch_pos": samples of the current epoch already consumed
 *             "seed": the run's seed (the generator is counter-based, so seed, epoch,
 *                     epoch_pos and step are its whole state)
 *             "optimizer": "sgd", "adam", ...  "optimizer_hparams": a JSON object, e.g.
 *                     {"lr":0.1,"momentum":0.9,"weight_decay":0}
 *             "model": the model spec (optional); any other keys the caller adds.
 *             Training adds "param" ("standard" or "ntk": the parameterisation the weights
 *             are for), "linmass_version", and its position ("optim_step", "metrics_bytes",
 *             "epoch_sums", "window_sums"); "optimizer_hparams" holds every hyper-parameter
 *             the optimizer steps with and the schedule
 *   data.mean, data.std  (F32 [C], optional) the per-channel standardisation the weights were
 *             trained with: the model sees (x - mean) / std per input channel. Absent when
 *             the run kept raw inputs.
 *
 * A plain state_dict (safetensors.torch.save_file(model.state_dict(), f): tensors and no
 * linmass metadata) is no checkpoint, but lm_checkpoint_open_weights opens it for its weights.
 *
 * tools/read_checkpoint.py reads them with only the Python standard library and numpy. */
#ifndef LINMASS_IO_H
#define LINMASS_IO_H

#include "linmass/api.h"


#include <stddef.h>
#include <stdint.h>

#include "linmass/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- element types ---- */

typedef enum {
    LM_DT_F64, LM_DT_F32, LM_DT_F16, LM_DT_BF16,
    LM_DT_I64, LM_DT_I32, LM_DT_I16, LM_DT_I8,
    LM_DT_U64, LM_DT_U32, LM_DT_U16, LM_DT_U8,
    LM_DT_BOOL,
    LM_DT_COUNT
} lm_dtype;

LM_API size_t lm_dtype_size(lm_dtype dt);        /* bytes per element; 0 for an invalid value */
LM_API const char *lm_dtype_name(lm_dtype dt);   /* "F32", ...; "?" for an invalid value */
LM_API int lm_dtype_parse(const char *name, lm_dtype *out); /* 1 if known, else 0 */

enum { LM_ST_MAX_DIMS = 8 };

/* "[100, 784]" (or "[]") into buf, for messages; returns buf. */
LM_API const char *lm_format_shape(char *buf, size_t len, int ndim, const int64_t *shape);

/* ---- reading ---- */

typedef struct {
    const char *name;
    lm_dtype dtype;
    int ndim;                       /* 0 for a scalar */
    int64_t shape[LM_ST_MAX_DIMS];
    size_t numel, nbytes;
    size_t offset;                  /* begin, relative to the data region */
    const void *data;               /* into the file's memory; valid until lm_st_close */
} lm_st_tensor;

typedef struct lm_st_file lm_st_file;

/* Read and validate a whole safetensors file into memory. */
LM_API lm_status lm_st_open(const char *path, lm_st_file **out);
/* The same from bytes in memory (copied); `label` names them in messages. For fuzzing. */
LM_API lm_status lm_st_parse(const void *bytes, size_t len, const char *label, lm_st_file **out);
LM_API void lm_st_close(lm_st_file *f);

LM_API const char *lm_st_path(const lm_st_file *f);
LM_API int lm_st_count(const lm_st_file *f);                     /* number of tensors */
LM_API const lm_st_tensor *lm_st_at(const lm_st_file *f, int i); /* in data order */
LM_API const lm_st_tensor *lm_st_find(const lm_st_file *f, const char *name); /* NULL if absent */
LM_API int lm_st_meta_count(const lm_st_file *f);
/* The i-th metadata entry, in key order. */
LM_API void lm_st_meta_at(const lm_st_file *f, int i, const char **key, const char **value);
LM_API const char *lm_st_meta(const lm_st_file *f, const char *key); /* NULL if absent */

/* ---- writing ---- */

typedef struct lm_st_writer lm_st_writer;

LM_API lm_status lm_st_writer_create(lm_st_writer **out);
LM_API void lm_st_writer_free(lm_st_writer *w);

/* Add a tensor. `data` (numel * dtype size bytes) is borrowed, not copied: keep it alive and
 * unchanged until lm_st_writer_write returns. Errors are sticky: after a failed add, write
 * fails with the same message, so a caller may check only the status of write. */
LM_API lm_status lm_st_writer_add(lm_st_writer *w, const char *name, lm_dtype dtype, int ndim,
                           const int64_t *shape, const void *data);
LM_API lm_status lm_st_writer_add_meta(lm_st_writer *w, const char *key, const char *value);

/* Write the file atomically (see lm_atomic_open). The writer can be written again. */
LM_API lm_status lm_st_writer_write(lm_st_writer *w, const char *path);

/* ---- atomic files and folders ---- */

/* Write `path` atomically: the bytes go to "PATH.tmp.<pid>", which is fsynced and renamed over
 * PATH, and then the folder is fsynced. On any failure (no space, no permission, a short
 * write) the temporary file is removed, PATH keeps its old content, and the status is LM_EIO.
 * A crash at any moment leaves either the old or the new file, never a mix. */
typedef struct lm_atomic_file lm_atomic_file;

LM_API lm_status lm_atomic_open(const char *path, lm_atomic_file **out);
/* Errors are sticky: once a write failed, commit fails with the same message. */
LM_API lm_status lm_atomic_write(lm_atomic_file *a, const void *data, size_t len);
/* Finish: sync, rename, sync the folder; or on an earlier failure clean up. Frees `a`. */
LM_API lm_status lm_atomic_commit(lm_atomic_file *a);
/* Give up: close and remove the temporary file, PATH untouched. Frees `a`; NULL is fine. */
LM_API void lm_atomic_abort(lm_atomic_file *a);

/* An array of rows x cols float64 values (row-major) as a NumPy .npy file (format version 1.0:
 * the magic "\x93NUMPY", the version, a little-endian uint16 header length, a Python dict
 * literal {'descr': '<f8', 'fortran_order': False, 'shape': (rows, cols), } padded with spaces
 * and ended by a newline so that the data starts at a multiple of 64 bytes, then the values in
 * the machine's byte order, which descr names), atomically; numpy.load reads it. */
LM_API lm_status lm_npy_write_f64(const char *path, const double *a, size_t rows, size_t cols);

/* The whole of a small file at once (config.json, report.md). */
LM_API lm_status lm_write_file_atomic(const char *path, const void *data, size_t len);

/* Read a whole file into a new NUL-terminated buffer (free() it). Files larger than
 * max_len bytes are refused with LM_EINVAL. */
LM_API lm_status lm_read_file(const char *path, size_t max_len, char **data, size_t *len);

/* mkdir -p: create the folder and its missing parents (mode 0777 less the umask). */
LM_API lm_status lm_mkdir_p(const char *path);

/* ---- checkpoints ---- */

/* One tensor to save from or load into: designated initialisers read well,
 *   {"0.weight", LM_DT_F32, 2, {100, 784}, params + offset}. */
typedef struct {
    const char *name;
    lm_dtype dtype;
    int ndim;
    int64_t shape[LM_ST_MAX_DIMS];
    void *data;
} lm_ckpt_tensor;

typedef struct {
    const char *key, *value;
} lm_kv;

typedef struct {
    int format_version;     /* filled on open; ignored on save (always the current one) */
    uint64_t step;          /* optimizer steps taken */
    uint64_t epoch;         /* completed epochs */
    uint64_t epoch_pos;     /* samples of the current epoch already consumed */
    uint64_t seed;          /* the run's seed */
    const char *optimizer;  /* "sgd", "adam", ... */
    const char *optim_json; /* the hyper-parameters, a JSON object ("{}" if NULL on save) */
    const char *model;      /* the model spec; optional (NULL) */
    const lm_kv *extra;     /* further metadata; on open: every key not listed above */
    int n_extra;
} lm_ckpt_info;

enum { LM_CKPT_FORMAT_VERSION = 1 };

/* Save tensors and info to `path` atomically. */
LM_API lm_status lm_checkpoint_save(const char *path, const lm_ckpt_info *info,
                             const lm_ckpt_tensor *tensors, int n);

typedef struct lm_checkpoint lm_checkpoint;

/* Open and validate a checkpoint (a safetensors file with linmass metadata). */
LM_API lm_status lm_checkpoint_open(const char *path, lm_checkpoint **out);
/* The same for loading weights: a safetensors file whose metadata has no "format" or another
 * one (PyTorch's "pt") opens too, as a plain state_dict, with an info of zeros
 * (format_version 0, optimizer, optim_json and model NULL, no extra keys); a file that says it
 * is a linmass checkpoint is checked as lm_checkpoint_open does. */
LM_API lm_status lm_checkpoint_open_weights(const char *path, lm_checkpoint **out);
LM_API void lm_checkpoint_close(lm_checkpoint *c);

/* The metadata; its strings live until lm_checkpoint_close. */
LM_API const lm_ckpt_info *lm_checkpoint_info(const lm_checkpoint *c);
LM_API const lm_st_file *lm_checkpoint_file(const lm_checkpoint *c);
LM_API int lm_checkpoint_has(const lm_checkpoint *c, const char *name);

/* Copy tensor t->name into t->data after checking that it exists and that its shape and dtype
 * are t's. F32 widens losslessly into an F64 destination (for probes); nothing else converts.
 * "run/checkpoints/last.safetensors: tensor '1.weight' has shape [100, 784] but the model
 * expects [100, 20]". */
LM_API lm_status lm_checkpoint_read(const lm_checkpoint *c, const lm_ckpt_tensor *t);
/* lm_checkpoint_read for each of n tensors; stops at the first failure. */
LM_API lm_status lm_checkpoint_read_all(const lm_checkpoint *c, const lm_ckpt_tensor *t, int n);

#ifdef __cplusplus
}
#endif
#endif
