// Package driver defines the storage contract every stowage backend
// implements, the errors they return, the path rules they share, and the
// helpers (walking, batched deletion, parameter parsing, a factory registry)
// that are written once here instead of in every backend.
//
// The four cloud backends (s3, gcs, azure, swift) are small adapters: each
// implements the narrow Backend interface (backend.go) with its SDK's
// requests, and Store (store.go, storedelete.go) turns it into a
// StorageDriver, doing in one place everything that comes before and after
// those requests: path and context checks, error mapping (wrap.go), Stat of
// directories, List paging, the flat Walk (flatwalk.go, walk.go), directory
// Delete, bulk deletes with per-item retries, URLFor options. Their
// configurations embed CommonConfig (config.go), their keys come from
// KeyMap (keys.go), and what each can do is a Capabilities record, which
// also tells the conformance suite which leaves apply.
//
// The contract keeps the shape registry code already knows from distribution
// and GitLab's container registry, so adopting stowage is a small change.
// The conformance suite in package conformance is the executable proof of
// the semantics written in these doc comments.
package driver

import (
	"context"
	"io"
	"time"
)

// StorageDriver is a content store addressed by slash-separated paths.
//
// Every method validates its path first (see ValidatePath) and returns an
// *InvalidPathError before any I/O when it is malformed. "/" is a valid path
// only for Stat, List and Walk. Every method honours ctx: a cancelled
// context makes the call fail with an error matching ctx.Err() and, when it
// is cancelled before the call starts, changes nothing.
type StorageDriver interface {
	// Name returns the backend's name, e.g. "s3" or "filesystem".
	Name() string

	// GetContent returns the whole content of the file at path, or a
	// *PathNotFoundError when there is no file there (a directory is not a
	// file).
	GetContent(ctx context.Context, path string) ([]byte, error)

	// PutContent stores content at path atomically, replacing any previous
	// file: a concurrent reader sees the old content or the new, never a mix.
	// Missing parent directories are created.
	PutContent(ctx context.Context, path string, content []byte) error

	// Reader returns a stream of the file's content starting at offset. An
	// offset equal to the size gives an empty stream; a negative offset or
	// one beyond the size gives an *InvalidOffsetError; a missing file gives
	// a *PathNotFoundError.
	Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error)

	// Writer returns a FileWriter for path. Written content is invisible
	// until Commit. Close without Commit keeps the uploaded-but-uncommitted
	// state, which Writer(ctx, path, true) resumes, also from another driver
	// instance over the same root (another process).
	//
	// With append false any previous uncommitted state for path is
	// discarded and the writer starts empty (a committed file at path stays
	// readable until Commit replaces it). With append true, Writer resumes
	// the uncommitted state for path when there is one; otherwise, when a
	// file is committed at path (a zero-byte one included), it continues
	// that file: Size() starts at the file's size, Commit makes the file
	// the old content followed by what was written, and until then readers
	// keep seeing the old file. Only when there is neither uncommitted
	// state nor a committed file does Writer(ctx, path, true) return a
	// *PathNotFoundError (a directory is not a file).
	//
	// ctx bounds Writer itself and the writer's Write calls. Close does not
	// depend on it: a registry closes the writer after its request's
	// context has ended (the client went away), and Close still persists
	// what was written, under its own bounded timeout, so that it can be
	// resumed. Commit and Cancel take their own context.
	Writer(ctx context.Context, path string, append bool) (FileWriter, error)

	// Stat describes the file or directory at path; *PathNotFoundError when
	// neither exists. Directories exist implicitly while they hold a file.
	Stat(ctx context.Context, path string) (FileInfo, error)

	// List returns the full paths of the direct children (files and
	// directories) of the directory at path, in lexical order. A missing
	// directory, or a path naming a file, gives a *PathNotFoundError.
	List(ctx context.Context, path string) ([]string, error)

	// Move moves the file at sourcePath to destPath, overwriting destPath
	// and creating its parents; the source is removed. A missing source
	// gives a *PathNotFoundError and changes nothing.
	Move(ctx context.Context, sourcePath, destPath string) error

	// Delete removes the file at path, or the directory at path and
	// everything under it, using the backend's bulk API. Deleting "/a/b"
	// never touches "/a/bc". A missing path gives a *PathNotFoundError.
	Delete(ctx context.Context, path string) error

	// DeleteFiles removes exactly the files named, in ceil(N/B) requests for
	// a backend whose bulk-delete limit is B, with no list or stat per file:
	//
	//   - every path is validated first; one invalid path fails the whole
	//     call with an *InvalidPathError before anything is deleted;
	//   - duplicates are folded;
	//   - a path that does not exist counts as deleted (idempotent), and so
	//     does a path that names a directory: DeleteFiles never removes a
	//     directory, that is Delete's job;
	//   - it returns the number of unique paths deleted; every path that
	//     could not be deleted is listed with its cause in one
	//     *DeleteFilesError, so that n plus the failures always equals the
	//     number of unique paths.
	//
	// Backends with real directories (filesystem, inmemory) then remove the
	// directories left empty, up to but never including the root, and never
	// at the expense of a file a concurrent writer is creating there.
	DeleteFiles(ctx context.Context, paths []string) (int, error)

	// URLFor returns a URL from which the file can be fetched directly
	// (presigned or temporary). options may hold "method" ("GET" or "HEAD",
	// default "GET") and "expiry" (a time.Time). A backend that cannot make
	// such URLs returns an error matching ErrUnsupportedMethod.
	URLFor(ctx context.Context, path string, options map[string]any) (string, error)

	// Walk calls f for every file and directory under path (path itself
	// excluded), in walk order (see WalkKey): lexical, a directory before
	// its contents, as an object store lists keys. f may return ErrSkipDir
	// for a directory to leave its contents out (for a file it has no
	// effect); any other error stops the walk and is returned. A missing
	// path, or one naming a file, gives a *PathNotFoundError. Options set a
	// start-after hint (WithStartAfter) and a bounded parallel, unordered
	// walk (WithParallel).
	Walk(ctx context.Context, path string, f WalkFn, opts ...WalkOption) error
}

