package azure_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

const kib = 1 << 10

// writerBackend is backend() with 64 KiB blocks.
func writerBackend() cloudtest.Backend {
	return backendWith(func(c *azure.Config) { c.ChunkSize = 64 * kib })
}

// writerDriver returns a new driver instance over root with 64 KiB blocks
// and an op classifier, as a new process would build it.
func writerDriver(t testing.TB, root string) (driver.StorageDriver, *cloudtest.Ops) {
	t.Helper()
	d, _, o := writerBackend().Counting(t, root)
	return d, o
}

// ids returns the decoded block IDs the driver gives generation gen,
// indexes from..to.
func ids(gen, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("stowage-%08x-%08x", gen, i))
	}
	return out
}

// stagingName returns the name of the staging blob of the upload to p
// under root.
func stagingName(root, p string) string { return root + "/~stowage/uploads/" + p[1:] }

// Sessions staged as blocks of the hidden staging blob on Azurite, each
// on a new driver instance: nothing is visible (to List Blobs, List and
// Stat) while the staging blob has only uncommitted blocks, a new driver
// instance resumes from Get Block List and numbers on, and Commit makes
// the file a copy of the staging blob, whose committed block list is
// exactly the data blocks in order, with fixed-length IDs, and deletes
// the staging blob.
func TestWriterBlocksAcrossDrivers(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	name, staging := root+"/blob", stagingName(root, "/blob")
	content := cloudtest.PatternBytes(300*kib + 123)
	var sessions int
	cloudtest.WriteSessions(t, cloudtest.Sessions{
		Path:    "/blob",
		Content: content,
		Cuts:    []int{100 * kib, 130*kib + 7, 130*kib + 8, len(content)}, // sessions end at these offsets
		New: func(t testing.TB) (driver.StorageDriver, *cloudtest.Ops) {
			// Every session before this one ended in Close: the blob
			// has no committed block yet.
			if got := m.names(root + "/"); len(got) != 0 {
				t.Fatalf("before session %d: azblob lists %v, want nothing before Commit", sessions, got)
			}
			sessions++
			return writerDriver(t, root)
		},
		// 100 KiB: one 64 KiB block in Write, the 36 KiB rest at Close.
		First: map[string]int{"GetBlockList": 1, "PutBlock": 2},
		// The last session wrote 170 KiB: two blocks in Write, and Commit
		// stages the rest, commits the staging blob, copies it to the
		// file and deletes it.
		Commit: map[string]int{"PutBlock": 1, "PutBlockList": 1, "CopyBlob": 1, "DeleteBlob": 1},
		AfterFirst: func(t testing.TB) {
			if got, want := m.uncommitted(staging), ids(1, 1, 2); !slices.Equal(got, want) {
				t.Fatalf("uncommitted blocks %v, want %v", got, want)
			}
			if got, want := m.stored(root+"/"), []string{"uncommitted: " + staging}; !slices.Equal(got, want) {
				t.Errorf("azblob holds %v with only uncommitted blocks, want %v", got, want)
			}
			d, _ := writerDriver(t, root)
			if _, err := d.Stat(ctx, "/blob"); !isNotFound(err) {
				t.Errorf("Stat(/blob) before Commit: %v, want PathNotFoundError", err)
			}
		},
	})
	if got := m.get(name); !bytes.Equal(got, content) {
		t.Fatalf("azblob reads %d bytes, want the %d written", len(got), len(content))
	}
	// Blocks: 64K 36K | 30K+7 | 1 | 64K 64K 42K+115.
	if got, want := m.committed(name), ids(1, 1, 7); !slices.Equal(got, want) {
		t.Errorf("committed blocks %v, want %v", got, want)
	}
	if got, want := m.stored(root+"/"), []string{name}; !slices.Equal(got, want) {
		t.Errorf("azblob holds %v after Commit, want %v (no staging blob)", got, want)
	}
	// Appending now continues the committed file on its block list (see
	// continue_test.go); Cancel leaves the file as it was and deletes the
	// staging blob's copy of it.
	d, o := writerDriver(t, root)
	w := cloudtest.Session(t, d, "/blob", true, int64(len(content)), nil)
	cloudtest.WantOps(t, "Writer(append) after Commit", o.Take(), map[string]int{"GetBlockList": 3, "CopyBlob": 1, "PutBlock": 1})
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Cancel of the continuation", o.Take(), map[string]int{"GetBlockList": 1, "DeleteBlob": 1})
	if got := m.get(name); !bytes.Equal(got, content) {
		t.Fatalf("azblob reads %d bytes after a cancelled continuation, want the %d committed", len(got), len(content))
	}
}

