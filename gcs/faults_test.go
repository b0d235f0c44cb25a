package gcs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
)

// The fault-injection tests every HTTP backend passes (conformance.RunFaults):
// DeleteFiles and a round trip through every method under 503 answers and
// dropped connections, retries exhausted (Stat too), cancelling in a
// backoff (of a request, of a whole batch, of per-item retries). The
// round trip also continues a committed file and reads from an offset
// (roundTripMore). ReaderResumesCutBody holds the SDK's reader, which
// reopens a cut download on its own, to Config.MaxRetries.
func TestFaults(t *testing.T) {
	conformance.RunFaults(t, faultHarness())
}

func faultHarness() conformance.FaultHarness {
	return conformance.FaultHarness{
		Name:    "gcs",
		Backend: backend(),
		// Every object under the prefix, the driver's hidden upload parts
		// under ~stowage/ too: none may be left.
		Stored:           func(t testing.TB, keyPrefix string) []string { return newIndependent(t).names(keyPrefix) },
		BulkDelete:       "Batch",
		Download:         "Read",
		Busy:             conformance.FaultReply{Name: "ServiceUnavailable", Status: http.StatusServiceUnavailable},
		ResumesDownloads: true,
		// 429 and 503 mean "slow down" on GCS (see gcs.FromParameters).
		Exhausted: []conformance.FaultReply{
			{Name: "Status429", Status: http.StatusTooManyRequests, Throttle: true},
			{Name: "Status503", Status: http.StatusServiceUnavailable, Throttle: true},
			{Name: "Status500", Status: http.StatusInternalServerError},
		},
		ChunkSize:     gcs.MinChunkSize,
		ItemFailures:  func(base http.RoundTripper) http.RoundTripper { return failBatches{Base: base} },
		StatRetries:   true,
		BatchRetries:  true,
		RoundTripMore: roundTripMore,
	}
}

// roundTripMore checks, under the round trip's faults, a Reader from an
// offset in a file composed of several parts, and continuing a committed
// file: a rewrite into the upload's first part, then a compose.
func roundTripMore(t *testing.T, d driver.StorageDriver, root string) {
	ctx := context.Background()
	m := newIndependent(t)
	big := m.get(root + "/rt/big")
	const off = gcs.MinChunkSize + 7
	if len(big) <= off {
		t.Fatalf("/rt/big has %d bytes, want more than %d", len(big), off)
	}
	rc, err := d.Reader(ctx, "/rt/big", off)
	if err != nil {
		t.Fatal(err)
	}
	tail, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(tail, big[off:]) {
		t.Fatalf("Reader at %d: %d bytes, %v; want %d", off, len(tail), err, len(big)-off)
	}

	old := m.get(root + "/rt/f3")
	w, err := d.Writer(ctx, "/rt/f3", true)
	if err != nil {
		t.Fatalf("Writer(append) on a committed file: %v", err)
	}
	if w.Size() != int64(len(old)) {
		t.Fatalf("continued Size() = %d, want %d", w.Size(), len(old))
	}
	if _, err := w.Write([]byte("tail")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit of the continuation: %v", err)
	}
	if got, want := m.get(root+"/rt/f3"), append(old, "tail"...); !bytes.Equal(got, want) {
		t.Fatalf("the SDK reads %d bytes of /rt/f3, want %d", len(got), len(want))
	}
}

// failBatches answers every batch request itself, every call in it failed
// with a 503 (a transient per-item failure); other requests go to Base.
type failBatches struct{ Base http.RoundTripper }

func (f failBatches) RoundTrip(req *http.Request) (*http.Response, error) {
	if opName(req) != "Batch" {
		return f.Base.RoundTrip(req)
	}
	defer req.Body.Close()
	_, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	var ids []string
	mr := multipart.NewReader(req.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, part.Header.Get("Content-ID"))
	}
	codes := make([]int, len(ids))
	for i := range codes {
		codes[i] = http.StatusServiceUnavailable
	}
	rec := httptest.NewRecorder()
	writeBatchAnswers(rec, ids, codes)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
