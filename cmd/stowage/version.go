package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"
)

// buildInfo is what stowage version prints: the module version and VCS
// revision the binary was built from (runtime/debug.ReadBuildInfo).
type buildInfo struct {
	// Version is the main module's version: a tag such as v0.3.0 for
	// go install ...@v0.3.0, "(devel)" for a build from a checkout.
	Version string `json:"version"`
	// Revision, RevisionTime and Modified describe the checkout a build
	// from source was made from (empty under go run, which stamps no VCS
	// information).
	Revision     string `json:"revision,omitempty"`
	RevisionTime string `json:"revision_time,omitempty"`
	Modified     bool   `json:"modified,omitempty"`
	Go           string `json:"go"`
}

// readBuildInfo returns the build information of the running binary.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(unknown)", Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.RevisionTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the one line of stowage version.
func (b buildInfo) String() string {
	s := "stowage " + b.Version
	if b.Revision != "" {
		s += " (revision " + b.Revision
		if b.RevisionTime != "" {
			s += ", " + b.RevisionTime
		}
		if b.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + b.Go
}

const versionUsage = `Usage: stowage version [--json]

Prints the module version and VCS revision stowage was built from.

Flags:
`

func runVersion(_ context.Context, args []string, a *app) int {
	fs := newFlagSet("stowage version", versionUsage, a.stdout)
	asJSON := fs.Bool("json", false, "print the version as JSON")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if code, done := parseExit("version", err, a); done {
		return code
	}
	b := readBuildInfo()
	if *asJSON {
		return writeOrFail("version", json.NewEncoder(a.stdout).Encode(b), a)
	}
	fmt.Fprintln(a.stdout, b)
	return exitOK
}

// writeOrFail is the exit of a command whose only failure can be writing
// its output.
func writeOrFail(name string, err error, a *app) int {
	if err != nil {
		fmt.Fprintf(a.stderr, "stowage %s: %v\n", name, err)
		return exitFailure
	}
	return exitOK
}

// jsonHeader starts every JSON document stowage prints, so that a saved
// output says what made it, when, and against which backend.
type jsonHeader struct {
	Version string `json:"stowage_version"`
	Time    string `json:"time"`
	Backend string `json:"backend"`
}

// newJSONHeader is the header of an output about backend, made now.
func newJSONHeader(backend string, now time.Time) jsonHeader {
	return jsonHeader{Version: readBuildInfo().Version, Time: now.UTC().Format(time.RFC3339), Backend: backend}
}

// encodeJSON writes v as one JSON object that begins with h's fields
// (those v does not have itself): an object v keeps its own fields after
// them, anything else (a list) goes under key. indent pretty-prints it.
func encodeJSON(w io.Writer, h jsonHeader, key string, v any, indent bool) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		k, _ := json.Marshal(key)
		body = append(append(append([]byte{'{'}, k...), ':'), append(body, '}')...)
		fields = map[string]json.RawMessage{key: nil}
	}
	var doc bytes.Buffer
	doc.WriteByte('{')
	for _, f := range []struct {
		name  string
		value string
	}{{"stowage_version", h.Version}, {"time", h.Time}, {"backend", h.Backend}} {
		if _, ok := fields[f.name]; ok {
			continue
		}
		name, _ := json.Marshal(f.name)
		value, _ := json.Marshal(f.value)
		doc.Write(name)
		doc.WriteByte(':')
		doc.Write(value)
		doc.WriteByte(',')
	}
	if len(fields) == 0 {
		doc.Truncate(doc.Len() - 1) // v is {}
	} else {
		doc.Write(body[1 : len(body)-1])
	}
	doc.WriteByte('}')
	out := doc.Bytes()
	if indent {
		var buf bytes.Buffer
		if err := json.Indent(&buf, out, "", "  "); err != nil {
			return err
		}
		out = buf.Bytes()
	}
	_, err = w.Write(append(out, '\n'))
	return err
}
