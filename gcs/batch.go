package gcs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

// batchClient sends object deletes through the GCS JSON batch endpoint,
// POST /batch/storage/v1: one multipart/mixed request whose parts are
// application/http requests, each with a Content-ID, answered by a
// multipart/mixed response whose parts carry the same Content-ID prefixed
// with "response-". GCS takes at most MaxDeleteBatchSize calls per batch.
//
// Each part's body is the request line, a Host header and the empty line
// that ends the headers:
//
//	DELETE /storage/v1/b/BUCKET/o/NAME HTTP/1.1\r\n
//	Host: HOST\r\n
//	\r\n
//
// followed by the CRLF that belongs to the next boundary delimiter, as
// Google's own client libraries write it. Without the empty line (the
// "extra CRLF" of TESTENV.md: the CRLF before "--boundary" is part of the
// delimiter, not of the part) fake-gcs-server answers the part 400.
// GCS answers a deleted object 204 (fake-gcs-server: 200 with "null"), a
// missing object 404 "No such object: BUCKET/NAME" and every call to a
// missing bucket 404 "The specified bucket does not exist." (fake-gcs-server
// answers both 404s alike; quirks_test.go models GCS's).
type batchClient struct {
	hc       *http.Client
	url      string // https://storage.googleapis.com/batch/storage/v1
	host     string // Host of the inner requests
	objPath  string // /storage/v1/b/BUCKET/o/
	maxCalls int
}

// newBatchClient derives the batch endpoint from the JSON API endpoint
// (scheme://host/PATH/ gives scheme://host/batch/PATH).
func newBatchClient(hc *http.Client, endpoint, bucket string) (*batchClient, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "endpoint", Err: err}
	}
	api := strings.TrimSuffix(u.Path, "/") // /storage/v1
	b := &batchClient{
		hc:       hc,
		url:      u.Scheme + "://" + u.Host + "/batch" + api,
		host:     u.Host,
		objPath:  api + "/b/" + url.PathEscape(bucket) + "/o/",
		maxCalls: MaxDeleteBatchSize,
	}
	return b, nil
}

// errNoAnswer is the cause of a call the batch response did not answer.
var errNoAnswer = errors.New("no answer in the batch response")

// delete sends one batch request deleting names (at most maxCalls) and
// returns the outcome per name, in order: nil when the object was deleted,
// else the call's *itemError (a 404 of a missing object, which Classify
// calls driver.KindNotFound and the caller counts as deleted, or of a
// missing bucket, which it does not). err is set when the request as a whole failed (no
// response, a non-200 status, an unreadable body): then no outcome is
// known. A response cut short is marked driver.Retryable.
func (b *batchClient) delete(ctx context.Context, names []string) ([]error, error) {
	if len(names) > b.maxCalls {
		return nil, fmt.Errorf("batch of %d calls exceeds the limit of %d", len(names), b.maxCalls)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i, name := range names {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/http")
		h.Set("Content-Transfer-Encoding", "binary")
		h.Set("Content-ID", "<"+strconv.Itoa(i+1)+">")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(pw, "DELETE %s%s HTTP/1.1\r\nHost: %s\r\n\r\n", b.objPath, url.PathEscape(name), b.host)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		e := responseError(resp.StatusCode, msg)
		e.whole = true
		return nil, e
	}
	results, err := parseBatchResponse(resp, len(names))
	if err != nil {
		// A response cut short: the calls it did not answer may or may not
		// have run; deletes are safe to send again.
		return nil, driver.Retryable(err)
	}
	return results, nil
}

// parseBatchResponse reads the results of n calls from a batch response.
// A call without an answer gets errNoAnswer (wrapped in a 503 itemError,
// so that it is retried).
func parseBatchResponse(resp *http.Response, n int) ([]error, error) {
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("batch response: Content-Type %q is not multipart", resp.Header.Get("Content-Type"))
	}
	results := make([]error, n)
	answered := make([]bool, n)
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("batch response: %w", err)
		}
		i, ok := contentIndex(part.Header.Get("Content-ID"), n)
		if !ok {
			continue // not one of ours
		}
		inner, err := http.ReadResponse(bufio.NewReader(part), nil)
		if err != nil {
			return nil, fmt.Errorf("batch response: part %d: %w", i+1, err)
		}
		msg, err := io.ReadAll(io.LimitReader(inner.Body, 4<<10))
		inner.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("batch response: part %d: %w", i+1, err)
		}
		answered[i] = true
		if code := inner.StatusCode; code/100 != 2 {
			results[i] = responseError(code, msg)
		}
	}
	for i, ok := range answered {
		if !ok {
			results[i] = &itemError{Code: http.StatusServiceUnavailable, Message: errNoAnswer.Error()}
		}
	}
	return results, nil
}

// contentIndex maps a response part's Content-ID ("<response-7>", or
// "response-7") to the index of the call it answers.
func contentIndex(id string, n int) (int, bool) {
	id = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
	id = strings.TrimPrefix(id, "response-")
	k, err := strconv.Atoi(id)
	if err != nil || k < 1 || k > n {
		return 0, false
	}
	return k - 1, true
}

// responseError builds the error of a failed call from its status and JSON
// error body ({"error": {"code": ..., "message": ...}}), if any.
func responseError(code int, body []byte) *itemError {
	var doc struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &doc) == nil {
		msg = doc.Error.Message
	} else if len(body) > 0 {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
	}
	return &itemError{Code: code, Message: msg}
}
