package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/bench"
	"github.com/stowage-dev/stowage/internal/localstore"
	"github.com/stowage-dev/stowage/internal/storereport"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/transport"
)

const conformanceUsage = `Usage: stowage conformance [flags]

Runs stowage's conformance suite, the contract every backend passes (paths,
content, writer states, list/walk, delete, DeleteFiles, concurrency, URLFor,
read-after-write), against the store --backend/--param or --config name, with
the backend's normal credential chain. It needs no checkout of the stowage
repository:

	go run github.com/stowage-dev/stowage/cmd/stowage@VERSION conformance --config registry.yml

Every test writes under a fresh prefix, /stowage-conformance-<random> below
the store's rootdirectory (or --prefix, which must not exist), and the
prefix is removed afterwards, also after failures and on Ctrl-C (which
starts no new test, lets the running ones finish and cleans up; a second
Ctrl-C stops at once). A prefix that already holds data is refused (exit 2)
and nothing is touched.

After the suite comes the store report: what the store does differently
from its provider's documented contract, by name (read-after-write,
list-after-write and delete-visibility lag, and whether stowage's
consistency wrapper hides it; list-page-size; bulk-delete and its batch;
multipart; signed-urls; request-counts against the ceil(N/B) the contract
promises). It writes --report-keys files under the same prefix. An item
that differs is reported, not failed: --require names the items (or
"all") that must be ok, and any of them that is not fails the run.

The summary and the report go to stdout, grouped by concern (or JSON with
--json); --junit writes a JUnit XML report for CI systems (the report's
items are the StoreReport suite; only required items can fail there). The
exit status is 0 when every test passed and every required item is ok, 1
on any failure, 2 for a usage or configuration error (or a prefix in use),
130 when interrupted. --bench also runs the delete matrix of stowage bench
under the same prefix. --dry-run contacts no store: it lists the tests
that would run and the requests they and the report make by HTTP method,
measured against an in-process S3 server.

Flags:
`

// conformanceOptions are the flags of stowage conformance.
type conformanceOptions struct {
	storeFlags
	groups  []string
	junit   string
	dryRun  bool
	bench   bool
	prefix  string
	matrix  []layout.DeleteCell
	listAll bool
	// The store report: whether it runs, its size and patience, and the
	// items that must be ok.
	report     bool
	reportKeys int
	maxLag     time.Duration
	require    []string
}

// conformanceGroups are the suite's top-level groups, in its order.
var conformanceGroups = []string{"Paths", "Content", "Streams", "Writer", "List", "Walk", "Move", "Delete", "DeleteFiles", "Concurrency", "URLFor", "Cancel", "Uploads"}

// concern is one line of the summary: the groups of the suite it covers.
type concern struct {
	name   string
	groups []string
}

// concerns group the suite's top-level groups by what an operator asks
// of a store. consistency is not a group of its own: it is the leaves of
// consistencyLeaves, which also count in their groups.
var concerns = []concern{
	{"paths", []string{"Paths"}},
	{"content", []string{"Content", "Streams", "Move"}},
	{"writer", []string{"Writer", "Uploads"}},
	{"list/walk", []string{"List", "Walk"}},
	{"delete", []string{"Delete"}},
	{"DeleteFiles", []string{"DeleteFiles"}},
	{"concurrency", []string{"Concurrency", "Cancel"}},
	{"URLFor", []string{"URLFor"}},
}

// consistencyLeaves are the leaves that read what was just written,
// overwritten or deleted (read-after-write, list-after-write,
// read-after-delete), through the same driver or a second one over the
// same root. Every leaf's cleanup (List and Walk of the root after
// deleting everything) is a list-after-delete check as well.
var consistencyLeaves = []string{
	"Content/Overwrite/", "Content/Stat/SizeAfterOverwrite", "Content/PutContent/CreatesParents",
	"Streams/Reader/AfterOverwrite", "List/AfterDeletingTheOnlyFile", "Walk/ConsistentWithList",
	"Delete/ParentsVanish", "Delete/Twice", "DeleteFiles/EmptyParentsPruned",
	"Move/SourceParentsVanish", "Concurrency/TwoDriversSameRoot", "Writer/Sessions/AppendFromNewDriver",
	"Writer/Visibility/OldContentUntilCommit",
}

func isConsistencyLeaf(name string) bool {
	for _, c := range consistencyLeaves {
		if name == c || (strings.HasSuffix(c, "/") && strings.HasPrefix(name, c)) {
			return true
		}
	}
	return false
}

