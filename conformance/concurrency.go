package conformance

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
)

// raceRounds is how many times each race below is run; localRaceRounds
// for a backend without HTTP, where a round is cheap and the race window
// narrow.
const (
	raceRounds      = 40
	localRaceRounds = 200
)

// rounds returns how many times to run a race.
func (f *fixture) rounds() int {
	if f.s.h.Caps.HTTP {
		return raceRounds
	}
	return localRaceRounds
}

func (s *suite) testConcurrency(t *testing.T) {
	s.leaf(t, "ReadersAndWritersSamePath", func(f *fixture) { f.checkReadersAndWriters() })
	s.leaf(t, "PutContentSamePath", func(f *fixture) {
		a := bytes.Repeat([]byte("a"), 64<<10)
		b := bytes.Repeat([]byte("b"), 96<<10)
		for round := 0; round < raceRounds/4; round++ {
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, c := range [][]byte{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if err := f.d.PutContent(f.ctx, "/f", c); err != nil {
						f.t.Errorf("PutContent(/f): %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if got := f.get("/f"); !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				f.t.Fatalf("round %d: two racing PutContent left %s, want one of them whole", round, describe(got))
			}
		}
	})
	s.leaf(t, "PutContentDifferentPaths", func(f *fixture) {
		var paths []string
		for i := 0; i < 200; i++ {
			paths = append(paths, fmt.Sprintf("/c%d/f%03d", i%4, i))
		}
		content := func(i int) []byte { return pattern(uint64(i), 50+i) }
		f.putMany(paths, content)
		for i, p := range paths {
			f.wantContent(p, content(i))
		}
		f.wantList("/", "/c0", "/c1", "/c2", "/c3")
		if n := len(f.list("/c2")); n != 50 {
			f.t.Errorf("List(/c2) has %d entries, want 50", n)
		}
	})
	s.leaf(t, "MovesIntoOneDirectory", func(f *fixture) {
		src := numbered("/src", "f", 40)
		f.putMany(src, func(i int) []byte { return []byte(src[i]) })
		var wg sync.WaitGroup
		for i, p := range src {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.d.Move(f.ctx, p, fmt.Sprintf("/dst/sub%d/f%02d", i%2, i)); err != nil {
					f.t.Errorf("Move(%s): %v", p, err)
				}
			}()
		}
		wg.Wait()
		for i, p := range src {
			f.wantString(fmt.Sprintf("/dst/sub%d/f%02d", i%2, i), p)
		}
		f.wantAbsent("/src")
		f.wantList("/", "/dst")
	})
	s.leaf(t, "TwoDriversSameRoot", func(f *fixture) {
		d2 := f.s.h.New(f.t, f.env)
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, p := f.d, fmt.Sprintf("/d/one%02d", i)
				if i%2 == 1 {
					d, p = d2, fmt.Sprintf("/d/two%02d", i)
				}
				if err := d.PutContent(f.ctx, p, []byte(p)); err != nil {
					f.t.Errorf("PutContent(%s): %v", p, err)
				}
			}()
		}
		wg.Wait()
		one, err := d2.List(f.ctx, "/d")
		if err != nil {
			f.t.Fatalf("second driver: List(/d): %v", err)
		}
		if two := f.list("/d"); len(one) != 20 || len(two) != 20 {
			f.t.Errorf("the drivers list %d and %d files, want 20 each", len(one), len(two))
		}
	})

	t.Run("DeleteFilesVsWriter", func(t *testing.T) {
		cases := []struct {
			name             string
			deleted, written string
			keep             string // a file that keeps the directory alive, if any
			useWriter        bool
		}{
			{name: "SiblingKeepsDirectory", deleted: "/d/A", written: "/d/C", keep: "/d/B"},
			{name: "SameDirectory", deleted: "/d/A", written: "/d/C"},
			{name: "SameNestedDirectory", deleted: "/d/e/A", written: "/d/e/C"},
			{name: "SiblingDirectory", deleted: "/d/e/A", written: "/d/f/C"},
			{name: "WriterCommit", deleted: "/d/e/A", written: "/d/e/C", useWriter: true},
		}
		for _, c := range cases {
			s.leaf(t, c.name, func(f *fixture) {
				for round := 0; round < f.rounds(); round++ {
					f.puts(c.deleted, "A")
					if c.keep != "" {
						f.puts(c.keep, "B")
					}
					var wg sync.WaitGroup
					start := make(chan struct{})
					wg.Add(2)
					go func() {
						defer wg.Done()
						<-start
						if n, err := f.d.DeleteFiles(f.ctx, []string{c.deleted}); err != nil || n != 1 {
							f.t.Errorf("DeleteFiles([%s]) = %d, %v", c.deleted, n, err)
						}
					}()
					go func() {
						defer wg.Done()
						<-start
						if err := f.create(c.written, "C", c.useWriter); err != nil {
							f.t.Errorf("creating %s: %v", c.written, err)
						}
					}()
					close(start)
					wg.Wait()
					if _, err := f.d.Stat(f.ctx, c.written); err != nil {
						f.t.Fatalf("round %d: %s written while DeleteFiles pruned its directory is lost: %v", round, c.written, err)
					}
					f.wantString(c.written, "C")
					f.wantAbsent(c.deleted)
					rest := []string{c.written}
					if c.keep != "" {
						rest = append(rest, c.keep)
					}
					f.wantDeleteFiles(rest, len(rest))
					f.wantAbsent("/d")
				}
			})
		}
	})
}

// create writes content to p with PutContent or a Writer.
func (f *fixture) create(p, content string, useWriter bool) error {
	if !useWriter {
		return f.d.PutContent(f.ctx, p, []byte(content))
	}
	w, err := f.d.Writer(f.ctx, p, false)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, content); err != nil {
		return err
	}
	if err := w.Commit(f.ctx); err != nil {
		return err
	}
	return w.Close()
}

// checkReadersAndWriters overwrites one path again and again, with
// PutContent and with Writer, while readers check that they always see one
// version whole.
func (f *fixture) checkReadersAndWriters() {
	const p = "/shared/f"
	versions := [][]byte{
		bytes.Repeat([]byte("a"), 48<<10),
		bytes.Repeat([]byte("b"), 80<<10),
		bytes.Repeat([]byte("c"), 7),
	}
	f.put(p, versions[0])
	whole := func(got []byte) bool {
		for _, v := range versions {
			if bytes.Equal(got, v) {
				return true
			}
		}
		return false
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := 0; i < raceRounds; i++ {
			v := versions[i%len(versions)]
			if err := f.create(p, string(v), i%2 == 1); err != nil {
				f.t.Errorf("writing version %d: %v", i, err)
				return
			}
		}
	}()
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reads := 0; ; reads++ {
				select {
				case <-done:
					if reads > 0 {
						return
					}
				default:
				}
				var (
					got []byte
					err error
				)
				if (reads+r)%2 == 0 {
					got, err = f.d.GetContent(f.ctx, p)
				} else {
					var rc io.ReadCloser
					if rc, err = f.d.Reader(f.ctx, p, 0); err == nil {
						got, err = io.ReadAll(rc)
						rc.Close()
					}
				}
				if err != nil {
					f.t.Errorf("reader %d: reading %s while it is overwritten: %v", r, p, err)
					return
				}
				if !whole(got) {
					f.t.Errorf("reader %d: read %s, want one version whole", r, describe(got))
					return
				}
			}
		}()
	}
	wg.Wait()
}
