/* The cache of decoded data files: a gzip-compressed IDX file takes seconds to inflate
 * (Fashion-MNIST's training images: about 2 s), so its decoded bytes are kept in a cache folder
 * and read back in milliseconds while the source file is unchanged.
 *
 * The folder is $LINMASS_CACHE_DIR, else $XDG_CACHE_HOME/linmass, else ~/.cache/linmass;
 * LINMASS_CACHE_DIR=off turns the cache off. One file per source file, named by a hash of its
 * absolute path:
 *
 *   header   16 uint64 in the machine's byte order: magic "LMCACHE\0", version, the
 *            source's size, mtime (s, ns), inode and CRC-32 of its bytes, six values of the
 *            decoder's own (the IDX type, rank and dimensions), the payload's length and CRC-32,
 *            and the length of the path that follows
 *   path     the source's absolute path (no NUL)
 *   payload  the decoded bytes
 *
 * An entry is used only when every field agrees with the source as it is now and both CRCs
 * match; anything else (a missing, short, corrupt or stale entry, an unreadable folder) reads
 * as "not cached" and the caller decodes. Entries are written atomically; a folder that cannot
 * be written is no error. The cache never changes a result: the payload is the decoder's own
 * output, converted by the same code either way. */
#include "data_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "linmass/io.h"

enum { CACHE_VERSION = 1 };
static const char cache_magic[8] = "LMCACHE";

typedef struct {
    uint64_t magic, version, source[5], meta[LM_CACHE_META], payload_len, payload_crc, path_len;
} cache_header;

_Static_assert(sizeof(cache_header) == 16 * sizeof(uint64_t), "the header has no padding");

/* The cache folder; 0 when the cache is off or there is no folder to use. */
static int cache_dir(char *buf, size_t len)
{
    const char *d = getenv("LINMASS_CACHE_DIR");
    if (d && *d) {
        if (!strcmp(d, "off")) return 0;
        return snprintf(buf, len, "%s", d) < (int)len;
    }
    if ((d = getenv("XDG_CACHE_HOME")) && *d == '/') return snprintf(buf, len, "%s/linmass", d) < (int)len;
    if ((d = getenv("HOME")) && *d) return snprintf(buf, len, "%s/.cache/linmass", d) < (int)len;
    return 0;
}

static uint32_t crc_of(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? 1u << 30 : (unsigned)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk, n -= chunk;
    }
    return crc;
}

/* CRC-32 of a whole open file; 0 on success. */
static int file_crc(int fd, uint64_t *crc)
{
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    uint32_t c = (uint32_t)crc32(0, NULL, 0);
    off_t at = 0;
    ssize_t got = -1;
    while (buf && (got = pread(fd, buf, CHUNK, at)) > 0) c = crc_of(c, buf, (size_t)got), at += got;
    free(buf);
    *crc = c;
    return got != 0;
}

/* Record the source's state and the entry's file name in e; 0 when there is nothing to cache. */
static int describe_source(const char *source, lm_cache_entry *e)
{
    char dir[4096];
    struct stat st;
    if (!cache_dir(dir, sizeof dir) || !realpath(source, e->path)) return 0;
    int fd = open(e->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && file_crc(fd, &e->source[4]) == 0;
    close(fd);
    if (!ok) return 0;
    e->source[0] = (uint64_t)st.st_size;
    e->source[1] = (uint64_t)st.st_mtim.tv_sec;
    e->source[2] = (uint64_t)st.st_mtim.tv_nsec;
    e->source[3] = (uint64_t)st.st_ino;
    uint64_t hash = 1469598103934665603ull; /* FNV-1a of the absolute path */
    for (const char *p = e->path; *p; p++) hash = (hash ^ (unsigned char)*p) * 1099511628211ull;
    return snprintf(e->file, sizeof e->file, "%s/%016llx.lmcache", dir, (unsigned long long)hash) <
           (int)sizeof e->file;
}

static int read_exact(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got <= 0) return 0;
        p += got, n -= (size_t)got;
    }
    return 1;
}

/* The entry's payload, when its header agrees with the source's state in e and its CRC holds. */
static int read_entry(lm_cache_entry *e)
{
    cache_header h;
    char path[sizeof e->path];
    struct stat st;
    size_t path_len = strlen(e->path);
    int fd = open(e->file, O_RDONLY | O_CLOEXEC), ok = 0;
    if (fd < 0) return 0;
    if (fstat(fd, &st) == 0 && read_exact(fd, &h, sizeof h) && !memcmp(&h.magic, cache_magic, 8) &&
        h.version == CACHE_VERSION && !memcmp(h.source, e->source, sizeof h.source) && h.path_len == path_len &&
        (uint64_t)st.st_size == sizeof h + h.path_len + h.payload_len && read_exact(fd, path, path_len) &&
        !memcmp(path, e->path, path_len) && (e->data = malloc(h.payload_len + 1)) &&
        read_exact(fd, e->data, h.payload_len) &&
        crc_of((uint32_t)crc32(0, NULL, 0), e->data, h.payload_len) == h.payload_crc) {
        memcpy(e->meta, h.meta, sizeof h.meta);
        e->len = h.payload_len;
        ok = 1;
    }
    close(fd);
    if (!ok) free(e->data), e->data = NULL;
    return ok;
}

int lm_cache_load(const char *source, lm_cache_entry *e)
{
    e->data = NULL;
    e->len = 0;
    e->usable = describe_source(source, e);
    return e->usable && read_entry(e);
}

void lm_cache_store(const lm_cache_entry *e)
{
    char dir[4096];
    if (!e->usable || !cache_dir(dir, sizeof dir)) return;
    cache_header h = {.version = CACHE_VERSION, .payload_len = e->len, .path_len = strlen(e->path)};
    memcpy(&h.magic, cache_magic, sizeof cache_magic);
    memcpy(h.source, e->source, sizeof h.source);
    memcpy(h.meta, e->meta, sizeof h.meta);
    h.payload_crc = crc_of((uint32_t)crc32(0, NULL, 0), e->data, e->len);
    lm_atomic_file *a;
    if (lm_mkdir_p(dir) || lm_atomic_open(e->file, &a)) return; /* no cache folder: no cache */
    lm_atomic_write(a, &h, sizeof h);
    lm_atomic_write(a, e->path, h.path_len);
    lm_atomic_write(a, e->data, e->len);
    lm_atomic_commit(a);
}
