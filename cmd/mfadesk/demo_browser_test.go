package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var screenshots = flag.Bool("screenshots", false, "write the demo's screenshots to docs/ (for the README)")

// startDemo runs `mfadesk demo` in process on a free port with e, and
// returns the page's base URL and a stop function that returns run's error.
func startDemo(t *testing.T, e env) (base string, stop func() error) {
	base, stop, _ = startDemoOut(t, e)
	return base, stop
}

// startDemoOut is startDemo that also returns what the demo prints.
func startDemoOut(t *testing.T, e env) (base string, stop func() error, out *syncWriter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var logs bytes.Buffer
	out = &syncWriter{w: &bytes.Buffer{}}
	go func() {
		err := run(ctx, []string{"demo", "--addr", "127.0.0.1:0"}, e.get, pw, &syncWriter{w: &logs})
		pw.Close()
		done <- err
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := regexp.MustCompile(`open (http://\S+)/ in a browser`).FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
			out.Write(append(sc.Bytes(), '\n'))
		}
	}()
	var once bool
	var result error
	stop = func() error {
		if !once {
			once = true
			cancel()
			select {
			case result = <-done:
			case <-time.After(30 * time.Second):
				result = errors.New("demo did not stop within 30s")
			}
		}
		return result
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("demo: %v", err)
		}
		if t.Failed() {
			t.Logf("demo logs:\n%s", logs.String())
		}
	})
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("demo ended before listening: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("demo did not say where it listens\n%s", logs.String())
	}
	return base, stop, out
}

// chromium finds Debian's Chromium (or Chrome).
func chromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH (apt-get install chromium)")
}

// browser starts headless Chromium. Outside CI a machine without a working
// Chromium skips the test, saying why; in CI (CI set) it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: Chromium must run here: %s", msg)
		}
		t.Skipf("skipped: Chromium cannot start here: %s", msg)
	}
	path, err := chromium()
	if err != nil {
		unavailable("%v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 860),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.Flag("mute-audio", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first call starts the browser, which lives as long as that call's
	// context: so no timeout on it, but a watch.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		if err != nil {
			unavailable("%v", err)
		}
	case <-time.After(60 * time.Second):
		cancelCtx()
		unavailable("no answer from %s within 60s", path)
	}
	return ctx
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// String returns what was written, when w is a *bytes.Buffer.
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.w.(*bytes.Buffer); ok {
		return b.String()
	}
	return ""
}
