package inmemory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

var _ driver.UploadStager = (*inmemory.Driver)(nil)

// TestPurgeStagedUploadLeavesNewerUpload: an upload listed, then replaced
// by a new Writer for the same path, is gone; purging the listed one must
// not remove the new one.
func TestPurgeStagedUploadLeavesNewerUpload(t *testing.T) {
	ctx := context.Background()
	d := inmemory.New()
	cloudtest.StageUpload(t, d, "/a", "old")
	list, err := d.StagedUploads(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("StagedUploads = %+v, %v; want one", list, err)
	}
	cloudtest.StageUpload(t, d, "/a", "newer")
	if err := d.PurgeStagedUpload(ctx, list[0]); err != nil {
		t.Fatalf("PurgeStagedUpload of the replaced upload: %v", err)
	}
	now, err := d.StagedUploads(ctx)
	if err != nil || len(now) != 1 || now[0].Size != 5 || now[0].ID == list[0].ID {
		t.Fatalf("after purging the replaced upload: %+v, %v; want the newer one (5 bytes) alone", now, err)
	}
}

// TestPurgeStagedUploadBadInput: a malformed ID or path is a typed error,
// and nothing is removed.
func TestPurgeStagedUploadBadInput(t *testing.T) {
	ctx := context.Background()
	d := inmemory.New()
	cloudtest.StageUpload(t, d, "/a", "abc")
	list, err := d.StagedUploads(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("StagedUploads = %+v, %v; want one", list, err)
	}
	badID := list[0]
	for _, id := range []string{"not-an-id", "", "-1", "1.5"} {
		badID.ID = id
		var ie *driver.InvalidUploadError
		if err := d.PurgeStagedUpload(ctx, badID); !errors.As(err, &ie) || ie.DriverName != inmemory.DriverName || ie.Upload != badID {
			t.Errorf("PurgeStagedUpload(ID %q) = %v, want a *driver.InvalidUploadError", id, err)
		}
	}
	badPath := list[0]
	badPath.Path = "a/../b"
	var pathErr *driver.InvalidPathError
	if err := d.PurgeStagedUpload(ctx, badPath); !errors.As(err, &pathErr) {
		t.Errorf("PurgeStagedUpload(Path %q) = %v, want a *driver.InvalidPathError", badPath.Path, err)
	}
	if now, err := d.StagedUploads(ctx); err != nil || len(now) != 1 || now[0] != list[0] {
		t.Fatalf("after bad purges: %+v, %v; want %+v untouched", now, err, list)
	}
}
