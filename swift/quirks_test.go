package swift_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Provider quirks: http.RoundTrippers put in front of the real test Swift
// to model documented behaviour of production clusters that the SAIO test
// server does not show. Each forwards every request to the real server and
// changes only what its doc comment cites; none replaces the server.

// listingCap models Ceph RGW's Swift API before its fix: a container
// listing returns at most Cap entries whatever limit it asks for, and a
// page that is short because of the cap looks like any other short page.
// RGW capped Swift listings at 1,000 entries (its internal listing chunk)
// without saying so: https://tracker.ceph.com/issues/44554 ("Some Swift
// clients assume that the number of items requested in a bucket listing
// will be returned if possible", fixed by
// https://github.com/ceph/ceph/pull/33864), and rclone met listings of
// RGW containers that "would terminate after 1999 entries even though
// there were over 10,000 objects in them" with a client that took a short
// page for the last (https://github.com/ncw/swift/pull/167). The quirk
// rewrites the limit of each container listing to at most Cap before
// forwarding it, so the real server returns the capped page; /info is left
// alone (RGW reported no lower limit). Tests use a small Cap to cross
// pages cheaply.
type listingCap struct {
	Next http.RoundTripper
	Cap  int
	// Lowered, when set, models a cluster whose operator lowered
	// container_listing_limit instead: see loweredListingLimit.
	Lowered bool
}

// loweredListingLimit returns the quirk of a Swift cluster whose
// container_listing_limit (swift.conf [swift-constraints], default 10,000)
// is set to n: /info reports "container_listing_limit": n (Swift's
// constraints.py publishes it under "swift"), and a container listing
// whose limit exceeds n is refused with 412 Precondition Failed, body
// "Maximum limit is n" (swift/common/request_helpers.py
// constrain_req_limit, as the proxy's container GET calls it); a listing
// without limit gets at most n entries. See
// https://docs.openstack.org/swift/latest/deployment_guide.html
// (container_listing_limit: "The default (and max) number of items
// returned for a container listing request").
func loweredListingLimit(next http.RoundTripper, n int) *listingCap {
	return &listingCap{Next: next, Cap: n, Lowered: true}
}

// RoundTrip implements http.RoundTripper.
func (q *listingCap) RoundTrip(req *http.Request) (*http.Response, error) {
	next := q.Next
	if next == nil {
		next = http.DefaultTransport
	}
	switch opName(req) {
	case "Info":
		if !q.Lowered {
			return next.RoundTrip(req)
		}
		return q.rewriteInfo(next, req)
	case "List":
		query := req.URL.Query()
		limit := q.Cap
		if s := query.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err == nil && n > q.Cap && q.Lowered {
				return textResponse(req, http.StatusPreconditionFailed, fmt.Sprintf("Maximum limit is %d", q.Cap)), nil
			}
			if err == nil && n < q.Cap {
				limit = n
			}
		}
		query.Set("limit", strconv.Itoa(limit))
		r := req.Clone(req.Context())
		r.URL.RawQuery = query.Encode()
		return next.RoundTrip(r)
	}
	return next.RoundTrip(req)
}

// rewriteInfo forwards GET /info and reports Cap as the cluster's
// container_listing_limit.
func (q *listingCap) rewriteInfo(next http.RoundTripper, req *http.Request) (*http.Response, error) {
	resp, err := next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var info map[string]any
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("listingCap: decoding /info: %w", err)
	}
	sw, _ := info["swift"].(map[string]any)
	if sw == nil {
		sw = map[string]any{}
		info["swift"] = sw
	}
	sw["container_listing_limit"] = q.Cap
	if body, err = json.Marshal(info); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

// textResponse is a plain-text answer of status to req, as Swift sends
// its errors.
func textResponse(req *http.Request, status int, text string) *http.Response {
	return &http.Response{
		StatusCode:    status,
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/plain; charset=UTF-8"}, "Content-Length": {strconv.Itoa(len(text))}},
		Body:          io.NopCloser(strings.NewReader(text)),
		ContentLength: int64(len(text)),
		Request:       req,
	}
}

// staleListing models the eventual consistency of Swift's container
// listings: once Freeze is called, every container listing the driver
// sends is answered with the body the real server gave the same request
// before (the listing as it was), while objects themselves are read and
// written on the real server. Swift documents the lag: "The object will
// be immediately available for reads as soon as the proxy server
// responds to the client with success. However, the object server has
// not been able to update the object listing in the container server.
// [...] Container listings, therefore, may not immediately contain the
// object" (swift-object-updater(1);
// https://docs.openstack.org/swift/latest/overview_architecture.html,
// "Updaters"); an overwritten object is listed with its old size and
// etag for as long.
type staleListing struct {
	Next http.RoundTripper

	mu     sync.Mutex
	frozen bool
	pages  map[string]recorded // by request URL
}

// recorded is one listing answer.
type recorded struct {
	status int
	header http.Header
	body   []byte
}

// Freeze makes every later listing answer the one recorded for its URL.
func (s *staleListing) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = true
}

// RoundTrip implements http.RoundTripper.
func (s *staleListing) RoundTrip(req *http.Request) (*http.Response, error) {
	next := s.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if opName(req) != "List" {
		return next.RoundTrip(req)
	}
	key := req.URL.String()
	s.mu.Lock()
	rec, ok := s.pages[key]
	frozen := s.frozen
	s.mu.Unlock()
	if frozen && ok {
		return &http.Response{
			StatusCode: rec.status, Status: fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: rec.header.Clone(), Body: io.NopCloser(bytes.NewReader(rec.body)),
			ContentLength: int64(len(rec.body)), Request: req,
		}, nil
	}
	resp, err := next.RoundTrip(req)
	if err != nil || frozen {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.pages == nil {
		s.pages = map[string]recorded{}
	}
	s.pages[key] = recorded{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	s.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
