//go:build unix

package filesystem

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// dirHandle is an open directory below the root; removals through it use
// *at system calls on its descriptor with a single-component name, so they
// act on exactly that entry (never following a symbolic link) and cannot
// leave the directory.
type dirHandle struct {
	f *os.File
}

// openDir opens the directory name (relative to r) for removals.
func openDir(r *os.Root, name string) (*dirHandle, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	return &dirHandle{f: f}, nil
}

// kind reports what the entry base is, without following a symbolic link.
func (h *dirHandle) kind(base string) (entryKind, error) {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(int(h.f.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return kindOther, &os.PathError{Op: "fstatat", Path: base, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return kindDir, nil
	case unix.S_IFLNK:
		return kindSymlink, nil
	}
	return kindOther, nil
}

// unlink removes the non-directory entry base: a file, or a symbolic link
// itself (never its target). It fails on a directory.
func (h *dirHandle) unlink(base string) error {
	err := ignoringEINTR(func() error { return unix.Unlinkat(int(h.f.Fd()), base, 0) })
	if err != nil {
		return &os.PathError{Op: "unlinkat", Path: base, Err: err}
	}
	return nil
}

// rmdir removes the entry base only if it is an empty directory; the
// kernel checks emptiness atomically, so a file created in it concurrently
// makes rmdir fail instead of being lost.
func (h *dirHandle) rmdir(base string) error {
	err := ignoringEINTR(func() error { return unix.Unlinkat(int(h.f.Fd()), base, unix.AT_REMOVEDIR) })
	if err != nil {
		return &os.PathError{Op: "rmdirat", Path: base, Err: err}
	}
	return nil
}

func (h *dirHandle) close() error { return h.f.Close() }

// syncDir flushes the directory name (relative to r) to stable storage, so
// that entries renamed into it survive a crash.
func syncDir(r *os.Root, name string) error {
	f, err := r.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
