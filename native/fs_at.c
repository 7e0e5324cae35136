// The system calls a safe restore needs and Node's fs module lacks: everything relative to
// an opened directory (the *at calls) with symlinks never followed, nanosecond times,
// device nodes and FIFOs, extended attributes, and SEEK_DATA / SEEK_HOLE for sparse files.
// Synchronous and thin on purpose: policy lives in TypeScript (plugins/directory/).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <node_api.h>

#define CHECK(call)                                                                           \
  do {                                                                                        \
    if ((call) != napi_ok) return NULL;                                                       \
  } while (0)

// A path or name from JS (a string or a Buffer), copied NUL-terminated. NULL with a JS
// exception pending when it is neither, holds a NUL byte or is too long.
static char *take_bytes(napi_env env, napi_value v, char *buf, size_t cap) {
  bool is_buffer = false;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return NULL;
  if (t == napi_string) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
    if (len + 1 > cap) goto too_long;
    napi_get_value_string_utf8(env, v, buf, cap, &len);
    if (strlen(buf) != len) goto has_nul;
    return buf;
  }
  napi_is_buffer(env, v, &is_buffer);
  if (!is_buffer) {
    napi_throw_type_error(env, "EINVAL", "expected a string or a Buffer");
    return NULL;
  }
  void *data = NULL;
  size_t len = 0;
  napi_get_buffer_info(env, v, &data, &len);
  if (len + 1 > cap) goto too_long;
  memcpy(buf, data, len);
  buf[len] = 0;
  if (memchr(data, 0, len) != NULL) goto has_nul;
  return buf;
too_long:
  napi_throw_range_error(env, "ENAMETOOLONG", "name too long");
  return NULL;
has_nul:
  napi_throw_type_error(env, "EINVAL", "name contains a NUL byte");
  return NULL;
}

static bool take_int(napi_env env, napi_value v, int64_t *out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected a number");
    return false;
  }
  return true;
}

// The symbolic name of an errno value. Our own table: strerrorname_np exists only in glibc
// 2.32 and later, and not in musl.
static const char *errno_name(int err) {
  switch (err) {
#define E(x)                                                                                  \
  case x:                                                                                     \
    return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(EBADF) E(EAGAIN)
    E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR)
    E(EINVAL) E(ENFILE) E(EMFILE) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK)
    E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENODATA) E(EOVERFLOW)
    E(ENOTSUP) E(EDQUOT) E(ESTALE)
#undef E
  default:
    return "EUNKNOWN";
  }
}

// An Error like Node's own: message "ECODE: syscall 'name'", with code, errno and syscall.
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *name) {
  const char *code = errno_name(err);
  char msg[PATH_MAX + 256];
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall, name ? name : "");
  napi_value m, c, e, n, s;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &e);
  napi_create_int32(env, -err, &n);
  napi_set_named_property(env, e, "errno", n);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, e, "syscall", s);
  napi_throw(env, e);
  return NULL;
}

static napi_value int_result(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value undefined(napi_env env) {
  napi_value out;
  napi_get_undefined(env, &out);
  return out;
}

#define ARGS(n)                                                                               \
  size_t argc = n;                                                                            \
  napi_value argv[n];                                                                         \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));                                \
  if (argc < n) {                                                                             \
    napi_throw_type_error(env, "EINVAL", "missing arguments");                                \
    return NULL;                                                                              \
  }

#define INT_ARG(i, var)                                                                       \
  int64_t var;                                                                                \
  if (!take_int(env, argv[i], &var)) return NULL;

