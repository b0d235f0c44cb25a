package swift_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/swift"
	"github.com/stowage-dev/stowage/transport"
)

// purge purges u through d.
func purge(t *testing.T, d driver.StorageDriver, u driver.StagedUpload) {
	t.Helper()
	if err := d.(driver.UploadStager).PurgeStagedUpload(context.Background(), u); err != nil {
		t.Fatalf("PurgeStagedUpload(%+v): %v", u, err)
	}
}

// closeW closes w or fails t.
func closeW(t *testing.T, w driver.FileWriter) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Uploads closed by one driver instance are listed by another (a new
// process) with their paths, sizes, starts and pieces, from one listing
// page and the empty one: a multi-segment upload, the continuation of a
// committed plain file and of a file committed as a static large object
// (whose only segment is the COPY of the file, or of its manifest). The
// SLO file's own segments (committed marker) and the SLO index are never
// listed, and purging it by its ID does nothing. Purging the
// continuations leaves both committed files whole,
// the SLO's segments included; purging everything leaves the segments
// container holding only the SLO file's objects.
func TestStagedUploadsAcrossDrivers(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	small := func(c *configT) { c.MaxFileSize = 2 * mib }
	d1, _ := writerDriver(t, root, small)
	before := time.Now()

	big := cloudtest.PatternBytes(2*mib + 7)
	closeW(t, cloudtest.Session(t, d1, "/multi", false, 0, big))
	plain := cloudtest.PatternBytes(mib + 3)
	if err := d1.PutContent(ctx, "/plain", plain); err != nil {
		t.Fatal(err)
	}
	closeW(t, cloudtest.Session(t, d1, "/plain", true, int64(len(plain)), nil))
	slo := cloudtest.PatternBytes(3*mib + 1)
	commitSLO(t, d1, "/slo", slo)
	closeW(t, cloudtest.Session(t, d1, "/slo", true, int64(len(slo)), nil))
	sloSegments := m.names(m.segments, root+"/")

	d2, o := writerDriver(t, root, small) // another process
	got := cloudtest.StagedByPath(t, d2)
	cloudtest.WantOps(t, "StagedUploads", o.Take(), map[string]int{"List": 2})
	want := map[string]struct {
		size   int64
		pieces int
	}{"/multi": {int64(len(big)), 3}, "/plain": {int64(len(plain)), 1}, "/slo": {int64(len(slo)), 1}}
	if len(got) != len(want) {
		t.Fatalf("StagedUploads = %+v, want %v", got, want)
	}
	for p, w := range want {
		u := got[p]
		if u.Size != w.size || u.Pieces != w.pieces {
			t.Errorf("%s: Size %d, Pieces %d; want %d, %d", p, u.Size, u.Pieces, w.size, w.pieces)
		}
		if u.Started.Before(before.Add(-time.Minute)) || u.Started.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: Started %v, the test began at %v", p, u.Started, before)
		}
	}

	// The SLO file's own upload, by its ID: its committed marker keeps it.
	for _, n := range sloSegments {
		if rest, ok := strings.CutSuffix(strings.TrimPrefix(n, root+"/"), "/committed"); ok {
			purge(t, d2, driver.StagedUpload{ID: rest, Path: "/slo"})
		}
	}
	purge(t, d2, got["/plain"])
	purge(t, d2, got["/slo"])
	for p, content := range map[string][]byte{"/plain": plain, "/slo": slo} {
		if b, err := d2.GetContent(ctx, p); err != nil || !bytes.Equal(b, content) {
			t.Errorf("GetContent(%s) after purging its continuation = %d bytes, %v", p, len(b), err)
		}
	}
	purge(t, d2, got["/multi"])
	if left := cloudtest.StagedByPath(t, d2); len(left) != 0 {
		t.Errorf("StagedUploads after purging all = %+v", left)
	}
	var kept []string
	for _, n := range sloSegments {
		if !strings.Contains(n, "/"+got["/slo"].ID+"/") && !strings.Contains(n, "/"+got["/plain"].ID+"/") && !strings.Contains(n, "/"+got["/multi"].ID+"/") {
			kept = append(kept, n)
		}
	}
	if left := m.names(m.segments, root+"/"); fmt.Sprint(left) != fmt.Sprint(kept) {
		t.Errorf("segments container after the purges:\n%v\nwant the SLO file's objects:\n%v", left, kept)
	}
}

// uploadHash is the hash naming path's uploads in the segments
// container (see the package documentation).
func uploadHash(path string) string {
	sum := sha256.Sum256([]byte(path))
	return hex.EncodeToString(sum[:16])
}

