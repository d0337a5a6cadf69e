package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Interval is the least time between two plain (non-terminal) lines.
const Interval = 10 * time.Second

// redraw is the least time between two redraws on a terminal.
const redraw = 200 * time.Millisecond

// Bar reports progress of one stage. A nil *Bar does nothing, so callers
// need not check.
type Bar struct {
	w     io.Writer
	label string
	unit  string
	total int
	tty   bool
	now   func() time.Time

	mu    sync.Mutex
	start time.Time
	last  time.Time
	done  int
	extra string
	// The first Set is the baseline of the rate: steps before it (and a
	// first step's compilation) do not count.
	baseDone int
	baseTime time.Time
	hasBase  bool
	width    int // of the last terminal line, to blank it
	closed   bool
}

// New returns a bar for total steps of unit ("steps", "batches") written to
// w. It draws in place when w is a terminal. total <= 0 means unknown.
func New(w io.Writer, label, unit string, total int) *Bar {
	return newBar(w, label, unit, total, IsTerminal(w), time.Now)
}

func newBar(w io.Writer, label, unit string, total int, tty bool, now func() time.Time) *Bar {
	t := now()
	return &Bar{w: w, label: label, unit: unit, total: total, tty: tty, now: now, start: t}
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Set records that done steps are finished; extra (e.g. "loss 2.31") is
// shown after the rate.
func (b *Bar) Set(done int, extra string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.done, b.extra = done, extra
	t := b.now()
	if !b.hasBase {
		b.baseDone, b.baseTime, b.hasBase = done, t, true
	}
	final := b.total > 0 && done >= b.total
	gap := Interval
	if b.tty {
		gap = redraw
	}
	if !final && !b.last.IsZero() && t.Sub(b.last) < gap {
		return
	}
	if !final && b.last.IsZero() && !b.tty && t.Sub(b.start) < Interval && done > 1 {
		// Plain output: the first line after the first step, then every Interval.
		return
	}
	b.last = t
	b.draw(t)
	if final {
		b.finish()
	}
}

// Done ends the bar (a newline on a terminal) if the total was not reached.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.draw(b.now())
	b.finish()
}

func (b *Bar) finish() {
	if b.tty {
		fmt.Fprintln(b.w)
	}
	b.closed = true
}

func (b *Bar) draw(t time.Time) {
	rate := 0.0
	if b.hasBase && b.done > b.baseDone && t.After(b.baseTime) {
		rate = float64(b.done-b.baseDone) / t.Sub(b.baseTime).Seconds()
	}
	line := Line(b.label, b.unit, b.done, b.total, t.Sub(b.start), rate, b.extra)
	if !b.tty {
		fmt.Fprintln(b.w, line)
		return
	}
	pad := ""
	if n := b.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	b.width = len(line)
	fmt.Fprintf(b.w, "\r%s%s", line, pad)
}

// Line formats one progress report: "label 40/100 steps (40%) 2.50
// steps/s, 12s elapsed, ETA 24s, extra". rate (steps per second) <= 0 is
// unknown: no rate and no ETA are shown.
func Line(label, unit string, done, total int, elapsed time.Duration, rate float64, extra string) string {
	var sb strings.Builder
	sb.WriteString(label)
	if total > 0 {
		fmt.Fprintf(&sb, " %d/%d %s (%d%%)", done, total, unit, done*100/total)
	} else {
		fmt.Fprintf(&sb, " %d %s", done, unit)
	}
	if rate > 0 {
		if rate >= 1 {
			fmt.Fprintf(&sb, " %.2f %s/s", rate, unit)
		} else {
			fmt.Fprintf(&sb, " %.1f s/%s", 1/rate, strings.TrimSuffix(unit, "s"))
		}
	}
	fmt.Fprintf(&sb, ", %s elapsed", Duration(elapsed))
	if total > 0 && rate > 0 && done < total {
		left := time.Duration(float64(total-done) / rate * float64(time.Second))
		fmt.Fprintf(&sb, ", ETA %s", Duration(left))
	}
	if extra != "" {
		sb.WriteString(", ")
		sb.WriteString(extra)
	}
	return sb.String()
}

// Duration formats d as 42s, 3m05s or 1h02m.
func Duration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
}
