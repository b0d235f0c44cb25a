package storereport_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stowage-dev/stowage/internal/storereport"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// listingCap is a provider-quirk proxy in front of MinIO for S3-compatible
// stores whose listing pages are smaller than S3's 1,000 keys. The S3 API
// lets a server do so: ListObjectsV2 "returns some or all (up to 1,000) of
// the objects in a bucket" and MaxKeys "sets the maximum number of keys
// returned", "the response might contain fewer keys but will never contain
// more" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html);
// Ceph's RADOS Gateway has an operator setting for it,
// rgw_max_listing_results, "the maximum number of results in a single
// list operation" (https://docs.ceph.com/en/latest/radosgw/config-ref/).
// The cap of 100 is a quirk model, not the documented value of one store.
//
// It lowers max-keys of every ListObjectsV2 request to Max and signs the
// request again (SigV4 covers the query) with the test server's keys, so
// MinIO answers pages of at most Max keys with its own continuation
// tokens. Every other request goes to Base unchanged.
type listingCap struct {
	Base   http.RoundTripper
	Max    int
	Creds  aws.Credentials
	Region string
	signer *v4.Signer
}

func (l *listingCap) RoundTrip(req *http.Request) (*http.Response, error) {
	base := l.Base
	if base == nil {
		base = http.DefaultTransport
	}
	q := req.URL.Query()
	if req.Method != http.MethodGet || q.Get("list-type") != "2" {
		return base.RoundTrip(req)
	}
	if n, err := strconv.Atoi(q.Get("max-keys")); err == nil && n <= l.Max {
		return base.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	q.Set("max-keys", strconv.Itoa(l.Max))
	out.URL.RawQuery = q.Encode()
	out.Header.Del("Authorization")
	out.Header.Del("X-Amz-Date")
	payload := out.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // sha256 of nothing
		out.Header.Set("X-Amz-Content-Sha256", payload)
	}
	if err := l.signer.SignHTTP(req.Context(), l.Creds, out, payload, "s3", l.Region, time.Now()); err != nil {
		return nil, err
	}
	return base.RoundTrip(out)
}

func TestS3ListingCap(t *testing.T) {
	env := testenv.S3(t)
	quirk := &listingCap{
		Max:    100,
		Creds:  aws.Credentials{AccessKeyID: env.AccessKey, SecretAccessKey: env.SecretKey},
		Region: env.Region,
		signer: v4.NewSigner(),
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
