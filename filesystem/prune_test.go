package filesystem_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

func TestPruneStopsAtRoot(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		op   func(d deleteMover) error
		keep []string // what the root holds afterwards besides the bookkeeping dir
	}{
		{"DeleteFiles", func(d deleteMover) error {
			_, err := d.DeleteFiles(ctx, []string{"/a/b/c/f"})
			return err
		}, nil},
		{"DeleteFile", func(d deleteMover) error { return d.Delete(ctx, "/a/b/c/f") }, nil},
		{"DeleteDir", func(d deleteMover) error { return d.Delete(ctx, "/a/b") }, nil},
		{"DeleteTop", func(d deleteMover) error { return d.Delete(ctx, "/a") }, nil},
		{"Move", func(d deleteMover) error { return d.Move(ctx, "/a/b/c/f", "/g") }, []string{"g"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			d := newDriver(t, root)
			if err := d.PutContent(ctx, "/a/b/c/f", []byte("f")); err != nil {
				t.Fatal(err)
			}
			if err := tc.op(d); err != nil {
				t.Fatal(err)
			}
			want := append([]string{bookDir}, tc.keep...)
			if got := osEntries(t, root); !slices.Equal(got, want) {
				t.Fatalf("root holds %v, want %v", got, want)
			}
			if l := mustList(t, d, "/"); len(l) != len(tc.keep) {
				t.Fatalf("List(/) = %v", l)
			}
		})
	}
}

type deleteMover interface {
	DeleteFiles(ctx context.Context, paths []string) (int, error)
	Delete(ctx context.Context, path string) error
	Move(ctx context.Context, src, dst string) error
}

func TestPruneStopsAtNonEmptyDirectory(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "root")
	d := newDriver(t, root)
	for _, p := range []string{"/x/y/f1", "/x/z/f2", "/x/y2/w/f3"} {
		if err := d.PutContent(ctx, p, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.DeleteFiles(ctx, []string{"/x/y/f1", "/x/y2/w/f3"}); n != 2 || err != nil {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	if got := osEntries(t, filepath.Join(root, "x")); !slices.Equal(got, []string{"z"}) {
		t.Fatalf("/x holds %v, want [z]", got)
	}
	// A directory path and an empty directory made behind the driver's
	// back count as deleted and stay: DeleteFiles never removes a directory.
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o777); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeleteFiles(ctx, []string{"/x/z", "/empty"}); n != 2 || err != nil {
		t.Fatalf("DeleteFiles of directories = %d, %v", n, err)
	}
	if b, err := d.GetContent(ctx, "/x/z/f2"); err != nil || string(b) != "/x/z/f2" {
		t.Fatalf("DeleteFiles of a directory touched its file: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(root, "empty")); err != nil {
		t.Fatalf("DeleteFiles removed a directory: %v", err)
	}
}

// TestDeleteFilesRacesWriter deletes the last file of a directory while
// another goroutine creates a file in that directory (or below it), round
// after round: pruning must never take the new file with it.
func TestDeleteFilesRacesWriter(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t, filepath.Join(t.TempDir(), "root"))
	rounds := 200
	if testing.Short() {
		rounds = 30
	}
	writers := []struct {
		name  string
		write func(i int, path string) error
	}{
		{"PutContent", func(i int, path string) error { return d.PutContent(ctx, path, []byte(path)) }},
		{"Commit", func(i int, path string) error {
			w, err := d.Writer(ctx, path, false)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(w, path); err != nil {
				return err
			}
			return w.Commit(ctx)
		}},
		{"Move", func(i int, path string) error {
			return d.Move(ctx, fmt.Sprintf("/src/%d", i), path)
		}},
	}
	deleters := []struct {
		name string
		del  func(path string) error
	}{
		{"DeleteFiles", func(path string) error {
			_, err := d.DeleteFiles(ctx, []string{path})
			return err
		}},
		{"Delete", func(path string) error { return d.Delete(ctx, path) }},
	}
	for i := range rounds {
		wr, dl := writers[i%len(writers)], deleters[(i/len(writers))%len(deleters)]
		dir := fmt.Sprintf("/r%d/d", i)
		old := dir + "/old"
		target := dir + "/new"
		if i%2 == 1 {
			target = dir + "/sub/new" // the writer makes a directory below the pruned one
		}
		if err := d.PutContent(ctx, old, []byte("old")); err != nil {
			t.Fatal(err)
		}
		if wr.name == "Move" {
			if err := d.PutContent(ctx, fmt.Sprintf("/src/%d", i), []byte(target)); err != nil {
				t.Fatal(err)
			}
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var werr, derr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			werr = wr.write(i, target)
		}()
		go func() {
			defer wg.Done()
			<-start
			derr = dl.del(old)
		}()
		close(start)
		wg.Wait()
		if werr != nil || derr != nil {
			t.Fatalf("round %d (%s vs %s): write: %v, delete: %v", i, wr.name, dl.name, werr, derr)
		}
		if b, err := d.GetContent(ctx, target); err != nil || string(b) != target {
			t.Fatalf("round %d (%s vs %s): the new file was lost: %q, %v", i, wr.name, dl.name, b, err)
		}
		if _, err := d.Stat(ctx, old); !driver.IsNotFound(err) {
			t.Fatalf("round %d: the deleted file survived: %v", i, err)
		}
	}
}
