// Command stowage works with stowage storage backends from the command
// line. Its first command, bench, measures a backend the way registry
// operators choose one: the bulk-delete matrix of a registry garbage
// collection (one path at a time versus DeleteFiles), a Walk of a registry
// tree and Put/Get throughput, with request counts and simulated network
// latency for HTTP backends.
//
// Usage:
//
//	stowage bench [flags]    measure a backend (stowage bench -h for flags)
//	stowage verify [flags]   check a registry's blobs by digest, its links and manifests
//	stowage cp [flags]       copy a registry between stores, verifying every blob
//	stowage ls [flags] PATH  list a directory's children
//	stowage du [flags] PATH  sum the sizes under a path, by child
//	stowage rm [flags]       delete the files named on stdin, in batches
//	stowage uploads list|purge [flags]  list or purge abandoned uploads
//	stowage gc [flags]       collect a registry's garbage (a dry run unless --delete)
//	stowage conformance [flags]  run the conformance suite against a store (JUnit, JSON)
//	stowage version          print the version and VCS revision (also --version)
//	stowage help [command]   show help
//
// Examples:
//
//	go run ./cmd/stowage bench
//	go run ./cmd/stowage bench --backend inmemory --matrix 1x0,100x20
//	go run ./cmd/stowage bench --config registry.yml --latency 48ms --json
//	go run ./cmd/stowage bench --backend s3 --param bucket=b --param regionendpoint=http://127.0.0.1:9000
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the command cleans up; a second one ends
		// the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], &app{
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		open:     driver.Open,
		terminal: isTerminal(os.Stderr),
		environ:  os.Environ(),
	})
	stop()
	os.Exit(code)
}

// app is what the commands need from the outside world; tests replace it.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// open builds a backend by name (driver.Open).
	open func(ctx context.Context, name string, params map[string]any) (driver.StorageDriver, error)
	// terminal reports whether stderr is a terminal (for --progress auto).
	terminal bool
	// now is the clock of the commands that age things (uploads); nil
	// means time.Now.
	now func() time.Time
	// environ is the environment, KEY=value, for the
	// REGISTRY_STORAGE_<DRIVER>_<KEY> overrides (os.Environ in main;
	// none in tests unless set).
	environ []string
}

// clock returns a.now, or time.Now.
func (a *app) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, a *app) int
}

func commands() []command {
	return []command{
		{"bench", "measure a backend: delete matrix, walk, put/get throughput", runBench},
		{"verify", "check a registry's blobs by digest, its links and manifests", runVerify},
		{"cp", "copy a registry between stores, verifying every blob", runCp},
		{"ls", "list a directory's children", runLs},
		{"du", "sum the sizes under a path, by child", runDu},
		{"rm", "delete the files named on stdin, in batches", runRm},
		{"uploads", "list or purge abandoned uploads", runUploads},
		{"gc", "collect a registry's garbage (a dry run unless --delete)", runGC},
		{"conformance", "run the conformance suite against a store (--junit, --json, --dry-run)", runConformance},
		{"version", "print the version and VCS revision stowage was built from", runVersion},
		{"help", "show help for stowage or a command", runHelp},
	}
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, a *app) int {
	if len(args) == 0 {
		usage(a.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(a.stdout)
		return exitOK
	case "-version", "--version":
		return runVersion(ctx, args[1:], a)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], a)
		}
	}
	fmt.Fprintf(a.stderr, "stowage: unknown command %q\nRun 'stowage help' for the list of commands.\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "stowage: storage drivers for content-addressed stores such as container registries")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  stowage <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "stowage help <command>" for a command's flags.`)
}

func runHelp(ctx context.Context, args []string, a *app) int {
	if len(args) == 0 {
		usage(a.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] && c.name != "help" {
			return c.run(ctx, []string{"-h"}, &app{stdout: a.stdout, stderr: a.stdout, open: a.open})
		}
	}
	if args[0] == "help" {
		usage(a.stdout)
		return exitOK
	}
	fmt.Fprintf(a.stderr, "stowage help: unknown command %q\nRun 'stowage help' for the list of commands.\n", args[0])
	return exitUsage
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
