package digestview

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func at(day, hour, minute int) time.Time {
	return time.Date(2025, 3, day, hour, minute, 0, 0, time.UTC)
}

// week is the digest of a busy week with something of every kind.
func week(t testing.TB) digest.Digest {
	t.Helper()
	h, err := digest.ParseBusinessHours(digest.DefaultBusinessHours)
	if err != nil {
		t.Fatal(err)
	}
	rp, dap := actions.ResetPassword, actions.DeleteAppPasswords
	d := digest.Digest{
		Period: digest.Period{Start: at(3, 9, 0), End: at(10, 9, 0)}, Location: time.UTC, Hours: h,
		Head:   digest.Head{Seq: 1046, Hash: "ccf28ff2505157b4c52789a08b04de863ec3575a8d8b5027f090a218f78d8746"},
		Events: 46,
		Actions: []digest.ActionCount{
			{Action: rp, Requested: 8, Succeeded: 5, PartiallyFailed: 1, Denied: 1, Expired: 1, Cancelled: 1, Approvals: 6, Refused: 1, TargetsOK: 10, TargetsFailed: 1},
			{Action: dap, Requested: 1, Approvals: 1},
		},
		Requesters: digest.List[digest.PersonCount]{Total: 4, Items: []digest.PersonCount{{SlackID: "U0HELP1", Count: 6}, {SlackID: "U0HELP2", Count: 2}, {SlackID: "UGLOB1", Count: 1}}},
		Approvers:  digest.List[digest.ApproverCount]{Total: 3, Items: []digest.ApproverCount{{SlackID: "UAPPR00", Approved: 5}, {SlackID: "UAPPR01", Approved: 2}, {SlackID: "UGLOB2", Denied: 1}}},
		Closed: digest.List[digest.Closed]{Total: 3, Items: []digest.Closed{
			{RequestID: "R9", Action: rp, State: actions.StateCancelled, Requester: "U0HELP2", By: "U0HELP2", Reason: "wrong user", At: at(6, 9, 10)},
			{RequestID: "R8", Action: rp, State: actions.StateExpired, Requester: "U0HELP1", Reason: "locked out", Note: "0 of 1 approvals after 1h0m0s", At: at(5, 20, 1)},
			{RequestID: "R7", Action: rp, State: actions.StateDenied, Requester: "UGLOB1", By: "UGLOB2", Reason: "bulk <reset> & co", Note: "no ticket", At: at(4, 12, 30)},
		}},
		Failures: digest.List[digest.Failure]{Total: 1, Items: []digest.Failure{{RequestID: "R1", Action: rp,
			Target: actions.TargetRef{SlackID: "UTGT101", Email: "t101@example.com"}, Detail: "graph: 503 service unavailable", At: at(3, 10, 6)}}},
		Refused: digest.List[digest.Refusal]{Total: 2, Items: []digest.Refusal{
			{RequestID: "R9", Action: rp, Actor: "UAPPR09", Detail: "to approve reset-password you need one of the roles authentication-admin", At: at(6, 9, 5)},
			{Action: dap, Actor: "U0HELP3", Detail: "request refused: you may not request delete-app-passwords", At: at(5, 9, 5)},
		}},
		Approvals: 7,
		Pairs:     []digest.Pair{{Requester: "U0HELP1", Approver: "UAPPR00", Count: 5}, {Requester: "U0HELP2", Approver: "UAPPR01", Count: 2}},
		OffHours: digest.List[digest.Activity]{Total: 4, Items: []digest.Activity{
			{RequestID: "R6", Kind: actions.EventApproved, Actor: "UAPPR01", Action: dap, At: at(8, 2, 50)},
			{RequestID: "R6", Kind: actions.EventCreated, Actor: "U0HELP2", Action: dap, At: at(8, 2, 0)},
			{RequestID: "R8", Kind: actions.EventCreated, Actor: "U0HELP1", Action: rp, At: at(5, 19, 0)},
		}},
		Privileged:  digest.List[digest.Flagged]{Total: 1, Items: []digest.Flagged{{RequestID: "R7", Action: rp, Requester: "UGLOB1", State: actions.StateDenied, Targets: 1, CreatedAt: at(4, 12, 0), Privileged: true}}},
		ManyTargets: digest.List[digest.Flagged]{Total: 1, Items: []digest.Flagged{{RequestID: "R7", Action: rp, Requester: "UGLOB1", State: actions.StateDenied, Targets: 12, CreatedAt: at(4, 12, 0), Privileged: true}}},
		Repeated:    digest.List[digest.Repeated]{Total: 1, Items: []digest.Repeated{{SlackID: "UTGT000", Email: "t0@example.com", Requests: 5}}},
		OpenManual:  digest.List[digest.OpenManual]{Total: 1, Items: []digest.OpenManual{{RequestID: "R6", Action: dap, Requester: "U0HELP2", CreatedAt: at(8, 2, 0), Since: at(8, 2, 50)}}},
		Reports:     1, Containments: 2,
		NotMe: digest.List[digest.NotMe]{Total: 1, Items: []digest.NotMe{{RequestID: "R3", Action: rp, Requester: "U0HELP1", Reporter: "UTGT003",
			Target: actions.TargetRef{SlackID: "UTGT003", Email: "t3@example.com"}, At: at(5, 11, 0),
			Steps: []digest.ContainStep{{RequestID: "RC1", Action: actions.RevokeMFASessions, State: actions.StateSucceeded},
				{RequestID: "RC2", Action: actions.BlockSignIn, State: actions.StatePartiallyFailed}}}}},
		Daily: []digest.DayCount{
			{Day: at(3, 0, 0), Action: rp, Count: 1}, {Day: at(4, 0, 0), Action: rp, Count: 2}, {Day: at(5, 0, 0), Action: rp, Count: 2},
			{Day: at(6, 0, 0), Action: rp, Count: 2}, {Day: at(7, 0, 0), Action: rp, Count: 1}, {Day: at(8, 0, 0), Action: dap, Count: 1},
		},
	}
	digest.Rules{}.Assess(&d)
	return d
}