func concernOf(group string) string {
	for _, c := range concerns {
		if slices.Contains(c.groups, group) {
			return c.name
		}
	}
	return group
}

func parseConformanceFlags(args []string, output io.Writer) (*conformanceOptions, error) {
	o := &conformanceOptions{}
	fs := newFlagSet("stowage conformance", conformanceUsage, output)
	var groups, matrix, require string
	fs.StringVar(&o.backend, "backend", "", "backend `name` as registered with driver.Register (registered: "+fmt.Sprint(driver.Registered())+")")
	fs.Var(&o.params, "param", "backend parameter `key=value` (repeatable), named as in distribution's config")
	fs.StringVar(&o.config, "config", "", "distribution-style YAML `file` whose storage section configures the backend")
	fs.IntVar(&o.concurrency, "parallel", max(8, runtime.GOMAXPROCS(0)), "run at most `n` tests at once")
	fs.DurationVar(&o.latency, "latency", 0, "add this round-trip `delay` to every request of an HTTP backend")
	fs.BoolVar(&o.json, "json", false, "print the results as one JSON document instead of the summary")
	fs.BoolVar(&o.verbose, "v", false, "print the suite's output as it runs (go test -v style) and verbose logs, on stderr")
	fs.StringVar(&groups, "groups", "", "comma-separated `list` of the suite's groups to run (default all: "+strings.Join(conformanceGroups, ",")+")")
	fs.StringVar(&o.junit, "junit", "", "write a JUnit XML report to `file`")
	fs.BoolVar(&o.dryRun, "dry-run", false, "contact no store: list the tests that would run and their requests by HTTP method (measured against an in-process S3 server)")
	fs.BoolVar(&o.bench, "bench", false, "after the suite, run stowage bench's delete matrix under the same prefix")
	fs.StringVar(&matrix, "matrix", "1x0,10x1,100x20", "delete matrix `cells` MxT of --bench")
	fs.StringVar(&o.prefix, "prefix", "", "write under this `path` instead of a fresh /stowage-conformance-<random>; it must not exist")
	fs.BoolVar(&o.listAll, "list-passed", false, "list every test in the summary, not only failures")
	fs.BoolVar(&o.report, "report", true, "after the suite, measure the store report (--report=false skips it)")
	fs.IntVar(&o.reportKeys, "report-keys", storereport.DefaultKeys, "the store report writes, lists and bulk-deletes `n` files (above 1,000 to cross S3's and GCS's page and batch)")
	fs.DurationVar(&o.maxLag, "max-lag", storereport.DefaultMaxLag, "how long the store report waits for a write or delete to show")
	fs.StringVar(&require, "require", "", "comma-separated report `items` that must be ok, or \"all\" (items: "+strings.Join(storereport.ItemNames, ",")+")")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.progress = "never"
	if err := o.check(fs); err != nil {
		return nil, err
	}
	if o.backend == "" && o.config == "" && !o.dryRun {
		return nil, errors.New("name the store with --backend (and --param) or --config")
	}
	if groups != "" {
		for g := range strings.SplitSeq(groups, ",") {
			g = strings.TrimSpace(g)
			i := slices.IndexFunc(conformanceGroups, func(s string) bool { return strings.EqualFold(s, g) })
			if i < 0 {
				return nil, fmt.Errorf("--groups: unknown group %q (want some of %s)", g, strings.Join(conformanceGroups, ","))
			}
			o.groups = append(o.groups, conformanceGroups[i])
		}
	}
	var err error
	if o.matrix, err = bench.ParseMatrix(matrix); err != nil {
		return nil, fmt.Errorf("--matrix: %w", err)
	}
	if o.prefix != "" {
		if err := driver.ValidatePath("stowage", o.prefix); err != nil {
			return nil, fmt.Errorf("--prefix: %w", err)
		}
	}
	if require != "" {
		o.require = strings.Split(require, ",")
		if _, err := (&storereport.Report{}).Failing(o.require); err != nil {
			return nil, fmt.Errorf("--require: %w", err)
		}
		if !o.report {
			return nil, errors.New("--require names report items, and --report=false skips the report")
		}
	}
	if o.reportKeys <= 0 || o.maxLag <= 0 {
		return nil, errors.New("--report-keys and --max-lag must be positive")
	}
	return o, nil
}

