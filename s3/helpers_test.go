package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// ---- request classification -------------------------------------------------

// ops counts requests by S3 operation, told apart by method, query and
// headers, and passes them to Base.
type ops struct {
	Base http.RoundTripper

	mu      sync.Mutex
	counts  map[string]int
	headers map[string]http.Header // of the last request of each operation
}

// opName names the S3 operation of req.
func opName(req *http.Request) string {
	q := req.URL.Query()
	copySrc := req.Header.Get("X-Amz-Copy-Source") != ""
	switch req.Method {
	case http.MethodPost:
		switch {
		case q.Has("delete"):
			return "DeleteObjects"
		case q.Has("uploads"):
			return "CreateMultipartUpload"
		case q.Has("uploadId"):
			return "CompleteMultipartUpload"
		}
	case http.MethodGet:
		switch {
		case q.Get("list-type") == "2":
			return "ListObjectsV2"
		case q.Has("uploads"):
			return "ListMultipartUploads"
		case q.Has("uploadId"):
			return "ListParts"
		default:
			return "GetObject"
		}
	case http.MethodHead:
		return "HeadObject"
	case http.MethodPut:
		switch {
		case q.Has("partNumber") && copySrc:
			return "UploadPartCopy"
		case q.Has("partNumber"):
			return "UploadPart"
		case copySrc:
			return "CopyObject"
		default:
			return "PutObject"
		}
	case http.MethodDelete:
		if q.Has("uploadId") {
			return "AbortMultipartUpload"
		}
		return "DeleteObject"
	}
	return req.Method + " " + req.URL.RawQuery
}

// RoundTrip counts req and passes it on.
func (o *ops) RoundTrip(req *http.Request) (*http.Response, error) {
	o.mu.Lock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	if o.headers == nil {
		o.headers = map[string]http.Header{}
	}
	name := opName(req)
	o.counts[name]++
	o.headers[name] = req.Header.Clone()
	o.mu.Unlock()
	base := o.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// Header returns the headers of the last request of operation op.
func (o *ops) Header(op string) http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.headers[op]
}

// Take returns the counts so far and resets them.
func (o *ops) Take() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.counts
	o.counts = nil
	if c == nil {
		c = map[string]int{}
	}
	return c
}

// countingClient returns a client whose requests go through a
// conformance.Counter and then an ops classifier to base.
func countingClient(base http.RoundTripper) (*http.Client, *conformance.Counter, *ops) {
	o := &ops{Base: base}
	c := &conformance.Counter{Base: o}
	return &http.Client{Transport: c}, c, o
}

// wantOps fails t unless got holds exactly want.
func wantOps(t testing.TB, what string, got, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d %s requests, want %d (all: %v)", what, got[k], k, v, got)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %d unexpected %s requests (all: %v)", what, v, k, got)
		}
	}
}

// ---- an independent client ----------------------------------------------------

// independent is a minio-go client on the test server, to check what the
// driver did with a client that shares none of its code.
type independent struct {
	t      testing.TB
	c      *minio.Client
	bucket string
}

func newIndependent(t testing.TB) *independent {
	t.Helper()
	env := testenv.S3(t)
	host := env.Endpoint
	secure := strings.HasPrefix(host, "https://")
	host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	c, err := minio.New(host, &minio.Options{
		Creds:  miniocreds.NewStaticV4(env.AccessKey, env.SecretKey, ""),
		Secure: secure,
		Region: env.Region,
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return &independent{t: t, c: c, bucket: env.Bucket}
}

// keys lists every key under prefix, sorted.
func (m *independent) keys(prefix string) []string {
	m.t.Helper()
	var out []string
	for o := range m.c.ListObjects(context.Background(), m.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			m.t.Fatalf("minio ListObjects(%s): %v", prefix, o.Err)
		}
		out = append(out, o.Key)
	}
	sort.Strings(out)
	return out
}

// uploads returns the IDs of the unfinished multipart uploads of key.
// (MinIO lists uploads only for an exact object name, not a prefix.)
func (m *independent) uploads(key string) []string {
	m.t.Helper()
	var out []string
	for u := range m.c.ListIncompleteUploads(context.Background(), m.bucket, key, false) {
		if u.Err != nil {
			m.t.Fatalf("minio ListIncompleteUploads(%s): %v", key, u.Err)
		}
		if u.Key == key {
			out = append(out, u.UploadID)
		}
	}
	return out
}

// get returns the content of key.
func (m *independent) get(key string) []byte {
	m.t.Helper()
	o, err := m.c.GetObject(context.Background(), m.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		m.t.Fatalf("minio GetObject(%s): %v", key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		m.t.Fatalf("minio GetObject(%s): %v", key, err)
	}
	return b
}

// put stores content at key.
func (m *independent) put(key string, content []byte) {
	m.t.Helper()
	_, err := m.c.PutObject(context.Background(), m.bucket, key, bytes.NewReader(content), int64(len(content)), minio.PutObjectOptions{})
	if err != nil {
		m.t.Fatalf("minio PutObject(%s): %v", key, err)
	}
}

// clean removes every object under prefix. (Unfinished uploads cannot be
// listed by prefix on MinIO; the tests abort or commit theirs.)
func (m *independent) clean(prefix string) {
	ctx := context.Background()
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for o := range m.c.ListObjects(ctx, m.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err == nil {
				objs <- o
			}
		}
	}()
	for e := range m.c.RemoveObjects(ctx, m.bucket, objs, minio.RemoveObjectsOptions{}) {
		m.t.Errorf("cleanup: minio RemoveObjects %s: %v", e.ObjectName, e.Err)
	}
}

// ---- fixtures -----------------------------------------------------------------

// freshRoot returns a unique root directory and removes everything under
// it when the test ends.
func freshRoot(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	root := "s3test-" + hex.EncodeToString(b[:])
	m := newIndependent(t)
	t.Cleanup(func() { m.clean(root + "/") })
	return root
}

// putAll stores every path with its own path as content, 16 at a time.
func putAll(t testing.TB, d driver.StorageDriver, paths []string) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan string)
	)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				if err := d.PutContent(context.Background(), p, []byte(p)); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range paths {
		next <- p
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatalf("PutContent: %v", first)
	}
}

// numbered returns n paths dir/fNNNNN.
func numbered(dir string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/f%05d", dir, i)
	}
	return out
}

// keysOf maps paths to keys under root, sorted.
func keysOf(root string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = root + p
	}
	slices.Sort(out)
	return out
}