#define NAME_ARG(i, var)                                                                      \
  char var##_buf[PATH_MAX];                                                                   \
  char *var = take_bytes(env, argv[i], var##_buf, sizeof var##_buf);                          \
  if (var == NULL) return NULL;

// True for one entry of a directory: not "", ".", ".." and without a "/". A lookup of
// anything else could leave the directory (openat(fd, "..") is its parent), so the wrappers
// refuse it themselves, whatever the TypeScript above them checked. `self_ok` lets "" stand
// for the directory itself where the wrapper then calls the f* form on the descriptor.
static bool entry_name_ok(napi_env env, const char *name, bool self_ok) {
  bool ok = name[0] ? strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/')
                    : self_ok;
  if (!ok) {
    char msg[PATH_MAX + 64];
    snprintf(msg, sizeof msg, "not one directory entry: '%s'", name);
    napi_throw_error(env, "EINVAL", msg);
  }
  return ok;
}

// A name that must be one entry of the directory (ENTRY_ARG) or may be "" for the
// directory itself (SELF_OR_ENTRY_ARG).
#define ENTRY_ARG(i, var)                                                                     \
  NAME_ARG(i, var);                                                                           \
  if (!entry_name_ok(env, var, false)) return NULL;

#define SELF_OR_ENTRY_ARG(i, var)                                                             \
  NAME_ARG(i, var);                                                                           \
  if (!entry_name_ok(env, var, true)) return NULL;

// openat(dirfd, name, flags, mode) -> fd
static napi_value js_openat(napi_env env, napi_callback_info info) {
  ARGS(4);
  INT_ARG(0, dirfd);
  ENTRY_ARG(1, name);
  INT_ARG(2, flags);
  INT_ARG(3, mode);
  int fd = openat((int)dirfd, name, (int)flags | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return throw_errno(env, errno, "openat", name);
  return int_result(env, fd);
}

// openBeneath(rootfd, relpath) -> fd of the directory at relpath ("" is the root itself),
// reached one component at a time without following any symlink or leaving the root.
static napi_value js_open_beneath(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, rootfd);
  NAME_ARG(1, rel);
  int fd = openat((int)rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "openat", ".");
  char *save = NULL;
  for (char *seg = strtok_r(rel, "/", &save); seg != NULL; seg = strtok_r(NULL, "/", &save)) {
    if (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0) {
      close(fd);
      return throw_errno(env, EPERM, "openBeneath", seg);
    }
    int next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close(fd);
    if (next < 0) return throw_errno(env, err, "openat", seg);
    fd = next;
  }
  return int_result(env, fd);
}

// close(fd): for descriptors this module opened (Node's fs.close warns about those in a
// worker thread, whose own descriptors it tracks).
static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  INT_ARG(0, fd);
  if (close((int)fd) < 0) return throw_errno(env, errno, "close", "");
  return undefined(env);
}

// Calls taking (dirfd, name, an int: mode or flags).
typedef int (*name_int_fn)(int, const char *, int);

static napi_value name_int(napi_env env, napi_callback_info info, name_int_fn fn,
                           const char *syscall) {
  ARGS(3);
  INT_ARG(0, dirfd);
  ENTRY_ARG(1, name);
  INT_ARG(2, arg);
  if (fn((int)dirfd, name, (int)arg) < 0) return throw_errno(env, errno, syscall, name);
  return undefined(env);
}

static int mkdir_at(int dirfd, const char *name, int mode) {
  return mkdirat(dirfd, name, (mode_t)mode);
}

static napi_value js_mkdirat(napi_env env, napi_callback_info info) {
  return name_int(env, info, mkdir_at, "mkdirat");
}

// mknodat(dirfd, name, mode (with S_IFIFO / S_IFCHR / S_IFBLK), major, minor)
static napi_value js_mknodat(napi_env env, napi_callback_info info) {
  ARGS(5);
  INT_ARG(0, dirfd);
  ENTRY_ARG(1, name);
  INT_ARG(2, mode);
  INT_ARG(3, major_);
  INT_ARG(4, minor_);
  if (mknodat((int)dirfd, name, (mode_t)mode, makedev((unsigned)major_, (unsigned)minor_)) < 0)
    return throw_errno(env, errno, "mknodat", name);
  return undefined(env);
}

static napi_value js_symlinkat(napi_env env, napi_callback_info info) {
  ARGS(3);
  NAME_ARG(0, target);
  INT_ARG(1, dirfd);
  ENTRY_ARG(2, name);
  if (symlinkat(target, (int)dirfd, name) < 0) return throw_errno(env, errno, "symlinkat", name);
  return undefined(env);
}

// Calls taking (olddirfd, oldname, newdirfd, newname).
typedef int (*two_names_fn)(int, const char *, int, const char *);

static napi_value two_names(napi_env env, napi_callback_info info, two_names_fn fn,
                            const char *syscall) {
  ARGS(4);
  INT_ARG(0, olddirfd);
  ENTRY_ARG(1, oldname);
  INT_ARG(2, newdirfd);
  ENTRY_ARG(3, newname);
  if (fn((int)olddirfd, oldname, (int)newdirfd, newname) < 0)
    return throw_errno(env, errno, syscall, newname);
  return undefined(env);
}

