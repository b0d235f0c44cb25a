package storereport_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/storereport"
	"github.com/stowage-dev/stowage/internal/testenv"
)

func TestS3ListingCap(t *testing.T) {
	env := testenv.S3(t)
	quirk := &cloudtest.S3ListingCap{
		Max:    100,
		Creds:  aws.Credentials{AccessKeyID: env.AccessKey, SecretAccessKey: env.SecretKey},
		Region: env.Region,
	}
	d, counter := openS3(t, quirk)
	r, err := storereport.Run(context.Background(), d, storereport.Options{Requests: counter})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Log("\n" + text(t, r))
	it := wantStatus(t, r, storereport.ListPageSize, storereport.StatusDiffers)
	if it.Value != 100 || !strings.HasPrefix(it.Measured, "100 keys per page (") ||
		!strings.Contains(it.Expected, "1,000 keys per page") {
		t.Errorf("list-page-size: value %d, measured %q, expected %q; want 100 keys per page against 1,000",
			it.Value, it.Measured, it.Expected)
	}
	wantStatus(t, r, storereport.RequestCounts, storereport.StatusDiffers)
	// 2,500 keys in pages of 100 are 25 pages. MinIO's flat listing (Walk)
	// marks the 25th page truncated too, and a 26th, empty, page ends it;
	// its delimiter listing (List) does not.
	for _, c := range r.Requests {
		switch {
		case c.Op == "Walk of 2,500 files" && (c.Requests < 25 || c.Requests > 26 || c.Expected != 3),
			c.Op == "List of a directory of 2,500 files" && (c.Requests != 25 || c.Expected != 3):
			t.Errorf("%s: %d requests, expected %d; want 25 (26 for Walk) against 3", c.Op, c.Requests, c.Expected)
		case strings.HasPrefix(c.Op, "Walk") || strings.HasPrefix(c.Op, "List"):
		case c.Requests != c.Expected:
			t.Errorf("%s: %d requests, expected %d", c.Op, c.Requests, c.Expected)
		}
	}
	// Only the listing differs.
	for _, name := range storereport.ItemNames {
		if name != storereport.ListPageSize && name != storereport.RequestCounts {
			wantStatus(t, r, name, storereport.StatusOK)
		}
	}
	failing, err := r.Failing([]string{storereport.BulkDelete, storereport.ReadAfterWrite})
	if err != nil || len(failing) != 0 {
		t.Errorf("Failing(bulk-delete, read-after-write) = %+v, %v; want none", failing, err)
	}
	failing, err = r.Failing([]string{storereport.BulkDelete, storereport.ListPageSize})
	if err != nil || len(failing) != 1 || failing[0].Name != storereport.ListPageSize {
		t.Errorf("Failing(bulk-delete, list-page-size) = %+v, %v; want list-page-size", failing, err)
	}
	if left := files(t, d); len(left) != 0 {
		t.Errorf("Run left %d files: %v", len(left), left[:min(3, len(left))])
	}
}
