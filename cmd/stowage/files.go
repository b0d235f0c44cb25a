package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// The small file commands: ls, du and rm. Each opens the backend with the
// shared flags, does one thing, and prints a table (or --json).

// fileCommand parses a file command's flags: the shared ones, extra ones
// added by more, and nargs positional arguments.
func fileCommand(name, usage string, args []string, a *app, nargs int, more func(fs *flag.FlagSet)) (*storeFlags, []string, int) {
	o := &storeFlags{}
	fs := newFlagSet("stowage "+name, usage, a.stdout)
	o.register(fs, "", 16, "requests in flight at once")
	if more != nil {
		more(fs)
	}
	err := fs.Parse(args)
	if err == nil && fs.NArg() != nargs {
		err = fmt.Errorf("want %d argument(s), got %d", nargs, fs.NArg())
	}
	if err == nil {
		err = o.check(fs)
	}
	if code, done := parseExit(name, err, a); done {
		return nil, nil, code
	}
	return o, fs.Args(), -1
}

// withBackend opens the backend of o and runs fn with it; it maps errors
// to exit codes.
func withBackend(ctx context.Context, name string, o *storeFlags, a *app, fn func(s *session, log *slog.Logger) error) int {
	log := newLogger(a.stderr, o.verbose)
	s, err := openBackend(ctx, o, a, log)
	if err != nil {
		return reportError(a.stderr, "stowage "+name, err)
	}
	defer s.close(log)
	err = fn(s, log)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(a.stderr, "stowage %s: %v\n", name, err)
		return exitUsage
	case ctx.Err() != nil:
		fmt.Fprintf(a.stderr, "stowage %s: interrupted: %v\n", name, err)
		return exitInterrupted
	}
	fmt.Fprintf(a.stderr, "stowage %s: %v\n", name, err)
	return exitFailure
}

// printJSON prints the result v of a command run against backend, as one
// indented JSON object with the version, time and backend first (a list
// goes under key; see encodeJSON).
func printJSON(w io.Writer, backend, key string, v any) error {
	return encodeJSON(w, newJSONHeader(backend, time.Now()), key, v, true)
}

const lsUsage = `Usage: stowage ls [flags] PATH

Lists the direct children of the directory PATH ("/" for the root), one path
a line; directories end in "/".

Flags:
`

func runLs(ctx context.Context, args []string, a *app) int {
	o, pos, code := fileCommand("ls", lsUsage, args, a, 1, nil)
	if code >= 0 {
		return code
	}
	return withBackend(ctx, "ls", o, a, func(s *session, _ *slog.Logger) error {
		children, err := s.d.List(ctx, pos[0])
		if err != nil {
			return err
		}
		// A child with children of its own is a directory: one flat
		// Walk of PATH tells, without a Stat per child.
		dirs := map[string]bool{}
		err = s.d.Walk(ctx, pos[0], func(fi driver.FileInfo) error {
			if fi.IsDir() {
				dirs[fi.Path()] = true
				return driver.ErrSkipDir
			}
			return nil
		})
		if err != nil && !driver.IsNotFound(err) {
			return err
		}
		type entry struct {
			Path string `json:"path"`
			Dir  bool   `json:"dir"`
		}
		var out []entry
		for _, c := range children {
			out = append(out, entry{c, dirs[c]})
		}
		if o.json {
			if out == nil {
				out = []entry{}
			}
			return printJSON(a.stdout, s.choice.name, "entries", out)
		}
		for _, e := range out {
			suffix := ""
			if e.Dir {
				suffix = "/"
			}
			if _, err := fmt.Fprintln(a.stdout, e.Path+suffix); err != nil {
				return err
			}
		}
		return nil
	})
}

const duUsage = `Usage: stowage du [flags] PATH

Sums the sizes of the files under PATH with one flat walk (a request per page
of keys on object stores, whatever the depth): a line per direct child of
PATH, then the total.

Flags:
`

// duEntry is the size of one child of du's PATH, or of the total.
type duEntry struct {
	Path  string `json:"path"`
	Files int64  `json:"files"`
	Bytes int64  `json:"bytes"`
}

