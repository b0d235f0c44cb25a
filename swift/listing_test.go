package swift_test

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// listingTree is a tree whose directories each span several pages of 7.
func listingTree() []string {
	var files []string
	files = append(files, cloudtest.Numbered("/a/b", 30)...)
	files = append(files, cloudtest.Numbered("/a/b/c", 9)...)
	files = append(files, cloudtest.Numbered("/a/bc", 8)...) // a prefix sibling of /a/b
	files = append(files, cloudtest.Numbered("/z", 7)...)    // exactly one page
	sort.Strings(files)
	return files
}

// checkCompleteListings runs Walk, List, Delete, a resumed Writer and
// DeleteFiles through d, whose listings come through a quirk, and checks
// each against the files an independent client sees.
func checkCompleteListings(t *testing.T, root string, d driver.StorageDriver) {
	t.Helper()
	ctx := context.Background()
	files := listingTree()
	cloudtest.PutAll(t, d, files)

	var walked []string
	if err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			walked = append(walked, fi.Path())
		}
		return nil
	}); err != nil {
		t.Fatalf("Walk(/): %v", err)
	}
	if !slices.Equal(walked, files) {
		t.Errorf("Walk(/) found %d files, want all %d", len(walked), len(files))
	}

	children, err := d.List(ctx, "/a/b")
	if err != nil {
		t.Fatalf("List(/a/b): %v", err)
	}
	if want := append(cloudtest.Numbered("/a/b", 30), "/a/b/c"); len(children) != len(want) {
		t.Errorf("List(/a/b) = %d children, want %d", len(children), len(want))
	}

	// A writer resumed over an upload of more segments than a page: the
	// writer's own listing of its segments must not stop early either.
	w, err := d.Writer(ctx, "/up", false)
	if err != nil {
		t.Fatal(err)
	}
	content := cloudtest.PatternBytes(9*mib + 5)
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = d.Writer(ctx, "/up", true)
	if err != nil {
		t.Fatalf("Writer(append): %v", err)
	}
	if w.Size() != int64(len(content)) {
		t.Errorf("resumed Writer Size() = %d, want %d: its segment listing stopped early", w.Size(), len(content))
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}

	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatalf("Delete(/a/b): %v", err)
	}
	m := newIndependent(t)
	if left := m.keys(root + "/a/b/"); len(left) != 0 {
		t.Errorf("Delete(/a/b) left %d objects under it, e.g. %s", len(left), left[0])
	}
	if left := m.keys(root + "/a/bc/"); len(left) != 8 {
		t.Errorf("Delete(/a/b) left %d of the 8 files of the sibling /a/bc", len(left))
	}
	if segs := m.names(m.segments, root+"/"); len(segs) != 0 {
		t.Errorf("Cancel left %d segments, e.g. %s", len(segs), segs[0])
	}
}

// A cluster that caps listings below the limit asked for, as Ceph RGW did
// (listingCap): Walk, List, Delete and the Writer's resume listing page on
// past the short pages and see every name.
func TestListingCappedLikeRGW(t *testing.T) {
	root := freshRoot(t)
	hc := &http.Client{Transport: &listingCap{Cap: 7}}
	d := newDriver(t, testConfig(t, root, hc))
	checkCompleteListings(t, root, d)
}

// A cluster with a lowered container_listing_limit (loweredListingLimit):
// the driver reads it from /info and never asks for more, so no listing
// is refused with 412, and every listing is complete.
func TestListingLoweredLimit(t *testing.T) {
	root := freshRoot(t)
	hc := &http.Client{Transport: loweredListingLimit(nil, 7)}
	d := newDriver(t, testConfig(t, root, hc))
	if got := d.Capabilities().ListPageSize; got != 7 {
		t.Errorf("ListPageSize = %d, want the container_listing_limit of /info, 7", got)
	}
	checkCompleteListings(t, root, d)
}

// quirkHarness is harness() with every request sent through the quirk
// that wrap puts in front of the suite's client. Its Caps are the
// driver's own without HTTP: a driver cannot know a cap the cluster does
// not report, so the request-count leaves do not apply.
func quirkHarness(name string, wrap func(http.RoundTripper) http.RoundTripper) conformance.Harness {
	return conformance.Harness{
		Name: name,
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			hc := &http.Client{Transport: wrap(env.HTTPClient.Transport)}
			return newDriver(t, testConfig(t, env.Root, hc))
		},
		Caps: driver.Capabilities{DeleteBatchSize: 10000, ListPageSize: 10000, StartAfter: true},
		// The groups that list: the others run once, in TestConformance.
		Groups: []string{"List", "Walk", "Delete"},
	}
}

// The conformance suite's groups that list (List, Walk, Delete) on a
// cluster that caps listings at 100 names (listingCap) and on one whose
// container_listing_limit is 100 (loweredListingLimit): their bulk leaves
// (2,500 files) page 25 times. TestListingCappedLikeRGW and
// TestListingLoweredLimit take small pages of 7 to small trees.
func TestConformanceListingQuirks(t *testing.T) {
	t.Run("RGWCap", func(t *testing.T) {
		conformance.Run(t, quirkHarness("swift behind an RGW-like listing cap of 100", func(rt http.RoundTripper) http.RoundTripper {
			return &listingCap{Next: rt, Cap: 100}
		}))
	})
	t.Run("LoweredLimit", func(t *testing.T) {
		conformance.Run(t, quirkHarness("swift with container_listing_limit 100", func(rt http.RoundTripper) http.RoundTripper {
			return loweredListingLimit(rt, 100)
		}))
	})
}
