package gcs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// classes is an http.RoundTripper that records, for every object a
// request creates (upload, compose, rewrite), the storageClass the
// request asks for ("" for none, which leaves it to GCS).
type classes struct {
	next http.RoundTripper
	t    testing.TB

	mu  sync.Mutex
	got map[string][]string // object name -> storage classes, in order
}

func (c *classes) RoundTrip(req *http.Request) (*http.Response, error) {
	op := opName(req)
	if op == "Upload" || op == "Compose" || op == "Rewrite" {
		raw, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		name, class := c.parse(req, op, raw)
		c.mu.Lock()
		c.got[name] = append(c.got[name], class)
		c.mu.Unlock()
	}
	return c.next.RoundTrip(req)
}

// parse returns the name and the storageClass of the object req creates.
func (c *classes) parse(req *http.Request, op string, body []byte) (name, class string) {
	var meta struct {
		Name         string `json:"name"`
		StorageClass string `json:"storageClass"`
	}
	switch op {
	case "Upload": // multipart/related: the JSON metadata, then the bytes
		_, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
		if err != nil {
			c.t.Errorf("upload Content-Type %q: %v", req.Header.Get("Content-Type"), err)
			return "", ""
		}
		part, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).NextPart()
		if err == nil {
			err = json.NewDecoder(part).Decode(&meta)
		}
		if err != nil {
			c.t.Errorf("upload metadata: %v", err)
		}
		return meta.Name, meta.StorageClass
	case "Compose": // {"destination": {...}, "sourceObjects": [...]}
		var doc struct {
			Destination struct {
				StorageClass string `json:"storageClass"`
			} `json:"destination"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			c.t.Errorf("compose body: %v", err)
		}
		class = doc.Destination.StorageClass
	default: // rewriteTo: the destination's metadata
		if err := json.Unmarshal(body, &meta); err != nil && len(body) > 0 {
			c.t.Errorf("rewrite body: %v", err)
		}
		class = meta.StorageClass
	}
	// /storage/v1/b/B/o/NAME/compose, /storage/v1/b/B/o/SRC/rewriteTo/b/B/o/NAME
	segs := strings.Split(req.URL.EscapedPath(), "/")
	i := len(segs) - 1
	if op == "Compose" {
		i--
	}
	name, err := url.PathUnescape(segs[i])
	if err != nil {
		c.t.Errorf("%s path %s: %v", op, req.URL.EscapedPath(), err)
	}
	return name, class
}

// The driver's hidden objects (parts written by Write and Close, the
// empty marker, the copy that continues a committed file, the
// intermediates of a compose tree) are created STANDARD whatever the
// bucket's default class (Nearline, Coldline and Archive bill a minimum
// storage duration for objects the driver deletes minutes later); the
// files themselves (PutContent, a one-request Commit, the final compose)
// leave the class to GCS. 35 parts go through quirks, which refuses a
// compose of more than 32 sources as GCS does.
func TestWriterHiddenObjectsStandard(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	rec := &classes{next: &quirks{}, t: t, got: map[string][]string{}}
	hc, _, o := cloudtest.CountingClient(rec, opName)
	d := writerBackend().New(t, root, hc, cloudtest.Options{})

	first := []byte("committed first")
	if err := d.PutContent(ctx, "/f", first); err != nil {
		t.Fatal(err)
	}
	more := cloudtest.PatternBytes(33*gcs.MinChunkSize + 5)
	w := cloudtest.Session(t, d, "/f", true, int64(len(first)), more) // a copy, 33 parts
	if err := w.Close(); err != nil {                                 // the 5-byte rest
		t.Fatal(err)
	}
	w = cloudtest.Session(t, d, "/e", false, 0, nil)
	if err := w.Close(); err != nil { // an empty marker
		t.Fatal(err)
	}
	w = cloudtest.Session(t, d, "/f", true, int64(len(first)+len(more)), nil)
	o.Take()
	if err := w.Commit(ctx); err != nil { // 35 parts: two intermediates
		t.Fatalf("Commit of 35 parts: %v", err)
	}
	cloudtest.WantOps(t, "Commit of 35 parts", o.Take(), map[string]int{"Compose": 3, "Batch": 1})
	if got, want := m.get(root+"/f"), append(first, more...); !bytes.Equal(got, want) {
		t.Fatalf("the SDK reads %d bytes of /f, want %d", len(got), len(want))
	}
	w = cloudtest.Session(t, d, "/g", false, 0, []byte("small"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	hidden := 0
	for name, got := range rec.got {
		want := ""
		if strings.HasPrefix(name, root+"/~stowage/") {
			want = "STANDARD"
			hidden++
		}
		for _, class := range got {
			if class != want {
				t.Errorf("%s created with storageClass %q, want %q", name, class, want)
			}
		}
	}
	// The copy, 33 + 1 parts, the marker, two intermediates.
	if hidden != 38 {
		t.Errorf("%d hidden objects created, want 38", hidden)
	}
	for _, name := range []string{root + "/f", root + "/g"} {
		if len(rec.got[name]) == 0 {
			t.Errorf("no request created %s", name)
		}
	}
}
