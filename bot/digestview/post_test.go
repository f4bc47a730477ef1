package digestview

import (
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

// TestPoster posts a digest, after one rate-limited try, then its chart in
// the thread; a quiet digest has no chart to upload.
func TestPoster(t *testing.T) {
	fs := fakeslack.New()
	t.Cleanup(fs.Close)
	fs.AddChannel("C0AUDIT")
	fs.RateLimit("chat.postMessage", 1, time.Millisecond)
	p := NewPoster(slack.New(fakeslack.DefaultToken, slack.OptionAPIURL(fs.APIURL())), "C0AUDIT")

	d := week(t)
	r, err := p.Publish(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	msgs := fs.Messages("C0AUDIT")
	if len(msgs) != 1 || r.Channel != "C0AUDIT" || r.TS != msgs[0].TS || msgs[0].Text != FallbackText(d) {
		t.Fatalf("receipt %+v, messages %+v", r, msgs)
	}
	if n := len(fs.Calls("chat.postMessage")); n != 2 {
		t.Errorf("%d chat.postMessage calls, want a rate-limited one and the post", n)
	}
	if err := p.Attach(t.Context(), d, r); err != nil {
		t.Fatal(err)
	}
	files := fs.Files()
	if len(files) != 1 || files[0].Name != "mfadesk-digest-2025-03-10.png" || files[0].Channel != "C0AUDIT" || !files[0].Completed {
		t.Fatalf("files %+v", files)
	}
	if c := fs.Calls("files.completeUploadExternal"); len(c) != 1 || c[0].Args["thread_ts"] != r.TS || c[0].Args["channel_id"] != "C0AUDIT" {
		t.Errorf("completeUploadExternal %+v, want channel_id and thread_ts of the digest", c)
	}
	if err := p.Attach(t.Context(), quiet(t), r); err != nil || len(fs.Files()) != 1 {
		t.Errorf("a quiet digest uploaded a chart: %v", err)
	}

	fs.Fail("chat.postMessage", "channel_not_found")
	if _, err := p.Publish(t.Context(), d); err == nil {
		t.Error("a refused post reported no error")
	}
}
