package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/stowage-dev/stowage/internal/progress"
)

// barMode says when the progress bar is drawn.
type barMode int

const (
	barNever  barMode = iota
	barAuto           // on a terminal, once the run has taken barDelay
	barAlways         // from the start, whatever stderr is
	barLines          // a line after linesFirst, then every linesEvery, for logs and pipes
)

const (
	barDelay = 2 * time.Second
	barEvery = 200 * time.Millisecond
	barWidth = 24
	// linesFirst is when barLines prints its first line, and linesEvery
	// how often it prints one after that: a pipe or a log sees within a
	// second that the run is under way, then a line every few seconds.
	linesFirst = time.Second
	linesEvery = 3 * time.Second
)

// progressBar redraws one line on w, in place with \r, until stopped.
type progressBar struct {
	w     io.Writer
	p     *progress.Progress
	first time.Duration // when barLines prints its first line
	every time.Duration // the interval of barLines after that
	// ticks, when set, replaces barLines's clock: a line for each value
	// received (tests).
	ticks <-chan time.Time
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
	drawn int // length of the last line drawn
}

// startProgress starts drawing p on w as mode says; stop ends it.
func startProgress(w io.Writer, p *progress.Progress, mode barMode) *progressBar {
	return newProgressBar(w, p, linesFirst, linesEvery, nil).start(mode)
}

// startProgressEvery is startProgress with barLines printing a line every
// interval (the first one after at most linesFirst).
func startProgressEvery(w io.Writer, p *progress.Progress, mode barMode, every time.Duration) *progressBar {
	return newProgressBar(w, p, min(linesFirst, every), every, nil).start(mode)
}

// startProgressTicks is startProgress with barLines printing a line for
// each value received from ticks instead of on the clock.
func startProgressTicks(w io.Writer, p *progress.Progress, mode barMode, ticks <-chan time.Time) *progressBar {
	return newProgressBar(w, p, 0, 0, ticks).start(mode)
}

func newProgressBar(w io.Writer, p *progress.Progress, first, every time.Duration, ticks <-chan time.Time) *progressBar {
	return &progressBar{w: w, p: p, first: first, every: every, ticks: ticks, quit: make(chan struct{}), done: make(chan struct{})}
}

func (b *progressBar) start(mode barMode) *progressBar {
	switch mode {
	case barNever:
		close(b.done)
	case barLines:
		go b.lines()
	case barAlways:
		go b.loop(0)
	default:
		go b.loop(barDelay)
	}
	return b
}

// lines prints the progress as a line of its own after b.first, then
// every b.every (or on each of b.ticks), and a last one when stopped after
// at least one was printed.
func (b *progressBar) lines() {
	defer close(b.done)
	ticks := b.ticks
	var timer *time.Timer
	if ticks == nil {
		timer = time.NewTimer(b.first)
		defer timer.Stop()
		ticks = timer.C
	}
	printed := false
	for {
		select {
		case <-ticks:
			fmt.Fprintln(b.w, renderProgress(b.p.Snapshot(), barWidth))
			printed = true
			if timer != nil {
				timer.Reset(b.every)
			}
		case <-b.quit:
			if printed {
				fmt.Fprintln(b.w, renderProgress(b.p.Snapshot(), barWidth))
			}
			return
		}
	}
}

func (b *progressBar) loop(delay time.Duration) {
	defer close(b.done)
	wait := time.NewTimer(delay)
	defer wait.Stop()
	select {
	case <-wait.C:
	case <-b.quit:
		return
	}
	tick := time.NewTicker(barEvery)
	defer tick.Stop()
	for {
		b.draw(renderProgress(b.p.Snapshot(), barWidth))
		select {
		case <-tick.C:
		case <-b.quit:
			if b.drawn > 0 {
				// Clear the line so that the table or an error starts clean.
				fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.drawn))
			}
			return
		}
	}
}

func (b *progressBar) draw(line string) {
	pad := ""
	if n := b.drawn - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(b.w, "\r%s%s", line, pad)
	b.drawn = len(line)
}

// stop ends the drawing and clears the line; it waits for the drawing
// goroutine, so nothing is drawn after it returns.
func (b *progressBar) stop() {
	b.once.Do(func() {
		select {
		case <-b.done:
		default:
			close(b.quit)
		}
	})
	<-b.done
}

// renderProgress is one line of the bar: the bar, the stage, files done out
// of planned, the elapsed time and the estimate of the time left.
func renderProgress(s progress.Snapshot, width int) string {
	frac := 0.0
	if s.Total > 0 {
		frac = min(float64(s.Done)/float64(s.Total), 1)
	}
	full := int(frac * float64(width))
	bar := strings.Repeat("#", full) + strings.Repeat(".", width-full)
	left := "?"
	if s.Remaining > 0 || (s.Total > 0 && s.Done >= s.Total) {
		left = "~" + s.Remaining.Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] %3.0f%%  %-24s %d/%d files  elapsed %s  left %s",
		bar, frac*100, s.Stage, s.Done, s.Total, s.Elapsed.Round(time.Second), left)
}

// startRunProgress starts the progress display of a command's run, as
// the command's flags o say: the Progress to update and the bar to stop.
func startRunProgress(a *app, o *storeFlags) (*progress.Progress, *progressBar) {
	p := &progress.Progress{}
	p.Begin(0)
	return p, startProgress(a.stderr, p, progressMode(o, a))
}
