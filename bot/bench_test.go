package bot

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

// bareHandler only verifies the signature and answers 200: the floor the
// bot's acknowledgement is measured against.
func bareHandler(secret string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		sv, err := slack.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

// BenchmarkSlashCommandAck measures how long Slack waits for the
// acknowledgement of a slash command, with 32 concurrent senders: p50 and
// p99 in microseconds. "bare" only verifies the signature; "help" is
// answered in the response; "open" (/mfa ACTION @user) is acknowledged at
// once while users.info and views.open run in the worker pool.
func BenchmarkSlashCommandAck(b *testing.B) {
	fake := fakeslack.New()
	defer fake.Close()
	bot, _ := newTestBot(b, fake)
	mux := http.NewServeMux()
	bot.Routes(mux)
	mux.Handle("POST /bare", bareHandler(testSecret))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}

	for _, c := range []struct{ name, path, text string }{
		{"bare", "/bare", "help"},
		{"help", "/slack/commands", "help"},
		{"open", "/slack/commands", "revoke-mfa-sessions <@U0BOB> lost phone"},
	} {
		b.Run(c.name, func(b *testing.B) {
			// Signed ahead: signing is Slack's cost, not the bot's.
			bodies := make([][]byte, b.N)
			headers := make([]http.Header, b.N)
			for i := range bodies {
				bodies[i] = []byte(fake.CommandForm("U0HELP1", "C0COMMANDS", "/mfa", c.text).Encode())
				sig, ts := fakeslack.Sign(testSecret, time.Now(), bodies[i])
				headers[i] = http.Header{"X-Slack-Signature": {sig}, "X-Slack-Request-Timestamp": {ts},
					"Content-Type": {"application/x-www-form-urlencoded"}}
			}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed, busy atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						req, _ := http.NewRequest(http.MethodPost, srv.URL+c.path, bytes.NewReader(bodies[i]))
						req.Header = headers[i]
						start := time.Now()
						resp, err := client.Do(req)
						if err == nil {
							answer, _ := io.ReadAll(resp.Body)
							resp.Body.Close()
							if bytes.Contains(answer, []byte("busy")) {
								busy.Add(1)
							}
						}
						lat[i] = time.Since(start)
						if err != nil || resp.StatusCode != http.StatusOK {
							failed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d requests failed", n, b.N)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			// Commands refused with "busy" because the queue was full.
			b.ReportMetric(100*float64(busy.Load())/float64(b.N), "busy-%")
		})
	}
}
