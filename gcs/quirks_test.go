package gcs_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// quirks is an http.RoundTripper in front of fake-gcs-server (it never
// replaces the server: every request still goes to it) that answers as
// GCS documents where the emulator does not:
//
//   - A 404 says what is missing. GCS answers a call to a bucket that does
//     not exist 404 with the message "The specified bucket does not exist."
//     and one for a missing object 404 "No such object: BUCKET/NAME", both
//     with reason "notFound", in plain answers and in the calls of a batch
//     alike (https://cloud.google.com/storage/docs/json_api/v1/status-codes:
//     404 "The requested resource doesn't exist"; the two messages are the
//     ones GCS sends, e.g. "404 GET .../storage/v1/b/BUCKET/o?...: The
//     specified bucket does not exist."). fake-gcs-server v1.56.1 answers
//     both "Not Found". quirks asks the server whether the bucket exists
//     (GET /storage/v1/b/BUCKET) and rewrites the body.
//   - A delete with ifGenerationMatch is a precondition: "If the
//     precondition fails, Cloud Storage returns a 412 Precondition Failed
//     status code" and does not act
//     (https://cloud.google.com/storage/docs/request-preconditions).
//     fake-gcs-server v1.56.1 ignores the parameter and deletes whatever is
//     there. quirks reads the live generation first (GET of the object's
//     metadata) and answers 412 itself when it differs. (Not atomic, unlike
//     GCS; the tests change objects only from their own hooks.)
//   - A compose takes "between 1 and 32 source objects"
//     (https://cloud.google.com/storage/docs/composing-objects); GCS
//     refuses more with 400. fake-gcs-server composes any number. quirks
//     answers 400 to a compose request with more than 32 sourceObjects.
//
// Its own requests (the bucket and generation checks) go straight to the
// server, past any counting transport the driver's client has in front of
// quirks.
type quirks struct {
	next http.RoundTripper // to the server; http.DefaultTransport if nil
}

func (q *quirks) transport() http.RoundTripper {
	if q.next == nil {
		return http.DefaultTransport
	}
	return q.next
}

// RoundTrip implements http.RoundTripper.
func (q *quirks) RoundTrip(req *http.Request) (*http.Response, error) {
	switch op := opName(req); op {
	case "Batch":
		return q.batch(req)
	case "Delete":
		if g := req.URL.Query().Get("ifGenerationMatch"); g != "" {
			if resp := q.generationMismatch(req, g); resp != nil {
				return resp, nil
			}
		}
	case "Compose":
		if resp, err := q.composeLimit(req); resp != nil || err != nil {
			return resp, err
		}
	}
	resp, err := q.transport().RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		return resp, err
	}
	bucket, object, ok := jsonTarget(req.URL.EscapedPath())
	if !ok {
		return resp, nil
	}
	resp.Body.Close()
	body := q.notFoundBody(req, bucket, object)
	resp.Body = io.NopCloser(strings.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Set("Content-Type", "application/json; charset=UTF-8")
	return resp, nil
}

// jsonTarget returns the bucket and object (unescaped; "" for a bucket
// request) of a JSON API path /storage/v1/b/BUCKET[/o[/OBJECT[/...]]].
func jsonTarget(escaped string) (bucket, object string, ok bool) {
	rest, ok := strings.CutPrefix(escaped, "/storage/v1/b/")
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	bucket, err := url.PathUnescape(parts[0])
	if err != nil {
		return "", "", false
	}
	if len(parts) >= 3 && parts[1] == "o" {
		object, err = url.PathUnescape(parts[2])
		if err != nil {
			return "", "", false
		}
	}
	return bucket, object, true
}

// gcsError is GCS's JSON error body.
func gcsError(code int, reason, message string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code":    code,
		"message": message,
		"errors":  []map[string]string{{"domain": "global", "reason": reason, "message": message}},
	}})
	return string(b)
}

// notFoundBody is GCS's 404 body for a request on bucket (and object).
func (q *quirks) notFoundBody(req *http.Request, bucket, object string) string {
	if !q.bucketExists(req, bucket) {
		return gcsError(http.StatusNotFound, "notFound", "The specified bucket does not exist.")
	}
	return gcsError(http.StatusNotFound, "notFound", "No such object: "+bucket+"/"+object)
}

