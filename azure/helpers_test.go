package azure_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/transport"
)

// ---- request classification -------------------------------------------------

// ops counts requests by Azure Blob operation, told apart by method, query
// and headers, and passes them to Base.
type ops struct {
	Base http.RoundTripper

	mu     sync.Mutex
	counts map[string]int
}

// opName names the Azure Blob operation of req.
func opName(req *http.Request) string {
	q := req.URL.Query()
	comp := q.Get("comp")
	switch req.Method {
	case http.MethodPost:
		if comp == "batch" {
			return "SubmitBatch"
		}
	case http.MethodGet:
		switch {
		case comp == "blocklist":
			return "GetBlockList"
		case comp == "list":
			return "ListBlobs"
		case comp == "":
			return "GetBlob"
		}
	case http.MethodHead:
		return "GetBlobProperties"
	case http.MethodPut:
		switch {
		case comp == "block":
			return "PutBlock"
		case comp == "blocklist":
			return "PutBlockList"
		case hasHeader(req, "x-ms-copy-source"):
			return "CopyBlob"
		case comp == "":
			return "PutBlob"
		}
	case http.MethodDelete:
		return "DeleteBlob"
	}
	return req.Method + " " + req.URL.RawQuery
}

// hasHeader reports whether req has header name in any case (the SDK sets
// some headers with non-canonical keys, which Header.Get misses).
func hasHeader(req *http.Request, name string) bool {
	for k := range req.Header {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// RoundTrip counts req and passes it on.
func (o *ops) RoundTrip(req *http.Request) (*http.Response, error) {
	o.mu.Lock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	o.counts[opName(req)]++
	o.mu.Unlock()
	base := o.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
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
// transport.Counter and then an ops classifier to base.
func countingClient(base http.RoundTripper) (*http.Client, *transport.Counter, *ops) {
	o := &ops{Base: base}
	c := &transport.Counter{Base: o}
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

// independent is an azblob client of its own on the test server (its own
// pipeline, default transport, none of the driver's code), to check what
// the driver did.
type independent struct {
	t testing.TB
	c *container.Client
}

func newIndependent(t testing.TB) *independent {
	t.Helper()
	env := testenv.Azure(t)
	cred, err := service.NewSharedKeyCredential(env.Account, env.Key)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.NewClientWithSharedKeyCredential(env.URL, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &independent{t: t, c: svc.NewContainerClient(env.Container)}
}

// names lists every committed blob under prefix, sorted.
func (m *independent) names(prefix string) []string {
	m.t.Helper()
	return m.list(prefix, false)
}

// list lists the blobs under prefix, with the uncommitted ones if asked.
func (m *independent) list(prefix string, uncommitted bool) []string {
	m.t.Helper()
	var out []string
	pager := m.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr(prefix),
		Include: container.ListBlobsInclude{UncommittedBlobs: uncommitted},
	})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			m.t.Fatalf("azblob ListBlobs(%s): %v", prefix, err)
		}
		for _, b := range page.Segment.BlobItems {
			out = append(out, *b.Name)
		}
	}
	sort.Strings(out)
	return out
}

// uncommitted returns the decoded IDs of the uncommitted blocks of name, in
// the order the service lists them (nil when the blob is unknown).
func (m *independent) uncommitted(name string) []string {
	m.t.Helper()
	resp, err := m.c.NewBlockBlobClient(name).GetBlockList(context.Background(), blockblob.BlockListTypeUncommitted, nil)
	if err != nil {
		return nil
	}
	var out []string
	for _, b := range resp.UncommittedBlocks {
		raw, err := base64.StdEncoding.DecodeString(*b.Name)
		if err != nil {
			m.t.Fatalf("block ID %q is not base64: %v", *b.Name, err)
		}
		out = append(out, string(raw))
	}
	return out
}

// committed returns the decoded IDs of the committed blocks of name.
func (m *independent) committed(name string) []string {
	m.t.Helper()
	resp, err := m.c.NewBlockBlobClient(name).GetBlockList(context.Background(), blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		m.t.Fatalf("azblob GetBlockList(%s): %v", name, err)
	}
	var out []string
	for _, b := range resp.CommittedBlocks {
		raw, _ := base64.StdEncoding.DecodeString(*b.Name)
		out = append(out, string(raw))
	}
	return out
}

// get returns the content of name.
func (m *independent) get(name string) []byte {
	m.t.Helper()
	resp, err := m.c.NewBlobClient(name).DownloadStream(context.Background(), nil)
	if err != nil {
		m.t.Fatalf("azblob DownloadStream(%s): %v", name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		m.t.Fatalf("azblob DownloadStream(%s): %v", name, err)
	}
	return b
}

// put stores content at name.
func (m *independent) put(name string, content []byte) {
	m.t.Helper()
	_, err := m.c.NewBlockBlobClient(name).Upload(context.Background(), streaming.NopCloser(bytes.NewReader(content)), nil)
	if err != nil {
		m.t.Fatalf("azblob Upload(%s): %v", name, err)
	}
}

// clean removes every committed blob under prefix, with blob batches of
// azure.MaxDeleteBatchSize deletes (a test may leave thousands).
func (m *independent) clean(prefix string) {
	ctx := context.Background()
	for batch := range slices.Chunk(m.list(prefix, false), azure.MaxDeleteBatchSize) {
		bb, err := m.c.NewBatchBuilder()
		for _, n := range batch {
			if err == nil {
				err = bb.Delete(n, nil)
			}
		}
		var resp container.SubmitBatchResponse
		if err == nil {
			resp, err = m.c.SubmitBatch(ctx, bb, nil)
		}
		if err != nil {
			m.t.Errorf("cleanup: azblob SubmitBatch of %d deletes under %s: %v", len(batch), prefix, err)
			continue
		}
		for _, item := range resp.Responses {
			if item.Error != nil && httpStatusOf(item.Error) != http.StatusNotFound {
				m.t.Errorf("cleanup: azblob batch delete under %s: %v", prefix, item.Error)
			}
		}
	}
}

// httpStatusOf returns the HTTP status behind an SDK error, or 0.
func httpStatusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
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
	root := "aztest-" + hex.EncodeToString(b[:])
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

// namesOf maps paths to blob names under root, sorted.
func namesOf(root string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = root + p
	}
	slices.Sort(out)
	return out
}

// patternBytes returns n bytes that differ from one offset to the next.
func patternBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// nopSeeker wraps b for the SDK's upload calls.
func nopSeeker(b []byte) io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(b)) }
