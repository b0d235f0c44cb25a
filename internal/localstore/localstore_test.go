package localstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/localstore"
	_ "github.com/stowage-dev/stowage/s3"
	"github.com/stowage-dev/stowage/transport"
)

// open starts a server and opens the real s3 backend against it under
// root, counting its requests.
func open(t *testing.T, root string, extra map[string]any) (driver.StorageDriver, *transport.Counter) {
	t.Helper()
	s := startS3(t)
	counter := &transport.Counter{Base: http.DefaultTransport}
	params := s.Params()
	params["rootdirectory"] = root
	params[driver.HTTPClientParam] = &http.Client{Transport: counter}
	for k, v := range extra {
		params[k] = v
	}
	d, err := driver.Open(context.Background(), "s3", params)
	if err != nil {
		t.Fatal(err)
	}
	return d, counter
}

// TestDeleteFilesIsOneRequestPerThousand is what stowage bench's default
// shows: DeleteFiles of N files sends ceil(N/1000) DeleteObjects, and the
// files are gone.
func TestDeleteFilesIsOneRequestPerThousand(t *testing.T) {
	ctx := context.Background()
	d, counter := open(t, "/bench", nil)
	var paths []string
	for i := range 1001 {
		p := fmt.Sprintf("/r/_manifests/tags/t%04d/current/link", i)
		if err := d.PutContent(ctx, p, []byte("sha256:x")); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	before := counter.Total()
	n, err := d.DeleteFiles(ctx, paths)
	if err != nil || n != 1001 {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	if got := counter.Total() - before; got != 2 {
		t.Fatalf("DeleteFiles of 1001 paths sent %d requests, want 2", got)
	}
	if _, err := d.List(ctx, "/r"); !driver.IsNotFound(err) {
		t.Fatalf("List after deleting everything: %v", err)
	}
}

// TestWalkListsFlatWithStartAfter: a Walk is one ListObjectsV2 per 1,000
// keys, in lexical order, and a start-after hint skips what comes before.
func TestWalkListsFlatWithStartAfter(t *testing.T) {
	ctx := context.Background()
	d, counter := open(t, "/walk", nil)
	var want []string
	for i := range 1500 {
		p := fmt.Sprintf("/a/%02d/f%04d", i%10, i)
		if err := d.PutContent(ctx, p, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := counter.Total()
	err := d.Walk(ctx, "/a", func(fi driver.FileInfo) error {
		want = append(want, fi.Path())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 1510 || !slices.IsSorted(want) {
		t.Fatalf("Walk saw %d entries (want 1,500 files + 10 directories), sorted %v", len(want), slices.IsSorted(want))
	}
	if got := counter.Total() - before; got != 2 {
		t.Fatalf("Walk over 1,500 keys sent %d requests, want 2", got)
	}
	var after []string
	err = d.Walk(ctx, "/a", func(fi driver.FileInfo) error {
		after = append(after, fi.Path())
		return nil
	}, driver.WithStartAfter("/a/05/f1495"))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(want, "/a/05/f1495")
	if i < 0 || len(after) == 0 || len(after) > len(want)-i-1 || after[len(after)-1] != want[len(want)-1] {
		t.Fatalf("Walk after /a/05/f1495 gave %d entries, first %v; the full walk has %d after it", len(after), after[:min(1, len(after))], len(want)-i-1)
	}
	top, err := d.List(ctx, "/a")
	if err != nil || len(top) != 10 || top[0] != "/a/00" {
		t.Fatalf("List(/a) = %v, %v", top, err)
	}
}

// TestMultipartWriter: the s3 Writer's multipart upload (5 MiB parts),
// closed, resumed and committed, reads back whole.
func TestMultipartWriter(t *testing.T) {
	ctx := context.Background()
	d, _ := open(t, "/mp", map[string]any{"chunksize": 5 << 20})
	data := bytes.Repeat([]byte("0123456789abcdef"), (11<<20)/16+3)
	w, err := d.Writer(ctx, "/blob", false)
	if err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	if _, err := w.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w, err = d.Writer(ctx, "/blob", true); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(half) {
		t.Fatalf("resumed writer at %d, want %d", w.Size(), half)
	}
	if _, err := w.Write(data[half:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := d.Reader(ctx, "/blob", int64(len(data)-100))
	if err != nil {
		t.Fatal(err)
	}
	tail, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(tail, data[len(data)-100:]) {
		t.Fatalf("ranged read of the tail: %d bytes, %v", len(tail), err)
	}
	got, err := d.GetContent(ctx, "/blob")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetContent: %d bytes (want %d), %v", len(got), len(data), err)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := localstore.StartS3()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL); err == nil {
		t.Fatal("the server still answers after Close")
	}
}

// TestConformance runs the conformance suite on the real s3 backend
// against the in-process server: every group the bench's workloads touch
// passes. Writer is left out: gofakes3 has no UploadPartCopy (411
// MissingContentLength), which the s3 backend uses to continue a
// committed object of 5 MiB or more (Writer/Continue/Large); the bench
// never continues an object, and TestMultipartWriter covers the rest.
func TestConformance(t *testing.T) {
	s := startS3(t)
	conformance.Run(t, conformance.Harness{
		Name: "s3 on localstore",
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			p := s.Params()
			p["rootdirectory"] = "/" + env.Root
			p[driver.HTTPClientParam] = env.HTTPClient
			if env.DeleteBatchSize > 0 {
				p["deletebatchsize"] = env.DeleteBatchSize
			}
			d, err := driver.Open(context.Background(), "s3", p)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Groups: []string{"Paths", "Content", "Streams", "List", "Walk", "Move", "Delete", "DeleteFiles",
			"Concurrency", "URLFor", "Cancel", "Uploads"},
	})
}

// startS3 starts an in-process S3 server that stops when t ends.
func startS3(t *testing.T) *localstore.S3 {
	t.Helper()
	s, err := localstore.StartS3()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}
