package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/instrument"
	"github.com/stowage-dev/stowage/internal/bench"
	"github.com/stowage-dev/stowage/internal/localstore"
	"github.com/stowage-dev/stowage/internal/progress"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/transport"
)

// localBackends send no HTTP requests: --latency is refused for them and
// their requests columns stay empty.
var localBackends = map[string]bool{"filesystem": true, "inmemory": true}

// localS3 is the default backend of stowage bench: the real s3 backend
// against an S3 server served in process on loopback (internal/localstore),
// with localS3Latency injected before every request unless --latency says
// otherwise. It needs no external server, and its requests are counted.
const localS3 = "local-s3"

// localS3Latency is the round trip injected by default on local-s3: a
// short one, as to an object store in the same zone (real S3 took about
// 100ms a request in the reference measurement of docs/BENCHMARKS.md), so
// the speedups shown are conservative. Each request through the real s3
// backend and the in-process server costs about 2ms more on two cores
// (SDK, server, wake-ups); with it the default run, whose 100x20 cell
// alone sends 6,200 requests one after another, ends within a minute.
const localS3Latency = 2 * time.Millisecond

// benchOptions are the flags of stowage bench.
type benchOptions struct {
	storeFlags
	workloads []string
	matrix    []layout.DeleteCell
	walk      layout.Spec
	sizes     []bench.Size
	gc        bench.GCShape
	runs      int
	prefix    string
	csv       bool
	metrics   bool
	// ticks, when set, clocks the progress lines (tests).
	ticks <-chan time.Time
}

const benchUsage = `Usage: stowage bench [flags]

Measures a backend: the delete matrix of a registry garbage collection (M
manifests with T tags each: M revision links and M*T tag index links, deleted
one path at a time as distribution's GC does, then with one DeleteFiles call),
a Walk of a registry tree, and sequential PutContent/GetContent throughput;
and, only when named (--workloads gc), a garbage collection: gc.Mark and
gc.Sweep of a registry of R repositories x M manifests x T tags x L layers
(--gc-shape) half of whose manifests are garbage, with their requests against
the expected ceil(keys/page) + manifests and ceil(links/B) + ceil(blobs/B),
checking that exactly the garbage was deleted.

It writes only under a fresh prefix (default /stowage-bench-<random>), refuses
one that already holds data, and deletes exactly the files it wrote, also on
Ctrl-C (a second Ctrl-C stops at once). The filesystem default runs in a
temporary directory that is removed afterwards.

The default backend, local-s3, is the real s3 backend against an S3 server
served in process on 127.0.0.1 (gofakes3, in memory, gone when the run ends)
with a 2ms round trip injected before every request (--latency overrides it),
so a run needs no external server and shows real request counts. Any other
backend comes from --backend (filesystem, s3, gcs, azure, swift, inmemory), from
the storage section of a distribution-style config (--config), or both; --param
overrides the config. Requests are counted through the *http.Client handed to
the backend as the "httpclient" parameter; local backends show "-".

The table goes to stdout (or JSON/CSV with --json/--csv); logs and the
progress bar go to stderr. The progress bar appears after 2s when stderr is a
terminal (--progress auto), always (--progress always, redrawn in place with
\r), or never; when stderr is no terminal (--progress auto or lines), a
progress line is printed after 1s and then every 3s.

Flags:
`

