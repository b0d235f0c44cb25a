package azure_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// The fault-injection tests every HTTP backend passes (conformance.RunFaults):
// DeleteFiles and a round trip through every method (256 KiB blocks)
// under 503 ServerBusy answers and dropped connections, with nothing left
// behind (Stored lists blobs of uncommitted blocks too); retries exhausted
// (503 ServerBusy and 429 are rate limits, 500 is not; Stat too);
// cancelling in a backoff (of a request, of a whole blob batch, of
// per-blob retries); a download resumed after a cut body.
func TestFaults(t *testing.T) {
	conformance.RunFaults(t, faultHarness())
}

// serverBusy is the header Azure Storage throttles with.
var serverBusy = http.Header{"X-Ms-Error-Code": {"ServerBusy"}}

func faultHarness() conformance.FaultHarness {
	return conformance.FaultHarness{
		Name: "azure",
		// Not through onceClient: here every batch sent again counts.
		Backend:    directBackend(nil),
		Stored:     func(t testing.TB, prefix string) []string { return newIndependent(t).stored(prefix) },
		BulkDelete: "SubmitBatch",
		Download:   "GetBlob",
		Busy:       conformance.FaultReply{Name: "ServerBusy", Status: http.StatusServiceUnavailable, Header: serverBusy},
		Exhausted: []conformance.FaultReply{
			{Name: "ServerBusy503", Status: http.StatusServiceUnavailable, Header: serverBusy, Throttle: true},
			{Name: "Status429", Status: http.StatusTooManyRequests, Throttle: true},
			{Name: "InternalError500", Status: http.StatusInternalServerError},
		},
		ChunkSize: 256 << 10,
		ItemFailures: func(base http.RoundTripper) http.RoundTripper {
			return &rewriteBatch{Base: base, Fail: cloudtest.FailEvery("500")}
		},
		ResumesDownloads: true,
		StatRetries:      true,
		BatchRetries:     true,
	}
}

// faultyDriver returns a driver over root, set up as tweak says after
// MaxRetries 10, whose requests pass a classifier and then rt.
func faultyDriver(t testing.TB, root string, rt http.RoundTripper, tweak func(*azure.Config)) (driver.StorageDriver, *cloudtest.Ops) {
	t.Helper()
	hc, _, o := cloudtest.CountingClient(rt, opName)
	return backendWith(tweak).New(t, root, hc, cloudtest.Options{MaxRetries: 10}), o
}

// rewriteBatch passes requests on and rewrites the answers of chosen
// deletes inside blob batch responses: the server did delete those blobs,
// but the client is told the status Fail picks.
type rewriteBatch struct {
	// Fail returns, for the n-th batch (from 1) deleting names, the
	// status to report per blob name, as a decimal string ("500"): the
	// form cloudtest.ItemErrors gives its codes in.
	Fail func(n int, names []string) map[string]string
	// Base sends the requests (http.DefaultTransport when nil).
	Base http.RoundTripper

	mu sync.Mutex
	n  int
}

var (
	subRequestRE  = regexp.MustCompile(`DELETE (\S+) HTTP/1\.1`)
	subResponseRE = regexp.MustCompile(`(?s)Content-ID: (\d+)\r\n\r\n(HTTP/1\.1 .*?)\r\n--`)
)

func (r *rewriteBatch) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if opName(req) != "SubmitBatch" {
		return base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var names []string
	for _, m := range subRequestRE.FindAllStringSubmatch(string(body), -1) {
		p, _ := url.PathUnescape(m[1])
		// /account/container/name
		parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
		names = append(names, parts[len(parts)-1])
	}
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	resp, err := base.RoundTrip(req)
	if err != nil || r.Fail == nil {
		return resp, err
	}
	fail := r.Fail(n, names)
	if len(fail) == 0 {
		return resp, nil
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	out := subResponseRE.ReplaceAllStringFunc(string(rb), func(s string) string {
		m := subResponseRE.FindStringSubmatch(s)
		id, _ := strconv.Atoi(m[1])
		if id >= len(names) {
			return s
		}
		code, ok := fail[names[id]]
		if !ok {
			return s
		}
		status, err := strconv.Atoi(code)
		if err != nil {
			panic(fmt.Sprintf("rewriteBatch: status %q is not a number", code))
		}
		codes := map[int]string{403: "AuthorizationFailure", 429: "TooManyRequests", 500: "InternalError", 503: "ServerBusy"}
		return fmt.Sprintf("Content-ID: %d\r\n\r\nHTTP/1.1 %d %s\r\nx-ms-error-code: %s\r\n\r\n--",
			id, status, http.StatusText(status), codes[status])
	})
	resp.Body = io.NopCloser(strings.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// Deletes a batch reports as failed with a transient status (500, 503,
// 429) are sent again, alone, in a new batch; others (403) are reported
// per path; a 500 that outlasts the retries is reported too, not as a
// rate limit.
func TestDeleteFilesPerBlobErrors(t *testing.T) {
	cloudtest.DeleteFilesItemErrors(t, cloudtest.ItemErrors{
		Backend:    directBackend(nil), // every batch counts, as in TestFaults
		BulkDelete: "SubmitBatch",
		Rewrite: func(base http.RoundTripper, fail func(n int, names []string) map[string]string) http.RoundTripper {
			return &rewriteBatch{Base: base, Fail: fail}
		},
		// A batch names the blob, root + path.
		Item:      func(root, p string) string { return root + p },
		Transient: [3]string{"500", "503", "429"},
		Permanent: "403",
		Lasting:   "500",
	})
}

// A request of Commit or Move whose answer is lost is retried by the SDK
// and still succeeds: committing the same block list again resolves the
// IDs to the now committed blocks, copying the staging blob to the file
// again copies the same content, and a blob (the staging blob at Commit,
// the source of Move) already deleted counts as deleted. Commit's Copy
// Blob and Delete Blob of the staging blob are told from Move's by their
// own op names, so that each op is sent once in the sequence.
func TestLostAnswersAreIdempotent(t *testing.T) {
	b := backendWith(func(c *azure.Config) { c.ChunkSize = 64 << 10 })
	b.Op = func(req *http.Request) string {
		op := opName(req)
		staging := strings.Contains(req.URL.EscapedPath(), "~stowage%2Fuploads%2F") || strings.Contains(req.URL.Path, "~stowage/uploads/")
		switch {
		case op == "CopyBlob" && strings.Contains(headerValue(req, "x-ms-copy-source"), "~stowage"):
			return "CopyBlob of the staging blob"
		case op == "DeleteBlob" && staging:
			return "DeleteBlob of the staging blob"
		}
		return op
	}
	cloudtest.LostAnswers(t, b, 200<<10, "PutBlockList", "CopyBlob of the staging blob", "DeleteBlob of the staging blob", "CopyBlob", "DeleteBlob")
}
