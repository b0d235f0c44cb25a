package instrument

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// WriteText writes the Instrument's current metrics to w in a short form
// for people: one line per series whose value is not zero, sorted, as
//
//	stowage_operations_total{driver="s3",operation="DeleteFiles"} 1
//
// A histogram is given as its _count and _sum, without buckets.
func (in *Instrument) WriteText(w io.Writer) error {
	families, err := in.registry.Gather()
	if err != nil {
		return fmt.Errorf("instrument: gathering metrics: %w", err)
	}
	var lines []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := labelText(m.GetLabel())
			switch {
			case m.Counter != nil:
				if v := m.Counter.GetValue(); v != 0 {
					lines = append(lines, f.GetName()+labels+" "+number(v))
				}
			case m.Gauge != nil:
				if v := m.Gauge.GetValue(); v != 0 {
					lines = append(lines, f.GetName()+labels+" "+number(v))
				}
			case m.Histogram != nil:
				if c := m.Histogram.GetSampleCount(); c != 0 {
					lines = append(lines,
						f.GetName()+"_count"+labels+" "+strconv.FormatUint(c, 10),
						f.GetName()+"_sum"+labels+" "+number(m.Histogram.GetSampleSum()))
				}
			}
		}
	}
	slices.Sort(lines)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("instrument: writing metrics: %w", err)
	}
	return nil
}

// labelText formats labels as {name="value",...}, or "" for none.
func labelText(labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l.GetName() + "=" + strconv.Quote(l.GetValue())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// number formats v briefly: integers without a fraction, others with at
// most six significant digits.
func number(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
