package conformance

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stowage-dev/stowage/driver"
)

// largeSize is the size of the large stream test: big enough that every
// backend uses its multi-part path, several times over.
const largeSize = 64 << 20

func (s *suite) testStreams(t *testing.T) {
	t.Run("Reader", func(t *testing.T) {
		content := pattern(7, 1<<20)
		offsets := []struct {
			name string
			off  int64
		}{
			{"OffsetZero", 0},
			{"OffsetOne", 1},
			{"OffsetMiddle", 777_777},
			{"OffsetLastByte", 1<<20 - 1},
		}
		for _, c := range offsets {
			s.leaf(t, c.name, func(f *fixture) {
				f.put("/f", content)
				f.wantRead("/f", c.off, content[c.off:])
			})
		}
		s.leaf(t, "OffsetEnd", func(f *fixture) {
			f.put("/f", content)
			f.wantRead("/f", int64(len(content)), nil)
		})
		for _, c := range []struct {
			name string
			off  int64
		}{{"OffsetPastEnd", 1<<20 + 1}, {"OffsetFarPastEnd", 1 << 40}, {"NegativeOffset", -1}} {
			s.leaf(t, c.name, func(f *fixture) {
				f.put("/f", content)
				f.wantInvalidOffset("/f", c.off)
			})
		}
		s.leaf(t, "EmptyFileOffsetZero", func(f *fixture) {
			f.put("/f", nil)
			f.wantRead("/f", 0, nil)
		})
		s.leaf(t, "EmptyFileOffsetOne", func(f *fixture) {
			f.put("/f", nil)
			f.wantInvalidOffset("/f", 1)
		})
		s.leaf(t, "Missing", func(f *fixture) {
			rc, err := f.d.Reader(f.ctx, "/missing", 0)
			closeIf(rc)
			wantNotFound(f.t, err, "Reader(/missing, 0)")
		})
		s.leaf(t, "MissingWithOffset", func(f *fixture) {
			rc, err := f.d.Reader(f.ctx, "/missing", 10)
			closeIf(rc)
			wantNotFound(f.t, err, "Reader(/missing, 10)")
		})
		s.leaf(t, "Directory", func(f *fixture) {
			f.puts("/dir/f", "x")
			rc, err := f.d.Reader(f.ctx, "/dir", 0)
			closeIf(rc)
			wantNotFound(f.t, err, "Reader(/dir, 0)")
		})
		s.leaf(t, "UnderFile", func(f *fixture) {
			f.puts("/f", "x")
			rc, err := f.d.Reader(f.ctx, "/f/x", 0)
			closeIf(rc)
			wantNotFound(f.t, err, "Reader(/f/x, 0)")
		})
		s.leaf(t, "OneByteReads", func(f *fixture) {
			small := content[:10_000]
			f.put("/f", small)
			rc, err := f.d.Reader(f.ctx, "/f", 3)
			if err != nil {
				f.t.Fatalf("Reader(/f, 3): %v", err)
			}
			defer rc.Close()
			got, err := io.ReadAll(iotest.OneByteReader(rc))
			if err != nil {
				f.t.Fatalf("reading /f one byte at a time: %v", err)
			}
			if !bytes.Equal(got, small[3:]) {
				f.t.Errorf("Reader(/f, 3) read %s, want %s", describe(got), describe(small[3:]))
			}
		})
		s.leaf(t, "CloseEarly", func(f *fixture) {
			f.put("/f", content)
			rc, err := f.d.Reader(f.ctx, "/f", 0)
			if err != nil {
				f.t.Fatalf("Reader(/f, 0): %v", err)
			}
			head := make([]byte, 100)
			if _, err := io.ReadFull(rc, head); err != nil {
				f.t.Fatalf("reading 100 bytes: %v", err)
			}
			if err := rc.Close(); err != nil {
				f.t.Errorf("Close after a partial read: %v", err)
			}
			if !bytes.Equal(head, content[:100]) {
				f.t.Errorf("first 100 bytes = %s, want %s", describe(head), describe(content[:100]))
			}
			f.wantRead("/f", 100, content[100:])
		})
		s.leaf(t, "AfterOverwrite", func(f *fixture) {
			f.put("/f", content)
			f.puts("/f", "short")
			f.wantRead("/f", 2, []byte("ort"))
			f.wantInvalidOffset("/f", 6)
		})
	})

	t.Run("Large", func(t *testing.T) {
		s.heavyLeaf(t, "Stream64MiB", func(f *fixture) {
			const seed = 64
			want := patternSum(seed, 0, largeSize)
			w := f.writer("/big/blob", false)
			buf := make([]byte, 1<<20+4093)
			for off := int64(0); off < largeSize; {
				n := min(int64(len(buf)), largeSize-off)
				fillPattern(seed, off, buf[:n])
				if m, err := w.Write(buf[:n]); err != nil || int64(m) != n {
					f.t.Fatalf("Write at %d: %d, %v", off, m, err)
				}
				off += n
			}
			if w.Size() != largeSize {
				f.t.Errorf("Size() = %d, want %d", w.Size(), largeSize)
			}
			f.commit(w)
			f.wantFile("/big/blob", largeSize)
			f.wantSum("/big/blob", 0, largeSize, want)
			// Offsets inside the large file, one not aligned to anything.
			for _, off := range []int64{33<<20 + 7, largeSize - 1000} {
				f.wantSum("/big/blob", off, largeSize-off, patternSum(seed, off, largeSize-off))
			}
			f.wantRead("/big/blob", largeSize, nil)
			f.wantInvalidOffset("/big/blob", largeSize+1)
		})
	})
}

