package driver

import (
	"context"
	"errors"
	"strings"
)

// ListPage is one page of a flat listing (see ListFlatFunc).
type ListPage struct {
	// Files are the files of the page, in walk order (the byte order in
	// which object stores list keys). A page may hold fewer files than the
	// backend's page size, or none, and still not be the last one.
	Files []FileInfo
	// Next continues the listing on the next call; "" when the page is
	// the last one.
	Next string
}

// ListFlatFunc lists the files under the directory dir of an object store,
// without a delimiter, one page per call: the backend's one SDK-specific
// part of WalkFlat.
//
// With token "" it starts a listing: from the first file under dir, or,
// when startAfter is set, from the first one whose path sorts after
// startAfter (a path in walk-key form, see WalkKey, which may end in "/" or
// in characters no path holds; the backend maps it to a key as it maps
// paths). With a token from the previous page's Next it continues that
// listing, and startAfter is "". A backend that cannot start after a key
// may ignore startAfter: WalkFlat notices and filters on the client.
//
// The backend leaves out keys that are not files of the driver (its own
// bookkeeping objects, keys that map to no valid path) and ends the listing
// (Next "") only at the true end, never on a page that is merely short.
type ListFlatFunc func(ctx context.Context, dir, startAfter, token string) (ListPage, error)

// MaxPathSuffix sorts after any suffix made of path characters: a listing
// that starts after dir+"/"+MaxPathSuffix starts past everything under dir.
const MaxPathSuffix = "\U0010FFFF"

// WalkFlat implements StorageDriver.Walk for an object store with one flat
// listing of everything under path, a request per page of keys whatever the
// depth of the tree. Object stores list in walk order (see WalkKey), so the
// files go straight to a Walker that derives the directories, applies
// ErrSkipDir and runs the parallel option. The start-after hint goes to
// the backend's list call; when a skipped directory still covers the end of
// a page, the next call jumps past it with a new start-after instead of
// paging through its contents.
//
// It validates path (InvalidPathError naming driverName) and checks ctx
// first. A path with nothing under it is a *PathNotFoundError, except "/",
// and except when a start-after hint skipped everything of a directory that
// exists.
func WalkFlat(ctx context.Context, driverName, path string, f WalkFn, opts []WalkOption, list ListFlatFunc) error {
	if err := ValidateDirPath(driverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := ApplyWalkOptions(opts...)

	// Learn which directory f asked to skip. Directories are visited on
	// this goroutine (only files go to parallel workers), so no lock.
	var skipped string
	wf := func(fi FileInfo) error {
		err := f(fi)
		if fi.IsDir() && errors.Is(err, ErrSkipDir) {
			skipped = fi.Path()
		}
		return err
	}
	w, wctx := NewWalker(ctx, path, wf, o)

	dirKey := WalkKey(path, true)
	if path == "/" {
		dirKey = "/"
	}
	var startAfter string // the next call's start-after; also the floor
	if h := o.StartAfter; strings.HasPrefix(h, "/") && h > dirKey {
		startAfter = h
	}
	hinted := startAfter != ""

	var (
		token    string
		floor    = startAfter // paths up to and including it are done with
		ignored  bool         // the backend ignores startAfter
		found    bool         // any file under path
		skipping string       // walk key of the directory being skipped
		listErr  error
	)
pages:
	for {
		page, err := list(wctx, path, startAfter, token)
		if err != nil {
			listErr = err
			break
		}
		last := ""
		for _, fi := range page.Files {
			p := fi.Path()
			last = p
			found = true
			if p <= floor {
				// Before the hint or the jump: the backend ignored
				// startAfter, so jumping would only start over.
				ignored = true
				continue
			}
			if skipping != "" && !strings.HasPrefix(p, skipping) {
				skipping = ""
			}
			skipped = ""
			if _, err := w.Visit(fi); err != nil {
				break pages
			}
			if skipped != "" {
				skipping = WalkKey(skipped, true)
			}
		}
		if page.Next == "" {
			break
		}
		if skipping != "" && strings.HasPrefix(last, skipping) && !ignored {
			// The skipped directory goes on past this page: jump over it.
			startAfter, token = skipping+MaxPathSuffix, ""
			floor = startAfter
			continue
		}
		startAfter, token = "", page.Next
	}
	if err := w.Close(); err != nil {
		return err
	}
	if listErr != nil {
		return listErr
	}
	if path == "/" || found {
		return nil
	}
	if hinted {
		// Everything may lie before the hint: does the directory exist?
		exists, err := dirExists(ctx, path, list)
		if err != nil {
			return err
		}
		if exists {
			return nil
		}
	}
	return &PathNotFoundError{Path: path, DriverName: driverName}
}

// dirExists reports whether any file lies under dir, paging past empty
// pages.
func dirExists(ctx context.Context, dir string, list ListFlatFunc) (bool, error) {
	token := ""
	for {
		page, err := list(ctx, dir, "", token)
		if err != nil {
			return false, err
		}
		if len(page.Files) > 0 {
			return true, nil
		}
		if page.Next == "" {
			return false, nil
		}
		token = page.Next
	}
}
