package conformance

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Status is the outcome of one test of a standalone run.
type Status string

// The outcomes of a test.
const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// LeafResult is one test of a standalone run: a leaf test of the suite, or
// a test with subtests that failed by itself (a group whose setup failed).
type LeafResult struct {
	// Name is the test's name below the suite, "Paths/Invalid/Stat";
	// "Conformance" is the suite itself (the backend could not be opened).
	Name string `json:"name"`
	// Group is the top-level group (Name's first element).
	Group   string        `json:"group"`
	Status  Status        `json:"status"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Output is what the test logged (failure messages included), one
	// line a line, without the framing and indentation of go test -v.
	Output string `json:"output,omitempty"`
}

// Results is what RunStandalone found.
type Results struct {
	// Tests are the leaves in the order they finished.
	Tests []LeafResult `json:"tests"`
	// Failed reports whether anything failed (also outside a leaf).
	Failed bool `json:"failed"`
	// Interrupted reports that ctx ended during the run: the leaves not
	// started by then are skipped with "interrupted".
	Interrupted bool          `json:"interrupted,omitempty"`
	Elapsed     time.Duration `json:"elapsed_ns"`
}

// Counts returns the number of tests by status.
func (r *Results) Counts() (pass, fail, skip int) {
	for _, t := range r.Tests {
		switch t.Status {
		case StatusPass:
			pass++
		case StatusFail:
			fail++
		case StatusSkip:
			skip++
		}
	}
	return pass, fail, skip
}

// StandaloneOptions tune RunStandalone.
type StandaloneOptions struct {
	// Parallel bounds the leaf tests that run at once (go test's
	// -parallel); 0 means GOMAXPROCS.
	Parallel int
	// Output, when set, receives the run's output as go test -v prints it
	// (the =\x16 framing removed), while it runs.
	Output io.Writer
}

// ErrStandaloneBusy is returned by RunStandalone while another run is
// under way in the process.
var ErrStandaloneBusy = errors.New("conformance: another standalone run is under way")

// standaloneMu lets one RunStandalone run at a time: the run borrows
// process-wide state (package testing's flags, os.Stdout).
var standaloneMu sync.Mutex

// RunStandalone runs Run(t, h) without go test, in this process, and
// returns the outcome of every test: a command (stowage conformance) runs
// the suite against a store with it.
//
// How: package testing has no API that runs a test and returns. testing.RunTests
// runs nothing outside a test binary (its list of CPU counts is filled in
// only by M.Run: it returns true having run no test), and
// testing.MainStart is internal to go test and changes between releases.
// RunStandalone calls testing.Main, the exported, stable entry point kept
// for systems that simulate go test, in a goroutine, with one test whose
// body runs the suite as a subtest and then reports back and blocks for
// good, so that testing.Main never reaches its os.Exit. Each call leaves
// that one goroutine parked. While the run lasts, os.Stdout (and, as
// testing does for -test.v=test2json, os.Stderr) is a pipe the output is
// parsed from, and testing's flags are set for the run (test.v,
// test.parallel; test.run, test.timeout and the profiling flags cleared)
// and restored afterwards. Runs are serialised: a second concurrent call
// returns ErrStandaloneBusy.
//
// When ctx ends, leaves not yet started are skipped ("interrupted": h.New
// is not called for them) and the ones running finish, with their
// cleanup; Results.Interrupted is then set.
func RunStandalone(ctx context.Context, h Harness, opts StandaloneOptions) (*Results, error) {
	if h.New == nil {
		return nil, errors.New("conformance: Harness.New is nil")
	}
	if !standaloneMu.TryLock() {
		return nil, ErrStandaloneBusy
	}
	defer standaloneMu.Unlock()

	testing.Init()
	if !flag.Parsed() {
		// testing.Main would parse the command's own arguments.
		if err := flag.CommandLine.Parse(nil); err != nil {
			return nil, fmt.Errorf("conformance: %w", err)
		}
	}
	restore, err := setTestingFlags(opts.Parallel)
	if err != nil {
		return nil, err
	}
	defer restore()

	newFn := h.New
	h.New = func(t testing.TB, env Env) driver.StorageDriver {
		if ctx.Err() != nil {
			t.Skip("interrupted")
		}
		return newFn(t, env)
	}

	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("conformance: output pipe: %w", err)
	}
	parsed := make(chan *outputParser, 1)
	go func() {
		p := newOutputParser(opts.Output)
		p.read(r)
		r.Close()
		parsed <- p
	}()

	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout = w
	start := time.Now()
	done := make(chan struct{})
	match := func(pat, str string) (bool, error) {
		if pat == "" {
			return true, nil
		}
		return regexp.MatchString(pat, str)
	}
	tests := []testing.InternalTest{{Name: standaloneTop, F: func(t *testing.T) {
		t.Run(standaloneSuite, func(t *testing.T) { Run(t, h) })
		close(done)
		select {} // never return: testing.Main would exit the process
	}}}
	go testing.Main(match, tests, nil, nil)
	<-done
	elapsed := time.Since(start)
	os.Stdout, os.Stderr = stdout, stderr
	w.Close()
	p := <-parsed
	res := p.results()
	res.Elapsed = elapsed
	res.Interrupted = ctx.Err() != nil
	return res, nil
}

// The names of the run's top-level test and of the suite below it.
const (
	standaloneTop   = "standalone"
	standaloneSuite = "Conformance"
)

// setTestingFlags sets package testing's flags for a standalone run and
// returns the function that restores them.
func setTestingFlags(parallel int) (func(), error) {
	set := map[string]string{
		"test.v":        "test2json",
		"test.run":      "",
		"test.skip":     "",
		"test.timeout":  "0",
		"test.count":    "1",
		"test.cpu":      "",
		"test.failfast": "false",
		"test.shuffle":  "off",
		"test.list":     "",
		"test.bench":    "",
		"test.fuzz":     "",
		// go test's own bookkeeping, which a run inside a test binary
		// must not overwrite.
		"test.testlogfile":  "",
		"test.paniconexit0": "false",
		"test.coverprofile": "",
		"test.cpuprofile":   "",
		"test.memprofile":   "",
		"test.blockprofile": "",
		"test.mutexprofile": "",
		"test.trace":        "",
	}
	if parallel > 0 {
		set["test.parallel"] = strconv.Itoa(parallel)
	}
	old := map[string]string{}
	restore := func() {
		for k, v := range old {
			_ = flag.Set(k, v)
		}
	}
	for k, v := range set {
		f := flag.Lookup(k)
		if f == nil {
			continue // not in this Go release
		}
		old[k] = f.Value.String()
		if err := flag.Set(k, v); err != nil {
			restore()
			return nil, fmt.Errorf("conformance: setting -%s: %w", k, err)
		}
	}
	return restore, nil
}

// marker frames the lines package testing prints about tests under
// -test.v=test2json.
const marker = "\x16"

// outputParser turns testing's test2json-framed output into results.
type outputParser struct {
	tee     io.Writer
	tests   map[string]*record
	order   []string // by the time they finished
	current string
}

type record struct {
	status  Status
	elapsed time.Duration
	output  strings.Builder
	parent  bool // has subtests
}

func newOutputParser(tee io.Writer) *outputParser {
	return &outputParser{tee: tee, tests: map[string]*record{}}
}

var reportLine = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (.*) \(([0-9.]+s)\)$`)

