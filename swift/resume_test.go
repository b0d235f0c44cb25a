package swift_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// A writer resumed while the listing of its segments lags (staleListing:
// it shows the upload as it was two sessions ago, before the short last
// segment was replaced by a full one and a new short one was added)
// takes the segments' sizes and etags from the segments themselves, so it
// resumes at the size really written and commits exactly the content.
func TestWriterResumeOverStaleListing(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	stale := &staleListing{}
	cfg := testConfig(t, root, &http.Client{Transport: stale})
	content := cloudtest.PatternBytes(3*mib + 17)
	cuts := []int{3 * mib / 2, 5 * mib / 2}

	// Session 1: segment 0 full, segment 1 half a chunk.
	w := cloudtest.Session(t, newDriver(t, cfg), "/blob", false, 0, content[:cuts[0]])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Session 2 lists the upload as session 1 left it; from now on every
	// listing shows that. It replaces segment 1 with a full chunk and adds
	// a short segment 2.
	w = cloudtest.Session(t, newDriver(t, cfg), "/blob", true, int64(cuts[0]), content[cuts[0]:cuts[1]])
	stale.Freeze()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Session 3 sees the stale listing: segment 1 short, no segment 2.
	d := newDriver(t, cfg)
	w, err := d.Writer(ctx, "/blob", true)
	if err != nil {
		t.Fatalf("Writer(append) over a stale listing: %v", err)
	}
	if w.Size() != int64(cuts[1]) {
		t.Fatalf("Writer(append) over a stale listing: Size() = %d, want %d", w.Size(), cuts[1])
	}
	if _, err := w.Write(content[cuts[1]:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("swift reads %d bytes, want the %d written", len(got), len(content))
	}
}
