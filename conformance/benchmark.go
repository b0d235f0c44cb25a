package conformance

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/transport"
)

// BenchLatencyEnv names the environment variable that makes Benchmark add
// a simulated round trip (a Go duration, e.g. "48ms") to every request an
// HTTP backend sends through Env.HTTPClient.
const BenchLatencyEnv = "STOWAGE_BENCH_LATENCY"

// benchSizes are the content sizes of the PutContent and GetContent
// benchmarks.
var benchSizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

// Benchmark measures the backend h describes, as sub-benchmarks of b:
//
//   - PutContent/{1KiB,1MiB,64MiB} and GetContent/{1KiB,1MiB,64MiB}
//     (throughput through b.SetBytes);
//   - Writer/64MiB (a stream in 1 MiB writes, committed) and Reader/64MiB;
//   - List/1000 (a directory of 1,000 files);
//   - Walk/registry (a registry tree of 100 manifests, 5 tags and 2 layers
//     each);
//   - Delete/<M>x<T>/{OneByOne,DeleteFiles} for every cell of
//     layout.DefaultDeleteMatrix over a registry tree (see layout.Generate): one
//     path at a time as distribution's garbage collector does
//     (layout.Tree.DeleteOneByOne), and with one DeleteFiles call. One op
//     deletes the M + M·T paths of one tree; small cells keep several trees
//     (under /c0000, /c0001, ...) so that one untimed write puts back about
//     2,100 paths.
//
// Every benchmark reports files/op where it touches several files and,
// when h.Caps.HTTP is set, requests/op counted through Env.Requests.
// Writing the files a benchmark reads or deletes is never timed. Each run
// gets a fresh Env, as in Run, and leaves its root empty. Set
// STOWAGE_BENCH_LATENCY (see BenchLatencyEnv) to simulate a distant server.
func Benchmark(b *testing.B, h Harness) {
	if h.New == nil {
		b.Fatal("conformance: Harness.New is nil")
	}
	for _, s := range benchSizes {
		b.Run("PutContent/"+s.name, func(b *testing.B) { benchPut(b, h, s.size) })
	}
	for _, s := range benchSizes {
		b.Run("GetContent/"+s.name, func(b *testing.B) { benchGet(b, h, s.size) })
	}
	b.Run("Writer/64MiB", func(b *testing.B) { benchWriter(b, h, 64<<20, 1<<20) })
	b.Run("Reader/64MiB", func(b *testing.B) { benchReader(b, h, 64<<20) })
	b.Run("List/1000", func(b *testing.B) { benchList(b, h, 1000) })
	b.Run("Walk/registry", func(b *testing.B) {
		benchWalk(b, h, layout.Spec{Manifests: 100, Tags: 5, LayersPerManifest: 2, Seed: 1})
	})
	for _, c := range layout.DefaultDeleteMatrix {
		b.Run("Delete/"+c.String()+"/OneByOne", func(b *testing.B) { benchDelete(b, h, c, false) })
		b.Run("Delete/"+c.String()+"/DeleteFiles", func(b *testing.B) { benchDelete(b, h, c, true) })
	}
}

// benchFixture is what one benchmark run works with.
type benchFixture struct {
	b    *testing.B
	h    Harness
	env  Env
	d    driver.StorageDriver
	ctx  context.Context
	reqs int // requests counted in timed sections
}

// benchSetup builds a fresh Env and driver and registers the cleanup that
// empties the root after the run.
func benchSetup(b *testing.B, h Harness) *benchFixture {
	b.Helper()
	env := newEnv(b)
	if v := os.Getenv(BenchLatencyEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("conformance: %s=%q: %v", BenchLatencyEnv, v, err)
		}
		env.Requests.Base = &transport.Latency{Delay: d}
	}
	d := h.New(b, env)
	if d == nil {
		b.Fatalf("conformance: %s: Harness.New returned nil", h.Name)
	}
	if h.Caps == (Capabilities{}) {
		h.Caps = driver.CapabilitiesOf(d)
	}
	f := &benchFixture{b: b, h: h, env: env, d: d, ctx: b.Context()}
	b.Cleanup(func() { benchClean(b, d) })
	return f
}

// benchClean deletes everything under "/".
func benchClean(b *testing.B, d driver.StorageDriver) {
	// b.Context is already cancelled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	top, err := d.List(ctx, "/")
	if err != nil && !driver.IsNotFound(err) {
		b.Errorf("cleanup: List(/): %v", err)
		return
	}
	for _, p := range top {
		if err := d.Delete(ctx, p); err != nil && !driver.IsNotFound(err) {
			b.Errorf("cleanup: Delete(%s): %v", p, err)
		}
	}
}

// loop runs fn b.N times as the timed part of the benchmark and counts
// the requests it sends.
func (f *benchFixture) loop(fn func()) {
	f.b.ResetTimer()
	before := f.env.Requests.Total()
	for i := 0; i < f.b.N; i++ {
		fn()
	}
	f.b.StopTimer()
	f.reqs += f.env.Requests.Total() - before
}

// timed runs fn as a timed section of a benchmark whose timer is stopped
// outside such sections, and counts the requests it sends.
func (f *benchFixture) timed(fn func()) {
	before := f.env.Requests.Total()
	f.b.StartTimer()
	fn()
	f.b.StopTimer()
	f.reqs += f.env.Requests.Total() - before
}

// report reports the per-op metrics.
func (f *benchFixture) report(filesPerOp int) {
	if filesPerOp > 0 {
		f.b.ReportMetric(float64(filesPerOp), "files/op")
	}
	if f.h.Caps.HTTP && f.b.N > 0 {
		f.b.ReportMetric(float64(f.reqs)/float64(f.b.N), "requests/op")
	}
}

