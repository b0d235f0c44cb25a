package cloudtest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// S3ListingCap is a provider-quirk proxy in front of an S3 server (MinIO,
// or the in-process localstore) for S3-compatible stores whose listing
// pages are smaller than S3's 1,000 keys. The S3 API lets a server do so:
// ListObjectsV2 "returns some or all (up to 1,000) of the objects in a
// bucket" and MaxKeys "sets the maximum number of keys returned", "the
// response might contain fewer keys but will never contain more"
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html);
// Ceph's RADOS Gateway has an operator setting for it,
// rgw_max_listing_results, "the maximum number of results in a single
// list operation" (https://docs.ceph.com/en/latest/radosgw/config-ref/).
// A cap such as 100 is a quirk model, not the documented value of one
// store.
//
// It lowers max-keys of every ListObjectsV2 request to Max and signs the
// request again (SigV4 covers the query) with Creds and Region, so the
// server answers pages of at most Max keys with its own continuation
// tokens. Every other request goes to Base unchanged.
type S3ListingCap struct {
	// Base sends the requests (http.DefaultTransport when nil).
	Base   http.RoundTripper
	Max    int
	Creds  aws.Credentials
	Region string
}

// RoundTrip implements http.RoundTripper.
func (l *S3ListingCap) RoundTrip(req *http.Request) (*http.Response, error) {
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
	if err := v4.NewSigner().SignHTTP(req.Context(), l.Creds, out, payload, "s3", l.Region, time.Now()); err != nil {
		return nil, err
	}
	return base.RoundTrip(out)
}
