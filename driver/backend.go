package driver

import (
	"context"
	"io"
	"time"
)

// Backend is the narrow interface a cloud backend (s3, gcs, azure, swift)
// implements: its SDK-specific requests and nothing else. NewStore turns it
// into a StorageDriver; everything a driver does before and after these
// calls (path checks, context checks, error mapping, Stat of directories,
// List paging, the flat Walk, directory Delete, batching and per-item
// retries of bulk deletes, URLFor options) is written once, in Store.
//
// Store calls a Backend only with valid paths (never "/") and with a
// context that has not ended yet. A Backend returns its SDK's errors as they
// are; Store maps them through Classify into the driver's typed errors,
// naming the operation and path. Errors a Backend has already mapped itself
// (a *PathNotFoundError, an *OpError, ...) pass through unchanged.
type Backend interface {
	// Head returns the size and modification time of the file at path.
	// A missing file is an error Classify calls KindNotFound.
	Head(ctx context.Context, path string) (Object, error)

	// Read streams the file at path from offset (0 <= offset). An offset
	// at or beyond the end may fail with an error Classify calls
	// KindInvalidRange: Store then tells an empty stream (offset == size)
	// from an *InvalidOffsetError with one Head.
	Read(ctx context.Context, path string, offset int64) (io.ReadCloser, error)

	// Put stores content at path in one atomic request.
	Put(ctx context.Context, path string, content []byte) error

	// Writer returns the backend's resumable upload for path; see
	// StorageDriver.Writer. Its errors are the driver's already (the
	// writer outlives the call).
	Writer(ctx context.Context, path string, append bool) (FileWriter, error)

	// List returns one page of the keys starting with q.Prefix; see
	// ListQuery and ObjectPage.
	List(ctx context.Context, q ListQuery) (ObjectPage, error)

	// DeleteBatch deletes objs (at most the effective delete batch size)
	// in one bulk request. errs[i] is the outcome for objs[i]: nil when it
	// was deleted; an error Classify calls KindNotFound counts as deleted
	// too, one it calls KindTransient or KindThrottled is sent again in
	// the next round. err is set when the request failed as a whole; wrap
	// it with Retryable when sending the whole batch again is safe and the
	// backend's SDK has not retried it already.
	DeleteBatch(ctx context.Context, objs []Object) (errs []error, err error)

	// Move moves the file at src to dst server-side; a missing src is
	// KindNotFound and changes nothing.
	Move(ctx context.Context, src, dst string) error

	// SignURL returns a URL from which method ("GET" or "HEAD") fetches
	// the file at path until expires, without sending a request. Called
	// only when Capabilities.SignedURLs is set.
	SignURL(ctx context.Context, path, method string, expires time.Time) (string, error)

	// Classify says what an error of the backend's SDK means.
	Classify(err error) ErrorKind
}

// Object is one object of a listing, or the answer of a Head.
type Object struct {
	// Key is the object's full key (KeyMap); empty from Head.
	Key     string
	Size    int64
	ModTime time.Time
	// Detail is what the backend needs to know about the object later,
	// in DeleteBatch (Swift: whether it is a static large object); Store
	// passes it through untouched.
	Detail any
}

// ListQuery asks Backend.List for one page of keys.
type ListQuery struct {
	// Prefix: only keys starting with it.
	Prefix string
	// Delimiter "/" groups the keys below the next "/" after Prefix into
	// ObjectPage.Prefixes; without it the listing is flat.
	Delimiter bool
	// StartAfter, when set (never with Token), starts after this key. A
	// backend without start-after support (Capabilities.StartAfter false)
	// ignores it.
	StartAfter string
	// EndBefore, when set, lets a backend that can stop the listing
	// before this key do so; the caller filters anyway.
	EndBefore string
	// Token continues a listing: the Next of the previous page.
	Token string
	// Limit asks for at most this many entries; 0 means the backend's
	// page size (Capabilities.ListPageSize).
	Limit int
}

// ObjectPage is one page of Backend.List, in the byte order of keys.
type ObjectPage struct {
	Objects []Object
	// Prefixes are the grouped keys of a Delimiter listing, each ending in
	// "/".
	Prefixes []string
	// Next continues the listing (ListQuery.Token); "" only at the true
	// end, never on a page that is merely short.
	Next string
}

// ErrorKind is what Backend.Classify makes of an SDK error.
type ErrorKind int

// The kinds of ErrorKind.
const (
	// KindOther is any other failure: wrapped with the driver's name, the
	// operation and the path.
	KindOther ErrorKind = iota
	// KindNotFound: the object (not the bucket) does not exist; mapped to
	// *PathNotFoundError.
	KindNotFound
	// KindThrottled: a rate limit left after the SDK's retries; mapped to
	// *TooManyRequestsError.
	KindThrottled
	// KindTransient: a failure worth another try (5xx, timeouts).
	KindTransient
	// KindInvalidRange: a read's offset lies at or beyond the end.
	KindInvalidRange
)

// Capabilities is what a backend can do. It drives the shared code in
// Store and tells the conformance suite which leaves and request counts
// apply (see CapabilitiesOf).
type Capabilities struct {
	// DeleteBatchSize is the number of paths per bulk-delete request. To
	// NewStore, the provider's limit (S3 1,000; GCS 100; Azure 256; Swift
	// up to 10,000; 1 without bulk delete: each backend's
	// MaxDeleteBatchSize); from Store.Capabilities, the size the driver
	// sends, which CommonConfig.DeleteBatchSize may have lowered.
	DeleteBatchSize int
	// ListPageSize is the most keys one list request returns; 0 for a
	// backend without flat listing.
	ListPageSize int
	// ListEndsEmpty is set when only an empty page tells that a listing
	// has ended (Swift has no end marker, and clusters may cap pages
	// below the limit asked for): a listing of N keys then costs
	// ceil(N/ListPageSize) + 1 requests.
	ListEndsEmpty bool
	// StartAfter is set when a flat listing can start after a key, so a
	// Walk's start-after hint and its jumps past skipped directories cost
	// no requests for what they skip.
	StartAfter bool
	// SignedURLs is set when URLFor returns URLs that plain HTTP GET and
	// HEAD can fetch; otherwise URLFor returns ErrUnsupportedMethod.
	SignedURLs bool
	// MaxURLExpiry is the longest a signed URL can stay valid (S3 SigV4
	// and GCS V4: 7 days); URLFor caps a later "expiry" to it. 0: no limit
	// (Azure shared-key SAS and Swift temp URLs have none).
	MaxURLExpiry time.Duration
	// RealDirectories is set for a backend whose directories exist on
	// their own (filesystem, inmemory); object stores derive them from
	// keys.
	RealDirectories bool
	// HTTP is set when every request goes through the configured
	// CommonConfig.HTTPClient, so requests can be counted there.
	HTTP bool
	// HiddenPrefix is the key prefix, relative to the root, of the
	// backend's own bookkeeping objects ("~stowage/"): no path names it
	// and it sorts after every path, so a flat listing of "/" ends there.
	HiddenPrefix string
}

// CapabilitiesOf returns d's Capabilities when d reports them (every
// stowage backend and wrapper does), or the zero record.
func CapabilitiesOf(d StorageDriver) Capabilities {
	if c, ok := d.(interface{ Capabilities() Capabilities }); ok {
		return c.Capabilities()
	}
	return Capabilities{}
}
