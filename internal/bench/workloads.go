package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/layout"
)

// runner carries one Run.
type runner struct {
	cfg     Config
	log     *slog.Logger
	written *pathSet
}

func (r *runner) requests() int {
	if r.cfg.Requests == nil {
		return 0
	}
	return r.cfg.Requests()
}

// measure times fn and counts the requests it sends.
func (r *runner) measure(fn func() error) (sample, error) {
	before := r.requests()
	start := time.Now()
	err := fn()
	return sample{d: time.Since(start), requests: r.requests() - before, counted: r.cfg.Requests != nil}, err
}

// write records files as written, then writes them concurrently.
func (r *runner) write(ctx context.Context, files []layout.File) error {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	r.written.add(paths...)
	last := 0
	return layout.WriteFiles(ctx, r.cfg.Driver, files, r.cfg.Concurrency, func(done int) {
		// WriteFiles calls this under its own lock, with done increasing.
		r.cfg.Progress.Add(int64(done - last))
		last = done
	})
}

// remove deletes paths the run wrote, untimed, and forgets them.
func (r *runner) remove(ctx context.Context, paths []string) error {
	if _, err := r.cfg.Driver.DeleteFiles(ctx, paths); err != nil {
		return fmt.Errorf("bench: removing %d files: %w", len(paths), err)
	}
	r.written.remove(paths...)
	r.cfg.Progress.Add(int64(len(paths)))
	return nil
}

// plannedWork is the number of files all workloads touch, for Progress.
func (r *runner) plannedWork() int64 {
	var n int64
	for _, w := range r.cfg.Workloads {
		switch w {
		case WorkloadDelete:
			for _, c := range r.cfg.Matrix {
				all := c.Manifests*(2+2*deleteLayers) + c.Manifests*c.Tags
				n += int64(2*all + 3*c.Files()) // write, remove; one-by-one, rewrite, DeleteFiles
			}
		case WorkloadWalk:
			l := r.cfg.Walk
			files := l.Manifests*(1+l.Tags+2*l.LayersPerManifest) + l.Manifests
			n += int64(3 * files) // write, walk, remove
		case WorkloadThroughput:
			for _, s := range r.cfg.Sizes {
				n += int64(3 * s.Count) // put, get, remove
			}
		case WorkloadGC:
			n += int64(3 * r.cfg.GC.Files()) // write, mark and sweep, remove
		}
	}
	return n * int64(r.cfg.Runs)
}

// deleteLayers is the number of layers per manifest in a delete cell's
// tree: they are not deleted, but make the tree registry-shaped.
const deleteLayers = 1

type deleteSample struct {
	oneByOne, batched sample
}

// deleteCell measures one cell: the tree is written, its GC paths deleted
// one at a time, written again and deleted with DeleteFiles; then the rest
// of the tree is removed.
func (r *runner) deleteCell(ctx context.Context, run int, c layout.DeleteCell) (deleteSample, error) {
	d, p := r.cfg.Driver, r.cfg.Progress
	tree, err := layout.Generate(layout.Spec{
		Prefix:            fmt.Sprintf("%s/delete-%s", r.cfg.Prefix, c),
		Manifests:         c.Manifests,
		Tags:              c.Tags,
		LayersPerManifest: deleteLayers,
		Seed:              uint64(run),
	})
	if err != nil {
		return deleteSample{}, err
	}
	want := c.Files()
	var out deleteSample

	p.SetStage(c.String() + " setup")
	if err := r.write(ctx, tree.Files); err != nil {
		return out, fmt.Errorf("bench: cell %s: %w", c, err)
	}

	p.SetStage(c.String() + " one-by-one")
	last := 0
	out.oneByOne, err = r.measure(func() error {
		n, err := tree.DeleteOneByOne(ctx, d, func(done int) { p.Add(int64(done - last)); last = done })
		if err == nil && n != want {
			err = fmt.Errorf("deleted %d paths, want %d", n, want)
		}
		return err
	})
	if err != nil {
		return out, fmt.Errorf("bench: cell %s, one path at a time: %w", c, err)
	}
	r.log.Debug("deleted one by one", "cell", c.String(), "files", want, "time", out.oneByOne.d, "requests", out.oneByOne.requests)

	p.SetStage(c.String() + " setup")
	if err := r.write(ctx, tree.GCFiles()); err != nil {
		return out, fmt.Errorf("bench: cell %s: %w", c, err)
	}

	p.SetStage(c.String() + " DeleteFiles")
	out.batched, err = r.measure(func() error {
		n, err := tree.DeleteBatched(ctx, d)
		if err == nil && n != want {
			err = fmt.Errorf("DeleteFiles deleted %d paths, want %d", n, want)
		}
		return err
	})
	if err != nil {
		return out, fmt.Errorf("bench: cell %s, DeleteFiles: %w", c, err)
	}
	p.Add(int64(want))
	r.log.Debug("deleted with DeleteFiles", "cell", c.String(), "files", want, "time", out.batched.d, "requests", out.batched.requests)

	p.SetStage(c.String() + " cleanup")
	return out, r.remove(ctx, tree.Paths())
}

