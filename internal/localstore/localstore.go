// Package localstore serves an S3-compatible object store in process on
// loopback, so that stowage bench can run the real s3 backend, with its real
// requests, on a fresh clone without any external server.
//
// The server is gofakes3 (github.com/johannesboyne/gofakes3) with its
// in-memory backend. It implements what the s3 backend sends: PutObject,
// GetObject (ranged), HeadObject, ListObjectsV2 with a delimiter, a
// start-after key and continuation tokens, DeleteObjects (multi-object
// delete), CopyObject and multipart uploads. It is a stand-in for
// measuring request counts and round trips, not a conformant S3: its
// timings are those of an in-memory map.
package localstore

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Bucket is the bucket the server creates and Params names.
const Bucket = "stowage-bench"

// Fixed credentials: the server checks no signature, the client needs some.
const (
	accessKey = "stowage"
	secretKey = "stowage-local-secret"
	region    = "us-east-1"
)

// S3 is a running in-process S3 server; Close stops it.
type S3 struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string

	srv  *http.Server
	done chan error
	once sync.Once
	err  error
}

// StartS3 starts an S3 server on 127.0.0.1 at a free port, holding one
// empty bucket named Bucket.
func StartS3() (*S3, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		return nil, fmt.Errorf("localstore: creating bucket %s: %w", Bucket, err)
	}
	fake := gofakes3.New(backend,
		gofakes3.WithLogger(gofakes3.DiscardLog()),
		gofakes3.WithoutVersioning(),
		// The bench's setup writes thousands of objects; a client whose
		// clock is off should still be served.
		gofakes3.WithTimeSkewLimit(0),
	)
	handler := fake.Server()
	if err := primeUploads(handler); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("localstore: listening on loopback: %w", err)
	}
	s := &S3{
		URL:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// primeUploads starts and aborts one multipart upload in Bucket. gofakes3
// answers ListMultipartUploads with 404 NoSuchUpload in a bucket that has
// never had an upload (S3 answers an empty list), and the s3 backend's
// Writer lists the key's unfinished uploads first: without this, the
// first Writer of a run fails with "path not found".
func primeUploads(h http.Handler) error {
	const key = "/" + Bucket + "/.localstore-prime"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, key+"?uploads", nil))
	var out struct {
		UploadID string `xml:"UploadId"`
	}
	if rec.Code != http.StatusOK {
		return fmt.Errorf("localstore: priming multipart uploads: status %d: %s", rec.Code, rec.Body)
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.UploadID == "" {
		return fmt.Errorf("localstore: priming multipart uploads: no upload id in %q (%v)", rec.Body, err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, key+"?uploadId="+url.QueryEscape(out.UploadID), nil))
	if rec.Code/100 != 2 {
		return fmt.Errorf("localstore: priming multipart uploads: abort: status %d: %s", rec.Code, rec.Body)
	}
	return nil
}

// Params are the s3 backend's parameters (distribution-style, as
// driver.Open takes them) for this server's bucket.
func (s *S3) Params() map[string]any {
	return map[string]any{
		"bucket":         Bucket,
		"region":         region,
		"regionendpoint": s.URL,
		"forcepathstyle": true,
		"accesskey":      accessKey,
		"secretkey":      secretKey,
		// No client-side rate limit (s3's default is 350 requests/s, for
		// S3's per-prefix limits): this server is in the process, and
		// the limit would make the bench's parallel setup wait.
		"maxrequestspersecond": 0,
	}
}

// Close stops the server at once, closing its connections (the data is
// dropped with it); it is safe to call more than once.
func (s *S3) Close() error {
	s.once.Do(func() {
		if err := s.srv.Close(); err != nil {
			s.err = fmt.Errorf("localstore: stopping the server: %w", err)
		}
		if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) && s.err == nil {
			s.err = fmt.Errorf("localstore: serving: %w", err)
		}
	})
	return s.err
}
