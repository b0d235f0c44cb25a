package cloudtest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// ItemErrors plugs a backend into DeleteFilesItemErrors: a rewriter of its
// bulk-delete answers, the provider's per-item error codes, and how it
// names the items.
type ItemErrors struct {
	// Backend gives Root, New, Op and Keys.
	Backend Backend
	// BulkDelete is the name Backend.Op gives the bulk-delete request.
	BulkDelete string
	// Rewrite returns a transport that sends every request to base and
	// rewrites the answer of the n-th bulk delete (from 1) to report, for
	// each item of fail(n, items), its error code, items being the
	// request's items in its order. Item names are what Item returns.
	Rewrite func(base http.RoundTripper, fail func(n int, items []string) map[string]string) http.RoundTripper
	// Item names the item of path under root in a bulk delete.
	Item func(root, path string) string
	// Transient are three per-item codes the driver retries; Permanent
	// one it reports (its error text holds the code); Lasting a transient
	// one, which the driver reports once it outlasts the retries, as a
	// rate limit when Throttle is set.
	Transient         [3]string
	Permanent         string
	Lasting           string
	LastingIsThrottle bool
}

// DeleteFilesItemErrors checks the per-item answers of bulk deletes, which
// a real server cannot be made to give on demand: of ten paths, three
// failed transiently are sent again, alone, in one more bulk delete; one
// failed permanently is the only failure reported; a transient failure
// that outlasts the retries is reported too, after 1 + 2 retries.
func DeleteFilesItemErrors(t *testing.T, ie ItemErrors) {
	t.Helper()
	b := ie.Backend
	root := b.Root(t)
	paths := Numbered("/d", 10)
	var (
		mu   sync.Mutex
		sent [][]string
	)
	rw := ie.Rewrite(http.DefaultTransport, func(n int, items []string) map[string]string {
		mu.Lock()
		sent = append(sent, items)
		mu.Unlock()
		if n > 1 {
			return nil
		}
		return map[string]string{
			ie.Item(root, paths[1]): ie.Transient[0],
			ie.Item(root, paths[2]): ie.Transient[1],
			ie.Item(root, paths[3]): ie.Transient[2],
			ie.Item(root, paths[7]): ie.Permanent,
		}
	})
	hc, _, o := CountingClient(rw, b.Op)
	d := b.New(t, root, hc, Options{MaxRetries: 10})
	PutAll(t, d, paths)
	o.Take()
	n, err := d.DeleteFiles(context.Background(), paths)
	var dfe *driver.DeleteFilesError
	if n != 9 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != paths[7] ||
		!strings.Contains(dfe.Failures[0].Err.Error(), ie.Permanent) {
		t.Fatalf("DeleteFiles = %d, %v; want 9 and one %s failure for %s", n, err, ie.Permanent, paths[7])
	}
	WantOps(t, "DeleteFiles with transient per-item errors", o.Take(), map[string]int{ie.BulkDelete: 2})
	want := []string{ie.Item(root, paths[1]), ie.Item(root, paths[2]), ie.Item(root, paths[3])}
	if len(sent) != 2 || !slices.Equal(sent[1], want) {
		t.Errorf("second bulk delete named %v, want %v", sent[1:], want)
	}
	// The server deleted the item it was made to report as failed, too.
	if got := b.Keys(t, root+"/"); len(got) != 0 {
		t.Errorf("%s lists %v after DeleteFiles", b.Name, got)
	}

	// A transient code that outlasts the retries is reported too.
	rw = ie.Rewrite(http.DefaultTransport, func(int, []string) map[string]string {
		return map[string]string{ie.Item(root, "/x"): ie.Lasting}
	})
	hc, _, o = CountingClient(rw, b.Op)
	d = b.New(t, root, hc, Options{MaxRetries: 2})
	o.Take()
	n, err = d.DeleteFiles(context.Background(), []string{"/x", "/y"})
	if n != 1 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != "/x" {
		t.Fatalf("DeleteFiles = %d, %v; want 1 and a failure for /x", n, err)
	}
	var tmr *driver.TooManyRequestsError
	if errors.As(dfe.Failures[0].Err, &tmr) != ie.LastingIsThrottle {
		t.Errorf("the failure of /x, %v: TooManyRequestsError %v, want %v", dfe.Failures[0].Err, !ie.LastingIsThrottle, ie.LastingIsThrottle)
	}
	WantOps(t, "DeleteFiles with a lasting per-item error", o.Take(), map[string]int{ie.BulkDelete: 3})
}

// FailEvery returns a fail function for ItemErrors.Rewrite-style
// transports (see FaultHarness.ItemFailures) that reports code for every
// item of every bulk delete.
func FailEvery(code string) func(n int, items []string) map[string]string {
	return func(_ int, items []string) map[string]string {
		out := make(map[string]string, len(items))
		for _, it := range items {
			out[it] = code
		}
		return out
	}
}