// quiet is a week in which nothing happened.
func quiet(t testing.TB) digest.Digest {
	t.Helper()
	d := digest.Digest{Period: digest.Period{Start: at(3, 9, 0), End: at(10, 9, 0)}, Location: time.UTC,
		Head: digest.Head{Seq: 12, Hash: strings.Repeat("ab", 32)}}
	digest.Rules{}.Assess(&d)
	return d
}

// huge has lists far longer than a message can hold, with long free text.
func huge(t testing.TB) digest.Digest {
	t.Helper()
	d := week(t)
	long := strings.Repeat("an error message that goes on and on ", 20)
	d.Failures = digest.List[digest.Failure]{Total: 5000}
	d.Refused = digest.List[digest.Refusal]{Total: 5000}
	d.Closed = digest.List[digest.Closed]{Total: 5000}
	for i := range 200 {
		d.Failures.Items = append(d.Failures.Items, digest.Failure{RequestID: fmt.Sprintf("RF%04d", i), Action: actions.ResetPassword,
			Target: actions.TargetRef{Email: "x@example.com"}, Detail: long, At: at(4, 1, 0)})
		d.Refused.Items = append(d.Refused.Items, digest.Refusal{Actor: "U0HELP9", Detail: long, At: at(4, 1, 0)})
		d.Closed.Items = append(d.Closed.Items, digest.Closed{RequestID: "RC", State: actions.StateDenied, By: "UX", Reason: long, Note: long, At: at(4, 1, 0)})
		d.Requesters.Items = append(d.Requesters.Items, digest.PersonCount{SlackID: fmt.Sprintf("UREQ%04d", i), Count: 1})
	}
	d.Requesters.Total = 900
	return d
}

func TestBlocksGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		d    func(testing.TB) digest.Digest
	}{{"week", week}, {"quiet", quiet}} {
		t.Run(c.name, func(t *testing.T) {
			d := c.d(t)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // readable golden files: <@U…> as it is
			enc.SetIndent("", "  ")
			if err := enc.Encode(Blocks(d)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			if err := fakeslack.CheckMessage(got); err != nil {
				t.Errorf("blocks: %v", err)
			}
			golden(t, c.name+".golden.json", got)
			golden(t, c.name+".golden.txt", []byte(Text(d)))
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

// TestBlocksWithinLimits feeds the renderer more than a message holds.
func TestBlocksWithinLimits(t *testing.T) {
	blocks := Blocks(huge(t))
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	if err := fakeslack.CheckMessage(raw); err != nil {
		t.Fatal(err)
	}
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks", len(blocks))
	}
	var sections []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Fields []struct {
			Text string `json:"text"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &sections); err != nil {
		t.Fatal(err)
	}
	var mores int
	for _, s := range sections {
		if s.Text != nil && len([]rune(s.Text.Text)) > maxSectionText {
			t.Errorf("section of %d characters", len([]rune(s.Text.Text)))
		}
		for _, f := range s.Fields {
			if len([]rune(f.Text)) > maxFieldText {
				t.Errorf("field of %d characters", len([]rune(f.Text)))
			}
		}
		if s.Text != nil && strings.Contains(s.Text.Text, "…and 4") {
			mores++
		}
	}
	if mores != 3 {
		t.Errorf("%d sections end with …and 4… more, want the 3 long lists", mores)
	}
	cut := regexp.MustCompile(`^\*Requesters \(900\)\*\n(• <@U[A-Z0-9]+> \d+\n)+…and (\d+) more$`)
	var found bool
	for _, s := range sections {
		for _, f := range s.Fields {
			if m := cut.FindStringSubmatch(f.Text); m != nil {
				found = true
				if shown := strings.Count(f.Text, "•"); fmt.Sprint(900-shown) != m[2] {
					t.Errorf("requesters: %d shown, %s more; want 900 in all", shown, m[2])
				}
			}
		}
	}
	if !found {
		t.Errorf("requesters field not cut with a count")
	}
}

func TestText(t *testing.T) {
	txt := Text(week(t))
	for _, want := range []string{
		"mfadesk audit verify --head ccf28ff2505157b4c52789a08b04de863ec3575a8d8b5027f090a218f78d8746",
		"UAPPR00 gave 5 of the 7 approvals (71%), all to requests of U0HELP1",
		"bulk <reset> & co", // no mrkdwn escapes in text
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
}

func TestChart(t *testing.T) {
	long := week(t)
	long.Period.Start = long.Period.End.AddDate(-1, 0, 0)
	for i := range 365 {
		long.Daily = append(long.Daily, digest.DayCount{Day: long.Period.Start.AddDate(0, 0, i).Truncate(24 * time.Hour),
			Action: actions.AllActions()[i%7], Count: i%9 + 1})
	}
	for name, d := range map[string]digest.Digest{"week": week(t), "year": long} {
		t.Run(name, func(t *testing.T) {
			b, err := Chart(d)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > 200<<10 {
				t.Errorf("chart is %d bytes, want under 200 KB", len(b))
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if got := img.Bounds().Size(); got.X != ChartWidth || got.Y != ChartHeight {
				t.Errorf("chart is %v, want %dx%d", got, ChartWidth, ChartHeight)
			}
		})
	}
	if _, err := Chart(quiet(t)); err != ErrNoChart {
		t.Errorf("chart of a quiet week: %v, want ErrNoChart", err)
	}
}
