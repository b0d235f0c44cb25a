package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// cancelCase calls one method with an already-cancelled context.
type cancelCase struct {
	name string
	call func(f *fixture, ctx context.Context) error
}

// cancelCases cover every method; each runs over cancelTree.
var cancelCases = []cancelCase{
	{"GetContent", func(f *fixture, ctx context.Context) error {
		_, err := f.d.GetContent(ctx, "/c")
		return err
	}},
	{"PutContentNew", func(f *fixture, ctx context.Context) error {
		return f.d.PutContent(ctx, "/new/f", []byte("new"))
	}},
	{"PutContentOverwrite", func(f *fixture, ctx context.Context) error {
		return f.d.PutContent(ctx, "/c", []byte("new"))
	}},
	{"Reader", func(f *fixture, ctx context.Context) error {
		rc, err := f.d.Reader(ctx, "/c", 0)
		closeIf(rc)
		return err
	}},
	{"Writer", func(f *fixture, ctx context.Context) error {
		w, err := f.d.Writer(ctx, "/w", false)
		if w != nil {
			_ = w.Cancel(f.ctx)
			_ = w.Close()
		}
		return err
	}},
	{"Stat", func(f *fixture, ctx context.Context) error {
		_, err := f.d.Stat(ctx, "/c")
		return err
	}},
	{"List", func(f *fixture, ctx context.Context) error {
		_, err := f.d.List(ctx, "/a")
		return err
	}},
	{"Walk", func(f *fixture, ctx context.Context) error {
		calls := 0
		err := f.d.Walk(ctx, "/", func(driver.FileInfo) error { calls++; return nil })
		if calls > 0 {
			f.t.Errorf("Walk with a cancelled context called its function %d times", calls)
		}
		return err
	}},
	{"WalkParallel", func(f *fixture, ctx context.Context) error {
		return f.d.Walk(ctx, "/", func(driver.FileInfo) error { return nil }, driver.WithParallel(4))
	}},
	{"Move", func(f *fixture, ctx context.Context) error {
		return f.d.Move(ctx, "/c", "/moved/c")
	}},
	{"MoveOverwrite", func(f *fixture, ctx context.Context) error {
		return f.d.Move(ctx, "/c", "/a/b")
	}},
	{"DeleteFile", func(f *fixture, ctx context.Context) error {
		return f.d.Delete(ctx, "/c")
	}},
	{"DeleteDirectory", func(f *fixture, ctx context.Context) error {
		return f.d.Delete(ctx, "/a")
	}},
	{"DeleteFiles", func(f *fixture, ctx context.Context) error {
		n, err := f.d.DeleteFiles(ctx, []string{"/c", "/a/b", "/a/d/e"})
		if n != 0 {
			f.t.Errorf("DeleteFiles with a cancelled context = %d, want 0", n)
		}
		return err
	}},
	{"URLFor", func(f *fixture, ctx context.Context) error {
		_, err := f.d.URLFor(ctx, "/c", nil)
		return err
	}},
}

// cancelTree is what the cancelled calls must leave untouched.
var cancelTree = []string{"/a/b", "/a/d/e", "/c"}

func (s *suite) testCancel(t *testing.T) {
	for _, c := range cancelCases {
		s.leaf(t, c.name, func(f *fixture) {
			f.putFiles(cancelTree...)
			before := f.snapshot()
			err := c.call(f, f.cancelled())
			wantIs(f.t, err, context.Canceled, c.name+" with a cancelled context")
			f.wantSnapshot(c.name+" with a cancelled context", before)
		})
	}
	s.leaf(t, "DeadlineExceeded", func(f *fixture) {
		f.putFiles(cancelTree...)
		before := f.snapshot()
		ctx, cancel := context.WithDeadline(f.ctx, time.Now().Add(-time.Second))
		defer cancel()
		_, err := f.d.GetContent(ctx, "/c")
		wantIs(f.t, err, context.DeadlineExceeded, "GetContent past its deadline")
		err = f.d.PutContent(ctx, "/c", []byte("new"))
		wantIs(f.t, err, context.DeadlineExceeded, "PutContent past its deadline")
		f.wantSnapshot("calls past their deadline", before)
	})

	t.Run("Writer", func(t *testing.T) {
		s.leaf(t, "NewKeepsUncommitted", func(f *fixture) {
			w := f.writer("/w", false)
			f.write(w, "abc")
			f.closeW(w)
			nw, err := f.d.Writer(f.cancelled(), "/w", false)
			wantIs(f.t, err, context.Canceled, "Writer(append=false) with a cancelled context")
			if nw != nil {
				_ = nw.Close()
			}
			w = f.writer("/w", true)
			if w.Size() != 3 {
				f.t.Errorf("resumed Size() = %d, want 3: the cancelled Writer discarded the upload", w.Size())
			}
			f.commit(w)
			f.wantString("/w", "abc")
		})
		s.leaf(t, "AppendKeepsUncommitted", func(f *fixture) {
			w := f.writer("/w", false)
			f.write(w, "abc")
			f.closeW(w)
			aw, err := f.d.Writer(f.cancelled(), "/w", true)
			wantIs(f.t, err, context.Canceled, "Writer(append=true) with a cancelled context")
			if aw != nil {
				_ = aw.Close()
			}
			w = f.writer("/w", true)
			f.write(w, "d")
			f.commit(w)
			f.wantString("/w", "abcd")
		})
		s.leaf(t, "Commit", func(f *fixture) {
			w := f.writer("/w", false)
			f.write(w, "abc")
			wantIs(f.t, w.Commit(f.cancelled()), context.Canceled, "Commit with a cancelled context")
			f.wantAbsent("/w")
			f.write(w, "d")
			f.commit(w)
			f.wantString("/w", "abcd")
		})
		s.leaf(t, "Cancel", func(f *fixture) {
			w := f.writer("/w", false)
			f.write(w, "abc")
			wantIs(f.t, w.Cancel(f.cancelled()), context.Canceled, "Cancel with a cancelled context")
			if w.Size() != 3 {
				f.t.Errorf("Size() = %d after a failed Cancel, want 3", w.Size())
			}
			f.commit(w)
			f.wantString("/w", "abc")
		})
	})

	t.Run("DuringWalk", func(t *testing.T) {
		s.leaf(t, "Sequential", func(f *fixture) {
			f.putFiles(walkTree...)
			ctx, cancel := context.WithCancel(f.ctx)
			defer cancel()
			calls, afterCancel := 0, 0
			err := f.d.Walk(ctx, "/", func(driver.FileInfo) error {
				calls++
				if ctx.Err() != nil {
					afterCancel++
				}
				if calls == 3 {
					cancel()
				}
				return nil
			})
			wantIs(f.t, err, context.Canceled, "Walk cancelled during the walk")
			if afterCancel > 0 {
				f.t.Errorf("Walk called its function %d times after the context was cancelled", afterCancel)
			}
		})
		s.leaf(t, "Parallel", func(f *fixture) {
			f.putFiles(walkTree...)
			ctx, cancel := context.WithCancel(f.ctx)
			defer cancel()
			err := f.d.Walk(ctx, "/", func(fi driver.FileInfo) error {
				if fi.Path() == "/a/c" { // a directory: visited synchronously
					cancel()
				}
				return nil
			}, driver.WithParallel(4))
			wantIs(f.t, err, context.Canceled, "parallel Walk cancelled during the walk")
		})
	})
}
