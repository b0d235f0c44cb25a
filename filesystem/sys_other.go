//go:build !unix

package filesystem

import (
	"os"
	"path/filepath"
	"syscall"
)

// dirHandle is a directory below the root. Without *at system calls the
// checks below are made by name through os.Root, which keeps them inside
// the root but leaves a short window between check and removal.
type dirHandle struct {
	r    *os.Root
	name string
}

func openDir(r *os.Root, name string) (*dirHandle, error) {
	fi, err := r.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.ENOTDIR}
	}
	return &dirHandle{r: r, name: name}, nil
}

func (h *dirHandle) kind(base string) (entryKind, error) {
	fi, err := h.r.Lstat(filepath.Join(h.name, base))
	if err != nil {
		return kindOther, err
	}
	switch {
	case fi.IsDir():
		return kindDir, nil
	case fi.Mode()&os.ModeSymlink != 0:
		return kindSymlink, nil
	}
	return kindOther, nil
}

func (h *dirHandle) unlink(base string) error {
	return h.r.Remove(filepath.Join(h.name, base))
}

func (h *dirHandle) rmdir(base string) error {
	name := filepath.Join(h.name, base)
	fi, err := h.r.Lstat(name)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &os.PathError{Op: "rmdir", Path: name, Err: syscall.ENOTDIR}
	}
	return h.r.Remove(name)
}

func (h *dirHandle) close() error { return nil }

// syncDir is a no-op where directories cannot be opened for syncing.
func syncDir(*os.Root, string) error { return nil }
