package gcs_test

import (
	"context"
	"errors"
	"testing"

	"cloud.google.com/go/storage"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// DeleteFiles against a bucket that does not exist fails every path with
// an error matching storage.ErrBucketNotExist, in one batch request (no
// retries), instead of counting GCS's 404s as "already absent"; Stat there
// is no PathNotFoundError either. In the bucket, a missing object's 404
// ("No such object") still counts as deleted. Through quirks, which gives
// the 404s GCS's messages.
func TestDeleteFilesMissingBucket(t *testing.T) {
	root := freshRoot(t)
	ctx := context.Background()
	hc, _, o := cloudtest.CountingClient(&quirks{}, opName)

	d := newDriver(t, testConfig(t, root, hc))
	cloudtest.PutAll(t, d, []string{"/a"})
	o.Take()
	if n, err := d.DeleteFiles(ctx, []string{"/a", "/missing"}); n != 2 || err != nil {
		t.Fatalf("DeleteFiles in the bucket = %d, %v; want 2, nil", n, err)
	}
	cloudtest.WantOps(t, "DeleteFiles in the bucket", o.Take(), map[string]int{"Batch": 1})

	cfg := testConfig(t, root, hc)
	cfg.Bucket = "stowage-no-such-bucket"
	d = newDriver(t, cfg)
	n, err := d.DeleteFiles(ctx, []string{"/a", "/b", "/c/d"})
	var dfe *driver.DeleteFilesError
	if n != 0 || !errors.As(err, &dfe) || len(dfe.Failures) != 3 || !errors.Is(err, storage.ErrBucketNotExist) {
		t.Fatalf("DeleteFiles in a missing bucket = %d, %v; want 0 and 3 failures matching storage.ErrBucketNotExist", n, err)
	}
	cloudtest.WantOps(t, "DeleteFiles in a missing bucket", o.Take(), map[string]int{"Batch": 1})
	if _, err := d.Stat(ctx, "/a"); err == nil || driver.IsNotFound(err) {
		t.Errorf("Stat in a missing bucket: %v, want an error other than PathNotFoundError", err)
	}
	if err := d.Walk(ctx, "/", func(driver.FileInfo) error { return nil }); err == nil || driver.IsNotFound(err) {
		t.Errorf("Walk in a missing bucket: %v, want an error other than PathNotFoundError", err)
	}
}