// write writes files untimed, failing the benchmark on error.
func (f *benchFixture) write(files []layout.File) {
	f.b.Helper()
	if err := layout.WriteFiles(f.ctx, f.d, files, 16, nil); err != nil {
		f.b.Fatalf("setup: %v", err)
	}
}

func benchPut(b *testing.B, h Harness, size int) {
	f := benchSetup(b, h)
	content := pattern(uint64(size), size)
	b.SetBytes(int64(size))
	f.loop(func() {
		if err := f.d.PutContent(f.ctx, "/bench/put", content); err != nil {
			b.Fatalf("PutContent: %v", err)
		}
	})
	f.report(0)
}

func benchGet(b *testing.B, h Harness, size int) {
	f := benchSetup(b, h)
	f.write([]layout.File{{Path: "/bench/get", Content: pattern(uint64(size), size)}})
	b.SetBytes(int64(size))
	f.loop(func() {
		got, err := f.d.GetContent(f.ctx, "/bench/get")
		if err != nil || len(got) != size {
			b.Fatalf("GetContent: %d bytes, %v; want %d bytes", len(got), err, size)
		}
	})
	f.report(0)
}

func benchWriter(b *testing.B, h Harness, size, chunk int) {
	f := benchSetup(b, h)
	buf := pattern(uint64(chunk), chunk)
	b.SetBytes(int64(size))
	f.loop(func() {
		w, err := f.d.Writer(f.ctx, "/bench/stream", false)
		if err != nil {
			b.Fatalf("Writer: %v", err)
		}
		for n := 0; n < size; n += chunk {
			if _, err := w.Write(buf[:min(chunk, size-n)]); err != nil {
				b.Fatalf("Write: %v", err)
			}
		}
		if err := w.Commit(f.ctx); err != nil {
			b.Fatalf("Commit: %v", err)
		}
		if err := w.Close(); err != nil {
			b.Fatalf("Close: %v", err)
		}
	})
	f.report(0)
}

// onlyWriter and onlyReader hide io.ReaderFrom and io.WriterTo, so that
// reading a stream really copies its bytes.
type (
	onlyWriter struct{ io.Writer }
	onlyReader struct{ io.Reader }
)

func benchReader(b *testing.B, h Harness, size int) {
	f := benchSetup(b, h)
	f.write([]layout.File{{Path: "/bench/stream", Content: pattern(uint64(size), size)}})
	b.SetBytes(int64(size))
	buf := make([]byte, 1<<20)
	f.loop(func() {
		r, err := f.d.Reader(f.ctx, "/bench/stream", 0)
		if err != nil {
			b.Fatalf("Reader: %v", err)
		}
		n, err := io.CopyBuffer(onlyWriter{io.Discard}, onlyReader{r}, buf)
		r.Close()
		if err != nil || n != int64(size) {
			b.Fatalf("read %d bytes, %v; want %d", n, err, size)
		}
	})
	f.report(0)
}

func benchList(b *testing.B, h Harness, n int) {
	f := benchSetup(b, h)
	files := make([]layout.File, n)
	for i, p := range numbered("/bench/list", "f", n) {
		files[i] = layout.File{Path: p, Content: []byte(p)}
	}
	f.write(files)
	f.loop(func() {
		got, err := f.d.List(f.ctx, "/bench/list")
		if err != nil || len(got) != n {
			b.Fatalf("List: %d entries, %v; want %d", len(got), err, n)
		}
	})
	f.report(n)
}

func benchWalk(b *testing.B, h Harness, l layout.Spec) {
	f := benchSetup(b, h)
	tree, err := layout.Generate(l)
	if err != nil {
		b.Fatal(err)
	}
	f.write(tree.Files)
	want := len(treeOf("/", tree.Paths()))
	f.loop(func() {
		n := 0
		err := f.d.Walk(f.ctx, "/", func(driver.FileInfo) error { n++; return nil })
		if err != nil || n != want {
			b.Fatalf("Walk: %d entries, %v; want %d", n, err, want)
		}
	})
	f.report(want)
}

// deleteRound is about how many files one untimed write of a delete
// benchmark puts back: small cells delete several copies of their tree per
// timed section, so that stopping the timer (which reads memory
// statistics) stays rare.
const deleteRound = 2100

func benchDelete(b *testing.B, h Harness, c layout.DeleteCell, batched bool) {
	f := benchSetup(b, h)
	copies := min(b.N, max(1, deleteRound/c.Files()))
	trees := make([]*layout.Tree, copies)
	var all, gc []layout.File
	for i := range trees {
		t, err := layout.Generate(layout.Spec{
			Prefix:    fmt.Sprintf("/c%04d", i),
			Manifests: c.Manifests,
			Tags:      c.Tags,
			Seed:      uint64(i),
		})
		if err != nil {
			b.Fatal(err)
		}
		trees[i] = t
		all = append(all, t.Files...)
		gc = append(gc, t.GCFiles()...)
	}
	f.write(all)
	want := c.Files()
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i += copies {
		k := min(copies, b.N-i)
		if i > 0 {
			f.write(gc[:k*want])
		}
		f.timed(func() {
			for _, t := range trees[:k] {
				var n int
				var err error
				if batched {
					n, err = t.DeleteBatched(f.ctx, f.d)
				} else {
					n, err = t.DeleteOneByOne(f.ctx, f.d, nil)
				}
				if err != nil || n != want {
					b.Fatalf("deleted %d of %d paths: %v", n, want, err)
				}
			}
		})
	}
	f.report(want)
}
