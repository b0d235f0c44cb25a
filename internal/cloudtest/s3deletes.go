package cloudtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// S3DeleteAnswers forwards S3 DeleteObjects requests to the server and
// rewrites the answer to report per-key errors, to exercise the per-key
// handling that MinIO itself cannot be made to produce. S3 answers a
// DeleteObjects with per-key Error elements, codes such as InternalError,
// SlowDown and ServiceUnavailable among them
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
// The server deleted every key, so a retry finds them gone.
type S3DeleteAnswers struct {
	// Errors returns, for the n-th DeleteObjects request (from 1), the
	// per-key error code to report for each key it names.
	Errors func(n int, keys []string) map[string]string
	// Base sends the requests (http.DefaultTransport when nil).
	Base http.RoundTripper

	mu sync.Mutex
	n  int
}

// Requests returns how many DeleteObjects requests went through r.
func (r *S3DeleteAnswers) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// RoundTrip implements http.RoundTripper.
func (r *S3DeleteAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.Method != http.MethodPost || !req.URL.Query().Has("delete") {
		return base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	keys := s3DeleteKeys(string(body))
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	resp.Body.Close()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	errs := r.Errors(n, keys)
	for _, k := range keys { // in the request's order, as a server answers
		if code, ok := errs[k]; ok {
			fmt.Fprintf(&b, "<Error><Key>%s</Key><Code>%s</Code><Message>injected</Message></Error>", k, code)
		}
	}
	b.WriteString("</DeleteResult>")
	resp.Body = io.NopCloser(strings.NewReader(b.String()))
	resp.ContentLength = int64(b.Len())
	resp.Header.Set("Content-Length", fmt.Sprint(b.Len()))
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// s3DeleteKeys extracts the <Key> values of a DeleteObjects request body.
func s3DeleteKeys(body string) []string {
	var keys []string
	for {
		i := strings.Index(body, "<Key>")
		if i < 0 {
			return keys
		}
		body = body[i+len("<Key>"):]
		j := strings.Index(body, "</Key>")
		keys = append(keys, body[:j])
		body = body[j:]
	}
}
