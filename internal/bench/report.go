package bench

import (
	"fmt"
	"slices"
	"time"
)

// Report holds every measurement of a Run.
type Report struct {
	// Backend is the driver's name.
	Backend string `json:"backend"`
	// Server says what the backend ran against when the caller knows
	// better than the driver's name, e.g. "in-process S3 server, 5ms
	// injected round trip"; Run leaves it empty.
	Server string `json:"server,omitempty"`
	// Prefix is where the run wrote.
	Prefix string `json:"prefix"`
	// Runs is how many times each measurement was taken.
	Runs int `json:"runs"`
	// Counted says whether requests were counted (an HTTP backend).
	Counted bool `json:"requests_counted"`

	Delete     []DeleteResult     `json:"delete,omitempty"`
	Walk       *WalkResult        `json:"walk,omitempty"`
	Throughput []ThroughputResult `json:"throughput,omitempty"`
	GC         *GCResult          `json:"gc,omitempty"`
}

// Measure is one operation measured over the runs: the median, fastest and
// slowest wall time and the requests sent (the median, when counted).
type Measure struct {
	Seconds    float64 `json:"seconds"`
	MinSeconds float64 `json:"min_seconds"`
	MaxSeconds float64 `json:"max_seconds"`
	// Requests is nil when requests were not counted.
	Requests *int `json:"requests"`

	samples []sample
}

// sample is one measurement.
type sample struct {
	d        time.Duration
	requests int
	counted  bool
}

func (m *Measure) add(s sample) { m.samples = append(m.samples, s) }

// Median returns the median wall time.
func (m Measure) Median() time.Duration { return secondsToDuration(m.Seconds) }

func (m *Measure) finish() {
	if len(m.samples) == 0 {
		return
	}
	ds := make([]time.Duration, len(m.samples))
	rs := make([]int, len(m.samples))
	for i, s := range m.samples {
		ds[i], rs[i] = s.d, s.requests
	}
	slices.Sort(ds)
	slices.Sort(rs)
	m.Seconds = median(ds).Seconds()
	m.MinSeconds = ds[0].Seconds()
	m.MaxSeconds = ds[len(ds)-1].Seconds()
	if m.samples[0].counted {
		r := rs[len(rs)/2]
		m.Requests = &r
	}
}

func median(ds []time.Duration) time.Duration {
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

func secondsToDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// DeleteResult is one cell of the delete matrix.
type DeleteResult struct {
	Cell      string `json:"cell"`
	Manifests int    `json:"manifests"`
	Tags      int    `json:"tags"`
	// Files is the number of paths deleted: Manifests + Manifests·Tags.
	Files int `json:"files"`
	// OneByOne deletes one path at a time, as distribution's garbage
	// collector does (Stat and Delete per tag link, Delete per revision).
	OneByOne Measure `json:"one_by_one"`
	// DeleteFiles deletes all paths with one DeleteFiles call.
	DeleteFiles Measure `json:"delete_files"`
	// Speedup is OneByOne's median time over DeleteFiles'.
	Speedup float64 `json:"speedup"`
	// RequestRatio is OneByOne's requests over DeleteFiles'; nil when
	// requests were not counted or DeleteFiles sent none.
	RequestRatio *float64 `json:"request_ratio"`
}

func (d *DeleteResult) add(m deleteSample) {
	d.OneByOne.add(m.oneByOne)
	d.DeleteFiles.add(m.batched)
}

// WalkResult is the walk workload.
type WalkResult struct {
	// Tree is the walked tree as "MxT".
	Tree string `json:"tree"`
	// Files is the number of files in it, Entries the number of entries
	// (files and directories) the walk visits.
	Files   int     `json:"files"`
	Entries int     `json:"entries"`
	Walk    Measure `json:"walk"`
}

// ThroughputResult is one Put or Get case.
type ThroughputResult struct {
	Op    string `json:"op"`
	Size  string `json:"size"`
	Bytes int64  `json:"bytes"`
	Count int    `json:"count"`
	Measure
	// MBPerSecond is Count·Bytes over the median time, in MiB/s.
	MBPerSecond float64 `json:"mib_per_second"`
}

func (r *Report) finish() {
	for i := range r.Delete {
		d := &r.Delete[i]
		d.OneByOne.finish()
		d.DeleteFiles.finish()
		if d.DeleteFiles.Seconds > 0 {
			d.Speedup = d.OneByOne.Seconds / d.DeleteFiles.Seconds
		}
		if d.OneByOne.Requests != nil && d.DeleteFiles.Requests != nil && *d.DeleteFiles.Requests > 0 {
			ratio := float64(*d.OneByOne.Requests) / float64(*d.DeleteFiles.Requests)
			d.RequestRatio = &ratio
		}
	}
	if r.Walk != nil {
		r.Walk.Walk.finish()
	}
	if r.GC != nil {
		r.GC.Mark.finish()
		r.GC.Sweep.finish()
	}
	for i := range r.Throughput {
		t := &r.Throughput[i]
		t.Measure.finish()
		if t.Seconds > 0 {
			t.MBPerSecond = float64(t.Bytes) * float64(t.Count) / (1 << 20) / t.Seconds
		}
	}
}

// FormatBytes writes n as the largest binary unit that divides it, e.g.
// "64MiB", "1KiB" or "1000B".
func FormatBytes(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
