package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stowage-dev/stowage/internal/bench"
)

// result is what stowage bench prints: the report and how it was made.
type result struct {
	*bench.Report
	// Latency is the simulated round trip added to each request.
	Latency string `json:"latency"`
	// Root is the temporary filesystem root, when one was used.
	Root string `json:"root,omitempty"`
	// Elapsed is the whole run in seconds, setup and cleanup included.
	Elapsed float64 `json:"elapsed_seconds"`
	// Requests is every request the backend sent, setup and cleanup
	// included (0 for a local backend).
	Requests int     `json:"total_requests"`
	Machine  machine `json:"machine"`
	// Metrics are package instrument's counters of the whole run, one
	// series a line (--metrics).
	Metrics []string `json:"metrics,omitempty"`
}

// machine describes where the numbers were taken.
type machine struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

func thisMachine() machine {
	return machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
}

func writeJSON(w io.Writer, r result) error {
	return encodeJSON(w, newJSONHeader(r.Backend, time.Now()), "", r, true)
}

// csvHeader is the header of --csv: one row per measured operation.
var csvHeader = []string{"workload", "case", "mode", "files", "bytes", "requests", "seconds", "min_seconds", "max_seconds", "runs", "speedup", "request_ratio"}

func writeCSV(w io.Writer, r result) error {
	cw := csv.NewWriter(w)
	row := func(workload, cas, mode string, files int, bytes int64, m bench.Measure, speedup float64, ratio *float64) {
		rec := []string{workload, cas, mode, strconv.Itoa(files), strconv.FormatInt(bytes, 10), "",
			fsec(m.Seconds), fsec(m.MinSeconds), fsec(m.MaxSeconds), strconv.Itoa(r.Runs), "", ""}
		if m.Requests != nil {
			rec[5] = strconv.Itoa(*m.Requests)
		}
		if speedup > 0 {
			rec[10] = strconv.FormatFloat(speedup, 'f', 3, 64)
		}
		if ratio != nil {
			rec[11] = strconv.FormatFloat(*ratio, 'f', 3, 64)
		}
		_ = cw.Write(rec)
	}
	_ = cw.Write(csvHeader)
	for _, d := range r.Delete {
		row("delete", d.Cell, "one-by-one", d.Files, 0, d.OneByOne, 0, nil)
		row("delete", d.Cell, "deletefiles", d.Files, 0, d.DeleteFiles, d.Speedup, d.RequestRatio)
	}
	if r.Walk != nil {
		row("walk", r.Walk.Tree, "walk", r.Walk.Files, 0, r.Walk.Walk, 0, nil)
	}
	for _, t := range r.Throughput {
		row("throughput", t.Size, t.Op, t.Count, t.Bytes*int64(t.Count), t.Measure, 0, nil)
	}
	if g := r.GC; g != nil {
		row("gc", g.Shape, "mark", g.Keys, 0, g.Mark, 0, nil)
		row("gc", g.Shape, "sweep", g.DeletedLinks+g.DeletedBlobs, 0, g.Sweep, 0, nil)
	}
	cw.Flush()
	return cw.Error()
}

func fsec(s float64) string { return strconv.FormatFloat(s, 'f', 6, 64) }

