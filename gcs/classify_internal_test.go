package gcs

import (
	"errors"
	"net/http"
	"testing"

	"google.golang.org/api/googleapi"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/recorder"
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

// reportRetry grants what storage.ShouldRetry grants and reports exactly
// those retries.
func TestReportRetry(t *testing.T) {
	ev := &recorder.Events{}
	if !reportRetry(ev, &googleapi.Error{Code: http.StatusServiceUnavailable}) {
		t.Error("a 503 is not retried")
	}
	if reportRetry(ev, &googleapi.Error{Code: http.StatusForbidden}) {
		t.Error("a 403 is retried")
	}
	if reportRetry(ev, errors.New("permanent")) {
		t.Error("a plain error is retried")
	}
	if len(ev.Retries()) != 1 {
		t.Errorf("reported %d retries, want 1", len(ev.Retries()))
	}
}
