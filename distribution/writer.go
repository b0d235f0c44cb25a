package distribution

import (
	"context"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/stowage-dev/stowage/driver"
)

// fileWriter presents a stowage FileWriter as a distribution FileWriter.
// The two interfaces have the same methods; only the errors are re-typed.
type fileWriter struct {
	a *Driver
	w driver.FileWriter
}

var _ storagedriver.FileWriter = (*fileWriter)(nil)

// Write implements storagedriver.FileWriter.
func (fw *fileWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	return n, fw.a.mapErr(err)
}

// Close implements storagedriver.FileWriter. It persists what was written,
// for a later Writer(ctx, path, true), even when the context given to
// Writer has ended (the registry closes after its request is over).
func (fw *fileWriter) Close() error { return fw.a.mapErr(fw.w.Close()) }

// Size implements storagedriver.FileWriter: the bytes written in all
// sessions, also after Close and Commit (the registry reads it after Close
// to record the upload's offset).
func (fw *fileWriter) Size() int64 { return fw.w.Size() }

// Cancel implements storagedriver.FileWriter.
func (fw *fileWriter) Cancel(ctx context.Context) error { return fw.a.mapErr(fw.w.Cancel(ctx)) }

// Commit implements storagedriver.FileWriter.
func (fw *fileWriter) Commit(ctx context.Context) error { return fw.a.mapErr(fw.w.Commit(ctx)) }