// FileInfo describes a file or directory.
type FileInfo interface {
	// Path is the full path, as given to the driver.
	Path() string
	// Size is the file's size in bytes; 0 for a directory.
	Size() int64
	// ModTime is the last modification time; it may be zero for a
	// directory of a backend without real directories.
	ModTime() time.Time
	// IsDir reports whether the path is a directory.
	IsDir() bool
}

// WalkFn is called by Walk for every entry; see StorageDriver.Walk.
type WalkFn func(fi FileInfo) error

// FileWriter writes a file in one or more sessions; see StorageDriver.Writer.
//
// Its states: open, closed (uncommitted state kept for a later resume),
// committed and cancelled. Write works only while open. Close after Commit
// or Cancel just releases resources and returns nil; a second Close returns
// ErrWriterClosed. Commit and Cancel work only while open. A call that is not
// allowed returns an error matching ErrWriterClosed, ErrWriterCommitted or
// ErrWriterCancelled and changes nothing.
type FileWriter interface {
	io.WriteCloser
	// Size is the number of bytes written so far in all sessions (for a
	// writer continuing a committed file, the file's size included). It
	// holds in every state: after Close (a registry reads it then to
	// record the upload offset) and after Commit it is the total, after
	// Cancel it is 0.
	Size() int64
	// Cancel discards everything written, in all sessions. A committed
	// file the writer was continuing is left as it was.
	Cancel(ctx context.Context) error
	// Commit makes the content visible at the writer's path, atomically.
	Commit(ctx context.Context) error
}

// FileInfoFields is a plain FileInfo for backends and tests to return.
type FileInfoFields struct {
	FilePath    string
	FileSize    int64
	FileModTime time.Time
	Dir         bool
}

// Path implements FileInfo.
func (f FileInfoFields) Path() string { return f.FilePath }

// Size implements FileInfo.
func (f FileInfoFields) Size() int64 { return f.FileSize }

// ModTime implements FileInfo.
func (f FileInfoFields) ModTime() time.Time { return f.FileModTime }

// IsDir implements FileInfo.
func (f FileInfoFields) IsDir() bool { return f.Dir }
