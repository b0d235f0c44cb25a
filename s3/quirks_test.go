package s3_test

import (
	"context"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
)

// conditionalDeletes is a provider-quirk proxy in front of MinIO that
// gives DeleteObject the conditional form AWS S3 documents and MinIO
// lacks (MinIO deletes whatever If-Match says, minio/minio#21677):
//
//	"Deletes the object if the ETag (entity tag) value provided during the
//	delete operation matches the ETag of the object in S3. If the ETag
//	values do not match, the operation returns a 412 Precondition Failed
//	error."
//	(https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html,
//	general purpose buckets since 2025-09, see
//	https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html)
//
// and an If-Match on a missing object is answered 404 NoSuchKey (AWS, as
// probed in localstack/localstack#13894). For a DeleteObject with If-Match
// it reads the object's ETag with minio-go first and answers itself when
// the condition does not hold; otherwise MinIO deletes. The check and the
// delete are two requests, no race in tests that change objects only from
// their hooks. Every other request goes to Base unchanged.
type conditionalDeletes struct {
	Base http.RoundTripper
	m    *independent
}

func (c *conditionalDeletes) RoundTrip(req *http.Request) (*http.Response, error) {
	base := c.Base
	if base == nil {
		base = http.DefaultTransport
	}
	ifMatch := req.Header.Get("If-Match")
	if opName(req) != "DeleteObject" || ifMatch == "" {
		return base.RoundTrip(req)
	}
	_, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/") // path-style: /bucket/key
	info, err := c.m.c.StatObject(context.Background(), c.m.bucket, key, minio.StatObjectOptions{})
	switch {
	case minio.ToErrorResponse(err).Code == "NoSuchKey":
		return s3Error(http.StatusNotFound, "NoSuchKey", "The specified key does not exist."), nil
	case err != nil:
		return nil, err
	case ifMatch != "*" && strings.Trim(ifMatch, `"`) != strings.Trim(info.ETag, `"`):
		return s3Error(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"), nil
	}
	return base.RoundTrip(req)
}

// s3Error is an S3 error answer.
func s3Error(status int, code, message string) *http.Response {
	resp := answer(status, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>`+message+`</Message></Error>`)
	resp.Header.Set("Content-Type", "application/xml")
	return resp
}

// noConditionalDeletes is a provider-quirk proxy for servers that know no
// conditional DeleteObject and say so: AWS S3 general purpose buckets
// before 2025-09 answered an If-Match on DeleteObject with 501
// NotImplemented ("A header you provided implies functionality that is not
// implemented", the answer localstack/localstack#13894 records, whose
// snapshot "flipped from 501 to 412" when AWS added conditional deletes,
// https://aws.amazon.com/about-aws/whats-new/2025/09/amazon-s3-conditional-deletes-s3-general-purpose-buckets/).
// It answers every DeleteObject with If-Match so and sends the rest to
// Base.
type noConditionalDeletes struct{ Base http.RoundTripper }

func (n noConditionalDeletes) RoundTrip(req *http.Request) (*http.Response, error) {
	if opName(req) == "DeleteObject" && req.Header.Get("If-Match") != "" {
		return s3Error(http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented"), nil
	}
	base := n.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}
