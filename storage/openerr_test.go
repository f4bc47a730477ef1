package storage_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/storage"
)

// Every failure to open the database is one line that names
// MFADESK_DATABASE_URL and the problem, and holds no password in any of its
// forms (README "Configuration").
func TestOpenErrorsNameTheVariableAndNoPassword(t *testing.T) {
	dir := t.TempDir()
	pgHost := "127.0.0.1:5432"
	if dsn := os.Getenv("MFADESK_TEST_POSTGRES_DSN"); dsn != "" {
		if u, err := url.Parse(dsn); err == nil {
			pgHost = u.Host
		}
	}
	tests := []struct {
		name string
		url  string
		want []string // substrings of the message
		pg   bool     // needs a PostgreSQL server at pgHost
	}{
		{"bad sslmode with password= in the query", "postgres://u@127.0.0.1:1/db?password=S3CRETpw&sslmode=bogus",
			[]string{"not a valid PostgreSQL URL", "sslmode is invalid"}, false},
		{"bad port with userinfo password", "postgres://u:S3CRETpw@127.0.0.1:notaport/db",
			[]string{"not a valid PostgreSQL URL"}, false},
		{"connection refused with userinfo password", "postgres://u:S3CRETpw@127.0.0.1:1/db?sslmode=disable",
			[]string{"cannot connect to PostgreSQL at 127.0.0.1:1/db", "connection refused"}, false},
		{"escaped userinfo password", "postgresql://u:S3CRET%40pw@127.0.0.1:1/db?sslmode=disable",
			[]string{"cannot connect to PostgreSQL"}, false},
		{"wrong database", "postgres://postgres:S3CRETpw@" + pgHost + "/no_such_db_mfadesk?sslmode=disable",
			[]string{"cannot connect to PostgreSQL at " + pgHost + "/no_such_db_mfadesk", "does not exist"}, true},
		{"sqlite directory missing", "sqlite:" + filepath.Join(dir, "missing", "x.db"),
			[]string{"SQLite database " + filepath.Join(dir, "missing", "x.db"), "the directory " + filepath.Join(dir, "missing") + " does not exist"}, false},
		{"sqlite path is a directory", "sqlite:" + dir,
			[]string{"is a directory, not a database file"}, false},
		{"sqlite directory not writable", "sqlite:/proc/mfadesk.db",
			[]string{"the directory /proc is not writable by this process", "uid 65532"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.pg && os.Getenv("MFADESK_TEST_POSTGRES_DSN") == "" {
				t.Skip("MFADESK_TEST_POSTGRES_DSN is not set")
			}
			st, err := storage.Open(t.Context(), tt.url, nil)
			if err == nil {
				st.Close()
				t.Fatal("opened; want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "MFADESK_DATABASE_URL: ") || strings.Contains(msg, "\n") {
				t.Errorf("%q: want one line starting with the variable", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			for _, secret := range []string{"S3CRET", "out of memory"} {
				if strings.Contains(msg, secret) {
					t.Errorf("%q contains %q", msg, secret)
				}
			}
			var oe *storage.OpenError
			if !errors.As(err, &oe) {
				t.Errorf("%T is not an *OpenError", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:pw@h/db", "postgres://u:REDACTED@h/db"},
		{"postgres://u@h/db?sslmode=disable&password=pw2", "postgres://u@h/db?sslmode=disable&password=REDACTED"},
		{"host=h user=u password=pw3 dbname=d", "host=h user=u password=REDACTED dbname=d"},
		{"host=h password='p w4' dbname=d", "host=h password='REDACTED' dbname=d"},
		{"postgres://u:p%2Fw@h/db", "postgres://u:REDACTED@h/db"},
		{"sqlite:/data/mfadesk.db", "sqlite:/data/mfadesk.db"},
	}
	for _, tt := range tests {
		if got := storage.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
