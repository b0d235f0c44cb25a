package conformance

import (
	"bytes"
	"fmt"
	"testing"
	"time"
	"unicode/utf8"
)

// clockSkew is how far a backend's clock may be from the test's.
const clockSkew = 5 * time.Minute

func (s *suite) testContent(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		cases := []struct {
			name    string
			content []byte
		}{
			{"Empty", []byte{}},
			{"OneByte", []byte{'x'}},
			{"Zeros", make([]byte, 1000)},
			{"AllByteValues", allBytes()},
			{"InvalidUTF8", []byte("\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xff\xfe")},
			{"OneMiB", pattern(1, 1<<20)},
			{"OneMiBPlusOne", pattern(2, 1<<20+1)},
		}
		for _, c := range cases {
			s.leaf(t, c.name, func(f *fixture) {
				if c.name == "InvalidUTF8" && utf8.Valid(c.content) {
					f.t.Fatal("test data is valid UTF-8")
				}
				f.put("/dir/file", c.content)
				f.wantContent("/dir/file", c.content)
				f.wantFile("/dir/file", int64(len(c.content)))
			})
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		cases := []struct{ name, first, second string }{
			{"LongerThenShorter", "a long first content", "short"},
			{"ShorterThenLonger", "short", "a long second content"},
			{"WithEmpty", "something", ""},
			{"FromEmpty", "", "something"},
			{"SameSize", "aaaa", "bbbb"},
		}
		for _, c := range cases {
			s.leaf(t, c.name, func(f *fixture) {
				f.puts("/f", c.first)
				f.puts("/f", c.second)
				f.wantString("/f", c.second)
				f.wantFile("/f", int64(len(c.second)))
				f.wantList("/", "/f")
			})
		}
	})

	t.Run("Isolation", func(t *testing.T) {
		s.leaf(t, "PutContentKeepsNoReference", func(f *fixture) {
			b := []byte("original")
			f.put("/f", b)
			copy(b, "mutated!")
			f.wantString("/f", "original")
		})
		s.leaf(t, "GetContentReturnsACopy", func(f *fixture) {
			f.puts("/f", "original")
			b := f.get("/f")
			copy(b, "mutated!")
			f.wantString("/f", "original")
		})
	})

	t.Run("Stat", func(t *testing.T) {
		s.leaf(t, "File", func(f *fixture) {
			f.puts("/a/f", "12345")
			f.wantFile("/a/f", 5)
		})
		s.leaf(t, "ImplicitDirectory", func(f *fixture) {
			f.puts("/a/f", "12345")
			fi := f.stat("/a")
			if !fi.IsDir() || fi.Path() != "/a" || fi.Size() != 0 {
				f.t.Errorf("Stat(/a) = {path=%q dir=%v size=%d}, want directory /a of size 0", fi.Path(), fi.IsDir(), fi.Size())
			}
		})
		s.leaf(t, "NestedDirectories", func(f *fixture) {
			f.puts("/a/b/c/d/f", "x")
			for _, p := range []string{"/a", "/a/b", "/a/b/c", "/a/b/c/d"} {
				f.wantDir(p)
			}
			f.wantFile("/a/b/c/d/f", 1)
		})
		s.leaf(t, "Missing", func(f *fixture) {
			f.puts("/a/f", "x")
			f.wantAbsent("/missing")
			f.wantAbsent("/a/missing")
			f.wantAbsent("/missing/deeper")
		})
		s.leaf(t, "UnderFile", func(f *fixture) {
			f.puts("/f", "x")
			f.wantAbsent("/f/x")
			f.wantAbsent("/f/x/y")
		})
		s.leaf(t, "PrefixIsNotADirectory", func(f *fixture) {
			f.puts("/a/bc/d", "x")
			f.puts("/a/b.txt", "x")
			f.puts("/a/b-c", "x")
			f.wantAbsent("/a/b")
			f.wantAbsent("/a/bc/d/e")
		})
		s.leaf(t, "PrefixIsNotAFile", func(f *fixture) {
			f.puts("/abc", "x")
			f.wantAbsent("/ab")
			f.wantAbsent("/a")
		})
		s.leaf(t, "ModTime", func(f *fixture) {
			start := time.Now()
			f.puts("/f", "x")
			fi := f.stat("/f")
			mt := fi.ModTime()
			switch {
			case mt.IsZero():
				f.t.Error("Stat(/f).ModTime() is zero")
			case mt.Before(start.Add(-clockSkew)):
				f.t.Errorf("Stat(/f).ModTime() = %v, before the write started at %v", mt, start)
			case mt.After(time.Now().Add(clockSkew)):
				f.t.Errorf("Stat(/f).ModTime() = %v, in the future", mt)
			}
		})
		s.leaf(t, "SizeAfterOverwrite", func(f *fixture) {
			f.puts("/f", "0123456789")
			f.puts("/f", "012")
			f.wantFile("/f", 3)
		})
	})

	t.Run("GetContent", func(t *testing.T) {
		s.leaf(t, "Missing", func(f *fixture) {
			_, err := f.d.GetContent(f.ctx, "/missing")
			wantNotFound(f.t, err, "GetContent(/missing)")
		})
		s.leaf(t, "Directory", func(f *fixture) {
			f.puts("/dir/f", "x")
			_, err := f.d.GetContent(f.ctx, "/dir")
			wantNotFound(f.t, err, "GetContent(/dir)")
		})
		s.leaf(t, "UnderFile", func(f *fixture) {
			f.puts("/f", "x")
			_, err := f.d.GetContent(f.ctx, "/f/x")
			wantNotFound(f.t, err, "GetContent(/f/x)")
		})
		s.leaf(t, "Prefix", func(f *fixture) {
			f.puts("/abc", "x")
			_, err := f.d.GetContent(f.ctx, "/ab")
			wantNotFound(f.t, err, "GetContent(/ab)")
		})
	})

	t.Run("PutContent", func(t *testing.T) {
		s.leaf(t, "CreatesParents", func(f *fixture) {
			f.puts("/p/q/r/f", "x")
			f.wantList("/", "/p")
			f.wantList("/p", "/p/q")
			f.wantList("/p/q", "/p/q/r")
			f.wantList("/p/q/r", "/p/q/r/f")
		})
		s.leaf(t, "ManyFiles", func(f *fixture) {
			var paths []string
			for i := 0; i < 60; i++ {
				paths = append(paths, fmt.Sprintf("/d%d/f%02d", i%3, i))
			}
			content := func(i int) []byte { return pattern(uint64(100+i), 100+i) }
			f.putMany(paths, content)
			for i, p := range paths {
				f.wantContent(p, content(i))
			}
			if n := len(f.list("/d1")); n != 20 {
				f.t.Errorf("List(/d1) has %d entries, want 20", n)
			}
		})
		s.leaf(t, "SiblingsUntouched", func(f *fixture) {
			f.puts("/d/a", "a")
			f.puts("/d/b", "b")
			f.puts("/d/a", "A")
			f.wantString("/d/b", "b")
			f.wantString("/d/a", "A")
		})
	})
}

// allBytes returns every byte value, twice, in two orders.
func allBytes() []byte {
	var b bytes.Buffer
	for i := 0; i < 256; i++ {
		b.WriteByte(byte(i))
	}
	for i := 255; i >= 0; i-- {
		b.WriteByte(byte(i))
	}
	return b.Bytes()
}