// bucketExists asks the server whether bucket exists.
func (q *quirks) bucketExists(orig *http.Request, bucket string) bool {
	u := *orig.URL
	u.RawQuery = ""
	u.Path = "/storage/v1/b/" + bucket
	u.RawPath = "/storage/v1/b/" + url.PathEscape(bucket)
	resp, err := q.get(orig, u.String())
	if err != nil {
		return true // cannot tell: leave the server's answer as it is
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound
}

// get sends a GET of u to the server on behalf of orig.
func (q *quirks) get(orig *http.Request, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(orig.Context(), http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return q.transport().RoundTrip(req)
}

// generationMismatch returns GCS's 412 when the object req deletes has a
// live generation other than want, nil when the delete may go on (same
// generation, or no object: the server answers that 404 itself).
func (q *quirks) generationMismatch(req *http.Request, want string) *http.Response {
	u := *req.URL
	u.RawQuery = ""
	resp, err := q.get(req, u.String())
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var obj struct {
		Generation string `json:"generation"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&obj) != nil || obj.Generation == want {
		return nil
	}
	return jsonResponse(req, http.StatusPreconditionFailed,
		gcsError(http.StatusPreconditionFailed, "conditionNotMet", "At least one of the pre-conditions you specified did not hold."))
}

// composeLimit returns GCS's 400 for a compose request of more than 32
// sources, nil otherwise; it leaves req's body readable.
func (q *quirks) composeLimit(req *http.Request) (*http.Response, error) {
	raw, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	var doc struct {
		SourceObjects []json.RawMessage `json:"sourceObjects"`
	}
	if json.Unmarshal(raw, &doc) != nil || len(doc.SourceObjects) <= 32 {
		return nil, nil
	}
	return jsonResponse(req, http.StatusBadRequest, gcsError(http.StatusBadRequest, "invalid",
		fmt.Sprintf("The number of source components provided (%d) exceeds the maximum (32)", len(doc.SourceObjects)))), nil
}

// jsonResponse is an answer to req with status and a JSON body.
func jsonResponse(req *http.Request, status int, body string) *http.Response {
	return &http.Response{
		StatusCode:    status,
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// batch forwards a batch request and gives each call answered 404 GCS's
// body for what is missing.
func (q *quirks) batch(req *http.Request) (*http.Response, error) {
	raw, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	targets := batchTargets(req.Header.Get("Content-Type"), raw) // by Content-ID

	resp, err := q.transport().RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("quirks: batch response: %w", err)
	}
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	if err := mw.SetBoundary(params["boundary"]); err != nil {
		return nil, err
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("quirks: batch response: %w", err)
		}
		id := part.Header.Get("Content-ID")
		inner, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("quirks: batch response: %w", err)
		}
		if r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(inner)), nil); err == nil && r.StatusCode == http.StatusNotFound {
			key := strings.TrimPrefix(strings.Trim(id, "<>"), "response-")
			if t, ok := targets[key]; ok {
				body := q.notFoundBody(req, t[0], t[1])
				inner = fmt.Appendf(nil, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader(part.Header))
		if err != nil {
			return nil, err
		}
		pw.Write(inner)
	}
	mw.Close()
	resp.Body = io.NopCloser(&out)
	resp.ContentLength = int64(out.Len())
	resp.Header.Set("Content-Length", strconv.Itoa(out.Len()))
	return resp, nil
}

// batchTargets maps the Content-IDs (without "<>") of a batch request's
// calls to the bucket and object each one names.
func batchTargets(contentType string, body []byte) map[string][2]string {
	out := map[string][2]string{}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return out
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return out
		}
		inner, err := http.ReadRequest(bufio.NewReader(part))
		if err != nil {
			continue
		}
		if bucket, object, ok := jsonTarget(inner.URL.EscapedPath()); ok {
			out[strings.Trim(part.Header.Get("Content-ID"), "<>")] = [2]string{bucket, object}
		}
	}
}
