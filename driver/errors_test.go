package driver_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// An InvalidUploadError names the driver, the upload's ID and path and
// the reason, and errors.As finds it through wrapping.
func TestInvalidUploadError(t *testing.T) {
	u := driver.StagedUpload{Path: "/a/b", ID: "upload/xyz", Size: 3}
	err := error(&driver.InvalidUploadError{DriverName: "x", Upload: u, Reason: "malformed ID"})
	if got, want := err.Error(), `x: invalid staged upload (ID "upload/xyz", path "/a/b"): malformed ID`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var ie *driver.InvalidUploadError
	if !errors.As(fmt.Errorf("purge: %w", err), &ie) || ie.Upload != u || ie.DriverName != "x" {
		t.Errorf("errors.As through a wrap: %v, %+v", err, ie)
	}
}
