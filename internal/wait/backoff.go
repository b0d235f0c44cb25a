package wait

import (
	"math/rand/v2"
	"time"
)

// Jitter is full-jitter exponential backoff, shared by the backends' own
// retry loops: a uniformly random delay in [0, min(max, base*2^(attempt-1))),
// attempt counting from 1. It returns 0 when base or max is not positive.
func Jitter(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
