package gcs

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
)

// The storage SDK's reader reopens a download whose body breaks off, from
// where it broke, as often as it breaks (httpReader.Read in
// cloud.google.com/go/storage), whatever the retry settings say: on a link
// that keeps cutting bodies, a Reader would never fail, and never end.
// Read therefore puts a budget of 1 + Config.MaxRetries requests into the
// context the SDK sends the download's requests with (the first request,
// its retries and every reopen), as the other backends' readers have, and
// limitDownloads, the transport every request of the driver goes through,
// refuses a request past the budget with errDownloadRetriesSpent, which
// the SDK does not retry: the Reader fails, never ends short.

// errDownloadRetriesSpent is the cause of a Reader's failure once its
// download has used up its requests.
var errDownloadRetriesSpent = errors.New("download retries spent: the connection broke off too often")

// downloadBudget is the number of requests a download may still send.
type downloadBudget struct{ left atomic.Int64 }

type downloadBudgetKey struct{}

// withDownloadBudget returns ctx carrying a budget of n requests.
func withDownloadBudget(ctx context.Context, n int) context.Context {
	b := &downloadBudget{}
	b.left.Store(int64(n))
	return context.WithValue(ctx, downloadBudgetKey{}, b)
}

// limitDownloads passes requests to base, except those of a download whose
// budget is spent.
type limitDownloads struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (l limitDownloads) RoundTrip(req *http.Request) (*http.Response, error) {
	if b, ok := req.Context().Value(downloadBudgetKey{}).(*downloadBudget); ok && b.left.Add(-1) < 0 {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, errDownloadRetriesSpent
	}
	return l.base.RoundTrip(req)
}

// limitingDownloads returns a copy of hc whose transport is limitDownloads
// over hc's.
func limitingDownloads(hc *http.Client) *http.Client {
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	out := *hc
	out.Transport = limitDownloads{base: rt}
	return &out
}
