package distribution

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stowage-dev/stowage/transport"
)

// uploadChunkSize is the size of each PATCH of the chunked upload: odd,
// so chunk boundaries fall inside the backends' parts and blocks.
const uploadChunkSize = 6<<20 + 4097

// uploadChunked pushes data as blob dgst into repo with the registry API's
// chunked upload: a POST, one PATCH per chunk with Content-Range, each
// resumed from the Location of the previous answer, and a closing PUT with
// the digest. It returns the number of PATCH requests.
func uploadChunked(t *testing.T, ctx context.Context, r *testRegistry, repo string, data []byte, dgst v1.Hash) int {
	t.Helper()
	resp, _ := r.expect(t, ctx, http.StatusAccepted, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	patches := 0
	for off := 0; off < len(data); off += uploadChunkSize {
		end := min(off+uploadChunkSize, len(data))
		h := http.Header{
			"Content-Type":  {"application/octet-stream"},
			"Content-Range": {fmt.Sprintf("%d-%d", off, end-1)},
		}
		resp, _ = r.expect(t, ctx, http.StatusAccepted, http.MethodPatch, loc, h, bytes.NewReader(data[off:end]))
		patches++
		if got, want := resp.Header.Get("Range"), fmt.Sprintf("0-%d", end-1); got != want {
			t.Fatalf("PATCH %d-%d: Range %q, want %q", off, end-1, got, want)
		}
		loc = resp.Header.Get("Location")
	}
	r.expect(t, ctx, http.StatusCreated, http.MethodPut, withQuery(loc, "digest", dgst.String()), nil, nil)
	return patches
}

// withQuery adds key=value to the query of a Location.
func withQuery(loc, key, value string) string {
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return loc + sep + key + "=" + value
}

// errCut is what the body of a cut-off PATCH fails with.
var errCut = errors.New("e2e: client cut off the upload")

// uploadResumed uploads data as blob dgst into repo through an upload
// whose second PATCH the client cuts off: a first PATCH sends data[:first]
// and completes; the second sends the rest but fails after cut bytes, as
// when a client's connection drops. The client then learns from the
// upload's status (its Range header) the offset the registry kept, PATCHes
// the rest from there and closes the upload with PUT ?digest=. It returns
// that offset, which is at least first (the completed PATCH is durable)
// and at most first+cut.
//
// How much of the cut PATCH survives depends on the backend: distribution
// (v3.1.2) saves its hash state with the request's context before closing
// the driver's writer, and when that context is cancelled (the client is
// gone) the save fails and the writer is never closed. Backends that write
// through (inmemory, filesystem) keep what the registry received; object
// stores, which persist a writer's buffered data on Close, keep what the
// last completed request left. Either way the offset reported must be one
// the upload resumes from correctly.
func uploadResumed(t *testing.T, ctx context.Context, r *testRegistry, repo string, data []byte, first, cut int64, dgst v1.Hash) int64 {
	t.Helper()
	resp, _ := r.expect(t, ctx, http.StatusAccepted, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, nil)
	h := http.Header{
		"Content-Type":  {"application/octet-stream"},
		"Content-Range": {fmt.Sprintf("0-%d", first-1)},
	}
	resp, _ = r.expect(t, ctx, http.StatusAccepted, http.MethodPatch, resp.Header.Get("Location"), h, bytes.NewReader(data[:first]))
	loc := resp.Header.Get("Location")

	// The body fails after cut bytes: the transport drops the connection
	// in the middle of the (chunked) request body.
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, r.url(loc), transport.CutReader(bytes.NewReader(data[first:]), cut, errCut))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(markHeader, "cut")
	if resp, err := r.client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("cut-off PATCH: status %d, want the request to fail", resp.StatusCode)
	} else if !errors.Is(err, errCut) {
		t.Fatalf("cut-off PATCH: %v, want it to fail with the cut", err)
	}
	// Wait until the registry has finished with the cut request (it
	// closes the upload when its handler returns).
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	select {
	case <-r.done:
	case <-wait.Done():
		t.Fatalf("the registry did not finish the cut-off PATCH: %v", wait.Err())
	}

	resp, _ = r.expect(t, ctx, http.StatusNoContent, http.MethodGet, loc, nil, nil)
	off, err := rangeEnd(resp.Header.Get("Range"))
	if err != nil {
		t.Fatalf("upload status after the cut: %v", err)
	}
	if off < first || off > first+cut {
		t.Fatalf("upload status after a completed PATCH of %d bytes and one cut after %d more: offset %d, want in [%d, %d]", first, cut, off, first, first+cut)
	}
	loc = resp.Header.Get("Location")

	h = http.Header{
		"Content-Type":  {"application/octet-stream"},
		"Content-Range": {fmt.Sprintf("%d-%d", off, len(data)-1)},
	}
	resp, _ = r.expect(t, ctx, http.StatusAccepted, http.MethodPatch, loc, h, bytes.NewReader(data[off:]))
	if got, want := resp.Header.Get("Range"), fmt.Sprintf("0-%d", len(data)-1); got != want {
		t.Fatalf("resumed PATCH from %d: Range %q, want %q", off, got, want)
	}
	r.expect(t, ctx, http.StatusCreated, http.MethodPut, withQuery(resp.Header.Get("Location"), "digest", dgst.String()), nil, nil)
	return off
}

// rangeEnd parses an upload's Range header, "0-END", into the number of
// bytes the registry holds (END+1; "0-0" is read as 0, as the registry
// writes it for an empty upload too).
func rangeEnd(h string) (int64, error) {
	start, end, ok := strings.Cut(h, "-")
	if !ok || start != "0" {
		return 0, fmt.Errorf("malformed Range %q", h)
	}
	n, err := strconv.ParseInt(end, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed Range %q: %w", h, err)
	}
	if n == 0 {
		return 0, nil
	}
	return n + 1, nil
}

// fetchBlob GETs blob dgst from repo and checks its sha256 and size.
func fetchBlob(t *testing.T, ctx context.Context, r *testRegistry, repo string, dgst v1.Hash, size int64) {
	t.Helper()
	_, b := r.expect(t, ctx, http.StatusOK, http.MethodGet, "/v2/"+repo+"/blobs/"+dgst.String(), nil, nil)
	if got := sha256Hash(b); got != dgst || int64(len(b)) != size {
		t.Fatalf("GET blob %s from %s: sha256 %s (%d bytes), want %s (%d)", dgst, repo, got, len(b), dgst, size)
	}
}