func runConformance(ctx context.Context, args []string, a *app) int {
	o, err := parseConformanceFlags(args, a.stdout)
	if code, done := parseExit("conformance", err, a); done {
		return code
	}
	log := newLogger(a.stderr, o.verbose)
	if o.dryRun {
		return conformanceDryRun(ctx, o, a, log)
	}
	res, code := conformanceMain(ctx, o, a, log)
	if res == nil {
		return code
	}
	if err := writeConformance(a.stdout, o, res); err != nil {
		fmt.Fprintf(a.stderr, "stowage conformance: %v\n", err)
		return exitFailure
	}
	if o.junit != "" {
		if err := writeJUnitFile(o.junit, res); err != nil {
			fmt.Fprintf(a.stderr, "stowage conformance: --junit: %v\n", err)
			return exitFailure
		}
	}
	return code
}

// conformanceResult is what stowage conformance prints (--json) and
// writes as JUnit.
type conformanceResult struct {
	Backend string `json:"backend"`
	// Server says what --dry-run measured against.
	Server string `json:"server,omitempty"`
	Prefix string `json:"prefix"`
	// Groups are the suite's groups that ran.
	Groups   []string         `json:"groups"`
	Concerns []concernSummary `json:"concerns"`
	Tests    []testResult     `json:"tests"`
	Passed   int              `json:"passed"`
	Failed   int              `json:"failed"`
	Skipped  int              `json:"skipped"`
	// OK is true when nothing failed, the cleanup included.
	OK          bool `json:"ok"`
	Interrupted bool `json:"interrupted,omitempty"`
	// Requests counts the requests sent through the backend's HTTP
	// client by method (setup and cleanup included); nil for a backend
	// that sends none through it.
	Requests map[string]int `json:"requests,omitempty"`
	Elapsed  float64        `json:"elapsed_seconds"`
	Cleanup  cleanupResult  `json:"cleanup"`
	// Bench is the delete matrix of --bench.
	Bench *bench.Report `json:"bench,omitempty"`
	// Report is the store report; nil with --report=false or when the
	// run ended before it.
	Report *storereport.Report `json:"report,omitempty"`
	// ReportError says why the report could not be made (the store took
	// no write), which fails the run.
	ReportError string `json:"report_error,omitempty"`
	// Required are the report items --require named, and RequiredFailing
	// those of them that are not ok: any fails the run.
	Required        []string           `json:"required,omitempty"`
	RequiredFailing []storereport.Item `json:"required_failing,omitempty"`
}

// concernSummary is one line of the summary.
type concernSummary struct {
	Concern string   `json:"concern"`
	Groups  []string `json:"groups,omitempty"`
	Passed  int      `json:"passed"`
	Failed  int      `json:"failed"`
	Skipped int      `json:"skipped"`
	Seconds float64  `json:"seconds"`
}

// testResult is one test of the suite.
type testResult struct {
	Name        string  `json:"name"`
	Group       string  `json:"group"`
	Concern     string  `json:"concern"`
	Consistency bool    `json:"consistency,omitempty"`
	Status      string  `json:"status"`
	Seconds     float64 `json:"seconds"`
	Output      string  `json:"output,omitempty"`
}

// cleanupResult says whether the prefix is gone.
type cleanupResult struct {
	Removed bool   `json:"removed"`
	Error   string `json:"error,omitempty"`
}

// rootKey returns the parameter that holds params' root directory
// ("rootdirectory", or swift's "prefix", in any case) and its value.
func rootKey(backend string, params map[string]any) (string, string) {
	keys := slices.Sorted(maps.Keys(params))
	for _, want := range []string{"rootdirectory", "prefix"} {
		if want == "prefix" && backend != "swift" {
			continue
		}
		for _, k := range keys {
			if strings.EqualFold(k, want) {
				return k, fmt.Sprint(params[k])
			}
		}
	}
	return "rootdirectory", ""
}

// conformanceStore is the store under test: how to open a driver over a
// directory of it.
type conformanceStore struct {
	a       *app
	name    string
	params  map[string]any // the user's, without the root directory
	root    string         // the user's root directory
	counter *transport.Counter
	latency time.Duration
	log     *slog.Logger // for the base driver
	leafLog *slog.Logger // for the leaves' drivers
	// inmemory has no root directory: one store per Root, shared by the
	// New calls of one test.
	mu       sync.Mutex
	inmemory map[string]driver.StorageDriver
	// tempRoot is the temporary filesystem root, removed afterwards.
	tempRoot string
}

