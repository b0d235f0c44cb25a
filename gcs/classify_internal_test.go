package gcs

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/stowage-dev/stowage/driver"
)

// 429 and 503 are rate limits; 500 is transient, and so is a batch call
// the batch response left unanswered (reported as a 503 of our own).
func TestClassifyThrottling(t *testing.T) {
	b := &backend{}
	for _, tc := range []struct {
		err  error
		want driver.ErrorKind
	}{
		{&googleapi.Error{Code: http.StatusTooManyRequests}, driver.KindThrottled},
		{&googleapi.Error{Code: http.StatusServiceUnavailable}, driver.KindThrottled},
		{&itemError{Code: http.StatusServiceUnavailable}, driver.KindThrottled},
		{&itemError{Code: http.StatusServiceUnavailable, Message: errNoAnswer.Error()}, driver.KindTransient},
		{&googleapi.Error{Code: http.StatusInternalServerError}, driver.KindTransient},
		{&googleapi.Error{Code: http.StatusForbidden}, driver.KindOther},
	} {
		if got := b.Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// retryEvents records the retries reported to it.
type retryEvents struct {
	mu      sync.Mutex
	retried []error
}

func (r *retryEvents) Retried(_ string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retried = append(r.retried, err)
}
func (r *retryEvents) RateLimited(string, time.Duration) {}
func (r *retryEvents) DeleteBatch(string, int, int)      {}

// reportRetry grants what storage.ShouldRetry grants and reports exactly
// those retries.
func TestReportRetry(t *testing.T) {
	ev := &retryEvents{}
	if !reportRetry(ev, &googleapi.Error{Code: http.StatusServiceUnavailable}) {
		t.Error("a 503 is not retried")
	}
	if reportRetry(ev, &googleapi.Error{Code: http.StatusForbidden}) {
		t.Error("a 403 is retried")
	}
	if reportRetry(ev, errors.New("permanent")) {
		t.Error("a plain error is retried")
	}
	if len(ev.retried) != 1 {
		t.Errorf("reported %d retries, want 1", len(ev.retried))
	}
}