func parseBenchFlags(args []string, output io.Writer) (*benchOptions, error) {
	o := &benchOptions{}
	fs := newFlagSet("stowage bench", benchUsage, output)
	var matrix, workloads, walk, sizes, gcShape string
	o.register(fs, localS3, 16, "parallel writes when setting up (measured operations run one at a time)")
	fs.StringVar(&workloads, "workloads", "all", "comma-separated `list` of workloads: delete, walk, throughput, gc, or all (delete, walk and throughput)")
	fs.StringVar(&workloads, "workload", "all", "the same as --workloads")
	fs.StringVar(&matrix, "matrix", "1x0,1x1,10x0,10x1,100x0,100x1,100x20", "delete matrix `cells` MxT (M manifests with T tags each)")
	fs.StringVar(&walk, "walk", "100x5", "registry `tree` MxT walked by the walk workload (2 layers per manifest)")
	fs.StringVar(&sizes, "sizes", "1KiB:200,1MiB:20,64MiB:2", "throughput cases `SIZE:COUNT`, comma-separated")
	fs.StringVar(&gcShape, "gc-shape", bench.DefaultGCShape.String(), "registry `RxMxTxL` of the gc workload: repositories x manifests x tags x layers")
	fs.IntVar(&o.runs, "runs", 1, "measure everything `n` times and report the median and range")
	fs.StringVar(&o.prefix, "prefix", "", "write under this `path` instead of a fresh /stowage-bench-<random>; it must not exist")
	fs.BoolVar(&o.csv, "csv", false, "print the results as CSV instead of a table")
	fs.BoolVar(&o.metrics, "metrics", false, "observe the backend with package instrument and print its counters at the end (requests, retries, rate-limit waits, delete batches)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := o.check(fs); err != nil {
		return nil, err
	}
	o.tempFilesystem = true
	latencySet := false
	fs.Visit(func(f *flag.Flag) { latencySet = latencySet || f.Name == "latency" })
	if !latencySet && o.backend == localS3 && (o.config == "" || o.backendSet) {
		o.latency = localS3Latency
	}
	var err error
	if o.workloads, err = bench.ParseWorkloads(workloads); err != nil {
		return nil, fmt.Errorf("--workloads: %w", err)
	}
	if o.matrix, err = bench.ParseMatrix(matrix); err != nil {
		return nil, fmt.Errorf("--matrix: %w", err)
	}
	if o.walk, err = bench.ParseTree(walk); err != nil {
		return nil, fmt.Errorf("--walk: %w", err)
	}
	if o.sizes, err = bench.ParseSizes(sizes); err != nil {
		return nil, fmt.Errorf("--sizes: %w", err)
	}
	if o.gc, err = bench.ParseGCShape(gcShape); err != nil {
		return nil, fmt.Errorf("--gc-shape: %w", err)
	}
	switch {
	case o.runs < 1:
		return nil, fmt.Errorf("--runs must be at least 1, got %d", o.runs)
	case o.json && o.csv:
		return nil, errors.New("--json and --csv exclude each other")
	case o.metrics && o.csv:
		return nil, errors.New("--metrics and --csv exclude each other")
	}
	if o.metrics {
		o.instrument = instrument.New(instrument.Options{})
	}
	if o.prefix != "" {
		if err := driver.ValidatePath("stowage", o.prefix); err != nil {
			return nil, fmt.Errorf("--prefix: %w", err)
		}
	}
	return o, nil
}

func runBench(ctx context.Context, args []string, a *app) int {
	o, err := parseBenchFlags(args, a.stdout)
	if code, done := parseExit("bench", err, a); done {
		return code
	}
	log := newLogger(a.stderr, o.verbose)
	if err := benchMain(ctx, o, a, log); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintf(a.stderr, "stowage bench: interrupted: %v\n", err)
			return exitInterrupted
		}
		return reportError(a.stderr, "stowage bench", err)
	}
	return exitOK
}

// errUsage marks errors in how the command was called.
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg }
func (e usageError) Is(target error) bool { return target == errUsage }

// session is an opened backend with the means to count its requests.
type session struct {
	choice  backendChoice
	d       driver.StorageDriver
	counter *transport.Counter
	root    string // temporary filesystem root, removed by close
	http    bool   // the backend sends requests through counter
	// store is the in-process S3 server of local-s3, stopped by close;
	// server says what it is, for the output's header.
	store  *localstore.S3
	server string
}

// openBackend resolves and opens the backend, with a counting (and, with
// --latency, delaying) HTTP client in its parameters and, for the default
// filesystem, a temporary root.
func openBackend(ctx context.Context, o *storeFlags, a *app, log *slog.Logger) (*session, error) {
	choice, err := resolveBackend(o.backend, o.backendSet, o.config, o.params, a.environ)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	// Keys in lower case before the checks below read them: a config's
	// "RootDirectory:" is honoured (with the warning the backend would
	// give), not taken for a missing rootdirectory.
	if choice.params, err = driver.LowerKeys(choice.name, choice.params, log); err != nil {
		return nil, err
	}
	if o.latency > 0 && localBackends[choice.name] {
		return nil, usageError{fmt.Sprintf("--latency %v: the %s backend sends no network requests, so there is nothing to delay; --latency is for HTTP backends (s3, ...)", o.latency, choice.name)}
	}
	s := &session{choice: choice}
	if choice.name == localS3 {
		if !o.tempFilesystem {
			return nil, usageError{"--backend local-s3 is stowage bench's in-process store, gone when the command ends; name a real backend"}
		}
		if s.store, err = localstore.StartS3(); err != nil {
			return nil, err
		}
		params := s.store.Params()
		for k, v := range choice.params {
			params[k] = v
		}
		s.choice = backendChoice{name: "s3", params: params}
		choice = s.choice
		s.server = "in-process S3 server, no injected round trip"
		if o.latency > 0 {
			s.server = fmt.Sprintf("in-process S3 server, %v injected round trip", o.latency)
		}
		log.Debug("in-process S3 server", "url", s.store.URL, "bucket", localstore.Bucket)
	}
	if choice.name == "filesystem" && o.tempFilesystem {
		if _, ok := choice.params["rootdirectory"]; !ok {
			dir, err := os.MkdirTemp("", "stowage-bench-")
			if err != nil {
				return nil, err
			}
			s.root = dir
			choice.params["rootdirectory"] = dir
			log.Debug("temporary filesystem root", "dir", dir)
		}
	}
	var rt http.RoundTripper = newTransport(o.concurrency)
	if o.latency > 0 {
		rt = &transport.Latency{Base: rt, Delay: o.latency}
	}
	s.counter = &transport.Counter{Base: rt}
	choice.params[driver.HTTPClientParam] = &http.Client{Transport: s.counter}
	choice.params[driver.LoggerParam] = log
	if o.instrument != nil {
		choice.params[driver.ObserverParam] = o.instrument
	}
	s.d, err = a.open(ctx, choice.name, choice.params)
	if err != nil {
		s.close(log)
		return nil, fmt.Errorf("opening the %s backend: %w", choice.name, err)
	}
	if o.instrument != nil {
		s.d = o.instrument.Wrap(s.d)
	}
	return s, nil
}

