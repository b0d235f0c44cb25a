package filesystem

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/stowage-dev/stowage/driver"
)

// The driver's own bookkeeping lives under the root in bookDir, whose name
// holds '#', a character no valid path component may hold: no driver path
// can reach it or collide with it, and List and Walk, which hide every
// entry whose name is not a valid component, never show it. Being under the
// root, its files are on the root's filesystem, so renaming them into place
// is atomic.
const (
	bookDir    = "#stowage"
	tmpDir     = bookDir + "/tmp"     // PutContent's staged files
	uploadsDir = bookDir + "/uploads" // uncommitted Writer state, one dir per path
	trashDir   = bookDir + "/trash"   // directories being deleted

	uploadData = "data" // the staged bytes of an upload
	uploadPath = "path" // sidecar naming the driver path of an upload
)

// Permissions of what the driver creates, before the umask.
const (
	dirPerm  fs.FileMode = 0o777
	filePerm fs.FileMode = 0o666
)

// osName maps a valid driver path to a name relative to the root: "/" is
// ".", "/a/b" is "a/b" (with the OS separator). Paths are validated before
// they get here, so the name has no "." or ".." components and stays below
// the root lexically; os.Root keeps symbolic links from leading out.
func osName(path string) string {
	if path == "/" {
		return "."
	}
	return filepath.FromSlash(strings.TrimPrefix(path, "/"))
}

// bookName maps a slash-separated bookkeeping name to an OS name.
func bookName(parts ...string) string {
	return filepath.FromSlash(strings.Join(parts, "/"))
}

// uploadDir is the bookkeeping directory that holds the uncommitted Writer
// state for path, keyed by the path's SHA-256 so that any driver over the
// same root finds it.
func uploadDir(path string) string {
	sum := sha256.Sum256([]byte(path))
	return bookName(uploadsDir, hex.EncodeToString(sum[:]))
}

// tempName returns a fresh, unguessable name under the bookkeeping dir.
func tempName(dir string) string {
	return bookName(dir, rand.Text())
}

// escapeErr is the error os.Root reports, wrapped in an *fs.PathError, for
// a name that leads outside the root (through "..", an absolute symbolic
// link, or a relative one that climbs out). os does not export it, so it is
// learnt once from a name that must escape.
var (
	escapeOnce sync.Once
	escapeErr  error
)

func learnEscapeErr(r *os.Root) {
	escapeOnce.Do(func() {
		_, err := r.Lstat("..")
		var pe *fs.PathError
		if errors.As(err, &pe) {
			escapeErr = pe.Err
		}
	})
}

// isEscape reports whether err says a name led outside the root.
func isEscape(err error) bool {
	return escapeErr != nil && errors.Is(err, escapeErr)
}

// isNotExist reports whether err says nothing exists at a name: the name
// or one of its parents is missing, or a parent is not a directory.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// errEscapes is the reason given when a path leads out of the root.
const errEscapes = "leads outside the root through a symbolic link"

// readErr maps an error of a read-like operation (GetContent, Reader, Stat,
// List, Walk, a Move source, Delete) on path: nothing there, or a symbolic
// link leading outside the root, is a *PathNotFoundError, as the link is
// invisible to List and Walk; anything else is wrapped with the driver's
// name and the operation.
func readErr(op, path string, err error) error {
	if isNotExist(err) || isEscape(err) {
		return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	return opErr(op, path, err)
}

// writeErr maps an error of a write-like operation (PutContent, Commit, a
// Move destination): a symbolic link leading outside the root is an
// *InvalidPathError; anything else is wrapped.
func writeErr(op, path string, err error) error {
	if isEscape(err) {
		return &driver.InvalidPathError{Path: path, DriverName: DriverName, Reason: errEscapes}
	}
	return opErr(op, path, err)
}

func opErr(op, path string, err error) error {
	return fmt.Errorf("%s: %s %s: %w", DriverName, op, path, err)
}

func notFound(path string) error {
	return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
}
