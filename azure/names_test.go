package azure_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// quirkDriver returns a driver behind the Azure quirks (quirks_test.go),
// at a fresh root, with the root's blob name prefix.
func quirkDriver(t *testing.T) (driver.StorageDriver, *http.Client, string) {
	t.Helper()
	hc := &http.Client{Transport: newQuirks(t, nil)}
	root := freshRoot(t)
	return newDriver(t, testConfig(t, root, hc)), hc, root + "/"
}

// TestQuirkTrimsTrailingDots checks the quirk transport itself: through
// it, the blob "d./x." is the blob "d/x", as on Azure.
func TestQuirkTrimsTrailingDots(t *testing.T) {
	_, hc, prefix := quirkDriver(t)
	env := testenv.Azure(t)
	cred, err := service.NewSharedKeyCredential(env.Account, env.Key)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.NewClientWithSharedKeyCredential(env.URL, cred, &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}})
	if err != nil {
		t.Fatal(err)
	}
	via := &independent{t: t, c: svc.NewContainerClient(env.Container)}
	via.put(prefix+"d./x.", []byte("dotted"))
	if got := newIndependent(t).names(prefix); !slices.Equal(got, []string{prefix + "d/x"}) {
		t.Fatalf("blobs after a put of %q through the quirks: %q, want the trimmed name", prefix+"d./x.", got)
	}
	if got := via.get(prefix + "d./x."); string(got) != "dotted" {
		t.Fatalf("get of the untrimmed name through the quirks = %q", got)
	}
}

// TestTrailingDotPaths: on Azure (the quirks), a path component ending in
// "." must name its own blob: PutContent("/t/v1.") must not overwrite
// "/t/v1", DeleteFiles and Delete of one must leave the other, listings and
// walks must show both, and a URLFor URL must work. Failed before keys.go
// (the dotted path overwrote and deleted the undotted one).
func TestTrailingDotPaths(t *testing.T) {
	ctx := context.Background()
	d, hc, _ := quirkDriver(t)
	files := map[string]string{
		"/t/v1":     "plain",
		"/t/v1.":    "one dot",
		"/t/v1..":   "two dots",
		"/t/d/x":    "under d",
		"/t/d./x":   "under d.",
		"/t/d./y.":  "under d., dotted",
		"/t/d.-/x.": "under d.-",
	}
	paths := make([]string, 0, len(files))
	for p, c := range files {
		paths = append(paths, p)
		if err := d.PutContent(ctx, p, []byte(c)); err != nil {
			t.Fatalf("PutContent(%s): %v", p, err)
		}
	}
	slices.Sort(paths)
	for p, c := range files {
		if got, err := d.GetContent(ctx, p); err != nil || string(got) != c {
			t.Errorf("GetContent(%s) = %q, %v; want %q", p, got, err, c)
		}
	}
	if got, err := d.List(ctx, "/t"); err != nil || !slices.Equal(got, []string{"/t/d", "/t/d.", "/t/d.-", "/t/v1", "/t/v1.", "/t/v1.."}) {
		t.Errorf("List(/t) = %q, %v", got, err)
	}
	if got, err := d.List(ctx, "/t/d."); err != nil || !slices.Equal(got, []string{"/t/d./x", "/t/d./y."}) {
		t.Errorf("List(/t/d.) = %q, %v", got, err)
	}
	var walked []string
	if err := d.Walk(ctx, "/t", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			walked = append(walked, fi.Path())
		}
		return nil
	}); err != nil || !slices.Equal(walked, paths) {
		t.Errorf("Walk(/t) = %q, %v; want %q in this order", walked, err, paths)
	}
	walked = nil
	if err := d.Walk(ctx, "/t", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			walked = append(walked, fi.Path())
		}
		return nil
	}, driver.WithStartAfter("/t/d./")); err != nil || !slices.Equal(walked, paths[slices.Index(paths, "/t/d./x"):]) {
		t.Errorf("Walk(/t, after /t/d./) = %q, %v", walked, err)
	}

	u, err := d.URLFor(ctx, "/t/v1.", nil)
	if err != nil {
		t.Fatalf("URLFor: %v", err)
	}
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatalf("GET URLFor: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "one dot" {
		t.Errorf("GET URLFor(/t/v1.) = %d %q", resp.StatusCode, body)
	}

	if n, err := d.DeleteFiles(ctx, []string{"/t/v1."}); n != 1 || err != nil {
		t.Fatalf("DeleteFiles(/t/v1.) = %d, %v", n, err)
	}
	if err := d.Delete(ctx, "/t/d."); err != nil {
		t.Fatalf("Delete(/t/d.): %v", err)
	}
	for p, c := range files {
		got, err := d.GetContent(ctx, p)
		switch p {
		case "/t/v1.", "/t/d./x", "/t/d./y.":
			if !driver.IsNotFound(err) {
				t.Errorf("GetContent(%s) after its deletion = %q, %v", p, got, err)
			}
		default:
			if err != nil || string(got) != c {
				t.Errorf("GetContent(%s) after deleting its neighbours = %q, %v; want %q", p, got, err, c)
			}
		}
	}
	if err := d.Move(ctx, "/t/v1..", "/t/m."); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if got, err := d.GetContent(ctx, "/t/m."); err != nil || string(got) != "two dots" {
		t.Errorf("GetContent(/t/m.) after Move = %q, %v", got, err)
	}
	if got, err := d.GetContent(ctx, "/t/v1"); err != nil || string(got) != "plain" {
		t.Errorf("GetContent(/t/v1) after Move = %q, %v", got, err)
	}
}
