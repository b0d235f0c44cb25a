package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/stowage-dev/stowage/driver"
)

// httpStatus returns the HTTP status of the response behind err, or 0.
func httpStatus(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	var ie *itemError
	if errors.As(err, &ie) {
		return ie.Code
	}
	return 0
}

// Classify implements driver.Backend for the SDK's errors and the batch
// client's: a missing object (not a missing bucket: that is a
// configuration error) is driver.KindNotFound, 429 a rate limit, 416 an
// offset beyond the end, and 408, 5xx and the connection errors the SDK
// retries are transient.
func (b *backend) Classify(err error) driver.ErrorKind {
	var ie *itemError
	switch code := httpStatus(err); {
	case errors.Is(err, storage.ErrBucketNotExist):
		return driver.KindOther
	case errors.As(err, &ie) && ie.whole && code == http.StatusNotFound:
		return driver.KindOther // the batch endpoint is missing, not an object
	case errors.Is(err, storage.ErrObjectNotExist), code == http.StatusNotFound:
		return driver.KindNotFound
	case code == http.StatusTooManyRequests:
		return driver.KindThrottled
	case code == http.StatusRequestedRangeNotSatisfiable:
		return driver.KindInvalidRange
	case code == http.StatusRequestTimeout, code >= 500, code == 0 && storage.ShouldRetry(err):
		return driver.KindTransient
	}
	return driver.KindOther
}

// wrap maps an error of the writer's operation op on path (see
// driver.WrapError).
func (b *backend) wrap(ctx context.Context, op, path string, err error) error {
	return driver.WrapError(ctx, DriverName, op, path, err, b.Classify)
}

// itemError is the error of one call in a batch response, or of a batch
// request answered with an error status as a whole (whole set).
type itemError struct {
	Code    int
	Message string
	whole   bool
}

func (e *itemError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}
