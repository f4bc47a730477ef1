package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":   0,
		"30": 30 * time.Second,
		"-1": 0,
		"x":  0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	}
	for in, want := range tests {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestHasStatus(t *testing.T) {
	notFound := &actions.DirectoryError{Op: "get user", Status: 404}
	tests := []struct {
		name  string
		err   error
		codes []int
		want  bool
	}{
		{"match", notFound, []int{404}, true},
		{"one of several", notFound, []int{400, 404}, true},
		{"wrapped", fmt.Errorf("resolve: %w", notFound), []int{404}, true},
		{"other status", notFound, []int{403}, false},
		{"not a directory error", errors.New("404"), []int{404}, false},
		{"nil", nil, []int{404}, false},
	}
	for _, tt := range tests {
		if got := HasStatus(tt.err, tt.codes...); got != tt.want {
			t.Errorf("%s: HasStatus = %v, want %v", tt.name, got, tt.want)
		}
	}
}
