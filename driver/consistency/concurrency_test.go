package consistency_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/driver/consistency"
)

// TestConcurrentUse has many goroutines write, overwrite, move and delete
// (each in a subtree of its own, where it knows exactly what must be
// there, plus files of its own in one shared directory) while others list
// and walk, all through one wrapper over a lagging simulator. Run it with
// -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	eo := conformance.EventualOptions{
		Seed: 7, CreateLag: 2 * time.Second, OverwriteLag: 2 * time.Second,
		DeleteLag: 2 * time.Second, ListLag: 2 * time.Second, Jitter: 1,
	}
	// Polls from many goroutines move the manual clock fast: the window
	// must outlast the whole test, or records expire and the writers'
	// models stop being exact (see TestRecordsExpire).
	s := newStack(t, eo, consistency.Options{Window: 24 * time.Hour})
	const (
		writers = 12
		rounds  = 60
		listers = 4
	)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runWriter(t, s, g, rounds)
		}()
	}
	stop := make(chan struct{})
	var lw sync.WaitGroup
	for range listers {
		lw.Add(1)
		go func() {
			defer lw.Done()
			runLister(t, s, stop)
		}()
	}
	wg.Wait()
	close(stop)
	lw.Wait()
	if t.Failed() {
		return
	}
	shared := listOf(t, s.d, "/shared")
	if len(shared) != writers*rounds {
		t.Errorf("List(/shared) has %d files, want %d", len(shared), writers*rounds)
	}
	s.sameView("after concurrent use")
	if n := consistency.Locks(s.d); n != 0 {
		t.Errorf("%d path locks left behind", n)
	}
}

// runWriter changes its own subtree at random and checks after each change
// that the wrapper shows exactly what it did.
func runWriter(t *testing.T, s *stack, g, rounds int) {
	rng := rand.New(rand.NewPCG(uint64(g), 1))
	own := fmt.Sprintf("/own/g%02d", g)
	model := map[string]string{} // path -> content, for the files of own
	file := func() string {
		return fmt.Sprintf("%s/%s/%s", own, dirNames[rng.IntN(len(dirNames))], fileNames[rng.IntN(len(fileNames))])
	}
	var log []string
	defer func() {
		if t.Failed() {
			t.Logf("writer %d did:\n%s", g, strings.Join(log, "\n"))
		}
	}()
	for i := range rounds {
		var err error
		switch rng.IntN(6) {
		case 0, 1, 2:
			p, c := file(), fmt.Sprintf("g%d-%d", g, i)
			if err = s.d.PutContent(s.ctx, p, []byte(c)); err == nil {
				model[p] = c
			}
			log = append(log, fmt.Sprintf("%d: PutContent(%s, %s) = %v", i, p, c, err))
		case 3:
			p := file()
			if _, err = s.d.DeleteFiles(s.ctx, []string{p}); err == nil {
				delete(model, p)
			}
			log = append(log, fmt.Sprintf("%d: DeleteFiles(%s) = %v", i, p, err))
		case 4:
			dir := fmt.Sprintf("%s/%s", own, dirNames[rng.IntN(len(dirNames))])
			err = s.d.Delete(s.ctx, dir)
			log = append(log, fmt.Sprintf("%d: Delete(%s) = %v", i, dir, err))
			if driver.IsNotFound(err) {
				err = nil
			}
			for p := range model {
				if driver.IsUnder(p, dir) {
					delete(model, p)
				}
			}
		case 5:
			src, dst := file(), file()
			c, ok := model[src]
			err = s.d.Move(s.ctx, src, dst)
			log = append(log, fmt.Sprintf("%d: Move(%s, %s) = %v", i, src, dst, err))
			switch {
			case !ok && driver.IsNotFound(err):
				err = nil
			case ok && err == nil && src != dst:
				delete(model, src)
				model[dst] = c
			}
		}
		if err != nil {
			t.Errorf("writer %d, round %d: %v", g, i, err)
			return
		}
		// Read back every file of the subtree, present or not.
		for _, d := range dirNames {
			for _, f := range fileNames {
				p := fmt.Sprintf("%s/%s/%s", own, d, f)
				want, ok := model[p]
				b, err := s.d.GetContent(s.ctx, p)
				switch {
				case ok && (err != nil || string(b) != want):
					t.Errorf("writer %d, round %d: GetContent(%s) = %q, %v; want %q", g, i, p, b, err, want)
				case !ok && !driver.IsNotFound(err):
					t.Errorf("writer %d, round %d: GetContent(%s) = %q, %v; want PathNotFoundError", g, i, p, b, err)
				}
			}
		}
		n := 0
		if err := s.d.Walk(s.ctx, own, func(fi driver.FileInfo) error {
			if !fi.IsDir() {
				n++
			}
			return nil
		}); err != nil && !driver.IsNotFound(err) {
			t.Errorf("writer %d: Walk(%s): %v", g, own, err)
		}
		if n != len(model) {
			t.Errorf("writer %d, round %d: Walk(%s) visits %d files, want %d", g, i, own, n, len(model))
		}
		if err := s.d.PutContent(s.ctx, fmt.Sprintf("/shared/g%02d-%03d", g, i), []byte("s")); err != nil {
			t.Errorf("writer %d: %v", g, err)
		}
	}
}

// runLister lists and walks until stop is closed, checking that walks
// come in walk order.
func runLister(t *testing.T, s *stack, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if _, err := s.d.List(s.ctx, "/shared"); err != nil && !driver.IsNotFound(err) {
			t.Errorf("List(/shared): %v", err)
		}
		last := ""
		if err := s.d.Walk(s.ctx, "/", func(fi driver.FileInfo) error {
			key := driver.WalkKey(fi.Path(), fi.IsDir())
			if key <= last {
				return fmt.Errorf("walk order: %s after %s", key, last)
			}
			last = key
			return nil
		}); err != nil && !driver.IsNotFound(err) {
			t.Errorf("Walk(/): %v", err)
		}
		if _, err := s.d.Stat(s.ctx, "/own"); err != nil && !driver.IsNotFound(err) {
			t.Errorf("Stat(/own): %v", err)
		}
	}
}
