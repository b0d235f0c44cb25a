package azure

import (
	"context"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/stowage-dev/stowage/driver"
)

// The continuation of a committed file by Writer(ctx, path, true): see
// backend.Writer for the two ways, and blockid.go for the markers.

// continueCommitted makes w, a writer of a new generation, continue the
// file committed at w.path as st shows it, or returns a
// *driver.PathNotFoundError when there is none.
func (w *writer) continueCommitted(ctx context.Context, st blobState) error {
	exists, err := w.committedExists(ctx, &st)
	if err != nil {
		return wrap(ctx, "Writer", w.path, err)
	}
	if !exists {
		return &driver.PathNotFoundError{Path: w.path, DriverName: DriverName}
	}
	if seed, ok := st.seed(w.gen); ok && len(seed) < MaxBlocks {
		// Record the continuation, so that a resume builds on the same
		// committed blocks.
		if err := w.stage(ctx, markerSeeded+uint32(len(seed)), markerContent); err != nil {
			return err
		}
		w.marked, w.seeded = true, true
		w.blocks, w.staged, w.etag = seed, st.length, st.etag
		return nil
	}
	return w.copyCommitted(ctx, st)
}

// committedExists reports whether the blob of st has committed content.
// Get Block List tells, except for a blob with uncommitted blocks and an
// empty committed list: that may be an empty file or no file, and one Get
// Blob Properties decides (filling in st's length and ETag).
func (w *writer) committedExists(ctx context.Context, st *blobState) (bool, error) {
	switch {
	case !st.known:
		return false, nil
	case len(st.committed) > 0 || st.length > 0 || len(st.names) == 0:
		return true, nil
	}
	props, err := w.blob.GetProperties(ctx, nil)
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

// copyCommitted makes the committed content of st the first bytes of w,
// read with one Get Blob pinned to its ETag: into the buffer when it fits
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
	resp, err := w.blob.DownloadStream(ctx, opts)
	if err != nil {
		return wrap(ctx, "Writer", w.path, err)
	}
	// The answer's length is the one of the content it carries (the same
	// as st's unless no ETag pinned it).
	size := deref(resp.ContentLength, st.length)
	body := w.b.resumable(ctx, w.path, w.blob, resp.ETag, 0, size, resp.Body)
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
