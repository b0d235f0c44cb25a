package driver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Store is the StorageDriver of a cloud backend: it does, once for every
// backend, what comes before and after the backend's SDK calls (see
// Backend), and calls the Backend in between. A cloud backend's Driver
// embeds a *Store; the Backend never calls the Store, so every call from
// outside goes through the same checks.
//
// Per method, Store does this, then calls the Backend:
//
//   - every method: ValidatePath (ValidateDirPath where "/" is allowed),
//     then ctx's error; the Backend's errors go through WrapError with
//     Backend.Classify;
//   - GetContent: Reader, read whole;
//   - Reader: a negative offset is an *InvalidOffsetError; an offset the
//     backend calls KindInvalidRange gets one Head (offset == size: an
//     empty stream);
//   - Stat: "/" is a directory; a file is a Head; a path without a file is
//     a directory when one key lies under it (a List of one key);
//   - List: Delimiter listing page by page, children sorted, duplicates (a
//     key "a/b" next to keys under "a/b/") folded;
//   - Walk: WalkFlat over flat List pages;
//   - Delete: the file and everything under the directory, listed flat and
//     fed into bulk-delete batches while listing goes on (deleteTree);
//   - DeleteFiles: DeleteInBatches, each batch one Backend.DeleteBatch plus
//     a round per transient per-item failure (BatchDeleter);
//   - URLFor: the "method" and "expiry" options, then Backend.SignURL.
type Store struct {
	name string
	b    Backend
	keys KeyMap
	caps Capabilities
	cfg  CommonConfig
}

var _ StorageDriver = (*Store)(nil)

// NewStore returns the StorageDriver of backend b, named name, with keys
// mapped by keys, what caps says b can do, and cfg (normalised with
// CommonConfig.Normalize) for concurrency, batch size and retries.
func NewStore(name string, b Backend, keys KeyMap, caps Capabilities, cfg CommonConfig) *Store {
	caps.DeleteBatchSize = max(min(caps.DeleteBatchSize, cfg.DeleteBatchSize), 1)
	return &Store{name: name, b: b, keys: keys, caps: caps, cfg: cfg}
}

// Name implements StorageDriver.
func (s *Store) Name() string { return s.name }

// Capabilities reports what the backend can do, with the effective delete
// batch size as DeleteBatchSize.
func (s *Store) Capabilities() Capabilities { return s.caps }

// wrap maps the backend's err of op on path (see WrapError).
func (s *Store) wrap(ctx context.Context, op, path string, err error) error {
	return WrapError(ctx, s.name, op, path, err, s.b.Classify)
}

