package swift_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/swift"
)

// The fault-injection tests every HTTP backend passes (conformance.RunFaults):
// DeleteFiles and a round trip through every method under 503 answers and
// dropped connections (no segment left behind: Stored lists the segments
// container too), retries exhausted (429, 498 and 503 are rate limits, 500
// is not; Stat too), cancelling in a backoff (of a request, of a
// whole bulk delete, of per-name retries), a download resumed after a cut
// body. New authenticates and reads /info; RunFaults arms its faults only
// once it has returned.
func TestFaults(t *testing.T) {
	conformance.RunFaults(t, faultHarness())
}

func faultHarness() conformance.FaultHarness {
	return conformance.FaultHarness{
		Name:       "swift",
		Backend:    backend(),
		Stored:     func(t testing.TB, prefix string) []string { return newIndependent(t).stored(prefix) },
		BulkDelete: "BulkDelete",
		Download:   "Get",
		Busy:       conformance.FaultReply{Name: "ServiceUnavailable", Status: http.StatusServiceUnavailable},
		Exhausted: []conformance.FaultReply{
			{Name: "Status429", Status: http.StatusTooManyRequests, Throttle: true},
			{Name: "RateLimit498", Status: 498, Throttle: true},
			{Name: "ServiceUnavailable503", Status: http.StatusServiceUnavailable, Throttle: true},
			{Name: "InternalError500", Status: http.StatusInternalServerError},
		},
		ChunkSize: swift.MinChunkSize,
		ItemFailures: func(base http.RoundTripper) http.RoundTripper {
			return &rewriteBulk{Base: base, Errors: cloudtest.FailEvery("503 Service Unavailable")}
		},
		ResumesDownloads: true,
		StatRetries:      true,
		BatchRetries:     true,
	}
}

// rewriteBulk forwards bulk deletes to the server and rewrites the answer
// to report per-name errors, to exercise the per-name handling that the
// real server cannot be made to produce on demand.
type rewriteBulk struct {
	// Errors returns, for the n-th bulk delete (from 1), the status to
	// report for each "container/name" it names, names in the request's
	// order.
	Errors func(n int, names []string) map[string]string
	// Base sends the requests (http.DefaultTransport when nil).
	Base http.RoundTripper

	mu sync.Mutex
	n  int
}

func (r *rewriteBulk) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if !req.URL.Query().Has("bulk-delete") {
		return base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		name, _ := url.PathUnescape(strings.TrimPrefix(line, "/"))
		names = append(names, name)
	}
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var res map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	var errs [][]string
	for name, status := range r.Errors(n, names) {
		errs = append(errs, []string{"/" + name, status})
	}
	if len(errs) > 0 {
		res["Errors"] = errs
		res["Response Status"] = "400 Bad Request"
		res["Number Deleted"] = res["Number Deleted"].(float64) - float64(len(errs))
	}
	out, _ := json.Marshal(res)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", fmt.Sprint(len(out)))
	return resp, nil
}

// Names that a bulk delete reports as failed with a transient status are
// sent again, alone; others are reported per path; a transient status that
// outlasts the retries is reported too, as a rate limit when it is one.
func TestDeleteFilesPerNameErrors(t *testing.T) {
	container := testenv.Swift(t).Container
	cloudtest.DeleteFilesItemErrors(t, cloudtest.ItemErrors{
		Backend:    backend(),
		BulkDelete: "BulkDelete",
		Rewrite: func(base http.RoundTripper, fail func(n int, names []string) map[string]string) http.RoundTripper {
			return &rewriteBulk{Base: base, Errors: fail}
		},
		// A bulk delete names "container/name".
		Item:              func(root, p string) string { return container + "/" + root + p },
		Transient:         [3]string{"503 Service Unavailable", "500 Internal Error", "429 Too Many Requests"},
		Permanent:         "403 Forbidden",
		Lasting:           "498 Rate Limited",
		LastingIsThrottle: true,
	})
}
