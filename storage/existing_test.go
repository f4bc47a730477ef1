package storage_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/storage"
)

func TestExists(t *testing.T) {
	dir := t.TempDir()
	there := filepath.Join(dir, "there.db")
	if err := os.WriteFile(there, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "typo.db")
	tests := []struct {
		url     string
		missing bool
	}{
		{"sqlite:" + there, false},
		{"sqlite://" + there, false},
		{"sqlite:" + missing, true},
		{"sqlite://" + missing, true},
		{"postgres://u@127.0.0.1:1/db", false},
	}
	for _, tt := range tests {
		err := storage.Exists(tt.url)
		if got := errors.Is(err, storage.ErrNoDatabase); got != tt.missing {
			t.Errorf("Exists(%q) = %v, want missing=%v", tt.url, err, tt.missing)
		}
		if tt.missing && !strings.Contains(err.Error(), missing) {
			t.Errorf("Exists(%q) = %v, want it to name the path", tt.url, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Exists created %s", missing)
	}
}
