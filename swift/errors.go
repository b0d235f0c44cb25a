package swift

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
)

// errContainerNotFound is matched by listing errors of a missing container:
// unlike a missing object, it is no *driver.PathNotFoundError.
var errContainerNotFound = errors.New("container not found")

// statusError is a non-2xx status the driver found in a response body
// (bulk delete reports its outcome in the body of a 200).
type statusError struct {
	code int
	text string
	// stopped marks a name the bulk delete did not come to because it
	// stopped over other names' failures: worth another round whatever
	// the status.
	stopped bool
}

func (e *statusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.text) }

// statusOf returns the HTTP status behind err, or 0.
func statusOf(err error) int {
	var se *swift.Error
	if errors.As(err, &se) {
		return se.StatusCode
	}
	var st *statusError
	if errors.As(err, &st) {
		return st.code
	}
	return 0
}

// Classify implements driver.Backend: 404 is a missing object (but not a
// missing container), 416 a range beyond the end, 429 and 498 throttling,
// 408 and 5xx transient, and so is any failure below HTTP (a dropped
// connection, a cut body) other than the context's.
func (b *backend) Classify(err error) driver.ErrorKind { return classify(err) }

func classify(err error) driver.ErrorKind {
	var st *statusError
	switch {
	case errors.Is(err, errContainerNotFound), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return driver.KindOther
	case errors.As(err, &st) && st.stopped:
		return driver.KindTransient
	}
	var se *swift.Error
	if !errors.As(err, &se) && !errors.As(err, &st) {
		return driver.KindTransient
	}
	switch statusOf(err) {
	case http.StatusNotFound:
		return driver.KindNotFound
	case http.StatusRequestedRangeNotSatisfiable:
		return driver.KindInvalidRange
	case http.StatusTooManyRequests, 498:
		return driver.KindThrottled
	case 0, http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return driver.KindTransient
	}
	return driver.KindOther
}

// retryable reports whether err is worth another attempt.
func retryable(err error) bool {
	k := classify(err)
	return k == driver.KindTransient || k == driver.KindThrottled
}

// wrap maps an error of operation op on path to the driver's errors, for
// the writer, which outlives the Store's call.
func wrap(ctx context.Context, op, path string, err error) error {
	return driver.WrapError(ctx, DriverName, op, path, err, classify)
}
