package wait

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep with a cancelled context = %v", err)
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(0) with a cancelled context = %v", err)
	}
}

func TestSleepWaits(t *testing.T) {
	start := time.Now()
	if err := Sleep(context.Background(), 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 5*time.Millisecond {
		t.Fatal("Sleep returned before its duration")
	}
}

func TestJitterBounds(t *testing.T) {
	for attempt := 1; attempt <= 12; attempt++ {
		ceiling := min(10*time.Millisecond<<(attempt-1), time.Second)
		for i := 0; i < 200; i++ {
			if d := Jitter(10*time.Millisecond, time.Second, attempt); d < 0 || d >= ceiling {
				t.Fatalf("attempt %d: delay %v outside [0, %v)", attempt, d, ceiling)
			}
		}
	}
	if Jitter(0, time.Second, 3) != 0 || Jitter(time.Second, 0, 1) != 0 {
		t.Fatal("Jitter with a zero base or max must be 0")
	}
}
