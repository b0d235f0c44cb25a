package distribution

import (
	"context"
	"errors"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/stowage-dev/stowage/driver"
)

// errFilledBuffer stops a stowage walk when distribution's WalkFn returns
// storagedriver.ErrFilledBuffer; Walk then returns nil, as distribution's
// drivers do.
var errFilledBuffer = errors.New("distribution: walk buffer filled")

// callbackError carries an error of the caller's WalkFn through stowage's
// Walk, so that it comes back unchanged instead of being re-typed.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// Walk implements storagedriver.StorageDriver with stowage's Walk: every
// file and directory under path in lexical order, as object stores list
// keys. A WalkFn returning storagedriver.ErrSkipDir for a directory leaves
// its contents out; storagedriver.ErrFilledBuffer ends the walk without an
// error; any other error ends it and is returned as it is.
// WithStartAfterHint becomes stowage's WithStartAfter, so only entries
// after the hint are visited (object stores start their listing there).
func (a *Driver) Walk(ctx context.Context, path string, f storagedriver.WalkFn, options ...func(*storagedriver.WalkOptions)) error {
	var o storagedriver.WalkOptions
	for _, opt := range options {
		if opt != nil {
			opt(&o)
		}
	}
	var opts []driver.WalkOption
	if o.StartAfterHint != "" {
		opts = append(opts, driver.WithStartAfter(o.StartAfterHint))
	}
	err := a.d.Walk(ctx, path, func(fi driver.FileInfo) error {
		err := f(fi)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, storagedriver.ErrSkipDir):
			return driver.ErrSkipDir
		case errors.Is(err, storagedriver.ErrFilledBuffer):
			return errFilledBuffer
		}
		return &callbackError{err: err}
	}, opts...)
	if err == nil || errors.Is(err, errFilledBuffer) {
		return nil
	}
	var cb *callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	return a.mapErr(err)
}
