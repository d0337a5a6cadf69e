package progress

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		done, total int
		elapsed     time.Duration
		rate        float64
		extra, want string
	}{
		{40, 100, 16 * time.Second, 2.5, "loss 2.31", "train 40/100 steps (40%) 2.50 steps/s, 16s elapsed, ETA 24s, loss 2.31"},
		{2, 10, 9 * time.Second, 0.2, "", "train 2/10 steps (20%) 5.0 s/step, 9s elapsed, ETA 40s"},
		{10, 10, 65 * time.Second, 0.15, "", "train 10/10 steps (100%) 6.7 s/step, 1m05s elapsed"},
		{3, 0, 3 * time.Second, 1, "", "train 3 steps 1.00 steps/s, 3s elapsed"},
		{1, 5, 2 * time.Hour, 0, "", "train 1/5 steps (20%), 2h00m elapsed"},
	} {
		if got := Line("train", "steps", tc.done, tc.total, tc.elapsed, tc.rate, tc.extra); got != tc.want {
			t.Errorf("Line(%d/%d, %v) =\n  %q\nwant\n  %q", tc.done, tc.total, tc.elapsed, got, tc.want)
		}
	}
}

// TestRateExcludesFirstStep: the rate and ETA count from the first report,
// so a slow first step (compilation) does not inflate the ETA.
func TestRateExcludesFirstStep(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	b := newBar(&buf, "train", "steps", 10, false, c.now)
	c.t = c.t.Add(60 * time.Second) // step 1 compiles
	b.Set(1, "")
	for i := 2; i <= 5; i++ {
		c.t = c.t.Add(5 * time.Second)
		b.Set(i, "")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"train 1/10 steps (10%), 1m00s elapsed", "train 3/10 steps (30%) 5.0 s/step, 1m10s elapsed, ETA 35s", "train 5/10 steps (50%) 5.0 s/step, 1m20s elapsed, ETA 25s"}
	if !slices.Equal(lines, want) {
		t.Errorf("lines\n%q\nwant\n%q", lines, want)
	}
}

// TestPlainLinesAreThrottled: off a terminal, 100 quick steps print a few
// lines, not one per step, and the last one always.
func TestPlainLinesAreThrottled(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	b := newBar(&buf, "score", "batches", 100, false, c.now)
	for i := 1; i <= 100; i++ {
		c.t = c.t.Add(time.Second)
		b.Set(i, "")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// After step 1, then every 10 s (steps 11, 21, ..., 91), then step 100.
	if len(lines) != 11 {
		t.Fatalf("%d lines, want 11:\n%s", len(lines), buf.String())
	}
	if !strings.HasPrefix(lines[0], "score 1/100") || !strings.HasPrefix(lines[len(lines)-1], "score 100/100") {
		t.Errorf("first/last lines %q / %q", lines[0], lines[len(lines)-1])
	}
	if strings.Contains(buf.String(), "\r") {
		t.Error("plain output has carriage returns")
	}
}

// TestTerminalRedrawsOneLine: on a terminal the bar redraws in place (\r, no
// newline until the end) and blanks leftovers of a longer previous line.
func TestTerminalRedrawsOneLine(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	b := newBar(&buf, "train", "steps", 3, true, c.now)
	c.t = c.t.Add(time.Second)
	b.Set(1, "loss 10.000")
	c.t = c.t.Add(time.Second)
	b.Set(2, "loss 1")
	c.t = c.t.Add(time.Second)
	b.Set(3, "")
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("want one newline, at the end: %q", out)
	}
	if strings.Count(out, "\r") != 3 {
		t.Errorf("want 3 redraws: %q", out)
	}
	parts := strings.Split(strings.TrimSuffix(out, "\n"), "\r")
	if first, second := parts[1], parts[2]; len(second) < len(first) {
		t.Errorf("second draw %q is shorter than the first %q: leftovers would show", second, first)
	}
	b.Set(3, "")
	b.Done()
	if buf.String() != out {
		t.Error("a finished bar printed again")
	}
}

func TestNilBar(t *testing.T) {
	var b *Bar
	b.Set(1, "")
	b.Done()
}