func runDu(ctx context.Context, args []string, a *app) int {
	o, pos, code := fileCommand("du", duUsage, args, a, 1, nil)
	if code >= 0 {
		return code
	}
	return withBackend(ctx, "du", o, a, func(s *session, _ *slog.Logger) error {
		root := pos[0]
		prefix := strings.TrimSuffix(root, "/") + "/"
		sums := map[string]*duEntry{}
		total := duEntry{Path: root}
		// A walk of a large store takes a while: count the files on the
		// progress bar (or line), the total being unknown.
		p, bar := startRunProgress(a, o)
		p.SetStage("walking " + root)
		defer bar.stop()
		err := s.d.Walk(ctx, root, func(fi driver.FileInfo) error {
			if fi.IsDir() {
				return nil
			}
			p.Plan(1)
			p.Add(1)
			rel := strings.TrimPrefix(fi.Path(), prefix)
			child := prefix + rel
			if i := strings.IndexByte(rel, '/'); i >= 0 {
				child = prefix + rel[:i]
			}
			e := sums[child]
			if e == nil {
				e = &duEntry{Path: child}
				sums[child] = e
			}
			e.Files++
			e.Bytes += fi.Size()
			total.Files++
			total.Bytes += fi.Size()
			return nil
		})
		bar.stop()
		if err != nil {
			return err
		}
		children := make([]duEntry, 0, len(sums))
		for _, e := range sums {
			children = append(children, *e)
		}
		sort.Slice(children, func(i, j int) bool { return children[i].Path < children[j].Path })
		if o.json {
			return printJSON(a.stdout, s.choice.name, "", struct {
				Children []duEntry `json:"children"`
				Total    duEntry   `json:"total"`
			}{children, total})
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		for _, e := range append(children, total) {
			fmt.Fprintf(tw, "%s\t%d files\t%s\t\n", fmtBytes(e.Bytes), e.Files, e.Path)
		}
		return tw.Flush()
	})
}

const rmUsage = `Usage: stowage rm [flags] < paths

Deletes the files named on standard input, one path a line (blank lines are
skipped), with DeleteFiles: ceil(N/B) requests for N paths at the backend's
batch limit B. Every path is checked before anything is deleted; a bad one
deletes nothing. Directories are not removed (a path that names one is left
alone). --dry-run prints what would be deleted. Each path that failed is
printed; the exit status is then 1.

Flags:
`

func runRm(ctx context.Context, args []string, a *app) int {
	var dryRun bool
	o, _, code := fileCommand("rm", rmUsage, args, a, 0, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "print what would be deleted, delete nothing")
	})
	if code >= 0 {
		return code
	}
	var paths []string
	stdin := a.stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	sc := bufio.NewScanner(stdin)
	for line := 1; sc.Scan(); line++ {
		p := strings.TrimSpace(sc.Text())
		if p == "" {
			continue
		}
		if err := driver.ValidatePath("stowage", p); err != nil {
			fmt.Fprintf(a.stderr, "stowage rm: line %d: %v (nothing deleted)\n", line, err)
			return exitUsage
		}
		paths = append(paths, p)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(a.stderr, "stowage rm: reading the paths: %v\n", err)
		return exitFailure
	}
	return withBackend(ctx, "rm", o, a, func(s *session, _ *slog.Logger) error {
		type result struct {
			Planned  int               `json:"planned"`
			Deleted  int               `json:"deleted"`
			DryRun   bool              `json:"dry_run"`
			Failed   map[string]string `json:"failed"`
			Requests *int              `json:"requests,omitempty"`
		}
		r := result{Planned: len(paths), DryRun: dryRun, Failed: map[string]string{}}
		if !dryRun && len(paths) > 0 {
			before := s.counter.Total()
			n, err := s.d.DeleteFiles(ctx, paths)
			r.Deleted = n
			var dfe *driver.DeleteFilesError
			switch {
			case errors.As(err, &dfe):
				for _, f := range dfe.Failures {
					r.Failed[f.Path] = f.Err.Error()
				}
			case err != nil:
				return err
			}
			if !localBackends[s.choice.name] {
				reqs := s.counter.Total() - before
				r.Requests = &reqs
			}
		}
		var err error
		if o.json {
			err = printJSON(a.stdout, s.choice.name, "", r)
		} else {
			if dryRun {
				for _, p := range paths {
					fmt.Fprintln(a.stdout, "would delete", p)
				}
			}
			fmt.Fprintf(a.stdout, "planned %d, deleted %d, failed %d", r.Planned, r.Deleted, len(r.Failed))
			if r.Requests != nil {
				fmt.Fprintf(a.stdout, ", %d requests", *r.Requests)
			}
			fmt.Fprintln(a.stdout)
			failed := make([]string, 0, len(r.Failed))
			for p := range r.Failed {
				failed = append(failed, p)
			}
			sort.Strings(failed)
			for _, p := range failed {
				fmt.Fprintf(a.stdout, "failed %s: %s\n", p, r.Failed[p])
			}
		}
		if err == nil && len(r.Failed) > 0 {
			err = fmt.Errorf("%d of %d paths not deleted", len(r.Failed), len(paths))
		}
		return err
	})
}