// newTransport is http.DefaultTransport with room for the setup's
// parallel connections.
func newTransport(concurrency int) http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = max(concurrency, t.MaxIdleConnsPerHost)
	return t
}

func (s *session) close(log *slog.Logger) {
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			log.Warn("stopping the in-process S3 server", "err", err)
		}
	}
	if s.root == "" {
		return
	}
	if err := os.RemoveAll(s.root); err != nil {
		log.Warn("removing the temporary root", "dir", s.root, "err", err)
	}
}

// probe finds out whether the backend sends its requests through the
// counting client: a Stat of the (still unused) prefix must send one.
func (s *session) probe(ctx context.Context, prefix string, o *storeFlags, log *slog.Logger) error {
	before := s.counter.Total()
	if _, err := s.d.Stat(ctx, prefix); err != nil && !driver.IsNotFound(err) {
		return fmt.Errorf("probing the backend: %w", err)
	}
	s.http = s.counter.Total() > before
	if !s.http {
		if o.latency > 0 {
			return usageError{fmt.Sprintf("--latency %v: the %s backend sent no request through the HTTP client it was given, so nothing can be delayed", o.latency, s.choice.name)}
		}
		if !localBackends[s.choice.name] {
			log.Warn("the backend sends no requests through the HTTP client it was given; requests are not counted", "backend", s.choice.name)
		}
	}
	return nil
}

func benchMain(ctx context.Context, o *benchOptions, a *app, log *slog.Logger) error {
	s, err := openBackend(ctx, &o.storeFlags, a, log)
	if err != nil {
		return err
	}
	defer s.close(log)
	prefix := o.prefix
	if prefix == "" {
		if prefix, err = bench.NewPrefix(); err != nil {
			return err
		}
	}
	if err := s.probe(ctx, prefix, &o.storeFlags, log); err != nil {
		return err
	}
	cfg := bench.Config{
		Driver:      s.d,
		Prefix:      prefix,
		Workloads:   o.workloads,
		Matrix:      o.matrix,
		Walk:        o.walk,
		Sizes:       o.sizes,
		GC:          o.gc,
		Runs:        o.runs,
		Concurrency: o.concurrency,
		Progress:    &progress.Progress{},
		Logger:      log,
	}
	if s.http {
		cfg.Requests = s.counter.Total
	}
	var bar *progressBar
	if o.ticks != nil {
		bar = startProgressTicks(a.stderr, cfg.Progress, progressMode(&o.storeFlags, a), o.ticks)
	} else {
		bar = startProgress(a.stderr, cfg.Progress, progressMode(&o.storeFlags, a))
	}
	start := time.Now()
	rep, err := bench.Run(ctx, cfg)
	bar.stop()
	if err != nil {
		return err
	}
	out := result{
		Report:   rep,
		Latency:  o.latency.String(),
		Root:     s.root,
		Elapsed:  time.Since(start).Round(time.Millisecond).Seconds(),
		Machine:  thisMachine(),
		Requests: s.counter.Total(),
	}
	if !s.http {
		out.Requests = 0
	}
	if s.server != "" {
		rep.Server = s.server
	}
	var metrics bytes.Buffer
	if o.instrument != nil {
		if err := o.instrument.WriteText(&metrics); err != nil {
			return err
		}
		out.Metrics = strings.Split(strings.TrimSuffix(metrics.String(), "\n"), "\n")
	}
	switch {
	case o.json:
		return writeJSON(a.stdout, out)
	case o.csv:
		return writeCSV(a.stdout, out)
	}
	if s.server != "" {
		// The table's header names the backend: say what it ran against.
		named := *rep
		named.Backend = fmt.Sprintf("%s (%s)", rep.Backend, s.server)
		out.Report = &named
	}
	if err := writeTable(a.stdout, out); err != nil {
		return err
	}
	if o.instrument != nil {
		fmt.Fprintf(a.stdout, "\nMetrics of the whole run (package instrument):\n%s", metrics.String())
	}
	return nil
}

// progressMode turns --progress into how progress is shown: the bar on a
// terminal (unless -v logs there), a line now and then otherwise.
func progressMode(o *storeFlags, a *app) barMode {
	switch {
	case o.progress == "never":
		return barNever
	case o.progress == "always":
		return barAlways
	case o.progress == "lines":
		return barLines
	case a.terminal && !o.verbose:
		return barAuto
	}
	return barLines
}