// An upload stored by a version that did not record the path (segments
// of Content-Type application/octet-stream) is listed with Path "" and
// its ID, and purged by that ID; one of another root under this root's
// prefix, and stray names, are not listed. Resuming the old upload
// records the path.
func TestStagedUploadsWithoutRecordedPath(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, _ := writerDriver(t, root, nil)
	id := uploadHash("/old") + "/18ed5b9ea2da8ef438d5a63a"
	put := func(name string, content []byte) {
		if err := m.c.ObjectPutBytes(ctx, m.segments, name, content, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
	}
	put(root+"/"+id+"/0000000000", []byte("old bytes"))
	put(root+"/sub/"+uploadHash("/x")+"/18ed5b9ea2da8ef438d5a63b/0000000000", []byte("another root's"))
	put(root+"/stray", nil)
	closeW(t, cloudtest.Session(t, d, "/new", false, 0, []byte("new")))

	got := cloudtest.StagedByPath(t, d)
	old, ok := got[""]
	if len(got) != 2 || !ok || got["/new"].Path != "/new" {
		t.Fatalf("StagedUploads = %+v, want /new and one with no path", got)
	}
	wantStart := time.Unix(0, 0x18ed5b9ea2da8ef4).UTC()
	if old.ID != id || old.Size != 9 || old.Pieces != 1 || !old.Started.Equal(wantStart) {
		t.Errorf("the old upload: %+v, want ID %s, Size 9, Pieces 1, Started %v", old, id, wantStart)
	}

	// Resumed, it records the path.
	w := cloudtest.Session(t, d, "/old", true, 9, []byte(" and more"))
	closeW(t, w)
	if u := cloudtest.StagedByPath(t, d)["/old"]; u.ID != id || u.Size != 18 {
		t.Errorf("the old upload after a session: %+v, want ID %s, Size 18", u, id)
	}
	purge(t, d, old) // by ID
	purge(t, d, old)
	if got := cloudtest.StagedByPath(t, d); len(got) != 1 || got["/new"].Path != "/new" {
		t.Errorf("after purging the old upload: %+v, want /new alone", got)
	}
	if left := m.names(m.segments, root+"/sub/"); len(left) != 1 {
		t.Errorf("another root's upload: %v after the purge", left)
	}
}

// A large number of uploads over listing pages of 3 names: every upload
// once, and ceil(names/3)+1 listing requests.
func TestStagedUploadsPages(t *testing.T) {
	root := freshRoot(t)
	d, o := writerDriver(t, root, func(c *configT) { c.ListLimit = 3 })
	var paths []string
	for i := range 7 {
		p := fmt.Sprintf("/p/%d", i)
		paths = append(paths, p)
		closeW(t, cloudtest.Session(t, d, p, false, 0, []byte(p)))
	}
	// Two segments for one upload: 8 names in all.
	closeW(t, cloudtest.Session(t, d, "/p/0", true, 4, bytes.Repeat([]byte("x"), mib)))
	o.Take()
	got := cloudtest.StagedByPath(t, d)
	cloudtest.WantOps(t, "StagedUploads of 8 names", o.Take(), map[string]int{"List": 4})
	var listed []string
	for p := range got {
		listed = append(listed, p)
	}
	sort.Strings(listed)
	if fmt.Sprint(listed) != fmt.Sprint(paths) {
		t.Errorf("StagedUploads lists %v, want %v", listed, paths)
	}
	if u := got["/p/0"]; u.Pieces != 2 || u.Size != mib+4 {
		t.Errorf("/p/0: %+v, want 2 pieces of %d bytes", u, mib+4)
	}
}

// PurgeStagedUpload refuses, before any request, an ID that is no
// upload's and a path the ID's hash does not belong to.
func TestPurgeStagedUploadBadInput(t *testing.T) {
	root := freshRoot(t)
	d, o := writerDriver(t, root, nil)
	st := d.(driver.UploadStager)
	good := uploadHash("/a") + "/18ed5b9ea2da8ef438d5a63a"
	for _, u := range []driver.StagedUpload{
		{ID: ""},
		{ID: "../x"},
		{ID: uploadHash("/a")},
		{ID: good + "/0000000000"},
		{ID: strings.ToUpper(good)},
		{ID: uploadHash("/a") + "/18ed5b9ea2da8ef438d5a63"},
		{ID: good, Path: "/b"},
	} {
		var ie *driver.InvalidUploadError
		if err := st.PurgeStagedUpload(context.Background(), u); !errors.As(err, &ie) || ie.DriverName != swift.DriverName || ie.Upload != u {
			t.Errorf("PurgeStagedUpload(%+v) = %v, want a *driver.InvalidUploadError naming swift and the upload", u, err)
		}
	}
	var ip *driver.InvalidPathError
	if err := st.PurgeStagedUpload(context.Background(), driver.StagedUpload{ID: good, Path: "a//b"}); !errors.As(err, &ip) {
		t.Errorf("PurgeStagedUpload of a bad path = %v, want an *InvalidPathError", err)
	}
	cloudtest.WantOps(t, "refused purges", o.Take(), map[string]int{})
}

// StagedUploads over pages of 2 names and PurgeStagedUpload, under 35%
// 503s, resets and cut bodies on every request, list the same uploads as
// without faults and remove them all: listings and bulk deletes are
// retried (a cut listing is asked for again, a retried bulk delete finds
// its names gone).
func TestStagedUploadsUnderFaults(t *testing.T) {
	root := freshRoot(t)
	ctx := context.Background()
	pages := func(c *configT) { c.ListLimit = 2 }
	d, _ := writerDriver(t, root, pages)
	for i := range 5 {
		p := fmt.Sprintf("/f/%d", i)
		closeW(t, cloudtest.Session(t, d, p, false, 0, []byte(p)))
	}
	want := cloudtest.StagedByPath(t, d)

	faults := &transport.Faults{
		Base: http.DefaultTransport, Seed: 7, Rate: 0.35,
		Kinds: []transport.FaultKind{transport.FaultStatus, transport.FaultReset, transport.FaultResetAfter, transport.FaultCutBody},
	}
	fd := backendWith(pages).New(t, root, &http.Client{Transport: faults}, cloudtest.Options{})
	got := cloudtest.StagedByPath(t, fd)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("StagedUploads under faults:\n%+v\nwant\n%+v", got, want)
	}
	for p, u := range got {
		if err := fd.(driver.UploadStager).PurgeStagedUpload(ctx, u); err != nil {
			t.Fatalf("PurgeStagedUpload(%s) under faults: %v", p, err)
		}
	}
	if faults.Total() == 0 {
		t.Fatal("no fault injected")
	}
	if left := cloudtest.StagedByPath(t, d); len(left) != 0 {
		t.Errorf("after the purges: %+v", left)
	}
}
