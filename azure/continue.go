package azure

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/stowage-dev/stowage/driver"
)

// The continuation of a committed file by Writer(ctx, path, true): see
// backend.Writer for the two ways, and blockid.go for the markers.

// metaBaseETag is the metadata name under which a staging blob that
// holds a copy of a committed file records the file's ETag, for a resumed
// continuation's Commit (If-Match).
const metaBaseETag = "stowagebase"

// metadata returns the value of metadata name in md (the SDK keeps the
// names as the answer's headers spell them), or "".
func metadata(md map[string]*string, name string) string {
	for k, v := range md {
		if strings.EqualFold(k, name) && v != nil {
			return *v
		}
	}
	return ""
}

// continueCommitted makes w continue the file committed at w.path, or
// returns a *driver.PathNotFoundError when there is none. staged is what
// the staging blob held when Writer found nothing to resume there.
//
// One Get Block List of the file finds its committed block list, size and
// ETag. A list of the driver's block IDs is continued server-side: Copy
// Blob copies the file, pinned to that ETag (x-ms-source-if-match), to the
// staging blob, which keeps the committed block list and records the ETag
// in its metadata (metaBaseETag); one Get Block List of the staging blob
// checks that the copy holds those blocks, and a markerSeeded+n block
// records the continuation. When it cannot be continued so (a Put Blob
// file, another tool's IDs, a copy without the block list), the file is
// read (see copyCommitted).
func (w *writer) continueCommitted(ctx context.Context, staged blobState) error {
	file, err := readBlobState(ctx, w.file)
	if err != nil {
		return wrap(ctx, "Writer", w.path, err)
	}
	exists, err := committedExists(ctx, w.file, &file)
	if err != nil {
		return wrap(ctx, "Writer", w.path, err)
	}
	if !exists {
		return &driver.PathNotFoundError{Path: w.path, DriverName: DriverName}
	}
	w.gen, w.next = max(staged.nextGen(), file.nextGen()), firstDataBlock
	if seed, ok := file.seed(w.gen); ok && len(seed) < MaxBlocks && file.etag != nil {
		ok, err := w.copyToStaging(ctx, file, seed)
		if err != nil {
			return err
		}
		if ok {
			// Record the continuation, so that a resume builds on the same
			// committed blocks.
			if err := w.stage(ctx, markerSeeded+uint32(len(seed)), markerContent); err != nil {
				return err
			}
			w.marked, w.seeded = true, true
			w.blocks, w.staged, w.etag = seed, file.length, file.etag
			return nil
		}
	}
	return w.copyCommitted(ctx, file)
}

// copyToStaging copies the file, as file shows it, to the staging blob
// and reports whether the copy's committed block list is seed.
func (w *writer) copyToStaging(ctx context.Context, file blobState, seed []string) (bool, error) {
	err := w.b.copyBlob(ctx, w.blob, w.file.URL(), &blob.StartCopyFromURLOptions{
		Metadata:                       map[string]*string{metaBaseETag: to.Ptr(string(*file.etag))},
		SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: file.etag},
	})
	switch {
	case classify(err) == driver.KindNotFound:
		return false, &driver.PathNotFoundError{Path: w.path, DriverName: DriverName}
	case httpStatus(err) == http.StatusPreconditionFailed:
		return false, &driver.OpError{DriverName: DriverName, Op: "Writer", Path: w.path,
			Err: fmt.Errorf("the file changed while Writer read it: %w", err)}
	case err != nil:
		return false, wrap(ctx, "Writer", w.path, err)
	}
	copied, err := readBlobState(ctx, w.blob)
	if err != nil {
		return false, wrap(ctx, "Writer", w.path, err)
	}
	got, ok := copied.seed(w.gen)
	return ok && slices.Equal(got, seed) && copied.length == file.length, nil
}

// committedExists reports whether the blob bb of st has committed content.
// Get Block List tells, except for a blob with uncommitted blocks and an
// empty committed list: that may be an empty file or no file, and one Get
// Blob Properties decides (filling in st's length and ETag).
func committedExists(ctx context.Context, bb *blockblob.Client, st *blobState) (bool, error) {
	switch {
	case !st.known:
		return false, nil
	case len(st.committed) > 0 || st.length > 0 || len(st.names) == 0:
		return true, nil
	}
	props, err := bb.GetProperties(ctx, nil)
	if err != nil {
		if classify(err) == driver.KindNotFound {
			return false, nil
		}
		return false, err
	}
	st.length, st.etag = deref(props.ContentLength, 0), props.ETag
	return true, nil
}

// seed returns the committed block list of st as the first blocks of a
// continuation of generation gen, or false when it cannot be one: it is
// empty (Put Blob commits none), it holds IDs of another length than the
// driver's or of a generation not below gen, its sizes do not add up to
// the content, it is too long, or an uncommitted block has one of its IDs
// (Put Block List would take that block instead).
func (st blobState) seed(gen uint32) ([]string, bool) {
	if len(st.committed) == 0 || len(st.committed) > MaxBlocks {
		return nil, false
	}
	idLen := len(blockID(0, 0))
	uncommitted := make(map[string]bool, len(st.names))
	for _, n := range st.names {
		uncommitted[n] = true
	}
	ids := make([]string, 0, len(st.committed))
	var size int64
	for _, b := range st.committed {
		if len(b.id) != idLen || uncommitted[b.id] {
			return nil, false
		}
		if g, _, ok := parseBlockID(b.id); ok && g >= gen {
			return nil, false
		}
		ids = append(ids, b.id)
		size += b.size
	}
	return ids, size == st.length
}

// copyCommitted makes the committed content of st, the file's, the first
// bytes of w, read with one Get Blob of the file pinned to its ETag: into the buffer when it fits
// one chunk, else staged as data blocks between a markerCopying and a
// markerOpen block, the rest of the last chunk buffered.
func (w *writer) copyCommitted(ctx context.Context, st blobState) error {
	if st.length == 0 {
		return nil
	}
	opts := &blob.DownloadStreamOptions{}
	if st.etag != nil {
		opts.AccessConditions = ifMatch(st.etag)
	}
	resp, err := w.file.DownloadStream(ctx, opts)
	if err != nil {
		return wrap(ctx, "Writer", w.path, err)
	}
	// The answer's length is the one of the content it carries (the same
	// as st's unless no ETag pinned it).
	size := deref(resp.ContentLength, st.length)
	body := w.b.resumable(ctx, w.path, w.file, resp.ETag, 0, size, resp.Body)
	defer body.Close()

	chunk := w.b.cfg.ChunkSize
	large := size > chunk
	if large {
		if err := w.stage(ctx, markerCopying, markerContent); err != nil {
			return err
		}
		w.marked = true
		buf := make([]byte, chunk)
		for size-w.staged > chunk {
			if _, err := io.ReadFull(body, buf); err != nil {
				return w.copyErr(err)
			}
			if err := w.stageData(ctx, buf); err != nil {
				return err
			}
		}
	}
	w.buf = make([]byte, size-w.staged)
	if _, err := io.ReadFull(body, w.buf); err != nil {
		return w.copyErr(err)
	}
	if large {
		// The copy is complete: the generation may be resumed now.
		return w.stage(ctx, markerOpen, markerContent)
	}
	return nil
}

// copyErr wraps a failure to read the committed file being copied.
func (w *writer) copyErr(err error) error {
	return &driver.OpError{DriverName: DriverName, Op: "Writer", Path: w.path,
		Err: fmt.Errorf("reading the committed file to continue it: %w", err)}
}