// Without AT_SYMLINK_FOLLOW: a link to the entry itself, never to where it points.
static int link_nofollow(int od, const char *on, int nd, const char *nn) {
  return linkat(od, on, nd, nn, 0);
}

static napi_value js_linkat(napi_env env, napi_callback_info info) {
  return two_names(env, info, link_nofollow, "linkat");
}

static napi_value js_renameat(napi_env env, napi_callback_info info) {
  return two_names(env, info, renameat, "renameat");
}

static napi_value js_unlinkat(napi_env env, napi_callback_info info) {
  return name_int(env, info, unlinkat, "unlinkat");
}

// fchownat(dirfd, name, uid, gid): never through a symlink (the link itself is changed).
static napi_value js_lchownat(napi_env env, napi_callback_info info) {
  ARGS(4);
  INT_ARG(0, dirfd);
  SELF_OR_ENTRY_ARG(1, name);
  INT_ARG(2, uid);
  INT_ARG(3, gid);
  int r = name[0] ? fchownat((int)dirfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW)
                  : fchown((int)dirfd, (uid_t)uid, (gid_t)gid);
  if (r < 0) return throw_errno(env, errno, "fchownat", name);
  return undefined(env);
}

// Mode of the entry itself ("" = the directory dirfd); a symlink is refused (EOPNOTSUPP).
static napi_value js_lchmodat(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, dirfd);
  SELF_OR_ENTRY_ARG(1, name);
  INT_ARG(2, mode);
  int r = name[0] ? fchmodat((int)dirfd, name, (mode_t)mode, AT_SYMLINK_NOFOLLOW)
                  : fchmod((int)dirfd, (mode_t)mode);
  if (r < 0) return throw_errno(env, errno, "fchmodat", name);
  return undefined(env);
}

// lutimensat(dirfd, name, atimeSec, atimeNsec, mtimeSec, mtimeNsec): nanosecond times of the
// entry itself ("" = the directory dirfd).
static napi_value js_lutimensat(napi_env env, napi_callback_info info) {
  ARGS(6);
  INT_ARG(0, dirfd);
  SELF_OR_ENTRY_ARG(1, name);
  INT_ARG(2, as);
  INT_ARG(3, ans);
  INT_ARG(4, ms);
  INT_ARG(5, mns);
  struct timespec ts[2] = {{(time_t)as, (long)ans}, {(time_t)ms, (long)mns}};
  int r = name[0] ? utimensat((int)dirfd, name, ts, AT_SYMLINK_NOFOLLOW)
                  : futimens((int)dirfd, ts);
  if (r < 0) return throw_errno(env, errno, "utimensat", name);
  return undefined(env);
}

// The entry `name` in directory `dirfd`, as a path the kernel resolves through the open
// directory itself (no name lookup above it), for calls that have no *at form.
static void proc_path(char *out, size_t cap, int64_t dirfd, const char *name) {
  if (name[0]) snprintf(out, cap, "/proc/self/fd/%d/%s", (int)dirfd, name);
  else snprintf(out, cap, "/proc/self/fd/%d", (int)dirfd);
}

// lsetxattrat(dirfd, name, xattrName, value): on the entry itself, never through a link.
static napi_value js_lsetxattrat(napi_env env, napi_callback_info info) {
  ARGS(4);
  INT_ARG(0, dirfd);
  SELF_OR_ENTRY_ARG(1, name);
  NAME_ARG(2, xname);
  void *data = NULL;
  size_t len = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[3], &is_buffer);
  if (!is_buffer) {
    napi_throw_type_error(env, "EINVAL", "xattr value must be a Buffer");
    return NULL;
  }
  napi_get_buffer_info(env, argv[3], &data, &len);
  char p[PATH_MAX + 64];
  proc_path(p, sizeof p, dirfd, name);
  int r = name[0] ? lsetxattr(p, xname, data, len, 0) : fsetxattr((int)dirfd, xname, data, len, 0);
  if (r < 0) return throw_errno(env, errno, "setxattr", xname);
  return undefined(env);
}

// Extended attribute lists and values: their size is known only by asking first, and may
// change before the read (then it is asked again).
typedef ssize_t (*sized_fn)(const char *path, const char *xname, void *buf, size_t size);

