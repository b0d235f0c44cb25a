package conformance_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// remoteBatch is the remote's delete batch size, unless Env.DeleteBatchSize
// lowers it.
const remoteBatch = 100

// remote makes an inmemory store look like an HTTP backend to the suite,
// so that the self test can prove the leaves that only run with
// Capabilities.HTTP (request counts, requests that fail): it reports
// HTTP: true, and where an object store sends a state-changing request it
// sends one through the Env's HTTPClient to a local server that answers
// 204, and changes the store only when that request succeeded. The
// counting is honest: Env.Requests counts exactly the requests it sends.
//
//   - DeleteFiles: one POST per batch of remoteBatch (or
//     Env.DeleteBatchSize) unique paths, up to four at once; a batch whose
//     request fails is reported failed, nothing in it deleted.
//   - Move: a PUT for the copy, then a DELETE for the source; the
//     destination is written only after the PUT succeeded, the source
//     removed only after the DELETE did.
//   - URLFor sends nothing but signs URLs to the same server (see
//     remoteServer), which serves the store's files to GET or HEAD,
//     checking the signature, the expiry and the method.
//
// Every other method sends nothing, which the leaves allow: with
// ListPageSize 0 no leaf counts Walk's or Delete's requests.
type remote struct {
	*inmemory.Driver
	client *http.Client
	url    string
	root   string // the Env's, naming the store to the server
	batch  int
}

// Capabilities implements the suite's capability probe.
func (r *remote) Capabilities() driver.Capabilities {
	return driver.Capabilities{DeleteBatchSize: r.batch, HTTP: true, SignedURLs: true}
}

// URLFor implements driver.StorageDriver as driver.Store does: GET or
// HEAD only, an expiry in the future (default 20 minutes).
func (r *remote) URLFor(ctx context.Context, p string, options map[string]any) (string, error) {
	if err := driver.ValidatePath(inmemory.DriverName, p); err != nil {
		return "", err
	}
	method := http.MethodGet
	if m, ok := options["method"].(string); ok {
		method = strings.ToUpper(m)
	}
	if method != http.MethodGet && method != http.MethodHead {
		return "", &driver.UnsupportedMethodError{DriverName: inmemory.DriverName, Method: "URLFor " + method}
	}
	expires := time.Now().Add(driver.DefaultURLExpiry)
	if t, ok := options["expiry"].(time.Time); ok {
		if !t.After(time.Now()) {
			return "", fmt.Errorf("remote: URLFor(%s): expiry %v is not in the future", p, t)
		}
		expires = t
	}
	if _, err := r.Driver.Stat(ctx, p); err != nil {
		return "", err
	}
	return r.sign(p, method, expires), nil
}

// sign returns the server's URL for p, good for method until expires.
func (r *remote) sign(p, method string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{"m": {method}, "exp": {exp}, "sig": {remoteSig(r.root, p, method, exp)}}
	return r.url + "/obj/" + r.root + p + "?" + q.Encode()
}

// remoteKey signs the remote's URLs.
var remoteKey = []byte("conformance self-test")

func remoteSig(root, p, method, exp string) string {
	h := hmac.New(sha256.New, remoteKey)
	fmt.Fprintf(h, "%s\n%s\n%s\n%s", root, p, method, exp)
	return hex.EncodeToString(h.Sum(nil))
}

// remoteServer answers the remote's requests: 204 to the delete and copy
// requests, and for a signed URL /obj/<root><path> whose signature
// matches, whose expiry is ahead and whose signed method is the request's
// (403 otherwise), the file of the store lookup(root) gives: GET and HEAD
// read it, PUT writes it, DELETE removes it, so that a URL signed for
// more than reading shows.
func remoteServer(lookup func(root string) *inmemory.Driver) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rest, ok := strings.CutPrefix(req.URL.Path, "/obj/")
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		root, p, _ := strings.Cut(rest, "/")
		p = "/" + p
		q := req.URL.Query()
		m, exp := q.Get("m"), q.Get("exp")
		t, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || !hmac.Equal([]byte(q.Get("sig")), []byte(remoteSig(root, p, m, exp))) ||
			time.Now().Unix() >= t || m != req.Method {
			http.Error(w, "signature, expiry or method refused", http.StatusForbidden)
			return
		}
		d := lookup(root)
		if d == nil {
			http.NotFound(w, req)
			return
		}
		ctx := req.Context()
		switch req.Method {
		case http.MethodGet, http.MethodHead:
			b, err := d.GetContent(ctx, p)
			if err != nil {
				http.NotFound(w, req)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			if req.Method == http.MethodGet {
				_, _ = w.Write(b)
			}
		case http.MethodPut, http.MethodPost:
			b, err := io.ReadAll(req.Body)
			if err == nil {
				err = d.PutContent(ctx, p, b)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusCreated)
		case http.MethodDelete:
			if err := d.Delete(ctx, p); err != nil {
				http.NotFound(w, req)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
}

// send sends one request to the server.
func (r *remote) send(ctx context.Context, method, what string) error {
	req, err := http.NewRequestWithContext(ctx, method, r.url+"/"+what, nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("remote: %s %s: %w", method, what, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("remote: %s %s: %s", method, what, resp.Status)
	}
	return nil
}

// DeleteFiles implements driver.StorageDriver: one request per batch.
func (r *remote) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	return driver.DeleteInBatches(ctx, inmemory.DriverName, paths, r.batch, 4, func(ctx context.Context, batch []string) []driver.DeleteFailure {
		if err := r.send(ctx, http.MethodPost, "delete"); err != nil {
			out := make([]driver.DeleteFailure, len(batch))
			for i, p := range batch {
				out[i] = driver.DeleteFailure{Path: p, Err: err}
			}
			return out
		}
		// The server did it: the store follows whatever ctx says now.
		if _, err := r.Driver.DeleteFiles(context.WithoutCancel(ctx), batch); err != nil {
			panic(err) // valid, unique paths: inmemory cannot fail
		}
		return nil
	})
}

// Move implements driver.StorageDriver: a copy request, then a delete
// request.
func (r *remote) Move(ctx context.Context, src, dst string) error {
	for _, p := range []string{src, dst} {
		if err := driver.ValidatePath(inmemory.DriverName, p); err != nil {
			return err
		}
	}
	content, err := r.Driver.GetContent(ctx, src)
	if err != nil {
		return err
	}
	if src == dst {
		return nil
	}
	if err := r.send(ctx, http.MethodPut, "copy"); err != nil {
		return err
	}
	if err := r.Driver.PutContent(context.WithoutCancel(ctx), dst, content); err != nil {
		return err
	}
	if err := r.send(ctx, http.MethodDelete, "source"); err != nil {
		return err
	}
	return r.Driver.Delete(context.WithoutCancel(ctx), src)
}
