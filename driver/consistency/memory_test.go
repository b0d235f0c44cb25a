package consistency

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// nopDriver accepts every change and holds nothing, so that only the
// wrapper's own memory is measured.
type nopDriver struct{}

func (nopDriver) Name() string                                          { return "nop" }
func (nopDriver) GetContent(context.Context, string) ([]byte, error)    { return nil, nil }
func (nopDriver) PutContent(context.Context, string, []byte) error      { return nil }
func (nopDriver) Stat(context.Context, string) (driver.FileInfo, error) { return nil, nil }
func (nopDriver) List(context.Context, string) ([]string, error)        { return nil, nil }
func (nopDriver) Move(context.Context, string, string) error            { return nil }
func (nopDriver) Delete(context.Context, string) error                  { return nil }
func (nopDriver) Reader(context.Context, string, int64) (io.ReadCloser, error) {
	return nil, nil
}
func (nopDriver) Writer(context.Context, string, bool) (driver.FileWriter, error) {
	return nopWriter{}, nil
}
func (nopDriver) DeleteFiles(_ context.Context, paths []string) (int, error) {
	return len(paths), nil
}
func (nopDriver) URLFor(context.Context, string, map[string]any) (string, error) { return "", nil }
func (nopDriver) Walk(context.Context, string, driver.WalkFn, ...driver.WalkOption) error {
	return nil
}

type nopWriter struct{}

func (nopWriter) Write(b []byte) (int, error)  { return len(b), nil }
func (nopWriter) Close() error                 { return nil }
func (nopWriter) Size() int64                  { return 0 }
func (nopWriter) Cancel(context.Context) error { return nil }
func (nopWriter) Commit(context.Context) error { return nil }

// stepClock is a clock that moves only when told to.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time                             { return c.now }
func (c *stepClock) Sleep(context.Context, time.Duration) error { return nil }

// TestMemoryBound writes a million distinct paths with a small entry limit
// and checks that the wrapper never holds more records than the limit, nor
// path nodes beyond what those records need, and that the window empties
// it.
func TestMemoryBound(t *testing.T) {
	t.Parallel()
	const (
		limit = 1000
		depth = 4 // components per path
	)
	writes := 1_000_000
	if testing.Short() {
		writes = 100_000
	}
	clock := &stepClock{now: time.Unix(1_700_000_000, 0)}
	d := Wrap(nopDriver{}, Options{MaxEntries: limit, Window: time.Minute, Clock: clock}).(*wrapped)
	ctx := context.Background()
	content := []byte("x")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range writes {
		p := fmt.Sprintf("/r%d/s%d/t%d/f%d", i%7, i%101, i%1009, i)
		var err error
		switch i % 10 {
		case 0:
			_, err = d.DeleteFiles(ctx, []string{p})
		case 1:
			err = d.Move(ctx, p, p+"-moved")
		case 2:
			err = d.Delete(ctx, p)
		default:
			err = d.PutContent(ctx, p, content)
		}
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if i%10_000 == 0 {
			if n := Entries(d); n > limit {
				t.Fatalf("after %d writes the wrapper holds %d records, limit %d", i+1, n, limit)
			}
			if n := Nodes(d); n > limit*depth {
				t.Fatalf("after %d writes the wrapper holds %d path nodes for at most %d records", i+1, n, limit)
			}
		}
	}
	if n := Entries(d); n != limit {
		t.Errorf("after %d writes the wrapper holds %d records, want the limit %d", writes, n, limit)
	}
	if n := Nodes(d); n > limit*depth {
		t.Errorf("after %d writes the wrapper holds %d path nodes", writes, n)
	}
	if n := Locks(d); n != 0 {
		t.Errorf("%d path locks left", n)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d writes, limit %d: %d records, %d nodes, live heap %+d KiB",
		writes, limit, Entries(d), Nodes(d), (int64(after.HeapAlloc)-int64(before.HeapAlloc))/1024)

	// Past the window every record goes, and every node with it.
	clock.now = clock.now.Add(time.Minute + time.Nanosecond)
	if _, err := d.Stat(ctx, "/r0"); err != nil {
		t.Fatal(err)
	}
	if n, m := Entries(d), Nodes(d); n != 0 || m != 0 {
		t.Errorf("after the window: %d records, %d nodes; want none", n, m)
	}
}

// TestSessionsBound checks that the hash states of uploads closed without
// Commit are bounded by MaxEntries too.
func TestSessionsBound(t *testing.T) {
	d := Wrap(nopDriver{}, Options{MaxEntries: 10})
	ctx := context.Background()
	for i := range 100 {
		w, err := d.Writer(ctx, fmt.Sprintf("/u/%d", i), false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("part")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := Sessions(d); n != 10 {
		t.Errorf("Sessions() = %d, want the limit 10", n)
	}
}
