package fakeapi

import (
	"os/exec"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestImportedOnlyByTestsFakesAndDemo: outside _test.go files, this package,
// the fakes (packages whose name starts with "fake") and the other test
// support packages (whose name ends with "test", as storagetest) are
// imported only by each other and by the demo (cmd/mfadesk/internal/demo),
// so that nothing else in the mfadesk binary reaches them; and the fakes do
// use this package.
func TestImportedOnlyByTestsFakesAndDemo(t *testing.T) {
	module := goList(t, "-m", "-f", "{{.Path}}")[0]
	self := goList(t, "-f", "{{.ImportPath}}", ".")[0]
	imports := modulePackages(t, module)
	demo := module + "/cmd/mfadesk/internal/demo"
	support := func(pkg string) bool {
		name := path.Base(pkg)
		return pkg == self || strings.HasPrefix(name, "fake") || strings.HasSuffix(name, "test")
	}
	var bad []string
	for pkg, deps := range imports {
		for _, dep := range deps {
			if support(dep) && !support(pkg) && pkg != demo {
				bad = append(bad, pkg+" imports "+dep)
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("%s: only tests, fakes, test support and the demo may", b)
	}
	for _, fake := range fakes {
		if !slices.Contains(imports[module+"/"+fake], self) {
			t.Errorf("%s does not use the fakes' scaffold %s", fake, self)
		}
	}
}

// fakes are the fake servers built on this package.
var fakes = []string{"actions/directories/entra/fakegraph", "actions/directories/google/fakegoogle",
	"actions/directories/okta/fakeokta", "bot/fakeslack"}

// modulePackages maps every package of the module to the packages its
// non-test files import, as go list reports them for this platform.
func modulePackages(t *testing.T, module string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, line := range goList(t, "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...") {
		fields := strings.Fields(line)
		out[fields[0]] = fields[1:]
	}
	return out
}

// goList runs go list with args and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}