// A non-append Writer does not delete the blocks an earlier writer left,
// so it starts a new generation and marks it at once; a resume then picks
// the new generation, and Cancel deletes the staging blob with every
// block of both.
func TestWriterGenerations(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	name, staging := root+"/f", stagingName(root, "/f")
	d, o := writerDriver(t, root)

	w := cloudtest.Session(t, d, "/f", false, 0, []byte("old uncommitted"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	o.Take()
	w = cloudtest.Session(t, d, "/f", false, 0, nil)
	cloudtest.WantOps(t, "new writer over old blocks", o.Take(), map[string]int{"GetBlockList": 1, "PutBlock": 1})
	if got, want := m.uncommitted(staging), append(ids(1, 1, 1), ids(2, 0, 0)...); !sameSet(got, want) {
		t.Fatalf("uncommitted blocks %v, want %v", got, want)
	}
	// Abandoned without Close (a crashed process): the resume still
	// finds the new, empty generation, not the old content.
	_ = w
	w = cloudtest.Session(t, d, "/f", true, 0, []byte("new"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = cloudtest.Session(t, d, "/f", true, 3, nil)
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.stored(root + "/"); len(got) != 0 {
		t.Fatalf("azblob holds %v after Cancel, want nothing (no staging blob)", got)
	}
	if _, err := d.Writer(ctx, "/f", true); !isNotFound(err) {
		t.Fatalf("Writer(append) after Cancel: %v, want PathNotFoundError", err)
	}
	if got := m.names(root + "/"); len(got) != 0 {
		t.Fatalf("azblob lists %v after Cancel", got)
	}

	w = cloudtest.Session(t, d, "/f", false, 0, []byte("final"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := string(m.get(name)); got != "final" {
		t.Errorf("azblob reads %q, want %q", got, "final")
	}
	if got, want := m.stored(root+"/"), []string{name}; !slices.Equal(got, want) {
		t.Errorf("azblob holds %v after Commit, want %v (no staging blob)", got, want)
	}
}

// A writer that finds no uncommitted blocks and fits one chunk commits with
// one Put Blob: two requests in all.
func TestWriterSmallFileOnePutBlob(t *testing.T) {
	root := freshRoot(t)
	d, o := writerDriver(t, root)
	w := cloudtest.Session(t, d, "/f", false, 0, []byte("small"))
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "small file", o.Take(), map[string]int{"GetBlockList": 1, "PutBlob": 1})
	if got := string(newIndependent(t).get(root + "/f")); got != "small" {
		t.Errorf("azblob reads %q", got)
	}
}

// Uncommitted blocks staged by another tool, with IDs of another length,
// are not resumed: on the file's blob they are no file and no upload; on
// the staging blob, staging next to them fails with a clear error rather
// than mixing content.
func TestWriterForeignBlocks(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d, _ := writerDriver(t, root)
	ctx := context.Background()
	bb := m.c.NewBlockBlobClient(root + "/f")
	if _, err := bb.StageBlock(ctx, "Zm9yZWlnbg==", nopSeeker([]byte("foreign")), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Writer(ctx, "/f", true); !isNotFound(err) {
		t.Errorf("Writer(append) over foreign blocks on the file: %v, want PathNotFoundError", err)
	}
	bb = m.c.NewBlockBlobClient(stagingName(root, "/f"))
	if _, err := bb.StageBlock(ctx, "Zm9yZWlnbg==", nopSeeker([]byte("foreign")), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Writer(ctx, "/f", true); !isNotFound(err) {
		t.Errorf("Writer(append) over foreign blocks: %v, want PathNotFoundError", err)
	}
	_, err := d.Writer(ctx, "/f", false)
	if err == nil || isNotFound(err) {
		t.Errorf("Writer over foreign blocks of another ID length: %v, want a staging error", err)
	}
}

func isNotFound(err error) bool {
	var nf *driver.PathNotFoundError
	return errors.As(err, &nf) && nf.DriverName == azure.DriverName
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
