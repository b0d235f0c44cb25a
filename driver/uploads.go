package driver

import (
	"context"
	"time"
)

// StagedUpload is the uncommitted state a backend keeps for one resumable
// upload (Writer closed and not committed, or abandoned): an S3 multipart
// upload and stowage's tail object, GCS part objects, Azure uncommitted
// blocks, Swift segments, a filesystem staging directory. stowage uploads
// lists and purges them.
type StagedUpload struct {
	// Path is the file the upload would commit to.
	Path string `json:"path"`
	// ID identifies the upload to the backend's PurgeStagedUpload (an
	// upload id, an object name prefix); opaque to callers.
	ID string `json:"id"`
	// Started is when the upload began: the time of its oldest piece, or
	// the backend's record of its start.
	Started time.Time `json:"started"`
	// Size is the number of bytes staged (0 when the backend cannot tell
	// without a request per piece).
	Size int64 `json:"size"`
	// Pieces is the number of objects, parts or blocks staged.
	Pieces int `json:"pieces"`
}

// UploadStager is implemented by every backend whose Writer keeps state
// between sessions.
type UploadStager interface {
	// StagedUploads lists the uploads staged under the driver's root, in
	// no particular order.
	StagedUploads(ctx context.Context) ([]StagedUpload, error)
	// PurgeStagedUpload deletes what u (from StagedUploads) staged; a
	// committed file at u.Path is left alone. A purged or committed
	// upload is no error.
	PurgeStagedUpload(ctx context.Context, u StagedUpload) error
}
