package gcs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"

	"github.com/stowage-dev/stowage/driver"
)

// hiddenClass is the storage class of every hidden object the writer
// creates (parts, markers, the copy of a continued file, compose
// intermediates). They live minutes to days and are deleted at Commit or
// Cancel, while Nearline, Coldline and Archive, which a bucket may have as
// its default class, bill a minimum storage duration (30, 90, 365 days) for
// an object deleted earlier (https://cloud.google.com/storage/pricing#early-delete);
// STANDARD has none.
const hiddenClass = "STANDARD"

// partDigits is the width of the zero-padded start offset that names a
// part, so that name order is offset order.
const partDigits = 20

// Writer implements driver.Backend with parts kept as hidden objects and
// composed at Commit.
//
// Bytes are buffered and stored in Config.ChunkSize parts, each one object
// <root>/~stowage/uploads/<hash of path>/<start offset, 20 digits> written
// in one retried request. Close without Commit stores the bytes still
// buffered as one more (shorter) part, so the upload lives entirely in
// objects and survives the process; a session that wrote nothing into an
// upload that has no object yet leaves an empty part as a marker. Close
// works under driver.CloseContext, so it stores those bytes even when the
// ctx given to Writer has ended; Write uses that ctx, Commit and Cancel
// their own.
//
// Writer(ctx, path, true) resumes from any driver instance: one list
// request finds the parts and their sizes; Size is the sum of the parts
// that follow one another without a gap (a part that does not fit, left by
// a session that died, is ignored and deleted at the end). Commit stores
// what is buffered as the last part and composes the parts into the path:
// one compose request for up to 32 parts, a tree of composes (31 more
// requests per 32 x 31 parts) beyond that, into intermediate objects next
// to the parts. The composite object appears at once and whole. Then one
// batch request per 100 hidden objects deletes the parts; should that fail,
// Commit fails and may be repeated (it composes the same content again).
// Content that never filled a part is committed with a single upload
// request and no compose. Cancel deletes the parts.
//
// When the list finds no upload (uncommitted state takes precedence),
// Writer(ctx, path, true) continues the file committed at path: one
// server-side rewrite request (the SDK's Copier, as in Move) copies the
// object, as it is at that moment, to the upload's first part at offset
// 0. From there the continuation is an ordinary upload: Size starts at the
// file's size, the bytes written follow as more parts, Close keeps it
// resumable from another driver instance, Commit composes the copy and the
// new parts into the path (replacing the file at once; until then readers
// see the old file), and Cancel deletes the parts, the copy included,
// leaving the committed file as it was. The file's bytes never pass
// through the client, whatever its size, and the snapshot is taken at
// Writer time, as the contract asks (composing the live object at Commit
// would pick up a change made in between). A zero-byte file is copied to
// an empty first part, the marker of an upload with nothing stored yet.
// Only when the rewrite finds no object either (a directory is not one)
// does Writer return a *driver.PathNotFoundError; the rewrite then
// created nothing.
//
// Writer(ctx, path, false) lists the upload's objects and deletes any it
// finds (one list request, plus one batch request when there are some).
//
// Every hidden object of an upload records path in its custom metadata
// (pathKey), at no extra request, so that StagedUploads can tell which
// path an upload, named by a hash of the path, would commit to.
//
// Storage classes: every hidden object is created STANDARD (hiddenClass),
// whatever the bucket's default, so that deleting it at Commit or Cancel
// costs no early-deletion charge. The file itself is created without a
// class: a Commit in one upload request takes the bucket's default, as
// PutContent does, but a file composed from parts takes the parts' class,
// STANDARD, since GCS gives "the composite object ... the same storage
// class as the source objects" and requires the sources to share one
// (https://cloud.google.com/storage/docs/composite-objects). In a bucket
// whose default is colder, an Object Lifecycle SetStorageClass rule moves
// such files on (a change out of STANDARD has no early-deletion charge).
//
// Why parts and not a GCS resumable upload session: a session URI can be
// resumed from another process, but its chunks must be multiples of 256
// KiB, so the bytes that do not fill one would still need an object of
// their own, rewritten at every Close; GCS limits writes to one object name
// to about one per second, and sessions expire after a week. Parts have
// distinct names, need no alignment, never expire, and every request is an
// ordinary retried SDK call that fake-gcs-server implements as GCS does.
func (b *backend) Writer(ctx context.Context, path string, append bool) (driver.FileWriter, error) {
	w := &writer{
		WriterState: driver.WriterState{DriverName: DriverName},
		b:           b,
		ctx:         ctx,
		path:        path,
		key:         b.keys.Key(path),
		up:          b.uploadPrefix(path),
		meta:        pathMetadata(path),
	}
	objs, err := b.listUpload(ctx, w.up)
	if err != nil {
		return nil, err
	}
	if !append {
		names := make([]string, len(objs))
		for i, o := range objs {
			names[i] = o.name
		}
		if err := b.deleteHidden(ctx, "Writer", names); err != nil {
			return nil, err
		}
		return w, nil
	}
	if len(objs) == 0 {
		if err := w.continueFile(ctx); err != nil {
			return nil, err
		}
		return w, nil
	}
	w.load(objs)
	return w, nil
}