static ssize_t list_names(const char *path, const char *xname, void *buf, size_t size) {
  (void)xname;
  ssize_t n = llistxattr(path, buf, size);
  return n < 0 && errno == ENOTSUP ? 0 : n; // a filesystem without xattrs has none
}

static ssize_t get_value(const char *path, const char *xname, void *buf, size_t size) {
  return lgetxattr(path, xname, buf, size);
}

static napi_value read_sized(napi_env env, sized_fn fn, const char *path, const char *xname,
                             const char *syscall) {
  for (;;) {
    ssize_t n = fn(path, xname, NULL, 0);
    if (n < 0) return throw_errno(env, errno, syscall, xname ? xname : path);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL) return throw_errno(env, ENOMEM, syscall, path);
    ssize_t got = n == 0 ? 0 : fn(path, xname, buf, (size_t)n);
    int err = errno;
    if (got >= 0) {
      napi_value out;
      void *copied = NULL;
      napi_status st = napi_create_buffer_copy(env, (size_t)got, buf, &copied, &out);
      free(buf);
      return st == napi_ok ? out : NULL;
    }
    free(buf);
    if (err != ERANGE) return throw_errno(env, err, syscall, xname ? xname : path);
  }
}

// lremovexattrat(dirfd, name, xattrName): on the entry itself, never through a link.
static napi_value js_lremovexattrat(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, dirfd);
  SELF_OR_ENTRY_ARG(1, name);
  NAME_ARG(2, xname);
  char p[PATH_MAX + 64];
  proc_path(p, sizeof p, dirfd, name);
  int r = name[0] ? lremovexattr(p, xname) : fremovexattr((int)dirfd, xname);
  if (r < 0) return throw_errno(env, errno, "removexattr", xname);
  return undefined(env);
}

// llistxattr(path) -> Buffer of NUL-terminated names (empty when there are none)
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  ARGS(1);
  NAME_ARG(0, p);
  return read_sized(env, list_names, p, NULL, "llistxattr");
}

// lgetxattr(path, name) -> Buffer
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  ARGS(2);
  NAME_ARG(0, p);
  NAME_ARG(1, xname);
  return read_sized(env, get_value, p, xname, "lgetxattr");
}

// lseek(fd, offset, whence) -> offset, or -1 when SEEK_DATA / SEEK_HOLE find nothing (ENXIO).
static napi_value js_lseek(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, fd);
  INT_ARG(1, offset);
  INT_ARG(2, whence);
  off_t r = lseek((int)fd, (off_t)offset, (int)whence);
  if (r < 0) {
    if (errno == ENXIO) return int_result(env, -1);
    return throw_errno(env, errno, "lseek", "");
  }
  return int_result(env, r);
}

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static void export_int(napi_env env, napi_value exports, const char *name, int64_t v) {
  napi_set_named_property(env, exports, name, int_result(env, v));
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  export_fn(env, exports, "openat", js_openat);
  export_fn(env, exports, "openBeneath", js_open_beneath);
  export_fn(env, exports, "close", js_close);
  export_fn(env, exports, "mkdirat", js_mkdirat);
  export_fn(env, exports, "mknodat", js_mknodat);
  export_fn(env, exports, "symlinkat", js_symlinkat);
  export_fn(env, exports, "linkat", js_linkat);
  export_fn(env, exports, "renameat", js_renameat);
  export_fn(env, exports, "unlinkat", js_unlinkat);
  export_fn(env, exports, "lchownat", js_lchownat);
  export_fn(env, exports, "lchmodat", js_lchmodat);
  export_fn(env, exports, "lutimensat", js_lutimensat);
  export_fn(env, exports, "lsetxattrat", js_lsetxattrat);
  export_fn(env, exports, "lremovexattrat", js_lremovexattrat);
  export_fn(env, exports, "llistxattr", js_llistxattr);
  export_fn(env, exports, "lgetxattr", js_lgetxattr);
  export_fn(env, exports, "lseek", js_lseek);
  export_int(env, exports, "SEEK_DATA", SEEK_DATA);
  export_int(env, exports, "SEEK_HOLE", SEEK_HOLE);
  export_int(env, exports, "AT_REMOVEDIR", AT_REMOVEDIR);
  export_int(env, exports, "S_IFIFO", S_IFIFO);
  export_int(env, exports, "S_IFCHR", S_IFCHR);
  export_int(env, exports, "S_IFBLK", S_IFBLK);
  return exports;
}
