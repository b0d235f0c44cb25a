package cloudtest

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// Session resumes (or starts) the writer of p on d, checks its size,
// writes data and returns the writer.
func Session(t testing.TB, d driver.StorageDriver, p string, resume bool, wantSize int64, data []byte) driver.FileWriter {
	t.Helper()
	w, err := d.Writer(context.Background(), p, resume)
	if err != nil {
		t.Fatalf("Writer(%s, %v): %v", p, resume, err)
	}
	if w.Size() != wantSize {
		t.Fatalf("Writer(%s, %v).Size() = %d, want %d", p, resume, w.Size(), wantSize)
	}
	if n, err := w.Write(data); err != nil || n != len(data) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(data), n, err)
	}
	return w
}

// Sessions is a file written over several writer sessions, each on a new
// driver instance, as new processes would.
type Sessions struct {
	// Path is the file written, Content what is written to it.
	Path    string
	Content []byte
	// Cuts are the offsets the sessions end at, the last len(Content):
	// every session but the last ends in Close, the last in Commit.
	Cuts []int
	// New returns a new driver instance and the classifier of its
	// requests.
	New func(t testing.TB) (driver.StorageDriver, *Ops)
	// First and Commit are the requests the first session (its Writer,
	// Write and Close) and the last one's Commit must send.
	First, Commit map[string]int
	// AfterFirst, if set, checks what the first session left on the
	// server.
	AfterFirst func(t testing.TB)
}

// WriteSessions writes s.Content to s.Path over the sessions s describes,
// checking the requests of the first session and of Commit, that the
// uncommitted file stays out of List("/") (run it on an empty root), that
// each session resumes at the size the one before left, and that Size
// after Commit is the whole content. The caller checks what the server
// holds after.
func WriteSessions(t testing.TB, s Sessions) {
	t.Helper()
	ctx := context.Background()
	d, o := s.New(t)
	w := Session(t, d, s.Path, false, 0, s.Content[:s.Cuts[0]])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	WantOps(t, "first session", o.Take(), s.First)
	if s.AfterFirst != nil {
		s.AfterFirst(t)
	}
	if got, err := d.List(ctx, "/"); err != nil || len(got) != 0 {
		t.Errorf("List(/) = %v, %v; the uncommitted upload must be invisible", got, err)
	}

	for i := 1; i < len(s.Cuts); i++ {
		d, o = s.New(t) // a new process
		w = Session(t, d, s.Path, true, int64(s.Cuts[i-1]), s.Content[s.Cuts[i-1]:s.Cuts[i]])
		if i < len(s.Cuts)-1 {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		o.Take()
		if err := w.Commit(ctx); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if w.Size() != int64(len(s.Content)) {
			t.Errorf("Size() after Commit = %d, want %d", w.Size(), len(s.Content))
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close after Commit: %v", err)
		}
		WantOps(t, "Commit", o.Take(), s.Commit)
	}
}

// DiscardCancel plugs a backend into WriterDiscardsAndCancels.
type DiscardCancel struct {
	// Backend gives Root, Get and New, the last building a driver with
	// the part size the sizes below are meant for.
	Backend Backend
	// FSize is the size of each of two sessions written to /f, closed
	// uncommitted; GSize that of one session written to /g.
	FSize, GSize int
	// Left returns what the server holds of path's uncommitted writes
	// under root, named as the backend likes: empty when nothing is left.
	Left func(t testing.TB, root, path string) []string
	// AfterClose, if set, checks what the sessions of path left, once
	// they are closed.
	AfterClose func(t testing.TB, root, path string)
	// Discard are the requests of a non-append Writer over /f's upload;
	// Commit those of committing 3 bytes.
	Discard, Commit map[string]int
}

// WriterDiscardsAndCancels checks that a non-append Writer discards the
// uncommitted writes of its path, that a small Commit then writes just
// what it was given, and that Cancel of a resumed writer removes its
// uncommitted writes, after which the path cannot be resumed.
func WriterDiscardsAndCancels(t *testing.T, dc DiscardCancel) {
	t.Helper()
	b := dc.Backend
	root := b.Root(t)
	ctx := context.Background()
	d, _, o := b.Counting(t, root)

	for i := 0; i < 2; i++ {
		w := Session(t, d, "/f", i > 0, int64(i*dc.FSize), make([]byte, dc.FSize))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if dc.AfterClose != nil {
		dc.AfterClose(t, root, "/f")
	}
	o.Take()
	w := Session(t, d, "/f", false, 0, []byte("new"))
	WantOps(t, "non-append Writer over an upload", o.Take(), dc.Discard)
	if left := dc.Left(t, root, "/f"); len(left) != 0 {
		t.Errorf("%v left after a non-append Writer", left)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	WantOps(t, "Commit of 3 bytes", o.Take(), dc.Commit)
	if got := b.Get(t, root+"/f"); string(got) != "new" {
		t.Errorf("%s reads %q", b.Name, got)
	}

	w = Session(t, d, "/g", false, 0, make([]byte, dc.GSize))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if dc.AfterClose != nil {
		dc.AfterClose(t, root, "/g")
	}
	w, err := d.Writer(ctx, "/g", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if left := dc.Left(t, root, "/g"); len(left) != 0 {
		t.Errorf("%v left after Cancel", left)
	}
	if _, err := d.Writer(ctx, "/g", true); !driver.IsNotFound(err) {
		t.Errorf("Writer(/g, true) after Cancel: %v, want PathNotFoundError", err)
	}
}

// WriterContinuesSnapshot checks, for a file of each size stored with
// b.Put, that an appending writer continues the file as it was when Writer
// was called: an overwrite after that (with b.Put) does not change what
// Commit writes, which replaces the overwrite as any Commit does.
func WriterContinuesSnapshot(t *testing.T, b Backend, sizes ...int) {
	for _, size := range sizes {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			root := b.Root(t)
			ctx := context.Background()
			old := PatternBytes(size)
			b.Put(t, root+"/blob", old)
			d := b.New(t, root, nil, Options{})
			w := Session(t, d, "/blob", true, int64(size), []byte("+new"))
			b.Put(t, root+"/blob", []byte("overwritten meanwhile"))
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := b.Get(t, root+"/blob"), append(old, "+new"...); !bytes.Equal(got, want) {
				t.Errorf("%s reads %d bytes (%.20q...), want the %d of the snapshot plus 4", b.Name, len(got), got, size)
			}
		})
	}
}