// closeIf closes rc when it is not nil.
func closeIf(rc io.ReadCloser) {
	if rc != nil {
		rc.Close()
	}
}

// wantRead fails the test unless Reader(p, off) streams exactly want.
func (f *fixture) wantRead(p string, off int64, want []byte) {
	f.t.Helper()
	rc, err := f.d.Reader(f.ctx, p, off)
	if err != nil {
		f.t.Errorf("Reader(%s, %d): %v", p, off, err)
		return
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		f.t.Errorf("reading Reader(%s, %d): %v", p, off, err)
		return
	}
	if !bytes.Equal(got, want) {
		f.t.Errorf("Reader(%s, %d) read %s, want %s", p, off, describe(got), describe(want))
	}
}

// wantSum fails the test unless Reader(p, off) streams n bytes whose sha256
// is want.
func (f *fixture) wantSum(p string, off, n int64, want [32]byte) {
	f.t.Helper()
	rc, err := f.d.Reader(f.ctx, p, off)
	if err != nil {
		f.t.Errorf("Reader(%s, %d): %v", p, off, err)
		return
	}
	defer rc.Close()
	sum, got, err := streamSum(rc)
	switch {
	case err != nil:
		f.t.Errorf("reading Reader(%s, %d): %v after %d bytes", p, off, err, got)
	case got != n:
		f.t.Errorf("Reader(%s, %d) read %d bytes, want %d", p, off, got, n)
	case sum != want:
		f.t.Errorf("Reader(%s, %d) read %d bytes with sha256 %x, want %x", p, off, got, sum, want)
	}
}

// wantInvalidOffset fails the test unless Reader(p, off) fails with an
// *InvalidOffsetError naming the driver, path and offset.
func (f *fixture) wantInvalidOffset(p string, off int64) {
	f.t.Helper()
	rc, err := f.d.Reader(f.ctx, p, off)
	closeIf(rc)
	ioe := wantErrAs[*driver.InvalidOffsetError](f.t, err, fmt.Sprintf("Reader(%s, %d)", p, off))
	if ioe != nil && (ioe.Offset != off || ioe.Path != p || ioe.DriverName != f.d.Name()) {
		f.t.Errorf("Reader(%s, %d): InvalidOffsetError{Path:%q Offset:%d DriverName:%q}, want {%q %d %q}",
			p, off, ioe.Path, ioe.Offset, ioe.DriverName, p, off, f.d.Name())
	}
}
