package storage

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitSQLDialects(t *testing.T) {
	src := `-- a comment
CREATE TABLE a (x INT);
-- dialect: postgres
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$;
-- dialect: sqlite
CREATE TRIGGER t BEFORE DELETE ON a BEGIN SELECT RAISE(ABORT, 'no'); END;
-- dialect: all
CREATE INDEX a_x
    ON a (x);
`
	want := []statement{
		{"", "CREATE TABLE a (x INT)"},
		{"postgres", "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$"},
		{"sqlite", "CREATE TRIGGER t BEFORE DELETE ON a BEGIN SELECT RAISE(ABORT, 'no'); END"},
		{"", "CREATE INDEX a_x\n    ON a (x)"},
	}
	if diff := cmp.Diff(want, splitSQL(src), cmp.AllowUnexported(statement{})); diff != "" {
		t.Errorf("splitSQL (-want +got):\n%s", diff)
	}
}

// Every dialect marker in the embedded migrations names a dialect mfadesk
// has, so that no statement is silently skipped everywhere.
func TestMigrationDialectsKnown(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		for _, st := range m.stmts {
			switch st.dialect {
			case "", DialectPostgres, DialectSQLite:
			default:
				t.Errorf("%s: statement for unknown dialect %q: %.40s", m.version, st.dialect, st.sql)
			}
		}
	}
}
