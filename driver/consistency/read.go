package consistency

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"

	"github.com/stowage-dev/stowage/driver"
)

// Reads start by asking the records about the path. Unknown: the backend
// answers directly. Deleted by this process: "path not found" without
// asking. Written by this process: poll until the backend returns what was
// written. The records are asked again before every poll, so a newer
// change of this process (or the record expiring) redirects the wait.

// GetContent returns the backend's content once it matches the size and
// hash of this process's last write of p.
func (w *wrapped) GetContent(ctx context.Context, p string) ([]byte, error) {
	if err := driver.ValidatePath(w.name, p); err != nil {
		return nil, err
	}
	var (
		out   []byte
		final error
	)
	err := w.poll(ctx, "GetContent", p, func(ctx context.Context) (bool, string, string, error) {
		st, rec := w.fileState(p)
		switch st {
		case unknown:
			out, final = w.d.GetContent(ctx, p)
			return true, "", "", nil
		case absent:
			final = w.absent(ctx, p)
			return true, "", "", nil
		}
		b, err := w.d.GetContent(ctx, p)
		if done, want, got, err := w.checkContent(rec, b, err); !done || err != nil {
			return false, want, got, err
		}
		out = b
		return true, "", "", nil
	})
	if err != nil {
		return nil, err
	}
	return out, final
}

// absent is the answer for a path this process deleted.
func (w *wrapped) absent(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.notFound(p)
}

// checkContent compares the backend's answer to GetContent with rec.
func (w *wrapped) checkContent(rec fileRec, b []byte, err error) (bool, string, string, error) {
	switch {
	case driver.IsNotFound(err):
		return false, describeRec(rec), "path not found", nil
	case err != nil:
		return false, "", "", err
	case !w.matches(rec, b):
		return false, describeRec(rec), w.describeContent(rec, b), nil
	}
	return true, "", "", nil
}

// Reader streams the backend's content once it matches this process's
// last write of p: files up to Options.VerifyReadLimit are read whole and
// verified, larger ones are checked by size before the stream opens and by
// hash at its end (from offset 0).
func (w *wrapped) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := driver.ValidatePath(w.name, p); err != nil {
		return nil, err
	}
	var (
		out   io.ReadCloser
		final error
	)
	err := w.poll(ctx, "Reader", p, func(ctx context.Context) (bool, string, string, error) {
		st, rec := w.fileState(p)
		switch st {
		case unknown:
			out, final = w.d.Reader(ctx, p, offset)
			return true, "", "", nil
		case absent:
			final = w.absent(ctx, p)
			return true, "", "", nil
		}
		if offset < 0 || rec.size >= 0 && offset > rec.size {
			if final = ctx.Err(); final == nil {
				final = &driver.InvalidOffsetError{Path: p, Offset: offset, DriverName: w.name}
			}
			return true, "", "", nil
		}
		if rec.hashed && rec.size <= w.o.VerifyReadLimit {
			b, err := w.d.GetContent(ctx, p)
			if done, want, got, err := w.checkContent(rec, b, err); !done || err != nil {
				return false, want, got, err
			}
			out = io.NopCloser(bytes.NewReader(b[offset:]))
			return true, "", "", nil
		}
		fi, err := w.d.Stat(ctx, p)
		if done, want, got, err := checkStat(rec, fi, err); !done || err != nil {
			return false, want, got, err
		}
		rc, err := w.d.Reader(ctx, p, offset)
		switch {
		case driver.IsNotFound(err):
			return false, describeRec(rec), "path not found", nil
		case err != nil:
			return false, "", "", err
		}
		if offset == 0 && rec.hashed {
			v := &verifyingReader{ReadCloser: rc, w: w, path: p, rec: rec}
			v.h.SetSeed(w.seed)
			rc = v
		}
		out = rc
		return true, "", "", nil
	})
	if err != nil {
		return nil, err
	}
	return out, final
}