func writeTable(w io.Writer, r result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "stowage bench: backend %s", r.Backend)
	if r.Root != "" {
		fmt.Fprintf(&b, " (temporary root %s)", r.Root)
	}
	fmt.Fprintf(&b, ", prefix %s, latency %s, %d run(s)", r.Prefix, r.Latency, r.Runs)
	if r.Runs > 1 {
		b.WriteString(", times are medians [fastest..slowest]")
	}
	b.WriteString("\n")

	if len(r.Delete) > 0 {
		b.WriteString("\nDelete matrix: M manifests x T tags = M + M*T files; one path at a time as distribution's GC does (Stat+Delete per tag link, Delete per revision), then one DeleteFiles call\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CELL\tFILES\tONE-BY-ONE\tREQUESTS\tDELETEFILES\tREQUESTS\tSPEEDUP\tREQUEST RATIO\t")
		for _, d := range r.Delete {
			ratio := "-"
			if d.RequestRatio != nil {
				ratio = fmt.Sprintf("%.1fx", *d.RequestRatio)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", d.Cell, d.Files,
				fmtMeasure(d.OneByOne, r.Runs), fmtRequests(d.OneByOne),
				fmtMeasure(d.DeleteFiles, r.Runs), fmtRequests(d.DeleteFiles),
				fmtRatio(d.Speedup), ratio)
		}
		tw.Flush()
	}
	if r.Walk != nil {
		b.WriteString("\nWalk of a registry tree (M manifests x T tags, 2 layers each)\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TREE\tFILES\tENTRIES\tTIME\tREQUESTS\tENTRIES/S\t")
		perSec := "-"
		if r.Walk.Walk.Seconds > 0 {
			perSec = fmt.Sprintf("%.0f", float64(r.Walk.Entries)/r.Walk.Walk.Seconds)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", r.Walk.Tree, r.Walk.Files, r.Walk.Entries,
			fmtMeasure(r.Walk.Walk, r.Runs), fmtRequests(r.Walk.Walk), perSec)
		tw.Flush()
	}
	if len(r.Throughput) > 0 {
		b.WriteString("\nThroughput: sequential PutContent and GetContent\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "OP\tSIZE\tCOUNT\tTIME\tMIB/S\tREQUESTS\t")
		for _, t := range r.Throughput {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f\t%s\t\n", t.Op, t.Size, t.Count, fmtMeasure(t.Measure, r.Runs), t.MBPerSecond, fmtRequests(t.Measure))
		}
		tw.Flush()
	}
	if g := r.GC; g != nil {
		fmt.Fprintf(&b, "\nGarbage collection: %d repositories x %d manifests x %d tags x %d layers, %d manifests garbage; mark = one Walk + a read per manifest, sweep = DeleteFiles of the links, then of the blobs (list page %d, delete batch %d)\n",
			g.Repositories, g.Manifests, g.Tags, g.Layers, g.Garbage, g.ListPageSize, g.DeleteBatchSize)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PHASE\tKEYS\tMANIFESTS READ\tDELETED\tTIME\tREQUESTS\tEXPECTED\t")
		fmt.Fprintf(tw, "mark\t%d\t%d\t-\t%s\t%s\t%s\t\n", g.Keys, g.ManifestsRead,
			fmtMeasure(g.Mark, r.Runs), fmtRequests(g.Mark), fmtExpected(g.Mark, g.ExpectedMark))
		fmt.Fprintf(tw, "sweep\t-\t-\t%d links + %d blobs\t%s\t%s\t%s\t\n", g.DeletedLinks, g.DeletedBlobs,
			fmtMeasure(g.Sweep, r.Runs), fmtRequests(g.Sweep), fmtExpected(g.Sweep, g.ExpectedSweep))
		tw.Flush()
	}
	requests := "-"
	if r.Counted {
		requests = strconv.Itoa(r.Requests)
	}
	fmt.Fprintf(&b, "\ntotal %s, %s requests (setup and cleanup included)\n", fmtDuration(secondsToDuration(r.Elapsed)), requests)
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtMeasure(m bench.Measure, runs int) string {
	s := fmtDuration(secondsToDuration(m.Seconds))
	if runs > 1 {
		s += " [" + fmtDuration(secondsToDuration(m.MinSeconds)) + ".." + fmtDuration(secondsToDuration(m.MaxSeconds)) + "]"
	}
	return s
}

func fmtRequests(m bench.Measure) string {
	if m.Requests == nil {
		return "-"
	}
	return strconv.Itoa(*m.Requests)
}

// fmtExpected is an expected request count, "-" when m's requests were
// not counted.
func fmtExpected(m bench.Measure, n int) string {
	if m.Requests == nil {
		return "-"
	}
	return strconv.Itoa(n)
}

func fmtRatio(x float64) string {
	if x <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", x)
}

func secondsToDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// fmtDuration shows d with three significant digits or so: 850µs, 12.3ms,
// 1.24s, 2m5s.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