func newConformanceStore(choice backendChoice, o *conformanceOptions, a *app, log *slog.Logger) (*conformanceStore, error) {
	s := &conformanceStore{a: a, name: choice.name, params: maps.Clone(choice.params), counter: &transport.Counter{},
		latency: o.latency, log: log, leafLog: slog.New(slog.DiscardHandler)}
	if o.verbose {
		s.leafLog = log
	}
	if s.latency > 0 && localBackends[s.name] {
		return nil, usageError{fmt.Sprintf("--latency %v: the %s backend sends no network requests", s.latency, s.name)}
	}
	key, root := rootKey(s.name, s.params)
	delete(s.params, key)
	s.root = root
	if s.name == "filesystem" && root == "" {
		dir, err := os.MkdirTemp("", "stowage-conformance-")
		if err != nil {
			return nil, err
		}
		s.tempRoot, s.root = dir, dir
		log.Info("no rootdirectory given: running in a temporary directory", "dir", dir)
	}
	if s.name == "inmemory" {
		s.inmemory = map[string]driver.StorageDriver{}
	}
	return s, nil
}

// open opens a driver with the root directory dir (joined to the user's)
// and hc as its HTTP client.
func (s *conformanceStore) open(ctx context.Context, dir string, hc *http.Client, batch int, log *slog.Logger) (driver.StorageDriver, error) {
	p := maps.Clone(s.params)
	if s.name != "inmemory" {
		p["rootdirectory"] = strings.TrimSuffix(s.root, "/") + dir
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if s.latency > 0 {
		rt = &transport.Latency{Base: rt, Delay: s.latency}
	}
	p[driver.HTTPClientParam] = &http.Client{Transport: s.counter.Wrap(rt)}
	p[driver.LoggerParam] = log
	if batch > 0 {
		p["deletebatchsize"] = batch
	}
	return s.a.open(ctx, s.name, p)
}

// harness is the suite's Harness over the store, every test under prefix.
func (s *conformanceStore) harness(prefix string, groups []string) conformance.Harness {
	return conformance.Harness{
		Name:   s.name,
		Groups: groups,
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			if s.inmemory != nil {
				s.mu.Lock()
				defer s.mu.Unlock()
				if d, ok := s.inmemory[env.Root]; ok {
					return d
				}
			}
			d, err := s.open(context.Background(), prefix+"/"+env.Root, env.HTTPClient, env.DeleteBatchSize, s.leafLog)
			if err != nil {
				t.Fatalf("opening the %s backend: %v", s.name, err)
			}
			if c, ok := d.(io.Closer); ok {
				t.Cleanup(func() {
					if err := c.Close(); err != nil {
						t.Errorf("closing the driver: %v", err)
					}
				})
			}
			if s.inmemory != nil {
				s.inmemory[env.Root] = d
			}
			return d
		},
	}
}

func (s *conformanceStore) close() {
	if s.tempRoot != "" {
		if err := os.RemoveAll(s.tempRoot); err != nil {
			s.log.Warn("removing the temporary root", "dir", s.tempRoot, "err", err)
		}
	}
}

// conformanceMain runs the suite and returns its result and the exit
// code; a nil result means the run did not start (the code says why, and
// the reason is printed).
func conformanceMain(ctx context.Context, o *conformanceOptions, a *app, log *slog.Logger) (*conformanceResult, int) {
	const name = "stowage conformance"
	choice, err := resolveBackend(o.backend, o.backendSet, o.config, o.params, a.environ)
	if err != nil {
		return nil, reportError(a.stderr, name, usageError{err.Error()})
	}
	s, err := newConformanceStore(choice, o, a, log)
	if err != nil {
		return nil, reportError(a.stderr, name, err)
	}
	defer s.close()
	base, err := s.open(ctx, "", &http.Client{}, 0, log)
	if err != nil {
		return nil, reportError(a.stderr, name, fmt.Errorf("opening the %s backend: %w", s.name, err))
	}
	prefix := o.prefix
	if prefix == "" {
		if prefix, err = bench.NewPrefixNamed("stowage-conformance"); err != nil {
			return nil, reportError(a.stderr, name, err)
		}
	}
	if err := bench.CheckFresh(ctx, base, prefix); err != nil {
		if errors.Is(err, bench.ErrPrefixInUse) {
			fmt.Fprintf(a.stderr, "%s: refusing prefix %s: %v\n", name, prefix, err)
			return nil, exitUsage
		}
		return nil, reportError(a.stderr, name, err)
	}
	res := &conformanceResult{Backend: s.name, Prefix: prefix, Groups: o.groups}
	if res.Groups == nil {
		res.Groups = conformanceGroups
	}
	start := time.Now()
	var tee io.Writer
	if o.verbose {
		tee = a.stderr
	}
	log.Info("running the conformance suite", "backend", s.name, "prefix", prefix)
	sr, runErr := conformance.RunStandalone(ctx, s.harness(prefix, o.groups), conformance.StandaloneOptions{Parallel: o.concurrency, Output: tee})
	if runErr == nil {
		res.fill(sr)
	}
	if runErr == nil && o.report && !res.Interrupted && ctx.Err() == nil {
		s.storeReport(ctx, o, prefix, res)
	}
	if runErr == nil && o.bench && ctx.Err() == nil {
		rep, err := bench.Run(ctx, bench.Config{
			Driver: base, Prefix: prefix + "/bench", Workloads: []string{bench.WorkloadDelete}, Matrix: o.matrix,
			Logger: log, Requests: s.counter.Total,
		})
		if err != nil {
			fmt.Fprintf(a.stderr, "%s: --bench: %v\n", name, err)
			res.OK = false
		}
		res.Bench = rep
	}
	res.Cleanup = removePrefix(ctx, base, prefix, log)
	if !res.Cleanup.Removed {
		res.OK = false
	}
	if c := s.counter.ByMethod(); len(c) > 0 {
		res.Requests = c
	}
	res.Elapsed = time.Since(start).Round(time.Millisecond).Seconds()
	switch {
	case runErr != nil:
		fmt.Fprintf(a.stderr, "%s: %v\n", name, runErr)
		return nil, exitFailure
	case res.Interrupted || ctx.Err() != nil:
		res.Interrupted = true
		return res, exitInterrupted
	case !res.OK:
		return res, exitFailure
	}
	return res, exitOK
}

