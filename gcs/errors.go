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

// isNotFound reports whether err says the object does not exist (a missing
// bucket is not that: it is a configuration error).
func isNotFound(err error) bool {
	if errors.Is(err, storage.ErrBucketNotExist) {
		return false
	}
	return errors.Is(err, storage.ErrObjectNotExist) || httpStatus(err) == http.StatusNotFound
}

// isThrottle reports whether err is a rate limit.
func isThrottle(err error) bool {
	return httpStatus(err) == http.StatusTooManyRequests
}

// isTransientStatus reports whether an HTTP status is worth another try.
func isTransientStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// wrap maps an SDK error of operation op on path to the driver's errors:
// a missing object becomes *driver.PathNotFoundError, a rate limit left
// after the retries *driver.TooManyRequestsError, and a cancelled context
// an error matching ctx.Err(); anything else is wrapped with the driver's
// name, the operation and the path.
func (d *Driver) wrap(ctx context.Context, op, path string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("%s: %s %s: %w", DriverName, op, path, err)
		}
		return fmt.Errorf("%s: %s %s: %w (%v)", DriverName, op, path, cerr, err)
	}
	var nf *driver.PathNotFoundError
	if errors.As(err, &nf) {
		return err
	}
	var tmr *driver.TooManyRequestsError
	if errors.As(err, &tmr) {
		return err
	}
	switch {
	case isNotFound(err):
		return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	case isThrottle(err):
		return &driver.TooManyRequestsError{DriverName: DriverName, Cause: fmt.Errorf("%s %s: %w", op, path, err)}
	}
	return fmt.Errorf("%s: %s %s: %w", DriverName, op, path, err)
}

// itemError is the error of one call in a batch response.
type itemError struct {
	Code    int
	Message string
}

func (e *itemError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}
