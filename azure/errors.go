package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/stowage-dev/stowage/driver"
)

// Error codes of a missing blob. ContainerNotFound is deliberately not one:
// a missing container is a configuration error, not a missing path.
var notFoundCodes = map[string]bool{
	"BlobNotFound":           true,
	"CannotVerifyCopySource": true,
	"ResourceNotFound":       true,
}

// Error codes of a rate limit (Azure Storage throttles with 503 ServerBusy).
var throttleCodes = map[string]bool{
	"ServerBusy":      true,
	"TooManyRequests": true,
}

// responseError returns the service's answer behind err, or nil.
func responseError(err error) *azcore.ResponseError {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// httpStatus returns the HTTP status behind err, or 0.
func httpStatus(err error) int {
	if re := responseError(err); re != nil {
		return re.StatusCode
	}
	return 0
}

// errorCode returns the Azure error code behind err, or "".
func errorCode(err error) string {
	if re := responseError(err); re != nil {
		return re.ErrorCode
	}
	return ""
}

// isNotFound reports whether err says the blob does not exist.
func isNotFound(err error) bool {
	code := errorCode(err)
	if code == "ContainerNotFound" {
		return false
	}
	return notFoundCodes[code] || httpStatus(err) == http.StatusNotFound
}

// isThrottle reports whether err is a rate limit: 429, 503 (Azure Storage
// answers "503 Server Busy" when an account or partition is throttled), or
// a throttling error code.
func isThrottle(err error) bool {
	s := httpStatus(err)
	return s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable || throttleCodes[errorCode(err)]
}

// isTransient reports whether a per-blob batch failure is worth another try.
func isTransient(err error) bool {
	s := httpStatus(err)
	return s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500
}

// wrap maps an SDK error of operation op on path to the driver's errors:
// a missing blob becomes *driver.PathNotFoundError, a rate limit left after
// the retries *driver.TooManyRequestsError, and a cancelled context an
// error matching ctx.Err(); anything else is wrapped with the driver's
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
	switch {
	case isNotFound(err):
		return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	case isThrottle(err):
		return &driver.TooManyRequestsError{DriverName: DriverName, Cause: fmt.Errorf("%s %s: %w", op, path, err)}
	}
	return fmt.Errorf("%s: %s %s: %w", DriverName, op, path, err)
}
