package distribution

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

func newInmemory() *Driver { return New(inmemory.New()) }

func TestName(t *testing.T) {
	if got := newInmemory().Name(); got != "stowage-inmemory" {
		t.Fatalf("Name() = %q, want stowage-inmemory", got)
	}
}

// TestErrorTypes checks that the registry's type switches see
// distribution's error values.
func TestErrorTypes(t *testing.T) {
	ctx := context.Background()
	d := newInmemory()
	if err := d.PutContent(ctx, "/a/file", []byte("abc")); err != nil {
		t.Fatal(err)
	}

	_, err := d.GetContent(ctx, "/a/missing")
	if e, ok := err.(storagedriver.PathNotFoundError); !ok || e.Path != "/a/missing" || e.DriverName != "stowage-inmemory" {
		t.Errorf("GetContent missing: got %#v, want a storagedriver.PathNotFoundError value", err)
	}
	if _, err := d.Stat(ctx, "/a/missing"); !isType[storagedriver.PathNotFoundError](err) {
		t.Errorf("Stat missing: got %#v", err)
	}
	if _, err := d.List(ctx, "/b"); !isType[storagedriver.PathNotFoundError](err) {
		t.Errorf("List missing: got %#v", err)
	}
	if err := d.Delete(ctx, "/b"); !isType[storagedriver.PathNotFoundError](err) {
		t.Errorf("Delete missing: got %#v", err)
	}
	if err := d.Move(ctx, "/b", "/c"); !isType[storagedriver.PathNotFoundError](err) {
		t.Errorf("Move missing: got %#v", err)
	}
	if _, err := d.Writer(ctx, "/a/none", true); !isType[storagedriver.PathNotFoundError](err) {
		t.Errorf("Writer append without upload: got %#v", err)
	}
	if err := d.Walk(ctx, "/b", func(storagedriver.FileInfo) error { return nil }); !isType[storagedriver.PathNotFoundError](err) {
		t.Errorf("Walk missing: got %#v", err)
	}

	for _, p := range []string{"a", "/a/../b", "/a//b", "/a/b/"} {
		_, err := d.GetContent(ctx, p)
		if e, ok := err.(storagedriver.InvalidPathError); !ok || e.Path != p || e.DriverName != "stowage-inmemory" {
			t.Errorf("GetContent(%q): got %#v, want a storagedriver.InvalidPathError value", p, err)
		}
	}

	_, err = d.Reader(ctx, "/a/file", 4)
	if e, ok := err.(storagedriver.InvalidOffsetError); !ok || e.Offset != 4 || e.Path != "/a/file" {
		t.Errorf("Reader beyond end: got %#v, want a storagedriver.InvalidOffsetError value", err)
	}
	rc, err := d.Reader(ctx, "/a/file", 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "bc" {
		t.Errorf("Reader at 1: %q, %v", b, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = d.PutContent(cctx, "/a/x", nil)
	var se storagedriver.Error
	if !errors.As(err, &se) || se.DriverName != "stowage-inmemory" || !errors.Is(se.Detail, context.Canceled) {
		t.Errorf("PutContent cancelled: got %#v, want a storagedriver.Error with Detail context.Canceled", err)
	}
}

func isType[T error](err error) bool {
	_, ok := err.(T)
	return ok
}

// fakeURLs is a stowage driver whose URLFor answers with err or a URL
// naming the method.
type fakeURLs struct {
	driver.StorageDriver
	err     error
	options []map[string]any
}

func (f *fakeURLs) URLFor(ctx context.Context, path string, options map[string]any) (string, error) {
	f.options = append(f.options, options)
	if f.err != nil {
		return "", f.err
	}
	return "https://example.invalid" + path + "?method=" + options["method"].(string), nil
}

func TestRedirectURL(t *testing.T) {
	f := &fakeURLs{StorageDriver: inmemory.New()}
	d := New(f)
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		u, err := d.RedirectURL(httptest.NewRequest(m, "/v2/x/blobs/y", nil), "/blob/data")
		if want := "https://example.invalid/blob/data?method=" + m; err != nil || u != want {
			t.Errorf("%s: RedirectURL = %q, %v; want %q", m, u, err, want)
		}
	}
	n := len(f.options)
	u, err := d.RedirectURL(httptest.NewRequest(http.MethodPut, "/v2/x/blobs/y", nil), "/blob/data")
	if u != "" || err != nil || len(f.options) != n {
		t.Errorf("PUT: RedirectURL = %q, %v (URLFor calls %d -> %d); want \"\", nil and no URLFor", u, err, n, len(f.options))
	}

	f.err = &driver.UnsupportedMethodError{DriverName: "fake", Method: "URLFor"}
	if u, err := d.RedirectURL(httptest.NewRequest(http.MethodGet, "/", nil), "/blob/data"); u != "" || err != nil {
		t.Errorf("unsupported: RedirectURL = %q, %v; want \"\", nil", u, err)
	}
	boom := errors.New("boom")
	f.err = boom
	_, err = d.RedirectURL(httptest.NewRequest(http.MethodGet, "/", nil), "/blob/data")
	var se storagedriver.Error
	if !errors.As(err, &se) || !errors.Is(se.Detail, boom) {
		t.Errorf("failure: RedirectURL error %#v, want storagedriver.Error wrapping boom", err)
	}

	// The real inmemory backend cannot sign: the registry serves the bytes.
	if u, err := newInmemory().RedirectURL(httptest.NewRequest(http.MethodGet, "/", nil), "/blob/data"); u != "" || err != nil {
		t.Errorf("inmemory: RedirectURL = %q, %v; want \"\", nil", u, err)
	}
}

func TestWalk(t *testing.T) {
	ctx := context.Background()
	d := newInmemory()
	for _, p := range []string{"/r/a/1", "/r/a/2", "/r/b/1", "/r/c/x/1", "/r/d"} {
		if err := d.PutContent(ctx, p, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(f func(fi storagedriver.FileInfo) error, opts ...func(*storagedriver.WalkOptions)) ([]string, error) {
		var seen []string
		err := d.Walk(ctx, "/r", func(fi storagedriver.FileInfo) error {
			seen = append(seen, fi.Path())
			return f(fi)
		}, opts...)
		return seen, err
	}
	all := []string{"/r/a", "/r/a/1", "/r/a/2", "/r/b", "/r/b/1", "/r/c", "/r/c/x", "/r/c/x/1", "/r/d"}
	got, err := walk(func(storagedriver.FileInfo) error { return nil })
	if err != nil || !slices.Equal(got, all) {
		t.Errorf("walk: %v, %v; want %v", got, err, all)
	}

	got, err = walk(func(fi storagedriver.FileInfo) error {
		if fi.IsDir() && (fi.Path() == "/r/a" || fi.Path() == "/r/c") {
			return storagedriver.ErrSkipDir
		}
		return nil
	})
	if want := []string{"/r/a", "/r/b", "/r/b/1", "/r/c", "/r/d"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ErrSkipDir: %v, %v; want %v", got, err, want)
	}

	got, err = walk(func(fi storagedriver.FileInfo) error {
		if fi.Path() == "/r/b/1" {
			return storagedriver.ErrFilledBuffer
		}
		return nil
	})
	if want := all[:5]; err != nil || !slices.Equal(got, want) {
		t.Errorf("ErrFilledBuffer: %v, %v; want %v and nil", got, err, want)
	}

	// The caller's own errors come back unchanged, even distribution's.
	mine := storagedriver.PathNotFoundError{Path: "/mine", DriverName: "caller"}
	_, err = walk(func(fi storagedriver.FileInfo) error {
		if fi.Path() == "/r/b" {
			return mine
		}
		return nil
	})
	if !reflect.DeepEqual(err, error(mine)) {
		t.Errorf("callback error: got %#v, want %#v", err, mine)
	}

	got, err = walk(func(storagedriver.FileInfo) error { return nil }, storagedriver.WithStartAfterHint("/r/b/1"))
	if want := all[5:]; err != nil || !slices.Equal(got, want) {
		t.Errorf("WithStartAfterHint: %v, %v; want %v", got, err, want)
	}
}

func TestWriterResume(t *testing.T) {
	ctx := context.Background()
	d := newInmemory()
	w, err := d.Writer(ctx, "/up/data", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("hello, ")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != 7 {
		t.Errorf("Size after Close = %d, want 7", w.Size())
	}
	if _, err := w.Write([]byte("x")); !isType[storagedriver.Error](err) || !errors.Is(err.(storagedriver.Error).Detail, driver.ErrWriterClosed) {
		t.Errorf("Write after Close: %#v, want storagedriver.Error with ErrWriterClosed", err)
	}
	w, err = d.Writer(ctx, "/up/data", true)
	if err != nil {
		t.Fatal(err)
	}
	if w.Size() != 7 {
		t.Errorf("resumed Size = %d, want 7", w.Size())
	}
	if _, err := w.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetContent(ctx, "/up/data"); !isType[storagedriver.PathNotFoundError](err) {
		t.Errorf("content visible before Commit: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after Commit: %v", err)
	}
	b, err := d.GetContent(ctx, "/up/data")
	if err != nil || string(b) != "hello, world" {
		t.Errorf("committed content %q, %v", b, err)
	}

	w, err = d.Writer(ctx, "/up/other", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("gone")); err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if w.Size() != 0 {
		t.Errorf("Size after Cancel = %d, want 0", w.Size())
	}
	if _, err := d.Writer(ctx, "/up/other", true); !isType[storagedriver.PathNotFoundError](err) {
		t.Errorf("resume after Cancel: %#v, want PathNotFoundError", err)
	}
}

func TestDeleteFiles(t *testing.T) {
	ctx := context.Background()
	d := newInmemory()
	for _, p := range []string{"/x/1", "/x/2", "/y/3"} {
		if err := d.PutContent(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	n, err := d.DeleteFiles(ctx, []string{"/x/1", "/x/2", "/x/2", "/missing"})
	if err != nil || n != 3 {
		t.Fatalf("DeleteFiles = %d, %v; want 3, nil", n, err)
	}
	l, err := d.List(ctx, "/")
	if err != nil || !slices.Equal(l, []string{"/y"}) {
		t.Errorf("List(/) after DeleteFiles = %v, %v; want [/y]", l, err)
	}
	if _, err := d.DeleteFiles(ctx, []string{"/y/3", "bad"}); !isType[storagedriver.InvalidPathError](err) {
		t.Errorf("DeleteFiles with a bad path: %#v, want InvalidPathError", err)
	}
}

// TestFactories checks that every backend is registered with
// distribution's factory under its stowage- name and gets its parameters.
func TestFactories(t *testing.T) {
	ctx := context.Background()
	want := []string{"s3", "gcs", "azure", "swift", "filesystem", "inmemory"}
	if got := Backends(); !slices.Equal(got, want) {
		t.Fatalf("Backends() = %v, want %v", got, want)
	}
	for _, b := range want {
		t.Run(b, func(t *testing.T) {
			params := map[string]any{}
			if b == "filesystem" {
				params["rootdirectory"] = t.TempDir()
			}
			d, err := factory.Create(ctx, NamePrefix+b, params)
			var unknown factory.InvalidStorageDriverError
			if errors.As(err, &unknown) {
				t.Fatalf("%s%s not registered: %v", NamePrefix, b, err)
			}
			switch b {
			case "filesystem", "inmemory":
				if err != nil {
					t.Fatalf("factory.Create: %v", err)
				}
				if d.Name() != NamePrefix+b {
					t.Errorf("Name() = %q", d.Name())
				}
			default:
				// Without its required parameters the backend itself
				// refuses, which proves the parameters reach it.
				var ce *driver.ConfigError
				if !errors.As(err, &ce) {
					t.Errorf("factory.Create without parameters: %v, want a *driver.ConfigError", err)
				}
			}
		})
	}
}
