package driver

import "context"

// ServerSideCopier is implemented by a driver that can copy a file from
// another driver of its kind without the bytes passing through the client
// (S3 CopyObject across buckets, GCS rewrite, Azure Copy Blob, Swift COPY
// across containers of one account). CopyFrom reports ok false, with no
// error and nothing done, when it cannot copy from src (another backend,
// another endpoint or account): the caller then streams the file.
// stowage cp (registry.Copy) uses it.
type ServerSideCopier interface {
	CopyFrom(ctx context.Context, src StorageDriver, srcPath, dstPath string) (ok bool, err error)
}

// ValidatePaths is ValidatePath for each of paths, in order: the first
// invalid one's error (a CopyFrom checks its source and destination).
func ValidatePaths(driverName string, paths ...string) error {
	for _, p := range paths {
		if err := ValidatePath(driverName, p); err != nil {
			return err
		}
	}
	return nil
}