func (p *outputParser) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			p.line(strings.TrimSuffix(line, "\n"))
		}
		if err != nil {
			return
		}
	}
}

func (p *outputParser) record(name string) *record {
	rec, ok := p.tests[name]
	if !ok {
		rec = &record{}
		p.tests[name] = rec
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			p.record(name[:i]).parent = true
		}
	}
	return rec
}

func (p *outputParser) line(l string) {
	framed, ok := strings.CutPrefix(l, marker)
	if p.tee != nil {
		if ok {
			fmt.Fprintln(p.tee, framed)
		} else {
			fmt.Fprintln(p.tee, l)
		}
	}
	if !ok {
		if p.current != "" {
			out := &p.record(p.current).output
			out.WriteString(strings.TrimPrefix(l, "    "))
			out.WriteByte('\n')
		}
		return
	}
	for _, kind := range []string{"=== RUN   ", "=== PAUSE ", "=== CONT  ", "=== NAME  "} {
		if name, ok := strings.CutPrefix(framed, kind); ok {
			p.current = strings.TrimSpace(name)
			if p.current != "" {
				p.record(p.current)
			}
			return
		}
	}
	if m := reportLine.FindStringSubmatch(framed); m != nil {
		rec := p.record(m[2])
		rec.status = map[string]Status{"PASS": StatusPass, "FAIL": StatusFail, "SKIP": StatusSkip}[m[1]]
		rec.elapsed, _ = time.ParseDuration(m[3])
		p.order = append(p.order, m[2])
		p.current = m[2]
	}
}

// results lists the leaves (and the failed tests with output of their
// own that are not), with names relative to the suite.
func (p *outputParser) results() *Results {
	res := &Results{Tests: []LeafResult{}}
	prefix := standaloneTop + "/" + standaloneSuite
	for _, name := range p.order {
		rec := p.tests[name]
		if name == standaloneTop || (name != prefix && !strings.HasPrefix(name, prefix+"/")) {
			continue
		}
		if rec.status == StatusFail {
			res.Failed = true
		}
		own := strings.TrimSpace(rec.output.String())
		if rec.parent && !(rec.status == StatusFail && own != "") && !(rec.status == StatusSkip && own != "") {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(name, prefix), "/")
		if rel == "" {
			rel = standaloneSuite
		}
		group, _, _ := strings.Cut(rel, "/")
		res.Tests = append(res.Tests, LeafResult{
			Name: rel, Group: group, Status: rec.status, Elapsed: rec.elapsed, Output: own,
		})
	}
	if rec, ok := p.tests[prefix]; !ok || rec.status == "" {
		// The suite never reported: count that as a failure.
		res.Failed = true
	}
	return res
}
