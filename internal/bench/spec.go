package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stowage-dev/stowage/layout"
)

// ParseMatrix parses a delete matrix such as "1x0,10x1,100x20": M manifests
// x T tags per cell, M at least 1.
func ParseMatrix(s string) ([]layout.DeleteCell, error) {
	var out []layout.DeleteCell
	for _, f := range splitList(s) {
		m, t, ok := strings.Cut(f, "x")
		mi, err1 := strconv.Atoi(m)
		ti, err2 := strconv.Atoi(t)
		if !ok || err1 != nil || err2 != nil || mi < 1 || ti < 0 {
			return nil, fmt.Errorf("bad matrix cell %q: want MxT, e.g. 100x20, with M >= 1 and T >= 0", f)
		}
		out = append(out, layout.DeleteCell{Manifests: mi, Tags: ti})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty matrix %q", s)
	}
	return out, nil
}

// ParseTree parses a walk tree such as "100x5" (manifests x tags); each
// manifest gets 2 layers.
func ParseTree(s string) (layout.Spec, error) {
	cells, err := ParseMatrix(s)
	if err != nil || len(cells) != 1 {
		return layout.Spec{}, fmt.Errorf("bad tree %q: want one MxT, e.g. 100x5", s)
	}
	return layout.Spec{Manifests: cells[0].Manifests, Tags: cells[0].Tags, LayersPerManifest: 2}, nil
}

// ParseSizes parses throughput cases such as "1KiB:200,1MiB:20,64MiB:2"
// (size:count; sizes take B, KiB, MiB or GiB, or k, m, g).
func ParseSizes(s string) ([]Size, error) {
	var out []Size
	for _, f := range splitList(s) {
		size, count, ok := strings.Cut(f, ":")
		n, err1 := ParseBytes(size)
		c, err2 := strconv.Atoi(count)
		if !ok || err1 != nil || err2 != nil || n < 1 || c < 1 {
			return nil, fmt.Errorf("bad size %q: want SIZE:COUNT, e.g. 1MiB:20", f)
		}
		out = append(out, Size{Bytes: n, Count: c})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty size list %q", s)
	}
	return out, nil
}

// ParseBytes parses a size such as "64MiB", "1k" or "512".
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// ParseWorkloads parses a list such as "delete,walk"; "all" means every
// workload of Workloads. The OptInWorkloads (gc) are taken only by name.
func ParseWorkloads(s string) ([]string, error) {
	var out []string
	for _, f := range splitList(s) {
		switch {
		case f == "all":
			for _, w := range Workloads {
				if !contains(out, w) {
					out = append(out, w)
				}
			}
		case contains(Workloads, f) || contains(OptInWorkloads, f):
			if !contains(out, f) {
				out = append(out, f)
			}
		default:
			return nil, fmt.Errorf("unknown workload %q (want some of %s, or all)", f, strings.Join(append(slices.Clone(Workloads), OptInWorkloads...), ", "))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no workload in %q", s)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
