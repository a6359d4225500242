#include "runtime/platform/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

chord_status rt_file_map(const char *path, rt_mapped_file *out, chord_error *error) {
  out->data = NULL;
  out->size = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return rt_error(error, CHORD_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return rt_error(error, CHORD_ERROR_IO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return rt_error(error, CHORD_ERROR_IO, "%s: not a regular file", path);
  }
  if (st.st_size > 0) {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      return rt_error(error, CHORD_ERROR_IO, "%s: cannot map: %s", path, strerror(e));
    }
    out->data = p;
    out->size = (uint64_t)st.st_size;
  }
  close(fd);
  return CHORD_OK;
}

void rt_file_unmap(rt_mapped_file *file) {
  if (file->data)
    munmap((void *)file->data, (size_t)file->size);
  file->data = NULL;
  file->size = 0;
}

chord_status rt_output_open(const char *path, rt_output_file *out, chord_error *error) {
  memset(out, 0, sizeof *out);
  size_t n = strlen(path);
  out->path = rt_strndup(path, n);
  out->temp_path = rt_malloc(n + sizeof ".tmp.XXXXXX");
  if (!out->path || !out->temp_path) {
    rt_output_abandon(out);
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "%s: out of memory", path);
  }
  memcpy(out->temp_path, path, n);
  memcpy(out->temp_path + n, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
  int fd = mkstemp(out->temp_path);
  if (fd < 0) {
    int e = errno;
    rt_free(out->temp_path);
    out->temp_path = NULL;
    rt_output_abandon(out);
    return rt_error(error, CHORD_ERROR_IO, "%s: cannot create: %s", path, strerror(e));
  }
  fchmod(fd, 0644);
  out->stream = fdopen(fd, "wb");
  if (!out->stream) {
    int e = errno;
    close(fd);
    rt_output_abandon(out);
    return rt_error(error, CHORD_ERROR_IO, "%s: cannot open stream: %s", path, strerror(e));
  }
  return CHORD_OK;
}

chord_status rt_output_commit(rt_output_file *file, chord_error *error) {
  int failed = ferror(file->stream);
  int e = errno;
  if (fclose(file->stream) != 0 && !failed) {
    failed = 1;
    e = errno;
  }
  file->stream = NULL;
  if (failed) {
    chord_status s =
        rt_error(error, CHORD_ERROR_IO, "%s: write failed: %s", file->path, strerror(e));
    rt_output_abandon(file);
    return s;
  }
  if (rename(file->temp_path, file->path) != 0) {
    e = errno;
    chord_status s = rt_error(error, CHORD_ERROR_IO, "%s: cannot rename into place: %s", file->path,
                              strerror(e));
    rt_output_abandon(file);
    return s;
  }
  rt_free(file->temp_path);
  file->temp_path = NULL;
  rt_output_abandon(file);
  return CHORD_OK;
}

void rt_output_abandon(rt_output_file *file) {
  if (file->stream)
    fclose(file->stream);
  file->stream = NULL;
  if (file->temp_path)
    unlink(file->temp_path);
  rt_free(file->temp_path);
  rt_free(file->path);
  file->temp_path = NULL;
  file->path = NULL;
}

double rt_time_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
