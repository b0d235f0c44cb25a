package swift

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
)

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

func isNotFound(err error) bool {
	var nf *driver.PathNotFoundError
	return errors.As(err, &nf) || statusOf(err) == http.StatusNotFound
}

func isThrottle(err error) bool {
	s := statusOf(err)
	return s == http.StatusTooManyRequests || s == 498
}

// wrap maps an error of operation op on path to the driver's errors: 404
// becomes *driver.PathNotFoundError, a rate limit left after the retries
// *driver.TooManyRequestsError, a cancelled context an error matching
// ctx.Err(); anything else is wrapped with the driver's name, the
// operation and the path.
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
	switch {
	case statusOf(err) == http.StatusNotFound:
		return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	case isThrottle(err):
		return &driver.TooManyRequestsError{DriverName: DriverName, Cause: fmt.Errorf("%s %s: %w", op, path, err)}
	}
	return fmt.Errorf("%s: %s %s: %w", DriverName, op, path, err)
}
