package filesystem_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/filesystem"
)

// bookDir is the driver's bookkeeping directory, as the package documents it.
const bookDir = "#stowage"

func walkAll(t *testing.T, d driver.StorageDriver, root string) []string {
	t.Helper()
	var out []string
	if err := d.Walk(context.Background(), root, func(fi driver.FileInfo) error {
		out = append(out, fi.Path())
		return nil
	}); err != nil {
		t.Fatalf("Walk(%s): %v", root, err)
	}
	return out
}

func mustList(t *testing.T, d driver.StorageDriver, dir string) []string {
	t.Helper()
	l, err := d.List(context.Background(), dir)
	if err != nil {
		t.Fatalf("List(%s): %v", dir, err)
	}
	return l
}

func osEntries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestBookkeepingInvisible(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	d := newDriver(t, root)
	ctx := context.Background()
	if err := d.PutContent(ctx, "/a/f", []byte("f")); err != nil {
		t.Fatal(err)
	}
	w, err := d.Writer(ctx, "/a/uncommitted", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("pending")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Entries no valid path can name, made behind the driver's back.
	for _, name := range []string{"bad name", "x#y", "~tilde", "a/has space", "a/#staged"} {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), []byte("junk"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Contains(osEntries(t, root), bookDir) {
		t.Fatalf("no bookkeeping directory %s in the root: %v", bookDir, osEntries(t, root))
	}
	if l := mustList(t, d, "/"); !slices.Equal(l, []string{"/a"}) {
		t.Errorf("List(/) = %v, want [/a]", l)
	}
	if l := mustList(t, d, "/a"); !slices.Equal(l, []string{"/a/f"}) {
		t.Errorf("List(/a) = %v, want [/a/f]", l)
	}
	if got := walkAll(t, d, "/"); !slices.Equal(got, []string{"/a", "/a/f"}) {
		t.Errorf("Walk(/) = %v, want [/a /a/f]", got)
	}
	for _, p := range []string{"/" + bookDir, "/" + bookDir + "/tmp", "/x#y"} {
		if _, err := d.Stat(ctx, p); !isInvalidPath(err) {
			t.Errorf("Stat(%s): %v, want InvalidPathError", p, err)
		}
	}
}

// TestCrashLeftoversInvisible plants what a process killed at the worst
// moments leaves behind, and checks that a new driver over the root shows
// none of it and works around it.
func TestCrashLeftoversInvisible(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	ctx := context.Background()
	d1 := newDriver(t, root)
	if err := d1.PutContent(ctx, "/a/f", []byte("old")); err != nil {
		t.Fatal(err)
	}
	book := func(parts ...string) string {
		return filepath.Join(append([]string{root, bookDir}, parts...)...)
	}
	plant := func(path, content string, age time.Duration) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o666); err != nil {
			t.Fatal(err)
		}
		if age > 0 {
			old := time.Now().Add(-age)
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Killed in PutContent before the rename: a recent and an old staged file.
	plant(book("tmp", "RECENT"), "new-but-partial", 0)
	plant(book("tmp", "STALE"), "stale", 72*time.Hour)
	// Killed in Delete after the directory was moved aside.
	plant(book("trash", "T1", "dir", "file"), "deleted", 0)
	// Killed in Commit after the rename, before the cleanup: only the
	// sidecar of /a/g's upload is left.
	w, err := d1.Writer(ctx, "/a/g", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("g")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	uploads, err := os.ReadDir(book("uploads"))
	if err != nil || len(uploads) != 1 {
		t.Fatalf("uploads: %v, %v; want one", uploads, err)
	}
	if err := os.Remove(book("uploads", uploads[0].Name(), "data")); err != nil {
		t.Fatal(err)
	}

	d2 := newDriver(t, root)
	if b, err := d2.GetContent(ctx, "/a/f"); err != nil || string(b) != "old" {
		t.Fatalf("GetContent(/a/f) = %q, %v; want the old content", b, err)
	}
	if got := walkAll(t, d2, "/"); !slices.Equal(got, []string{"/a", "/a/f"}) {
		t.Errorf("Walk(/) = %v, want [/a /a/f]", got)
	}
	if got := osEntries(t, book("tmp")); !slices.Equal(got, []string{"RECENT"}) {
		t.Errorf("staged files after New = %v, want the stale one swept and the recent one kept", got)
	}
	if got := osEntries(t, book("trash")); len(got) != 0 {
		t.Errorf("trash after New = %v, want it swept", got)
	}
	if _, err := d2.Writer(ctx, "/a/g", true); !driver.IsNotFound(err) {
		t.Errorf("resuming an upload whose data is gone: %v, want PathNotFoundError", err)
	}
	// Everything works around the leftovers.
	if err := d2.PutContent(ctx, "/a/f", []byte("new")); err != nil {
		t.Fatal(err)
	}
	w, err = d2.Writer(ctx, "/a/g", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("g2")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if l := mustList(t, d2, "/a"); !slices.Equal(l, []string{"/a/f", "/a/g"}) {
		t.Errorf("List(/a) = %v", l)
	}
	if n, err := d2.DeleteFiles(ctx, []string{"/a/f", "/a/g"}); n != 2 || err != nil {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	if got := osEntries(t, root); !slices.Equal(got, []string{bookDir}) {
		t.Errorf("root holds %v after deleting everything, want only %s", got, bookDir)
	}
}

func TestResumeFromNewDriver(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	ctx := context.Background()
	const path = "/docker/registry/v2/repositories/r/_uploads/u1/data"
	write := func(d driver.StorageDriver, s string, wantBefore int64) {
		t.Helper()
		w, err := d.Writer(ctx, path, true)
		if err != nil {
			t.Fatalf("Writer(append): %v", err)
		}
		if w.Size() != wantBefore {
			t.Fatalf("resumed Size() = %d, want %d", w.Size(), wantBefore)
		}
		if _, err := io.WriteString(w, s); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	d1, err := filesystem.New(ctx, filesystem.Config{RootDirectory: root})
	if err != nil {
		t.Fatal(err)
	}
	w, err := d1.Writer(ctx, path, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "hello "); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d1.Close(); err != nil { // the first process is gone
		t.Fatal(err)
	}

	d2 := newDriver(t, root)
	if _, err := d2.Stat(ctx, path); !driver.IsNotFound(err) {
		t.Fatalf("uncommitted file visible: Stat = %v", err)
	}
	if _, err := d2.List(ctx, "/docker"); !driver.IsNotFound(err) {
		t.Fatalf("uncommitted file's directory visible: List = %v", err)
	}
	write(d2, "wor", 6)
	d3 := newDriver(t, root)
	write(d3, "ld", 9)

	w, err = newDriver(t, root).Writer(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := d2.GetContent(ctx, path); err != nil || string(b) != "hello world" {
		t.Fatalf("GetContent = %q, %v", b, err)
	}
	if got := osEntries(t, filepath.Join(root, bookDir, "uploads")); len(got) != 0 {
		t.Fatalf("upload state left after Commit: %v", got)
	}
	// With no upload left, appending continues the committed file; its
	// Cancel leaves no state behind either.
	w3, err := d3.Writer(ctx, path, true)
	if err != nil {
		t.Fatalf("continue after Commit: %v", err)
	}
	if w3.Size() != int64(len("hello world")) {
		t.Fatalf("continue after Commit: Size() = %d, want %d", w3.Size(), len("hello world"))
	}
	if err := w3.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w3.Close(); err != nil {
		t.Fatal(err)
	}
	if got := osEntries(t, filepath.Join(root, bookDir, "uploads")); len(got) != 0 {
		t.Fatalf("upload state left after Cancel: %v", got)
	}
}

func TestPurgeUploads(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	d := newDriver(t, root)
	ctx := context.Background()
	for _, p := range []string{"/old", "/fresh"} {
		w, err := d.Writer(ctx, p, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, "data"); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Age /old's upload by its data file's time.
	uploads := filepath.Join(root, bookDir, "uploads")
	aged := 0
	for _, name := range osEntries(t, uploads) {
		side, err := os.ReadFile(filepath.Join(uploads, name, "path"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(side), "/old\n") {
			old := time.Now().Add(-48 * time.Hour)
			if err := os.Chtimes(filepath.Join(uploads, name, "data"), old, old); err != nil {
				t.Fatal(err)
			}
			aged++
		}
	}
	if aged != 1 {
		t.Fatalf("found %d uploads for /old, want 1", aged)
	}
	n, err := d.PurgeUploads(ctx, 24*time.Hour)
	if n != 1 || err != nil {
		t.Fatalf("PurgeUploads = %d, %v; want 1", n, err)
	}
	if _, err := d.Writer(ctx, "/old", true); !driver.IsNotFound(err) {
		t.Errorf("purged upload resumed: %v", err)
	}
	w, err := d.Writer(ctx, "/fresh", true)
	if err != nil || w.Size() != 4 {
		t.Fatalf("fresh upload: %v", err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.PurgeUploads(cctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("PurgeUploads with a cancelled context: %v", err)
	}
}