// verifyingReader hashes a stream and, at its end, reports a *StaleError
// instead of io.EOF when the content is not what this process wrote.
type verifyingReader struct {
	io.ReadCloser
	w    *wrapped
	path string
	rec  fileRec
	h    maphash.Hash
	n    int64
}

func (v *verifyingReader) Read(b []byte) (int, error) {
	n, err := v.ReadCloser.Read(b)
	v.h.Write(b[:n])
	v.n += int64(n)
	if err == io.EOF && (v.n != v.rec.size || v.h.Sum64() != v.rec.hash) {
		return n, &StaleError{
			DriverName: v.w.name, Op: "Reader", Path: v.path,
			Want: describeRec(v.rec),
			Got:  fmt.Sprintf("a stream of %d bytes of other content", v.n),
		}
	}
	return n, err
}

// checkStat compares the backend's answer to Stat with rec.
func checkStat(rec fileRec, fi driver.FileInfo, err error) (bool, string, string, error) {
	switch {
	case driver.IsNotFound(err):
		return false, describeRec(rec), "path not found", nil
	case err != nil:
		return false, "", "", err
	case fi.IsDir():
		return false, describeRec(rec), "a directory", nil
	case rec.size >= 0 && fi.Size() != rec.size:
		return false, describeRec(rec), fmt.Sprintf("a file of %d bytes", fi.Size()), nil
	}
	return true, "", "", nil
}

// Stat describes p once the backend agrees with this process's last write
// of p; for a path this process deleted, or a directory with such paths
// below it, it answers from the records and the backend together.
func (w *wrapped) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	if err := driver.ValidateDirPath(w.name, p); err != nil {
		return nil, err
	}
	if p == "/" {
		return w.d.Stat(ctx, p)
	}
	var (
		out   driver.FileInfo
		final error
	)
	err := w.poll(ctx, "Stat", p, func(ctx context.Context) (bool, string, string, error) {
		st, rec := w.fileState(p)
		if st != present {
			out, final = w.statNotWritten(ctx, p, st)
			return true, "", "", nil
		}
		fi, err := w.d.Stat(ctx, p)
		if done, want, got, err := checkStat(rec, fi, err); !done || err != nil {
			return false, want, got, err
		}
		out = fi
		return true, "", "", nil
	})
	if err != nil {
		return nil, err
	}
	return out, final
}

// statNotWritten is Stat of a path that is not a file this process wrote:
// st is unknown or absent.
func (w *wrapped) statNotWritten(ctx context.Context, p string, st state) (driver.FileInfo, error) {
	r := w.reachOf(p)
	if st == unknown && r.none() {
		return w.d.Stat(ctx, p)
	}
	fi, err := w.d.Stat(ctx, p)
	if err != nil && !driver.IsNotFound(err) {
		return nil, err
	}
	if err == nil && !fi.IsDir() {
		if st == unknown {
			return fi, nil
		}
		fi, err = nil, w.notFound(p) // the backend still shows a file this process deleted
	}
	// What is left is p as a directory.
	switch {
	case r.creates > 0: // this process wrote a file below p since any Delete of it
		if fi != nil {
			return fi, nil
		}
		return driver.FileInfoFields{FilePath: p, Dir: true}, nil
	case !r.removals():
		return fi, err
	case fi == nil:
		return nil, err
	}
	found, err := w.hasVisible(ctx, p)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, w.notFound(p)
	}
	return fi, nil
}

// URLFor returns the backend's URL, after waiting (as Stat does) for the
// backend to show this process's last write of p. The URL is fetched
// around the wrapper.
func (w *wrapped) URLFor(ctx context.Context, p string, options map[string]any) (string, error) {
	u, err := w.d.URLFor(ctx, p, options)
	if err != nil {
		return "", err
	}
	if st, _ := w.fileState(p); st == present {
		if _, err := w.Stat(ctx, p); err != nil {
			return "", err
		}
	}
	return u, nil
}
