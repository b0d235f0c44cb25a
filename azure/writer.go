package azure

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/stowage-dev/stowage/driver"
)

// Writer implements driver.Backend (and so the Driver's Writer) with the
// blocks of a block blob.
//
// The blocks go to the upload's staging blob, <root>/~stowage/uploads/<path>
// (backend.staging), not to the file's own blob: on Azure a Put Blob of
// the file (PutContent, or another Writer's one-request Commit) discards
// the file blob's uncommitted blocks ("All uncommitted blocks are also
// discarded when a new blob of the same name is created using a single
// step", https://learn.microsoft.com/rest/api/storageservices/put-block#remarks),
// and so does a Delete Blob of it (Delete, DeleteFiles), which would
// destroy a closed upload that a later Writer(ctx, path, true) is to
// resume. No Put Blob or Delete Blob of a path reaches the staging blob
// (no valid path holds "~"), and listings of the root end before it
// (Capabilities.HiddenPrefix).
//
// Bytes are buffered and staged (Put Block) in Config.ChunkSize blocks;
// Commit stages what is left, commits the block list on the staging blob
// (Put Block List), copies the staging blob to the file (Copy Blob, which
// within one account copies server-side and keeps the committed block
// list, and makes the content visible atomically) and deletes the staging
// blob. (Put Block From URL would let the file's own Put Block List take
// the staged bytes without a copy on Azure, but Azurite does not implement
// it.) Until Commit the file stays as it was, or absent. Close stages the
// buffered remainder as one more block (any block may be short), so no
// separate bookkeeping object is needed, and Writer(ctx, path, true)
// resumes from any driver instance: one Get Block List request of the
// staging blob finds the blocks, whose IDs carry a writer generation and
// an index (see blockid.go), and numbering continues from the last one.
// Close works under driver.CloseContext, so it keeps what was written
// even when ctx has ended; Commit and Cancel use only their own context.
//
// Writer(ctx, path, true) with nothing to resume continues the file
// committed at path, as the snapshot one Get Block List of the file saw
// (its committed block list and ETag):
//
//   - A file with a committed block list of the driver's block ID length
//     (everything this driver commits with Put Block List: any Writer
//     content over one chunk, every resumed or continued upload) is
//     continued server-side, without reading a byte of it: Copy Blob
//     copies it, pinned to the ETag, to the staging blob, whose metadata
//     records the ETag; the writer stages one marker block,
//     markerSeeded+n, that records the n committed blocks it builds on,
//     and Commit's Put Block List names those blocks first, then the new
//     ones, and its copy to the file carries If-Match on the ETag, so a
//     file replaced in the meantime fails the Commit instead of being
//     spliced in. A resume from another driver instance finds the marker
//     and takes the same n committed blocks of the staging blob and the
//     ETag from its metadata.
//   - A file without one (written by Put Blob: PutContent, and Writer
//     content of one chunk or less committed in one session; or blocks of
//     another tool's ID length; or a copy that lost the block list) is
//     read with one Get Blob pinned to the ETag: content of one chunk or
//     less goes into the buffer, larger content is staged as the first
//     data blocks between a markerCopying and a markerOpen block, so that
//     a copy cut short is never resumed.
//
// Until Commit the old file stays readable as it was; Cancel leaves it so.
// Only when the staging blob has no resumable uncommitted blocks and the
// file has no committed content does Writer(ctx, path, true) return a
// *driver.PathNotFoundError.
//
// Azure has no call that drops some uncommitted blocks: they go when the
// blob is committed (Put Block List, Put Blob), deleted, or after a week.
// So Writer(ctx, path, false) does not delete a previous writer's blocks;
// it starts a new generation, one above the highest of the staging blob's
// blocks, and when uncommitted blocks exist it stages a one-byte marker
// block of the new generation at once, so that a resume never picks the
// old ones up. (Deleting the blob instead would fail the Commit of a
// Writer of the old generation that is still open.) The old blocks are invisible and cost storage until the path is
// next committed or cancelled, for at most a week. Cancel deletes the
// staging blob, unless a newer generation has taken it over, so that a
// cancelled upload leaves nothing that Driver.StagedUploads would list.
// Uncommitted blocks staged by other tools (IDs of another length) on the
// staging blob make staging fail with InvalidBlobOrBlock until they are
// committed or expire. One staging blob serves one upload at a time: two
// open Writers of one path share it, and the first to commit discards the
// other's blocks, as before the staging blob they shared the file's.
//
// Requests: Writer sends one Get Block List of the staging blob, plus one
// Put Block when it has earlier blocks to hide; a resume of a server-side
// continuation one Get Blob Properties (the ETag). Continuing a committed
// file adds one Get Block List of the file (and one Get Blob Properties
// when the file has only uncommitted blocks, to tell an empty committed
// file from none) and then either one Copy Blob, one Get Block List of the
// copy and one marker Put Block, or one Get Blob and, for a file larger
// than a chunk, two marker Put Blocks and one per chunk but the last
// (which is buffered). Each full chunk costs one Put Block; Close one Put
// Block; Commit one Put Block for the rest, one Put Block List, one Copy
// Blob (plus Get Blob Properties polls while Azure reports the copy
// pending) and one Delete Blob; Cancel of a writer that staged anything
// one Get Block List and one Delete Blob. Content that fits one chunk,
// written by a writer that has staged nothing and found no uncommitted
// blocks, is committed with a single Put Blob of the file instead. A blob holds at
// most MaxBlocks committed blocks: Write refuses the bytes beyond them
// (ErrTooManyBlocks, which matches driver.ErrFileTooLarge); with a Close
// after every few bytes the limit comes sooner than ChunkSize suggests.
func (b *backend) Writer(ctx context.Context, path string, append bool) (driver.FileWriter, error) {
	sb := b.staging(path)
	st, err := readBlobState(ctx, sb)
	if err != nil {
		return nil, wrap(ctx, "Writer", path, err)
	}
	w := &writer{WriterState: driver.WriterState{DriverName: DriverName}, b: b, ctx: ctx, path: path, blob: sb, file: b.blob(path)}
	switch {
	case !append:
		w.gen, w.next = st.nextGen(), firstDataBlock
		if st.any || st.foreign > 0 {
			// Hide the previous writer's blocks from a later resume.
			if err := w.stage(ctx, markerOpen, markerContent); err != nil {
				return nil, err
			}
			w.marked = true
		}
	case st.resumable():
		if err := w.resume(ctx, st); err != nil {
			return nil, err
		}
	default:
		if err := w.continueCommitted(ctx, st); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// resume makes w the writer of st's resumable generation. A seeded
// generation also needs the ETag of the file it continues, which the
// staging blob's metadata holds (one Get Blob Properties).
func (w *writer) resume(ctx context.Context, st blobState) error {
	w.gen, w.marked, w.next = st.maxGen, true, firstDataBlock
	if st.seeded {
		seed, ok := st.seed(st.maxGen)
		if !ok || len(seed) != st.seedCount {
			return &driver.OpError{DriverName: DriverName, Op: "Writer", Path: w.path, Err: fmt.Errorf(
				"the uncommitted continuation no longer matches the copy of the committed file it continues "+
					"(%d committed blocks, %d expected); Writer(path, false) starts over",
				len(st.committed), st.seedCount)}
		}
		props, err := w.blob.GetProperties(ctx, nil)
		if err != nil {
			return wrap(ctx, "Writer", w.path, err)
		}
		base := metadata(props.Metadata, metaBaseETag)
		if base == "" {
			return &driver.OpError{DriverName: DriverName, Op: "Writer", Path: w.path, Err: fmt.Errorf(
				"the uncommitted continuation does not record the ETag of the file it continues; Writer(path, false) starts over")}
		}
		etag := azcore.ETag(base)
		w.blocks, w.staged, w.etag, w.seeded = seed, st.length, &etag, true
	}
	for _, b := range st.data {
		if b.idx != w.next {
			w.b.cfg.Logger.Warn("azure: ignoring writer blocks after a gap", "path", w.path, "generation", b.gen, "index", b.idx, "want", w.next)
			break
		}
		w.blocks = append(w.blocks, blockID(b.gen, b.idx))
		w.staged += b.size
		w.next++
	}
	return nil
}

// blobState is what one Get Block List (committed and uncommitted blocks)
// says about a blob.
type blobState struct {
	session                    // the uncommitted blocks
	known     bool             // the service knows the blob (it has committed content or uncommitted blocks)
	committed []committedBlock // the committed block list
	length    int64            // size of the committed content
	etag      *azcore.ETag     // ETag of the committed content
}

// committedBlock is one block of a committed block list.
type committedBlock struct {
	id   string
	size int64
}

// readBlobState reads the block lists of bb; a blob that does not exist
// at all has none.
func readBlobState(ctx context.Context, bb *blockblob.Client) (blobState, error) {
	resp, err := bb.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil {
		if classify(err) == driver.KindNotFound {
			return blobState{}, nil
		}
		return blobState{}, err
	}
	var names []string
	var sizes []int64
	for _, b := range resp.UncommittedBlocks {
		if b == nil || b.Name == nil {
			continue
		}
		names = append(names, *b.Name)
		sizes = append(sizes, deref(b.Size, 0))
	}
	st := blobState{
		session: readSession(names, sizes),
		known:   true,
		length:  deref(resp.BlobContentLength, 0),
		etag:    resp.ETag,
	}
	for _, b := range resp.CommittedBlocks {
		if b == nil || b.Name == nil {
			continue
		}
		st.committed = append(st.committed, committedBlock{id: *b.Name, size: deref(b.Size, 0)})
	}
	return st, nil
}

// nextGen returns the generation of a writer that does not resume: one
// above every generation among the blob's uncommitted and committed
// blocks, so that its IDs are new to the blob.
func (st blobState) nextGen() uint32 {
	g := st.maxGen
	for _, b := range st.committed {
		if cg, _, ok := parseBlockID(b.id); ok && cg > g {
			g = cg
		}
	}
	return g + 1
}

// writer is the FileWriter of backend.Writer.
type writer struct {
	driver.WriterState
	b    *backend
	ctx  context.Context // of the Writer call: Write uses it, Close its values
	path string
	blob *blockblob.Client // the staging blob: every block goes there
	file *blockblob.Client // the file's blob: Commit copies the staging blob there

	gen    uint32       // generation of this writer's blocks
	next   uint32       // index of the next data block
	marked bool         // a marker or data block of gen exists on the server
	seeded bool         // blocks begins with the committed blocks continued
	etag   *azcore.ETag // of the committed file a seeded writer continues (Commit's If-Match)
	blocks []string     // IDs of the blocks to commit, in order
	staged int64        // bytes in them
	buf    []byte       // bytes not staged yet
}

// Size implements driver.FileWriter.
func (w *writer) Size() int64 { return w.staged + int64(len(w.buf)) }

// stage uploads data as block idx of w's generation.
func (w *writer) stage(ctx context.Context, idx uint32, data []byte) error {
	_, err := w.blob.StageBlock(ctx, blockID(w.gen, idx), streaming.NopCloser(bytes.NewReader(data)), nil)
	if err != nil {
		return wrap(ctx, "Writer", w.path, err)
	}
	return nil
}

// stageData stages data as the next data block.
func (w *writer) stageData(ctx context.Context, data []byte) error {
	if len(w.blocks) >= w.b.maxBlocks {
		return w.tooManyBlocks()
	}
	if err := w.stage(ctx, w.next, data); err != nil {
		return err
	}
	w.blocks = append(w.blocks, blockID(w.gen, w.next))
	w.staged += int64(len(data))
	w.next++
	w.marked = true
	return nil
}

// tooManyBlocks is the error of bytes beyond the block limit.
func (w *writer) tooManyBlocks() error {
	return &driver.OpError{DriverName: DriverName, Op: "Writer", Path: w.path,
		Err: fmt.Errorf("%w (%d); use a larger chunksize", ErrTooManyBlocks, w.b.maxBlocks)}
}

// Write implements io.Writer with driver.WriterState.WriteChunks: every
// full chunk is staged before Write returns. When staging fails the bytes
// stay buffered (Size counts them) and Write reports the error.
//
// The blob's block limit is checked here, not at Commit: the bytes that
// would need a block beyond MaxBlocks (counting the one the buffer will
// become) are refused with ErrTooManyBlocks (which matches
// driver.ErrFileTooLarge), and the ones before them are taken, so the
// upload stays committable. Growing the block size instead would be
// possible (blocks may differ in size) but is not done, to keep one block
// size per upload: with the default chunksize a file holds up to about
// 390 GiB, and a larger chunksize raises that.
func (w *writer) Write(p []byte) (int, error) {
	room := int64(w.b.maxBlocks-len(w.blocks))*w.b.cfg.ChunkSize - int64(len(w.buf))
	if int64(len(p)) <= room {
		return w.WriteChunks(w.ctx, &w.buf, p, w.b.cfg.ChunkSize, w.stageData)
	}
	n, err := w.WriteChunks(w.ctx, &w.buf, p[:max(room, 0)], w.b.cfg.ChunkSize, w.stageData)
	if err != nil {
		return n, err
	}
	return n, w.tooManyBlocks()
}

// Close implements io.Closer. An open writer keeps its state: the buffered
// bytes are staged as one more block, or, for a writer that has staged
// nothing, a marker block records the empty session. It runs under
// driver.CloseContext of the Writer's ctx, so it keeps what was written
// after that ctx has ended.
func (w *writer) Close() error {
	ctx, cancel, open, err := w.BeginClose(w.ctx)
	if !open {
		return err
	}
	defer cancel()
	switch {
	case len(w.buf) > 0:
		err = w.stageData(ctx, w.buf)
	case !w.marked:
		err = w.stage(ctx, markerOpen, markerContent)
	}
	if err != nil {
		return err
	}
	w.buf = nil
	return nil
}

// Commit implements driver.FileWriter. On failure the writer stays open,
// so Commit may be tried again or Cancel called.
func (w *writer) Commit(ctx context.Context) error {
	if err := w.BeginCommit(ctx); err != nil {
		return err
	}
	if !w.marked {
		// Nothing staged, by this writer or any earlier one: one Put Blob
		// of the file. (Otherwise the staging blob is committed, so that
		// its uncommitted blocks go: Put Block List discards them.)
		if err := w.b.upload(ctx, w.file, w.buf); err != nil {
			return wrap(ctx, "Commit", w.path, err)
		}
		w.staged += int64(len(w.buf))
		w.buf = nil
		w.Committed()
		return nil
	}
	if len(w.buf) > 0 {
		if err := w.stageData(ctx, w.buf); err != nil {
			return err
		}
		w.buf = nil
	}
	if err := w.commitBlocks(ctx); err != nil {
		return err
	}
	w.Committed()
	return nil
}

// commitBlocks commits w.blocks on the staging blob with one Put Block
// List, copies the staging blob to the file with one Copy Blob (pinned to
// the staging blob's new ETag; for a seeded writer with If-Match on the
// continued file's ETag, so a file replaced in the meantime fails the
// Commit instead of being spliced in), and deletes the staging blob. A
// retried Put Block List whose first answer was lost commits the same
// list again: IDs resolve to the committed blocks the second time. When
// a retried copy fails If-Match because the first attempt did copy, the
// file's committed list is w.blocks, which one Get Block List confirms.
// The file's blob is a copy of the staging blob: the same committed block
// list (Copy Blob keeps it) and metadata. A failed delete of the staging
// blob does not fail the Commit (the file is written); the blob stays
// hidden until the path's next Commit or continuation replaces it.
func (w *writer) commitBlocks(ctx context.Context) error {
	resp, err := w.blob.CommitBlockList(ctx, w.blocks, &blockblob.CommitBlockListOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr(contentType)},
	})
	if err != nil {
		return wrap(ctx, "Commit", w.path, err)
	}
	opts := &blob.StartCopyFromURLOptions{}
	if resp.ETag != nil {
		opts.SourceModifiedAccessConditions = &blob.SourceModifiedAccessConditions{SourceIfMatch: resp.ETag}
	}
	if w.seeded && w.etag != nil {
		opts.AccessConditions = ifMatch(w.etag)
	}
	if err := w.b.copyBlob(ctx, w.file, w.blob.URL(), opts); err != nil {
		if opts.AccessConditions == nil || httpStatus(err) != http.StatusPreconditionFailed {
			return wrap(ctx, "Commit", w.path, err)
		}
		list, lerr := w.file.GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
		if lerr != nil || !committedIDsAre(list.CommittedBlocks, w.blocks) {
			return &driver.OpError{DriverName: DriverName, Op: "Commit", Path: w.path,
				Err: fmt.Errorf("the file this writer continues was replaced since Writer: %w", err)}
		}
	}
	w.dropStaging(ctx)
	return nil
}

