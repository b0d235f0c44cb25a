package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/instrument"
)

// storeFlags are the flags every command that opens a backend shares:
// which backend and how, how many requests at once, and how to show
// progress and results.
type storeFlags struct {
	backend     string
	backendSet  bool
	params      paramFlag
	config      string
	latency     time.Duration
	concurrency int
	json        bool
	progress    string
	verbose     bool
	// tempFilesystem opens the filesystem backend, when no rootdirectory
	// is given, in a temporary directory removed afterwards (bench).
	tempFilesystem bool
	// instrument, when set (bench --metrics), observes the backend (its
	// "observer" parameter) and wraps the opened driver.
	instrument *instrument.Instrument
}

// register adds the flags to fs, with defaultBackend and
// defaultConcurrency as the defaults and concurrencyUsage saying what
// --concurrency bounds.
func (o *storeFlags) register(fs *flag.FlagSet, defaultBackend string, defaultConcurrency int, concurrencyUsage string) {
	fs.StringVar(&o.backend, "backend", defaultBackend, "backend `name` as registered with driver.Register (registered: "+fmt.Sprint(driver.Registered())+")")
	fs.Var(&o.params, "param", "backend parameter `key=value` (repeatable), named as in distribution's config")
	fs.StringVar(&o.config, "config", "", "distribution-style YAML `file` whose storage section configures the backend")
	fs.DurationVar(&o.latency, "latency", 0, "add this round-trip `delay` to every request of an HTTP backend, e.g. 48ms")
	fs.IntVar(&o.concurrency, "concurrency", defaultConcurrency, concurrencyUsage)
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.StringVar(&o.progress, "progress", "auto", "progress on stderr: `auto` (a bar on a terminal, otherwise a line after 1s and then every 3s), always (the bar), lines or never")
	fs.BoolVar(&o.verbose, "v", false, "verbose logs on stderr")
}

// check validates the flags after parsing; fs tells which were set.
func (o *storeFlags) check(fs *flag.FlagSet) error {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "backend" {
			o.backendSet = true
		}
	})
	switch {
	case o.latency < 0:
		return fmt.Errorf("--latency must not be negative, got %v", o.latency)
	case o.concurrency < 1:
		return fmt.Errorf("--concurrency must be at least 1, got %d", o.concurrency)
	case o.progress != "auto" && o.progress != "always" && o.progress != "lines" && o.progress != "never":
		return fmt.Errorf("--progress must be auto, always, lines or never, got %q", o.progress)
	}
	return nil
}

// parseExit turns the result of a command's flag parsing into an exit:
// exitOK after -h (newFlagSet printed the help on stdout), exitUsage after
// printing err in one line with a hint to stderr, and go on (false)
// otherwise.
func parseExit(name string, err error, a *app) (int, bool) {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, true
	case err != nil:
		fmt.Fprintf(a.stderr, "stowage %s: %v\nRun 'stowage %s -h' for usage.\n", name, err, name)
		return exitUsage, true
	}
	return 0, false
}

// runExit is the exit status of a run that printed its results: err is
// what stopped it early (ctx ended: exitInterrupted), ok whether all was
// well.
func runExit(ctx context.Context, name string, err error, ok bool, a *app) int {
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(a.stderr, "stowage %s: interrupted: %v\n", name, err)
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(a.stderr, "stowage %s: %v\n", name, err)
		return exitFailure
	case !ok:
		return exitFailure
	}
	return exitOK
}

// openCommand opens the backend of o for the command name, with a logger
// per o's -v. When it fails, it prints why and ok is false: the command
// then exits with code. The caller closes the session with its logger.
func openCommand(ctx context.Context, name string, o *storeFlags, a *app) (s *session, log *slog.Logger, code int, ok bool) {
	log = newLogger(a.stderr, o.verbose)
	s, err := openBackend(ctx, o, a, log)
	if err != nil {
		return nil, log, reportError(a.stderr, "stowage "+name, err), false
	}
	return s, log, 0, true
}

// reportError prints err, what stopped a command (often: why its backend
// could not be opened), after prefix, and returns the exit code:
// exitUsage for a usage or configuration error (a bad or missing
// parameter; every missing one is named, with the --param flags to add),
// exitFailure otherwise (the store cannot be reached, a run failed).
func reportError(w io.Writer, prefix string, err error) int {
	fmt.Fprintf(w, "%s: %v\n", prefix, err)
	var missing *driver.MissingParametersError
	if errors.As(err, &missing) {
		var add []string
		for _, p := range missing.Parameters {
			add = append(add, "--param "+p+"=...")
		}
		fmt.Fprintf(w, "Add %s (or set them in the --config file's storage section).\n", strings.Join(add, " "))
	}
	return exitCode(err)
}

// newFlagSet is the flag set of a command named name. -h prints usage and
// then the flags to help (stdout); a parse error prints nothing here:
// fs.Parse returns it and parseExit prints it in one line with a hint,
// not the whole help around it.
func newFlagSet(name, usage string, help io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	errs := &flagErrors{}
	fs.SetOutput(errs)
	fs.Usage = func() {
		if errs.wrote {
			return // a parse error, not -h
		}
		fs.SetOutput(help)
		defer fs.SetOutput(errs)
		fmt.Fprint(help, usage)
		fs.PrintDefaults()
	}
	return fs
}

// flagErrors swallows what package flag prints about a parse error (the
// error itself comes back from Parse) and notes that it did.
type flagErrors struct{ wrote bool }

func (w *flagErrors) Write(p []byte) (int, error) {
	w.wrote = true
	return len(p), nil
}
