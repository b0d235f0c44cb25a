package driver

import (
	"errors"
	"fmt"
	"strings"
)

// PathNotFoundError is returned when no file or directory exists at Path.
type PathNotFoundError struct {
	Path       string
	DriverName string
}

func (e *PathNotFoundError) Error() string {
	return fmt.Sprintf("%s: path not found: %s", e.DriverName, e.Path)
}

// InvalidPathError is returned, before any I/O, for a path that breaks the
// path rules (see ValidatePath).
type InvalidPathError struct {
	Path       string
	DriverName string
	// Reason says which rule the path breaks.
	Reason string
}

func (e *InvalidPathError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%s: invalid path: %q", e.DriverName, e.Path)
	}
	return fmt.Sprintf("%s: invalid path %q: %s", e.DriverName, e.Path, e.Reason)
}

// InvalidOffsetError is returned by Reader for a negative offset or one
// beyond the end of the file.
type InvalidOffsetError struct {
	Path       string
	Offset     int64
	DriverName string
}

func (e *InvalidOffsetError) Error() string {
	return fmt.Sprintf("%s: invalid offset %d for %s", e.DriverName, e.Offset, e.Path)
}

// InvalidUploadError is returned by UploadStager.PurgeStagedUpload, before
// any request and changing nothing, for an Upload that StagedUploads
// cannot have returned: an ID that is malformed for the backend, or one
// that does not belong to Upload.Path. An Upload.Path that breaks the path
// rules is an *InvalidPathError instead. A backend whose IDs do not tell
// their path (an S3 upload id, the inmemory sequence number) cannot see,
// without a request, that a well-formed ID is another path's; it finds no
// upload of Upload.Path with that ID and returns nil, changing nothing.
type InvalidUploadError struct {
	DriverName string
	Upload     StagedUpload
	// Reason says what is wrong with the upload.
	Reason string
}

func (e *InvalidUploadError) Error() string {
	return fmt.Sprintf("%s: invalid staged upload (ID %q, path %q): %s", e.DriverName, e.Upload.ID, e.Upload.Path, e.Reason)
}

// ErrUnsupportedMethod is matched (errors.Is) by every
// *UnsupportedMethodError: the backend cannot do what was asked, e.g.
// URLFor on a backend without presigned URLs.
var ErrUnsupportedMethod = errors.New("unsupported method")

// UnsupportedMethodError names the driver and the method it does not
// support. It matches ErrUnsupportedMethod with errors.Is.
type UnsupportedMethodError struct {
	DriverName string
	Method     string
}

func (e *UnsupportedMethodError) Error() string {
	return fmt.Sprintf("%s: unsupported method %s", e.DriverName, e.Method)
}

// Is reports whether target is ErrUnsupportedMethod.
func (e *UnsupportedMethodError) Is(target error) bool { return target == ErrUnsupportedMethod }

// TooManyRequestsError is returned when the provider still rate-limits a
// request after the configured retries.
type TooManyRequestsError struct {
	DriverName string
	Cause      error
}

func (e *TooManyRequestsError) Error() string {
	return fmt.Sprintf("%s: too many requests: %v", e.DriverName, e.Cause)
}

// Unwrap returns the provider's error.
func (e *TooManyRequestsError) Unwrap() error { return e.Cause }

// ErrSkipDir may be returned by a WalkFn for a directory to leave the
// directory's contents out of the walk. Walk never returns it.
var ErrSkipDir = errors.New("skip this directory")

// Errors of the FileWriter state machine. Backends wrap them with their name;
// match them with errors.Is.
var (
	// ErrWriterClosed: the writer was closed (a second Close, or Write,
	// Commit or Cancel after Close).
	ErrWriterClosed = errors.New("writer already closed")
	// ErrWriterCommitted: Write, Commit or Cancel after Commit.
	ErrWriterCommitted = errors.New("writer already committed")
	// ErrWriterCancelled: Write, Commit or Cancel after Cancel.
	ErrWriterCancelled = errors.New("writer already cancelled")
)

// ErrFileTooLarge is the cause (errors.Is) of a Writer's Write or Close
// refusing bytes because the file would exceed what the backend can store
// as one object (S3's 10,000 parts, an Azure block blob's 50,000 blocks,
// Swift's max_manifest_segments squared, each at the writer's chunk
// size). The bytes already written stay committable: the Writer is left
// as it was, for Commit or Cancel. The backend's own error, which matches
// it, names the limit (a larger chunksize usually makes room).
var ErrFileTooLarge = errors.New("file too large for the backend")

// DeleteFailure is one path DeleteFiles could not delete, with its cause.
type DeleteFailure struct {
	Path string
	Err  error
}

// DeleteFilesError lists every path DeleteFiles could not delete, each with
// its cause. errors.Is and errors.As see through to the causes.
type DeleteFilesError struct {
	DriverName string
	Failures   []DeleteFailure
}

func (e *DeleteFilesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d path(s) not deleted", e.DriverName, len(e.Failures))
	const shown = 5
	for i, f := range e.Failures {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more", len(e.Failures)-shown)
			break
		}
		fmt.Fprintf(&b, "; %s: %v", f.Path, f.Err)
	}
	return b.String()
}

// Unwrap returns the cause of every failure.
func (e *DeleteFilesError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// ConfigError reports a bad backend configuration or parameter.
type ConfigError struct {
	DriverName string
	// Parameter names the offending setting, if one does.
	Parameter string
	Err       error
}

func (e *ConfigError) Error() string {
	var missing *MissingParametersError
	if errors.As(e.Err, &missing) {
		return fmt.Sprintf("%s: %v", e.DriverName, e.Err)
	}
	if e.Parameter == "" {
		return fmt.Sprintf("%s: configuration: %v", e.DriverName, e.Err)
	}
	return fmt.Sprintf("%s: parameter %q: %v", e.DriverName, e.Parameter, e.Err)
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// MissingParametersError names every required parameter a configuration
// lacks, all at once, so that one run tells the operator all there is to
// add. It comes wrapped in a *ConfigError (match it with errors.As).
type MissingParametersError struct {
	Parameters []string
}

func (e *MissingParametersError) Error() string {
	if len(e.Parameters) == 1 {
		return "missing required parameter " + e.Parameters[0]
	}
	return "missing required parameters " + strings.Join(e.Parameters, ", ")
}