// storeReport runs the store report below prefix and records it in res,
// with the required items that are not ok.
func (s *conformanceStore) storeReport(ctx context.Context, o *conformanceOptions, prefix string, res *conformanceResult) {
	counter := &transport.Counter{}
	d, err := s.open(ctx, prefix, &http.Client{Transport: counter.Wrap(http.DefaultTransport)}, 0, s.leafLog)
	if err != nil {
		res.ReportError, res.OK = fmt.Sprintf("opening the %s backend: %v", s.name, err), false
		return
	}
	if c, ok := d.(io.Closer); ok {
		defer func() {
			if err := c.Close(); err != nil {
				s.log.Warn("closing the store report's driver", "err", err)
			}
		}()
	}
	s.log.Info("measuring the store report", "keys", o.reportKeys)
	rep, err := storereport.Run(ctx, d, storereport.Options{Requests: counter, Keys: o.reportKeys, MaxLag: o.maxLag, Logger: s.leafLog})
	switch {
	case ctx.Err() != nil:
		res.Interrupted = true
		return
	case err != nil:
		res.ReportError, res.OK = err.Error(), false
		return
	}
	res.Report = rep
	res.Required = o.require
	res.RequiredFailing, _ = rep.Failing(o.require) // names checked by parseConformanceFlags
	if len(res.RequiredFailing) > 0 {
		res.OK = false
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// removePrefix deletes everything under prefix (with a fresh context:
// ctx may have ended) and checks that nothing is left.
func removePrefix(ctx context.Context, d driver.StorageDriver, prefix string, log *slog.Logger) cleanupResult {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	if err := d.Delete(cctx, prefix); err != nil && !driver.IsNotFound(err) {
		return cleanupResult{Error: fmt.Sprintf("deleting %s: %v", prefix, err)}
	}
	if err := bench.CheckFresh(cctx, d, prefix); err != nil {
		return cleanupResult{Error: err.Error()}
	}
	log.Info("prefix removed", "prefix", prefix)
	return cleanupResult{Removed: true}
}

// fill sets the tests and their summaries from the suite's results.
func (r *conformanceResult) fill(sr *conformance.Results) {
	r.Interrupted = sr.Interrupted
	r.OK = !sr.Failed
	byConcern := map[string]*concernSummary{}
	var order []string
	add := func(name string, groups []string, t testResult) {
		c, ok := byConcern[name]
		if !ok {
			c = &concernSummary{Concern: name, Groups: groups}
			byConcern[name] = c
			order = append(order, name)
		}
		switch t.Status {
		case string(conformance.StatusPass):
			c.Passed++
		case string(conformance.StatusFail):
			c.Failed++
		default:
			c.Skipped++
		}
		c.Seconds += t.Seconds
	}
	for _, c := range concerns {
		if slices.ContainsFunc(c.groups, func(g string) bool { return slices.Contains(r.Groups, g) }) {
			byConcern[c.name] = &concernSummary{Concern: c.name, Groups: c.groups}
			order = append(order, c.name)
		}
	}
	for _, l := range sr.Tests {
		t := testResult{Name: l.Name, Group: l.Group, Concern: concernOf(l.Group), Consistency: isConsistencyLeaf(l.Name),
			Status: string(l.Status), Seconds: l.Elapsed.Seconds(), Output: l.Output}
		r.Tests = append(r.Tests, t)
		switch l.Status {
		case conformance.StatusPass:
			r.Passed++
		case conformance.StatusFail:
			r.Failed++
		default:
			r.Skipped++
		}
		add(t.Concern, nil, t)
		if t.Consistency {
			add("consistency", nil, t)
		}
	}
	for _, name := range order {
		r.Concerns = append(r.Concerns, *byConcern[name])
	}
}

func writeConformance(w io.Writer, o *conformanceOptions, r *conformanceResult) error {
	if o.json {
		return printJSON(w, r.Backend, "", r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stowage conformance: backend %s", r.Backend)
	if r.Server != "" {
		fmt.Fprintf(&b, " (%s)", r.Server)
	}
	fmt.Fprintf(&b, ", prefix %s, %d tests in %s\n\n", r.Prefix, len(r.Tests), fmtDuration(secondsToDuration(r.Elapsed)))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONCERN\tPASS\tFAIL\tSKIP\tTEST TIME\tGROUPS\t")
	for _, c := range r.Concerns {
		groups := strings.Join(c.Groups, ", ")
		if c.Concern == "consistency" {
			groups = "(read-after-write leaves of the groups above)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t\n", c.Concern, c.Passed, c.Failed, c.Skipped, fmtDuration(secondsToDuration(c.Seconds)), groups)
	}
	tw.Flush()
	var skipped []string
	for _, t := range r.Tests {
		switch {
		case t.Status == string(conformance.StatusFail):
			fmt.Fprintf(&b, "\nFAIL %s (%s)\n", t.Name, fmtDuration(secondsToDuration(t.Seconds)))
			for l := range strings.SplitSeq(t.Output, "\n") {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		case t.Status == string(conformance.StatusSkip):
			skipped = append(skipped, t.Name+": "+lastLine(t.Output))
		case o.listAll:
			fmt.Fprintf(&b, "ok   %s (%s)\n", t.Name, fmtDuration(secondsToDuration(t.Seconds)))
		}
	}
	if len(skipped) > 0 && !r.Interrupted {
		fmt.Fprintf(&b, "\nSkipped:\n")
		for _, s := range skipped {
			fmt.Fprintf(&b, "    %s\n", s)
		}
	}
	if len(r.Requests) > 0 {
		fmt.Fprintf(&b, "\nRequests: %s", fmtMethods(r.Requests))
		if r.Report != nil && r.Report.TotalRequests > 0 {
			fmt.Fprintf(&b, " (%d of them by the store report)", r.Report.TotalRequests)
		}
		b.WriteString("\n")
	}
	writeReportText(&b, r)
	if r.Bench != nil {
		b.WriteString("\n")
		if err := writeTable(&b, result{Report: r.Bench, Latency: o.latency.String(), Elapsed: r.Elapsed, Machine: thisMachine()}); err != nil {
			return err
		}
	}
	switch {
	case r.Cleanup.Removed:
		fmt.Fprintf(&b, "\nPrefix %s removed.\n", r.Prefix)
	case r.Cleanup.Error != "":
		fmt.Fprintf(&b, "\nCLEANUP FAILED: %s\n", r.Cleanup.Error)
	}
	switch {
	case r.Interrupted:
		fmt.Fprintf(&b, "INTERRUPTED: %d passed, %d failed, %d not run\n", r.Passed, r.Failed, r.Skipped)
	case r.OK:
		fmt.Fprintf(&b, "PASS: %d passed, %d skipped\n", r.Passed, r.Skipped)
	case r.Failed > 0:
		fmt.Fprintf(&b, "FAIL: %d of %d tests failed\n", r.Failed, len(r.Tests))
	default:
		fmt.Fprintf(&b, "FAIL: %d tests passed; %s\n", r.Passed, failedBesides(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeReportText writes the store report section of the summary.
func writeReportText(b *strings.Builder, r *conformanceResult) {
	switch {
	case r.ReportError != "":
		fmt.Fprintf(b, "\nSTORE REPORT FAILED: %s\n", r.ReportError)
		return
	case r.Report == nil:
		return
	}
	b.WriteString("\n")
	r.Report.WriteText(b) // a strings.Builder takes every write
	if len(r.Required) == 0 {
		return
	}
	if len(r.RequiredFailing) == 0 {
		fmt.Fprintf(b, "required: %s: ok\n", strings.Join(r.Required, ", "))
		return
	}
	for _, it := range r.RequiredFailing {
		fmt.Fprintf(b, "REQUIRED NOT OK: %s is %s: %s\n", it.Name, it.Status, it.Measured)
	}
}

// failedBesides says why a run whose tests all passed failed.
func failedBesides(r *conformanceResult) string {
	var why []string
	if len(r.RequiredFailing) > 0 {
		names := make([]string, 0, len(r.RequiredFailing))
		for _, it := range r.RequiredFailing {
			names = append(names, it.Name)
		}
		why = append(why, "required report items not ok: "+strings.Join(names, ", "))
	}
	if r.ReportError != "" {
		why = append(why, "the store report failed")
	}
	if !r.Cleanup.Removed {
		why = append(why, "the prefix was not removed")
	}
	if len(why) == 0 {
		why = append(why, "see the messages above")
	}
	return strings.Join(why, "; ")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// fmtMethods prints request counts by method, largest first, and the total.
func fmtMethods(m map[string]int) string {
	methods := slices.Collect(maps.Keys(m))
	sort.Slice(methods, func(i, j int) bool {
		if m[methods[i]] != m[methods[j]] {
			return m[methods[i]] > m[methods[j]]
		}
		return methods[i] < methods[j]
	})
	parts := make([]string, 0, len(methods))
	for _, k := range methods {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return fmt.Sprintf("%d (%s)", sum(m), strings.Join(parts, ", "))
}

// JUnit XML, as CI systems read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// junitOf is r as JUnit: one testsuite per group of the suite, one
// testcase per test; a failed cleanup is one more failed testcase.
func junitOf(r *conformanceResult) junitSuites {
	out := junitSuites{Name: "stowage conformance " + r.Backend, Time: fmt.Sprintf("%.3f", r.Elapsed)}
	index := map[string]int{}
	for _, t := range r.Tests {
		i, ok := index[t.Group]
		if !ok {
			i = len(out.Suites)
			index[t.Group] = i
			out.Suites = append(out.Suites, junitSuite{Name: "conformance/" + r.Backend + "/" + t.Group})
		}
		s := &out.Suites[i]
		c := junitCase{Name: t.Name, Classname: "stowage.conformance." + r.Backend + "." + t.Group, Time: fmt.Sprintf("%.3f", t.Seconds)}
		switch t.Status {
		case string(conformance.StatusFail):
			c.Failure = &junitMessage{Message: firstLine(t.Output), Text: t.Output}
			s.Failures++
		case string(conformance.StatusSkip):
			c.Skipped = &junitMessage{Message: lastLine(t.Output)}
			s.Skipped++
		default:
			c.SystemOut = t.Output
		}
		s.Tests++
		s.Time = fmt.Sprintf("%.3f", parseFloat(s.Time)+t.Seconds)
		s.Cases = append(s.Cases, c)
	}
	if s, ok := junitReport(r); ok {
		out.Suites = append(out.Suites, s)
	}
	if !r.Cleanup.Removed {
		out.Suites = append(out.Suites, junitSuite{Name: "conformance/" + r.Backend + "/Cleanup", Tests: 1, Failures: 1, Time: "0",
			Cases: []junitCase{{Name: "RemovePrefix", Classname: "stowage.conformance." + r.Backend + ".Cleanup", Time: "0",
				Failure: &junitMessage{Message: "prefix " + r.Prefix + " not removed", Text: r.Cleanup.Error}}}})
	}
	for _, s := range out.Suites {
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
	}
	return out
}

// junitReport is the store report as a testsuite: one testcase per item,
// failed only when the item is required and not ok (a difference nobody
// required is in the testcase's output), or one failed testcase when the
// report could not be made.
func junitReport(r *conformanceResult) (junitSuite, bool) {
	s := junitSuite{Name: "conformance/" + r.Backend + "/StoreReport", Time: "0"}
	class := "stowage.conformance." + r.Backend + ".StoreReport"
	switch {
	case r.ReportError != "":
		s.Cases = []junitCase{{Name: "StoreReport", Classname: class, Time: "0",
			Failure: &junitMessage{Message: "the store report failed", Text: r.ReportError}}}
	case r.Report == nil:
		return s, false
	}
	failing := map[string]bool{}
	for _, it := range r.RequiredFailing {
		failing[it.Name] = true
	}
	if r.Report != nil {
		for _, it := range r.Report.Items {
			text := fmt.Sprintf("%s: %s\nexpected: %s", it.Status, it.Measured, it.Expected)
			if it.Detail != "" {
				text += "\n" + it.Detail
			}
			c := junitCase{Name: it.Name, Classname: class, Time: "0"}
			if failing[it.Name] {
				c.Failure = &junitMessage{Message: "required, and " + it.Status + ": " + it.Measured, Text: text}
			} else {
				c.SystemOut = text
			}
			s.Cases = append(s.Cases, c)
		}
	}
	for _, c := range s.Cases {
		s.Tests++
		if c.Failure != nil {
			s.Failures++
		}
	}
	return s, true
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func parseFloat(s string) float64 {
	var f float64
	fmt.Sscanf(s, "%g", &f)
	return f
}

func writeJUnitFile(path string, r *conformanceResult) error {
	b, err := xml.MarshalIndent(junitOf(r), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}

// conformanceDryRun lists what would run and measures its requests by
// running the suite against the real s3 backend and an in-process S3
// server; it contacts no store.
func conformanceDryRun(ctx context.Context, o *conformanceOptions, a *app, log *slog.Logger) int {
	const name = "stowage conformance"
	target := o.backend
	if o.backend != "" || o.config != "" {
		choice, err := resolveBackend(o.backend, o.backendSet, o.config, o.params, a.environ)
		if err != nil {
			return reportError(a.stderr, name, usageError{err.Error()})
		}
		target = choice.name
	}
	store, err := localstore.StartS3()
	if err != nil {
		return reportError(a.stderr, name, err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Warn("stopping the in-process S3 server", "err", err)
		}
	}()
	m := *o
	m.backend, m.backendSet, m.config, m.params, m.latency, m.bench = "s3", true, "", nil, 0, false
	for k, v := range store.Params() {
		m.params = append(m.params, param{k, fmt.Sprint(v)})
	}
	quiet := slog.New(slog.DiscardHandler)
	if o.verbose {
		quiet = log
	}
	res, code := conformanceMain(ctx, &m, &app{stderr: a.stderr, open: a.open}, quiet)
	if res == nil {
		return code
	}
	res.Server = "dry run: measured against an in-process S3 server"
	if o.json {
		return writeOrFail("conformance", printJSON(a.stdout, target, "", res), a)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stowage conformance --dry-run: nothing was sent to the %s store.\n\n", orDefault(target, "named"))
	fmt.Fprintf(&b, "It would run %d tests in %d groups, each under its own directory of a fresh prefix, then delete the prefix:\n", len(res.Tests), len(res.Groups))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tCONCERN\tTESTS\t")
	counts := map[string]int{}
	for _, t := range res.Tests {
		counts[t.Group]++
	}
	for _, g := range res.Groups {
		fmt.Fprintf(tw, "%s\t%s\t%d\t\n", g, concernOf(g), counts[g])
	}
	tw.Flush()
	if o.verbose || o.listAll {
		for _, t := range res.Tests {
			fmt.Fprintf(&b, "    %s\n", t.Name)
		}
	}
	fmt.Fprintf(&b, "\nRequests by HTTP method: %s.\n", fmtMethods(res.Requests))
	if res.Report != nil {
		fmt.Fprintf(&b, "Of them, the store report (%d keys; --report=false skips it) made %d.\n", res.Report.Keys, res.Report.TotalRequests)
	}
	b.WriteString("Measured by running the suite through the real s3 backend against an in-process S3 server (S3's list page of 1,000 keys and delete batch of 1,000 paths). " +
		"A store's list page size and delete batch size change these counts (GCS deletes 100 paths a batch, Azure 256), retries add to them, " +
		"and a backend that can sign URLs runs more URLFor tests; the in-process server lacks UploadPartCopy, so the Writer group's resumed uploads stop early there.\n")
	if o.bench {
		b.WriteString("--bench would add the delete matrix " + fmtMatrix(o.matrix) + ": per cell MxT, M+M*T writes to set it up, the same paths deleted one at a time (Stat+Delete per tag link, Delete per revision), then written again and removed with ceil((M+M*T)/B) DeleteFiles requests.\n")
	}
	return writeOrFail("conformance", writeString(a.stdout, b.String()), a)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func fmtMatrix(m []layout.DeleteCell) string {
	parts := make([]string, 0, len(m))
	for _, c := range m {
		parts = append(parts, c.String())
	}
	return strings.Join(parts, ",")
}

func writeString(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}
