package s3_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/transport"
)

// The fault-injection tests every HTTP backend passes (conformance.RunFaults):
// DeleteFiles and a round trip through every method under 503 SlowDown
// answers and dropped connections, retries exhausted, cancelling in a
// backoff, a download resumed after a cut body.
func TestFaults(t *testing.T) {
	conformance.RunFaults(t, faultHarness())
}

func faultHarness() conformance.FaultHarness {
	slowDown := conformance.FaultReply{Name: "SlowDown", Status: http.StatusServiceUnavailable, Body: transport.SlowDownBody, Throttle: true}
	return conformance.FaultHarness{
		Name:    "s3",
		Backend: backend(),
		// Stored finds the unfinished uploads by the keys recordUploads noted.
		New: func(t testing.TB, root string, hc *http.Client, o conformance.FaultOptions) driver.StorageDriver {
			rc := *hc
			rc.Transport = recordUploads{Base: hc.Transport}
			return backend().New(t, root, &rc, o)
		},
		Stored: func(t testing.TB, keyPrefix string) []string {
			m := newIndependent(t)
			held := m.keys(keyPrefix)
			for _, key := range uploadedKeys(keyPrefix) {
				for _, id := range m.uploads(key) {
					held = append(held, "unfinished upload "+id+" of "+key)
				}
			}
			slices.Sort(held)
			return held
		},
		BulkDelete: "DeleteObjects",
		Download:   "GetObject",
		Busy:       slowDown,
		Exhausted: []conformance.FaultReply{
			{Name: "SlowDown503", Status: slowDown.Status, Body: slowDown.Body, Throttle: true},
			{Name: "Status429", Status: http.StatusTooManyRequests, Throttle: true},
			{Name: "InternalError500", Status: http.StatusInternalServerError},
		},
		ChunkSize: 5 << 20, // S3's smallest part
		ItemFailures: func(base http.RoundTripper) http.RoundTripper {
			return &cloudtest.S3DeleteAnswers{Base: base, Errors: cloudtest.FailEvery("InternalError")}
		},
		ResumesDownloads: true,
	}
}

// createdUploads holds every key a fault-test driver sent CreateMultipartUpload
// for: MinIO lists unfinished uploads only by their exact key, so this is
// where the harness's Stored looks for them.
var createdUploads sync.Map // key -> struct{}

// recordUploads notes the key of every CreateMultipartUpload in
// createdUploads and passes the requests to Base.
type recordUploads struct{ Base http.RoundTripper }

func (r recordUploads) RoundTrip(req *http.Request) (*http.Response, error) {
	if opName(req) == "CreateMultipartUpload" {
		// Path-style: /bucket/key.
		_, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
		createdUploads.Store(key, struct{}{})
	}
	base := r.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// uploadedKeys returns the keys under keyPrefix that createdUploads holds.
func uploadedKeys(keyPrefix string) []string {
	var out []string
	createdUploads.Range(func(k, _ any) bool {
		if key := k.(string); strings.HasPrefix(key, keyPrefix) {
			out = append(out, key)
		}
		return true
	})
	return out
}

// Keys that DeleteObjects reports as failed with a transient code are sent
// again, alone; others are reported per path.
func TestDeleteFilesPerKeyErrors(t *testing.T) {
	cloudtest.DeleteFilesItemErrors(t, cloudtest.ItemErrors{
		Backend:    backend(),
		BulkDelete: "DeleteObjects",
		Rewrite: func(base http.RoundTripper, fail func(n int, keys []string) map[string]string) http.RoundTripper {
			return &cloudtest.S3DeleteAnswers{Base: base, Errors: fail}
		},
		Item:      func(root, p string) string { return root + p },
		Transient: [3]string{"InternalError", "SlowDown", "ServiceUnavailable"},
		Permanent: "AccessDenied",
		Lasting:   "InternalError",
	})
}

// A request whose answer is lost is sent again (by the SDK) and does no
// harm: a CompleteMultipartUpload retried finds the upload gone, and Commit
// must see that the object is complete and succeed; a CopyObject or
// DeleteObject of Move done twice leaves the same.
func TestLostAnswersAreIdempotent(t *testing.T) {
	cloudtest.LostAnswers(t, writerBackend(nil), 11*mib, "CompleteMultipartUpload", "CopyObject", "DeleteObject")
}
