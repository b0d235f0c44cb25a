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

// TooManySegmentsError is the error of a Writer's Write, Close or Commit
// whose upload would need more segments than one file can have: the
// square of Swift's max_manifest_segments (from /info, 1,000 by default,
// or Config.MaxManifestSegments when lower), as Commit nests one level of
// sub-manifests. Write and Close return it before uploading the segment
// that would exceed the limit, so the bytes stay buffered and the upload
// stays as it was (Cancel it, or commit what it has); a larger
// Config.ChunkSize makes room. The driver fails rather than growing the
// segment size mid-upload: a resuming process, which may run with another
// configuration, tells the short last segment to read back by comparing
// the segments' sizes with its ChunkSize, and a file's segment count is
// known when the chunk size is chosen. It matches driver.ErrFileTooLarge
// with errors.Is (also from Commit, whose nesting of a continued static
// large object's segments can exceed the limit).
type TooManySegmentsError struct {
	// Segment is the number of segments the upload would have needed.
	Segment int
	// Limit is the most segments a file can have.
	Limit int
	// ChunkSize is the segment size in use.
	ChunkSize int64
}

func (e *TooManySegmentsError) Error() string {
	return fmt.Sprintf("segment %d is more than the %d one file can have (max_manifest_segments squared) at chunksize %d", e.Segment, e.Limit, e.ChunkSize)
}

// Is reports whether target is driver.ErrFileTooLarge.
func (e *TooManySegmentsError) Is(target error) bool { return target == driver.ErrFileTooLarge }

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
// missing container), 416 a range beyond the end; 429, 498 (the status of
// Swift's ratelimit middleware) and 503 (what the proxy answers when its
// backends are overloaded or a middleware sheds load) are throttling,
// retried and, when the retries run out, a *driver.TooManyRequestsError;
// 408 and the other 5xx are transient, and so is any failure below HTTP
// (a dropped connection, a cut body) other than the context's.
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
	case http.StatusTooManyRequests, 498, http.StatusServiceUnavailable:
		return driver.KindThrottled
	case 0, http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusGatewayTimeout:
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
