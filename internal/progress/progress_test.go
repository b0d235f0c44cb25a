package progress

import (
	"testing"
	"time"
)

func TestProgressEstimate(t *testing.T) {
	var p Progress
	var seen []Snapshot
	p.Notify = func(s Snapshot) { seen = append(seen, s) }
	p.Begin(100)
	if s := p.Snapshot(); s.Remaining != 0 || s.Total != 100 {
		t.Fatalf("before any work: %+v", s)
	}
	p.SetStage("x")
	p.Add(25)
	s := p.Snapshot()
	if s.Stage != "x" || s.Done != 25 {
		t.Fatalf("snapshot %+v", s)
	}
	// Three times the elapsed time is left, give or take the time between
	// the two readings.
	if s.Remaining < 3*s.Elapsed-time.Millisecond {
		t.Fatalf("remaining %v after a quarter in %v", s.Remaining, s.Elapsed)
	}
	if len(seen) != 3 || seen[2].Done != 25 {
		t.Fatalf("notified %+v", seen)
	}
}

func TestPlanGrowsTheTotal(t *testing.T) {
	var p Progress
	p.Begin(0)
	p.Plan(10)
	p.Plan(5)
	p.Add(3)
	if s := p.Snapshot(); s.Total != 15 || s.Done != 3 {
		t.Fatalf("snapshot %+v, want 3 of 15", s)
	}
}
