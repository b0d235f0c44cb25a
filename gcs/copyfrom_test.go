package gcs_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/registry"
)

var _ driver.ServerSideCopier = (*gcs.Driver)(nil)

// countingDriver is a *gcs.Driver over root whose requests o counts.
func countingDriver(t *testing.T, root string) (*gcs.Driver, *cloudtest.Ops) {
	t.Helper()
	d, _, o := backend().Counting(t, root)
	return d.(*gcs.Driver), o
}

// CopyFrom between two drivers with different root directories in the
// test bucket copies server-side: one metadata request and one rewrite,
// both sent by the destination, none by the source, no read or upload of
// the content; the copy is the source's content. A source that is a
// directory or missing is a PathNotFoundError and creates nothing; an
// invalid path is refused before any request.
func TestCopyFromServerSide(t *testing.T) {
	srcRoot, dstRoot := freshRoot(t), freshRoot(t)
	ctx := context.Background()
	m := newIndependent(t)
	src, so := countingDriver(t, srcRoot)
	dst, do := countingDriver(t, dstRoot)
	content := cloudtest.PatternBytes(3<<20 + 17)
	if err := src.PutContent(ctx, "/blobs/a/data", content); err != nil {
		t.Fatal(err)
	}
	so.Take()

	ok, err := dst.CopyFrom(ctx, src, "/blobs/a/data", "/copied/data")
	if !ok || err != nil {
		t.Fatalf("CopyFrom = %v, %v; want true, nil", ok, err)
	}
	got := do.Take()
	if len(got) != 2 || got["Attrs"] != 1 || got["Rewrite"] != 1 {
		t.Errorf("CopyFrom sent %v, want one Attrs and one Rewrite", got)
	}
	if got := so.Take(); len(got) != 0 {
		t.Errorf("CopyFrom sent %v through the source driver, want nothing", got)
	}
	if b := m.get(dstRoot + "/copied/data"); !bytes.Equal(b, content) {
		t.Errorf("the copy holds %d bytes, want the source's %d", len(b), len(content))
	}

	for _, p := range []string{"/blobs/a", "/missing"} {
		ok, err := dst.CopyFrom(ctx, src, p, "/x")
		if !ok || !driver.IsNotFound(err) {
			t.Errorf("CopyFrom(%s) = %v, %v; want true, PathNotFoundError", p, ok, err)
		}
	}
	do.Take()
	for _, ps := range [][2]string{{"blobs/a/data", "/y"}, {"/blobs/a/data", "/y/"}} {
		if ok, err := dst.CopyFrom(ctx, src, ps[0], ps[1]); ok || err == nil {
			t.Errorf("CopyFrom(%q, %q) = %v, %v; want false, an InvalidPathError", ps[0], ps[1], ok, err)
		}
	}
	if got := do.Take(); len(got) != 0 {
		t.Errorf("refused copies sent %v", got)
	}
	if names := m.names(dstRoot + "/"); len(names) != 1 {
		t.Errorf("the destination holds %v, want the one copy", names)
	}
}

// CopyFrom cannot copy from another backend, nor from a gcs driver on
// another endpoint or with other credentials: it returns false, no error,
// and sends no request.
func TestCopyFromRefusesOtherAccounts(t *testing.T) {
	ctx := context.Background()
	root := freshRoot(t)
	dst, do := countingDriver(t, root)
	mem := inmemory.New()
	if err := mem.PutContent(ctx, "/f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	other := testConfig(t, root, nil)
	other.Endpoint = "http://127.0.0.1:1/storage/v1/"
	keyed := testConfig(t, root, nil)
	keyed.Anonymous = false
	keyed.Credentials = []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`)
	for name, src := range map[string]driver.StorageDriver{
		"inmemory":          mem,
		"another endpoint":  newDriver(t, other),
		"other credentials": newDriver(t, keyed),
	} {
		ok, err := dst.CopyFrom(ctx, src, "/f", "/f")
		if ok || err != nil {
			t.Errorf("CopyFrom from %s = %v, %v; want false, nil", name, ok, err)
		}
	}
	if got := do.Take(); len(got) != 0 {
		t.Errorf("refused copies sent %v", got)
	}
}

// A source overwritten between CopyFrom's metadata read and its rewrite
// is not copied: the rewrite of the generation that was read creates
// nothing, and CopyFrom fails with an error that is not a
// PathNotFoundError (the source exists).
func TestCopyFromPinsGeneration(t *testing.T) {
	srcRoot, dstRoot := freshRoot(t), freshRoot(t)
	m := newIndependent(t)
	m.put(srcRoot+"/f", []byte("old"))
	src := newDriver(t, testConfig(t, srcRoot, nil))
	hook := &afterOp{next: http.DefaultTransport, op: "Attrs", do: func() { m.put(srcRoot+"/f", []byte("new")) }}
	dst := newDriver(t, testConfig(t, dstRoot, &http.Client{Transport: hook}))
	ok, err := dst.CopyFrom(context.Background(), src, "/f", "/f")
	if !ok || err == nil || driver.IsNotFound(err) {
		t.Errorf("CopyFrom of a source overwritten after its metadata read = %v, %v; want true and an error other than PathNotFoundError", ok, err)
	}
	if names := m.names(dstRoot + "/"); len(names) != 0 {
		t.Errorf("the destination holds %v after a copy of a vanished generation", names)
	}
}

// stowage cp's registry.Copy uses CopyFrom between two gcs drivers with
// different roots: every file is copied server-side, no byte streamed.
func TestCopyFromRegistryCopy(t *testing.T) {
	ctx := context.Background()
	src := newDriver(t, testConfig(t, freshRoot(t), nil))
	dst := newDriver(t, testConfig(t, freshRoot(t), nil))
	paths := cloudtest.Numbered(registry.RootPath+"/repositories/r/_manifests/tags", 5)
	cloudtest.PutAll(t, src, paths)
	r, err := registry.Copy(ctx, src, dst, registry.CopyOptions{Paths: paths})
	if err != nil || r.Copied != len(paths) || r.ServerSide != len(paths) || r.StreamedBytes != 0 || len(r.Failed) != 0 {
		t.Fatalf("registry.Copy = %+v, %v; want %d files copied server-side, none streamed", r, err, len(paths))
	}
	for _, p := range paths {
		want, _ := src.GetContent(ctx, p)
		if got, err := dst.GetContent(ctx, p); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s on the destination: %q, %v; want %q", p, got, err, want)
		}
	}
}
