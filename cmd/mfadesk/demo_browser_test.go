package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
	"github.com/mfadesk/mfadesk/bot/chromiumtest"
)

var screenshots = flag.Bool("screenshots", false, "write the demo's screenshots to docs/ (for the README)")

// startDemo runs `mfadesk demo` in process on a free port with e, and
// returns the page's base URL and a stop function that returns run's error.
func startDemo(t *testing.T, e env) (base string, stop func() error) {
	base, stop, _ = startDemoOut(t, e)
	return base, stop
}

// startDemoOut is startDemo that also returns what the demo prints.
func startDemoOut(t *testing.T, e env) (base string, stop func() error, out *fakeapi.LockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	logs := &fakeapi.LockedBuffer{}
	out = &fakeapi.LockedBuffer{}
	go func() {
		err := run(ctx, []string{"demo", "--addr", "127.0.0.1:0"}, e.get, pw, logs)
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

// browser starts headless Chromium (bot/chromiumtest: skips outside
// CI when it cannot start, fails in CI) with a window the size of the
// README's screenshots.
func browser(t *testing.T) context.Context {
	t.Helper()
	ctx := chromiumtest.New(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 860)); err != nil {
		t.Fatal(err)
	}
	return ctx
}