// continueFile starts an upload that continues the committed object at
// w.key: one rewrite request copies it, server-side, to the upload's first
// part. A missing object gives a *driver.PathNotFoundError.
func (w *writer) continueFile(ctx context.Context) error {
	name := w.partName(0)
	src := w.b.bucket.Object(w.key)
	c := w.b.bucket.Object(name).CopierFrom(src)
	c.ContentType = contentType
	c.StorageClass = hiddenClass
	c.Metadata = w.meta
	attrs, err := c.Run(ctx)
	if err != nil {
		return w.b.wrap(ctx, "Writer", w.path, err)
	}
	w.load([]object{{name: name, size: attrs.Size}})
	return nil
}

// uploadPrefix is the name prefix of the hidden objects of path's upload.
func (b *backend) uploadPrefix(path string) string {
	sum := sha256.Sum256([]byte(path))
	return b.hiddenPrefix() + "uploads/" + hex.EncodeToString(sum[:20]) + "/"
}

// object is a name and a size.
type object struct {
	name string
	size int64
}

// listUpload lists every object under the upload prefix up, in name order.
func (b *backend) listUpload(ctx context.Context, up string) ([]object, error) {
	q := driver.ListQuery{Prefix: up}
	var out []object
	for {
		page, err := b.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			out = append(out, object{name: o.Key, size: o.Size})
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// writer is the FileWriter of backend.Writer.
type writer struct {
	driver.WriterState
	b    *backend
	ctx  context.Context // of the Writer call: Write and Close use it
	path string
	key  string
	up   string            // name prefix of the upload's hidden objects
	meta map[string]string // metadata of every hidden object: the path (see StagedUploads)

	parts     []object // non-empty parts, contiguous from offset 0
	partsSize int64
	buf       []byte   // bytes not stored as a part yet
	other     []string // other hidden objects of the upload: markers, stale parts, intermediates
	stored    bool     // some hidden object of the upload exists
	size      int64    // bytes written in all sessions; 0 after Cancel
}

// load takes over the objects of an upload found by listUpload.
func (w *writer) load(objs []object) {
	w.stored = true
	for _, o := range objs {
		off, ok := partOffset(w.up, o.name)
		switch {
		case !ok:
			w.other = append(w.other, o.name) // an intermediate of a failed Commit
		case o.size == 0:
			w.other = append(w.other, o.name) // a marker
		case off != w.partsSize:
			w.b.cfg.Logger.Warn("gcs: ignoring a writer part that does not follow the others",
				"path", w.path, "part", o.name, "offset", off, "size", o.size, "want", w.partsSize)
			w.other = append(w.other, o.name)
		default:
			w.parts = append(w.parts, o)
			w.partsSize += o.size
		}
	}
	w.size = w.partsSize
}

// partOffset returns the start offset of the part name of the upload
// whose prefix is up; ok is false for any other of its objects (a compose
// intermediate).
func partOffset(up, name string) (off int64, ok bool) {
	rel := strings.TrimPrefix(name, up)
	off, err := strconv.ParseInt(rel, 10, 64)
	return off, err == nil && len(rel) == partDigits && off >= 0
}

// Size implements driver.FileWriter: the bytes written in all sessions
// (a continued file's included), in every state; 0 after Cancel.
func (w *writer) Size() int64 { return w.size }

// Write implements io.Writer with driver.WriterState.WriteChunks: every
// full chunk is stored as a part before Write returns. When a part upload
// fails the bytes stay buffered (Size counts them) and Write reports the
// error.
func (w *writer) Write(p []byte) (int, error) {
	n, err := w.WriteChunks(w.ctx, &w.buf, p, w.b.cfg.ChunkSize, w.storePart)
	w.size += int64(n)
	return n, err
}

// partName names the part starting at offset.
func (w *writer) partName(offset int64) string {
	return fmt.Sprintf("%s%0*d", w.up, partDigits, offset)
}

// storePart stores data as the next part, in one request.
func (w *writer) storePart(ctx context.Context, data []byte) error {
	name := w.partName(w.partsSize)
	if err := w.b.upload(ctx, name, data, hiddenClass, w.meta); err != nil {
		return w.b.wrap(ctx, "Writer", w.path, err)
	}
	w.stored = true
	w.parts = append(w.parts, object{name: name, size: int64(len(data))})
	w.partsSize += int64(len(data))
	return nil
}

// Close implements io.Closer. An open writer keeps its upload: the
// buffered bytes are stored as a part (or, when the upload has no object
// yet, an empty marker part), under driver.CloseContext, so also after the
// Writer's ctx has ended.
func (w *writer) Close() error {
	ctx, cancel, open, err := w.BeginClose(w.ctx)
	if !open {
		return err
	}
	defer cancel()
	switch {
	case len(w.buf) > 0:
		err = w.storePart(ctx, w.buf)
	case !w.stored:
		name := w.partName(0)
		if err = w.b.upload(ctx, name, nil, hiddenClass, w.meta); err != nil {
			err = w.b.wrap(ctx, "Writer.Close", w.path, err)
		} else {
			w.stored = true
			w.other = append(w.other, name)
		}
	}
	w.buf = nil
	return err
}

// Commit implements driver.FileWriter. On failure the writer stays open,
// so Commit may be tried again or Cancel called.
func (w *writer) Commit(ctx context.Context) error {
	if err := w.BeginCommit(ctx); err != nil {
		return err
	}
	b := w.b
	if len(w.parts) == 0 {
		// Everything fits one request (Write stores every full chunk).
		if err := b.upload(ctx, w.key, w.buf, "", nil); err != nil {
			return b.wrap(ctx, "Commit", w.path, err)
		}
	} else {
		if len(w.buf) > 0 {
			if err := w.storePart(ctx, w.buf); err != nil {
				return err
			}
			w.buf = nil
		}
		if err := w.compose(ctx); err != nil {
			return b.wrap(ctx, "Commit", w.path, err)
		}
	}
	if w.stored {
		if err := b.deleteHidden(ctx, "Commit", w.hidden()); err != nil {
			return b.wrap(ctx, "Commit", w.path, err)
		}
	}
	w.buf = nil
	w.Committed()
	return nil
}

// compose concatenates the parts into the writer's object: directly when
// there are at most MaxComposeSources, else through levels of
// intermediate objects, each composed from up to MaxComposeSources of the
// level below, up to Config.MaxConcurrency at once.
func (w *writer) compose(ctx context.Context) error {
	srcs := make([]string, len(w.parts))
	for i, p := range w.parts {
		srcs[i] = p.name
	}
	for level := 0; len(srcs) > MaxComposeSources; level++ {
		groups := slices.Collect(slices.Chunk(srcs, MaxComposeSources))
		next := make([]string, len(groups))
		for i := range next {
			next[i] = fmt.Sprintf("%sc%02d-%06d", w.up, level, i)
		}
		w.other = append(w.other, next...)
		err := driver.ForEach(ctx, len(groups), w.b.cfg.MaxConcurrency, func(ctx context.Context, i int) error {
			return w.b.composeInto(ctx, next[i], groups[i], hiddenClass, w.meta)
		})
		if err != nil {
			return err
		}
		srcs = next
	}
	return w.b.composeInto(ctx, w.key, srcs, "", nil)
}

// composeInto composes the objects srcs, in order, into dst, of storage
// class class ("" leaves it to GCS: the class of the sources), with custom
// metadata meta (nil for none).
func (b *backend) composeInto(ctx context.Context, dst string, srcs []string, class string, meta map[string]string) error {
	handles := make([]*storage.ObjectHandle, len(srcs))
	for i, s := range srcs {
		handles[i] = b.bucket.Object(s)
	}
	c := b.bucket.Object(dst).ComposerFrom(handles...)
	c.ContentType = contentType
	c.StorageClass = class
	c.Metadata = meta
	_, err := c.Run(ctx)
	return err
}

// hidden returns the names of every hidden object the upload may have.
func (w *writer) hidden() []string {
	names := make([]string, 0, len(w.parts)+len(w.other))
	for _, p := range w.parts {
		names = append(names, p.name)
	}
	return append(names, w.other...)
}

// Cancel implements driver.FileWriter: it deletes the upload's hidden
// objects.
func (w *writer) Cancel(ctx context.Context) error {
	if err := w.BeginCancel(ctx); err != nil {
		return err
	}
	if w.stored {
		if err := w.b.deleteHidden(ctx, "Cancel", w.hidden()); err != nil {
			return w.b.wrap(ctx, "Cancel", w.path, err)
		}
	}
	w.buf = nil
	w.size = 0
	w.Cancelled()
	return nil
}
