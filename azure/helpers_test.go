package azure_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
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
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// ---- request classification -------------------------------------------------

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

// headerValue returns the first value of header name in any case.
func headerValue(req *http.Request, name string) string {
	for k, v := range req.Header {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// ---- SDK retries of a blob batch ------------------------------------------

// onceClient returns a client that sends a driver's requests through hc,
// except a blob batch that the SDK sends again after a try that failed at
// the transport or with a status it retries: that try goes to the server
// straight, not counted by hc's transport, and is logged. A count of
// requests then counts the batches the driver sent, once each.
//
// Why: Azurite (Node's 5-second keep-alive) resets a connection that Go
// reuses after more than 5 s idle while the server is busy with other
// batches. Go's transport does not send a POST again itself, so the SDK's
// retry policy does, and a request count saw one batch more than the
// driver sent (TestCountWalkAndDelete2500, TestConformance/DeleteFiles/Many
// under load). The same batch is told by its multipart boundary, which the
// SDK's retries keep; a batch sent again after an answer the SDK does not
// retry fails the test.
func onceClient(t testing.TB, hc *http.Client) *http.Client {
	if hc == nil {
		hc = &http.Client{}
	}
	counted := hc.Transport
	if counted == nil {
		counted = http.DefaultTransport
	}
	return &http.Client{Transport: &batchRetries{t: t, counted: counted, last: map[string]string{}}}
}

// batchRetries is the transport of onceClient.
type batchRetries struct {
	t       testing.TB
	counted http.RoundTripper

	mu sync.Mutex
	// last holds the outcome of the last try of each batch, by boundary;
	// "" when the SDK retries it.
	last map[string]string
}

func (b *batchRetries) RoundTrip(req *http.Request) (*http.Response, error) {
	if opName(req) != "SubmitBatch" {
		return b.counted.RoundTrip(req)
	}
	_, params, _ := mime.ParseMediaType(headerValue(req, "Content-Type"))
	boundary := params["boundary"]
	b.mu.Lock()
	last, again := b.last[boundary]
	b.mu.Unlock()
	rt := b.counted
	switch {
	case again && last == "":
		b.t.Logf("the SDK sends blob batch %s again after a failed try: not counted", boundary)
		rt = http.DefaultTransport
	case again:
		b.t.Errorf("blob batch %s sent again after %s", boundary, last)
	}
	resp, err := rt.RoundTrip(req)
	outcome := ""
	switch {
	case err != nil:
		b.t.Logf("blob batch %s: %v", boundary, err)
	case slices.Contains([]int{408, 429, 500, 502, 503, 504}, resp.StatusCode):
		b.t.Logf("blob batch %s: status %d", boundary, resp.StatusCode)
	default:
		outcome = fmt.Sprintf("a %d answer", resp.StatusCode)
	}
	b.mu.Lock()
	b.last[boundary] = outcome
	b.mu.Unlock()
	return resp, err
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

// stored lists everything under prefix: the committed blobs and, named
// "uncommitted: <name>", the blobs that hold uncommitted blocks only.
func (m *independent) stored(prefix string) []string {
	m.t.Helper()
	out := m.names(prefix)
	for _, n := range m.list(prefix, true) {
		if _, found := slices.BinarySearch(out, n); !found {
			out = append(out, "uncommitted: "+n)
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

// freshRoot returns a unique root directory and removes every blob under
// it when the test ends.
func freshRoot(t testing.TB) string {
	t.Helper()
	return cloudtest.FreshRoot(t, "aztest", newIndependent(t).clean)
}

// backend plugs the driver into the cloud backends' shared tests; Keys
// lists the committed blobs.
func backend() cloudtest.Backend {
	return backendWith(nil)
}

// backendWith is backend() with drivers whose Config tweak changes.
func backendWith(tweak func(*azure.Config)) cloudtest.Backend {
	b := directBackend(tweak)
	direct := b.New
	b.New = func(t testing.TB, root string, hc *http.Client, o cloudtest.Options) driver.StorageDriver {
		return direct(t, root, onceClient(t, hc), o)
	}
	return b
}

// directBackend is backendWith with drivers that send through hc itself,
// not onceClient: for tests in which every batch the SDK sends again
// counts (the fault and per-blob error tests).
func directBackend(tweak func(*azure.Config)) cloudtest.Backend {
	return cloudtest.Backend{
		Name: "azblob",
		Root: freshRoot,
		New: func(t testing.TB, root string, hc *http.Client, o cloudtest.Options) driver.StorageDriver {
			cfg := testConfig(t, root, hc)
			o.Apply(&cfg.CommonConfig, &cfg.ChunkSize)
			if tweak != nil {
				tweak(&cfg)
			}
			return newDriver(t, cfg)
		},
		Op:   opName,
		Keys: func(t testing.TB, prefix string) []string { return newIndependent(t).names(prefix) },
		Get:  func(t testing.TB, key string) []byte { return newIndependent(t).get(key) },
		Put:  func(t testing.TB, key string, content []byte) { newIndependent(t).put(key, content) },
	}
}

// nopSeeker wraps b for the SDK's upload calls.
func nopSeeker(b []byte) io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(b)) }
