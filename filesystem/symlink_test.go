package filesystem_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// snapshot records every entry below dir with its content (files) or
// target (links), to show that nothing outside the root changed.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case de.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "link:" + target
			return err
		case de.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			out[rel] = "file:" + string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// escapeFixture is a root holding links that lead out of it: to a
// directory (relative and absolute) and to a file, plus a file of its own.
type escapeFixture struct {
	d       driver.StorageDriver
	outside string
	before  map[string]string
}

func newEscapeFixture(t *testing.T) *escapeFixture {
	t.Helper()
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	if err := os.MkdirAll(filepath.Join(outside, "sub"), 0o777); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"secret": "s3cr3t", "sub/deep": "deep"} {
		if err := os.WriteFile(filepath.Join(outside, name), []byte(content), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	d := newDriver(t, root)
	if err := d.PutContent(context.Background(), "/mine/file", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"reldir":       "../outside",
		"absdir":       outside,
		"relfile":      "../outside/secret",
		"mine/updir":   "../../outside",
		"mine/upfile":  "../../outside/secret",
		"mine/deepdir": "../../outside/sub",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return &escapeFixture{d: d, outside: outside, before: snapshot(t, base)}
}

// check fails when anything outside the root changed.
func (f *escapeFixture) checkOutside(t *testing.T) {
	t.Helper()
	after := snapshot(t, f.outside)
	for k, v := range after {
		if f.before[filepath.Join("outside", k)] != v && !(k == "." && v == "dir") {
			t.Errorf("outside changed: %s is now %q", k, v)
		}
	}
	for k, v := range f.before {
		if rel, ok := strings.CutPrefix(k, "outside"+string(filepath.Separator)); ok && after[rel] != v {
			t.Errorf("outside changed: %s was %q, now %q", rel, v, after[rel])
		}
	}
}

// Paths that lead out of the root: through a linked directory, or naming a
// link to a file (or directory) outside.
var (
	throughLinks = []string{"/reldir/secret", "/absdir/secret", "/mine/updir/secret", "/mine/deepdir/deep", "/reldir/sub/deep"}
	linkNames    = []string{"/reldir", "/absdir", "/relfile", "/mine/updir", "/mine/upfile"}
)

func isInvalidPath(err error) bool {
	var ip *driver.InvalidPathError
	return errors.As(err, &ip)
}

func TestSymlinkEscapeReads(t *testing.T) {
	f := newEscapeFixture(t)
	ctx := context.Background()
	for _, p := range append(slices.Clone(throughLinks), "/relfile", "/mine/upfile") {
		if b, err := f.d.GetContent(ctx, p); !driver.IsNotFound(err) {
			t.Errorf("GetContent(%s) = %q, %v; want PathNotFoundError", p, b, err)
		}
		if r, err := f.d.Reader(ctx, p, 0); !driver.IsNotFound(err) {
			if r != nil {
				r.Close()
			}
			t.Errorf("Reader(%s): %v; want PathNotFoundError", p, err)
		}
	}
	for _, p := range append(slices.Clone(throughLinks), linkNames...) {
		if fi, err := f.d.Stat(ctx, p); !driver.IsNotFound(err) {
			t.Errorf("Stat(%s) = %v, %v; want PathNotFoundError", p, fi, err)
		}
	}
	for _, p := range []string{"/reldir", "/absdir", "/mine/updir", "/mine/deepdir", "/reldir/sub"} {
		if l, err := f.d.List(ctx, p); !driver.IsNotFound(err) {
			t.Errorf("List(%s) = %v, %v; want PathNotFoundError", p, l, err)
		}
		if err := f.d.Walk(ctx, p, func(driver.FileInfo) error { return nil }); !driver.IsNotFound(err) {
			t.Errorf("Walk(%s): %v; want PathNotFoundError", p, err)
		}
	}
	// The links are invisible to List and Walk.
	if l, err := f.d.List(ctx, "/"); err != nil || !slices.Equal(l, []string{"/mine"}) {
		t.Errorf("List(/) = %v, %v; want [/mine]", l, err)
	}
	if l, err := f.d.List(ctx, "/mine"); err != nil || !slices.Equal(l, []string{"/mine/file"}) {
		t.Errorf("List(/mine) = %v, %v; want [/mine/file]", l, err)
	}
	var walked []string
	if err := f.d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		walked = append(walked, fi.Path())
		return nil
	}); err != nil || !slices.Equal(walked, []string{"/mine", "/mine/file"}) {
		t.Errorf("Walk(/) visited %v, %v; want [/mine /mine/file]", walked, err)
	}
	f.checkOutside(t)
}

