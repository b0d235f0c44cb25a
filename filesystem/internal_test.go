package filesystem

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

func newTestDriver(t *testing.T) *Driver {
	t.Helper()
	d, err := New(context.Background(), Config{RootDirectory: filepath.Join(t.TempDir(), "root")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// withPruner makes every rename in install, for the first n attempts,
// find its destination's parents pruned away, as if a concurrent
// DeleteFiles had emptied and removed them in the instant between mkdir
// and rename. It returns a pointer to the number of prunes that removed
// a directory.
func withPruner(t *testing.T, d *Driver, n int) *int {
	t.Helper()
	pruned := 0
	calls := 0
	testHookBeforeRename = func(dst string) {
		calls++
		if calls > n {
			return
		}
		parent := driver.ParentDir(dst)
		if _, err := d.root.Stat(osName(parent)); err == nil {
			d.prune(parent)
			if _, err := d.root.Stat(osName(parent)); !isNotExist(err) {
				t.Errorf("pruner could not remove %s: %v", parent, err)
			}
			pruned++
		}
	}
	t.Cleanup(func() { testHookBeforeRename = nil })
	return &pruned
}

// TestWriterWinsOverPruner checks the retry in install deterministically:
// every way a file comes into being survives its directory being pruned
// between mkdir and rename, several times over.
func TestWriterWinsOverPruner(t *testing.T) {
	ctx := context.Background()
	const prunes = 4
	for _, tc := range []struct {
		name  string
		write func(d *Driver, path string, content []byte) error
	}{
		{"PutContent", func(d *Driver, path string, content []byte) error {
			return d.PutContent(ctx, path, content)
		}},
		{"Commit", func(d *Driver, path string, content []byte) error {
			w, err := d.Writer(ctx, path, false)
			if err != nil {
				return err
			}
			if _, err := w.Write(content); err != nil {
				return err
			}
			return w.Commit(ctx)
		}},
		{"Move", func(d *Driver, path string, content []byte) error {
			if err := d.PutContent(ctx, "/src/file", content); err != nil {
				return err
			}
			return d.Move(ctx, "/src/file", path)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDriver(t)
			if err := d.PutContent(ctx, "/a/b/c/keep", []byte("k")); err != nil {
				t.Fatal(err)
			}
			if err := d.Delete(ctx, "/a/b/c/keep"); err != nil {
				t.Fatal(err)
			}
			pruned := withPruner(t, d, prunes+2) // the Move's PutContent uses up two attempts
			const path = "/a/b/c/file"
			if err := tc.write(d, path, []byte("content")); err != nil {
				t.Fatalf("write with a pruner racing: %v", err)
			}
			if *pruned < prunes {
				t.Fatalf("the pruner removed the directory %d times, want at least %d: the race was not exercised", *pruned, prunes)
			}
			got, err := d.GetContent(ctx, path)
			if err != nil || string(got) != "content" {
				t.Fatalf("GetContent = %q, %v; want the written content", got, err)
			}
		})
	}
}

// TestMaxThreadsBoundsOperations fills every slot and checks that an
// operation then waits for one (and gives up with its context).
func TestMaxThreadsBoundsOperations(t *testing.T) {
	d := newTestDriver(t)
	if cap(d.sem) != DefaultMaxThreads {
		t.Fatalf("slots = %d, want %d", cap(d.sem), DefaultMaxThreads)
	}
	if err := d.PutContent(context.Background(), "/f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for range cap(d.sem) {
		d.sem <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.GetContent(ctx, "/f"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetContent with every slot taken: %v, want context.DeadlineExceeded", err)
	}
	<-d.sem // one slot free again
	got, err := d.GetContent(context.Background(), "/f")
	if err != nil || !bytes.Equal(got, []byte("x")) {
		t.Fatalf("GetContent with a free slot = %q, %v", got, err)
	}
	for range cap(d.sem) - 1 {
		<-d.sem
	}
}

func TestEscapeErrorLearnt(t *testing.T) {
	d := newTestDriver(t)
	if escapeErr == nil {
		t.Fatal("the error os.Root gives for an escaping name was not learnt")
	}
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(d.rootDir, "out")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.root.Stat("out"); !isEscape(err) {
		t.Fatalf("Stat through a link out of the root: %v, not recognised as an escape", err)
	}
}

func TestUploadStateKeyedByPath(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	w, err := d.Writer(ctx, "/up/load", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dir := uploadDir("/up/load")
	side, err := d.root.ReadFile(filepath.Join(dir, uploadPath))
	if p, id := parseSidecar(filepath.Base(dir), side); err != nil || p != "/up/load" || id == "" {
		t.Fatalf("sidecar = %q, %v; want the path and an upload id", side, err)
	}
	data, err := d.root.ReadFile(filepath.Join(dir, uploadData))
	if err != nil || string(data) != "abc" {
		t.Fatalf("staged data = %q, %v", data, err)
	}
	if uploadDir("/up/load2") == dir {
		t.Fatal("two paths share upload state")
	}
}
