package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress shows a long operation on stderr: on a terminal one line
// redrawn in place (spinner, what runs, elapsed time, the latest
// description); elsewhere (a pipe, a CI log) one plain line each time the
// state or description changes, so logs stay readable.
type progress struct {
	w     io.Writer
	tty   bool
	what  string
	start time.Time
	now   func() time.Time

	mu    sync.Mutex
	state string
	desc  string
	frame int
	done  chan struct{}
	wg    sync.WaitGroup
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(w io.Writer, tty bool, what string) *progress {
	p := &progress{w: w, tty: tty, what: what, start: time.Now(), now: time.Now, done: make(chan struct{})}
	if tty {
		p.wg.Add(1)
		go p.spin()
	} else {
		fmt.Fprintf(w, "%s: started\n", what)
	}
	return p
}

func (p *progress) spin() {
	defer p.wg.Done()
	t := time.NewTicker(120 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			p.frame++
			p.draw()
			p.mu.Unlock()
		}
	}
}

// draw redraws the terminal line; called with mu held.
func (p *progress) draw() {
	line := fmt.Sprintf("%s %s: %s (%s)", spinner[p.frame%len(spinner)], p.what, orDefault(p.state, "waiting"), p.elapsed())
	if p.desc != "" {
		line += " " + p.desc
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
}

func (p *progress) elapsed() string {
	return p.now().Sub(p.start).Round(time.Second).String()
}

// update records the latest state and description.
func (p *progress) update(state, desc string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if state == p.state && desc == p.desc {
		return
	}
	p.state, p.desc = state, desc
	if p.tty {
		p.draw()
		return
	}
	if desc != "" {
		fmt.Fprintf(p.w, "%s: %s: %s\n", p.what, state, desc)
	} else {
		fmt.Fprintf(p.w, "%s: %s\n", p.what, state)
	}
}

// stop ends the display with a final line: the outcome and the time taken.
func (p *progress) stop(outcome string) {
	if p.tty {
		close(p.done)
		p.wg.Wait()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "%s: %s after %s\n", p.what, outcome, p.elapsed())
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