type walkSample struct {
	sample
	files, entries int
}

// walk measures a Walk of a registry tree.
func (r *runner) walk(ctx context.Context, run int) (walkSample, error) {
	l := r.cfg.Walk
	l.Prefix = r.cfg.Prefix + "/walk"
	l.Seed = uint64(run)
	tree, err := layout.Generate(l)
	if err != nil {
		return walkSample{}, err
	}
	p := r.cfg.Progress
	p.SetStage("walk setup")
	if err := r.write(ctx, tree.Files); err != nil {
		return walkSample{}, fmt.Errorf("bench: walk: %w", err)
	}
	p.SetStage("walk")
	out := walkSample{files: len(tree.Files)}
	files := 0
	out.sample, err = r.measure(func() error {
		return r.cfg.Driver.Walk(ctx, l.Prefix, func(fi driver.FileInfo) error {
			out.entries++
			if !fi.IsDir() {
				files++
				p.Add(1)
			}
			return nil
		})
	})
	if err == nil && files != len(tree.Files) {
		err = fmt.Errorf("visited %d files, want %d", files, len(tree.Files))
	}
	if err != nil {
		return out, fmt.Errorf("bench: walk: %w", err)
	}
	p.SetStage("walk cleanup")
	return out, r.remove(ctx, tree.Paths())
}

// throughput measures Count sequential PutContent calls of Bytes each, then
// as many GetContent calls.
func (r *runner) throughput(ctx context.Context, run, i int, s Size) (put, get sample, err error) {
	d, p := r.cfg.Driver, r.cfg.Progress
	name := FormatBytes(s.Bytes)
	content := make([]byte, s.Bytes)
	var seed [32]byte
	seed[0], seed[1] = byte(run), byte(i)
	_, _ = rand.NewChaCha8(seed).Read(content)
	paths := make([]string, s.Count)
	for j := range paths {
		paths[j] = fmt.Sprintf("%s/throughput/%s/f%05d", r.cfg.Prefix, name, j)
	}
	r.written.add(paths...)

	p.SetStage("put " + name)
	put, err = r.measure(func() error {
		for _, path := range paths {
			if err := d.PutContent(ctx, path, content); err != nil {
				return err
			}
			p.Add(1)
		}
		return nil
	})
	if err != nil {
		return put, get, fmt.Errorf("bench: put %s: %w", name, err)
	}

	p.SetStage("get " + name)
	get, err = r.measure(func() error {
		for _, path := range paths {
			b, err := d.GetContent(ctx, path)
			if err != nil {
				return err
			}
			if int64(len(b)) != s.Bytes {
				return fmt.Errorf("%s: got %d bytes, want %d", path, len(b), s.Bytes)
			}
			p.Add(1)
		}
		return nil
	})
	if err != nil {
		return put, get, fmt.Errorf("bench: get %s: %w", name, err)
	}
	p.SetStage("cleanup " + name)
	return put, get, r.remove(ctx, paths)
}