// dropStaging deletes the staging blob, with its committed content and
// every uncommitted block, logging a failure: the upload is committed
// whether or not the delete succeeds (StagedUploads lists a staging blob
// left so, for a purge).
func (w *writer) dropStaging(ctx context.Context) {
	if _, err := w.blob.Delete(ctx, nil); err != nil && classify(err) != driver.KindNotFound {
		w.b.cfg.Logger.Warn("azure: deleting the staging blob of an upload", "path", w.path, "error", err)
	}
}

// committedIDsAre reports whether the block list got holds exactly ids.
func committedIDsAre(got []*blockblob.Block, ids []string) bool {
	if len(got) != len(ids) {
		return false
	}
	for i, b := range got {
		if b == nil || b.Name == nil || *b.Name != ids[i] {
			return false
		}
	}
	return true
}

// Cancel implements driver.FileWriter. It deletes the staging blob, with
// every block the upload staged (and the committed copy of a server-side
// continuation), so no later Writer(path, true) resumes it and
// StagedUploads no longer lists it: one Get Block List and one Delete
// Blob. The Get Block List makes sure the staging blob is still this
// upload's: when a later Writer(path, false) has started a newer
// generation on it, that upload is left alone (its generation hides this
// one's blocks already). A writer that never reached the server needs no
// request. A committed file the writer continued is untouched.
//
// (Versions before StagedUploads staged a "cancelled" marker block
// instead; a staging blob they left so is not resumed, see
// session.resumable, and StagedUploads lists it for a purge.)
func (w *writer) Cancel(ctx context.Context) error {
	if err := w.BeginCancel(ctx); err != nil {
		return err
	}
	if w.marked {
		st, err := readBlobState(ctx, w.blob)
		if err != nil {
			return wrap(ctx, "Cancel", w.path, err)
		}
		if st.known && st.maxGen <= w.gen {
			if _, err := w.blob.Delete(ctx, nil); err != nil && classify(err) != driver.KindNotFound {
				return wrap(ctx, "Cancel", w.path, err)
			}
		}
	}
	w.buf, w.blocks, w.staged = nil, nil, 0
	w.Cancelled()
	return nil
}
