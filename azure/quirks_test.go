package azure_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/stowage-dev/stowage/internal/testenv"
)

// azureQuirks is a provider-quirk http.RoundTripper in front of the real
// Azurite server: it makes Azurite behave as Azure does where Azurite does
// not, so that the backend's own logic is tested against the behaviour it
// meets on Azure. It never answers a request itself.
//
// Trailing dots. Azure trims the dots at the end of the segments of a blob
// name: "Avoid blob names that end with a dot (.), a forward slash (/), or
// a sequence or combination of the two. No path segments should end with a
// dot (.)." (https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata);
// a blob "folder/file." is stored as "folder/file", and a file "." in any
// segment is not retrievable under its untrimmed name
// (https://gitlab.com/gitlab-org/gitlab/-/issues/332027, whose SAS URL for
// "test." fails with AuthenticationFailed because the service checks the
// signature against the trimmed name). Azurite keeps the dots. The
// transport trims them from every segment of the blob name of the request
// URL, of the x-ms-copy-source URL, and of each sub-request of a blob
// batch. A request signed with the shared key is sent on with a container
// SAS instead of its signature (the trimmed URL no longer matches it; Azure
// accepts the request as sent and acts on the trimmed name); a request
// already carrying a SAS (URLFor's) is sent trimmed as it is, so Azurite
// checks its signature against the trimmed name, as Azure does.
//
// Put Blob discards uncommitted blocks. On Azure a Put Blob of a block
// blob drops the blob's uncommitted blocks: "All uncommitted blocks are
// also discarded when a new blob of the same name is created using a
// single step (rather than the two-step block upload-then-commit
// process)" (Put Block, Remarks:
// https://learn.microsoft.com/rest/api/storageservices/put-block#remarks;
// also "Understanding block blobs":
// https://learn.microsoft.com/rest/api/storageservices/understanding-block-blobs--append-blobs--and-page-blobs).
// Azurite's Put Blob keeps them (and so does its Delete Blob: the blocks
// of a deleted blob come back when the name is written again). Before an
// unconditional Put Blob of a block blob that has uncommitted blocks, the
// transport therefore commits an empty block list (Put Block List, which
// discards every block it does not name, on Azurite too), then sends the
// Put Blob on, which replaces that empty blob. Two approximations, neither
// reached by the driver's requests in these tests: a Put Blob that then
// fails leaves an empty blob where Azure keeps the old content, and a
// conditional Put Blob (If-Match, If-None-Match, a lease) is sent on as it
// is, keeping Azurite's behaviour. The transport's own
// requests go to the server directly, not through next, so counting and
// fault transports behind it see only the driver's requests.
type azureQuirks struct {
	next      http.RoundTripper
	base      string // escaped URL path of the container, with "/" at the end
	container string
	cred      *service.SharedKeyCredential
	client    *container.Client // straight to the server, for the transport's own requests
}

// newQuirks returns the quirk transport in front of next (nil: the
// default transport) for the test server's container.
func newQuirks(t testing.TB, next http.RoundTripper) *azureQuirks {
	t.Helper()
	env := testenv.Azure(t)
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := service.NewSharedKeyCredential(env.Account, env.Key)
	if err != nil {
		t.Fatal(err)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &azureQuirks{next: next, base: strings.TrimSuffix(u.EscapedPath(), "/") + "/" + env.Container + "/", container: env.Container, cred: cred,
		client: newIndependent(t).c}
}

// RoundTrip implements http.RoundTripper.
func (q *azureQuirks) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	changed := false
	if p, ok := q.trim(req.URL.EscapedPath()); ok {
		setPath(out.URL, p)
		changed = true
	}
	for k, v := range out.Header {
		if strings.EqualFold(k, "x-ms-copy-source") && len(v) > 0 {
			src, err := url.Parse(v[0])
			if err != nil {
				return nil, err
			}
			if p, ok := q.trim(src.EscapedPath()); ok {
				setPath(src, p)
				out.Header[k] = []string{src.String()}
				changed = true
			}
		}
	}
	if req.Method == http.MethodPost && req.URL.Query().Get("comp") == "batch" && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body, bchanged, err := q.batch(body)
		if err != nil {
			return nil, err
		}
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		out.Header.Set("Content-Length", strconv.Itoa(len(body)))
		changed = changed || bchanged
	}
	if changed && isSharedKey(out.Header) {
		if err := q.withSAS(out.URL, out.Header); err != nil {
			return nil, err
		}
	}
	if err := q.discardOnPutBlob(out); err != nil {
		return nil, err
	}
	return q.next.RoundTrip(out)
}