// check validates path (a file path; with dir set, "/" is allowed too) and
// checks ctx.
func (s *Store) check(ctx context.Context, path string, dir bool) error {
	var err error
	if dir {
		err = ValidateDirPath(s.name, path)
	} else {
		err = ValidatePath(s.name, path)
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

// GetContent implements StorageDriver.
func (s *Store) GetContent(ctx context.Context, path string) ([]byte, error) {
	rc, err := s.Reader(ctx, path, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, s.wrap(ctx, "GetContent", path, err)
	}
	return b, nil
}

// PutContent implements StorageDriver with one Backend.Put.
func (s *Store) PutContent(ctx context.Context, path string, content []byte) error {
	if err := s.check(ctx, path, false); err != nil {
		return err
	}
	return s.wrap(ctx, "PutContent", path, s.b.Put(ctx, path, content))
}

// Reader implements StorageDriver with one Backend.Read (and one Head for
// an offset at or beyond the end).
func (s *Store) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	if err := ValidatePath(s.name, path); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &InvalidOffsetError{Path: path, Offset: offset, DriverName: s.name}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rc, err := s.b.Read(ctx, path, offset)
	if err == nil {
		return rc, nil
	}
	if offset > 0 && s.b.Classify(err) == KindInvalidRange {
		obj, herr := s.b.Head(ctx, path)
		if herr != nil {
			return nil, s.wrap(ctx, "Reader", path, herr)
		}
		if offset == obj.Size {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, &InvalidOffsetError{Path: path, Offset: offset, DriverName: s.name}
	}
	return nil, s.wrap(ctx, "Reader", path, err)
}

// Writer implements StorageDriver with Backend.Writer.
func (s *Store) Writer(ctx context.Context, path string, append bool) (FileWriter, error) {
	if err := s.check(ctx, path, false); err != nil {
		return nil, err
	}
	w, err := s.b.Writer(ctx, path, append)
	if err != nil {
		return nil, s.wrap(ctx, "Writer", path, err)
	}
	return w, nil
}

// Stat implements StorageDriver: one Head for a file, then one List of at
// most one key for a directory. The root always exists.
func (s *Store) Stat(ctx context.Context, path string) (FileInfo, error) {
	if err := s.check(ctx, path, true); err != nil {
		return nil, err
	}
	if path == "/" {
		return FileInfoFields{FilePath: "/", Dir: true}, nil
	}
	obj, err := s.b.Head(ctx, path)
	if err == nil {
		return FileInfoFields{FilePath: path, FileSize: obj.Size, FileModTime: obj.ModTime}, nil
	}
	if err := s.wrap(ctx, "Stat", path, err); !IsNotFound(err) {
		return nil, err
	}
	page, err := s.b.List(ctx, ListQuery{Prefix: s.keys.Dir(path), Limit: 1})
	if err != nil {
		return nil, s.wrap(ctx, "Stat", path, err)
	}
	if len(page.Objects) == 0 && len(page.Prefixes) == 0 {
		return nil, &PathNotFoundError{Path: path, DriverName: s.name}
	}
	return FileInfoFields{FilePath: path, Dir: true}, nil
}

// List implements StorageDriver with Delimiter listings: one request per
// page of direct children. Keys that map to no path (the backend's own, or
// foreign ones) are left out, but make the directory exist.
func (s *Store) List(ctx context.Context, path string) ([]string, error) {
	if err := s.check(ctx, path, true); err != nil {
		return nil, err
	}
	q := ListQuery{Prefix: s.keys.Dir(path), Delimiter: true}
	var (
		children []string
		found    bool
	)
	for {
		page, err := s.b.List(ctx, q)
		if err != nil {
			return nil, s.wrap(ctx, "List", path, err)
		}
		for _, o := range page.Objects {
			found = true
			if p, ok := s.keys.Path(o.Key); ok {
				children = append(children, p)
			}
		}
		for _, pfx := range page.Prefixes {
			found = true
			if p, ok := s.keys.Path(strings.TrimSuffix(pfx, "/")); ok {
				children = append(children, p)
			}
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	if path != "/" && !found {
		return nil, &PathNotFoundError{Path: path, DriverName: s.name}
	}
	sort.Strings(children)
	children = slices.Compact(children)
	if children == nil {
		children = []string{}
	}
	return children, nil
}

// Walk implements StorageDriver with WalkFlat over flat Backend.List
// pages: one request per page of keys whatever the depth of the tree.
func (s *Store) Walk(ctx context.Context, path string, f WalkFn, opts ...WalkOption) error {
	return WalkFlat(ctx, s.name, path, f, opts, s.listFlat)
}

// listFlat is Walk's ListFlatFunc. A listing of "/" ends at the backend's
// hidden objects, which sort after every path.
func (s *Store) listFlat(ctx context.Context, dir, startAfter, token string) (ListPage, error) {
	q := ListQuery{Prefix: s.keys.Dir(dir), Token: token}
	if token == "" && startAfter != "" {
		q.StartAfter = s.keys.Prefix + startAfter[1:]
	}
	out, err := s.b.List(ctx, q)
	if err != nil {
		return ListPage{}, s.wrap(ctx, "Walk", dir, err)
	}
	hidden := "\x00" // matches no key
	if dir == "/" && s.caps.HiddenPrefix != "" {
		hidden = s.keys.Prefix + s.caps.HiddenPrefix
	}
	var page ListPage
	for _, o := range out.Objects {
		if strings.HasPrefix(o.Key, hidden) {
			return page, nil // the end: nothing after the backend's own objects
		}
		if p, ok := s.keys.Path(o.Key); ok {
			page.Files = append(page.Files, FileInfoFields{FilePath: p, FileSize: o.Size, FileModTime: o.ModTime})
		}
	}
	page.Next = out.Next
	return page, nil
}

// Move implements StorageDriver with Backend.Move.
func (s *Store) Move(ctx context.Context, sourcePath, destPath string) error {
	if err := ValidatePath(s.name, sourcePath); err != nil {
		return err
	}
	if err := s.check(ctx, destPath, false); err != nil {
		return err
	}
	return s.wrap(ctx, "Move", sourcePath, s.b.Move(ctx, sourcePath, destPath))
}

// URLFor implements StorageDriver with Backend.SignURL for option
// "method" (GET or HEAD, default GET) until option "expiry" (a time.Time,
// default DefaultURLExpiry from now; one beyond Capabilities.MaxURLExpiry
// is capped to it, as the provider would refuse to sign it). It sends no
// request, so it does not check that the file exists. Without Capabilities.SignedURLs, and for any
// other method, it returns an error matching ErrUnsupportedMethod.
func (s *Store) URLFor(ctx context.Context, path string, options map[string]any) (string, error) {
	if err := s.check(ctx, path, false); err != nil {
		return "", err
	}
	method := http.MethodGet
	if v, ok := options["method"]; ok && v != nil {
		m, ok := v.(string)
		if !ok {
			return "", &OpError{DriverName: s.name, Op: "URLFor", Path: path, Err: fmt.Errorf("option method: want a string, got %T", v)}
		}
		method = strings.ToUpper(m)
	}
	if !s.caps.SignedURLs {
		return "", &UnsupportedMethodError{DriverName: s.name, Method: "URLFor"}
	}
	if method != http.MethodGet && method != http.MethodHead {
		return "", &UnsupportedMethodError{DriverName: s.name, Method: "URLFor " + method}
	}
	expires := time.Now().Add(DefaultURLExpiry)
	if v, ok := options["expiry"]; ok && v != nil {
		t, ok := v.(time.Time)
		if !ok {
			return "", &OpError{DriverName: s.name, Op: "URLFor", Path: path, Err: fmt.Errorf("option expiry: want a time.Time, got %T", v)}
		}
		if !t.After(time.Now()) {
			return "", &OpError{DriverName: s.name, Op: "URLFor", Path: path, Err: fmt.Errorf("expiry %v is not in the future", t)}
		}
		expires = t
	}
	if limit := s.caps.MaxURLExpiry; limit > 0 && time.Until(expires) > limit {
		expires = time.Now().Add(limit)
	}
	u, err := s.b.SignURL(ctx, path, method, expires)
	if err != nil {
		return "", s.wrap(ctx, "URLFor", path, err)
	}
	return u, nil
}