func TestSymlinkEscapeWrites(t *testing.T) {
	f := newEscapeFixture(t)
	ctx := context.Background()
	targets := append(slices.Clone(throughLinks), "/relfile", "/mine/upfile", "/reldir/new", "/mine/updir/new/deeper")
	for _, p := range targets {
		if err := f.d.PutContent(ctx, p, []byte("overwritten")); !isInvalidPath(err) {
			t.Errorf("PutContent(%s): %v; want InvalidPathError", p, err)
		}
		w, err := f.d.Writer(ctx, p, false)
		if err != nil {
			t.Errorf("Writer(%s): %v", p, err)
			continue
		}
		if _, err := w.Write([]byte("overwritten")); err != nil {
			t.Errorf("Write(%s): %v", p, err)
		}
		if err := w.Commit(ctx); !isInvalidPath(err) {
			t.Errorf("Commit(%s): %v; want InvalidPathError", p, err)
		}
		if err := w.Cancel(ctx); err != nil {
			t.Errorf("Cancel(%s) after a failed Commit: %v", p, err)
		}
		if err := f.d.Move(ctx, "/mine/file", p); !isInvalidPath(err) {
			t.Errorf("Move(/mine/file, %s): %v; want InvalidPathError", p, err)
		}
	}
	// Moving from outside in.
	for _, p := range append(slices.Clone(throughLinks), "/relfile", "/mine/upfile") {
		if err := f.d.Move(ctx, p, "/stolen"); !isInvalidPath(err) {
			t.Errorf("Move(%s, /stolen): %v; want InvalidPathError", p, err)
		}
	}
	if _, err := f.d.Stat(ctx, "/stolen"); !driver.IsNotFound(err) {
		t.Errorf("Stat(/stolen) after failed moves: %v", err)
	}
	if b, err := f.d.GetContent(ctx, "/mine/file"); err != nil || string(b) != "mine" {
		t.Errorf("the moved file is damaged: %q, %v", b, err)
	}
	f.checkOutside(t)
}

func TestSymlinkEscapeDeletes(t *testing.T) {
	f := newEscapeFixture(t)
	ctx := context.Background()
	for _, p := range append(slices.Clone(throughLinks), linkNames...) {
		if err := f.d.Delete(ctx, p); !isInvalidPath(err) {
			t.Errorf("Delete(%s): %v; want InvalidPathError", p, err)
		}
	}
	paths := append(slices.Clone(throughLinks), linkNames...)
	n, err := f.d.DeleteFiles(ctx, paths)
	var dfe *driver.DeleteFilesError
	if n != 0 || !errors.As(err, &dfe) || len(dfe.Failures) != len(paths) {
		t.Fatalf("DeleteFiles = %d, %v; want 0 and every path failed", n, err)
	}
	for _, fl := range dfe.Failures {
		if !isInvalidPath(fl.Err) {
			t.Errorf("DeleteFiles failure for %s: %v; want InvalidPathError", fl.Path, fl.Err)
		}
	}
	// Deleting the directory that holds links removes the links, never
	// what they point to.
	if err := f.d.Delete(ctx, "/mine"); err != nil {
		t.Fatalf("Delete(/mine): %v", err)
	}
	f.checkOutside(t)
}

// TestSymlinkInsideRoot: links that stay inside the root are followed,
// and a link cycle does not trap Walk.
func TestSymlinkInsideRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	d := newDriver(t, root)
	ctx := context.Background()
	if err := d.PutContent(ctx, "/a/f", []byte("f")); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"a/loop": "../a", "alias": "a"} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := d.GetContent(ctx, "/alias/f"); err != nil || string(b) != "f" {
		t.Fatalf("GetContent(/alias/f) = %q, %v", b, err)
	}
	var walked []string
	if err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		walked = append(walked, fi.Path())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"/a", "/a/f", "/a/loop", "/alias", "/alias/f", "/alias/loop"}
	if !slices.Equal(walked, want) {
		t.Fatalf("Walk(/) = %v, want %v", walked, want)
	}
	// Deleting a link removes the link, never its target.
	if err := os.Symlink("a/f", filepath.Join(root, "filelink")); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "/alias"); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeleteFiles(ctx, []string{"/filelink", "/a/loop"}); n != 2 || err != nil {
		t.Fatalf("DeleteFiles(links) = %d, %v", n, err)
	}
	if l := mustList(t, d, "/"); !slices.Equal(l, []string{"/a"}) {
		t.Fatalf("List(/) after deleting the links = %v, want [/a]", l)
	}
	if l := mustList(t, d, "/a"); !slices.Equal(l, []string{"/a/f"}) {
		t.Fatalf("List(/a) after deleting the links = %v, want [/a/f]", l)
	}
}