// discardOnPutBlob deletes the blob of req, an unconditional Put Blob of a
// block blob, when it has uncommitted blocks (see azureQuirks).
func (q *azureQuirks) discardOnPutBlob(req *http.Request) error {
	if req.Method != http.MethodPut || req.URL.Query().Get("comp") != "" ||
		!strings.EqualFold(headerValue(req, "x-ms-blob-type"), "BlockBlob") || hasHeader(req, "x-ms-copy-source") {
		return nil
	}
	for _, h := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "x-ms-if-tags", "x-ms-lease-id"} {
		if hasHeader(req, h) {
			return nil
		}
	}
	escaped, ok := strings.CutPrefix(req.URL.EscapedPath(), q.base)
	if !ok {
		return nil
	}
	name, err := url.PathUnescape(escaped)
	if err != nil {
		return err
	}
	bb := q.client.NewBlockBlobClient(name)
	ctx := req.Context()
	list, err := bb.GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
	if err != nil {
		if httpStatusOf(err) == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("quirks: Get Block List before Put Blob: %w", err)
	}
	if len(list.UncommittedBlocks) == 0 {
		return nil
	}
	if _, err := bb.CommitBlockList(ctx, nil, nil); err != nil {
		return fmt.Errorf("quirks: dropping uncommitted blocks before Put Blob: %w", err)
	}
	return nil
}

// trim returns the escaped URL path p with the trailing dots of its blob
// name's segments trimmed, and whether that changed it. (The SDK escapes
// the "/" of a blob name as %2F.)
func (q *azureQuirks) trim(p string) (string, bool) {
	escaped, ok := strings.CutPrefix(p, q.base)
	if !ok {
		return p, false
	}
	name, err := url.PathUnescape(escaped)
	if err != nil {
		return p, false
	}
	changed := false
	segs := strings.Split(name, "/")
	for i, s := range segs {
		t := strings.TrimRight(s, ".")
		changed = changed || t != s
		segs[i] = url.PathEscape(t)
	}
	if !changed {
		return p, false
	}
	return q.base + strings.Join(segs, "/"), true
}

// batch trims the blob names of the sub-requests of a blob batch body; a
// changed sub-request signed with the shared key gets an account SAS
// instead. It reports whether any changed.
func (q *azureQuirks) batch(body []byte) ([]byte, bool, error) {
	var out bytes.Buffer
	changed, dropAuth := false, false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, len(body)+1)
	sc.Split(scanCRLF)
	for sc.Scan() {
		line := sc.Text()
		if method, rest, ok := strings.Cut(line, " "); ok && strings.HasSuffix(rest, " HTTP/1.1") && !strings.Contains(method, ":") {
			target := strings.TrimSuffix(rest, " HTTP/1.1")
			u, err := url.Parse(target)
			if err != nil {
				return nil, false, err
			}
			dropAuth = false
			if p, ok := q.trim(u.EscapedPath()); ok {
				setPath(u, p)
				h := http.Header{}
				if err := q.withSAS(u, h); err != nil {
					return nil, false, err
				}
				line = method + " " + u.RequestURI() + " HTTP/1.1"
				changed, dropAuth = true, true
			}
		} else if dropAuth && strings.HasPrefix(strings.ToLower(line), "authorization:") {
			continue
		} else if line == "" {
			dropAuth = false
		}
		out.WriteString(line + "\r\n")
	}
	if err := sc.Err(); err != nil {
		return nil, false, err
	}
	if !changed {
		return body, false, nil
	}
	return out.Bytes(), true, nil
}

// scanCRLF splits lines at "\r\n", keeping a last line without one.
func scanCRLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.Index(data, []byte("\r\n")); i >= 0 {
		return i + 2, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// withSAS replaces the shared-key Authorization in h with a container
// SAS (every permission, an hour) on u. (Not an account SAS: Azurite's
// account SAS does not cover Container_SubmitBatch and answers 500.)
func (q *azureQuirks) withSAS(u *url.URL, h http.Header) error {
	for k := range h {
		if strings.EqualFold(k, "Authorization") {
			delete(h, k)
		}
	}
	perms := sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}
	qp, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   perms.String(),
		ContainerName: q.container,
	}.SignWithSharedKey(q.cred)
	if err != nil {
		return fmt.Errorf("quirks: container SAS: %w", err)
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += qp.Encode()
	return nil
}

// isSharedKey reports whether h authorizes with the shared key.
func isSharedKey(h http.Header) bool {
	for k, v := range h {
		if strings.EqualFold(k, "Authorization") && len(v) > 0 && strings.HasPrefix(v[0], "SharedKey ") {
			return true
		}
	}
	return false
}

// setPath sets the escaped path of u.
func setPath(u *url.URL, escaped string) {
	p, err := url.PathUnescape(escaped)
	if err != nil {
		p = escaped
	}
	u.Path, u.RawPath = p, escaped
}
