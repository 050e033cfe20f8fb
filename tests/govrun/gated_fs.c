// gated_fs: a FUSE file system for tests whose fsync the test controls — a
// pass-through of BACKING mounted at MOUNT, where every fsync/fdatasync first
// looks at CONTROL: while CONTROL/hold exists it waits (and writes the path
// being synced to CONTROL/held), then fails with EIO when CONTROL/fail
// exists, else syncs the backing file. It lets a test keep a lineage log's
// sync pending, or make it fail, as a dying disk would.
//
// Usage: gated_fs BACKING MOUNT CONTROL   (absolute or relative paths; root;
// stays in the foreground until MOUNT is unmounted)
#define _GNU_SOURCE
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

static const char* control_dir;
static const char* backing_dir;

// "/a/b" of the mount is BACKING/a/b (fuse_main changes the working directory).
static void Backing(const char* path, char* out, size_t size) {
  snprintf(out, size, "%s%s", backing_dir, path);
}

static int ControlExists(const char* name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", control_dir, name);
  return access(path, F_OK) == 0;
}

static int Result(int value) {
  return value < 0 ? -errno : 0;
}

static int GatedGetattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  if (fi != NULL) return Result(fstat((int)fi->fh, st));
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(lstat(real, st));
}

static int GatedReadlink(const char* path, char* out, size_t size) {
  char real[4096];
  Backing(path, real, sizeof real);
  const ssize_t length = readlink(real, out, size - 1);
  if (length < 0) return -errno;
  out[length] = '\0';
  return 0;
}

static int GatedMkdir(const char* path, mode_t mode) {
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(mkdir(real, mode));
}

static int GatedUnlink(const char* path) {
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(unlink(real));
}

static int GatedRmdir(const char* path) {
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(rmdir(real));
}

static int GatedSymlink(const char* target, const char* path) {
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(symlink(target, real));
}

static int GatedRename(const char* from, const char* to, unsigned int flags) {
  char real_from[4096], real_to[4096];
  Backing(from, real_from, sizeof real_from);
  Backing(to, real_to, sizeof real_to);
  return Result(renameat2(AT_FDCWD, real_from, AT_FDCWD, real_to, flags));
}

static int GatedLink(const char* from, const char* to) {
  char real_from[4096], real_to[4096];
  Backing(from, real_from, sizeof real_from);
  Backing(to, real_to, sizeof real_to);
  return Result(link(real_from, real_to));
}

static int GatedChmod(const char* path, mode_t mode, struct fuse_file_info* fi) {
  if (fi != NULL) return Result(fchmod((int)fi->fh, mode));
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(chmod(real, mode));
}

static int GatedChown(const char* path, uid_t uid, gid_t gid, struct fuse_file_info* fi) {
  if (fi != NULL) return Result(fchown((int)fi->fh, uid, gid));
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(lchown(real, uid, gid));
}

static int GatedTruncate(const char* path, off_t size, struct fuse_file_info* fi) {
  if (fi != NULL) return Result(ftruncate((int)fi->fh, size));
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(truncate(real, size));
}

static int GatedUtimens(const char* path, const struct timespec times[2], struct fuse_file_info* fi) {
  if (fi != NULL) return Result(futimens((int)fi->fh, times));
  char real[4096];
  Backing(path, real, sizeof real);
  return Result(utimensat(AT_FDCWD, real, times, AT_SYMLINK_NOFOLLOW));
}

static int GatedOpen(const char* path, struct fuse_file_info* fi) {
  char real[4096];
  Backing(path, real, sizeof real);
  const int fd = open(real, fi->flags);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int GatedCreate(const char* path, mode_t mode, struct fuse_file_info* fi) {
  char real[4096];
  Backing(path, real, sizeof real);
  const int fd = open(real, fi->flags, mode);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int GatedRead(const char* path, char* out, size_t size, off_t offset, struct fuse_file_info* fi) {
  (void)path;
  const ssize_t done = pread((int)fi->fh, out, size, offset);
  return done < 0 ? -errno : (int)done;
}

static int GatedWrite(const char* path, const char* data, size_t size, off_t offset, struct fuse_file_info* fi) {
  (void)path;
  const ssize_t done = pwrite((int)fi->fh, data, size, offset);
  return done < 0 ? -errno : (int)done;
}

static int GatedStatfs(const char* path, struct statvfs* out) {
  (void)path;
  return Result(statvfs(backing_dir, out));
}

static int GatedRelease(const char* path, struct fuse_file_info* fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}

// The gate: held while CONTROL/hold exists (at most a minute, should the
// test die), then EIO while CONTROL/fail exists.
static int GatedFsync(const char* path, int datasync, struct fuse_file_info* fi) {
  if (ControlExists("hold")) {
    char held[4096];
    snprintf(held, sizeof held, "%s/held", control_dir);
    FILE* note = fopen(held, "w");
    if (note != NULL) {
      fprintf(note, "%s\n", path);
      fclose(note);
    }
    for (int waited = 0; waited < 12000 && ControlExists("hold"); ++waited) usleep(5000);
  }
  if (ControlExists("fail")) return -EIO;
  return Result(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static int GatedReaddir(const char* path, void* buffer, fuse_fill_dir_t fill, off_t offset, struct fuse_file_info* fi,
                        enum fuse_readdir_flags flags) {
  (void)offset;
  (void)fi;
  (void)flags;
  char real[4096];
  Backing(path, real, sizeof real);
  DIR* dir = opendir(real);
  if (dir == NULL) return -errno;
  for (struct dirent* entry = readdir(dir); entry != NULL; entry = readdir(dir)) {
    if (fill(buffer, entry->d_name, NULL, 0, 0) != 0) break;
  }
  closedir(dir);
  return 0;
}

static void* GatedInit(struct fuse_conn_info* connection, struct fuse_config* config) {
  (void)connection;
  config->use_ino = 1;      // the backing inode numbers: what a writer compares
  config->hard_remove = 1;  // unlink removes at once (no .fuse_hidden files)
  config->entry_timeout = 0;
  config->attr_timeout = 0;
  config->negative_timeout = 0;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: gated_fs BACKING MOUNT CONTROL\n");
    return 2;
  }
  backing_dir = realpath(argv[1], NULL);
  control_dir = realpath(argv[3], NULL);
  char* mount = realpath(argv[2], NULL);
  if (backing_dir == NULL || control_dir == NULL || mount == NULL) {
    perror("gated_fs");
    return 2;
  }
  static const struct fuse_operations operations = {
      .getattr = GatedGetattr,
      .readlink = GatedReadlink,
      .mkdir = GatedMkdir,
      .unlink = GatedUnlink,
      .rmdir = GatedRmdir,
      .symlink = GatedSymlink,
      .rename = GatedRename,
      .link = GatedLink,
      .chmod = GatedChmod,
      .chown = GatedChown,
      .truncate = GatedTruncate,
      .open = GatedOpen,
      .read = GatedRead,
      .write = GatedWrite,
      .statfs = GatedStatfs,
      .release = GatedRelease,
      .fsync = GatedFsync,
      .readdir = GatedReaddir,
      .init = GatedInit,
      .create = GatedCreate,
      .utimens = GatedUtimens,
  };
  char* fuse_argv[] = {argv[0], "-f", "-o", "default_permissions,allow_other", mount, NULL};
  return fuse_main(5, fuse_argv, &operations, NULL);
}
